"""Listing: ``wfnb.runs()`` and ``wfnb.variants()`` on a store with 10,000 step records.

The variants are made for real: a one-step workflow run in a real shell with 1,000
different inputs. The store is then topped up to 10,000 step records and run-log
entries through the store's own API (written as a step writes them, without syncs),
which takes seconds rather than the minutes 9,000 more real steps would. While wfnb has
no ``variants()`` (the variants issue), its row says "pending" instead of a number.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import wfnb
from benchmarks.harness import Context, environ, ms

WORKLOAD = "Listing"


def run(ctx: Context) -> None:
    root = ctx.scratch / "listing-store"
    shutil.rmtree(root, ignore_errors=True)
    count = ctx.sizes.records
    with environ(WFNB_FSYNC="0"):
        variants = _variants_api()
        made = _make_variants(ctx, root, ctx.sizes.variants) if variants is not None else 0
        store = _fill(root, count)
    entries = len(store.runs())
    records = sum(1 for _ in (store.root / "records").rglob("*.json"))
    ctx.note(WORKLOAD, f"The store holds {records:,} step records and {entries:,} run-log entries.")
    ctx.time(WORKLOAD, f"`wfnb.runs()`, {entries:,} run-log entries", lambda: wfnb.runs(store), is_wfnb=True)
    ctx.time(WORKLOAD, f"`Store.runs()` alone (read and verify {entries:,} entry files)", store.runs, is_wfnb=True)
    if variants is None:
        ctx.figure(WORKLOAD, f"`wfnb.variants()`, {ctx.sizes.variants:,} variants", "pending: variants issue")
        ctx.target(
            f"Listing {ctx.sizes.variants:,} variants ≤ 100 ms",
            "pending: variants issue",
            "—",
            "≤ 100 ms",
            None,
            "`wfnb.variants()` does not exist yet (the variants issue is being built). This "
            "benchmark measures it as soon as `wfnb.frontends.api.variants` can be imported.",
        )
        return
    table = variants(store=store)
    listed = ctx.time(WORKLOAD, f"`wfnb.variants()`, {len(table):,} variants", lambda: variants(store=store), is_wfnb=True)
    ctx.note(WORKLOAD, f"{made:,} variants were made by running a one-step workflow with {made:,} different inputs in a real shell.")
    ctx.target(
        f"Listing {len(table):,} variants ≤ 100 ms",
        f"wfnb.variants() {ms(listed.median)} on a store with {records:,} records",
        f"{listed.median * 1e3:.1f} ms",
        "≤ 100 ms",
        listed.median <= 0.1,
        "Each variant is a small document read and verified on its own (a file per variant, "
        "plus its tags and pointers); a derived index of the variant manifests (rebuildable, "
        "never the source of truth) would make the listing one read.",
    )


def _variants_api():
    """``wfnb.variants`` if the variants issue has landed, else None."""
    try:
        from wfnb.frontends.api import variants
    except ImportError:
        return None
    return variants


def _make_variants(ctx: Context, root: Path, count: int) -> int:
    """Run ``%%step v`` with ``count`` different inputs in a real shell: one variant each."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    with environ(IPYTHONDIR=str(ctx.scratch / "ipython-listing")):
        return _run_variants(InteractiveShell.instance(config=config), root, count)


def _run_variants(shell: Any, root: Path, count: int) -> int:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from wfnb.history.session import current_session

    try:
        with capture_output():
            shell.run_line_magic("load_ext", "wfnb")
            shell.run_line_magic("wfnb", f"store {root}")
            shell.run_line_magic("wfnb", "workflow listing")
            for i in range(count):
                shell.user_ns["p"] = i
                result = shell.run_cell("%%step v\ny = p * 2", store_history=False)
                if not result.success:
                    raise RuntimeError(f"making variant {i} failed: {result.error_in_exec!r}")
        session = current_session()
        assert session is not None
        return len(_variants_api()(store=session.store))
    finally:
        InteractiveShell.clear_instance()


def _fill(root: Path, count: int) -> Any:
    """Top the store up to ``count`` step records and run-log entries, written as steps write them."""
    from wfnb.store import open_store

    store = open_store(root)
    have = sum(1 for _ in (store.root / "records").rglob("*.json"))
    steps = 10
    for i in range(have, count):
        key = f"{i:032x}"
        step = f"s{i % steps}"
        output = store.put_json({"value": i})
        store.commit_record(
            key,
            {
                "record_format": 1,
                "key": key,
                "workflow": "bench",
                "step": step,
                "code": f"y = x + {i}",
                "code_hash": key,
                "inputs": {"x": key},
                "files": {},
                "modules": {},
                "outputs": {"y": output},
                "aliases": {},
                "mutated": [],
                "deleted": [],
                "display": output,
                "started": f"2026-11-23T08:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}000+00:00",
                "duration_s": 0.001,
                "stored_bytes": 100,
            },
        )
        store.log_run(
            {
                "workflow": "bench",
                "step": step,
                "key": key,
                "cached": i % 3 == 0,
                "started": f"2026-11-23T08:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}000+00:00",
                "duration_s": 0.001,
                "outputs": ["y"],
                "error": None,
            }
        )
    return store
