"""Manifolds of minima: the Gibbs law along the ellipse of minima, and label-noise SGD along u v = 1."""
import doctest

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.integrate import quad

import analysis.manifold
from analysis.manifold import (ellipse_arc_length_bin_probabilities, ellipse_gibbs_bin_probabilities,
                               ellipse_landscape, ellipse_limit_bin_probabilities, ellipse_limit_density,
                               gd_balance, gradient_flow_balance, label_noise_drift)

SEED = 20240610


def _geometric_density(theta, a, b):
    """(ds/dtheta) / |grad g| at polar angle theta, from the parametrisation (a cos phi, b sin phi)."""
    phi = np.arctan2(a * np.sin(theta), b * np.cos(theta))
    x, y = a * np.cos(phi), b * np.sin(phi)
    ds_dphi = np.hypot(a * np.sin(phi), b * np.cos(phi))
    dtheta_dphi = a * b / (x * x + y * y)          # d/dphi atan2(b sin phi, a cos phi)
    grad_g = 2 * np.hypot(x / a ** 2, y / b ** 2)
    return ds_dphi / dtheta_dphi / grad_g


# --- the ellipse of minima ---------------------------------------------------------------------------

@pytest.mark.parametrize("a, b", [(2.0, 1.0), (1.0, 3.0), (1.5, 1.5)])
def test_limit_density_is_arc_length_over_grad_g_and_integrates_to_one(a, b):
    total = quad(lambda th: ellipse_limit_density(th, a, b), 0, 2 * np.pi, epsabs=0, epsrel=1e-13)[0]
    assert total == pytest.approx(1.0, rel=1e-12)
    norm = quad(lambda th: _geometric_density(th, a, b), 0, 2 * np.pi, epsabs=0, epsrel=1e-13)[0]
    theta = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(ellipse_limit_density(theta, a, b), _geometric_density(theta, a, b) / norm,
                               rtol=1e-12)


@settings(max_examples=30)
@given(st.floats(0.3, 3.0), st.floats(0.3, 3.0), st.floats(-np.pi, np.pi), st.integers(1, 12))
def test_limit_bins_integrate_the_density_and_sum_to_one(a, b, start, n_bins):
    edges = start + np.linspace(0, 2 * np.pi, n_bins + 1)
    p = ellipse_limit_bin_probabilities(edges, a, b)
    assert p.sum() == pytest.approx(1.0, rel=1e-12)
    first = quad(lambda th: ellipse_limit_density(th, a, b), edges[0], edges[1], epsabs=1e-14, epsrel=1e-12)[0]
    assert p[0] == pytest.approx(first, rel=1e-9, abs=1e-13)


def test_limit_law_is_uniform_only_for_a_circle():
    edges = np.linspace(0, 2 * np.pi, 9)
    np.testing.assert_allclose(ellipse_limit_bin_probabilities(edges, 1.3, 1.3), 1 / 8, rtol=1e-13)
    np.testing.assert_allclose(ellipse_arc_length_bin_probabilities(edges, 1.3, 1.3), 1 / 8, rtol=1e-13)
    p = ellipse_limit_bin_probabilities(edges, 2.0, 1.0)
    assert p.max() / p.min() > 2


def test_arc_length_law_integrates_ds_and_differs_from_the_gibbs_limit():
    a, b = 2.0, 1.0
    edges = np.linspace(-np.pi, np.pi, 13)
    p = ellipse_arc_length_bin_probabilities(edges, a, b)
    assert p.sum() == pytest.approx(1.0, rel=1e-13)
    ds = lambda th: _geometric_density(th, a, b) * 2 * np.hypot(*_point_over_ab2(th, a, b))  # noqa: E731
    lengths = [quad(ds, lo, hi, epsabs=0, epsrel=1e-12)[0] for lo, hi in zip(edges[:-1], edges[1:])]
    np.testing.assert_allclose(p, np.array(lengths) / np.sum(lengths), rtol=1e-9)
    gibbs = ellipse_limit_bin_probabilities(edges, a, b)
    assert np.abs(gibbs - p).max() > 0.02        # the essay's uniform law is not the Gibbs limit


def _point_over_ab2(theta, a, b):
    phi = np.arctan2(a * np.sin(theta), b * np.cos(theta))
    return a * np.cos(phi) / a ** 2, b * np.sin(phi) / b ** 2


@pytest.mark.parametrize("t", [1.0, 0.1, 0.01, 0.001])
def test_finite_temperature_bins_equal_the_limit_law_at_every_temperature(t):
    # L depends on (r, theta) only through r^2 q(theta), so the theta-marginal does not depend on T
    edges = np.linspace(-np.pi, np.pi, 13)
    r = ellipse_gibbs_bin_probabilities(edges, 2.0, 1.0, t)
    np.testing.assert_allclose(r.probabilities, ellipse_limit_bin_probabilities(edges, 2.0, 1.0), rtol=1e-10)
    assert r.error.max() < 1e-12


def test_ellipse_landscape_vanishes_on_the_ellipse():
    phi = np.linspace(0, 2 * np.pi, 7)
    pts = np.stack([2.0 * np.cos(phi), 1.0 * np.sin(phi)], axis=1)
    np.testing.assert_allclose(ellipse_landscape(2.0, 1.0).value(pts), 0.0, atol=1e-15)


# --- label-noise SGD on 1/2 (u v - y)^2 -------------------------------------------------------------

def _simulate(d0, eta, sigma, n_steps, n_chains, seed, record):
    rng = np.random.default_rng(seed)
    u = np.full(n_chains, np.sqrt((d0 + np.sqrt(d0 * d0 + 4)) / 2))
    v = 1 / u
    out = {}
    for k in range(n_steps + 1):
        if k in record:
            out[k] = u * u - v * v
        e = u * v - 1 - sigma * rng.standard_normal(n_chains)
        u, v = u - eta * e * v, v - eta * e * u
    return out


@pytest.mark.parametrize("eta, sigma, d0, n_steps", [(0.05, 0.5, 3.0, 2000), (0.1, 0.3, 2.0, 3000),
                                                     (0.02, 0.5, -3.0, 4000)])
def test_label_noise_drift_matches_simulated_chains(eta, sigma, d0, n_steps):
    record = [n_steps // 4, n_steps // 2, n_steps]
    sim = _simulate(d0, eta, sigma, n_steps, 4000, SEED, record)
    predicted = label_noise_drift(d0, eta, sigma, n_steps)
    leading = label_noise_drift(d0, eta, sigma, n_steps, correction=False)
    for k in record:
        mean, se = sim[k].mean(), sim[k].std(ddof=1) / np.sqrt(sim[k].size)
        assert abs(mean - predicted[k]) < 5 * se, (k, mean, predicted[k], se)
    k = n_steps // 2
    se = sim[k].std(ddof=1) / np.sqrt(sim[k].size)
    assert abs(sim[k].mean() - leading[k]) > 10 * se      # eta tr H is not small here: the factor 2/(2 - eta s) shows


def test_one_sgd_step_multiplies_d_by_one_minus_eta2_e2():
    rng = np.random.default_rng(SEED)
    u, v, y = rng.normal(size=(3, 100)) + [[1.0], [0.5], [1.0]]
    eta = 0.07
    e = u * v - y
    u2, v2 = u - eta * e * v, v - eta * e * u
    np.testing.assert_allclose(u2 ** 2 - v2 ** 2, (u * u - v * v) * (1 - eta ** 2 * e ** 2), rtol=1e-12, atol=1e-14)


def test_leading_order_is_the_small_step_limit_at_fixed_manifold_time():
    d0, sigma, tau = 3.0, 0.5, 0.5
    gaps = []
    for eta in (0.02, 0.01, 0.005):
        n = int(round(tau / (eta * sigma) ** 2))
        gaps.append(abs(np.log(label_noise_drift(d0, eta, sigma, n)[-1] / (d0 * np.exp(-tau)))))
    assert gaps[-1] < 0.01
    assert 1.8 < gaps[0] / gaps[1] < 2.2 and 1.8 < gaps[1] / gaps[2] < 2.2     # O(eta)


@settings(max_examples=20)
@given(st.floats(0.2, 5.0))
def test_manifold_flow_is_minus_a_quarter_riemannian_gradient_of_trace_h(u):
    v = 1 / u
    s = u * u + v * v
    tangent = np.array([u, -v]) / np.sqrt(s)               # the normal of u v = 1 is (v, u)
    grad_trace = np.array([2 * u, 2 * v])                  # tr H = u^2 + v^2
    velocity = -0.25 * (grad_trace @ tangent) * tangent
    d_dot = 2 * u * velocity[0] - 2 * v * velocity[1]
    assert d_dot == pytest.approx(-(u * u - v * v), rel=1e-12, abs=1e-12)


def test_gd_balance_matches_gradient_descent_and_tends_to_conservation():
    u, v, eta = 2.0, 0.25, 0.1
    d = [u * u - v * v]
    for _ in range(50):
        r = u * v - 1
        u, v = u - eta * r * v, v - eta * r * u
        d.append(u * u - v * v)
    np.testing.assert_allclose(gd_balance(2.0, 0.25, 0.1, 50), d, rtol=1e-13)
    drift = [abs(gd_balance(2.0, 0.25, eta, int(round(5 / eta)))[-1] - 3.9375) for eta in (0.04, 0.02, 0.01)]
    assert 1.8 < drift[0] / drift[1] < 2.2 and 1.8 < drift[1] / drift[2] < 2.2       # O(eta) -> 0
    np.testing.assert_array_equal(gradient_flow_balance(3.9375, 4), 3.9375)


# --- bad input ---------------------------------------------------------------------------------------

def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="eta \\* tr H must be < 2"):
        label_noise_drift(3.0, 0.6, 0.1, 10)
    with pytest.raises(ValueError, match="sigma must be >= 0, got -0.1"):
        label_noise_drift(1.0, 0.1, -0.1, 10)
    with pytest.raises(ValueError, match="n_steps must be an integer >= 0"):
        label_noise_drift(1.0, 0.1, 0.1, -1)
    with pytest.raises(ValueError, match="edges must be at least two increasing angles"):
        ellipse_limit_bin_probabilities([0.0, 1.0, 0.5], 2.0, 1.0)
    with pytest.raises(ValueError, match="at most one turn"):
        ellipse_arc_length_bin_probabilities([0.0, 7.0], 2.0, 1.0)
    with pytest.raises(ValueError, match="a must be > 0, got 0.0"):
        ellipse_limit_density(0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="temperature must be > 0, got 0.0"):
        ellipse_gibbs_bin_probabilities([0.0, 1.0], 2.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="diverged"):
        gd_balance(10.0, 1.0, 1.0, 100)


def test_docstring_examples_run():
    assert doctest.testmod(analysis.manifold).failed == 0
