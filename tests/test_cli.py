"""The `wfnb` command on stores written by real shells: `main([...])` in-process, plus one subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from wfnb.frontends.cli import main


def write_store(ip):
    ip.run_cell("x = 3")
    ip.run_cell("%%step triple\ny = x * 3")
    ip.run_cell("%%step triple\ny = x * 3")


def test_runs_lists_executions(ip, tmp_path, capsys):
    write_store(ip)
    capsys.readouterr()
    assert main(["--store", str(tmp_path / ".wfnb"), "runs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["step"], r["cached"]) for r in rows] == [("triple", False), ("triple", True)]


def test_verify_reports_damage_with_exit_code_1(ip, tmp_path, capsys):
    write_store(ip)
    capsys.readouterr()
    store = tmp_path / ".wfnb"
    assert main(["--store", str(store), "verify"]) == 0
    assert "clean" in capsys.readouterr().out
    victim = next(p for p in (store / "objects").rglob("*") if p.is_file())
    victim.write_bytes(victim.read_bytes()[:-1])
    assert main(["--store", str(store), "verify"]) == 1
    out = capsys.readouterr().out
    assert "problem: objects/" in out and re.search(r"checked \d+ files: \d+ problems? \(each line above says what to do\)", out)


def test_unknown_store_is_one_clear_error(tmp_path, capsys):
    assert main(["--store", str(tmp_path / "missing"), "runs"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("wfnb: There is no wfnb store at") and "Traceback" not in err
    assert not (tmp_path / "missing").exists()


def test_bad_usage_exits_2(capsys):
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_python_dash_m_wfnb_runs_as_a_subprocess(ip, tmp_path):
    write_store(ip)
    done = subprocess.run(
        [sys.executable, "-m", "wfnb", "--store", str(tmp_path / ".wfnb"), "verify"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "clean" in done.stdout
