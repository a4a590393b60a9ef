"""Peak extra memory of storing and restoring, measured in a fresh process.

Each measurement runs in its own ``python -m benchmarks.memory`` process, so that
nothing else the benchmark allocated is counted. The figure is the kernel's own
high-water mark of the process's resident memory (``VmHWM`` in
``/proc/self/status``), reset just before the operation by writing ``5`` to
``/proc/self/clear_refs``. Extra memory is that peak minus the resident memory
just before the operation, minus the value itself for a restore (the value is
what a restore must allocate). Linux only; elsewhere the rows say so.

Usage: ``python -m benchmarks.memory store|restore array|frame N STORE [DIGEST]``
prints one JSON line.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import Context, mb

WORKLOAD = "Peak extra memory (RSS above the value itself)"


def run(ctx: Context) -> None:
    if not Path("/proc/self/clear_refs").exists():
        ctx.note(WORKLOAD, "Not measured: needs Linux's /proc/self/clear_refs and VmHWM.")
        return
    for kind, size in (("array", ctx.sizes.array_n), ("frame", ctx.sizes.frame_rows)):
        store = ctx.scratch / f"memory-{kind}"
        stored = _probe("store", kind, size, store)
        restored = _probe("restore", kind, size, store, stored["digest"])
        label = "400 MB array" if kind == "array" else "mixed DataFrame"
        for op, result in (("store", stored), ("restore", restored)):
            extra, value = result["extra"], result["value_bytes"]
            ctx.figure(
                WORKLOAD,
                f"wfnb {op}, {label}",
                f"{mb(extra)} extra ({extra / value:.2f}× the value's {mb(value)})",
                note=f"peak {mb(result['peak'])}, before {mb(result['before'])}",
                is_wfnb=True,
            )
            ctx.target(
                f"Peak extra memory while {'storing' if op == 'store' else 'restoring'} the {label} ≤ 1× its size",
                f"{mb(extra)} extra for {mb(value)}",
                f"{extra / value:.2f}×",
                "≤ 1×",
                extra <= value,
                "A copy of the whole value was made somewhere on this path.",
            )


def _probe(op: str, kind: str, size: int, store: Path, digest: str = "") -> dict:
    args = [sys.executable, "-m", "benchmarks.memory", op, kind, str(size), str(store), digest]
    done = subprocess.run(args, capture_output=True, text=True, check=False, cwd=Path(__file__).parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"memory probe {' '.join(args[3:])} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def main(argv: list[str]) -> int:
    import os

    os.environ["WFNB_FSYNC"] = "0"
    op, kind, size, root = argv[0], argv[1], int(argv[2]), argv[3]
    from benchmarks.data import frame_nbytes, make_array, make_frame
    from wfnb.cache.hashing import hash_value
    from wfnb.store import open_store

    store = open_store(root)
    if op == "store":
        value = make_array(size) if kind == "array" else make_frame(size)
        value_bytes = value.nbytes if kind == "array" else frame_nbytes(value)
        hash_value(value.iloc[:10] if kind == "frame" else value[:10])  # import and warm the code paths
        gc.collect()
        before = _status("VmRSS")
        _reset_peak()
        digest = hash_value(value)
        store.put_object(digest, store.encode(value))
        peak = _status("VmHWM")
        extra = peak - before
    else:
        digest = argv[4]
        import numpy  # noqa: F401 - imports are not the restore's memory
        import pandas  # noqa: F401 - likewise

        gc.collect()
        before = _status("VmRSS")
        _reset_peak()
        value = store.get_object(digest)
        peak = _status("VmHWM")
        value_bytes = value.nbytes if kind == "array" else frame_nbytes(value)
        extra = peak - before - value_bytes
    print(json.dumps({"digest": digest, "before": before, "peak": peak, "extra": max(extra, 0), "value_bytes": value_bytes}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
