"""Tests of sandbox.rare_events against independent truths.

Truths: exact GOE probabilities from the joint eigenvalue density
(``analysis.minima.goe_log_p_positive_definite``), direct sampling (for
subset simulation on a non-GOE ensemble), and the Marchenko–Pastur edge
(shifted Wishart far below it is positive definite with probability ~1).
Random tests use a fixed seed that ``SANDBOX_TEST_SEED`` overrides; z-score
thresholds are 5 standard errors.
"""
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.minima import goe_log_p_positive_definite
from analysis.stats import wilson_interval
from analysis.strategies import ensembles, standard_normals
from models.spectra import GOE, BulkZerosOutliers, ShiftedWishart, Wishart
from sandbox.estimate import Estimate
from sandbox.rare_events import (
    RareEventResult,
    _PositivityTester,
    _subset_replica,
    direct_samples_to_precision,
    log_p_positive_definite,
    subset_cost_to_precision,
)

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240917"))
SIG = 5.0


def assert_z(result, truth, what, sig=SIG):
    z = (result.value - truth) / result.stderr
    assert abs(z) < sig, f"{what}: {result.value:.4f} +- {result.stderr:.3g} vs {truth:.4f} (z = {z:.2f})"


# --------------------------------------------------------------------------
# Direct sampling
# --------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 3])
def test_direct_matches_exact_goe_probability(d):
    result = log_p_positive_definite(GOE(d), method="direct", n_samples=40_000, seed=SEED + d)
    assert result.method == "direct"
    assert result.n_evaluations == 40_000
    assert_z(result, goe_log_p_positive_definite(d), f"GOE d={d} direct")
    # The log-scale SE is the delta method on the binomial proportion.
    k, n = result.n_successes, result.n_samples
    assert math.isclose(result.stderr, math.sqrt((1 - k / n) / k))
    # The exact probability lies in a generous Wilson interval.
    lo, hi = wilson_interval(k, n, level=1 - 1e-6)
    assert lo < math.exp(goe_log_p_positive_definite(d)) < hi


def test_direct_shifted_wishart_far_below_edge_is_certain():
    # gamma = 0.1: the lower MP edge is (1 - sqrt(0.1))^2 = 0.468; a shift of 0.05
    # is far below it, so W - 0.05 I is positive definite with probability ~ 1.
    ensemble = ShiftedWishart(200, 20, 0.05)
    result = log_p_positive_definite(ensemble, method="direct", n_samples=2000, seed=SEED)
    assert result.n_successes == 2000
    assert result.value == 0.0
    assert 0 < result.stderr < 0.01
    # auto sees enough successes and keeps direct sampling.
    auto = log_p_positive_definite(ensemble, n_samples=2000, pilot_samples=2000, seed=SEED)
    assert auto.method == "direct" and auto.value == 0.0


def test_direct_with_no_success_asks_for_subset():
    with pytest.raises(ValueError, match="subset") as info:
        log_p_positive_definite(GOE(8), method="direct", n_samples=500, seed=SEED)
    assert "n_samples" in str(info.value)


# --------------------------------------------------------------------------
# Subset simulation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("d", [5, 6, 7, 8])
def test_subset_matches_exact_goe_probability(d):
    result = log_p_positive_definite(GOE(d), method="subset", n_samples=100, seed=SEED + d)
    assert result.method == "subset"
    assert len(result.replica_values) == 4
    assert_z(result, goe_log_p_positive_definite(d), f"GOE d={d} subset")


def test_subset_agrees_with_direct_sampling_on_wishart():
    # A non-GOE ensemble, no closed form: direct sampling is the truth.
    ensemble = ShiftedWishart(30, 10, 0.12)
    direct = log_p_positive_definite(ensemble, method="direct", n_samples=200_000, seed=SEED)
    assert direct.n_successes > 300
    subset = log_p_positive_definite(ensemble, method="subset", n_samples=100, seed=SEED + 1)
    both = math.hypot(direct.stderr, subset.stderr)
    assert abs(direct.value - subset.value) < SIG * both, (direct, subset)


def test_subset_goe_d15_within_5_se_and_5_percent():
    d = 15
    exact = goe_log_p_positive_definite(d)
    result = log_p_positive_definite(GOE(d), method="subset", n_samples=100, seed=SEED)
    assert_z(result, exact, "GOE d=15 subset")
    assert abs(result.value - exact) < 0.05 * abs(exact)
    # Cost in factorisations, for the benchmark against direct sampling (~1/P).
    assert result.n_evaluations < direct_samples_to_precision(exact, result.stderr) * 1e-20


def test_reported_stderr_matches_spread_of_repeated_runs():
    d, n_runs = 6, 12
    seeds = np.random.SeedSequence(SEED).spawn(n_runs)
    runs = [log_p_positive_definite(GOE(d), method="subset", n_samples=50, n_moves=12, seed=s)
            for s in seeds]
    values = np.array([r.value for r in runs])
    ratio = values.std(ddof=1) / np.mean([r.stderr for r in runs])
    # With 12 runs the sample SD is within a factor 0.6-1.5 of the truth at ~99.9%.
    assert 0.5 < ratio < 2.0, ratio
    mean = Estimate(values.mean(), values.std(ddof=1) / math.sqrt(n_runs))
    assert abs(mean.z(goe_log_p_positive_definite(d))) < SIG


def test_auto_switches_between_direct_and_subset():
    easy = log_p_positive_definite(GOE(2), seed=SEED)
    assert easy.method == "direct"
    # auto that picks direct is the direct result of the same seed.
    assert easy == log_p_positive_definite(GOE(2), method="direct", seed=SEED)
    hard = log_p_positive_definite(GOE(6), seed=SEED, n_samples=50, pilot_samples=2000)
    assert hard.method == "subset"
    assert hard.n_evaluations > 2000
    assert_z(hard, goe_log_p_positive_definite(6), "GOE d=6 auto")


def test_same_seed_gives_identical_result_whatever_the_threads():
    kwargs = dict(method="subset", n_samples=40, n_moves=5, seed=SEED)
    a = log_p_positive_definite(GOE(5), n_workers=1, **kwargs)
    b = log_p_positive_definite(GOE(5), n_workers=2, **kwargs)
    assert a == b
    c = log_p_positive_definite(GOE(5), **{**kwargs, "seed": SEED + 1})
    assert c.value != a.value


def test_result_behaves_like_an_estimate():
    result = log_p_positive_definite(GOE(3), method="direct", n_samples=5000, seed=SEED)
    assert isinstance(result, RareEventResult)
    assert result.estimate == Estimate(result.value, result.stderr)
    assert result.z(result.value) == 0.0
    lo, hi = result.interval()
    assert lo < result.value < hi


def test_cholesky_test_agrees_with_eigenvalues():
    ensemble = GOE(12)
    rng = np.random.default_rng(SEED)
    z = rng.standard_normal((3000, ensemble.n_gaussian))
    z[:, :12] += 3.0
    lam = ensemble.eigenvalues_from_gaussian(z)[:, 0]
    tester = _PositivityTester(ensemble)
    assert tester.path == "goe"
    for level in (-2.0, 0.0, 0.5):
        above, n_eig = tester.above(z, level)
        assert n_eig == 0
        assert np.array_equal(above, lam > level)


@settings(max_examples=40, deadline=None)
@given(case=ensembles().flatmap(lambda e: st.tuples(st.just(e), standard_normals((8, e.n_gaussian)))),
       level=st.floats(-2.0, 2.0))
def test_positivity_test_agrees_with_the_smallest_eigenvalue_on_any_valid_ensemble(case, level):
    ens, z = case
    above, _ = _PositivityTester(ens).above(z, level)
    lam_min = ens.eigenvalues_from_gaussian(z)[:, 0]
    # Cholesky and eigvalsh may differ only where lambda_min is within rounding (d eps |H|) of the level
    scale = 1.0 + np.abs(ens.from_gaussian(z)).max()
    clear = np.abs(lam_min - level) > 1e-10 * ens.dim * scale
    assert np.array_equal(above[clear], (lam_min > level)[clear])


def test_goe_kernel_reproduces_generic_cholesky_path_bit_for_bit():
    runs = []
    for path in ("cholesky", "goe"):
        tester = _PositivityTester(GOE(6), path=path)
        run = _subset_replica(tester, np.random.default_rng(SEED), 40, p0=0.5, n_moves=4,
                              target_acceptance=0.3, max_levels=1000)
        runs.append((run.log_p, run.variance, run.levels, run.n_evaluations))
    assert runs[0] == runs[1]


def test_exact_zero_eigenvalues_are_reported():
    ensemble = BulkZerosOutliers(10, zero_fraction=0.5)
    assert _PositivityTester(ensemble).path == "eigen"
    with pytest.raises(RuntimeError, match="atom"):
        log_p_positive_definite(ensemble, method="subset", n_samples=20, n_moves=2, seed=SEED)
    with pytest.raises(ValueError, match="subset"):
        log_p_positive_definite(ensemble, method="direct", n_samples=100, seed=SEED)


def test_cost_to_precision_meets_target_and_beats_direct():
    # GOE d = 6: P = 4.6e-6, so direct sampling needs ~2e6 matrices for SE 0.3.
    cost = subset_cost_to_precision(GOE(6), target_stderr=0.3, seed=SEED, pilot_n_samples=30, n_moves=10)
    assert cost.result.stderr <= 0.3
    assert_z(cost.result, goe_log_p_positive_definite(6), "GOE d=6 to precision")
    assert cost.subset_evaluations > cost.result.n_evaluations  # the pilot counts too
    assert cost.speedup > 3
    assert cost.direct_evaluations == pytest.approx(direct_samples_to_precision(cost.result.value, 0.3))
    assert cost.speedup == pytest.approx(cost.direct_evaluations / cost.subset_evaluations)


def test_direct_samples_to_precision_formula():
    # SE(log p_hat) = sqrt((1 - p) / (n p)) at n = (1 - p) / (p sigma^2).
    for log_p, sigma in [(math.log(0.5), 0.1), (-117.68, 0.5), (-258.86, 1.0)]:
        n = direct_samples_to_precision(log_p, sigma)
        p = math.exp(log_p)
        assert math.isclose(math.sqrt((1 - p) / (n * p)), sigma, rel_tol=1e-9)
    assert direct_samples_to_precision(0.0, 0.5) == 0.0
    assert direct_samples_to_precision(-1000.0, 0.5) == math.inf
    with pytest.raises(ValueError, match="target_stderr"):
        direct_samples_to_precision(-1.0, 0.0)


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------


@given(method=st.text(max_size=10).filter(lambda m: m not in ("auto", "direct", "subset")))
@settings(max_examples=25)
def test_unknown_method_is_rejected(method):
    with pytest.raises(ValueError, match="method"):
        log_p_positive_definite(GOE(2), method=method)


@given(n=st.one_of(st.integers(max_value=0), st.floats(allow_nan=True), st.booleans()))
@settings(max_examples=25)
def test_bad_n_samples_is_rejected(n):
    with pytest.raises(ValueError, match="n_samples"):
        log_p_positive_definite(GOE(2), method="direct", n_samples=n)


@given(obj=st.one_of(st.none(), st.integers(), st.text(), st.lists(st.floats(), max_size=3)))
@settings(max_examples=25)
def test_non_ensemble_is_rejected(obj):
    with pytest.raises(ValueError, match="ensemble"):
        log_p_positive_definite(obj)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(p0=0.0), "p0"),
        (dict(p0=1.0), "p0"),
        (dict(n_moves=0), "n_moves"),
        (dict(n_replicas=0), "n_replicas"),
        (dict(target_acceptance=1.5), "target_acceptance"),
        (dict(n_workers=0), "n_workers"),
        (dict(method="subset", n_samples=1), "n_samples"),
        (dict(seed=-1), "seed"),
    ],
)
def test_bad_options_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        log_p_positive_definite(GOE(3), **kwargs)


def test_wishart_ensemble_is_accepted():
    # Wishart (unshifted, n >= d) is positive definite almost surely.
    result = log_p_positive_definite(Wishart(10, 4), n_samples=1000, pilot_samples=1000, seed=SEED)
    assert result.method == "direct" and result.value == 0.0
