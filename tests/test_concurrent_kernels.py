"""Two real kernels (nbclient) run the same notebook on one store at the same time, again and again.

They race for the same step keys, the same variant identities and the next
variant numbers. Afterwards the store verifies clean, and every state either
kernel reached is a variant whose values load.
"""

from __future__ import annotations

import threading
from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook

import wfnb

from kernels import run_notebook  # tests/kernels.py

CELLS = [
    "%load_ext wfnb\nimport os\nimport wfnb\nSEED = int(os.environ['WFNB_TEST_SEED'])",
    "%%params\nseed = SEED",
    "%%step shared\nimport numpy as np\nbase = np.arange(200_000.0)",
    "%%step scaled\nscaled = base * seed\nwfnb.log(total=float(scaled.sum()))",
    "%%step summary\nsummary = {'seed': seed, 'max': float(scaled.max())}",
]


def _run_kernel(directory: Path, store: Path, seed: int, errors: list[BaseException]) -> None:
    notebook = new_notebook(cells=[new_code_cell(c) for c in CELLS])
    try:
        run_notebook(notebook, directory, store, name="shared.ipynb", timeout=120, WFNB_TEST_SEED=str(seed))
    except BaseException as error:  # noqa: BLE001 - reported by the test thread, whatever it was
        errors.append(error)


def test_two_kernels_on_one_store_at_once(tmp_path: Path) -> None:
    store = tmp_path / "store"
    seeds = [1, 2, 3]
    for seed in seeds:
        errors: list[BaseException] = []
        threads = [threading.Thread(target=_run_kernel, args=(tmp_path, store, seed, errors)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
        assert not errors, errors
    report = wfnb.verify(str(store))
    assert report.ok and report.checked > 10, report
    table = wfnb.variants("shared", store=str(store))
    total = float(sum(range(200_000)))
    assert set(table["seed"]) == set(seeds)  # every state reached is a variant
    complete = set()
    for row in table.itertuples():
        variant = wfnb.variant(row.variant, "shared", store=str(store))
        # A kernel may adopt the other's variant midway, leaving a consistent shorter variant behind
        # (e.g. only `shared`, which has no metric): every variant still loads and is right as far as it goes.
        if "scaled" in variant.outputs:
            assert variant.metrics["total"] == total * row.seed
        if "summary" in variant.outputs:  # a whole variant: its metric was checked just above
            assert "scaled" in variant.outputs and variant.outputs["summary"] == {"seed": row.seed, "max": 199_999.0 * row.seed}
            complete.add(row.seed)
    assert complete == set(seeds)  # and the whole notebook's state, for every seed
    runs = wfnb.runs(str(store))
    assert (~runs[runs["step"] == "shared"]["cached"]).sum() <= 2  # at most both kernels of the first round
