"""`%%step` end to end in real IPython shells: hits, misses, restores and what the user sees."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import wfnb

from kernels import wfnb_frames  # tests/kernels.py


def run(shell, cell):
    """Run a cell; return (result, captured output)."""
    with capture_output() as io:
        result = shell.run_cell(textwrap.dedent(cell).strip("\n"))
    return result, io


def status_lines(io):
    return [o.data["text/plain"] for o in io.outputs if o.metadata.get("wfnb") == "status"]


def step_outputs(io):
    return [o for o in io.outputs if o.metadata.get("wfnb") != "status"]


STEP = """
%%step double
probe.hit()
y = x * 2
"""


def test_second_run_is_a_hit_and_does_not_execute(ip, probe):
    ip.run_cell("x = 21")
    first, io1 = run(ip, STEP)
    second, io2 = run(ip, STEP)
    assert first.success and second.success
    assert probe.count() == 1
    assert ip.user_ns["y"] == 42
    assert "ran" in status_lines(io1)[0]
    assert status_lines(io2)[0].startswith("step double · cached · restored y · ")


def test_fresh_kernel_restores_namespace_without_running(ip, new_kernel, probe):
    ip.run_cell("x = 21")
    run(ip, STEP)
    shell = new_kernel()
    shell.run_cell("x = 21")
    result, _ = run(shell, STEP)
    assert result.success
    assert probe.count() == 1
    assert shell.user_ns["y"] == 42


def test_comment_and_layout_edits_still_hit(ip, probe):
    ip.run_cell("x = 1")
    run(ip, STEP)
    edited = """
    %%step double
    # a comment the user added
    probe.hit()

    y = x*2   # and another
    """
    run(ip, edited)
    assert probe.count() == 1


def test_code_change_runs_again(ip, probe):
    ip.run_cell("x = 1")
    run(ip, STEP)
    _, io = run(ip, STEP.replace("x * 2", "x * 3"))
    assert probe.count() == 2
    assert ip.user_ns["y"] == 3
    assert "code changed" in status_lines(io)[0]


def test_input_value_decides_not_object_identity(ip, probe):
    ip.run_cell("x = 1")
    run(ip, STEP)
    ip.run_cell("x = 2")
    _, io = run(ip, STEP)
    assert probe.count() == 2 and ip.user_ns["y"] == 4
    assert "input x changed" in status_lines(io)[0]
    ip.run_cell("x = int('2')")  # equal value, new object
    run(ip, STEP)
    assert probe.count() == 2


def test_dataframe_input_change_runs_again(ip, probe):
    ip.run_cell("import pandas as pd\ndf = pd.DataFrame({'a': [1.0, 2.0]})")
    cell = "%%step total\nprobe.hit()\ntotal = df['a'].sum()"
    run(ip, cell)
    ip.run_cell("df.loc[1, 'a'] = 5.0")
    run(ip, cell)
    assert probe.count() == 2 and ip.user_ns["total"] == 6.0


def test_editing_a_helper_in_another_cell_runs_again(ip, probe):
    ip.run_cell("def scale(v):\n    return v * 10")
    ip.run_cell("x = 1")
    cell = "%%step scaled\nprobe.hit()\nz = scale(x)"
    run(ip, cell)
    run(ip, cell)
    assert probe.count() == 1
    ip.run_cell("def scale(v):\n    return v * 100")
    run(ip, cell)
    assert probe.count() == 2 and ip.user_ns["z"] == 100


def test_editing_a_helper_of_a_helper_runs_again(ip, probe):
    ip.run_cell("def inner(v):\n    return v + 1")
    ip.run_cell("def outer(v):\n    return inner(v) * 2")
    cell = "%%step nested\nprobe.hit()\nw = outer(1)"
    run(ip, cell)
    ip.run_cell("def inner(v):\n    return v + 2")
    run(ip, cell)
    assert probe.count() == 2 and ip.user_ns["w"] == 6


def test_a_global_read_by_a_helper_is_an_input(ip, probe):
    ip.run_cell("rate = 2\ndef apply(v):\n    return v * rate")
    cell = "%%step applied\nprobe.hit()\nr = apply(3)"
    run(ip, cell)
    ip.run_cell("rate = 3")
    run(ip, cell)
    assert probe.count() == 2 and ip.user_ns["r"] == 9


def test_editing_a_data_file_named_in_the_cell_runs_again(ip, tmp_path, probe):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "prices.csv").write_text("close\n1\n2\n")
    cell = """
    %%step load
    import pandas as pd
    probe.hit()
    prices = pd.read_csv("data/prices.csv")
    """
    run(ip, cell)
    run(ip, cell)
    assert probe.count() == 1
    (tmp_path / "data" / "prices.csv").write_text("close\n1\n2\n3\n")
    _, io = run(ip, cell)
    assert probe.count() == 2 and len(ip.user_ns["prices"]) == 3
    assert "file data/prices.csv changed" in status_lines(io)[0]


def test_deps_option_tracks_files_the_code_does_not_name(ip, tmp_path, probe):
    (tmp_path / "config.txt").write_text("a")
    ip.run_cell("name = 'config' + '.txt'")
    cell = "%%step read --deps config.txt\nprobe.hit()\ntext = open(name).read()"
    run(ip, cell)
    (tmp_path / "config.txt").write_text("b")
    run(ip, cell)
    assert probe.count() == 2 and ip.user_ns["text"] == "b"


def test_an_input_holding_a_file_path_tracks_the_file(ip, tmp_path, probe):
    (tmp_path / "in.txt").write_text("one")
    ip.run_cell("path = 'in.txt'")
    cell = "%%step read\nprobe.hit()\ntext = open(path).read()"
    run(ip, cell)
    (tmp_path / "in.txt").write_text("two")
    run(ip, cell)
    assert probe.count() == 2 and ip.user_ns["text"] == "two"


def test_missing_deps_file_is_a_clear_error(ip, probe):
    result, io = run(ip, "%%step s --deps nowhere.csv\nprobe.hit()")
    assert isinstance(result.error_in_exec, UsageError)
    assert "--deps nowhere.csv: no such file" in str(result.error_in_exec)
    assert probe.count() == 0


def test_in_place_mutation_of_an_input_is_restored_on_a_hit(ip, new_kernel, probe):
    cell = "%%step grow\nprobe.hit()\nitems.append(4)\nn = len(items)"
    ip.run_cell("items = [1, 2, 3]")
    run(ip, cell)
    assert ip.user_ns["items"] == [1, 2, 3, 4]
    shell = new_kernel()
    shell.run_cell("items = [1, 2, 3]")
    run(shell, cell)
    assert probe.count() == 1
    assert shell.user_ns["items"] == [1, 2, 3, 4] and shell.user_ns["n"] == 4


def test_dataframe_mutated_in_place_is_restored(ip, new_kernel, probe):
    setup = "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})"
    cell = "%%step addcol\nprobe.hit()\ndf['b'] = df['a'] * 2"
    ip.run_cell(setup)
    run(ip, cell)
    shell = new_kernel()
    shell.run_cell(setup)
    run(shell, cell)
    assert probe.count() == 1
    assert list(shell.user_ns["df"].columns) == ["a", "b"]


def test_printed_text_and_rich_output_are_shown_again(ip, new_kernel, probe):
    cell = """
    %%step show
    import sys
    import pandas as pd
    from IPython.display import display
    probe.hit()
    frame = pd.DataFrame({"a": [1, 2]})
    print("rows:", len(frame))
    print("careful", file=sys.stderr)
    display(frame)
    frame.a.sum()
    """
    _, first = run(ip, cell)
    shell = new_kernel()
    _, second = run(shell, cell)
    assert probe.count() == 1
    assert second.stdout == first.stdout and "rows: 2" in second.stdout
    assert second.stderr == first.stderr == "careful\n"
    before, after = step_outputs(first), step_outputs(second)
    assert [o.data for o in after] == [o.data for o in before]
    assert "text/html" in after[0].data  # the DataFrame's table
    assert "Out[" in second.stdout and "np.int64(3)" in second.stdout  # the last expression's value


def test_figures_are_shown_again_on_a_hit(ip, new_kernel, probe):
    cell = """
    %%step plot
    import matplotlib.pyplot as plt
    probe.hit()
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    print("plotted")
    """
    inline_figures(ip)
    _, first = run(ip, cell)
    shell = new_kernel()
    inline_figures(shell)
    _, second = run(shell, cell)
    assert probe.count() == 1
    pictures = [o.data["image/png"] for o in step_outputs(second) if "image/png" in o.data]
    assert len(pictures) == 1 and pictures == [o.data["image/png"] for o in step_outputs(first) if "image/png" in o.data]
    assert second.stdout == "plotted\n"


def inline_figures(shell):
    """`%matplotlib inline` in a plain shell: the inline backend needs no GUI event loop."""
    shell.enable_gui = lambda gui=None: None
    shell.enable_matplotlib("inline")


def test_an_exception_shows_the_users_traceback_and_stores_nothing(ip, probe):
    cell = "%%step broken\nprobe.hit()\ndef inner():\n    return 1 / 0\nresult = inner()"
    result, io = run(ip, cell)
    assert isinstance(result.error_in_exec, UsageError)
    assert "step broken failed (ZeroDivisionError: division by zero)" in str(result.error_in_exec)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", io.stdout)
    assert "ZeroDivisionError" in shown and "inner()" in shown
    assert wfnb_frames(shown) == []  # no traceback through wfnb itself
    run(ip, cell)
    assert probe.count() == 2  # nothing was recorded as a success
    runs = wfnb.runs()
    assert list(runs["error"]) == ["ZeroDivisionError: division by zero"] * 2


def test_keyboard_interrupt_stores_nothing(ip, probe):
    cell = "%%step stopped\nprobe.hit()\npartial = 1\nraise KeyboardInterrupt"
    result, _ = run(ip, cell)
    assert not result.success
    run(ip, cell)
    assert probe.count() == 2


def test_unstorable_output_warns_and_runs_again_next_time(ip, probe):
    cell = "%%step gen\nprobe.hit()\nnumbers = (i for i in range(3))\nkept = 5"
    _, io = run(ip, cell)
    assert "numbers" in io.stderr and "could not be cached" in io.stderr
    assert "generator" in io.stderr
    assert "not cached: numbers cannot be stored" in status_lines(io)[0]
    run(ip, cell)
    assert probe.count() == 2
    assert ip.user_ns["kept"] == 5


def test_unhashable_input_makes_the_step_run_every_time(ip, probe):
    ip.run_cell("import threading\nlock = threading.Lock()")
    cell = "%%step locked\nprobe.hit()\nwith lock:\n    v = 1"
    _, io = run(ip, cell)
    run(ip, cell)
    assert probe.count() == 2
    assert "not cached" in status_lines(io)[0]


@pytest.mark.parametrize(
    "line, message",
    [
        ("%%step", "the following arguments are required: name"),
        ("%%step bad/name", "is not a valid step name"),
        ("%%step ..", "is not a valid step name"),
        ("%%step ok --unknown", "unrecognized arguments: --unknown"),
        ("%%step ok --save nonsense", "expected NAME=PATH"),
        ("%%step ok --save x=out.xlsx", "is not one of .csv, .parquet, .json, .pkl"),
    ],
)
def test_bad_magic_arguments_are_one_clear_error_and_run_nothing(ip, probe, line, message):
    result, io = run(ip, f"{line}\nprobe.hit()")
    assert isinstance(result.error_in_exec, UsageError)
    assert message in str(result.error_in_exec)
    assert "Traceback" not in io.stdout
    assert probe.count() == 0


def test_top_level_await_works_in_a_step(ip, probe):
    cell = "%%step waits\nimport asyncio\nprobe.hit()\nawait asyncio.sleep(0)\nanswer = 42"
    result, _ = run(ip, cell)
    assert result.success and ip.user_ns["answer"] == 42
    run(ip, cell)
    assert probe.count() == 1


def test_force_runs_and_replaces_the_entry(ip, probe):
    ip.run_cell("x = 1")
    run(ip, STEP)
    _, io = run(ip, STEP.replace("double", "double --force"))
    assert probe.count() == 2 and "forced" in status_lines(io)[0]
    run(ip, STEP)
    assert probe.count() == 2


def test_no_cache_always_runs_but_records(ip, probe):
    ip.run_cell("x = 1")
    cell = STEP.replace("double", "double --no-cache")
    run(ip, cell)
    run(ip, cell)
    assert probe.count() == 2
    run(ip, STEP)  # the recorded result serves a normal run
    assert probe.count() == 2


def test_save_writes_a_file_with_parameters_and_rewrites_it_when_missing(ip, tmp_path, probe):
    ip.run_cell("import pandas as pd\nwindow = 5")
    cell = "%%step table --save table=out/table-{window}.csv\nprobe.hit()\ntable = pd.DataFrame({'w': [window]})"
    run(ip, cell)
    target = tmp_path / "out" / "table-5.csv"
    assert target.read_text().splitlines() == [",w", "0,5"]
    target.unlink()
    run(ip, cell)
    assert probe.count() == 1 and target.exists()


def test_save_json_and_pickle(ip, tmp_path):
    cell = "%%step small --save data=d.json --save data=d.pkl\ndata = {'a': [1, 2]}"
    run(ip, cell)
    assert json.loads((tmp_path / "d.json").read_text()) == {"a": [1, 2]}
    assert (tmp_path / "d.pkl").stat().st_size > 0


def test_runs_table_lists_executions_newest_last(ip, probe):
    ip.run_cell("x = 1")
    run(ip, STEP)
    run(ip, STEP)
    table = wfnb.runs()
    assert list(table.columns[:8]) == ["workflow", "step", "key", "cached", "started", "duration_s", "outputs", "error"]
    assert list(table["cached"]) == [False, True]
    assert table["started"].is_monotonic_increasing
    assert list(table["outputs"]) == [["y"], ["y"]]
    assert table["key"].nunique() == 1


def test_store_location_from_environment_and_magic(ip, tmp_path, monkeypatch):
    ip.run_line_magic("wfnb", f"store {tmp_path / 'elsewhere'}")
    run(ip, "%%step s\nv = 1")
    assert (tmp_path / "elsewhere" / "records").is_dir()
    assert not (tmp_path / ".wfnb").exists()


def test_default_store_is_in_the_working_directory(ip, tmp_path):
    run(ip, "%%step s\nv = 1")
    assert (tmp_path / ".wfnb" / "FORMAT").exists()


def test_bad_store_path_is_a_clear_error(ip, tmp_path):
    (tmp_path / "a-file").write_text("x")
    result, _ = run(ip, f"%wfnb store {tmp_path / 'a-file'}")
    assert isinstance(result.error_in_exec, UsageError)
    assert "a-file" in str(result.error_in_exec)


def test_identical_values_are_stored_once(ip):
    run(ip, "%%step one\nimport numpy as np\na = np.arange(100_000)")
    size = wfnb_store_size(ip)
    run(ip, "%%step two\nimport numpy as np\nb = np.arange(100_000)")
    assert wfnb_store_size(ip) - size < 10_000  # only the record and display, not a second array


def wfnb_store_size(shell):
    from wfnb.history.session import current_session

    return current_session().store.disk_usage()


def test_functions_defined_in_a_step_read_live_globals_after_a_hit(ip, new_kernel, probe):
    cell = "%%step define\nprobe.hit()\ndef scaled(v):\n    return v * factor\nfactor_seen = factor"
    ip.run_cell("factor = 2")
    run(ip, cell)
    shell = new_kernel()
    shell.run_cell("factor = 2")
    run(shell, cell)
    assert probe.count() == 1
    shell.run_cell("factor = 5")
    assert shell.run_cell("scaled(2)").result == 10


def test_classes_and_imports_are_restored(ip, new_kernel, probe):
    cell = """
    %%step model
    import math
    probe.hit()
    class Box:
        def __init__(self, v):
            self.v = v
        def area(self):
            return math.pi * self.v
    box = Box(2)
    """
    run(ip, cell)
    shell = new_kernel()
    run(shell, cell)
    assert probe.count() == 1
    assert shell.run_cell("round(box.area(), 3), isinstance(box, Box)").result == (6.283, True)


def test_deleted_names_are_deleted_again_on_a_hit(ip, new_kernel):
    cell = "%%step tidy\ntemp = 1\nkeep = temp + 1\ndel temp"
    run(ip, cell)
    shell = new_kernel()
    shell.run_cell("temp = 99")
    run(shell, cell)
    assert "temp" not in shell.user_ns and shell.user_ns["keep"] == 2


def test_aliasing_between_outputs_survives_a_restore(ip, new_kernel):
    cell = "%%step alias\nfirst = [1]\nsecond = first"
    run(ip, cell)
    shell = new_kernel()
    run(shell, cell)
    assert shell.run_cell("second is first").result is True


def test_names_read_through_eval_are_in_the_trace(ip, probe):
    ip.run_cell("x = 1")
    cell = "%%step dyn\nprobe.hit()\ny = eval('x + 1')"
    run(ip, cell)
    run(ip, cell)
    assert probe.count() == 1
    ip.run_cell("x = 5")
    _, io = run(ip, cell)
    assert probe.count() == 2 and ip.user_ns["y"] == 6
    assert "input x changed" in status_lines(io)[0]


def test_globals_makes_a_step_run_every_time(ip, probe):
    ip.run_cell("x = 1")
    cell = "%%step dyn\nprobe.hit()\ny = globals()['x'] + 1"
    _, io = run(ip, cell)
    run(ip, cell)
    assert probe.count() == 2
    assert "globals()" in io.stderr


def test_a_corrupt_object_is_reported_and_the_step_runs_again(ip, tmp_path, probe):
    cell = "%%step big\nimport numpy as np\nprobe.hit()\narr = np.arange(1000)"
    run(ip, cell)
    objects = [p for p in (tmp_path / ".wfnb" / "objects").rglob("*") if p.is_file() and p.stat().st_size > 8000]
    assert len(objects) == 1
    data = bytearray(objects[0].read_bytes())
    data[-1] ^= 0xFF
    objects[0].write_bytes(bytes(data))
    _, io = run(ip, cell)
    assert probe.count() == 2
    assert "runs again" in io.stderr
    assert ip.user_ns["arr"][-1] == 999
    run(ip, cell)
    assert probe.count() == 2  # the re-run wrote a good object
    assert wfnb.verify().ok


def test_magics_inside_a_step_do_not_prevent_caching(ip, probe):
    cell = "%%step timed\nprobe.hit()\n%time total = sum(range(10))"
    run(ip, cell)
    run(ip, cell)
    assert probe.count() == 1 and ip.user_ns["total"] == 45


def install_fake_package(site, version):
    """A real installed distribution (module + dist-info) in a directory named site-packages."""
    (site / "tinylib").mkdir(parents=True, exist_ok=True)
    (site / "tinylib" / "__init__.py").write_text("def double(v):\n    return 2 * v\n")
    for old in site.glob("tinylib-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    info = site / f"tinylib-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tinylib\nVersion: {version}\n")
    (info / "top_level.txt").write_text("tinylib\n")
    (info / "RECORD").write_text("")


def test_a_new_version_of_an_imported_package_runs_again(ip, tmp_path, monkeypatch, probe):
    from wfnb.cache import codeorigin

    site = tmp_path / "env" / "site-packages"
    install_fake_package(site, "1.0")
    monkeypatch.syspath_prepend(str(site))
    codeorigin.library_roots.cache_clear()  # the roots are read once per process: sys.path changed
    cell = "%%step use\nimport tinylib\nprobe.hit()\nresult = tinylib.double(21)"
    run(ip, cell)
    run(ip, cell)
    assert probe.count() == 1
    install_fake_package(site, "1.1")  # an upgrade, seen after a restart
    codeorigin._VERSIONS.clear()  # a restart forgets the versions read
    _, io = run(ip, cell)
    assert probe.count() == 2 and "package tinylib changed" in status_lines(io)[0]


def test_deps_without_a_path_is_a_usage_error(ip, probe):
    result, _ = run(ip, "%%step s --deps\nprobe.hit()")
    assert isinstance(result.error_in_exec, UsageError)
    assert "expected at least one argument" in str(result.error_in_exec)
    assert probe.count() == 0


FORGETFUL = """
class Forgetful(dict):
    '''Like scikit-learn's Bunch: its pickle round trip drops its attributes.'''
    def __setstate__(self, state):
        pass
"""


def test_a_value_that_changes_in_a_pickle_round_trip_still_gives_hits_downstream(ip, new_kernel, probe):
    make = "%%step make\nbunch = Forgetful(a=1)\nbunch.note = 'dropped by pickle'"
    use = "%%step use\nprobe.hit('use')\nsize = len(bunch)"
    for shell, made_here in ((ip, True), (new_kernel(), False)):
        shell.run_cell(FORGETFUL)
        run(shell, make)
        run(shell, use)
        # what the class drops on loading is not part of its hash: the kernel that ran the step keeps the value it
        # made (as a plain run does), and the restored form, without it, hashes alike
        assert hasattr(shell.user_ns["bunch"], "note") == made_here
    assert probe.count("use") == 1


def test_a_trailing_semicolon_hides_the_last_value_as_in_a_plain_cell(ip):
    for _ in range(2):  # the run, then the hit
        _, io = run(ip, "%%step quiet\nvalue = 6\nvalue;")
        assert "Out[" not in io.stdout and ip.user_ns["value"] == 6
    _, io = run(ip, "%%step loud\nother = 7\nother")
    assert "Out[" in io.stdout
