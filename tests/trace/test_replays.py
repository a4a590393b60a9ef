"""Replays and sweeps check traces too: a restored step was made with the code it would run now."""

from __future__ import annotations

EDIT = "def f(x):\n    return x * 10\n"


def test_a_replay_in_the_kernel_that_imported_a_module_says_it_was_edited_since(lab):
    """Python keeps running the code it imported: a replay here restores results of that code, and says so."""
    lab.write("mylib.py", "def f(x):\n    return x * 2\n")
    cells = ["%%params\nn = 3", "%%step base\nvalues = list(range(n))", "%%step use\nimport mylib\ny = [mylib.f(v) for v in values]"]
    session = lab.run(cells)
    lab.write("mylib.py", EDIT)
    replay = session.run("import wfnb\nv = wfnb.replay('v1', n=3)\nprint(v.outputs['y'])")
    use = next(line for line in replay.stdout.splitlines() if "step use" in line)
    assert "cached" in use and "mylib.py edited since this kernel imported it" in use, use
    assert "[0, 2, 4]" in replay.stdout  # what running it in this kernel gives, too


def test_a_replay_after_a_restart_runs_the_steps_that_use_an_edited_module_and_says_why(lab):
    lab.write("mylib.py", "def f(x):\n    return x * 2\n")
    cells = ["%%params\nn = 3", "%%step base\nvalues = list(range(n))", "%%step use\nimport mylib\ny = [mylib.f(v) for v in values]"]
    lab.run(cells)
    lab.write("mylib.py", EDIT)
    session = lab.run([])
    replay = session.run("import wfnb\nv = wfnb.replay('v1', n=3)\nprint(v.outputs['y'])")
    lines = [line for line in replay.stdout.splitlines() if line.startswith("replay")]
    assert any("step base · cached" in line for line in lines), lines
    assert any("step use · ran" in line and "module mylib changed" in line for line in lines), lines
    assert "[0, 10, 20]" in replay.stdout


def test_a_sweep_after_a_module_edit_runs_the_new_code_everywhere_and_says_so(lab):
    lab.write("mylib.py", "def f(x):\n    return x * 2\n")
    cells = ["%%params\nn = 3", "%%step use\nimport mylib\ny = mylib.f(n)\nimport wfnb\nwfnb.log(y=y)"]
    session = lab.run(cells)
    lab.write("mylib.py", EDIT)
    swept = session.run("import wfnb\ntable = wfnb.sweep('v1', grid={'n': [3, 4]}, n_jobs=2, progress=False)")
    assert session.value("sorted(table['y'].tolist())") == "[30, 40]"
    assert "mylib.py changed on disk after this kernel imported it" in swept.stderr
