"""The everyday-loop benchmark's parts: the plain form of a notebook and the probe run in each kernel.

The family itself runs in ``make bench-smoke`` (tests/test_benchmarks_smoke.py); here its pieces
are checked in a real shell, without timing anything against anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from IPython.utils.capture import capture_output

from benchmarks import everyday, loopprobe


def test_the_plain_form_has_no_wfnb_left() -> None:
    cells = (
        "%load_ext wfnb\n%wfnb workflow demo\nimport pandas as pd",
        "%%params\nn = 2",
        "%%step load\nx = n + 1\nwfnb.log(x=x)",
        "import wfnb",
    )
    assert everyday.plain(cells) == ["import pandas as pd", "n = 2", "x = n + 1\n(lambda *args, **kwargs: None)(x=x)"]


def test_cells_calling_wfnb_verbs_are_left_out_but_wfnb_log_is_kept() -> None:
    iris = everyday._from_file(everyday.NOTEBOOKS / "iris.ipynb", "iris")
    assert not any("wfnb.replay" in cell or "wfnb.variants" in cell for cell in iris.cells)
    assert any("wfnb.log(" in cell for cell in iris.cells)
    assert any(cell.startswith("%%step fit") for cell in iris.cells)


def test_the_probe_clocks_cells_imports_and_the_phases_of_a_hit(ip, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "sleepy_module_for_the_probe.py").write_text("import time\ntime.sleep(0.05)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(ip.user_ns)
    assert ip.run_cell(loopprobe.source()).success
    assert set(ip.user_ns) - before <= {"_i", "_ii", "_iii", "_i1", "_i2", "_i3"}  # nothing of the probe's own
    try:
        for cell in ["import sleepy_module_for_the_probe", "%%step twice\ny = [1, 2, 3]", "del y", "%%step twice\ny = [1, 2, 3]"]:
            assert ip.run_cell(cell).success, cell
        with capture_output() as io:
            ip.run_cell(loopprobe.report())
    finally:
        ip.run_cell(loopprobe.uninstall())
        sys.modules.pop("sleepy_module_for_the_probe", None)
    clocks = json.loads(io.stdout.split(loopprobe.MARK, 1)[1])
    assert len(clocks["cells"]) == 4  # the probe's own cell is not one of them
    assert clocks["imports"][0]["sleepy_module_for_the_probe"] >= 0.05  # the module's body slept that long
    hit = clocks["phases"][3]
    assert {"key", "verification", "reading values", "display", "run log"} <= set(hit), hit
    assert not any(isinstance(finder, loopprobe._TimingFinder) for finder in sys.meta_path)
