"""Tests of the singular-volume and random-spectrum closed forms in analysis.volume.

Normal-crossing volumes are checked against elementary formulas, 1-d
quadrature (the slicing recursion) and Monte Carlo hit-or-miss; the DOS fit
against exact curves; the random-spectrum predictions (claim C4) against
simulation with z-scores below ``SIG``. The seed is fixed and
``SANDBOX_TEST_SEED`` overrides it.
"""
import math
import os

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from analysis.stats import mean_estimate, variance_estimate
from analysis.strategies import normal_crossing_exponents
from analysis.volume import (
    LogMoments,
    fit_volume_exponent,
    flattest_volume_fraction,
    log_normal_crossing_volume,
    log_volume_ratio,
    log_volume_ratio_moments,
    marchenko_pastur_log_moments,
    normal_crossing_rlct,
    predicted_flattest_fraction,
)
from models.spectra import marchenko_pastur

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240615"))
SIG = 5.0
FAST = settings(max_examples=30, deadline=None)
exponent_lists = normal_crossing_exponents(st.integers(1, 4), max_exponent=4)


def _rng(offset):
    return np.random.default_rng([SEED, offset])


# --- normal crossing: exact volume --------------------------------------------

@pytest.mark.parametrize("m", [1, 2, 3, 5])
@pytest.mark.parametrize("eps", [0.7, 1e-3, 1e-40, 1e-300])
def test_equal_exponents_one_match_t_sum_log_formula(m, eps):
    # vol{v in [0,1]^m : prod v_i <= t} = t sum_{j<m} log(1/t)^j / j!, with v_i = |w_i| and t = sqrt(eps)
    t = math.sqrt(eps)
    volume = 2**m * t * sum(math.log(1 / t) ** j / math.factorial(j) for j in range(m))
    assert log_normal_crossing_volume(eps, [1] * m) == pytest.approx(math.log(volume), rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("k", [1, 2, 5])
@pytest.mark.parametrize("half_width", [0.3, 1.0, 2.5])
def test_one_dimensional_case_is_the_interval_length(k, half_width):
    # {w^(2k) <= eps} in [-a, a] is the interval |w| <= eps^(1/(2k)): length 2 min(a, eps^(1/(2k)))
    for eps in (1e-12, 1e-3, 0.2, 5.0):
        length = 2 * min(half_width, eps ** (1 / (2 * k)))
        assert log_normal_crossing_volume(eps, [k], half_width=half_width) == pytest.approx(
            math.log(length), rel=1e-13, abs=1e-13)
    assert log_normal_crossing_volume(1e-6, [1]) == pytest.approx(math.log(2 * math.sqrt(1e-6)), rel=1e-14)


def test_one_two_crossing_matches_hand_integral():
    # int_{-1}^{1} 2 min(1, (eps / w^2)^(1/4)) dw = 8 eps^(1/4) - 4 eps^(1/2)
    for eps in (0.5, 1e-3, 1e-100):
        expected = 8 * eps**0.25 - 4 * eps**0.5
        assert log_normal_crossing_volume(eps, [1, 2]) == pytest.approx(math.log(expected), rel=1e-13)


@pytest.mark.parametrize("exponents", [(1, 1), (1, 2), (2, 2, 1), (3, 1, 1), (1, 2, 3)])
@pytest.mark.parametrize("half_width", [1.0, 1.7])
def test_volume_obeys_slicing_recursion_by_quadrature(exponents, half_width):
    # V_k(eps) = int_{-a}^{a} V_rest(eps / w^(2 k_1)) dw; with the exact 1-d case this is an induction.
    k1, rest = exponents[0], exponents[1:]
    a = half_width
    full = (2 * a) ** len(rest)
    k_rest = sum(rest)
    for eps in (1e-2, 1e-8):
        def slice_volume(w):
            if w == 0.0:
                return full
            log_level = math.log(eps) - 2 * k1 * math.log(abs(w))
            if log_level >= 2 * k_rest * math.log(a):
                return full
            return math.exp(log_normal_crossing_volume(None, rest, half_width=a, log_eps=log_level))

        kink = min(a, (eps / a ** (2 * k_rest)) ** (1 / (2 * k1)))  # where the slice stops being full
        integral = 2 * (quad(slice_volume, 0, kink, epsabs=0, epsrel=1e-12)[0]
                        + quad(slice_volume, kink, a, epsabs=0, epsrel=1e-12, limit=200)[0])
        assert log_normal_crossing_volume(eps, exponents, half_width=a) == pytest.approx(
            math.log(integral), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    "exponents, eps",
    [((1,), 0.04), ((1, 1), 1e-2), ((1, 1, 1), 1e-3), ((1, 2), 1e-3), ((2, 2, 1), 1e-6)],
)
def test_volume_matches_monte_carlo_hit_or_miss(exponents, eps):
    n = 400_000
    w = _rng(1).uniform(-1.0, 1.0, size=(n, len(exponents)))
    hits = np.prod(w ** (2 * np.asarray(exponents)), axis=1) <= eps
    p = hits.mean()
    predicted = math.exp(log_normal_crossing_volume(eps, exponents)) / 2 ** len(exponents)
    assert 0.01 < predicted < 0.9  # a meaningful test: enough hits and misses
    z = (p - predicted) / math.sqrt(predicted * (1 - predicted) / n)
    assert abs(z) < SIG


def test_small_eps_asymptote_has_rlct_exponent_and_constant():
    # (1, 1): V = 4 sqrt(eps) (1 + L/2) ~ 2 sqrt(eps) L; (1, 2): V ~ 8 eps^(1/4); L = log(1/eps)
    L = 1e6
    assert log_normal_crossing_volume(None, [1, 1], log_eps=-L) == pytest.approx(
        -0.5 * L + math.log(2 * L) + math.log1p(2 / L), rel=1e-14)
    assert log_normal_crossing_volume(None, [1, 2], log_eps=-L) == pytest.approx(-0.25 * L + math.log(8.0), rel=1e-14)
    # a general case: log V - lambda log eps - (m-1) log log(1/eps) tends to a constant
    lam, m = normal_crossing_rlct([2, 1, 2, 3, 3])
    assert (lam, m) == (1 / 6, 2)
    rest = [log_normal_crossing_volume(None, [2, 1, 2, 3, 3], log_eps=-x) - lam * -x - (m - 1) * math.log(x)
            for x in (1e5, 1e7)]
    assert rest[0] == pytest.approx(rest[1], abs=1e-3)


def test_rlct_of_basic_cases():
    assert normal_crossing_rlct([1]) == (0.5, 1)
    assert normal_crossing_rlct([1, 1]) == (0.5, 2)
    assert normal_crossing_rlct([1, 1, 1]) == (0.5, 3)
    assert normal_crossing_rlct([1, 2]) == (0.25, 1)
    assert normal_crossing_rlct([2, 2, 1]) == (0.25, 2)


def test_volume_accepts_arrays_and_log_eps_gives_the_same_numbers():
    eps = np.array([[1e-10, 1e-3], [0.5, 2.0]])
    out = log_normal_crossing_volume(eps, [1, 2, 2], half_width=1.2)
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out, log_normal_crossing_volume(None, [1, 2, 2], half_width=1.2, log_eps=np.log(eps)),
                               rtol=1e-14)
    assert isinstance(log_normal_crossing_volume(1e-3, [1]), float)


@FAST
@given(exponents=exponent_lists, x=st.floats(-700.0, 5.0), dx=st.floats(1e-6, 50.0),
       half_width=st.floats(0.2, 3.0))
def test_hypothesis_volume_is_monotone_in_eps(exponents, x, dx, half_width):
    lo = log_normal_crossing_volume(None, exponents, half_width=half_width, log_eps=x)
    hi = log_normal_crossing_volume(None, exponents, half_width=half_width, log_eps=x + dx)
    assert lo <= hi + 1e-12 * max(1.0, abs(hi))
    assert hi <= len(exponents) * math.log(2 * half_width) + 1e-12


@FAST
@given(exponents=exponent_lists, half_width=st.floats(0.2, 3.0), excess=st.floats(0.0, 100.0))
def test_hypothesis_volume_is_the_full_box_above_the_box_maximum(exponents, half_width, excess):
    top = 2 * sum(exponents) * math.log(half_width)  # log max of prod w_i^(2k_i) on the box
    full = len(exponents) * math.log(2 * half_width)
    assert log_normal_crossing_volume(None, exponents, half_width=half_width, log_eps=top + excess) == pytest.approx(full, abs=1e-12)
    if 2.0 ** (-1000) < math.exp(top + excess) < 1e300:
        assert log_normal_crossing_volume(math.exp(top + excess) * (1 + 1e-12), exponents,
                                          half_width=half_width) == pytest.approx(full, abs=1e-12)


@FAST
@given(bad=st.one_of(st.floats(max_value=0.0), st.just(math.nan), st.just(math.inf)))
def test_hypothesis_bad_eps_raises_naming_eps(bad):
    with pytest.raises(ValueError, match="eps"):
        log_normal_crossing_volume(bad, [1, 1])


@FAST
@given(bad=st.one_of(st.integers(max_value=0), st.floats(0.1, 9.9).filter(lambda v: not v.is_integer()),
                     st.just(math.nan)))
def test_hypothesis_bad_exponent_raises_naming_exponents(bad):
    with pytest.raises(ValueError, match="exponents"):
        log_normal_crossing_volume(1e-3, [1, bad])
    with pytest.raises(ValueError, match="exponents"):
        normal_crossing_rlct([bad])


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan])
def test_bad_half_width_raises_naming_half_width(bad):
    with pytest.raises(ValueError, match="half_width"):
        log_normal_crossing_volume(1e-3, [1], half_width=bad)


def test_eps_and_log_eps_are_exclusive():
    with pytest.raises(ValueError, match="log_eps"):
        log_normal_crossing_volume(1e-3, [1], log_eps=-3.0)
    with pytest.raises(ValueError, match="log_eps"):
        log_normal_crossing_volume(None, [1])


# --- fitting the volume exponent ----------------------------------------------

EPS_MIN, EPS_MAX = 1e-300, 1e-100


@pytest.mark.parametrize("exponents, lam, m_minus_1", [((1, 1), 0.5, 1), ((1, 1, 1), 0.5, 2), ((1, 2), 0.25, 0),
                                                        ((2, 2, 1), 0.25, 1)])
def test_fit_recovers_rlct_from_exact_curves_and_power_law_is_biased_low(exponents, lam, m_minus_1):
    eps = np.logspace(-300, -100, 80)
    dos = (eps, log_normal_crossing_volume(eps, exponents), np.full(eps.size, 0.01))
    fit = fit_volume_exponent(dos, eps_min=EPS_MIN, eps_max=EPS_MAX)
    assert fit.n_points == 80
    # the neglected terms are O(1/log(1/eps)) <= 1/230 relative: small, and far smaller than the power-law bias
    assert fit.lam.value == pytest.approx(lam, abs=1e-4)
    assert fit.m_minus_1.value == pytest.approx(m_minus_1, abs=0.03)
    bias = lam - fit.power_law_only.value
    if m_minus_1 == 0:
        assert abs(bias) < 1e-6
    else:
        # the local slope is lam - (m-1)/log(1/eps): the bias lies between its values at the window's ends
        assert m_minus_1 / math.log(1 / EPS_MIN) < bias < m_minus_1 / math.log(1 / EPS_MAX)
        assert bias > 20 * abs(fit.lam.value - lam)


class _DOS:
    def __init__(self, eps, log_volume, stderr):
        self.eps, self.log_volume, self.stderr = eps, log_volume, stderr


def test_fit_accepts_an_object_with_attributes_and_selects_the_window():
    eps = np.logspace(-300, -1, 120)
    lv = log_normal_crossing_volume(eps, [1, 1])
    fit = fit_volume_exponent(_DOS(eps, lv, np.full(eps.size, 0.1)), eps_min=1e-250, eps_max=1e-50)
    assert fit.n_points == int(np.sum((eps >= 1e-250) & (eps <= 1e-50)))
    assert fit.lam.value == pytest.approx(0.5, abs=2e-4)


def test_cumulative_errors_give_calibrated_z_scores_and_independent_ones_do_not():
    # nested-sampling-like DOS: the error of log V is a random walk as eps decreases
    eps = np.logspace(-20, -200, 60)
    truth = log_normal_crossing_volume(eps, [1, 2])
    step = 0.05
    se = step * np.sqrt(np.arange(1, eps.size + 1))
    rng = _rng(2)
    z = {"independent": [], "cumulative": []}
    for _ in range(400):
        noisy = truth + np.cumsum(rng.normal(0.0, step, size=eps.size))
        for errors in z:
            fit = fit_volume_exponent((eps, noisy, se), eps_min=1e-200, eps_max=1e-20, errors=errors)
            z[errors].append(fit.lam.z(0.25))
    z_cum, z_ind = np.asarray(z["cumulative"]), np.asarray(z["independent"])
    # std of 400 standard normals: 1 +- 0.035; the WLS errors are several times too small
    assert 0.85 < z_cum.std() < 1.15
    assert abs(z_cum.mean()) < 5 / math.sqrt(400)
    assert z_ind.std() > 2.0


@pytest.mark.parametrize(
    "kwargs, name",
    [(dict(eps_min=1e-10, eps_max=1.0), "eps_max"), (dict(eps_min=1e-10, eps_max=2.0), "eps_max"),
     (dict(eps_min=1e-3, eps_max=1e-5), "eps_min"), (dict(eps_min=0.0, eps_max=1e-3), "eps_min"),
     (dict(eps_min=1e-5, eps_max=1.1e-5), "at least 4"), (dict(eps_min=1e-10, eps_max=1e-2, errors="wls"), "errors")],
)
def test_fit_rejects_bad_windows_naming_the_parameter(kwargs, name):
    eps = np.logspace(-10, -1, 20)
    dos = (eps, log_normal_crossing_volume(eps, [1, 1]), np.full(20, 0.1))
    with pytest.raises(ValueError, match=name):
        fit_volume_exponent(dos, **kwargs)


@FAST
@given(bad_index=st.integers(0, 9), which=st.sampled_from(["eps", "log_volume", "stderr"]),
       bad=st.sampled_from([math.nan, math.inf, 0.0, -1.0]))
def test_hypothesis_fit_rejects_bad_dos_arrays_naming_them(bad_index, which, bad):
    arrays = {"eps": np.logspace(-10, -1, 10), "log_volume": np.linspace(-5, -1, 10), "stderr": np.full(10, 0.1)}
    if which == "log_volume" and math.isfinite(bad):
        return  # any finite log volume is valid
    arrays[which][bad_index] = bad
    with pytest.raises(ValueError, match=f"dos.{which}"):
        fit_volume_exponent((arrays["eps"], arrays["log_volume"], arrays["stderr"]), eps_min=1e-10, eps_max=0.5)


def test_fit_rejects_a_dos_of_the_wrong_kind_and_cumulative_needs_growing_errors():
    with pytest.raises(ValueError, match="dos"):
        fit_volume_exponent((np.ones(3), np.ones(3)), eps_min=1e-3, eps_max=0.5)
    eps = np.logspace(-10, -1, 10)
    with pytest.raises(ValueError, match="dos.stderr"):
        fit_volume_exponent((eps, np.zeros(10), np.full(10, 0.1)), eps_min=1e-10, eps_max=0.5, errors="cumulative")


# --- random spectra: log-normal volume ratios (claim C4) ----------------------

@pytest.mark.parametrize("ratio", [0.05, 0.3, 0.7, 0.99, 1.0])
@pytest.mark.parametrize("variance", [1.0, 2.5])
def test_marchenko_pastur_log_moments_match_quadrature_in_x(ratio, variance):
    # independent check: QUADPACK's algebraic-weight rule on the MP density in x (edges handled by the weight)
    mp = marchenko_pastur(ratio, variance)
    a, b = mp.lower, mp.upper
    norm = 2 * math.pi * variance * ratio

    def expect(f):
        return quad(lambda x: f(x) / (norm * x), a, b, weight="alg", wvar=(0.5, 0.5), epsabs=1e-13, limit=400)[0]

    mom = marchenko_pastur_log_moments(ratio, variance)
    if ratio < 1:  # at ratio = 1 the 1/x density pole at the lower edge a = 0 defeats this check
        assert expect(lambda x: 1.0) == pytest.approx(1.0, abs=1e-10)
        assert mom.mean == pytest.approx(expect(math.log), abs=1e-9)
        assert mom.variance == pytest.approx(expect(lambda x: (math.log(x) - mom.mean) ** 2), rel=1e-8)
    closed = math.log(variance) - 1 + ((ratio - 1) / ratio * math.log1p(-ratio) if ratio < 1 else 0.0)
    assert mom.mean == pytest.approx(closed, rel=1e-15, abs=1e-15)


def test_marchenko_pastur_log_moments_match_samples():
    mp = marchenko_pastur(0.4, 1.5)
    logs = np.log(mp.rvs(size=50_000, random_state=_rng(3)))
    mom = marchenko_pastur_log_moments(0.4, 1.5)
    assert abs(mean_estimate(logs).z(mom.mean)) < SIG
    assert abs(variance_estimate(logs).z(mom.variance)) < SIG


@pytest.mark.parametrize("bad, name", [(1.5, "ratio"), (0.0, "ratio"), (math.nan, "ratio")])
def test_marchenko_pastur_log_moments_reject_bad_ratio(bad, name):
    with pytest.raises(ValueError, match=name):
        marchenko_pastur_log_moments(bad)


def test_log_ratio_moments_for_identical_laws_are_zero_mean_and_half_d_var():
    mom = marchenko_pastur_log_moments(0.3)
    pred = log_volume_ratio_moments(marchenko_pastur(0.3), 40)
    assert pred.mean == 0.0
    assert pred.variance == pytest.approx(20 * mom.variance, rel=1e-14)


@pytest.mark.parametrize("law_b_args", [None, (0.6, 2.0)])
def test_log_ratio_moments_match_simulation_with_mp_eigenvalues(law_b_args):
    d, reps = 30, 2000
    law_a = marchenko_pastur(0.3)
    law_b = None if law_b_args is None else marchenko_pastur(*law_b_args)
    rng = _rng(4)
    lam_a = law_a.rvs(size=(reps, d), random_state=rng)
    lam_b = (law_a if law_b is None else law_b).rvs(size=(reps, d), random_state=rng)
    samples = 0.5 * np.sum(np.log(lam_b) - np.log(lam_a), axis=1)
    assert samples[0] == pytest.approx(log_volume_ratio(lam_a[0], lam_b[0]), rel=1e-12)
    pred = log_volume_ratio_moments(law_a, d, law_b=law_b)
    assert abs(mean_estimate(samples).z(pred.mean)) < SIG
    assert abs(variance_estimate(samples).z(pred.variance)) < SIG
    # near log-normal: the standardised sum passes a KS test against N(0, 1)
    std = (samples - pred.mean) / math.sqrt(pred.variance)
    assert scipy.stats.kstest(std, "norm").pvalue > 1e-4
    if law_b is not None:
        assert pred.mean == pytest.approx(0.5 * d * (marchenko_pastur_log_moments(0.6, 2.0).mean
                                                     - marchenko_pastur_log_moments(0.3).mean), rel=1e-14)


def test_log_ratio_moments_accept_scipy_laws_pairs_and_expectation_callables():
    lognormal = scipy.stats.lognorm(s=0.7, scale=math.exp(0.2))
    via_expect = log_volume_ratio_moments(lognormal, 10, law_b=scipy.stats.lognorm(s=0.3, scale=1.0))
    assert via_expect.mean == pytest.approx(5 * (0.0 - 0.2), abs=1e-8)
    assert via_expect.variance == pytest.approx(2.5 * (0.49 + 0.09), rel=1e-7)
    via_pair = log_volume_ratio_moments((0.2, 0.49), 10, law_b=LogMoments(0.0, 0.09))
    assert via_pair.mean == pytest.approx(via_expect.mean, abs=1e-8)
    gamma = scipy.stats.gamma(3.0)
    via_callable = log_volume_ratio_moments(lambda f: gamma.expect(f), 6)
    assert via_callable.mean == 0.0
    assert via_callable.variance == pytest.approx(3 * float(scipy.special.polygamma(1, 3.0)), rel=1e-7)
    ratio_law = via_pair.lognormal()
    assert ratio_law.median() == pytest.approx(math.exp(via_pair.mean), rel=1e-12)


@pytest.mark.parametrize(
    "law, name",
    [(marchenko_pastur(2.0), "law"), (scipy.stats.norm(), "law"), ("mp", "law"), ((0.0, -1.0), "law")],
)
def test_log_ratio_moments_reject_bad_laws_naming_law(law, name):
    with pytest.raises(ValueError, match=name):
        log_volume_ratio_moments(law, 5)
    with pytest.raises(ValueError, match="law_b"):
        log_volume_ratio_moments((0.0, 1.0), 5, law_b=law)


@FAST
@given(d=st.one_of(st.integers(max_value=0), st.floats(0.5, 9.5)))
def test_hypothesis_log_ratio_moments_reject_bad_d(d):
    with pytest.raises(ValueError, match=r"\bd\b"):
        log_volume_ratio_moments((0.0, 1.0), d)


# --- the flattest few hold most of the volume ---------------------------------

def test_flattest_fraction_by_hand_and_in_log_space():
    assert flattest_volume_fraction([math.log(3.0), 0.0, 0.0], 1) == pytest.approx(0.6, rel=1e-14)
    assert flattest_volume_fraction([0.0, math.log(3.0), 0.0], 3) == 1.0
    # volumes exp(-1e5 + ...) would all underflow to 0 outside log space
    assert flattest_volume_fraction([-1e5 + math.log(2.0), -1e5, -1e5 - 50.0], 1) == pytest.approx(2 / 3, rel=1e-12)
    batch = flattest_volume_fraction([[0.0, 0.0], [math.log(4.0), 0.0]], 1)
    np.testing.assert_allclose(batch, [0.5, 0.8], rtol=1e-14)


@pytest.mark.parametrize("k, n, std", [(1, 10, 1.0), (5, 100, 2.0), (1, 300, 4.0), (3, 20, 0.5)])
def test_predicted_flattest_fraction_matches_simulation(k, n, std):
    trials = 20_000
    logv = _rng(5 + k + n).normal(3.0, std, size=(trials, n))
    measured = mean_estimate(flattest_volume_fraction(logv, k))
    predicted = predicted_flattest_fraction(k, n, std=std, mean=3.0)
    assert abs(measured.z(predicted)) < SIG
    assert k / n < predicted < 1.0


def test_predicted_flattest_fraction_limits():
    assert predicted_flattest_fraction(3, 7, std=0.0) == pytest.approx(3 / 7, rel=1e-15)
    assert predicted_flattest_fraction(7, 7, std=2.0) == 1.0
    assert predicted_flattest_fraction(1, 1, std=5.0) == 1.0
    # k = n - 1 of n = 2: E[max / sum] of two volumes; the mean cancels
    two = predicted_flattest_fraction(1, 2, std=1.0)
    assert two == pytest.approx(predicted_flattest_fraction(1, 2, std=1.0, mean=-50.0), abs=1e-12)
    # independent 1-d check: X1 - X2 ~ N(0, 2 std^2), E[max/sum] = E[1 / (1 + exp(-|D|))]
    exact = quad(lambda t: 2 * scipy.stats.norm.pdf(t, scale=math.sqrt(2)) / (1 + math.exp(-t)), 0, 40,
                 epsabs=1e-13)[0]
    assert two == pytest.approx(exact, abs=1e-7)
    # the flattest few dominate as the spread grows
    fractions = [predicted_flattest_fraction(1, 100, std=s) for s in (0.5, 2.0, 6.0)]
    assert fractions[0] < fractions[1] < fractions[2]


@FAST
@given(k=st.integers(-3, 12), n=st.integers(-3, 10), std=st.floats(-2.0, 3.0))
def test_hypothesis_flattest_functions_reject_bad_k_n_std(k, n, std):
    if 1 <= n and 1 <= k <= n and std >= 0:
        return
    name = r"\bn\b" if n < 1 else (r"\bk\b" if not 1 <= k <= n else "std")
    with pytest.raises(ValueError, match=name):
        predicted_flattest_fraction(k, n, std=std)
    if n >= 1 and not 1 <= k <= n:
        with pytest.raises(ValueError, match=r"\bk\b"):
            flattest_volume_fraction(np.zeros(n), k)


def test_flattest_fraction_rejects_nan_naming_log_volumes():
    with pytest.raises(ValueError, match="log_volumes"):
        flattest_volume_fraction([0.0, math.nan], 1)
    with pytest.raises(ValueError, match="log_volumes"):
        flattest_volume_fraction(1.0, 1)
