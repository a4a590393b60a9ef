"""Values must hash the same after a restore as when their step made them, or every step that
reads them re-runs once after each restart; and checking that, in the kernel that ran the step,
must not change the notebook's own classes."""

from __future__ import annotations

import pytest

MAKERS = {
    "a-notebook-class-holding-frames": "import pandas as pd\nclass Holder:\n    def __init__(self):\n        self.df = pd.DataFrame({'a': [1, 2]})\n        self.parts = {'x': self.df.copy()}\nmodel = Holder()",
    "a-fitted-grid-search": "from sklearn.model_selection import GridSearchCV\nfrom sklearn.linear_model import LogisticRegression\nimport numpy as np\nX = np.arange(40.).reshape(20, 2)\ny = np.array([0, 1] * 10)\nmodel = GridSearchCV(LogisticRegression(), {'C': [0.1, 1]}, cv=2).fit(X, y)",
    "a-fitted-pipeline": "from sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\nfrom sklearn.ensemble import RandomForestClassifier\nimport numpy as np\nX = np.arange(40.).reshape(20, 2)\ny = np.array([0, 1] * 10)\nmodel = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=3, random_state=0)).fit(X, y)",
    "a-notebook-class-with-members-out-of-name-order": "class Show:\n    template = '<p>{0}</p>'\n    def _repr_html_(self):\n        return self.template.format(1)\nmodel = Show",
    "a-categorical-frame-with-a-zoned-index": "import pandas as pd\nmodel = pd.DataFrame({'c': pd.Categorical(['a', 'b', 'a'])}, index=pd.date_range('2020', periods=3, tz='UTC'))",
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_a_step_reading_a_restored_value_is_a_hit_after_a_restart(lab, name):
    cells = ["%%step make\n" + MAKERS[name], "%%step use\nr = repr(type(model))"]
    lab.run(cells)
    again = lab.run(cells)
    assert again.step("make").cached and again.step("use").cached, [c.statuses for c in again.cells]


def test_a_class_a_step_defines_keeps_reading_the_notebooks_globals(lab):
    step = "%%step make\nclass Scaler:\n    def scale(self, x):\n        return x * FACTOR\nmodel = Scaler()"
    session = lab.run(["FACTOR = 2", step, "FACTOR = 3"])
    assert session.value("model.scale(1)") == "3"
    assert session.value("Scaler().scale(1)") == "3"


def test_a_bunch_a_step_makes_is_the_one_a_plain_run_makes(lab):
    # a pickle round trip drops what a Bunch keeps in its __dict__: the step's own value must stay
    step = "%%step make\nfrom sklearn.datasets import load_iris\niris = load_iris()"
    expected = lab.plain([step]).value("sorted(vars(iris))")
    assert lab.run([step]).value("sorted(vars(iris))") == expected
