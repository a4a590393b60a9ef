"""``wfnb gc`` on an S3 store (a real S3-compatible server on 127.0.0.1): bounded like a local one, safe beside
a writer that reuses an object, and this machine's read cache pruned with it."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import wfnb
from wfnb.cache.hashing import hash_value
from wfnb.errors import CorruptObject
from wfnb.frontends.cli import main
from wfnb.store import open_store
from wfnb.store.layout import object_path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/kernels.py
from kernels import LiveKernel

CELLS = [
    "%load_ext wfnb",
    "import wfnb, numpy as np",
    "%%params\nn = 1",
    "%%step big\ndata = np.full(50_000, float(n))",
]


def test_gc_bounds_an_s3_store_and_prunes_the_read_cache(s3_env, s3_url, tmp_path, capsys):
    cache = Path(s3_env["WFNB_CACHE_DIR"])
    with LiveKernel(tmp_path, None, WFNB_STORE=s3_url, **s3_env) as kernel:
        for cell in [*CELLS, "for n in range(2, 5):\n    wfnb.replay('v1', n=n)", "%wfnb pin v2"]:
            assert kernel.run(cell).ok, cell
    cached_before = {p.name for p in (cache).rglob("*") if p.is_file() and "/objects/" in p.as_posix()}

    assert main(["--store", s3_url, "gc", "--keep-last", "1", "--grace", "0"]) == 0
    out = capsys.readouterr().out
    assert "the values of v3 of nb were let go" in out and "pruned" in out and "from this machine's read cache" in out
    kept = {}
    for ref in ("v1", "v2", "v3", "v4"):
        try:
            kept[ref] = float(wfnb.variant(f"nb/{ref}", store=s3_url).outputs["data"][0])
        except CorruptObject:
            kept[ref] = None
    assert kept == {"v1": 1.0, "v2": 2.0, "v3": None, "v4": 4.0}  # current, pinned, newest; v3 let go
    assert wfnb.verify(s3_url).ok
    cached_after = {p.name for p in cache.rglob("*") if p.is_file() and "/objects/" in p.as_posix()}
    assert cached_after < cached_before  # the removed objects' copies left this machine too
    in_bucket = {rel.rsplit("/", 1)[1] for rel, _, _ in open_store(s3_url)._files.listing("objects")}
    assert cached_after <= in_bucket  # and every copy left is of an object still there


def test_an_old_object_a_writer_reuses_is_freshened_and_kept(s3_env, s3_url, s3_server):
    store = open_store(s3_url)
    reused, forgotten = (hash_value(f"value {n}") for n in range(2))
    for digest in (reused, forgotten):
        store.put_object(digest, store.encode(np.full(10, 1.0)))
    before = store._files.modified(object_path(reused))
    time.sleep(8)
    mark = s3_server.mark()
    assert store.has_object(reused)  # a writer about to name it in a record: freshened in the bucket
    assert [line.split()[0] for line in s3_server.requests(mark)] == ["HEAD", "COPY"]  # no upload: a copy onto itself
    freshened = store._files.modified(object_path(reused))
    assert freshened >= before + 7  # LastModified counts whole seconds
    # A grace period whose end falls 1.5 s after the first writes (`forgotten` may carry the next whole
    # second), measured from now. gc reads the clock later than this line, which only moves that end later:
    # never before `forgotten`, and past `freshened` only if gc took over 5 s to start (a busy machine took 3).
    report = wfnb.gc(s3_url, grace=time.time() - (before + 1.5))
    assert [digest for digest, _ in report.removed] == [forgotten]
    assert store.has_object(reused, freshen=False) and not store.has_object(forgotten, freshen=False)
