"""Tests of analysis.stats against closed forms, published values and simulated chains."""
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import lfilter
from scipy.special import ndtri
from scipy.stats import t as student_t

from analysis.stats import (
    Estimate,
    effective_sample_size,
    integrated_autocorr_time,
    log_proportion_estimate,
    mcmc_mean_estimate,
    mean_estimate,
    proportion_estimate,
    variance_estimate,
    wilson_interval,
    z_score,
)

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240601"))
SIG = 4.0  # tolerance of simulation checks, in standard errors
FAST = settings(max_examples=40, deadline=None)


def ar1_chains(rho, n_steps, n_chains, rng):
    """Stationary AR(1) chains x_t = rho x_{t-1} + sqrt(1 - rho^2) e_t with unit variance.

    Their integrated autocorrelation time is tau = (1 + rho) / (1 - rho).
    """
    e = rng.standard_normal((n_steps, n_chains))
    x0 = rng.standard_normal(n_chains)  # start in the stationary law N(0, 1)
    x, _ = lfilter([math.sqrt(1 - rho**2)], [1.0, -rho], e, axis=0, zi=(rho * x0)[None, :])
    return x


# --- independent samples ----------------------------------------------------

def test_mean_estimate_is_mean_and_s_over_sqrt_n():
    x = np.array([0.5, 2.0, -1.0, 4.5, 3.0])
    n, mean = x.size, sum(x) / x.size
    s = math.sqrt(sum((v - mean) ** 2 for v in x) / (n - 1))
    assert mean_estimate(x) == pytest.approx((mean, s / math.sqrt(n)), rel=1e-14)


def test_mean_estimate_reduces_along_axis():
    x = np.arange(12.0).reshape(3, 4) ** 2
    by_row = mean_estimate(x, axis=1)
    np.testing.assert_allclose(by_row.value, x.mean(axis=1))
    np.testing.assert_allclose(by_row.stderr, x.std(axis=1, ddof=1) / 2)


def test_mean_estimate_interval_has_student_t_coverage():
    n, replicates = 20, 4000
    rng = np.random.default_rng(SEED)
    est = mean_estimate(rng.normal(3.0, 2.0, size=(n, replicates)))
    covered = int(np.sum(np.abs(est.z(3.0)) < 1.96))
    expected = 2 * student_t.cdf(1.96, n - 1) - 1  # exact coverage of the normal interval
    assert abs(proportion_estimate(covered, replicates).z(expected)) < SIG


def test_variance_estimate_value_is_unbiased_sample_variance():
    x = [1.0, 4.0, 2.0, 8.0]
    assert variance_estimate(x).value == pytest.approx(np.var(x, ddof=1), rel=1e-15)


def test_variance_stderr_matches_normal_closed_form_two_sigma4_over_n_minus_1():
    n, sigma = 100_000, 1.7
    x = np.random.default_rng(SEED).normal(0.0, sigma, n)
    exact = math.sqrt(2 * sigma**4 / (n - 1))
    # the SE estimate has relative sd ~ 1% here (m4 has relative sd sqrt(96/n)/3): 4 sd
    assert variance_estimate(x).stderr == pytest.approx(exact, rel=0.04)


def test_variance_stderr_matches_fourth_moment_formula_for_exponential_samples():
    n = 1_000_000
    x = np.random.default_rng(SEED).exponential(1.0, n)
    exact = math.sqrt((9.0 - (n - 3) / (n - 1)) / n)  # Exp(1): mu4 = 9, sigma = 1
    # relative sd of the SE estimate ~ sqrt((mu8 - mu4^2) / n) / (2 (mu4 - 1)) = 0.75% (mu8 = 14833): 4 sd
    assert variance_estimate(x).stderr == pytest.approx(exact, rel=0.03)


def test_variance_of_sample_variance_over_replicates_matches_fourth_moment_formula():
    n, replicates = 50, 20_000
    rng = np.random.default_rng(SEED)
    s2 = rng.exponential(1.0, size=(n, replicates)).var(axis=0, ddof=1)
    exact = (9.0 - (n - 3) / (n - 1)) / n
    assert abs(variance_estimate(s2).z(exact)) < SIG


@FAST
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=50))
def test_variance_stderr_is_finite_and_nonnegative(x):
    se = variance_estimate(x).stderr
    assert math.isfinite(se) and se >= 0


@pytest.mark.parametrize("func", [mean_estimate, variance_estimate])
@pytest.mark.parametrize("bad", [[1.0], [1.0, math.nan], [], 3.0])
def test_estimates_reject_too_few_or_nonfinite_samples_naming_samples(func, bad):
    with pytest.raises(ValueError, match="samples"):
        func(bad)


# --- correlated chains ------------------------------------------------------

@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_autocorr_time_of_ar1_is_one_plus_rho_over_one_minus_rho(rho):
    n_steps, n_chains, c = 2**17, 8, 5.0
    x = ar1_chains(rho, n_steps, n_chains, np.random.default_rng(SEED))
    tau = (1 + rho) / (1 - rho)
    # Madras & Sokal (1988): var(tau_hat) ~ 2 (2M + 1) / N tau^2 with window M ~ c tau
    sd = tau * math.sqrt(2 * (2 * c * tau + 1) / x.size)
    assert abs(integrated_autocorr_time(x, c=c) - tau) < SIG * sd


def test_autocorr_time_of_one_chain_equals_that_of_a_single_column():
    x = ar1_chains(0.7, 5000, 1, np.random.default_rng(SEED))
    assert integrated_autocorr_time(x[:, 0]) == integrated_autocorr_time(x)


def test_autocorr_time_ignores_chain_offsets_and_scales():
    x = ar1_chains(0.7, 5000, 3, np.random.default_rng(SEED))
    shifted = 10.0 + x * np.array([1.0, 0.01, 300.0])
    assert integrated_autocorr_time(shifted) == pytest.approx(integrated_autocorr_time(x), rel=1e-9)


def test_effective_sample_size_is_total_samples_over_tau():
    x = ar1_chains(0.8, 20_000, 4, np.random.default_rng(SEED))
    assert effective_sample_size(x) == pytest.approx(x.size / integrated_autocorr_time(x), rel=1e-15)
    # tau = 9: n_eff ~ 80000 / 9, sd of tau_hat ~ 9 sqrt(2 (2 * 45 + 1) / 80000) = 0.43
    assert effective_sample_size(x) == pytest.approx(x.size / 9.0, rel=SIG * 0.43 / 9)


def test_mcmc_mean_stderr_gives_unit_variance_z_scores_for_ar1_chains():
    rho, n_steps, replicates = 0.9, 16_384, 300  # n_steps ~ 860 tau
    x = ar1_chains(rho, n_steps, replicates, np.random.default_rng(SEED))
    z = np.array([mcmc_mean_estimate(x[:, r]).z(0.0) for r in range(replicates)])
    assert abs(variance_estimate(z).z(1.0)) < SIG
    assert abs(mean_estimate(z).z(0.0)) < SIG


def test_mcmc_mean_stderr_on_independent_samples_is_close_to_iid_stderr():
    x = np.random.default_rng(SEED).standard_normal((50_000, 2))
    iid = mean_estimate(x.ravel()).stderr
    # tau_hat of white noise is 1 with sd sqrt(2 (2 * 5 + 1) / N) = 0.015; the SE scales as sqrt(tau)
    assert mcmc_mean_estimate(x).stderr == pytest.approx(iid, rel=SIG * 0.015 / 2)


@pytest.mark.parametrize("bad", [[1.0], np.ones((1, 3)), np.ones((2, 2, 2)), [0.0, math.inf], [2.0, 2.0, 2.0]])
def test_chain_functions_reject_bad_chains_naming_x(bad):
    for func in (integrated_autocorr_time, effective_sample_size, mcmc_mean_estimate):
        with pytest.raises(ValueError, match=r"\bx\b"):
            func(bad)


def test_autocorr_time_rejects_nonpositive_window_constant_naming_c():
    with pytest.raises(ValueError, match=r"\bc\b"):
        integrated_autocorr_time(np.arange(10.0), c=0.0)


# --- proportions ------------------------------------------------------------

@pytest.mark.parametrize(
    "k, n, lo, hi",
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table II, method 3 (Wilson, 95%)
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_interval_matches_newcombe_1998_table(k, n, lo, hi):
    assert wilson_interval(k, n) == pytest.approx((lo, hi), abs=5e-5)


@FAST
@given(st.integers(1, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), st.floats(0.5, 0.999))
def test_wilson_endpoints_solve_score_equation(kn, level):
    k, n = kn
    z = ndtri(0.5 + level / 2)
    p_hat = k / n
    lo, hi = wilson_interval(k, n, level=level)
    assert 0.0 <= lo <= p_hat <= hi <= 1.0
    for p in (lo, hi):
        if 0.0 < p < 1.0:  # interior endpoints satisfy (p_hat - p)^2 = z^2 p (1 - p) / n
            assert (p_hat - p) ** 2 == pytest.approx(z * z * p * (1 - p) / n, rel=1e-6, abs=1e-15)


@FAST
@given(st.integers(1, 10**6), st.floats(0.5, 0.999))
def test_wilson_interval_at_zero_and_all_successes_is_z2_over_n_plus_z2(n, level):
    z2 = ndtri(0.5 + level / 2) ** 2
    assert wilson_interval(0, n, level=level) == pytest.approx((0.0, z2 / (n + z2)), rel=1e-12)
    assert wilson_interval(n, n, level=level) == pytest.approx((n / (n + z2), 1.0), rel=1e-12)


@FAST
@given(st.integers(1, 1000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.floats(0.5, 0.98), st.floats(0.001, 0.01))
def test_wilson_interval_widens_with_level(kn, level, step):
    lo1, hi1 = wilson_interval(*kn, level=level)
    lo2, hi2 = wilson_interval(*kn, level=level + step)
    assert lo2 <= lo1 and hi1 <= hi2


@pytest.mark.parametrize(
    "k, n, level, name",
    [(5, 3, 0.95, "successes"), (-1, 3, 0.95, "successes"), (1.5, 3, 0.95, "successes"),
     (0, 0, 0.95, r"\bn\b"), (1, 3.0, 0.95, r"\bn\b"), (1, 3, 1.0, "level"), (1, 3, 0.0, "level"),
     (1, 3, math.nan, "level")],
)
def test_wilson_interval_rejects_bad_input_naming_the_parameter(k, n, level, name):
    with pytest.raises(ValueError, match=name):
        wilson_interval(k, n, level=level)


@FAST
@given(st.integers(1, 10**6).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_proportion_estimate_is_k_over_n_with_binomial_stderr(kn):
    k, n = kn
    p = k / n
    assert proportion_estimate(k, n) == pytest.approx((p, math.sqrt(p * (1 - p) / n)), rel=1e-14, abs=1e-300)


@FAST
@given(st.integers(1, 10**6).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_log_proportion_stderr_is_delta_method_relative_error(kn):
    k, n = kn
    p = proportion_estimate(k, n)
    log_p = log_proportion_estimate(k, n)
    assert log_p.value == pytest.approx(math.log(k / n), rel=1e-14, abs=1e-15)
    assert log_p.stderr == pytest.approx(p.stderr / p.value, rel=1e-12, abs=1e-300)


def test_log_proportion_stderr_matches_spread_of_simulated_log_frequencies():
    p, n, replicates = 0.01, 20_000, 4000  # about 200 successes each
    k = np.random.default_rng(SEED).binomial(n, p, size=replicates)
    spread = variance_estimate(np.log(k / n))
    predicted = log_proportion_estimate(int(round(n * p)), n).stderr ** 2  # (1 - p) / (n p)
    assert abs(spread.z(predicted)) < SIG


@pytest.mark.parametrize("n", [1, 10, 10**9])
def test_log_proportion_of_zero_successes_raises_needing_one_success(n):
    with pytest.raises(ValueError, match="proportion is 0.*at least one success"):
        log_proportion_estimate(0, n)


# --- z-scores ---------------------------------------------------------------

def test_z_score_is_difference_over_stderr():
    assert z_score(Estimate(1.5, 0.25), 1.0) == pytest.approx(2.0, rel=1e-15)
    assert z_score((0.0, 2.0), 1.0) == pytest.approx(-0.5, rel=1e-15)
    np.testing.assert_allclose(z_score(Estimate(np.array([1.0, 3.0]), np.array([1.0, 0.5])), 2.0), [-1.0, 2.0])


def test_z_score_with_zero_stderr_is_zero_on_agreement_and_infinite_otherwise():
    assert z_score(Estimate(1.0, 0.0), 1.0) == 0.0
    assert z_score(Estimate(1.5, 0.0), 1.0) == math.inf
    assert z_score(Estimate(0.5, 0.0), 1.0) == -math.inf


def test_estimate_is_reexported_from_sandbox():
    from sandbox.estimate import Estimate as SandboxEstimate

    assert Estimate is SandboxEstimate
