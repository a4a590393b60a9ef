"""Files opened in compiled code, with a path made at run time: polars' readers and scans (also a
query scanned in one step and collected in another) and ``h5py.File``. Their content is in the trace."""

from __future__ import annotations

import pytest

from tests.trace.test_more_habits import outside

WRITE = {
    "csv": "import polars as pl\npl.DataFrame({'v': [V]}).write_csv('a.csv')",
    "parquet": "import polars as pl\npl.DataFrame({'v': [V]}).write_parquet('a.parquet')",
    "h5": "import h5py, numpy as np\nwith h5py.File('a.h5', 'w') as f:\n    f['v'] = np.array([V])",
}


@pytest.mark.parametrize(
    "kind, cells",
    [
        ("csv", ["%%step read\nimport polars as pl\nname = 'a'\ntotal = int(pl.read_csv(f'{name}.csv')['v'].sum())"]),
        ("parquet", ["%%step read\nimport polars as pl\nname = 'a'\ntotal = int(pl.read_parquet(f'{name}.parquet')['v'].sum())"]),
        ("csv", ["%%step read\nimport polars as pl\nname = 'a'\ntotal = int(pl.scan_csv(f'{name}.csv').collect()['v'].sum())"]),
        (
            "parquet",
            [
                "%%step scan\nimport polars as pl\nname = 'a'\nquery = pl.scan_parquet(f'{name}.parquet').select(pl.col('v') * 2)",
                "%%step read\ntotal = int(query.collect()['v'].sum()) // 2",
            ],
        ),
        ("h5", ["%%step read\nimport h5py\nname = 'a'\nwith h5py.File(f'{name}.h5') as f:\n    total = int(f['v'][:].sum())"]),
    ],
    ids=["polars-read-csv", "polars-read-parquet", "polars-scan-and-collect", "polars-scan-then-collect-in-a-later-step", "h5py-file"],
)
def test_a_file_opened_by_compiled_code_with_a_path_made_at_run_time_is_followed(lab, kind, cells):
    outside(lab, WRITE[kind].replace("V", "1"))
    session = lab.run(cells)
    assert session.value("total") == "1"
    for cell in cells:
        session.run(cell)
    assert session.last.cached, session.last.status
    outside(lab, WRITE[kind].replace("V", "7"))
    for cell in cells:
        session.run(cell)
    assert session.step("read").ran and session.value("total") == "7", session.step("read").status
    assert f"a.{kind} changed" in session.step("read").status


def test_a_step_writing_an_h5_file_is_not_stale_when_the_file_is_changed(lab):
    step = "%%step write\nimport h5py, numpy as np\nname = 'out'\nwith h5py.File(f'{name}.h5', 'w') as f:\n    f['v'] = np.arange(3)"
    session = lab.run([step])
    session.run(step)
    assert session.last.cached, session.last.status
    outside(lab, "import os\nos.remove('out.h5')")
    session.run(step)
    assert session.last.ran and (lab.root / "out.h5").exists(), session.last.status
