"""Crashes, interrupts, full and read-only disks, and concurrent writers leave the store consistent.

These use real processes killed at real moments, and a real 1 MB tmpfs for
the full disk (we run as root in CI; the test skips, saying why, elsewhere).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from wfnb.errors import StoreError
from wfnb.store import open_store
from wfnb.store.localfs import LocalFiles

REPO = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("_writer.py")


def _start_writer(mode: str, root: Path, fsync: str = "0") -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WFNB_FSYNC": fsync}
    proc = subprocess.Popen([sys.executable, str(WRITER), mode, str(root)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stdout.readline() == b"writing\n"
    return proc


def _stop(proc: subprocess.Popen[bytes], signum: int) -> int:
    proc.send_signal(signum)
    code = proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()
    return code


def _objects(root: Path) -> list[Path]:
    return sorted(p for p in (root / "objects").rglob("*") if p.is_file())


def _wait_until_writing(root: Path, timeout: float = 20.0) -> None:
    """Return once a write is in progress (a file in tmp/), so that a signal lands inside it."""
    _wait_until(lambda: bool(os.listdir(root / "tmp")), "the writer never started writing", timeout)


def _wait_until(condition: Callable[[], bool], failure: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.0005)


def test_sigkill_while_writing_large_objects_leaves_no_partial_object(tmp_path: Path) -> None:
    root = tmp_path / "store"
    open_store(root)
    killed_mid_write = 0
    for delay in (0.0, 0.003, 0.01, 0.03):
        proc = _start_writer("objects", root)
        _wait_until_writing(root)
        time.sleep(delay)
        assert _stop(proc, signal.SIGKILL) == -signal.SIGKILL
        killed_mid_write += bool(os.listdir(root / "tmp"))
        for path in _objects(root):  # whatever is visible is whole
            assert path.stat().st_size == 40_000_000 + 192
        store = open_store(root)  # cleans the dead writer's tmp file
        assert os.listdir(root / "tmp") == []
        report = store.verify()
        assert report.ok, report.problems
    assert killed_mid_write >= 2  # the kills really landed inside writes
    if not _objects(root):  # let one write finish before the next kill, so that a whole object is there to load
        proc = _start_writer("objects", root)
        _wait_until(lambda: bool(_objects(root)), "the writer never finished an object")
        _stop(proc, signal.SIGKILL)
    complete = _objects(root)
    got = open_store(root).get_object(complete[0].parent.name + complete[0].name)
    assert got.shape == (5_000_000,) and got[-1] == 4_999_999.0
    shutil.rmtree(root)  # do not leave hundreds of MB in the pytest temp dir


def test_sigint_while_writing_removes_the_tmp_file(tmp_path: Path) -> None:
    root = tmp_path / "store"
    open_store(root)
    for delay in (0.0, 0.01, 0.05):
        proc = _start_writer("objects", root)
        _wait_until_writing(root)
        time.sleep(delay)
        assert _stop(proc, signal.SIGINT) != 0  # died of the KeyboardInterrupt
        assert os.listdir(root / "tmp") == []  # the writer's finally ran; no open_store needed
        assert open_store(root).verify().ok
    shutil.rmtree(root)


def test_sigkill_during_commits_never_shows_a_record_without_its_objects(tmp_path: Path) -> None:
    root = tmp_path / "store"
    open_store(root)
    for delay in (0.05, 0.2):
        proc = _start_writer("records", root, fsync="1")  # the real syncfs path
        time.sleep(delay)
        _stop(proc, signal.SIGKILL)
        store = open_store(root)
        assert store.verify().ok
        for path in (root / "records").rglob("*.json"):
            record = store.read_record(path.stem)
            assert record is not None
            np.testing.assert_array_equal(store.get_object(record["outputs"]["x"]), np.arange(1000.0))


def test_keyboard_interrupt_inside_a_write_leaves_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store")
    files = LocalFiles(store.root)

    def chunks() -> Iterator[bytes]:
        yield b"x" * 100_000
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        files.write("objects/ab/" + "c" * 30, chunks())
    assert os.listdir(store.root / "tmp") == [] and not (store.root / "objects" / "ab").exists()


def test_two_processes_writing_the_same_names_stay_consistent(tmp_path: Path) -> None:
    root = tmp_path / "store"
    open_store(root)
    writers = [_start_writer("records", root) for _ in range(2)]
    time.sleep(0.5)
    for proc in writers:
        _stop(proc, signal.SIGKILL)
    store = open_store(root)
    report = store.verify()
    assert report.ok and report.checked > 10, report


# Two commits in a fresh process, whose file-system syncs strace counts (a real count of real system calls).
_TWO_COMMITS = """
import sys
from wfnb.store import open_store
store = open_store(sys.argv[1])
store.put_object("1" * 32, store.encode([1]))
for key in ("2" * 32, "3" * 32):
    store.commit_record(key, {"outputs": {"x": "1" * 32}})
print(all(store.read_record(k) for k in ("2" * 32, "3" * 32)))
"""


@pytest.mark.parametrize(("setting", "syncs"), [(None, 2), ("1", 2), ("0", 0)])
def test_commit_with_sync_enabled(tmp_path: Path, setting: str | None, syncs: int) -> None:
    """Each commit makes one syncfs of the store's file system, never os.sync of every disk; WFNB_FSYNC=0 none."""
    strace = shutil.which("strace")
    assert strace, "this test counts system calls with strace: install it (apt-get install strace)"
    env = {k: v for k, v in os.environ.items() if k != "WFNB_FSYNC"} | ({"WFNB_FSYNC": setting} if setting else {})
    trace = tmp_path / "syscalls.txt"
    command = [strace, "-f", "-qq", "-e", "trace=syncfs,sync", "-o", str(trace), sys.executable, "-c", _TWO_COMMITS]
    done = subprocess.run([*command, str(tmp_path / "store")], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr
    calls = re.findall(r"^\d+ +(\w+)\(", trace.read_text(), flags=re.MULTILINE)  # "<pid> syncfs(3) = 0"
    assert calls == ["syncfs"] * syncs, trace.read_text()


# ----- full and read-only disks
@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MB file system, so that ENOSPC and EROFS come from the kernel."""
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)], capture_output=True, text=True
        )
    except FileNotFoundError:
        pytest.skip("no `mount` command here: cannot create a small file system to fill")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a 1 MB tmpfs to fill (needs root and mount rights): {done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_a_full_disk_gives_a_clear_error_and_leaves_nothing(tiny_disk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFNB_FSYNC", "0")
    store = open_store(tiny_disk / "store")
    big = store.encode(np.ones(300_000))  # 2.4 MB on a 1 MB disk
    with pytest.raises(StoreError) as caught:
        store.put_object("a" * 32, big)
    message = str(caught.value)
    assert "is full" in message and str(store.root) in message and "WFNB_STORE" in message
    assert os.listdir(store.root / "tmp") == [] and not store.has_object("a" * 32)
    store.put_object("b" * 32, store.encode([1, 2]))  # the space was given back
    assert store.get_object("b" * 32) == [1, 2]
    filler = tiny_disk / "filler"
    with pytest.raises(OSError), open(filler, "wb") as f:
        while True:
            f.write(bytes(65536))
    with pytest.raises(StoreError, match="is full"):
        store.commit_record("c" * 32, {"x": "y" * 10_000})
    store.log_run({"x": "y" * 10_000})  # written by the background writer: its failure is said at the next entry
    assert store.runs() == []  # waits for the writer
    with pytest.raises(StoreError, match="is full"):
        store.log_run({"x": "y"})
    assert os.listdir(store.root / "tmp") == [] and store.read_record("c" * 32) is None
    filler.unlink()
    assert store.verify().ok


def test_a_read_only_disk_is_refused_at_open(tiny_disk: Path) -> None:
    store = open_store(tiny_disk / "store")
    done = subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount read-only: {done.stderr.strip()}")
    with pytest.raises(StoreError, match="read-only file system") as caught:
        open_store(store.root)
    assert str(store.root) in str(caught.value)
    with pytest.raises(StoreError, match="read-only"):
        store.put_object("a" * 32, store.encode(1))
    with pytest.raises(StoreError, match="read-only"):
        open_store(tiny_disk / "new")



# ----- a notebook run killed at random moments of a large write
ZYGOTE = Path(__file__).with_name("_zygote.py")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _large_write_started(root: Path) -> bool:
    """A file of over 1 MB is being written in tmp/ (not the tiny probe of open_store)."""
    for entry in os.scandir(root / "tmp"):
        with contextlib.suppress(OSError):
            if entry.stat().st_size > 1 << 20:
                return True
    return False


def _check_variants(store_root: Path, checked: set[str] | None = None) -> int:
    """Every variant in the store loads, with the values its seed gives; returns how many there are.

    Names in ``checked`` are skipped (and new ones added): a committed variant never changes, and
    ``verify()`` checks every object's bytes each round, so each variant's values are loaded once.
    """
    import wfnb

    checked = set() if checked is None else checked
    table = wfnb.variants("notebook", store=str(store_root))
    for name in table["variant"]:
        if name in checked:
            continue
        checked.add(name)
        variant = wfnb.variant(name, "notebook", store=str(store_root))
        seed = float(variant.params["seed"])
        assert variant.outputs["big"].shape == (1_000_000,) and variant.outputs["big"][-1] == seed
        assert variant.outputs["total"] == seed * 1_000_000
    return len(table)


def test_sigkill_at_random_moments_of_a_notebook_write(ip, tmp_path: Path) -> None:
    import random

    root = tmp_path / "store"
    ip.run_line_magic("wfnb", f"store {root}")
    for cell in ("%%params\nseed = 0", "%%step big\nimport numpy as np\nbig = np.full(1_000_000, float(seed))",
                 "%%step small\ntotal = float(big.sum())"):
        assert ip.run_cell(cell).success
    assert _check_variants(root) == 1
    env = {**os.environ, "PYTHONPATH": str(REPO), "WFNB_FSYNC": "0"}
    zygote = subprocess.Popen(
        [sys.executable, str(ZYGOTE), str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    rng = random.Random(8)
    inside = 0
    checked: set[str] = set()
    try:
        for seed in range(1, 25):
            zygote.stdin.write(f"{seed}\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline())
            deadline = time.monotonic() + 20
            while not _large_write_started(root) and not _gone(pid):
                assert time.monotonic() < deadline, "the child never started writing"
                time.sleep(0.0002)
            time.sleep(rng.uniform(0, 0.003))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while not _gone(pid):
                time.sleep(0.001)
            inside += bool(os.listdir(root / "tmp"))
            store = open_store(root)  # removes the dead writer's tmp file
            assert os.listdir(root / "tmp") == []
            assert store.verify().ok
            assert _check_variants(root, checked) >= 1  # v1 and whatever committed: all intact
    finally:
        zygote.stdin.close()
        zygote.kill()
        zygote.wait()
        zygote.stdout.close()
    assert inside >= 5, inside  # the kills really landed inside writes
    _check_variants(root)  # and, once more, all of them
    assert ip.run_cell("%%params\nseed = 99").success  # a re-run completes
    assert ip.run_cell("%%step big\nimport numpy as np\nbig = np.full(1_000_000, float(seed))").success
    assert ip.run_cell("%%step small\ntotal = float(big.sum())").success
    assert ip.user_ns["total"] == 99_000_000.0 and open_store(root).verify().ok
    shutil.rmtree(root)


def test_a_full_disk_during_a_step_is_one_clear_line_and_the_store_stays_consistent(tiny_disk: Path, ip, probe) -> None:
    from IPython.utils.capture import capture_output

    root = tiny_disk / "store"
    ip.run_line_magic("wfnb", f"store {root}")
    assert ip.run_cell("%%step small\nprobe.hit()\nsmall = list(range(100))").success
    with capture_output() as io:
        result = ip.run_cell("%%step big\nimport numpy as np\nbig = np.ones(300_000)")  # 2.4 MB on a 1 MB disk
    assert not result.success
    (line,) = [line for line in io.stderr.splitlines() if "is full" in line]
    assert str(root) in line and "WFNB_STORE" in line and "Traceback" not in io.stderr
    assert os.listdir(root / "tmp") == [] and open_store(root).verify().ok
    del ip.user_ns["small"]
    assert ip.run_cell("%%step small\nprobe.hit()\nsmall = list(range(100))").success
    assert probe.count() == 1 and ip.user_ns["small"] == list(range(100))  # restored: the earlier result is intact


def test_a_full_disk_while_a_step_is_stored_says_what_happened_to_the_step(tiny_disk: Path, ip) -> None:
    from IPython.utils.capture import capture_output

    root = tiny_disk / "store"
    ip.run_line_magic("wfnb", f"store {root}")
    assert ip.run_cell("%%step small\nsmall = list(range(100))").success
    with capture_output() as io:
        result = ip.run_cell("%%step big\nimport numpy as np\nbig = np.ones(300_000)")  # 2.4 MB on a 1 MB disk
    assert not result.success and "Traceback" not in io.stderr + io.stdout
    (paragraph,) = [line for line in io.stderr.splitlines() if "is full" in line]
    assert paragraph.startswith("UsageError: Step big ran and its values are in the namespace, but its result could not be stored")
    assert "Nothing partial was left in the store" in paragraph and paragraph.endswith("Then run the cell again.")
    assert ip.user_ns["big"].shape == (300_000,)
    session = ip.magics_manager.registry["WorkflowMagics"].session
    assert dict((step, status) for step, status, _ in session.status_table())["big"] != "fresh"  # not taken as stored
    assert os.listdir(root / "tmp") == [] and open_store(root).verify().ok
