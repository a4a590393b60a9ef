"""A sweep whose points run in worker processes against an S3 store, opened there by its location."""

from __future__ import annotations

import wfnb


def test_a_sweep_on_an_s3_store(ip, s3_url) -> None:
    ip.run_line_magic("wfnb", f"store {s3_url}")
    for cell in (
        "import wfnb",
        "%%params\nscale = 1",
        "%%step load\nimport numpy as np\ndata = np.arange(1000.0)",
        "%%step scaled\nwfnb.log(total=float((data * scale).sum()))",
    ):
        assert ip.run_cell(cell).success
    table = wfnb.sweep("notebook", grid={"scale": [2, 3, 4]}, backend="loky", n_jobs=2, progress=False)
    assert list(table["total"]) == [499500.0 * s for s in (2, 3, 4)]
    runs = wfnb.runs(s3_url)
    assert (~runs[runs["step"] == "load"]["cached"]).sum() == 1
    assert wfnb.verify(s3_url).ok
