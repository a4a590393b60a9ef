"""A store that cannot be written (a read-only mount, a colleague's folder) can still be read:
list, show, diff, runs, verify and export work, and nothing in it changes.

As root, the store is bind-mounted read-only in a private mount namespace (EROFS, as on an
archive's mount); as another user, its files lose their write bits (EACCES).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

CELLS = [
    "import wfnb",
    "%%params\nwindow = 3",
    "%%step load\nimport numpy as np\ndata = np.arange(20.0)",
    "%%step smooth\nsm = np.convolve(data, np.ones(window) / window, 'valid')\nwfnb.log(last=float(sm[-1]))",
]


@pytest.fixture
def store(ip, tmp_path) -> Path:
    for cell in CELLS:
        assert ip.run_cell(cell).success
    assert ip.run_cell("wfnb.replay('v1', window=4);").success
    return tmp_path / ".wfnb"


def _unshare_works() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return probe.returncode == 0


def read_only(store: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `python -m wfnb --store STORE ARGS` with the store read-only."""
    return run_read_only(store, [sys.executable, "-m", "wfnb", "--store", str(store), *args])


def run_read_only(store: Path, command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``command`` with the store read-only (and WFNB_STORE naming it)."""
    env = {**os.environ, "WFNB_FSYNC": "0", "WFNB_STORE": str(store)}
    if _unshare_works():
        script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
        return subprocess.run(["unshare", "-m", "sh", "-c", script, str(store), *command], capture_output=True, text=True, env=env, cwd=cwd)
    if os.geteuid() == 0:
        pytest.skip("as root without mount namespaces, a store cannot be made read-only")
    modes = {path: path.stat().st_mode for path in [store, *store.rglob("*")]}
    try:
        for path, mode in modes.items():
            path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def snapshot(store: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(store)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(store.rglob("*"))}


def test_every_reading_command_works_on_a_read_only_store(store, tmp_path):
    before = snapshot(store)
    for args in (["list"], ["show", "v2", "--code"], ["diff", "v1", "v2"], ["runs"], ["verify"], ["--json", "list"]):
        done = read_only(store, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert "not writable" not in done.stderr and "read-only" not in done.stderr
    for name in ("v1.ipynb", "v1.py", "v1.csv"):
        done = read_only(store, "export", "v1", "--to", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
        assert (tmp_path / name).stat().st_size > 0
    assert snapshot(store) == before


def test_verify_reports_damage_in_a_read_only_store_and_leaves_it_in_place(store):
    victim = max((p for p in (store / "objects").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    os.truncate(victim, victim.stat().st_size - 1)
    done = read_only(store, "verify")
    assert done.returncode == 1
    assert "was left in place (the store is not writable)" in done.stdout and victim.exists()


SHELL_SCRIPT = r'''
import json, sys
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

cells = json.loads(sys.argv[1])
shell = InteractiveShell.instance()
with capture_output() as io:
    shell.run_line_magic("load_ext", "wfnb")
    shell.run_line_magic("wfnb", "workflow notebook")
    ok = [shell.run_cell(cell).success for cell in cells]
statuses = [o.data.get("text/plain", "") for o in io.outputs if o.metadata.get("wfnb") == "status"]
print(json.dumps({"ok": ok, "statuses": statuses, "stdout": io.stdout, "stderr": io.stderr,
                  "variants": list(shell.user_ns["table"]["variant"]), "last": shell.user_ns["last"]}))
'''


def test_a_notebook_on_a_read_only_store_restores_hits_runs_misses_and_writes_nothing(store, tmp_path):
    before = snapshot(store)
    script = tmp_path / "shell.py"
    script.write_text(SHELL_SCRIPT)
    cells = [
        *CELLS,  # as recorded: hits
        "%%params\nwindow = 7",
        CELLS[3],  # a miss: it runs, and says its result is not stored
        "table = wfnb.variants()\nlast = float(wfnb.variant('v2').metrics['last'])\nwfnb.variant('v1').outputs['sm'][:2]",
    ]
    done = run_read_only(store, [sys.executable, str(script), json.dumps(cells)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(seen["ok"]), seen
    load, smooth, rerun = [line for line in seen["statuses"] if line.startswith("step ")]
    assert " · cached · " in load and " · cached · " in smooth and smooth.endswith("variant v1")
    assert "not stored: the store is read-only" in rerun and " · cached · " not in rerun
    assert seen["variants"] == ["v1", "v2"] and seen["last"] > 0
    said = [line for line in seen["stderr"].splitlines() if line.strip()]
    assert said == [f"wfnb: the store at {store} is read-only: results already there are restored, nothing new is stored."]
    assert snapshot(store) == before
