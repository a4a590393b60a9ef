"""What a step changes outside its variables is there after a hit too, as after a plain run."""

from __future__ import annotations

import pytest


def hit_like_plain(lab, cells: list[str], expressions: list[str], **env: str) -> None:
    """Run ``cells`` twice with wfnb (the second time every step is a hit), once without; compare."""
    lab.run(cells, **env)
    cached = lab.run(cells, **env)
    steps = [cell for cell in cached.cells if cell.statuses]
    assert steps and all(cell.cached for cell in steps), [cell.status for cell in steps]
    plain = lab.plain(cells, **env)
    for expression in expressions:
        assert cached.value(expression) == plain.value(expression), expression


def test_a_module_attribute_set_by_a_step_is_set_after_a_hit(lab):
    lab.write("mylib.py", "K = 1\n\ndef f(x):\n    return x * K\n")
    cells = ["import mylib", "%%step configure\nmylib.K = 5", "z = mylib.f(10)"]
    hit_like_plain(lab, cells, ["z", "mylib.K"])


def test_a_module_attribute_set_through_a_function_of_the_module_is_set_after_a_hit(lab):
    lab.write("mylib.py", "K = 1\n\ndef set_k(value):\n    global K\n    K = value\n")
    hit_like_plain(lab, ["import mylib", "%%step configure\nmylib.set_k(7)", "z = mylib.K"], ["z"])


@pytest.mark.parametrize(
    "seed, draw",
    [
        ("import numpy as np\nnp.random.seed(0)", "import numpy as np\ndrawn = np.random.rand(3).tolist()"),
        ("import random\nrandom.seed(0)", "import random\ndrawn = [random.random() for _ in range(3)]"),
    ],
    ids=["numpy", "random"],
)
def test_a_seed_set_by_a_step_is_set_after_a_hit(lab, seed, draw):
    hit_like_plain(lab, [f"%%step seed\n{seed}", draw], ["drawn"])


def test_a_step_that_draws_from_the_global_generator_depends_on_the_seed_before_it(lab):
    cells = ["import numpy as np\nnp.random.seed(1)", "%%step draw\nx = float(np.random.rand())"]
    session = lab.run(cells)
    first = session.value("x")
    session.run("np.random.seed(2)")
    session.run(cells[-1])
    assert session.last.ran and session.value("x") != first


@pytest.mark.parametrize(
    "step, check",
    [
        ("import matplotlib.pyplot as plt\nplt.style.use('ggplot')", "import matplotlib.pyplot as plt\nface = plt.rcParams['axes.facecolor']"),
        ("import pandas as pd\npd.set_option('display.max_rows', 7)", "import pandas as pd\nrows = pd.get_option('display.max_rows')"),
        ("import os\nos.makedirs('sub', exist_ok=True)\nos.chdir('sub')", "import os\nhere = os.path.basename(os.getcwd())"),
        ("import sys\nsys.path.insert(0, 'libs')", "import sys\nfrom extra import VALUE"),
        ("%env MODE=fast", "import os\nmode = os.environ.get('MODE')"),
        ("import numpy as np\nnp.set_printoptions(precision=2)", "import numpy as np\nprecision = np.get_printoptions()['precision']"),
    ],
    ids=["rcparams", "pandas-option", "chdir", "sys-path", "env-magic", "numpy-print-options"],
)
def test_process_state_changed_by_a_step_is_changed_after_a_hit(lab, step, check):
    lab.write("libs/extra.py", "VALUE = 42\n")
    names = {"rcparams": "face"}
    expression = check.rsplit("\n", 1)[-1].split(" = ")[0].replace("from extra import ", "")
    hit_like_plain(lab, [f"%%step change\n{step}", check], [names.get(expression, expression)])


def test_a_global_list_a_helper_appended_to_holds_the_item_after_a_hit(lab):
    cells = ["LOG = []\ndef note(x):\n    LOG.append(x)\n    return x", "%%step use\ny = note(1)"]
    hit_like_plain(lab, cells, ["LOG", "y"])


def test_a_class_attribute_changed_by_a_step_is_changed_on_the_class_itself(lab):
    cells = ["class C:\n    count = 0\nearly = C()", "%%step count\nC.count += 1\nobj = C()", "same = isinstance(obj, C) and isinstance(early, C)"]
    hit_like_plain(lab, cells, ["C.count", "same", "type(early).count"])


def test_a_registry_filled_by_a_step_through_a_decorator(lab):
    cells = [
        "HANDLERS = {}\ndef handler(fn):\n    HANDLERS[fn.__name__] = fn\n    return fn",
        "%%step define\n@handler\ndef shout(text):\n    return text.upper()",
        "result = HANDLERS['shout']('a')",
    ]
    hit_like_plain(lab, cells, ["result", "sorted(HANDLERS)"])
