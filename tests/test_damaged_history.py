"""Damaged or deleted variant records: `wfnb verify` finds them (refs, tags, parents, HEAD), and no
damage stops a notebook or makes a wrong variant. Each message says what to do."""

from __future__ import annotations

import os

import pytest

import wfnb
from wfnb.frontends.cli import main

from kernels import LiveKernel  # tests/kernels.py

PARAMS = "%%params\nwindow = {window}"
LOAD = "%%step load\nimport numpy as np\ndata = np.arange(30.0)"
SMOOTH = "%%step smooth\nsm = np.convolve(data, np.ones(window) / window, 'valid')"


@pytest.fixture
def store(ip, tmp_path):
    """Workflow `notebook`: v1 (window 3, tagged baseline), then v2 (window 5), current."""
    for cell in (PARAMS.format(window=3), LOAD, SMOOTH, "%wfnb tag baseline", PARAMS.format(window=5), SMOOTH):
        assert ip.run_cell(cell).success
    return tmp_path / ".wfnb"


def refs(store, *parts):
    return store / "refs" / "workflows" / "notebook" / os.path.join(*parts)


def verify(store, capsys) -> tuple[int, str]:
    code = main(["--store", str(store), "verify"])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_verify_finds_tags_and_children_of_a_lost_variant(store, capsys, damage):
    code, out = verify(store, capsys)
    assert code == 0 and out.endswith("clean\n")
    manifest = refs(store, "variants", "000001.json")
    if damage == "delete":
        manifest.unlink()
    else:
        os.truncate(manifest, manifest.stat().st_size // 2)
    code, out = verify(store, capsys)
    assert code == 1
    assert "The tag baseline of notebook names v1, which is gone; it was moved to corrupt/" in out
    assert "notebook/v2 names v1 as its parent, but v1 is gone" in out and "v2 itself is intact" in out
    assert "tag another variant with wfnb.tag('v3', 'baseline')" in out
    if damage == "truncate":
        assert "problem: refs/workflows/notebook/variants/000001.json" in out
    assert not refs(store, "tags", "baseline.json").exists()  # moved aside, so the name is free again
    code, out = verify(store, capsys)  # what is left: the child whose parent is gone (nothing else to do)
    assert code == 1 and out.count("problem:") == 1 and "v1 is gone" in out


def test_verify_finds_a_head_that_names_nothing(store, capsys):
    from wfnb.store import open_store

    open_store(store).refs.replace("workflows/notebook/HEAD", {"variant": 9})
    code, out = verify(store, capsys)
    assert code == 1 and "HEAD of notebook (its current variant) names v9, which is gone" in out
    assert "A new kernel starts from v2, the newest variant" in out


def test_a_listing_shows_the_rest_of_a_damaged_history(store, capsys):
    refs(store, "tags", "baseline.json").write_bytes(b"\x00" * 40)
    refs(store, "variants", "000002.json").unlink()
    assert main(["--store", str(store), "list", "--json"]) == 0
    captured = capsys.readouterr()
    assert "left out of the list: The ref workflows/notebook/tags/baseline in the store" in captured.err
    assert "Run `wfnb verify`" in captured.err
    assert main(["--store", str(store), "show", "v1"]) == 0


def test_a_deleted_variant_is_recorded_again_once(ip, store, capsys):
    refs(store, "variants", "000002.json").unlink()  # its identity ref still names v2
    assert ip.run_cell(SMOOTH.replace("'valid'", "'same'")).success
    assert ip.run_cell(SMOOTH).success  # back to the state v2 was: recorded again, as v4
    assert ip.run_cell(SMOOTH.replace("'valid'", "'same'")).success
    assert ip.run_cell(SMOOTH).success  # and found again: no v5
    assert list(wfnb.variants()["variant"]) == ["v1", "v3", "v4"]
    assert wfnb.variant("v4").parent == 3  # v2 is gone: never named as a parent


def test_a_damaged_head_neither_stops_the_notebook_nor_makes_a_one_step_variant(tmp_path):
    store = tmp_path / "store"
    cells = ["%load_ext wfnb", PARAMS.format(window=3), LOAD, SMOOTH]
    with LiveKernel(tmp_path, store, name="nb.ipynb") as kernel:
        for cell in cells:
            assert kernel.run(cell).ok
        head = store / "refs" / "workflows" / "nb" / "HEAD.json"
        head.write_bytes(head.read_bytes()[:20])  # damaged
        kernel.restart()
        runs = [kernel.run(cell) for cell in cells]
        assert all(run.ok for run in runs), runs
        said = runs[1].stderr
        assert "The ref workflows/nb/HEAD in the store" in said and "is damaged" in said and "moved to corrupt/" in said
        assert "This kernel starts from v1, the newest sound variant of nb and made it current again." in said
        assert runs[2].status.endswith("variant v1") and runs[3].status.endswith("variant v1")
        kernel.restart()  # HEAD was repaired: nothing more to say
        assert kernel.run(cells[0]).ok and kernel.run(cells[1]).stderr == ""
    assert list(wfnb.variants("nb", store=store)["variant"]) == ["v1"]
    assert main(["--store", str(store), "verify"]) == 0


def test_list_writes_nothing_and_says_a_damaged_head_which_verify_then_finds(store, capsys):
    head = refs(store, "HEAD.json")
    head.write_bytes(head.read_bytes()[:20])
    before = {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(store.rglob("*"))}
    for args in (["list"], ["list", "--json"], ["show", "v1"], ["diff", "v1", "v2"], ["runs"], ["du"]):
        assert main(["--store", str(store), *args]) == 0, args
    said = capsys.readouterr().err
    assert "no variant of notebook is marked current" in said and "The ref workflows/notebook/HEAD" in said
    assert "was left in place" in said and "moved to corrupt/" not in said
    assert {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(store.rglob("*"))} == before
    code, out = verify(store, capsys)  # the repair is verify's, and it says so
    assert code == 1 and "refs/workflows/notebook/HEAD.json" in out
