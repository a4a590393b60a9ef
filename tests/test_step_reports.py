"""What a step's status line and warnings say: imports are no results, advice is given once, the time is
the cell's, and a parameter set in a plain cell is said."""

from __future__ import annotations

import re
import textwrap

from IPython.utils.capture import capture_output


def run(shell, cell):
    with capture_output() as io:
        result = shell.run_cell(textwrap.dedent(cell).strip("\n"))
    assert result.success, io.stderr + io.stdout
    return io


def status(io):
    return [o.data["text/plain"] for o in io.outputs if o.metadata.get("wfnb") == "status"][-1]


def test_imports_inside_a_step_are_not_listed_as_restored_outputs(ip):
    cell = "%%step calc\nimport json\nimport os.path as osp\ntext = json.dumps([1, 2])"
    run(ip, cell)
    hit = status(run(ip, cell))
    assert hit.startswith("step calc · cached · restored text · "), hit
    assert ip.user_ns["json"].dumps([3]) == "[3]"  # the import is still there


def test_the_unpicklable_warning_gives_its_advice_once(ip):
    io = run(ip, "%%step gens\nfirst = (i for i in range(3))\nsecond = (i for i in range(4))\nkept = 1")
    warning = [line for line in io.stderr.splitlines() if "could not be cached" in line]
    assert len(warning) == 1
    assert warning[0].count("turn it into plain data") == 1 and warning[0].count("'generator'") == 2  # one reason
    assert "first, second: This value cannot be hashed" in warning[0]


def test_values_of_several_kinds_get_each_reason_and_the_shared_advice_once(ip):
    ip.run_cell("class Unpicklable:\n    def __reduce__(self):\n        raise TypeError('no pickling')")
    io = run(ip, "%%step mixed\nfirst = Unpicklable()\nsecond = (i for i in range(4))\nthird = Unpicklable()\nkept = 1")
    (warning,) = [line for line in io.stderr.splitlines() if "could not be cached" in line]
    assert "first, third: This value cannot be hashed: objects of type '__main__.Unpicklable'" in warning
    assert "; second: This value cannot be hashed: objects of type 'generator'" in warning
    assert warning.count("wfnb reuses a cached result only when") == 1 and warning.count("turn it into plain data") == 1


def test_the_status_line_shows_what_was_stored(ip):
    line = status(run(ip, "%%step big\nvalues = list(range(200_000))"))
    assert re.search(r"· ran \d+(\.\d+)? m?s( \+ stored \d+(\.\d+)? m?s)? · stored 1 value, [\d.]+ [kM]B · new variant v1$", line), line


_SLOW_TO_STORE = """
import time

class SlowToStore:
    def __reduce__(self):
        time.sleep(0.3)  # at least 0.3 s to hash and to store, while the step's code takes none
        return (SlowToStore, ())
"""


def _seconds(text):
    number, unit = text.split()
    return float(number) / (1000 if unit == "ms" else 1)


def test_the_status_line_time_is_the_whole_step_with_storing_apart_when_it_weighs(ip):
    ip.run_cell(_SLOW_TO_STORE)
    line = status(run(ip, "%%step slow\nvalue = SlowToStore()"))
    found = re.search(r"· ran (\d+(?:\.\d+)? m?s) \+ stored (\d+(?:\.\d+)? m?s) · stored 1 value, ", line)
    assert found, line
    assert _seconds(found.group(2)) >= 0.3  # what hashing and storing took is in the line's time, said apart


def test_a_hit_s_time_includes_restoring(ip):
    ip.run_cell(_SLOW_TO_STORE.replace("return (SlowToStore, ())", "return (time.sleep, (0.3,))"))
    cell = "%%step slow\nvalue = SlowToStore()"
    run(ip, cell)
    line = status(run(ip, cell))
    found = re.search(r"· cached · restored value · (\d+(?:\.\d+)? m?s)", line)
    assert found, line
    assert _seconds(found.group(1)) >= 0.3  # restoring calls time.sleep(0.3)


def test_a_parameter_set_again_in_a_plain_cell_is_said_in_one_line(ip):
    run(ip, "%%params\nalpha = 0.5")
    quiet = run(ip, "%%step scale\nscaled = alpha * 2")
    assert "outside %%params" not in quiet.stderr
    run(ip, "alpha = 0.7")
    io = run(ip, "%%step scale\nscaled = alpha * 2")
    said = [line for line in io.stderr.splitlines() if "outside %%params" in line]
    assert said == [
        "wfnb: step scale read alpha = 0.7, set outside %%params (which has alpha = 0.5), so no variant records "
        "the value it used. Set alpha in the %%params cell."
    ]
