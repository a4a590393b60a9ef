"""An S3-compatible server for the tests: moto's S3 on 127.0.0.1, one request at a time, each one logged.

Usage: python s3server.py LOG_FILE. Prints the port it listens on, then serves
until killed. Requests are handled one at a time, as an atomic unit: moto checks
a condition (If-None-Match, If-Match) and then writes in two steps, which real
S3 does atomically; serializing requests gives the tests that same atomicity.
The log (one "METHOD /bucket/key STATUS" line per request) lets tests count requests;
a server-side copy (a PUT with x-amz-copy-source: how wfnb marks an object as just
used, for gc) is logged as COPY, so that PUT counts only uploads.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


def main(log_path: str) -> None:
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()
    log = open(log_path, "a", buffering=1)

    def serialized(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        status: list[str] = []

        def recording(code: str, headers: Any, *args: Any) -> Any:
            status.append(code.split()[0])
            return start_response(code, headers, *args)

        with lock:
            body = b"".join(app(environ, recording))
            method = "COPY" if environ.get("HTTP_X_AMZ_COPY_SOURCE") else environ["REQUEST_METHOD"]
            log.write(f"{method} {environ.get('PATH_INFO', '')} {status[-1] if status else '?'}\n")
        return [body]

    server = make_server("127.0.0.1", 0, serialized, threaded=True, request_handler=MotoRequestHandler)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
