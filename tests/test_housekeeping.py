"""Managing a history from the command line: `wfnb tag`, `rm`, `rename` and `checkout`, on a store
written by a real shell, and what `wfnb verify`, `list` and the next kernel then see."""

from __future__ import annotations

import json

import nbformat
import pytest

import wfnb
from wfnb.frontends.cli import main

CELLS = [
    "import wfnb",
    "%%params\nwindow = {window}",
    "%%step load\nimport numpy as np\ndata = np.arange(30.0)",
    "%%step smooth\nsm = np.convolve(data, np.ones(window) / window, 'valid')\nwfnb.log(last=float(sm[-1]))",
]


@pytest.fixture
def store(ip, tmp_path):
    """Workflow `notebook`: v1 (window 3), v2 (window 4), v3 (window 5, current)."""
    for window in (3, 4, 5):
        for cell in CELLS:
            assert ip.run_cell(cell.format(window=window)).success
    assert list(wfnb.variants()["variant"]) == ["v1", "v2", "v3"]
    return tmp_path / ".wfnb"


def cli(store, capsys, *args) -> tuple[int, str, str]:
    code = main(["--store", str(store), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listed(store, capsys, workflow="notebook") -> list[dict]:
    code, out, _ = cli(store, capsys, "list", workflow, "--json")
    assert code == 0
    return json.loads(out)


def test_tag_names_a_variant_from_the_command_line_and_refuses_a_taken_name(store, capsys):
    code, out, _ = cli(store, capsys, "tag", "v2", "wide", "--note", "five days")
    assert code == 0 and out.strip() == "tagged notebook/v2 as wide"
    assert wfnb.variant("wide").number == 2 and wfnb.variant("v2").notes == {"wide": "five days"}
    code, _, err = cli(store, capsys, "tag", "v1", "wide")
    assert code == 1 and "already names v2" in err and "Traceback" not in err


def test_rm_removes_a_variant_its_tags_and_keeps_its_children_and_numbers_sound(store, capsys):
    assert cli(store, capsys, "tag", "v2", "wide")[0] == 0
    code, out, _ = cli(store, capsys, "rm", "v2")
    assert code == 0
    assert "removed notebook/v2 (its tag wide is gone; v3's parent is now v1)" in out and "wfnb gc" in out
    rows = listed(store, capsys)
    assert [r["variant"] for r in rows] == ["v1", "v3"] and rows[1]["parent"] == "v1"
    assert cli(store, capsys, "verify")[0] == 0  # no dangling parent, no dangling tag
    code, _, err = cli(store, capsys, "show", "wide")
    assert code == 1 and "No variant 'wide'" in err


def test_rm_of_the_current_variant_makes_the_newest_left_current_and_the_next_state_gets_a_new_number(ip, store, capsys):
    code, out, _ = cli(store, capsys, "rm", "v3")
    assert code == 0 and "v2 is current now" in out
    assert [(r["variant"], r["status"]) for r in listed(store, capsys)] == [("v1", "complete"), ("v2", "current")]
    for cell in CELLS:  # the state v3 was: recorded again, under a number never used before
        assert ip.run_cell(cell.format(window=5)).success
    assert list(wfnb.variants()["variant"]) == ["v1", "v2", "v4"]


def test_rm_refuses_a_pinned_variant_and_changes_nothing(store, capsys):
    assert cli(store, capsys, "pin", "v1")[0] == 0
    code, _, err = cli(store, capsys, "rm", "v3", "v1")
    assert code == 1 and "v1 is pinned" in err and "wfnb unpin v1" in err
    assert len(listed(store, capsys)) == 3  # v3, named first, was not removed either


def test_a_made_up_workflow_can_be_renamed_and_removed(ip, store, capsys):
    assert ip.run_cell("%wfnb workflow notebook-20261207-141107-4747").success
    for cell in CELLS:
        assert ip.run_cell(cell.format(window=6)).success
    code, out, _ = cli(store, capsys, "rename", "workflow", "notebook-20261207-141107-4747", "smoothing")
    assert code == 0 and "renamed workflow notebook-20261207-141107-4747 to smoothing (1 variant)" in out
    assert [r["workflow"] for r in listed(store, capsys, workflow=None)] == ["notebook"] * 3 + ["smoothing"]
    assert cli(store, capsys, "verify")[0] == 0
    assert wfnb.variant("smoothing/v1").params == {"window": 6}
    assert ip.run_cell("%wfnb workflow smoothing").success  # the same state in the renamed workflow: the same variant
    for cell in CELLS:
        assert ip.run_cell(cell.format(window=6)).success
    assert list(wfnb.variants("smoothing")["variant"]) == ["v1"]
    code, out, _ = cli(store, capsys, "rm", "--all", "-w", "smoothing")
    assert code == 0 and "removed workflow smoothing (1 variant)" in out
    assert {r["workflow"] for r in listed(store, capsys, workflow=None)} == {"notebook"}
    code, _, err = cli(store, capsys, "rename", "workflow", "notebook", "notebook")
    assert code == 1 and "would mix two histories" in err


def test_rename_tag_moves_the_name_and_its_note(store, capsys):
    assert cli(store, capsys, "tag", "v1", "baseline", "--note", "first")[0] == 0
    code, out, _ = cli(store, capsys, "rename", "tag", "baseline", "reference")
    assert code == 0 and out.strip() == "renamed tag baseline of notebook to reference (v1)"
    assert wfnb.variant("v1").tags == ("reference",) and wfnb.variant("v1").notes == {"reference": "first"}
    code, _, err = cli(store, capsys, "rename", "tag", "baseline", "x")
    assert code == 1 and "has no tag 'baseline'" in err and "reference" in err


def test_checkout_prints_the_cells_or_writes_a_notebook_and_makes_the_variant_current(store, capsys, tmp_path):
    code, out, _ = cli(store, capsys, "checkout", "v1")
    assert code == 0 and "window = 3" in out and "%%step smooth" in out
    assert [r["status"] for r in listed(store, capsys)] == ["current", "complete", "complete"]
    code, out, _ = cli(store, capsys, "checkout", "v2", "--to", str(tmp_path / "v2.ipynb"))
    assert code == 0 and "wrote" in out
    sources = [cell.source for cell in nbformat.read(tmp_path / "v2.ipynb", as_version=4).cells]
    assert any("window = 4" in source for source in sources)
    assert [r["status"] for r in listed(store, capsys)] == ["complete", "current", "complete"]
    code, _, err = cli(store, capsys, "checkout", "v2", "--to", str(tmp_path / "v2.py"))
    assert code == 2 and ".ipynb" in err


def test_why_takes_the_workflow_with_w_and_keeps_the_positional_form(store, capsys):
    code, by_option, _ = cli(store, capsys, "why", "smooth", "-w", "notebook")
    assert code == 0 and "smooth" in by_option
    assert cli(store, capsys, "why", "notebook", "smooth") == (0, by_option, "")
    assert cli(store, capsys, "why", "smooth")[:2] == (0, by_option)  # the store's only workflow


def test_variants_and_json_name_the_tags_column_alike(store, capsys):
    assert cli(store, capsys, "tag", "v1", "baseline")[0] == 0
    frame = wfnb.variants()
    (row,) = [r for r in listed(store, capsys) if r["variant"] == "v1"]
    assert "tags" in frame.columns and "tag" not in frame.columns and "tags" in row
    assert frame.loc[frame["variant"] == "v1", "tags"].iloc[0] == ", ".join(row["tags"]) == "baseline"
    code, out, _ = cli(store, capsys, "list", "-c", "tag")  # the old column name still works
    assert code == 0 and out.splitlines()[0].split() == ["variant", "tags"]


def test_the_readme_documents_the_params_rules():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    rules = readme[readme.index("The rules of the `%%params` cell"):][:1500]
    for rule in ("plain assignments", "plain JSON data", "runs again when the parameter changes", "takes no arguments"):
        assert rule in rules
