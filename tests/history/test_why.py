"""``%wfnb why STEP`` and ``wfnb why WORKFLOW STEP``: the last decision for a step, ingredient by ingredient."""

from __future__ import annotations

import json

from history.conftest import write
from wfnb.frontends.cli import main

LOAD = """
%%step load
import pandas as pd
prices = pd.read_csv("prices.csv", index_col="day")
"""
TREND = """
%%step trend
import mylib
trend = mylib.smooth(prices["close"], window)
"""


def test_why_names_each_ingredient_that_changed_and_by_how_much(notebooks, tmp_path, capsys):
    write(tmp_path / "prices.csv", "day,close\n1,10.0\n2,11.0\n3,12.5\n")
    write(tmp_path / "mylib.py", "def smooth(series, window):\n    return series.rolling(window, min_periods=1).mean()\n")
    nb = notebooks()
    nb.run("%%params\nwindow = 2")
    nb.run(LOAD)
    nb.run(TREND)
    first = nb.run("%wfnb why trend").stdout
    assert "ran" in first and "for the first time" in first

    # a hit: which entry it used, and when that was made
    assert nb.run(TREND).status.startswith("step trend · cached")
    hit = nb.run("%wfnb why trend").stdout
    assert "step trend · cached" in hit and "It used the result made" in hit and "key " in hit

    # a file: its size, time and the lines that changed
    write(tmp_path / "prices.csv", "day,close\n1,10.0\n2,11.5\n3,12.5\n4,13.0\n")
    assert nb.run(LOAD).status.startswith("step load · ran")
    why_load = nb.run("%wfnb why load").stdout
    assert "file prices.csv" in why_load and "size 31 B → 38 B" in why_load
    assert "-2,11.0" in why_load and "+2,11.5" in why_load and "+4,13.0" in why_load

    # an input frame (rows and columns that differ), a parameter, the code (a diff)
    nb.run("%%params\nwindow = 3")
    nb.run(TREND.replace("window)", "window)\nlast = float(trend.iloc[-1])"))
    why_trend = nb.run("%wfnb why trend").stdout
    assert "parameter window\n  2 → 3" in why_trend
    assert "input prices\n  frame 3×1 → 4×1\n  1 row added: 4" in why_trend
    assert "values differ in columns close (max abs diff 0.5" in why_trend and "1 row differs: 2" in why_trend
    assert "code\n" in why_trend and "+last = float(trend.iloc[-1])" in why_trend

    # a local module's source: a restart runs the edited file
    write(tmp_path / "mylib.py", "def smooth(series, window):\n    return series.ewm(span=window).mean()\n")
    nb.restart()
    nb.run("%%params\nwindow = 3")
    assert nb.run(LOAD).status.startswith("step load · cached")
    nb.run(TREND.replace("window)", "window)\nlast = float(trend.iloc[-1])"))
    why_module = nb.run("%wfnb why trend").stdout
    assert "module mylib" in why_module
    assert "-    return series.rolling(window, min_periods=1).mean()" in why_module
    assert "+    return series.ewm(span=window).mean()" in why_module

    # the terminal says the same, and --json gives it to a script
    capsys.readouterr()
    assert main(["--store", str(tmp_path / ".wfnb"), "why", "nb", "trend"]) == 0
    assert "module mylib" in capsys.readouterr().out
    assert main(["--store", str(tmp_path / ".wfnb"), "why", "nb", "trend", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["decision"] == "ran" and "module mylib" in [s["title"] for s in payload["sections"]]


def test_why_names_the_part_of_the_trace_that_changed(notebooks, tmp_path):
    nb = notebooks(SCALE="2")
    step = "%%step scaled\nimport os\nscale = int(os.environ['SCALE']) * 10"
    nb.run(step)
    nb.run("%env SCALE=3")
    assert "environment variable SCALE changed" in nb.run(step).status
    why = nb.run("%wfnb why scaled").stdout
    assert "(environment variable SCALE changed)" in why
    assert "run-time trace\n  environment variable SCALE changed (its values are kept as hashes only)" in why


def test_why_of_a_step_that_never_ran_says_which_steps_did(notebooks, tmp_path, capsys):
    nb = notebooks()
    nb.run("%%step one\nx = 1")
    result = nb.run("%wfnb why two", check=False)
    assert not result.ok and "has no run of step 'two'" in result.error and "its steps: one" in result.error
    assert "Traceback" not in result.traceback.replace("UsageError", "")
    capsys.readouterr()
    assert main(["--store", str(tmp_path / ".wfnb"), "why", "nb", "two"]) == 1
    assert "has no run of step 'two'" in capsys.readouterr().err


def test_a_package_version_is_named_with_both_versions(tmp_path):
    from wfnb.history.explain import changes
    from wfnb.store import open_store

    store = open_store(tmp_path / "store")
    earlier = {"key": "a" * 32, "code_hash": "c", "modules": {"pandas": "2.1.0", "mylib": "s1/fresh"}}
    now = {"key": "b" * 32, "code_hash": "c", "modules": {"pandas": "2.2.0", "mylib": "s1/d2"}}
    assert [(s.title, s.lines) for s in changes(store, earlier, now)] == [
        ("module mylib", ("the data the notebook left in it changed (an attribute set by a cell, such as mylib.K = 5)",)),
        ("package pandas", ("2.1.0 → 2.2.0",)),
    ]


def test_no_text_that_may_be_a_secret_is_copied_into_the_store(ip, tmp_path):
    from wfnb.history.session import current_session

    for name, text in (("data.csv", "a\n1\n"), ("credentials.txt", "hunter2\n"), (".env", "TOKEN=abc\n")):
        (tmp_path / name).write_text(text)
    assert ip.run_cell("%%step read\nsizes = [len(open(p).read()) for p in ('data.csv', 'credentials.txt', '.env')]").success
    files = current_session().state.records["read"]["evidence"]["files"]
    assert "text" in files[str(tmp_path / "data.csv")]
    assert {"size", "mtime", "digest"} <= set(files[str(tmp_path / "credentials.txt")]) and "text" not in files[str(tmp_path / "credentials.txt")]
    assert "text" not in files[str(tmp_path / ".env")]
    stored = b"".join(p.read_bytes() for p in (tmp_path / ".wfnb" / "objects").rglob("*") if p.is_file())
    assert b"hunter2" not in stored and b"TOKEN=abc" not in stored
