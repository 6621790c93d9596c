"""Transitions between core sets: the milestoning count, the rates against the exact 1-d MFPT,
symmetry, censoring, determinism and bad input."""
import json
import os

import numpy as np
import pytest
from scipy.integrate import quad

from models import Quadratic, double_well, entropic_double_well, symmetric_double_well
from sandbox import DivergenceError, simulate, transitions

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20261123"))
CORES_1D = [([-1.0], 0.3), ([1.0], 0.3)]
CORES_2D = [((-1.0, 0.0), 0.4), ((1.0, 0.0), 0.4)]


def exact_mfpt(potential, temperature, x0, b):
    """tau(x0 -> b) = (1/T) int_{x0}^{b} exp(U(y)/T) int_{-inf}^{y} exp(-U(z)/T) dz dy (1-d, b > x0)."""
    def inner(y):
        return quad(lambda z: np.exp(-potential(z) / temperature), -np.inf, y, epsabs=0, epsrel=1e-12, limit=200)[0]
    outer = quad(lambda y: np.exp(potential(y) / temperature) * inner(y), x0, b, epsabs=0, epsrel=1e-10, limit=200)
    return outer[0] / temperature


def recount(positions, starts, centers, radius):
    """Milestoning in numpy from recorded paths (n_steps, n_chains, d): counts (n, K, K), exposure steps (n, K)."""
    path = np.concatenate([starts[None], positions])                    # (n_steps + 1, n, d)
    inside = ((path[:, :, None, :] - centers) ** 2).sum(-1) <= radius**2  # (n_steps + 1, n, K)
    core = np.where(inside.any(-1), inside.argmax(-1), -1)
    n, k = path.shape[1], centers.shape[0]
    counts, exposure = np.zeros((n, k, k), dtype=int), np.zeros((n, k), dtype=int)
    last = core[0].copy()
    for t in range(1, path.shape[0]):
        has = last >= 0
        exposure[np.flatnonzero(has), last[has]] += 1
        new = (core[t] >= 0) & (core[t] != last)
        counted = new & has
        counts[np.flatnonzero(counted), last[counted], core[t][counted]] += 1
        last = np.where(new, core[t], last)
    return counts, exposure


def test_the_kernel_counts_what_a_numpy_recount_of_the_same_paths_counts_and_not_the_saddle_crossings():
    # simulate() draws each chain's noise from the same (seed, chain) stream, so its recorded paths
    # are the paths transitions() followed
    kw = dict(n_chains=6, step_size=1e-3, temperature=0.3, seed=SEED)
    n_steps = 60_000
    res = transitions(double_well(), CORES_1D, n_steps=n_steps, **kw)
    starts = np.array([[-1.0], [1.0]] * 3)
    run = simulate(double_well(), "ula", n_steps=n_steps, x0=starts, record_every=1, record_positions=True, **kw)
    counts, exposure = recount(run.positions, starts, np.array([[-1.0], [1.0]]), 0.3)
    np.testing.assert_array_equal(res.chain_counts, counts)
    np.testing.assert_allclose(res.chain_exposure, exposure * 1e-3, rtol=1e-12)
    assert res.counts.sum() > 0
    # every chain spends every step with a last core: the exposure is the whole run
    np.testing.assert_allclose(res.chain_exposure.sum(axis=1), n_steps * 1e-3, rtol=1e-12)
    # crossings of the dividing surface x = 0 are many times the transitions: recrossings
    crossings = (np.diff(np.sign(np.concatenate([starts[None], run.positions])[..., 0]), axis=0) != 0).sum()
    assert crossings > 5 * res.counts.sum()


def test_rates_in_the_1d_double_well_match_the_exact_mfpt_between_the_cores():
    # a chain enters core L from the right, at -1 + r, and leaves it for R when it reaches 1 - r:
    # the milestoning residence time is tau(-1 + r -> 1 - r), by symmetry the same both ways
    temp, r = 0.3, 0.3
    exact = exact_mfpt(lambda x: (x * x - 1) ** 2, temp, -1 + r, 1 - r)
    res = transitions(double_well(), CORES_1D, temperature=temp, step_size=1e-3, n_chains=300, n_steps=100_000,
                      seed=SEED + 1)
    assert res.stderr_kind == "between-chain" and res.notes == ()
    assert res.counts[0, 1] > 300 and res.counts[1, 0] > 300
    for i in range(2):
        assert abs(res.mfpt.z(exact)[i]) < 5
        assert abs(res.mfpt.z(1.3 * exact)[i]) > 5    # power against a 30% error
    # k_ij = N_ij / E_i and tau_i = E_i / N_i are the same data
    np.testing.assert_allclose(res.rates.value[[0, 1], [1, 0]] * res.mfpt.value, 1.0, rtol=1e-12)
    # the first passages from the core centers, censored ones included, estimate the same times
    assert np.all(np.abs(res.first_passage.z(exact)) < 5)


def test_the_between_chain_and_poisson_standard_errors_agree_on_a_markov_jump_process():
    res = transitions(double_well(), CORES_1D, temperature=0.3, step_size=2e-3, n_chains=200, n_steps=50_000,
                      seed=SEED + 2)
    # both estimate the same SD; an SE from 200 chains is itself uncertain by about 1/sqrt(2 x 200) = 5%
    # (more with the heavy tail of per-chain counts), so 30% is several of its standard errors
    ratio = res.rates.stderr[[0, 1], [1, 0]] / res.rates_poisson_stderr[[0, 1], [1, 0]]
    assert np.all((ratio > 0.7) & (ratio < 1.3))


@pytest.mark.parametrize("method", ["ula", "mala"])
def test_rates_both_ways_are_equal_in_the_symmetric_double_well(method):
    res = transitions(symmetric_double_well(), CORES_2D, method=method, temperature=0.3, step_size=5e-3,
                      n_chains=128, n_steps=30_000, seed=SEED + 3)
    k_lr, k_rl = res.rates.value[0, 1], res.rates.value[1, 0]
    se = np.hypot(res.rates.stderr[0, 1], res.rates.stderr[1, 0])
    assert res.counts[0, 1] > 300 and abs(k_lr - k_rl) / se < 5
    if method == "mala":
        assert 0.9 < res.acceptance < 1.0
    else:
        assert np.isnan(res.acceptance)


def test_the_same_comparison_sees_the_asymmetry_of_the_entropic_double_well():
    # detailed balance: k_LR / k_RL = P_R / P_L, about 1/2 at a = ln 2 (the left well is twice as wide)
    res = transitions(entropic_double_well(), CORES_2D, temperature=0.3, step_size=5e-3, n_chains=128,
                      n_steps=30_000, seed=SEED + 4)
    k_lr, k_rl = res.rates.value[0, 1], res.rates.value[1, 0]
    assert (k_rl - k_lr) / np.hypot(res.rates.stderr[0, 1], res.rates.stderr[1, 0]) > 5


def test_without_transitions_rates_are_nan_with_upper_bounds_not_zero_with_small_errors():
    res = transitions(double_well(), CORES_1D, temperature=0.05, step_size=1e-3, n_chains=4, n_steps=2000,
                      seed=SEED)
    assert np.all(res.counts == 0)
    assert np.all(np.isnan(res.rates.value)) and np.all(np.isnan(res.mfpt.value))
    assert np.all(np.isnan(res.first_passage.value))
    # no event in E = 4 chains x 2 time units / 2 cores: 95% upper bound -log(0.05) / E on each rate
    np.testing.assert_allclose(res.rate_upper_bounds[[0, 1], [1, 0]], -np.log(0.05) / 4.0, rtol=1e-9)
    np.testing.assert_allclose(res.mfpt_lower_bounds, 4.0 / -np.log(0.05), rtol=1e-9)
    text = " ".join(res.notes)
    assert "no transition 0 -> 1" in text and "no exit from core 1" in text and "no chain arrived" in text


def test_censored_stays_count_as_exposure_not_as_exits():
    # chains that never leave: all their time is exposure of the start core, with no exit
    res = transitions(double_well(), CORES_1D, temperature=0.05, step_size=1e-3, n_chains=3, n_steps=500,
                      seed=SEED)
    np.testing.assert_allclose(res.exposure, [1.0, 0.5])   # chains 0, 2 in core 0; chain 1 in core 1
    assert np.all(np.isinf(res.first_passage_times))


def test_a_chain_started_outside_the_cores_has_no_last_core_until_it_enters_one():
    res = transitions(double_well(), CORES_1D, temperature=0.05, step_size=1e-3, n_chains=8, n_steps=3000,
                      seed=SEED, x0=[0.2])
    assert np.all(res.start_core == -1)
    assert np.all(res.counts == 0)                   # the first entry is not a transition
    entered = np.isfinite(res.first_passage_times)
    assert entered.all()
    # exposure counts only from the entry on
    np.testing.assert_allclose(res.chain_exposure.sum(axis=1), 3.0 - res.first_passage_times, rtol=1e-9)


_SCRIPT = r"""
import json, sys
import numpy as np
from models import symmetric_double_well
from sandbox import transitions, mean_first_passage_time
cores = [((-1.0, 0.0), 0.4), ((1.0, 0.0), 0.4)]
out = {}
for method in ("ula", "mala"):
    r = transitions(symmetric_double_well(), cores, method=method, temperature=0.3, step_size=5e-3, n_chains=7,
                    n_steps=5000, seed=int(sys.argv[1]))
    out[method] = [r.chain_counts.tolist(), r.chain_exposure.tolist(), r.first_passage_times.tolist()]
p = mean_first_passage_time(symmetric_double_well(), [-1.0, 0.0], cores[1], temperature=0.3, step_size=5e-3,
                            n_chains=7, max_steps=5000, seed=int(sys.argv[1]))
out["passage"] = [p.value, p.stderr]
print(json.dumps(out))
"""


def test_results_do_not_depend_on_the_thread_count(outputs_with_1_and_2_threads):
    one, two = outputs_with_1_and_2_threads(_SCRIPT, SEED)
    assert one == two
    assert sum(map(sum, (np.ravel(c) for c in [one["ula"][0]]))) > 0


def test_a_chain_is_a_pure_function_of_seed_and_index():
    kw = dict(temperature=0.3, step_size=5e-3, n_steps=5000, seed=SEED)
    small = transitions(symmetric_double_well(), CORES_2D, n_chains=2, **kw)
    big = transitions(symmetric_double_well(), CORES_2D, n_chains=10, **kw)
    np.testing.assert_array_equal(small.chain_counts, big.chain_counts[:2])
    np.testing.assert_array_equal(small.first_passage_times, big.first_passage_times[:2])


def test_divergence_is_reported_not_returned_as_nan():
    with pytest.raises(DivergenceError, match="chains stopped"):
        transitions(double_well(), CORES_1D, temperature=0.3, step_size=0.5, n_chains=4, n_steps=100, seed=SEED,
                    x0=[3.0])


def test_transitions_is_the_function_even_after_its_module_is_imported():
    import sandbox.transitions  # noqa: F401  (binds the submodule on the package unless guarded)

    assert sandbox.transitions is transitions and callable(sandbox.transitions)


@pytest.mark.parametrize("bad, match", [
    (dict(temperature=0.0), "temperature must be > 0"), (dict(temperature=-0.1), "temperature must be > 0"),
    (dict(temperature=np.nan), "temperature"), (dict(step_size=0.0), "step_size"), (dict(n_chains=0), "n_chains"),
    (dict(n_steps=-5), "n_steps"), (dict(method="hmc"), "method"),
    (dict(basins=[((-1.0, 0.0), 0.4)]), "at least 2"),
    (dict(basins=[((-1.0, 0.0), 1.2), ((1.0, 0.0), 1.2)]), r"basins\[0\] and basins\[1\] overlap"),
    (dict(basins=[((-1.0, 0.0), 0.4), ((0.0, 0.0), 0.3)]), r"basins\[1\] does not contain a minimum"),
    (dict(basins=[((-1.0, 0.0), 0.4), ((1.0, 0.0, 0.0), 0.4)]), r"basins\[1\] center must have shape"),
    (dict(x0=[[0.0, 0.0]] * 3), r"x0 must have shape \(2,\) or \(4, 2\)"), (dict(x0=[np.inf, 0.0]), "x0"),
    (dict(landscape="well"), "landscape must be a models.Landscape"),
])
def test_bad_input_raises_value_error_naming_the_parameter(bad, match):
    kw = dict(landscape=symmetric_double_well(), basins=CORES_2D, temperature=0.3, step_size=1e-3, n_chains=4,
              n_steps=10)
    kw.update(bad)
    with pytest.raises(ValueError, match=match):
        transitions(kw.pop("landscape"), kw.pop("basins"), **kw)


def test_cores_around_the_minima_of_a_quadratic_are_checked_against_the_landscape():
    with pytest.raises(ValueError, match="does not contain a minimum"):
        transitions(Quadratic([1.0, 1.0]), CORES_2D, temperature=0.3, step_size=1e-3, n_chains=2, n_steps=10)


def test_the_result_is_json_friendly_for_a_report():
    res = transitions(symmetric_double_well(), CORES_2D, temperature=0.3, step_size=5e-3, n_chains=2, n_steps=100,
                      seed=SEED)
    json.dumps({"counts": res.counts.tolist(), "exposure": res.exposure.tolist(), "notes": list(res.notes)})
