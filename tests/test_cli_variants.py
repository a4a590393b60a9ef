"""The `wfnb` command on a store written by a notebook kernel: list, show, diff, replay, export, gc.

The store is made once per module by a real notebook run with nbclient (v1, a replayed v2,
a tag). The main paths run the command as a subprocess, as a user or a script would; the
error paths call `main([...])` in-process, which is the same code and much faster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import wfnb
from wfnb.cache.hashing import hash_value
from wfnb.frontends.cli import main
from wfnb.store import open_store

from kernels import run_notebook, wfnb_frames  # tests/kernels.py

CELLS = [
    "%load_ext wfnb\nimport numpy as np\nimport wfnb",
    "%%params\nwindow = 3",
    "%%step load\ndata = np.arange(20.0) ** 1.5",
    "%%step smooth\nsm = np.convolve(data, np.ones(window) / window, 'valid')\n"
    "wfnb.log(last=round(float(sm[-1]), 4))\nprint('smoothed', len(sm))",
    "wfnb.replay('v1', window=4);",
    "wfnb.tag('v1', 'baseline', note='first try');",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A store written by a notebook kernel: workflow `series`, v1 (tagged baseline) and v2 (window=4)."""
    work = tmp_path_factory.mktemp("cli")
    location = work / "store"
    notebook = new_notebook(cells=[new_code_cell(cell) for cell in CELLS])
    run_notebook(notebook, work, location, name="series.ipynb")
    return location


def wfnb_command(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "WFNB_STORE"}
    return subprocess.run([sys.executable, "-m", "wfnb", *args], capture_output=True, text=True, cwd=cwd, env={**env, "WFNB_FSYNC": "0"})


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_list_shows_the_variants_as_a_table_and_as_json(store, capsys):
    table = wfnb_command("--store", str(store), "list")
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:3] == ["variant", "tags", "created"] and "window" in header and "last" in header
    assert rows[0].split()[:2] == ["v1", "baseline"] and rows[1].split()[0] == "v2"
    assert main(["list", "series", "--json", "--store", str(store)]) == 0  # --store after the command works too
    records = json.loads(capsys.readouterr().out)
    assert [(r["variant"], r["params"], r["parent"]) for r in records[:2]] == [("v1", {"window": 3}, None), ("v2", {"window": 4}, "v1")]
    assert records[0]["tags"] == ["baseline"] and records[0]["changed_steps"] == ["load", "smooth"]
    assert list(records[0]["metrics"]) == ["last"] and isinstance(records[0]["metrics"]["last"], float)
    assert main(["--json", "--store", str(store), "list", "series"]) == 0  # global options before the command
    assert json.loads(capsys.readouterr().out) == records


def test_show_a_variant_by_tag_and_as_json(store, capsys):
    shown = wfnb_command("--store", str(store), "show", "baseline", "--code")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert out.startswith("series/v1 [baseline]") and "note     baseline: first try" in out
    assert "params   window=3" in out and "metrics  last=" in out
    assert "# -- step smooth\nsm = np.convolve(data, np.ones(window) / window, 'valid')" in out
    assert main(["--store", str(store), "show", "series/v2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["variant"] == "v2" and data["params"] == {"window": 4} and data["parent"] == "v1"
    assert [s["step"] for s in data["steps"]] == ["load", "smooth"] and data["changed_steps"] == ["smooth"]
    assert data["steps"][1]["params"] == {"window": 4} and "np.convolve" in data["steps"][1]["code"]


def test_diff_two_variants(store, capsys):
    text = wfnb_command("--store", str(store), "diff", "baseline", "v2")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[:2] == ["v1 → v2 (series)", "parameter window: 3 → 4"]
    assert main(["--store", str(store), "diff", "v1", "v2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["old"] == "series/v1" and data["params"] == {"window": [3, 4]} and set(data["metrics"]) == {"last"}
    assert data["changed_steps"] == [] and data["code"] == {}


def test_replay_with_a_parameter_makes_a_new_variant_then_finds_it_again(store, capsys):
    first = wfnb_command("--store", str(store), "replay", "baseline", "-p", "window=6", "--json")
    assert first.returncode == 0, first.stderr
    made = json.loads(first.stdout)  # stdout is the result only; progress went to stderr
    assert made["new"] is True and made["params"] == {"window": 6} and made["from"] == "series/v1"
    progress = first.stderr.splitlines()
    assert progress[0].startswith("replay v1 · step load · cached") and "step smooth · ran" in progress[1]
    assert main(["--store", str(store), "replay", "v1", "-p", "window=6"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-2] == f"replayed series/v1 → {made['variant']} (already recorded)"
    assert out.count("cached") == 2  # both steps restored, none ran


def test_export_writes_a_notebook_a_script_and_a_table(store, tmp_path, capsys):
    done = wfnb_command("--store", str(store), "export", "v2", "--to", str(tmp_path / "v2.ipynb"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {tmp_path / 'v2.ipynb'}: series/v2 as a notebook"
    for name in ("v2.py", "v2.csv"):
        assert main(["--store", str(store), "export", "v2", "--to", str(tmp_path / name), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["format"] == name[3:]
    notebook = nbformat.read(tmp_path / "v2.ipynb", as_version=4)
    assert [c.source.splitlines()[0] for c in notebook.cells][-2:] == ["%%step load", "%%step smooth"]
    assert notebook.cells[-1].outputs[0]["text"] == "smoothed 17\n"
    script = subprocess.run([sys.executable, str(tmp_path / "v2.py")], capture_output=True, text=True)
    last = wfnb.variant("series/v2", store=store).metrics["last"]
    assert script.returncode == 0 and script.stdout.splitlines() == [f"metric last = {last!r}", "smoothed 17"]
    assert [s.name for s in wfnb.Workflow.from_csv(tmp_path / "v2.csv").steps] == ["load", "smooth"]


def test_gc_removes_only_old_unreferenced_objects(store, capsys):
    opened = open_store(store)
    old, young, used = (hash_value(f"garbage {n}") for n in range(3))
    for digest in (old, young, used):
        opened.put_object(digest, opened.encode(f"unreferenced {digest}"))
    two_hours_ago = time.time() - 7200
    for digest in (old, used):
        os.utime(store / "objects" / digest[:2] / digest[2:], (two_hours_ago, two_hours_ago))
    assert opened.has_object(used)  # a writer about to name it in a record: freshened, so kept

    assert main(["--store", str(store), "gc", "--dry-run", "--json"]) == 0
    preview = json.loads(capsys.readouterr().out)
    assert [d for d, _ in preview["removed"]] == [old] and preview["dry_run"] is True
    assert opened.has_object(old) is True
    os.utime(store / "objects" / old[:2] / old[2:], (two_hours_ago, two_hours_ago))  # has_object freshened it

    done = wfnb_command("--store", str(store), "gc")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("removed 1 unreferenced object, ") and "2 younger than the grace period" in done.stdout
    assert not opened.has_object(old) and opened.has_object(young) and opened.has_object(used)
    # everything a record or a variant names is still there
    assert main(["--store", str(store), "verify"]) == 0
    for ref in ("v1", "v2"):
        variant = wfnb.variant(f"series/{ref}", store=store)
        assert len(variant.outputs["sm"]) > 0 and variant.display_events("smooth")


def test_unknown_variants_and_workflows_are_one_line_errors_with_exit_1(store, capsys):
    assert main(["--store", str(store), "show", "v99"]) == 1
    assert one_line_error(capsys.readouterr().err).startswith("wfnb: No variant 'v99' in the store at")
    assert main(["--store", str(store), "diff", "v1", "nosuchtag"]) == 1
    assert "No variant 'nosuchtag' in workflow 'series'" in one_line_error(capsys.readouterr().err)
    assert main(["--store", str(store), "list", "nope"]) == 1
    assert one_line_error(capsys.readouterr().err) == (
        "wfnb: There is no workflow 'nope' with variants in this store; its workflows: series."
    )
    assert main(["--store", str(store.parent / "missing"), "list"]) == 1
    assert one_line_error(capsys.readouterr().err).startswith("wfnb: There is no wfnb store at")


def test_bad_parameter_values_and_command_lines(store, tmp_path, capsys):
    assert main(["--store", str(store), "replay", "v1", "-p", "windw=4"]) == 1
    assert one_line_error(capsys.readouterr().err) == "wfnb: series/v1 has no parameter windw; its parameters: window. Did you mean window?"
    assert main(["--store", str(store), "replay", "v1", "-p", "window"]) == 2
    assert "'window' is not a parameter override; write name=value" in one_line_error(capsys.readouterr().err)
    assert main(["--store", str(store), "replay", "v1", "-p", "window=oops"]) == 1  # a string for an integer: refused
    assert one_line_error(capsys.readouterr().err) == (
        "wfnb: series/v1: parameter window is an integer (window=3), so 'oops' (a string) cannot be its value. "
        "Give an integer, e.g. window=3."
    )
    assert main(["--store", str(store), "replay", "v1", "-p", "window=-1"]) == 1  # an integer the step refuses: it fails
    shown = capsys.readouterr().err
    user_part, error = shown.rstrip("\n").rsplit("\n", 1)
    assert user_part.startswith("Traceback") and "step smooth" in user_part  # the user's own code, as in a notebook
    assert wfnb_frames(user_part) == []  # and none of wfnb's
    assert one_line_error(error).startswith("wfnb: replay of series/v1: step smooth failed (") and "nothing was cached" in error
    assert main(["--store", str(store), "export", "v1", "--to", str(tmp_path / "v1.txt")]) == 2
    assert "must end in .ipynb (notebook), .py (script) or .csv (table)" in one_line_error(capsys.readouterr().err)
    (tmp_path / "v1.py").write_text("mine")
    assert main(["--store", str(store), "export", "v1", "--to", str(tmp_path / "v1.py")]) == 1
    assert "exists already; add --force" in one_line_error(capsys.readouterr().err)
    assert main(["--store", str(store), "export", "v1", "--to", str(tmp_path / "v1.py"), "--force"]) == 0
    assert main(["--store", str(store), "gc", "--grace", "-1"]) == 2
    assert main(["show"]) == 2
    assert main([]) == 2
