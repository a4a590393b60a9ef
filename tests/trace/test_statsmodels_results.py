"""What the cache check found on statsmodels' example notebooks (docs/cache-check.md): results
restored otherwise than a plain run leaves them, each cause in a real kernel."""

from __future__ import annotations

from tests.trace.test_more_habits import hit_like_plain


def test_a_prediction_holds_scipys_own_distribution_after_a_hit(lab):
    """statsmodels' prediction results hold ``scipy.stats.t``. Restored as a copy, its random
    generator was a frozen copy of numpy's global one: later draws in plain cells moved the global
    generator and not the copy, so the value differed from a plain run's at the end."""
    make = (
        "%%step fit\nimport numpy as np, statsmodels.api as sm\nfrom scipy import stats\n"
        "x = np.linspace(0, 1, 20)\npred = sm.OLS(np.sin(x), sm.add_constant(x)).fit().get_prediction()\n"
        "held = {'norm': stats.norm}"
    )
    hit_like_plain(lab, [make, "draw = np.random.normal()"], ["pred.dist is stats.t", "held['norm'] is stats.norm"])
