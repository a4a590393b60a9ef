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


def test_an_output_holding_a_part_of_an_input_the_step_changed_holds_the_live_part_after_a_hit(lab):
    """``infl = results.get_influence()`` fills ``results``' caches (a changed input) and keeps
    ``results._results`` in ``infl``. The hit poured the stored state into the live results, but
    ``infl`` held the stored copy: a later cache filled through ``infl`` no longer reached the model."""
    make = "%%step make\nclass Results:\n    def __init__(self):\n        self.cache = {}\nresults = Results()"
    use = "%%step use\nresults.cache['resid'] = [1.0]\ninfl = {'results': results}"
    hit_like_plain(lab, [make, use], ["infl['results'] is results"])


def test_a_new_key_of_a_changed_cache_that_shares_an_old_keys_value_shares_it_after_a_hit(lab):
    """A fitted GLM's results cache one array under 'mu' and, once asked, under 'fittedvalues'. The
    hit poured the stored 'mu' into the live one and put the stored copy under the new key: two
    arrays where the run left one."""
    make = "%%step make\nimport numpy as np\ncache = {'mu': np.arange(3.0)}"
    fill = "%%step fill\ncache['fitted'] = cache['mu']"
    hit_like_plain(lab, [make, fill], ["cache['fitted'] is cache['mu']"])


def test_a_value_holding_scipys_distribution_hashes_as_after_a_plain_run_once_restored(lab):
    """``summary_frame()`` calls ``scipy.stats.t.ppf``, which builds and fills the distribution's
    vectorized methods on first use. After a hit nothing called it: hashed with those callables,
    the restored prediction differed from a plain run's, though it is the very same object."""
    make = (
        "%%step fit\nimport numpy as np, statsmodels.api as sm\n"
        "x = np.linspace(0, 1, 20)\npred = sm.OLS(np.sin(x), sm.add_constant(x)).fit().get_prediction()\n"
        "frame = pred.summary_frame()"
    )
    look = "from wfnb.cache.hashing import hash_value"
    hit_like_plain(lab, [make, look], ["hash_value(pred)"])


def test_a_model_whose_setstate_resets_a_flag_is_left_as_its_fit_left_it(lab):
    """statsmodels' ``NegativeBinomial.__setstate__`` calls ``_initialize()``, which sets
    ``_transparams`` back to True where ``fit`` had left it False. The run replaced the step's model
    by that restored copy (so that the kernel held what a restore gives): another model than a
    plain run's, whose later predictions would transform the parameters again."""
    make = (
        "%%step fit\nimport numpy as np, statsmodels.api as sm\n"
        "rng = np.random.default_rng(0)\nx = rng.normal(size=200)\ny = rng.poisson(np.exp(0.5 + 0.3 * x))\n"
        "model = sm.NegativeBinomial(y, sm.add_constant(x))\nresult = model.fit(disp=False)"
    )
    hit_like_plain(lab, [make], ["model._transparams", "result.model is model"])
    ran = lab.run([make.replace("%%step fit", "%%step fit --force")])
    assert ran.value("model._transparams") == "False"


def test_numpys_global_generator_hashes_as_after_a_plain_run_once_a_hit_restored_its_state(lab):
    """statsmodels' prediction holds scipy's ``t``, which holds numpy's global ``RandomState``. A hit
    of the seeding step restores the generator's state, not the seed sequence ``np.random.seed`` clears:
    the same draws, yet the generator (and the prediction) hashed otherwise than after a plain run. A
    ``RandomState`` is its state; the global one's state is followed where steps draw from it."""
    seed = "%%step seed\nimport numpy as np\nnp.random.seed(9876789)\ne = np.random.normal(size=3)\nown = np.random.RandomState(1)"
    look = "from wfnb.cache.hashing import hash_value"
    hit_like_plain(lab, [seed, look], ["hash_value(np.random.mtrand._rand)", "hash_value(own)", "np.random.normal()"])
