"""Render a benchmark run as Markdown: machine, method, targets, fast paths, then every workload."""

from __future__ import annotations

from benchmarks.harness import Context, Row, ms

_STATUS = {"met": "✅ met", "not met": "❌ not met", "pending": "⏳ pending"}

FAST_PATHS = """\
Each fast path below is in wfnb itself; `tests/test_fastpaths.py` checks that it gives the
same fingerprint decisions as the general path on the same values (hypothesis, across
dtypes, strides, views, missing values, categoricals, time zones, MultiIndex), and that
every codec it uses round-trips losslessly.

- **Zero-copy hashing of contiguous numeric buffers** (`wfnb/cache/datahash.py`, `_feed_array`):
  a C-contiguous array goes to the hasher as a `uint8` view of its memory; a strided view
  is copied in bounded 4 MiB chunks, never whole. The hash is **xxh3-128**, chosen by
  measurement (see "Hash choice" under the array fingerprint): faster on one core than
  blake3 on all of them, and a cache key needs protection against accidental collisions
  only (a store is trusted like code anyway).
- **DataFrames column by column from their buffers** (`_enc_frame`, `_enc_column`,
  `_arrow_body`): numpy columns as above, Arrow string columns from their offsets and data
  buffers (chunking, slicing and null slots do not count), categoricals as categories plus
  codes, datetimes as their int64 values plus the time zone in the dtype; the index,
  columns and dtypes are part of the hash.
- **Arrow string lengths streamed** (`_feed_lengths`, new): the lengths of a string
  column are fed to the hasher 512 Ki at a time instead of being computed for the whole
  column first (64 MB, copied once more to `<i8`, for 8 M strings): same bytes, same hash,
  no big temporary. It took the mixed frame's fingerprint from about 59 ms to 36 ms and most
  of the frame's extra memory while storing.
- **Object-dtype strings through Arrow** (`_feed_strings_arrow`, new): an object array of
  65,536 or more exact `str` is converted to UTF-8 in one `pyarrow.array` call instead of a
  Python loop; the bytes hashed are identical (lengths, then the joined UTF-8), so no hash
  changed. Strings Arrow refuses (lone surrogates) take the loop.
- **Restore into numpy buffers** (`wfnb/store/objects.py`, `read_payload`): the payload is
  `readinto` one 64-byte-aligned `np.empty` buffer in 8 MiB chunks, each checksummed while
  it is in cache; arrays and pickle-5 out-of-band buffers (DataFrame columns) are views of
  it. No `bytes` object of the payload's size is ever made. Being a numpy allocation, the
  buffer gets transparent huge pages (numpy asks for them), as `np.load`'s does. Measured on
  this machine while building this suite (not in this run), faulting in a fresh 472 MB buffer takes about 56 ms with huge pages, 210 ms
  with small pages and 116 ms with small pages populated up front (`MAP_POPULATE`); but with
  huge pages it sometimes takes 0.6-1 s (this VM's memory, not compaction). Restoring the
  mixed frame measured 174 ms median with huge pages (tail 385 ms) against 229 ms with a
  populated small-page buffer (tight) and 208 ms for `pickle.load`; the 400 MB array 132 ms
  against 197 ms. wfnb keeps numpy's choice, the faster as a rule and the same as the
  `np.load` it is compared with; `NUMPY_MADVISE_HUGEPAGE=0` turns it off for anyone who sees
  the stalls.
- **Arrow-backed columns pickled as they are** (`wfnb/store/codecs.py`, `_Pickler`, new):
  pandas pickles an Arrow-backed array by combining its chunks first, a copy of every string
  in the column. wfnb's pickler hands pandas' own `__setstate__` the chunked array instead,
  so its buffers go out of band without a copy (22 ms and 150 MB less for the 8 M-string
  column); a column that is a small slice of big buffers keeps pandas' way, which writes
  only the slice. The payload is still a plain protocol-5 pickle that loads without wfnb.
- **Lazy memory-mapped restore** (`Store.get_object(digest, lazy=True)`, new): an array
  comes back as a plain `np.ndarray` over a private (copy-on-write) map of the object's
  file, so nothing is read until a page is touched and writes never reach the store. Only
  the header and the file's length are checked: the payload's checksum would need every
  byte, so damage inside the payload is found by `verify()` instead. Opt-in for that
  reason; the default restore checks everything.
- **One sync per step** (`commit_record`): objects are written without a sync, then one
  `syncfs` makes them and the record durable before the record is renamed into place. The
  end-to-end miss below counts every `fsync`/`fdatasync`/`sync`/`syncfs` call.
- **Skipping the re-hash of an unchanged input** (`hash_value`, new): the rule is that a
  digest is reused only for a value that provably cannot have changed, which Python
  guarantees for very little. wfnb reuses it only for a plain `np.ndarray` (≥ 1 MiB, not
  of objects) whose memory belongs to an immutable `bytes` object, such as
  `np.frombuffer(data)` and its views: numpy refuses to make those writable. The memo
  holds the array through a weak reference (a recycled id never matches) and keys on its
  data pointer, shape, strides and dtype (which can be reassigned in place). Writable
  arrays, read-only views of writable memory, memory maps (the file can change) and
  everything else are hashed every time, since nothing proves they did not change.
"""


def render(ctx: Context, *, started: str, load_before: str, load_after: str, machine: dict[str, str], elapsed: float) -> str:
    lines = [
        "# wfnb benchmarks",
        "",
        f"Written by `{'make bench-smoke' if ctx.sizes.label == 'smoke' else 'make bench'}` "
        f"(`python -m benchmarks`) on {started}; do not edit by hand, run it again. "
        + (
            "**Smoke run: tiny sizes, to keep the code working; the figures mean nothing.**"
            if ctx.sizes.label == "smoke"
            else "Every peer was measured in the same run, on the same data, in the same process "
            "unless a row says otherwise."
        ),
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
    ]
    lines += [f"| {key} | {value} |" for key, value in machine.items()]
    lines += [
        f"| load average before | {load_before} |",
        f"| load average after | {load_after} |",
        f"| run time | {elapsed / 60:.1f} min |",
        "",
        "The machine is shared with other work: a load average above the core count during a "
        "run means the figures are pessimistic. Load (1-minute average) around each family of "
        "workloads:",
        "",
        "| family | load before | load after | time |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {name} | {before} | {after} | {seconds:.0f} s |" for name, before, after, seconds in ctx.loads]
    lines += [
        "",
        "### Versions",
        "",
        "| package | version |",
        "| --- | --- |",
    ]
    lines += [f"| {name} | {version} |" for name, version in ctx.versions.items()]
    lines += [
        "",
        "## Method",
        "",
        f"Each timing is the **median, min and max** of {ctx.sizes.repeats} timed repeats after "
        f"{ctx.sizes.warmup} warm-up call(s); operations under a millisecond are timed as "
        f"{ctx.sizes.fast_samples} samples of {ctx.sizes.fast_batch} calls each (per-call figures). "
        "The garbage collector is paused inside each sample. wfnb and the peers it is compared "
        "with are timed in interleaved rounds: each round times every one of them once, starting "
        "from a different one each round, so that load from other work on this shared machine "
        "falls on all of them alike. A target's ratio is the median of the per-round ratios "
        "(marimo, timed in its own process, by the ratio of medians); the tables' `peer / wfnb` "
        "column is the ratio of medians. Files are written to a scratch directory on the same "
        "disk as the store and read back from the page cache. `OPENBLAS_CORETYPE` and "
        "`OPENBLAS_L2_SIZE` are unset for the run.",
        "",
        "## Targets",
        "",
        "| target | measured | ratio | goal | status |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {t.name} | {t.measured} | {t.ratio} | {t.goal} | {_STATUS[t.status]} |" for t in ctx.targets]
    missed = [t for t in ctx.targets if t.status != "met"]
    met = sum(t.status == "met" for t in ctx.targets)
    lines += ["", f"{met} of {len(ctx.targets)} targets met."]
    if missed:
        lines += ["", "### Targets not met, and what would close them", ""]
        lines += [f"- **{t.name}** ({_STATUS[t.status]}): {t.why}" for t in missed]
    lines += ["", "## Fast paths", "", FAST_PATHS, "## Workloads"]
    workloads: list[str] = []
    for row in ctx.rows:
        if row.workload not in workloads:
            workloads.append(row.workload)
    for name in ctx.notes:
        if name not in workloads:
            workloads.append(name)
    for name in workloads:
        lines += ["", f"### {name}"]
        for note in ctx.notes.get(name, []):
            lines += ["", note]
        rows = [row for row in ctx.rows if row.workload == name]
        if rows:
            lines += ["", *_table(rows)]
    return "\n".join(lines).rstrip() + "\n"


def _table(rows: list[Row]) -> list[str]:
    """wfnb's rows in bold; each peer's median as a multiple of the wfnb row above it."""
    out = ["| subject | median | min | max | peer / wfnb | note |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    reference: Row | None = None
    for row in rows:
        subject = f"**{row.subject}**" if row.is_wfnb else row.subject
        if row.timing is None:
            out.append(f"| {subject} | {row.figure} | | | | {row.note} |")
            continue
        t = row.timing
        if row.is_wfnb:
            reference, versus = row, ""
        else:
            versus = "" if reference is None or reference.timing is None else f"{t.median / reference.timing.median:.2f}×"
        out.append(f"| {subject} | {ms(t.median)} | {ms(t.min)} | {ms(t.max)} | {versus} | {row.note} |")
    return out
