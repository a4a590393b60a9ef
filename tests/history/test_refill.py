"""A replay of a variant whose values ``wfnb gc`` let go refills that variant, never a copy of it."""

from __future__ import annotations

import textwrap

from IPython.utils.capture import capture_output

import wfnb
from wfnb.frontends.cli import main

DRAW = "%%step draw\nimport os\ntoken = os.urandom(8).hex() + str(n)"


def run(shell, cell):
    with capture_output() as io:
        result = shell.run_cell(textwrap.dedent(cell).strip("\n"))
    assert result.success, io.stderr + io.stdout
    return io


def test_a_replay_after_gc_refills_the_variant_even_when_a_step_draws_anew(ip, tmp_path, capsys):
    run(ip, "%%params\nn = 1")
    run(ip, DRAW)
    first = ip.user_ns["token"]
    run(ip, "%%params\nn = 2")
    run(ip, DRAW)  # v2, the current one
    assert main(["--store", str(tmp_path / ".wfnb"), "gc", "--keep-last", "1", "--grace", "0"]) == 0
    assert "the values of v1 of notebook were let go" in capsys.readouterr().out
    with capture_output():
        made = wfnb.replay("v1")
    assert made.name == "v1"  # the same variant, refilled
    assert list(wfnb.variants()["variant"]) == ["v1", "v2"]
    again = wfnb.variant("v1").outputs["token"]
    assert again.endswith("1") and again != first  # its values are back (drawn anew)
    with capture_output():
        assert wfnb.replay("v1").name == "v1"  # and a replay now finds it as it is
    assert list(wfnb.variants()["variant"]) == ["v1", "v2"]

