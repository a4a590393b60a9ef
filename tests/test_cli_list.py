"""`wfnb list` in a terminal: it fits the width, sorts, limits, chooses columns; numbers read as logged."""

from __future__ import annotations

import json
import re

import pytest

import wfnb
from wfnb.frontends.cli import main

CELLS = [
    "%wfnb workflow strategies",
    "import wfnb",
    "%%params\nwindow = 20\nmethod = 'rolling'\nlookback_description = 'a long parameter name'",
    "%%step prices\nimport numpy as np\nclose = 100 + np.cumsum(np.sin(np.arange(300) / 7.0))",
    "%%step score\nsignal = close[window:] - close[:-window]\n"
    "wfnb.log(sharpe=round(float(signal.mean() / signal.std()), 3 if method == 'rolling' else 1), trades=int((signal > 0).sum()))\n"
    "if window > 30:\n    wfnb.log(drawdown=0.5)",
]


@pytest.fixture
def store(ip, tmp_path):
    """v1 (window 20), v2 (window 40: a third metric), v3 (window 10, method ewm)."""
    for cell in CELLS:
        assert ip.run_cell(cell).success, cell
    wfnb.replay("v1", window=40)
    wfnb.replay("v1", window=10, method="ewm")
    return str(tmp_path / ".wfnb")


def lines(capsys) -> list[str]:
    return capsys.readouterr().out.rstrip("\n").splitlines()


def test_the_table_fits_the_width_and_keeps_the_metrics(store, capsys):
    assert main(["--store", store, "list", "--width", "200"]) == 0
    wide = lines(capsys)
    assert "lookback_description" in wide[0] and "hash" in wide[0] and max(map(len, wide)) > 80
    assert main(["--store", store, "list", "--width", "80"]) == 0
    narrow = lines(capsys)
    assert all(len(line) <= 80 for line in narrow)
    header = narrow[0].split()
    assert header[0] == "variant" and {"sharpe", "trades", "drawdown"} <= set(header)
    note = " ".join(narrow[4:])  # after the header and three rows: which columns did not fit, and what to do
    assert note.startswith("(") and "left out to fit 80 characters: hash" in note and "--columns" in note
    assert [line.split()[0] for line in narrow[1:4]] == ["v1", "v2", "v3"]


def test_numbers_are_right_aligned_with_their_precision_and_integers_stay_integers(store, capsys):
    assert main(["--store", store, "list", "-c", "sharpe,trades,drawdown,window"]) == 0
    header, *rows = lines(capsys)
    cells = [re.split(r"\s{2,}", row.strip()) for row in rows]
    sharpe = [row[1] for row in cells]
    assert all("." in value for value in sharpe) and any(len(v.split(".")[1]) == 3 for v in sharpe)
    assert any(len(v.split(".")[1]) == 1 for v in sharpe)  # the ewm variant logged one decimal: shown so
    column = header.index("sharpe") + len("sharpe")
    points = {row.index(".", header.index("sharpe") - 2) for row in rows}
    assert len(points) == 1 and max(len(row[:column].rstrip()) for row in rows) <= column  # one decimal point column
    assert all(re.fullmatch(r"\d+", row[2]) for row in cells)  # trades: integers, no ".0"
    assert [row[3] for row in cells] == ["-", "0.5", "-"]  # drawdown: only v2 logged it
    assert [row[4] for row in cells] == ["20", "40", "10"]
    trades_end = header.index("trades") + len("trades")
    assert all(row[trades_end - 1].isdigit() for row in rows)  # right-aligned under its header


def test_sort_limit_and_only_changed(store, capsys):
    assert main(["--store", store, "list", "--sort-by", "window", "--desc", "-n", "2", "--only-changed", "--width", "200"]) == 0
    header, *rows = lines(capsys)
    assert [row.split()[0] for row in rows] == ["v2", "v1"]
    assert "window" in header and "lookback_description" not in header and "method" not in header  # same in v2 and v1
    assert main(["--store", store, "list", "-n", "1", "--width", "200"]) == 0
    assert [row.split()[0] for row in lines(capsys)[1:]] == ["v3"]  # without sorting: the newest


def test_bad_columns_are_a_usage_error_that_lists_the_columns(store, capsys):
    assert main(["--store", store, "list", "--sort-by", "sharp"]) == 2
    err = capsys.readouterr().err
    assert "--sort-by sharp: no such column" in err and "sharpe" in err
    assert main(["--store", store, "list", "-c", "variant,nope"]) == 2
    assert "no column nope" in capsys.readouterr().err


def test_json_keeps_parameters_and_metrics_apart_with_their_types(store, capsys):
    assert main(["--json", "--store", store, "list", "--sort-by", "trades", "-n", "3"]) == 0
    rows = json.loads(capsys.readouterr().out)
    trades = [r["metrics"]["trades"] for r in rows]
    assert len(rows) == 3 and trades == sorted(trades)
    v2 = next(r for r in rows if r["variant"] == "v2")
    assert v2["params"] == {"window": 40, "method": "rolling", "lookback_description": "a long parameter name"}
    assert set(v2["metrics"]) == {"sharpe", "trades", "drawdown"} and type(v2["metrics"]["trades"]) is int


def test_the_python_table_keeps_whole_numbers_whole(store):
    table = wfnb.variants("strategies", store=store)
    assert list(table["trades"]) == [int(t) for t in table["trades"]] and str(table["window"].dtype) == "int64"
    assert table["drawdown"].isna().tolist() == [True, False, True]
