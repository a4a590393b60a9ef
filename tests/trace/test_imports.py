"""Imports anywhere: the source of every local module a step used, and the version of every library."""

from __future__ import annotations

import pytest

DOUBLE = "def f(x):\n    return x * 2\n"
TRIPLE = "def f(x):\n    return x * 3\n"


@pytest.mark.parametrize(
    "cells",
    [
        pytest.param(["%%step use\nimport mylib\ny = mylib.f(3)"], id="import-in-step"),
        pytest.param(["%%step use\nfrom mylib import f\ny = f(3)"], id="from-import-in-step"),
        pytest.param(["%%step use\nfrom mylib import *\ny = f(3)"], id="star-import-in-step"),
        pytest.param(["def g(x):\n    import mylib\n    return mylib.f(x)", "%%step use\ny = g(3)"], id="import-in-helper"),
        pytest.param(["import mylib", "%%step use\ny = mylib.f(3)"], id="import-in-plain-cell"),
    ],
)
def test_editing_a_local_module_and_restarting_runs_the_step_again(lab, cells):
    lab.write("mylib.py", DOUBLE)
    first = lab.run(cells)
    assert first.step("use").ran and first.value("y") == "6"
    again = lab.run(cells)
    assert again.step("use").cached and again.value("y") == "6"
    lab.write("mylib.py", TRIPLE)
    edited = lab.run(cells)
    assert edited.step("use").ran, edited.step("use")
    assert edited.value("y") == "9"


def test_a_module_imported_by_a_local_module_is_part_of_the_trace(lab):
    lab.write("util.py", "def base(x):\n    return x * 2\n")
    lab.write("mylib.py", "from util import base\n\ndef f(x):\n    return base(x) + 1\n")
    cells = ["%%step use\nimport mylib\ny = mylib.f(3)"]
    assert lab.run(cells).value("y") == "7"
    lab.write("util.py", "def base(x):\n    return x * 10\n")
    edited = lab.run(cells)
    assert edited.step("use").ran and edited.value("y") == "31"


def test_a_module_imported_inside_a_function_of_a_local_module_is_part_of_the_trace(lab):
    lab.write("util.py", "K = 2\n")
    lab.write("mylib.py", "def f(x):\n    import util\n    return x * util.K\n")
    cells = ["%%step use\nimport mylib\ny = mylib.f(3)"]
    assert lab.run(cells).value("y") == "6"
    lab.write("util.py", "K = 5\n")
    edited = lab.run(cells)
    assert edited.step("use").ran and edited.value("y") == "15"


def test_a_package_installed_in_editable_mode_is_followed_by_its_source(lab):
    lab.write("src/mypkg/__init__.py", DOUBLE)
    site = lab.root / "env" / "site-packages"
    lab.write("env/site-packages/mypkg.pth", str(lab.root / "src") + "\n")
    lab.write("env/site-packages/mypkg-0.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: mypkg\nVersion: 0.1\n")
    lab.write("env/site-packages/mypkg-0.1.dist-info/top_level.txt", "mypkg\n")
    cells = [f"import site\nsite.addsitedir({str(site)!r})", "%%step use\nimport mypkg\ny = mypkg.f(3)"]
    assert lab.run(cells).value("y") == "6"
    lab.write("src/mypkg/__init__.py", TRIPLE)  # the same version number: only the source changed
    edited = lab.run(cells)
    assert edited.step("use").ran and edited.value("y") == "9"


def test_an_edit_not_yet_loaded_by_the_kernel_is_never_recorded_as_the_new_source(lab):
    """Without a restart, Python keeps running the code it loaded: the step may hit, but the
    record made from the old code must not later pass for the new source."""
    lab.write("mylib.py", DOUBLE)
    cells = ["%%step use\nimport mylib\ny = mylib.f(3)"]
    session = lab.run(cells)
    lab.write("mylib.py", TRIPLE)
    session.run("%%step use --force\nimport mylib\ny = mylib.f(3)")  # still the loaded code: 6
    assert session.value("y") == "6"
    edited = lab.run(cells)
    assert edited.step("use").ran and edited.value("y") == "9"


def _install(site, name, version, source):
    """A real installed distribution (module + dist-info) in a directory named site-packages."""
    (site / f"{name}.py").write_text(source)
    for old in site.glob(f"{name}-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{name}\n")


def test_a_library_a_library_imports_lazily_is_part_of_the_trace(lab):
    """Like ``df.to_markdown()``, which imports the optional library tabulate when called."""
    site = lab.root / "env" / "site-packages"
    site.mkdir(parents=True)
    _install(site, "frontlib", "1.0", "def render():\n    import backlib\n    return backlib.TEXT\n")
    _install(site, "backlib", "1.0", "TEXT = 'one'\n")
    cells = [f"import site\nsite.addsitedir({str(site)!r})", "%%step show\nimport frontlib\ntext = frontlib.render()"]
    assert lab.run(cells).value("text") == "'one'"
    _install(site, "backlib", "2.0", "TEXT = 'two'\n")  # an upgrade of the optional library only
    edited = lab.run(cells)
    assert edited.step("show").ran and edited.value("text") == "'two'"
    assert "backlib" in edited.step("show").status
