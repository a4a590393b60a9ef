"""Fixtures for remote stores: a real S3-compatible server (moto) on 127.0.0.1, a fresh bucket per test.

The server runs in its own process for the whole session and is stopped at
the end; s3fs reaches it through ``client_kwargs={"endpoint_url": ...}``, with
dummy credentials from the environment. Every process a test starts (kernels,
Dask workers) gets the same environment, so it reaches the same server.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("s3fs", reason="remote stores need s3fs: pip install -e '.[test]'")
pytest.importorskip("moto", reason="the S3 test server needs moto: pip install -e '.[test]'")

SERVER = Path(__file__).with_name("s3server.py")
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class S3Server:
    endpoint: str
    log: Path

    def mark(self) -> int:
        """The current length of the request log, to count requests made after this point."""
        return len(self.log.read_text().splitlines())

    def requests(self, since: int = 0) -> Counter[str]:
        """Requests since ``mark()``, as "METHOD /bucket/key STATUS" → count."""
        return Counter(self.log.read_text().splitlines()[since:])


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    log = tmp_path_factory.mktemp("s3") / "requests.log"
    log.touch()
    env = {**os.environ, **CREDENTIALS}
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), str(log)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield S3Server(f"http://127.0.0.1:{port}", log)
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture
def s3_env(s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Credentials, the endpoint (WFNB_STORAGE_OPTIONS) and a private read cache, in this process's environment."""
    from wfnb.store import settings

    values = {
        **CREDENTIALS,
        "WFNB_STORAGE_OPTIONS": json.dumps({"client_kwargs": {"endpoint_url": s3_server.endpoint}}),
        "WFNB_CACHE_DIR": str(tmp_path / "cache"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings.reset()
    yield values
    settings.reset()


@pytest.fixture
def bucket(s3_env: dict[str, str], s3_server: S3Server) -> str:
    """A new, empty bucket; its name."""
    import s3fs

    name = f"wfnb-{secrets.token_hex(6)}"
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_server.endpoint}, skip_instance_cache=True)
    fs.mkdir(name)
    return name


@pytest.fixture
def s3_url(bucket: str) -> str:
    """The location of a new store in a fresh bucket."""
    return f"s3://{bucket}/store"
