"""``wfnb ui``: the variant browser for every workflow of a store, served as a web page, without a notebook.

A team sharing a store on S3, or one person with ten notebooks over one store,
needs one place to look at all of it. The page is the same browser a notebook
shows (``wfnb.browse``), rendered by Voila: Voila runs a generated one-cell
notebook in a kernel of its own and shows only its widgets, on 127.0.0.1.

Read-only by default: a page anyone with the address can open must not run
code or change the store, so replay, sweep, check, restore, export, tag and pin
are off unless ``--allow-runs`` is given; a local store is opened read-only.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from wfnb.errors import BadArgument, StoreError

# Voila prints the address once it listens (after trying further ports if the first was taken).
_LISTENING = re.compile(r"(https?://127\.0\.0\.1:\d+/\S*)")
_START_SECONDS = 90.0


def add_ui_command(commands: Any) -> None:
    """``wfnb ui`` among the ``wfnb`` command's sub-commands."""
    from wfnb.frontends.cliparts import command, whole_number

    sub = command(commands, "ui", run_ui,
                  "serve the variant browser for every workflow of the store on 127.0.0.1 (read-only unless --allow-runs)")
    sub.add_argument("--port", type=whole_number, metavar="N", help="the port to listen on (default: a free one from 8866)")
    sub.add_argument("-w", "--workflow", help="the workflow shown first (default: every workflow)")
    sub.add_argument("--allow-runs", action="store_true",
                     help="allow replay, sweep, check, tag, pin and export from the page (they write to the store)")
    sub.add_argument("--theme", choices=("light", "dark"), default="light", help="JupyterLab's light or dark theme")


def run_ui(args: argparse.Namespace) -> int:
    """Check the store, then serve the page until Ctrl-C (or the server ends)."""
    location = page_store_location(args.store)
    _check_store(location, args.workflow)
    voila = _voila_command()
    with tempfile.TemporaryDirectory(prefix="wfnb-ui-") as folder:
        notebook = write_page(Path(folder), location, args.workflow, allow_runs=args.allow_runs)
        command = [*voila, notebook.name, "--no-browser", "--Voila.ip=127.0.0.1", f"--theme={args.theme}",
                   f"--port={args.port or 8866}", *_transport()]
        return _serve(command, Path(folder), location, args.allow_runs)


def page_store_location(store: str | None) -> str:
    """The store as the page's kernel will open it: an absolute path (it runs in another folder) or a URL."""
    from wfnb.store.backend import LOCAL, scheme_of

    location = store or os.environ.get("WFNB_STORE") or ".wfnb"
    return location if scheme_of(location) != LOCAL else str(Path(location).expanduser().absolute())


def write_page(folder: Path, location: str, workflow: str | None, *, allow_runs: bool) -> Path:
    """The one-cell notebook Voila renders: the browser over ``location``."""
    import nbformat

    call = f"wfnb.browse({workflow!r}, {location!r}, read_only={not allow_runs!r})"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"import wfnb\n{call}")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "wfnb-ui.ipynb"
    nbformat.write(notebook, path)
    return path


def _check_store(location: str, workflow: str | None) -> None:
    """Fail here, in one paragraph, rather than in the page: no store, or no such workflow."""
    from wfnb.history.snapshots import workflows
    from wfnb.store import open_store

    store = open_store(location, create=False, write=False)
    names = workflows(store)
    if workflow is not None and workflow not in names:
        known = ", ".join(names) or "none yet"
        raise BadArgument(f"The store at {store.root} has no variant of workflow {workflow!r}; its workflows: {known}.")


def _voila_command() -> list[str]:
    try:
        import voila  # noqa: F401 -- only to say clearly that it is missing
    except ImportError:
        raise BadArgument(
            "wfnb ui serves the browser with Voila, which is not installed in this environment. "
            "Install it with: pip install 'wfnb[ui]' (or pip install voila), then run wfnb ui again."
        ) from None
    return [sys.executable, "-m", "voila"]


def _transport() -> list[str]:
    """Kernels over Unix sockets where there are some: no TCP port of the kernel's can be taken by another program."""
    return ["--KernelManager.transport=ipc"] if os.name == "posix" else []


def _serve(command: list[str], folder: Path, location: str, allow_runs: bool) -> int:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    signal.signal(signal.SIGTERM, _stopped)  # a service manager's stop, like Ctrl-C: Voila and its kernels go too
    server = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    assert server.stdout is not None
    try:
        url = _wait_for_address(server, server.stdout)
        mode = "read-only" if not allow_runs else "replays, sweeps and tags allowed"
        print(f"wfnb ui: the variants of {location} ({mode}) at {url}  (Ctrl-C stops it)", flush=True)
        threading.Thread(target=_drain, args=(server.stdout,), daemon=True).start()
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(server)


def _stopped(_signal: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _wait_for_address(server: subprocess.Popen[str], output: IO[str]) -> str:
    """Voila's address, from its log; its log as the error if it ends (or never listens) first."""
    seen: list[str] = []
    timer = threading.Timer(_START_SECONDS, lambda: os.killpg(server.pid, signal.SIGTERM) if os.name == "posix" else server.terminate())
    timer.start()
    try:
        for line in output:
            seen.append(line.rstrip())
            found = _LISTENING.search(line)
            if found:
                return found.group(1)
    finally:
        timer.cancel()
    server.wait()
    log = "\n".join(seen[-15:])
    raise StoreError(f"The page's server (Voila) stopped before it served the page (exit code {server.returncode}). Its last lines:\n{log}")


def _drain(output: IO[str]) -> None:
    """Keep reading Voila's log so that it never blocks on a full pipe; show only its errors."""
    for line in output:
        if "[E " in line or "Traceback" in line:
            print(line.rstrip(), file=sys.stderr, flush=True)


def _stop(server: subprocess.Popen[str]) -> None:
    """Stop Voila and the kernels it started (its own process group)."""
    if server.poll() is not None:
        return
    try:
        if os.name == "posix":
            os.killpg(server.pid, signal.SIGTERM)
        else:
            server.terminate()
        server.wait(timeout=15)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        if os.name == "posix":
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            server.kill()
        server.wait()


