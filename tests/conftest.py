"""Fixtures: a fresh real IPython shell per test, with wfnb loaded and its own store."""

from __future__ import annotations

import builtins
from collections import Counter

import pytest
from IPython.core.interactiveshell import InteractiveShell
from shells import close_shell  # tests/shells.py


@pytest.fixture(autouse=True)
def _fast_store(monkeypatch):
    """Skip the durability sync in tests: it is tested on its own, and slow on shared disks."""
    monkeypatch.setenv("WFNB_FSYNC", "0")
    monkeypatch.delenv("WFNB_STORE", raising=False)


@pytest.fixture
def ip(tmp_path, monkeypatch):
    """A real InteractiveShell in tmp_path, with `%load_ext wfnb` done."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.chdir(tmp_path)
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
