"""Values must hash the same after a restore as when their step made them, or every step that
reads them re-runs once after each restart; and checking that, in the kernel that ran the step,
must not change the notebook's own classes."""

from __future__ import annotations

import pytest

MAKERS = {
    "a-notebook-class-holding-frames": "import pandas as pd\nclass Holder:\n    def __init__(self):\n        self.df = pd.DataFrame({'a': [1, 2]})\n        self.parts = {'x': self.df.copy()}\nmodel = Holder()",
    "a-fitted-grid-search": "from sklearn.model_selection import GridSearchCV\nfrom sklearn.linear_model import LogisticRegression\nimport numpy as np\nX = np.arange(40.).reshape(20, 2)\ny = np.array([0, 1] * 10)\nmodel = GridSearchCV(LogisticRegression(), {'C': [0.1, 1]}, cv=2).fit(X, y)",
    "a-fitted-pipeline": "from sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\nfrom sklearn.ensemble import RandomForestClassifier\nimport numpy as np\nX = np.arange(40.).reshape(20, 2)\ny = np.array([0, 1] * 10)\nmodel = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=3, random_state=0)).fit(X, y)",
    # the encoder meets args.__dict__ as args' state, then again as cfg; a restore rebuilds __dict__
    "an-object-and-its-vars": "import argparse\nargs = argparse.Namespace(lr=0.1, layers=[1, 2])\nmodel = {'args': args, 'cfg': vars(args)}",
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


def test_a_dict_that_is_its_own_attribute_dict_stays_so_after_a_hit(lab):
    """statsmodels' ``Dataset`` is a dict whose ``__dict__`` is itself (``self.__dict__ = self``): an
    attribute set later is also a key. Restored as a dict with a separate ``__dict__``, setting
    ``data.exog`` no longer changed ``data['exog']``, and the value hashed differently from the one
    its step made, so the steps reading it re-ran after every restart."""
    make = "%%step make\nimport statsmodels.api as sm\ndata = sm.datasets.spector.load()"
    use = "%%step use\nn = len(data['endog'])"
    lab.run([make, use])
    again = lab.run([make, use])
    assert again.step("make").cached and again.step("use").cached, [c.statuses for c in again.cells]
    again.run("data.extra = 1")
    assert again.value("data['extra'], data.__dict__ is data") == "(1, True)"


def test_a_scikit_learn_bunch_keeps_its_attributes_after_the_run_and_after_a_hit(lab):
    """``permutation_importance`` returns a ``Bunch``, whose ``__setstate__`` drops its attributes
    (the deprecated keys it warns about): the step's value was replaced by that poorer copy, so the
    notebook held another value than a plain run does, and no longer the object the step made."""
    make = "%%step make\nfrom sklearn.utils import Bunch\nb = Bunch(a=1)\nsame = [b]"
    plain = lab.plain([make])
    ran = lab.run([make])
    hit = lab.run([make])
    assert hit.step("make").cached
    expected = plain.value("vars(b), same[0] is b")
    assert ran.value("vars(b), same[0] is b") == expected == hit.value("vars(b), same[0] is b"), expected


def test_two_equal_frames_a_step_made_stay_two_objects_after_the_run(lab):
    """statsmodels' ``anes96.load()`` holds two equal, distinct frames (``data`` and ``raw_data``). To
    see how a restore gives a value back, the run rebuilt it in this kernel and handed both references
    the one frame it had: the notebook then held one frame twice, and writing to one changed the other."""
    make = (
        "%%step make\nimport numpy as np, pandas as pd\n"
        "class Box(dict):\n    pass\n"
        "frame = pd.DataFrame({'v': np.arange(20000.0)})\nbox = Box(data=frame, raw=frame.copy())"
    )
    plain = lab.plain([make])
    ran = lab.run([make])
    expected = plain.value("box['data'] is box['raw']")
    assert ran.value("box['data'] is box['raw']") == expected == "False"


def test_a_part_of_a_dict_subclass_input_is_restored_as_that_part_not_a_copy(lab):
    """``sm.Logit(data.endog, data.exog)`` keeps the frame the notebook's ``Dataset`` (a dict
    subclass) holds. The objects reachable from an input were indexed through plain dicts only, so a
    hit gave the model a copy: ``model.data.orig_exog is data.exog`` was no longer true."""
    from tests.trace.test_more_habits import hit_like_plain

    make = "class Rec(dict):\n    def __init__(self, **kw):\n        dict.__init__(self, kw)\n        self.__dict__ = self\nrec = Rec(x=[1, 2])"
    hit_like_plain(lab, [make, "%%step hold\nholder = {'x': rec.x}"], ["holder['x'] is rec['x']"])


def test_a_bunch_a_step_makes_is_the_one_a_plain_run_makes(lab):
    # a pickle round trip drops what a Bunch keeps in its __dict__: the step's own value must stay
    step = "%%step make\nfrom sklearn.datasets import load_iris\niris = load_iris()"
    expected = lab.plain([step]).value("sorted(vars(iris))")
    assert lab.run([step]).value("sorted(vars(iris))") == expected
