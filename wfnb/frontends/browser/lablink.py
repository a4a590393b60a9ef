"""The JupyterLab address of a file, so that the browser can offer a link that opens it.

A kernel does not know the URL it is served under, but the Jupyter server
that started it writes ``jpserver-<pid>.json`` in Jupyter's runtime folder,
with its root folder and base URL; the kernel inherits that folder's
location. The link is a path on the same server (``/lab/tree/...``), so it
works whatever host name the page was opened with. No server (VS Code, a plain
IPython) gives None, and the caller shows the file's path instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote


def lab_url(path: Path) -> str | None:
    """``<base_url>lab/tree/<path from the server's root>`` for ``path``, or None when no running server serves it."""
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:
        return None
    runtime = Path(jupyter_runtime_dir())
    target = path.resolve()
    servers = sorted(runtime.glob("jpserver-*.json"), key=lambda p: p.stat().st_mtime, reverse=True) if runtime.is_dir() else []
    for info_file in servers:
        try:
            info = json.loads(info_file.read_text())
            root = Path(info.get("root_dir") or info.get("notebook_dir") or "").expanduser().resolve()
            relative = target.relative_to(root)
        except (OSError, ValueError, TypeError, AttributeError):
            continue
        base = str(info.get("base_url") or "/")
        return f"{base if base.endswith('/') else base + '/'}lab/tree/{quote(relative.as_posix())}"
    return None
