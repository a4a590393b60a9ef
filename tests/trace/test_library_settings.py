"""scikit-learn's configuration is a library setting like pandas' options: read by the steps that
use scikit-learn, and set again on a hit of a step that changed it."""

from __future__ import annotations

FIT = (
    "%%step scale\nimport numpy as np\nfrom sklearn.preprocessing import StandardScaler\n"
    "kind = type(StandardScaler().fit_transform(np.arange(4.).reshape(2, 2))).__name__"
)


def test_a_configuration_set_in_a_plain_cell_is_an_ingredient_of_the_steps_that_use_sklearn(lab):
    session = lab.run(["import sklearn", FIT])
    assert session.value("kind") == "'ndarray'"
    session.run("sklearn.set_config(transform_output='pandas')")
    session.run(FIT)
    assert session.last.ran and session.value("kind") == "'DataFrame'", session.last.status
    session.run("sklearn.set_config(transform_output='default')")
    session.run(FIT)
    assert session.last.cached and session.value("kind") == "'ndarray'", session.last.status


def test_a_configuration_set_in_a_step_is_set_again_on_a_hit(lab):
    cells = [
        "import numpy as np",
        "%%step configure\nimport sklearn\nsklearn.set_config(transform_output='pandas')\nready = True",
        "from sklearn.preprocessing import StandardScaler\nkind = type(StandardScaler().fit_transform(np.arange(4.).reshape(2, 2))).__name__",
    ]
    lab.run(cells)
    again = lab.run(cells)
    assert again.step("configure").cached
    assert again.value("kind") == "'DataFrame'"


def test_methods_a_library_call_adds_to_pandas_are_added_again_on_a_hit(lab):
    """``tqdm.pandas()`` in a step adds ``progress_apply`` to pandas' classes: a later cell uses it."""
    cells = [
        "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})",
        "%%step bars\nfrom tqdm.auto import tqdm\ntqdm.pandas(disable=True)\nready = True",
        "q = df['a'].progress_apply(lambda v: v + 1).tolist()\ng = df.groupby('a')['a'].progress_apply(len).tolist()",
    ]
    lab.run(cells)
    again = lab.run(cells)
    assert again.step("bars").cached
    assert again.value("q") == "[2, 3]" and again.value("g") == "[1, 1]"
