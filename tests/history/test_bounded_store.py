"""Pins and a bounded store: ``wfnb gc --keep-last N --max-size SIZE`` never removes what a pinned, tagged or
current variant needs; ``wfnb du`` says what each variant holds."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np

import wfnb
from wfnb.errors import CorruptObject, ValuesLetGo
from wfnb.frontends.browser.state import BrowserState
from wfnb.frontends.browser.view import BrowserView
from wfnb.frontends.cli import main
from wfnb.store import open_store

CELLS = [
    "import wfnb, numpy as np",
    "%%params\nn = 1",
    "%%step big\ndata = np.full(50_000, float(n))",
    "%%step small\ntotal = float(data.sum())\nwfnb.log(total=total)",
]


def _values_kept(store: Path, ref: str) -> bool:
    try:
        return float(wfnb.variant(ref, store=store).outputs["data"][0]) > 0
    except CorruptObject:
        return False


def test_gc_keeps_pinned_tagged_current_and_the_last_n(notebooks, tmp_path, capsys):
    store = tmp_path / ".wfnb"
    nb = notebooks()
    for cell in CELLS:
        nb.run(cell)
    nb.run("for n in range(2, 7):\n    wfnb.replay('v1', n=n)")  # v2 … v6
    assert "pinned nb/v2" in nb.run("%wfnb pin v2 --note 'the paper'").stdout
    nb.run("wfnb.tag('v3', 'baseline')")
    assert nb.value("wfnb.variant('v2').pinned") == "True"
    capsys.readouterr()

    assert main(["--store", str(store), "gc", "--keep-last", "1"]) == 0  # within the grace period: it says so
    out = capsys.readouterr().out
    assert out.startswith("no variant's values were let go\n")
    assert "v4, v5, v6 of nb (made within the grace period of 3600 s: give a shorter --grace to let them go)" in out
    assert main(["--store", str(store), "gc", "--keep-last", "1", "--grace", "0", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("the values of v4, v5 of nb would be let go")  # in variants, no object hash before
    assert lines[1] == ("would keep the values of v1 of nb (current); v2 of nb (pinned); v3 of nb (tagged); "
                        "v6 of nb (one of the 1 newest)")
    assert not any(len(word) == 32 and set(word) <= set("0123456789abcdef") for line in lines for word in line.split())
    assert main(["--store", str(store), "gc", "--keep-last", "1", "--grace", "0"]) == 0
    out = capsys.readouterr().out
    assert "the values of v4, v5 of nb were let go" in out and "4 cache entries no kept variant uses" in out
    assert main(["--store", str(store), "list", "--json"]) == 0
    statuses = {row["variant"]: row["status"] for row in json.loads(capsys.readouterr().out)}
    assert statuses == {"v1": "current", "v2": "complete", "v3": "complete", "v4": "values let go",
                        "v5": "values let go", "v6": "complete"}
    try:
        wfnb.variant("nb/v4", store=store).outputs["data"]
    except ValuesLetGo as error:
        assert "The values of nb/v4 were let go by `wfnb gc`" in str(error) and "wfnb.replay('nb/v4')" in str(error)
    else:
        raise AssertionError("the values of nb/v4 were read")
    kept = {ref: _values_kept(store, f"nb/{ref}") for ref in ("v1", "v2", "v3", "v4", "v5", "v6")}
    assert kept == {"v1": True, "v2": True, "v3": True, "v4": False, "v5": False, "v6": True}  # current, pinned, tagged, newest
    assert main(["--store", str(store), "verify"]) == 0  # every manifest, record blob and record is sound
    capsys.readouterr()

    # what each variant holds
    assert main(["--store", str(store), "du", "--json"]) == 0
    usage = {row["variant"]: row for row in json.loads(capsys.readouterr().out)}
    assert usage["v4"]["values"] == "removed" and usage["v1"]["values"] == "kept"
    assert usage["v2"]["pinned"] and usage["v3"]["tag"] == "baseline" and usage["v1"]["protected"] == "current"
    assert usage["v6"]["only_here"] > 400_000  # its 50 000 floats are its own
    assert main(["--store", str(store), "du", "--steps"]) == 0
    assert "big" in capsys.readouterr().out

    # history stays: listed with its parameters and metrics; a replay computes the values again
    assert list(wfnb.variants("nb", store=store)["n"]) == [1, 2, 3, 4, 5, 6]
    assert wfnb.variant("nb/v4", store=store).metrics["total"] == 200_000.0
    nb.run("wfnb.replay('v4')")
    assert _values_kept(store, "nb/v4")
    assert main(["--store", str(store), "list", "--json"]) == 0  # back: no longer said to be let go
    assert {row["variant"]: row["status"] for row in json.loads(capsys.readouterr().out)}["v4"] == "complete"

    # --max-size: the unprotected values go, oldest first, then gc says what protected ones hold beyond it
    assert main(["--store", str(store), "gc", "--max-size", "1kB", "--grace", "0"]) == 0
    captured = capsys.readouterr()
    assert "over --max-size 1kB: pinned, tagged, current and recent variants need that much" in captured.err
    kept = {ref: _values_kept(store, f"nb/{ref}") for ref in ("v1", "v2", "v3", "v4", "v6")}
    assert kept == {"v1": True, "v2": True, "v3": True, "v4": False, "v6": False}

    # unpinned, v2 may go too
    assert "unpinned nb/v2" in nb.run("%wfnb unpin v2").stdout
    assert main(["--store", str(store), "gc", "--keep-last", "0", "--grace", "0"]) == 0
    assert not _values_kept(store, "nb/v2") and _values_kept(store, "nb/v3") and _values_kept(store, "nb/v1")
    failed = nb.run("%wfnb unpin v2", check=False)
    assert not failed.ok and "nb/v2 is not pinned" in failed.error


def test_pins_from_the_terminal_and_the_browser(notebooks, tmp_path, capsys):
    store = tmp_path / ".wfnb"
    nb = notebooks()
    for cell in CELLS:
        nb.run(cell)
    nb.run("wfnb.replay('v1', n=2)")
    assert main(["--store", str(store), "pin", "nb/v1", "--note", "keep"]) == 0
    assert "pinned nb/v1" in capsys.readouterr().out
    assert main(["--store", str(store), "list", "--json"]) == 0
    assert [row["pinned"] for row in json.loads(capsys.readouterr().out)] == [True, False]
    view = BrowserView(BrowserState(open_store(store, create=False), "nb"))
    view.state.select("nb/v2")
    assert view.actions.pin_button.description == "Pin"
    view.actions.pin_button.click()
    assert view.state.row("nb/v2").pinned and view.actions.pin_button.description == "Unpin"
    assert "Pinned nb/v2" in view.state.notice("tag")["text"]
    assert wfnb.variant("nb/v2", store=store).pinned
    view.actions.pin_button.click()
    assert not wfnb.variant("nb/v2", store=store).pinned
    assert main(["--store", str(store), "unpin", "nb/v1"]) == 0 and not wfnb.variant("nb/v1", store=store).pinned
    assert main(["--store", str(store), "gc", "--max-size", "lots"]) == 2
    assert "is not a size" in capsys.readouterr().err
    view.close()


def _writer(root: str, count: int, start: multiprocessing.synchronize.Event) -> None:
    os.environ["WFNB_FSYNC"] = "0"
    store = open_store(root)
    start.wait()
    for i in range(count):
        digest = f"{i:032x}"
        store.put_object(digest, store.encode(np.full(100, float(i))))  # exists and is old: freshened, not written
        store.commit_record(digest[::-1], {"outputs": {"x": digest}, "step": "s", "key": digest[::-1]})


def test_a_bounded_gc_beside_a_writer_never_removes_what_it_names(tmp_path):
    root = tmp_path / "store"
    store = open_store(root)
    count = 200
    old = time.time() - 7200
    for i in range(count):
        digest = f"{i:032x}"
        store.put_object(digest, store.encode(np.full(100, float(i))))
        os.utime(root / "objects" / digest[:2] / digest[2:], (old, old))  # unreferenced and old: gc's, unless reused
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    writer = context.Process(target=_writer, args=(str(root), count, start))
    writer.start()
    start.set()
    while writer.is_alive():
        wfnb.gc(open_store(root), grace=3600, keep_last=0, max_size=0)  # as tight as it gets
    writer.join()
    assert writer.exitcode == 0
    for i in range(count):
        record = store.read_record(f"{i:032x}"[::-1])
        assert record is not None  # committed within the grace period: kept
        np.testing.assert_array_equal(store.get_object(record["outputs"]["x"]), np.full(100, float(i)))
    assert store.verify().ok
