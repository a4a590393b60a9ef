"""Inputs a step changes in place come back changed in place on a hit: every other name holding
them sees what a run would have left (containers of any kind, generators, estimators in a
pipeline, slots objects, an output that is an input, a view of an input array)."""

from __future__ import annotations

import pytest

from tests.trace.test_more_habits import hit_like_plain

CASES = {
    "counter-and-ordereddict": (
        [
            "from collections import Counter, OrderedDict, defaultdict\nc = Counter()\nod = OrderedDict(z=0)\ndd = defaultdict(list)",
            "%%step fill\nfor w in 'a b a c'.split():\n    c[w] += 1\n    od[w] = 1\n    dd[w].append(1)\nod.move_to_end('z')\nn = len(c)",
        ],
        ["dict(c)", "list(od.items())", "type(c).__name__", "dict(dd)", "dd['new']", "type(od).__name__"],
    ),
    "random-Random": (["import random\nrng = random.Random(1)\nalso = rng", "%%step draw\nx = rng.random()", "y = also.random()"], ["x", "y"]),
    "numpy-RandomState-shared-with-an-estimator": (
        [
            "import numpy as np\nfrom sklearn.utils import check_random_state\nrs = np.random.RandomState(0)\nholder = {'rs': rs}",
            "%%step d\nz = rs.rand()",
            "w = holder['rs'].rand()",
        ],
        ["z", "w"],
    ),
    "numpy-Generator": (["import numpy as np\ng = np.random.default_rng(3)\nkeep = [g]", "%%step d\nz = g.normal()", "w = keep[0].normal()"], ["z", "w"]),
    "output-is-the-input": (["a = [0]", "%%step al\nb = a\nb.append(1)"], ["a", "b is a"]),
    "view-of-an-input-array": (
        ["import numpy as np\narr = np.zeros(4)", "%%step vw\nv = arr[1:3]\nv[:] = 5", "arr[1] = 7"],
        ["arr.tolist()", "v.tolist()", "bool(np.shares_memory(v, arr))"],
    ),
    "slots-dataclass-also-in-a-dict": (
        ["from dataclasses import dataclass\n@dataclass(slots=True)\nclass P:\n    x: int\np = P(1)\nreg = {'p': p}", "%%step mut\np.x = 5"],
        ["reg['p'].x", "reg['p'] is p"],
    ),
    # statsmodels' model data holds one array as both .exog and .orig_exog; a later step fills the results' cache
    "one-object-held-twice-by-a-changed-input": (
        ["class Holder:\n    pass\nh = Holder()\nh.x = [1]\nh.y = h.x", "%%step mut\nh.z = 2"],
        ["h.y is h.x", "h.x", "h.z"],
    ),
    # statsmodels' model holds one read-only view of the notebook's frame as .endog and .data.endog
    "one-read-only-array-held-twice-by-a-changed-input": (
        ["import numpy as np\nclass Holder:\n    pass\nh = Holder()\na = np.arange(3.0)\na.flags.writeable = False\nh.x = a\nh.y = a", "%%step mut\nh.z = 2"],
        ["h.y is h.x", "h.x is a", "h.x.tolist()"],
    ),
    "estimator-fitted-inside-a-pipeline": (
        [
            "from sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\n"
            "from sklearn.linear_model import LogisticRegression\nimport numpy as np\n"
            "X = np.arange(20.).reshape(10, 2)\ny = np.array([0, 1] * 5)\nclf = LogisticRegression()\npipe = make_pipeline(StandardScaler(), clf)",
            "%%step fit\npipe.fit(X, y)",
        ],
        ["hasattr(clf, 'coef_')", "pipe.steps[-1][1] is clf", "clf.coef_.round(6).tolist()"],
    ),
    "index-names-shared-by-a-frame-a-step-made": (  # the Handbook's 03.05: pop_df is built on pop's index
        [
            "%%step make\nimport pandas as pd\npop = pd.Series([1, 2], index=pd.MultiIndex.from_tuples([('a', 1), ('b', 2)]))",
            "%%step frame\npop_df = pd.DataFrame({'total': pop, 'under18': [3, 4]})",
            "%%step name\npop.index.names = ['state', 'year']",
        ],
        ["list(pop_df.index.names)", "pop_df.index is pop.index"],
    ),
    "index-replaced-by-a-renamed-copy": (  # ... and a new index object: the frame keeps the old one's names
        [
            "%%step make\nimport pandas as pd\npop = pd.Series([1, 2], index=pd.MultiIndex.from_tuples([('a', 1), ('b', 2)]))",
            "%%step frame\npop_df = pd.DataFrame({'total': pop, 'under18': [3, 4]})",
            "%%step name\npop.index = pop.index.set_names(['state', 'year'])",
        ],
        ["list(pop_df.index.names)", "list(pop.index.names)", "pop_df.index is pop.index"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_an_input_changed_in_place_comes_back_changed_in_place(lab, name):
    cells, expressions = CASES[name]
    hit_like_plain(lab, cells, expressions)
