"""Tests of analysis.thermo against scipy's Lyapunov solvers, closed forms and simulation."""
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import solve_continuous_lyapunov, solve_discrete_lyapunov

from analysis.stats import mean_estimate, variance_estimate
from analysis.strategies import spd_matrices, spectra
from analysis.thermo import gd_critical_step, gibbs_covariance, sgd_stationary_covariance, ula_stationary_variance

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240601"))
SIG = 4.0  # tolerance of simulation checks, in standard errors
FAST = settings(max_examples=40, deadline=None)

curvatures = st.floats(min_value=1e-2, max_value=1e2)
temperatures = st.floats(min_value=0.0, max_value=1e2, allow_subnormal=False)
step_fractions = st.floats(min_value=1e-3, max_value=0.999)  # step as a fraction of the critical step


hessians = spd_matrices(st.integers(1, 6), low=0.1, high=10.0)
# a Hessian and a noise covariance of the same size; the noise may be nearly singular
hessians_and_noises = st.integers(1, 6).flatmap(
    lambda d: st.tuples(spd_matrices(d, low=0.1, high=10.0), spd_matrices(d, low=1e-3, high=10.0)))


def _critical(h):
    return 2.0 / np.linalg.eigvalsh(h).max()


# --- ULA --------------------------------------------------------------------

@FAST
@given(curvatures, step_fractions, temperatures)
def test_ula_variance_solves_one_step_variance_recursion(lam, fraction, temperature):
    h = fraction * 2 / lam
    expected = solve_discrete_lyapunov(np.array([[1 - h * lam]]), np.array([[2 * h * temperature]]))[0, 0]
    assert ula_stationary_variance(lam, h, temperature) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@FAST
@given(curvatures, temperatures)
def test_ula_variance_tends_to_gibbs_variance_as_step_vanishes(lam, temperature):
    for h in (1e-4 / lam, 1e-7 / lam):
        bias = ula_stationary_variance(lam, h, temperature) * lam - temperature
        assert abs(bias) <= h * lam * temperature  # T / (1 - h lam / 2) - T = O(h lam)


def test_ula_variance_is_vectorised_over_lam():
    lam = np.array([0.5, 1.0, 3.0])
    np.testing.assert_allclose(
        ula_stationary_variance(lam, 0.2, 1.5), [ula_stationary_variance(x, 0.2, 1.5) for x in lam], rtol=1e-15
    )


def test_ula_simulation_matches_biased_variance_not_gibbs_variance():
    lam, h, temperature, n_chains = 1.0, 0.5, 0.7, 20_000
    rng = np.random.default_rng(SEED)
    x = np.zeros(n_chains)
    for _ in range(120):  # contraction (1 - h lam)^2 = 1/4 per step: stationary to ~1e-72
        x = x - h * lam * x + math.sqrt(2 * h * temperature) * rng.standard_normal(n_chains)
    measured = variance_estimate(x)
    predicted = ula_stationary_variance(lam, h, temperature)
    assert abs(measured.z(predicted)) < SIG
    assert abs(measured.z(temperature / lam)) > 3 * SIG  # the step-size bias is resolved (claim C10)


@FAST
@given(curvatures, st.floats(min_value=1.000001, max_value=1e3))
def test_ula_rejects_step_with_h_lam_at_least_two_naming_step_size(lam, factor):
    with pytest.raises(ValueError, match="step_size"):
        ula_stationary_variance(lam, factor * 2 / lam, 1.0)


@FAST
@given(st.one_of(st.floats(max_value=0.0), st.just(math.nan), st.just(math.inf)))
def test_ula_rejects_nonpositive_or_nonfinite_lam_naming_lam(lam):
    with pytest.raises(ValueError, match="lam"):
        ula_stationary_variance(lam, 0.1, 1.0)


@FAST
@given(st.one_of(st.floats(max_value=0.0), st.just(math.nan)))
def test_ula_rejects_nonpositive_step_naming_step_size(h):
    with pytest.raises(ValueError, match="step_size"):
        ula_stationary_variance(1.0, h, 1.0)


@FAST
@given(st.one_of(st.floats(max_value=-1e-300), st.just(math.nan)))
def test_ula_rejects_negative_temperature_naming_temperature(temperature):
    with pytest.raises(ValueError, match="temperature"):
        ula_stationary_variance(1.0, 0.1, temperature)


# --- SGD --------------------------------------------------------------------

@FAST
@given(hessians_and_noises, step_fractions)
def test_sgd_covariance_matches_scipy_discrete_lyapunov(h_and_c, fraction):
    h, c = h_and_c
    d = h.shape[0]
    eta = fraction * _critical(h)
    a = np.eye(d) - eta * h
    expected = solve_discrete_lyapunov(a, eta**2 * c)
    sigma = sgd_stationary_covariance(h, eta, c)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(sigma, expected, rtol=1e-7, atol=1e-9 * scale)
    # and it is a fixed point of the one-step covariance map
    np.testing.assert_allclose(a @ sigma @ a.T + eta**2 * c, sigma, rtol=1e-7, atol=1e-9 * scale)


@FAST
@given(
    spectra(st.integers(1, 6), low=0.1, high=10.0),
    step_fractions,
    st.one_of(st.just(0.0), st.floats(1e-6, 10.0)),
)
def test_sgd_eigenvalue_input_and_scalar_noise_mean_diagonal_and_isotropic(lam, fraction, sigma2):
    eta = fraction * 2 / max(lam)
    d = len(lam)
    from_vectors = sgd_stationary_covariance(lam, eta, sigma2)
    from_matrices = sgd_stationary_covariance(np.diag(lam), eta, sigma2 * np.eye(d))
    np.testing.assert_allclose(from_vectors, from_matrices, rtol=1e-14, atol=1e-300)
    # diagonal case in closed form: eta sigma^2 / (l (2 - eta l))
    np.testing.assert_allclose(np.diag(from_vectors), eta * sigma2 / (lam * (2 - eta * lam)), rtol=1e-12)


@FAST
@given(hessians, st.floats(1e-3, 1e2), st.floats(1e-8, 1e-2))
def test_sgd_small_eta_isotropic_noise_approaches_gibbs_with_t_eta_sigma2_over_2(h, sigma2, fraction):
    eta = fraction * _critical(h)
    sigma = sgd_stationary_covariance(h, eta, sigma2)
    gibbs = gibbs_covariance(h, eta * sigma2 / 2)
    # in H's eigenbasis each entry differs by a factor 1 / (1 - eta l_i l_j / (l_i + l_j)), delta <= eta l_max / 2
    delta = eta * np.linalg.eigvalsh(h).max() / 2
    error = np.linalg.norm(sigma - gibbs) / np.linalg.norm(gibbs)
    assert error <= delta / (1 - delta) * (1 + 1e-6) + 1e-12


@FAST
@given(hessians, st.floats(1e-3, 1e2), st.floats(1e-8, 1e-2))
def test_sgd_small_eta_hessian_shaped_noise_approaches_isotropic_eta_c_over_2(h, c, fraction):
    eta = fraction * _critical(h)
    sigma = sgd_stationary_covariance(h, eta, c * h)
    isotropic = eta * c / 2 * np.eye(h.shape[0])
    delta = eta * np.linalg.eigvalsh(h).max() / 2
    error = np.linalg.norm(sigma - isotropic) / np.linalg.norm(isotropic)
    assert error <= delta / (1 - delta) * (1 + 1e-6) + 1e-12


@FAST
@given(hessians_and_noises)
def test_sgd_small_eta_approaches_continuous_lyapunov_solution(h_and_c):
    h, c = h_and_c
    continuous = solve_continuous_lyapunov(h, c)  # H S + S H = C, so Sigma ~ eta S
    errors = []
    for eta in (1e-2 * _critical(h), 1e-4 * _critical(h)):
        sigma = sgd_stationary_covariance(h, eta, c)
        errors.append(np.linalg.norm(sigma / eta - continuous) / np.linalg.norm(continuous))
    assert errors[1] < 2e-4  # O(eta lambda_max) = O(1e-4)
    assert errors[1] <= errors[0] + 1e-12


def test_sgd_simulation_matches_stationary_covariance():
    h = np.array([[2.0, 0.6], [0.6, 0.5]])
    c = np.array([[1.0, -0.3], [-0.3, 0.4]])
    eta, n_chains = 0.3, 20_000
    rng = np.random.default_rng(SEED)
    noise_factor = np.linalg.cholesky(c)
    x = np.zeros((n_chains, 2))
    for _ in range(400):  # slowest contraction 1 - eta l_min ~ 0.88: stationary to ~1e-22
        x = x - eta * (x @ h + rng.standard_normal((n_chains, 2)) @ noise_factor.T)
    predicted = sgd_stationary_covariance(h, eta, c)
    for i in range(2):
        assert abs(variance_estimate(x[:, i]).z(predicted[i, i])) < SIG
    assert abs(mean_estimate(x[:, 0] * x[:, 1]).z(predicted[0, 1])) < SIG  # mean is exactly 0


@FAST
@given(hessians, st.floats(min_value=1.000001, max_value=10.0))
def test_sgd_rejects_step_without_stationary_law_naming_step_size(h, factor):
    with pytest.raises(ValueError, match="step_size"):
        sgd_stationary_covariance(h, factor * _critical(h), 1.0)


def test_sgd_rejects_indefinite_hessian_naming_step_size():
    with pytest.raises(ValueError, match="step_size.*spectral radius"):
        sgd_stationary_covariance([1.0, -0.1], 0.1, 1.0)


@pytest.mark.parametrize(
    "hessian, noise_cov, name",
    [
        (np.array([[1.0, 0.5], [0.0, 1.0]]), 1.0, "hessian"),  # not symmetric
        (np.ones((2, 3)), 1.0, "hessian"),  # not square
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), 1.0, "hessian"),
        (np.ones((2, 2, 2)), 1.0, "hessian"),
        ([], 1.0, "hessian"),
        (np.eye(2), np.array([[1.0, 0.2], [0.0, 1.0]]), "noise_cov"),  # not symmetric
        (np.eye(2), np.eye(3), "noise_cov"),  # shape mismatch
        (np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]]), "noise_cov"),  # not PSD
        (np.eye(2), -1.0, "noise_cov"),
        (np.eye(2), math.nan, "noise_cov"),
        (np.eye(2), np.ones(2), "noise_cov"),
    ],
)
def test_sgd_rejects_bad_matrices_naming_the_parameter(hessian, noise_cov, name):
    with pytest.raises(ValueError, match=name):
        sgd_stationary_covariance(hessian, 0.1, noise_cov)


# --- Gibbs and GD -----------------------------------------------------------

@FAST
@given(hessians, temperatures)
def test_gibbs_covariance_is_temperature_times_inverse_hessian(h, temperature):
    np.testing.assert_allclose(
        gibbs_covariance(h, temperature), temperature * np.linalg.inv(h), rtol=1e-9, atol=1e-12 * (1 + temperature)
    )


def test_gibbs_covariance_of_eigenvalues_is_diagonal():
    np.testing.assert_allclose(gibbs_covariance([2.0, 5.0], 3.0), np.diag([1.5, 0.6]), rtol=1e-15)


@pytest.mark.parametrize("hessian", [[1.0, 0.0], [1.0, -2.0], np.array([[1.0, 2.0], [2.0, 1.0]])])
def test_gibbs_covariance_rejects_non_spd_hessian(hessian):
    with pytest.raises(ValueError, match="hessian.*SPD"):
        gibbs_covariance(hessian, 1.0)


def test_gibbs_covariance_rejects_negative_temperature():
    with pytest.raises(ValueError, match="temperature"):
        gibbs_covariance([1.0], -0.1)


@FAST
@given(st.lists(st.floats(-10.0, 10.0), min_size=1, max_size=10).filter(lambda v: max(v) > 0))
def test_gd_critical_step_is_two_over_largest_eigenvalue(eigenvalues):
    assert gd_critical_step(eigenvalues) == 2.0 / max(eigenvalues)


@pytest.mark.parametrize("factor, converges", [(0.98, True), (1.02, False)])
def test_gd_converges_below_and_diverges_above_critical_step(factor, converges):
    rng = np.random.default_rng(SEED)
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    h = (q * np.array([0.1, 0.5, 1.0, 2.0, 4.0])) @ q.T
    eta = factor * gd_critical_step(np.linalg.eigvalsh(h))
    x = rng.standard_normal(5)
    start = np.linalg.norm(x)
    for _ in range(2000):
        x = x - eta * h @ x
    assert (np.linalg.norm(x) < 1e-6 * start) == converges
    assert (np.linalg.norm(x) > 1e6 * start) == (not converges)


@pytest.mark.parametrize("bad", [[], [0.0, -1.0], [1.0, math.nan], np.eye(2)])
def test_gd_critical_step_rejects_bad_eigenvalues_naming_eigenvalues(bad):
    with pytest.raises(ValueError, match="eigenvalues"):
        gd_critical_step(bad)
