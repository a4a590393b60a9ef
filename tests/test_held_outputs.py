"""A hit in the same kernel takes the large outputs its names still hold, checked by their hash.

Running a cached 800 MB step again used to read the whole value back from the store (over a
second) although the notebook's names still held the very objects it would restore. Proved
here without timing: the object files of the outputs are deleted, and the hit still restores
them. An output changed in place since has another hash: it is read from the store again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from IPython.utils.capture import capture_output

from wfnb.cache.hashing import hash_value
from wfnb.store.layout import object_path

STEP = "%%step make\nprobe.hit()\nimport numpy as np\narr = np.arange(100_000, dtype=np.float64)\nsmall = [1, 2]"


def _run(ip, cell: str) -> str:
    with capture_output() as io:
        result = ip.run_cell(cell)
    assert result.success, result.error_in_exec or result.error_before_exec
    return io.stdout


def _object_file(tmp_path: Path, value: object) -> Path:
    return tmp_path / ".wfnb" / object_path(hash_value(value))


def test_a_hit_keeps_the_outputs_the_names_still_hold_without_reading_them(ip, tmp_path, probe) -> None:
    _run(ip, STEP)
    held = ip.user_ns["arr"]
    stored = _object_file(tmp_path, held)
    assert stored.is_file()
    stored.unlink()  # a hit that read it would find it gone, warn and run the step again

    _run(ip, STEP)

    assert probe.count() == 1  # a hit: the step did not run again
    assert ip.user_ns["arr"] is held
    assert ip.user_ns["small"] == [1, 2]


def test_an_output_changed_in_place_is_restored_from_the_store(ip, tmp_path, probe) -> None:
    _run(ip, STEP)
    held = ip.user_ns["arr"]
    held[0] = -1.0  # same object, other content: its hash no longer matches the stored one

    _run(ip, STEP)

    assert probe.count() == 1
    assert ip.user_ns["arr"] is not held
    assert np.array_equal(ip.user_ns["arr"], np.arange(100_000, dtype=np.float64))


def test_an_output_changed_in_place_whose_object_is_gone_runs_the_step_again(ip, tmp_path, probe) -> None:
    _run(ip, STEP)
    held = ip.user_ns["arr"]
    _object_file(tmp_path, held).unlink()
    held[0] = -1.0

    _run(ip, STEP)

    assert probe.count() == 2  # what the store held cannot be read, and the held value is not it: run again
    assert np.array_equal(ip.user_ns["arr"], np.arange(100_000, dtype=np.float64))


def test_a_held_array_equal_to_another_output_part_is_not_shared_with_it(ip, probe) -> None:
    cell = "%%step twins\nprobe.hit()\nimport numpy as np\nbox = {'a': np.zeros(20_000)}\nz = np.zeros(20_000)"
    _run(ip, cell)
    kept = ip.user_ns["z"]  # what another name of the notebook may hold

    _run(ip, cell)

    assert probe.count() == 1
    assert ip.user_ns["box"]["a"] is not kept  # only z may be that object: box's array is another one
    kept[0] = 5.0
    assert ip.user_ns["box"]["a"][0] == 0.0
