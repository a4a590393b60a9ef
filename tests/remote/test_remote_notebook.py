"""``%%step`` on an S3 store in real shells: hits across kernels, and hits served from the local read cache."""

from __future__ import annotations

from wfnb.store import settings

CELLS = [
    "%%step load\nprobe.hit('load')\nimport numpy as np\ndata = np.arange(100_000.0)",
    "%%step total\nprobe.hit('total')\ntotal = float(data.sum())\nprint('total', total)",
]


def _run(shell, url: str) -> None:
    shell.run_line_magic("wfnb", f"store {url}")
    for cell in CELLS:
        assert shell.run_cell(cell).success


def _object_gets(server, since: int) -> int:
    return sum(n for line, n in server.requests(since).items() if line.startswith("GET ") and "/objects/" in line)


def test_steps_on_s3_hit_across_kernels_and_from_the_read_cache(ip, new_kernel, probe, s3_url, s3_server, tmp_path):
    _run(ip, s3_url)
    assert (probe.count("load"), probe.count("total")) == (1, 1)

    mark = s3_server.mark()
    second = new_kernel()  # same machine, same cache: the writer kept copies of what it uploaded
    _run(second, s3_url)
    assert (probe.count("load"), probe.count("total")) == (1, 1)  # restored, not run
    assert second.user_ns["total"] == float(sum(range(100_000)))
    assert _object_gets(s3_server, mark) == 0  # every value came from the local cache

    settings.configure(cache_dir=tmp_path / "other-machine")  # an empty cache: another machine
    mark = s3_server.mark()
    third = new_kernel()
    _run(third, s3_url)
    assert probe.count("load") == 1 and third.user_ns["data"].shape == (100_000,)
    assert _object_gets(s3_server, mark) > 0  # downloaded once ...
    mark = s3_server.mark()
    _run(new_kernel(), s3_url)
    assert _object_gets(s3_server, mark) == 0  # ... then served locally
    assert probe.count("total") == 1
    settings.reset()
