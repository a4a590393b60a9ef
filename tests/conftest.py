"""Fixtures: a fresh real IPython shell per test, with wfnb loaded and its own store."""

from __future__ import annotations

import builtins
from collections import Counter

import pytest
from IPython.core.interactiveshell import InteractiveShell

from shells import close_shell  # tests/shells.py

# `make test-fast` (pytest -m fast): what a developer runs after each change, in under two minutes on two
# cores. Pure shells, hashing, the store, code hashes and layers, and a few real kernels (restart gives
# hits; the harness's own kernels). Chosen by `pytest --durations=0`: the whole suite's kernels, servers,
# browsers, S3 and Dask are left to `make test`. Whole files, or single tests by node id.
FAST = [
    "tests/test_step.py",
    "tests/test_hashing.py",
    "tests/test_codehash.py",
    "tests/test_layers.py",
    "tests/test_fastpaths.py",
    "tests/test_cli.py",
    "tests/test_cli_list.py",
    "tests/store/test_codecs.py",
    "tests/store/test_objects.py",
    "tests/store/test_lazy_restore.py",
    "tests/store/test_format_pinned.py",
    "tests/store/test_gc_retire.py",
    "tests/store/test_refs.py",
    "tests/test_test_kernels.py",
    "tests/test_notebooks.py::test_demo_notebook_second_kernel_runs_no_step_and_shows_the_same",
    "tests/test_python_api.py::test_errors_show_one_message_and_no_frame_of_wfnb",
]


def pytest_ignore_collect(collection_path, config):
    """Under exactly `-m fast`, do not even import the folders and files with no fast test: remote/ and
    browser/ alone import s3fs, moto and playwright, seconds of a two-minute budget."""
    if config.option.markexpr != "fast" or not collection_path.is_relative_to(config.rootpath / "tests"):
        return None
    relative = collection_path.relative_to(config.rootpath).as_posix()
    files = {entry.partition("::")[0] for entry in FAST}
    if collection_path.is_dir():
        return not any(file.startswith(relative + "/") for file in files) or None
    if collection_path.name.startswith("test_") and collection_path.suffix == ".py":
        return relative not in files or None
    return None


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    """Mark the FAST selection. A name in FAST that names no file, or no test in its file, is an error."""
    root = config.rootpath
    for entry in FAST:
        file, _, test = entry.partition("::")
        if not (root / file).is_file() or (test and f"def {test}(" not in (root / file).read_text()):
            raise pytest.UsageError(f"tests/conftest.py: FAST names {entry}, which does not exist")
    for item in items:
        file = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else str(item.path)
        if file in FAST or f"{file}::{item.originalname}" in FAST:
            item.add_marker(pytest.mark.fast)


@pytest.fixture(autouse=True)
def _fast_store(monkeypatch):
    """Skip the durability sync in tests: it is tested on its own, and slow on shared disks."""
    monkeypatch.setenv("WFNB_FSYNC", "0")
    monkeypatch.delenv("WFNB_STORE", raising=False)


def _as_in_a_fresh_kernel(monkeypatch):
    """What wfnb keeps for the life of a process and a fresh kernel starts without: whether code seeded the
    global random generators (an earlier test's seed or restored hit would make this test's draws
    reproducible, and its check of a random step "same")."""
    from wfnb.cache import randomness

    for generator in randomness.GENERATORS:
        monkeypatch.setitem(randomness._seeded, generator, False)


@pytest.fixture
def ip(tmp_path, monkeypatch):
    """A real InteractiveShell in tmp_path, with `%load_ext wfnb` done."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.chdir(tmp_path)
    _as_in_a_fresh_kernel(monkeypatch)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "wfnb")
    _name_the_workflow(shell)
    yield shell
    InteractiveShell.clear_instance()
    close_shell(shell)
    _reset_matplotlib()


def _name_the_workflow(shell):
    """A plain shell runs no notebook file: name its workflow, as wfnb's one-time message asks."""
    from IPython.utils.capture import capture_output

    with capture_output():
        shell.run_line_magic("wfnb", "workflow notebook")


def _reset_matplotlib():
    """Leave matplotlib as a fresh process has it: the inline backend's state is per process, not per shell."""
    import sys

    if "matplotlib.pyplot" in sys.modules:
        import matplotlib
        import matplotlib.pyplot as plt

        plt.close("all")
        plt.switch_backend("agg")
        matplotlib.interactive(False)
    inline = sys.modules.get("matplotlib_inline.backend_inline")
    if inline is not None:  # it registers the PNG formatter on the first shell only, unless reset
        inline.configure_inline_support.current_backend = "unset"


@pytest.fixture
def new_kernel(ip, monkeypatch):
    """Start another fresh shell on the same directory and store: what a kernel restart gives.

    The shells it made stay usable until the test ends (a test may compare the old one's
    namespace with the new one's); then each is closed.
    """
    started = []

    def restart():
        InteractiveShell.clear_instance()
        shell = InteractiveShell.instance()
        started.append(shell)
        shell.run_line_magic("load_ext", "wfnb")
        _name_the_workflow(shell)
        return shell

    yield restart
    InteractiveShell.clear_instance()
    for shell in reversed(started):  # each gives back the __main__ it found: the one before it
        close_shell(shell)


@pytest.fixture
def probe():
    """`probe.hit(name)` in a step counts real executions; lives in builtins so it is no step input."""
    counter = Counter()

    class Probe:
        def hit(self, name="step"):
            counter[name] += 1

        def count(self, name="step"):
            return counter[name]

    builtins.probe = Probe()
    yield builtins.probe
    del builtins.probe
