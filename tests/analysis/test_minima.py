"""Tests for analysis.minima: probabilities that a random critical point is a minimum."""
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from analysis.minima import (
    DEAN_MAJUMDAR_THETA,
    dean_majumdar_log_p_positive_definite,
    fit_quadratic_log_p,
    goe_log_p_positive_definite,
    goe_log_p_positive_definite_table,
    log_p_min_bernoulli,
    shifted_wishart_log_p_positive_definite_edge,
)

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240611"))


def _goe_batch(rng, n, d, *, positive_diagonal=False):
    """n GOE matrices, density ~ exp(-tr H^2/2): H_ii ~ N(0, 1), H_ij = H_ji ~ N(0, 1/2).

    With ``positive_diagonal`` the diagonal is replaced by its absolute value,
    i.e. H is drawn conditionally on H_ii > 0 for all i.
    """
    rows, cols = np.triu_indices(d)
    entries = rng.standard_normal((n, rows.size)) * np.where(rows == cols, 1.0, math.sqrt(0.5))
    if positive_diagonal:
        entries[:, rows == cols] = np.abs(entries[:, rows == cols])
    h = np.empty((n, d, d))
    h[:, rows, cols] = entries
    h[:, cols, rows] = entries
    return h


def _is_positive_definite(h):
    """Batched test by Schur complements (unpivoted Cholesky); overwrites ``h``."""
    a = h
    ok = np.ones(a.shape[0], dtype=bool)
    for k in range(a.shape[1]):
        pivot = a[:, k, k]
        ok &= pivot > 0
        safe = np.where(ok, pivot, 1.0)
        col = a[:, k + 1:, k] / safe[:, None]
        a[:, k + 1:, k + 1:] -= col[:, :, None] * a[:, k, None, k + 1:]
    return ok


def _count_positive_definite(rng, n, d, *, positive_diagonal, chunk=250_000):
    hits = 0
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        hits += int(_is_positive_definite(_goe_batch(rng, m, d, positive_diagonal=positive_diagonal)).sum())
    return hits


# ----------------------------------------------------------------- Bernoulli model
def test_log_p_min_bernoulli_is_d_log_p():
    assert log_p_min_bernoulli(0.5, 10) == pytest.approx(10 * math.log(0.5), rel=1e-15)
    assert log_p_min_bernoulli(1.0, 7) == 0.0


@given(p=st.floats(1e-300, 1.0), d1=st.integers(1, 10**6), d2=st.integers(1, 10**6))
def test_log_p_min_bernoulli_is_additive_in_dimension(p, d1, d2):
    joint = log_p_min_bernoulli(p, d1 + d2)
    assert joint == pytest.approx(log_p_min_bernoulli(p, d1) + log_p_min_bernoulli(p, d2), rel=1e-12, abs=1e-300)


bad_probability = st.one_of(
    st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True),
    st.just(math.nan), st.just(math.inf), st.just(True), st.none(),
)
bad_dimension = st.one_of(
    st.integers(max_value=0), st.floats(allow_nan=True), st.just(True), st.just("3"), st.none(),
)


@given(p=bad_probability)
def test_log_p_min_bernoulli_rejects_bad_p(p):
    with pytest.raises(ValueError, match=r"^p "):
        log_p_min_bernoulli(p, 3)


@given(d=bad_dimension)
def test_dimension_arguments_reject_non_positive_integers(d):
    for func in (goe_log_p_positive_definite, dean_majumdar_log_p_positive_definite,
                 lambda d: log_p_min_bernoulli(0.5, d)):
        with pytest.raises(ValueError, match=r"^d "):
            func(d)
    with pytest.raises(ValueError, match=r"^d_max "):
        goe_log_p_positive_definite_table(d)


def test_too_low_working_precision_is_rejected():
    with pytest.raises(ValueError, match=r"^dps "):
        goe_log_p_positive_definite(30, dps=40)
    with pytest.raises(ValueError, match=r"^dps "):
        goe_log_p_positive_definite_table(30, dps=49)


# ----------------------------------------------------------------- exact GOE values
def test_goe_d1_is_log_half():
    assert goe_log_p_positive_definite(1) == pytest.approx(math.log(0.5), rel=1e-15)


def test_goe_d2_matches_closed_form_and_direct_integral():
    closed = math.log((2 - math.sqrt(2)) / 4)
    assert goe_log_p_positive_definite(2) == pytest.approx(closed, rel=1e-14)

    # Independent check from the joint density |x - y| exp(-(x^2 + y^2)/2),
    # integrating over y > x (twice that is the symmetric integral).
    def weight(y, x):
        return (y - x) * math.exp(-(x * x + y * y) / 2)

    total, _ = integrate.dblquad(weight, -np.inf, np.inf, lambda x: x, lambda x: np.inf, epsabs=1e-12)
    positive, _ = integrate.dblquad(weight, 0, np.inf, lambda x: x, lambda x: np.inf, epsabs=1e-12)
    assert math.log(positive / total) == pytest.approx(closed, rel=1e-8)


def test_goe_d3_matches_direct_monte_carlo():
    rng = np.random.default_rng([SEED, 3])
    d, n = 3, 400_000
    p = math.exp(goe_log_p_positive_definite(d))
    hits = _count_positive_definite(rng, n, d, positive_diagonal=False)
    z = (hits / n - p) / math.sqrt(p * (1 - p) / n)
    assert abs(z) < 5, (hits / n, p, z)


@pytest.mark.parametrize("d, n", [(3, 100_000), (4, 300_000), (5, 800_000), (6, 1_500_000)])
def test_goe_matches_monte_carlo_conditioned_on_positive_diagonal(d, n):
    # A positive definite matrix has a positive diagonal, and the GOE diagonal
    # is independent of the rest with P(all H_ii > 0) = 2^-d, so
    # P(H > 0) = 2^-d P(H > 0 | H_ii > 0): the same probability, 2^d more hits.
    rng = np.random.default_rng([SEED, d])
    p_cond = math.exp(goe_log_p_positive_definite(d) + d * math.log(2))
    hits = _count_positive_definite(rng, n, d, positive_diagonal=True)
    z = (hits / n - p_cond) / math.sqrt(p_cond * (1 - p_cond) / n)
    assert hits > 300 and abs(z) < 5, (hits / n, p_cond, z)


def test_goe_log_p_decreases_with_d_and_exponent_approaches_dean_majumdar_from_above():
    log_p = goe_log_p_positive_definite_table(30)
    d = np.arange(1, 31)
    assert np.all(np.diff(log_p) < 0)
    rate = -log_p / d**2
    assert np.all(np.diff(rate) < 0)
    assert np.all(rate > DEAN_MAJUMDAR_THETA)
    assert rate[-1] - DEAN_MAJUMDAR_THETA < 0.02  # 0.2876 vs 0.2747 at d = 30


def test_goe_single_values_agree_with_table():
    table = goe_log_p_positive_definite_table(12)
    singles = [goe_log_p_positive_definite(d) for d in range(1, 13)]
    np.testing.assert_allclose(singles, table, rtol=1e-13)


def test_goe_d30_is_stable_under_working_precision():
    low = goe_log_p_positive_definite(30, dps=60)
    high = goe_log_p_positive_definite(30, dps=160)
    assert low == pytest.approx(high, rel=1e-8)
    assert goe_log_p_positive_definite(30) == pytest.approx(high, rel=1e-12)


def test_dean_majumdar_is_minus_ln3_over_4_d_squared():
    assert dean_majumdar_log_p_positive_definite(10) == pytest.approx(-100 * math.log(3) / 4, rel=1e-15)
    # leading order only: the exact value is well below it at d = 30
    assert goe_log_p_positive_definite(30) < dean_majumdar_log_p_positive_definite(30) - 5


# ----------------------------------------------------------------- quadratic fit
def test_fit_recovers_exact_quadratic():
    d = np.arange(2.0, 31.0)
    fit = fit_quadratic_log_p(d, -(0.31 * d**2 + 0.4 * d - 1.5))
    np.testing.assert_allclose(fit.coefficients, [0.31, 0.4, -1.5], rtol=1e-9, atol=1e-9)
    assert fit.theta.stderr < 1e-9


def test_fit_theta_stderr_is_calibrated_on_noisy_synthetic_data():
    rng = np.random.default_rng([SEED, 99])
    d = np.arange(5.0, 41.0)
    sigma = 0.5 + 0.05 * d
    truth = 0.2747 * d**2 + 0.38 * d + 0.7
    z_weighted, z_ols = [], []
    for _ in range(400):
        y = truth + sigma * rng.standard_normal(d.size)
        z_weighted.append(fit_quadratic_log_p(d, -y, stderr=sigma).theta.z(0.2747))
        y = truth + 0.8 * rng.standard_normal(d.size)
        z_ols.append(fit_quadratic_log_p(d, -y).theta.z(0.2747))
    for z in (np.array(z_weighted), np.array(z_ols)):
        assert abs(z.mean()) < 5 / math.sqrt(z.size)
        assert abs(z.std() - 1) < 5 / math.sqrt(2 * z.size)


def test_fit_to_exact_goe_values_recovers_ln3_over_4():
    d = np.arange(10, 41)
    fit = fit_quadratic_log_p(d, goe_log_p_positive_definite_table(40)[9:])
    # With the O(d) term fitted, theta = 0.27461 vs ln(3)/4 = 0.27465; the
    # remaining gap is the bias from higher-order (log d) terms.
    assert abs(fit.theta.value - DEAN_MAJUMDAR_THETA) < 1e-3
    assert 0.3 < fit.coefficients[1] < 0.5  # the large O(d) correction, about 0.39


def test_fit_rejects_bad_input():
    d = np.arange(1.0, 6.0)
    with pytest.raises(ValueError, match=r"^log_p "):
        fit_quadratic_log_p(d, np.ones(4))
    with pytest.raises(ValueError, match=r"^log_p "):
        fit_quadratic_log_p(d, [0, 1, np.nan, 3, 4])
    with pytest.raises(ValueError, match=r"^stderr "):
        fit_quadratic_log_p(d, -d, stderr=np.zeros(5))
    with pytest.raises(ValueError, match=r"^d "):
        fit_quadratic_log_p([1.0, 1.0, 2.0, 2.0], -np.ones(4))
    with pytest.raises(ValueError, match=r"^d "):
        fit_quadratic_log_p([1.0, 2.0, 3.0], -np.ones(3))


# ----------------------------------------------------------------- shifted Wishart
def test_wishart_edge_location_and_regimes():
    res = shifted_wishart_log_p_positive_definite_edge(0.25, 0.1, variance=2.0)
    assert res.edge == pytest.approx(2.0 * 0.25)
    assert (res.regime, res.log_p_limit) == ("below_edge", 0.0)
    res = shifted_wishart_log_p_positive_definite_edge(0.25, 0.6, variance=2.0)
    assert (res.regime, res.log_p_limit) == ("above_edge", -math.inf)
    assert math.isnan(shifted_wishart_log_p_positive_definite_edge(0.25, 0.25).log_p_limit)
    assert shifted_wishart_log_p_positive_definite_edge(4.0, 0.0) == (0.0, "at_edge", -math.inf)
    assert shifted_wishart_log_p_positive_definite_edge(4.0, -0.1).log_p_limit == 0.0


def test_wishart_positive_definiteness_switches_at_edge():
    rng = np.random.default_rng([SEED, 7])
    d, n, variance = 200, 800, 1.5
    edge = shifted_wishart_log_p_positive_definite_edge(d / n, 0.0, variance=variance).edge
    x = math.sqrt(variance) * rng.standard_normal((10, n, d))
    smallest = np.linalg.eigvalsh(np.swapaxes(x, 1, 2) @ x / n)[:, 0]
    # Tracy-Widom fluctuations are ~0.01 here; 0.08 either side is far outside them.
    assert np.all(smallest > edge - 0.08)
    assert np.all(smallest < edge + 0.08)


@given(ratio=st.one_of(st.floats(max_value=0.0), st.just(math.nan), st.just(math.inf)))
@settings(max_examples=30)
def test_wishart_rejects_bad_ratio(ratio):
    with pytest.raises(ValueError, match=r"^ratio "):
        shifted_wishart_log_p_positive_definite_edge(ratio, 0.1)


def test_wishart_rejects_bad_shift_and_variance():
    with pytest.raises(ValueError, match=r"^shift "):
        shifted_wishart_log_p_positive_definite_edge(0.5, math.nan)
    with pytest.raises(ValueError, match=r"^variance "):
        shifted_wishart_log_p_positive_definite_edge(0.5, 0.1, variance=0.0)
