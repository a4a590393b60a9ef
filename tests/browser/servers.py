"""Real servers for the browser's end-to-end tests and benchmark: JupyterLab and Voila on 127.0.0.1.

Each server runs in its own process group with its settings, config and
runtime files under a given directory (nothing of the user's leaks in, nothing
is fetched from the internet), and is stopped with its kernels on exit.
Chromium is Debian's ``/usr/bin/chromium``, driven by Playwright's Python
package; ``playwright install`` is never run.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
JUPYTER_LAB = Path(sys.executable).with_name("jupyter-lab")
VOILA = Path(sys.executable).with_name("voila")


class ServerFailed(RuntimeError):
    """A server exited or did not listen in time; the message holds its log."""


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment with every Jupyter, IPython and matplotlib directory under ``home``."""
    return {
        **os.environ,
        "WFNB_FSYNC": "0",
        "IPYTHONDIR": str(home / "ipython"),
        "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),  # no user configuration or extension leaks in
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "MPLCONFIGDIR": str(home / "matplotlib"),
        **extra,
    }


@contextmanager
def lab_notebook(root: Path, name: str, cells: list[str], store: Path) -> Iterator[tuple[str, Path]]:
    """JupyterLab over ``store`` serving one notebook ``name`` of these code cells (in ``root/notebooks``);
    yields the notebook's URL and that folder. Settings put under ``root/home`` beforehand (a theme) apply."""
    import nbformat

    env = isolated_env(root / "home", WFNB_STORE=str(store))
    notebooks = root / "notebooks"
    notebooks.mkdir(exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, notebooks / name)
    with jupyterlab(root, notebooks, env) as url:
        yield url.format(name=name), notebooks


@contextmanager
def jupyterlab(root: Path, notebooks: Path, env: dict[str, str]) -> Iterator[str]:
    """JupyterLab serving ``notebooks``; yields ``http://127.0.0.1:PORT/lab/tree/{name}?token=…`` with
    ``{name}`` left for the notebook's file name."""
    home = root / "home"
    settings = home / "lab-settings"  # no "get notified about Jupyter news?" toast over the page
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True, exist_ok=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    token = secrets.token_hex(16)

    def command(port: int) -> list[str]:
        return [
            str(JUPYTER_LAB), "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}",
            f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={home / 'lab-workspaces'}",
            # nothing fetched from the internet: no news, no update check, no PyPI extension manager
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly", "--LanguageServerManager.autodetect=False",  # no `npm prefix -g` either
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ]

    with _serving(command, notebooks, env, root / "jupyterlab.log", "jupyter lab") as port:
        yield f"http://127.0.0.1:{port}/lab/tree/{{name}}?token={token}"


@contextmanager
def voila(root: Path, notebook: str, env: dict[str, str]) -> Iterator[str]:
    """Voila rendering ``root/notebook`` (light theme); yields its URL."""
    def command(port: int) -> list[str]:
        return [str(VOILA), notebook, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", "--theme=light"]

    with _serving(command, root, env, root / "voila.log", "voila") as port:
        yield f"http://127.0.0.1:{port}/"


class PortTaken(ServerFailed):
    """Another process bound the free port between its choice and the server's start."""


@contextmanager
def _serving(command: Callable[[int], list[str]], cwd: Path, env: dict[str, str], log_path: Path, name: str) -> Iterator[int]:
    """Start ``command(port)`` on a free port and yield the port; a port another process took first
    (the other test runs of CI share the machine) is given up for another, up to three times."""
    # The server's kernels talk over unix sockets, not TCP ports that another process may take between
    # their choice and their binding. The sockets sit next to the kernels' connection files, in a short
    # runtime folder of the server's own: a unix socket's path holds at most 107 bytes.
    runtime = tempfile.mkdtemp(prefix="wfnb-s", dir="/tmp" if os.path.isdir("/tmp") else None)
    env = {**env, "JUPYTER_RUNTIME_DIR": runtime}
    try:
        for attempt in range(3):
            port = free_port()
            with log_path.open("w") as log:
                server = subprocess.Popen([*command(port), "--KernelManager.transport=ipc"], cwd=cwd, env=env,
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                wait_for_port(port, server, log_path, name=name)
                if server.poll() is not None:  # what answered is another process on the same port
                    raise PortTaken(f"{name} exited with {server.returncode}:\n{log_path.read_text()}")
            except PortTaken:
                stop(server)
                if attempt == 2:
                    raise
                continue
            except BaseException:
                stop(server)
                raise
            try:
                yield port
            finally:
                stop(server)
            return
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, server: subprocess.Popen, log: Path, timeout: float = 60.0, name: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            text = log.read_text()
            failure = PortTaken if "already in use" in text else ServerFailed
            raise failure(f"{name} exited with {server.returncode}:\n{text}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise ServerFailed(f"{name} did not listen on 127.0.0.1:{port} within {timeout:.0f} s:\n{log.read_text()}")


def stop(server: subprocess.Popen) -> None:
    """Stop the server and its kernels: the whole process group it leads."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
