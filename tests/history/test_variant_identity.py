"""A variant is what the steps produced: a data file edited under an unchanged key makes another variant."""

from __future__ import annotations

import wfnb
from wfnb.history.snapshots import variant_ref
from wfnb.store import open_store

STEP = "%%step load\ntotal = sum(int(line) for line in open('numbers.txt'))"


def test_a_file_read_by_a_step_changes_the_variant_and_undoing_finds_the_earlier_one(ip, tmp_path):
    (tmp_path / "numbers.txt").write_text("1\n2\n")
    assert ip.run_cell(STEP).success
    (tmp_path / "numbers.txt").write_text("1\n2\n3\n")
    assert ip.run_cell(STEP).success  # the same key (the file is in its trace), another total
    assert [v for v in wfnb.variants()["variant"]] == ["v1", "v2"]
    assert wfnb.variant("v1").outputs["total"] == 3 and wfnb.variant("v2").outputs["total"] == 6
    (tmp_path / "numbers.txt").write_text("1\n2\n")
    assert ip.run_cell(STEP).success
    assert list(wfnb.variants()["variant"]) == ["v1", "v2"]  # back at v1: no copy
    assert list(wfnb.variants()["status"]) == ["current", "complete"]


def test_a_variant_recorded_before_outputs_counted_is_found_again(ip, tmp_path, new_kernel):
    (tmp_path / "numbers.txt").write_text("1\n2\n")
    assert ip.run_cell(STEP).success
    from wfnb.history.session import current_session

    state = current_session().state
    store = open_store(tmp_path / ".wfnb")
    manifest = store.refs.read(variant_ref("notebook", 1))
    legacy = state.legacy_identity()  # as an earlier wfnb recorded it: keys and parameters only
    store.refs.replace(variant_ref("notebook", 1), {**manifest, "identity": legacy})
    store.refs.delete(f"workflows/notebook/states/{manifest['identity']}")
    store.refs.replace(f"workflows/notebook/states/{legacy}", {"variant": 1})
    shell = new_kernel()
    assert shell.run_cell(STEP).success
    assert list(wfnb.variants()["variant"]) == ["v1"]
