"""Tests of sandbox.simulate: stationary laws, divergence, determinism, records, bad input.

Statistical checks compare independent chains' final states with the closed
forms of analysis.thermo, with standard errors from analysis.stats and a
tolerance of 5 standard errors; each is paired with a check that the same data
reject a nearby wrong prediction. The random seed is fixed and
``SANDBOX_TEST_SEED`` overrides it. Determinism checks are bitwise
(docs/conventions.md: chain c's trajectory is a pure function of (seed, c)).
"""
import math
import os
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.linalg import solve_continuous_lyapunov

from analysis.stats import mean_estimate, variance_estimate
from analysis.strategies import rotations, spectra
from analysis.thermo import gd_critical_step, gibbs_covariance, sgd_stationary_covariance, ula_stationary_variance
from models import MultiWell, Quadratic, random_rotation
from sandbox import dynamics
from sandbox.simulate import METHODS, DivergenceError, simulate

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240601"))
SIG = 5.0


def z_scores(estimate, predicted):
    return (np.asarray(estimate.value) - np.asarray(predicted)) / np.asarray(estimate.stderr)


def covariance_about(x, center):
    """Entries (0,0), (0,1), (1,1) of E[(x-c)(x-c)^T] from independent chains,
    each with SE std(u_i u_j) / sqrt(n) (the stationary mean c is known exactly)."""
    u = x - center
    products = np.column_stack([u[:, 0] * u[:, 0], u[:, 0] * u[:, 1], u[:, 1] * u[:, 1]])
    return mean_estimate(products)


def upper(matrix):
    return np.array([matrix[0, 0], matrix[0, 1], matrix[1, 1]])


# --- landscapes used throughout -------------------------------------------------

DIAG = Quadratic([1.0, 4.0])
ROT2 = random_rotation(2, seed=7)
WELLS = MultiWell(
    [[-2.0, 0.0, 0.0], [2.0, 0.5, 0.0]],
    [np.diag([1.0, 2.0, 0.5]), [[3.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.7]]],
    depths=[0.0, 0.3],
)
DENSE20 = Quadratic(np.linspace(0.2, 3.0, 20), rotation=random_rotation(20, seed=3), center=np.linspace(-1, 1, 20))
# at d = 100 OpenBLAS's result for a row depends on the number of rows in the product
# (checked: a 1-row product differs in the last bit), so fixed blocks are needed
DENSE100 = Quadratic(np.linspace(0.2, 3.0, 100), rotation=random_rotation(100, seed=4),
                     center=np.linspace(-1, 1, 100))

#: name -> (landscape, method, keyword arguments); one per simulator path.
PATHS = {
    "diagonal_ula": (Quadratic([0.5, 1.0, 2.0], center=[1.0, 0.0, -1.0]), "ula",
                     dict(step_size=0.1, temperature=0.5)),
    "multiwell_sgd_hessian": (WELLS, "sgd", dict(step_size=0.05, noise=("hessian", 2.0))),
    "multiwell_mala": (WELLS, "mala", dict(step_size=0.2, temperature=0.7)),
    "dense_ula": (DENSE20, "ula", dict(step_size=0.1, temperature=0.3)),
    "dense100_ula": (DENSE100, "ula", dict(step_size=0.1, temperature=0.3)),
    "dense_sgd_matrix": (Quadratic([0.5, 2.0], rotation=ROT2), "sgd",
                         dict(step_size=0.1, noise=[[1.0, 0.3], [0.3, 0.5]])),
}


def start_points(landscape, n_chains):
    """A distinct start per chain, the same rows whatever n_chains."""
    offset = landscape.center if isinstance(landscape, Quadratic) else 0.0
    return np.random.default_rng(12345).normal(size=(50, landscape.dim))[:n_chains] + offset


def run_path(name, n_chains, *, seed=SEED, n_steps=30, chain_offset=0, **extra):
    landscape, method, kwargs = PATHS[name]
    x0 = start_points(landscape, chain_offset + n_chains)[chain_offset:]
    return simulate(landscape, method, n_chains=n_chains, n_steps=n_steps, x0=x0, seed=seed,
                    chain_offset=chain_offset, **kwargs, **extra)


# --- stationary laws ----------------------------------------------------------------

def test_ula_stationary_variance_is_the_discretised_formula_not_gibbs():
    lam, h, temperature = np.array([1.0, 4.0]), 0.25, 0.5  # h * lam = 0.25 and 1
    run = simulate(Quadratic(lam), "ula", n_chains=20_000, n_steps=200, step_size=h,
                   temperature=temperature, seed=SEED)
    est = variance_estimate(run.x)
    z = z_scores(est, ula_stationary_variance(lam, h, temperature))
    assert np.all(np.abs(z) < SIG), z
    # at h * lam = 1 the variance is twice the Gibbs value T / lam, and the data see it
    assert abs(z_scores(est, temperature / lam)[1]) > SIG


def test_mala_samples_the_exact_gibbs_variance_with_acceptance_between_0_and_1():
    lam, h, temperature = np.array([1.0, 4.0]), 0.25, 0.5
    run = simulate(Quadratic(lam), "mala", n_chains=10_000, n_steps=400, step_size=h,
                   temperature=temperature, seed=SEED)
    est = variance_estimate(run.x)
    assert np.all(np.abs(z_scores(est, temperature / lam)) < SIG), est
    # power: the ULA bias at the same step (x2 at h * lam = 1) is rejected
    assert np.all(np.abs(z_scores(est, ula_stationary_variance(lam, h, temperature))) > SIG)
    acc = run.acceptance_rate
    assert acc.shape == (10_000,) and np.all((acc >= 0) & (acc <= 1))
    assert 0.05 < acc.mean() < 0.99
    assert not run.diverged.any()


def test_mala_acceptance_tends_to_one_as_step_vanishes():
    kwargs = dict(n_chains=200, n_steps=200, temperature=0.5, seed=SEED)
    small = simulate(DIAG, "mala", step_size=1e-3, **kwargs).acceptance_rate.mean()
    large = simulate(DIAG, "mala", step_size=0.4, **kwargs).acceptance_rate.mean()
    assert small > 0.99 and large < small


SGD_NOISES = {
    "isotropic": 1.5,
    "hessian": ("hessian", 2.0),
    "matrix": [[1.0, 0.6], [0.6, 2.0]],
}


@pytest.mark.parametrize("noise_name", sorted(SGD_NOISES))
def test_sgd_stationary_covariance_matches_discrete_lyapunov_solution(noise_name):
    """SGD on a rotated, centred 2-d quadratic: x - c ~ N(0, Sigma), Sigma from thermo."""
    center = np.array([0.5, -1.0])
    q = Quadratic([1.0, 3.0], rotation=ROT2, center=center)
    eta, noise = 0.2, SGD_NOISES[noise_name]
    if noise_name == "isotropic":
        cov = noise * np.eye(2)
    elif noise_name == "hessian":
        cov = noise[1] * q.matrix
    else:
        cov = np.array(noise)
    run = simulate(q, "sgd", n_chains=20_000, n_steps=150, step_size=eta, noise=noise, x0=center, seed=SEED)
    est = covariance_about(run.x, center)
    predicted = sgd_stationary_covariance(q.matrix, eta, cov)
    assert np.all(np.abs(z_scores(est, upper(predicted))) < SIG), (est, predicted)
    # power: the continuous-time limit H Sigma + Sigma H = eta C, which ignores the
    # O(eta) discretisation bias, is rejected by the same data
    limit = solve_continuous_lyapunov(q.matrix, eta * cov)
    assert np.max(np.abs(z_scores(est, upper(limit)))) > SIG


def test_ula_on_dense_quadratic_matches_sgd_formula_with_equivalent_noise():
    """ULA step h at temperature T is SGD with eta = h and C = (2T/h) I (batched BLAS path)."""
    center = np.array([1.0, 2.0])
    q = Quadratic([0.5, 2.5], rotation=ROT2, center=center)
    h, temperature = 0.3, 0.4
    run = simulate(q, "ula", n_chains=20_000, n_steps=150, step_size=h, temperature=temperature,
                   x0=center, seed=SEED)
    est = covariance_about(run.x, center)
    predicted = sgd_stationary_covariance(q.matrix, h, 2 * temperature / h)
    assert np.all(np.abs(z_scores(est, upper(predicted))) < SIG)
    assert np.max(np.abs(z_scores(est, upper(gibbs_covariance(q.matrix, temperature))))) > SIG


# --- gradient descent: convergence, divergence -----------------------------------------

GD_LANDSCAPES = {
    "diagonal": Quadratic([0.5, 2.0], center=[1.0, -1.0]),
    "rotated": Quadratic([0.5, 2.0], rotation=ROT2, center=[1.0, -1.0]),
}


@pytest.mark.parametrize("kind", sorted(GD_LANDSCAPES))
def test_gd_below_critical_step_follows_linear_recursion_and_converges(kind):
    q = GD_LANDSCAPES[kind]
    eta = 0.6 * gd_critical_step(q.eigenvalues)  # contraction factors 0.7 and 0.2
    x0 = q.center + np.array([[1.0, 1.0], [-3.0, 0.5]])
    m = np.eye(2) - eta * q.hessian(q.center)
    short = simulate(q, "gd", n_chains=2, n_steps=20, step_size=eta, x0=x0)
    expected = (x0 - q.center) @ np.linalg.matrix_power(m, 20).T + q.center
    np.testing.assert_allclose(short.x, expected, rtol=1e-12, atol=1e-12)
    run = simulate(q, "gd", n_chains=2, n_steps=100, step_size=eta, x0=x0)  # 4 * 0.7^100 ~ 1e-15
    np.testing.assert_allclose(run.x, np.broadcast_to(q.center, (2, 2)), rtol=0, atol=1e-12)
    assert run.n_diverged == 0 and np.all(run.divergence_step == -1)


@pytest.mark.parametrize("kind, factor, n_steps", [("diagonal", 1.1, 5000), ("rotated", 50.0, 200)])
def test_gd_above_critical_step_diverges_when_the_loss_overflows_and_reports_chain_and_step(kind, factor, n_steps):
    """eta = factor * 2 / lam_max multiplies the unstable component u (size ~1 at the
    start) by r = |1 - 2 factor| per step, and the loss 1/2 lam_max u^2 overflows
    first (long before the state): at step log(2 max / (lam_max u0^2)) / (2 log r),
    ~1950 for factor 1.1. The chain is reported diverged at that step, with cause
    "loss not finite", and keeps the last state whose loss was finite."""
    q = GD_LANDSCAPES[kind]
    eta = factor * gd_critical_step(q.eigenvalues)
    x0 = q.center + np.array([[1.0, 1.0], [0.0, 0.0]])  # chain 1 sits at the minimum forever
    with pytest.warns(RuntimeWarning) as record:
        run = simulate(q, "gd", n_chains=2, n_steps=n_steps, step_size=eta, x0=x0)
    messages = [str(w.message) for w in record]
    assert any(re.search(r"1 of 2 chains diverged \(chain 0 at step \d+ \(loss not finite\)\)", m)
               for m in messages), messages
    assert any("stability limit 2/lambda_max = 1 " in m for m in messages), messages
    assert run.diverged.tolist() == [True, False] and run.n_diverged == 1
    assert run.divergence_causes == ["loss not finite", ""]
    assert run.divergence_cause[0] == dynamics.CAUSE_LOSS
    rot = np.eye(2) if q.rotation is None else q.rotation
    u0 = abs(((x0[0] - q.center) @ rot)[1])
    lam_max = q.eigenvalues.max()
    predicted_step = ((math.log(2.0) + math.log(np.finfo(float).max) - math.log(lam_max * u0**2))
                      / (2 * math.log(abs(1 - 2 * factor))))
    assert abs(run.divergence_step[0] - predicted_step) < 3, (run.divergence_step, predicted_step)
    assert run.divergence_step[1] == -1
    # the diverged chain keeps its last state with a finite (huge) loss; the other is untouched
    assert np.all(np.isfinite(run.x)) and np.isfinite(q.value(run.x[0]))
    assert q.value(run.x[0]) > 1e300 / (2 * factor) ** 2
    np.testing.assert_array_equal(run.x[1], q.center)
    with pytest.raises(DivergenceError, match="chain 0 at step"):
        run.check()


def test_ula_past_the_stability_limit_is_reported_diverged_not_silently_infinite():
    """ULA at h = 0.6 on lambda = 4 (past 2/lambda = 0.5): |1 - h lambda| = 1.4 per step, so
    within 2000 steps the loss overflows. Every chain must be reported diverged (the
    check used to look at the state only, which stays finite up to ~1e308)."""
    q = Quadratic([4.0])
    with pytest.warns(RuntimeWarning) as record:
        run = simulate(q, "ula", n_chains=100, n_steps=2000, step_size=0.6, temperature=1.0, seed=SEED)
    messages = " | ".join(str(w.message) for w in record)
    assert "stability limit 2/lambda_max = 0.5 " in messages and "100 of 100 chains diverged" in messages
    assert run.n_diverged == 100
    assert set(run.divergence_causes) == {"loss not finite"}
    assert np.all(np.isfinite(q.value(run.x)))
    with pytest.raises(DivergenceError):
        run.check()
    # just past the limit nothing overflows in 2000 steps, but the warning names the limit
    with pytest.warns(RuntimeWarning, match=r"step_size=0.51 is past the stability limit 2/lambda_max = 0.5 "):
        simulate(q, "ula", n_chains=10, n_steps=2000, step_size=0.51, temperature=1.0, seed=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        simulate(q, "ula", n_chains=10, n_steps=20, step_size=0.49, temperature=1.0, seed=SEED)
        simulate(q, "mala", n_chains=10, n_steps=20, step_size=0.6, temperature=1.0, seed=SEED)


def test_on_divergence_raise_raises_and_ignore_is_silent():
    q = GD_LANDSCAPES["diagonal"]
    kwargs = dict(n_chains=1, n_steps=5000, step_size=1.1 * gd_critical_step(q.eigenvalues), x0=[0.0, 0.0])
    with pytest.raises(DivergenceError, match="chain 0 at step"), pytest.warns(RuntimeWarning, match="stability"):
        simulate(q, "gd", on_divergence="raise", **kwargs)
    assert issubclass(DivergenceError, FloatingPointError)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = simulate(q, "gd", on_divergence="ignore", **kwargs)
    assert run.n_diverged == 1
    # chains are named by their global index (chain_offset + c)
    with pytest.raises(DivergenceError, match="chain 7 at step"), pytest.warns(RuntimeWarning, match="stability"):
        simulate(q, "gd", on_divergence="raise", chain_offset=7, **kwargs)
    # a run that does not diverge raises nothing under "raise"
    assert simulate(q, "gd", on_divergence="raise", n_chains=1, n_steps=10, step_size=0.1).check().n_diverged == 0


@pytest.mark.parametrize("landscape", [GD_LANDSCAPES["diagonal"], GD_LANDSCAPES["rotated"], WELLS],
                         ids=["diagonal", "rotated", "multiwell"])
def test_ula_at_zero_temperature_is_gd_bitwise(landscape):
    x0 = start_points(landscape, 5)
    kwargs = dict(n_chains=5, n_steps=40, step_size=0.05, x0=x0, record_every=10)
    gd = simulate(landscape, "gd", seed=SEED, **kwargs)
    ula = simulate(landscape, "ula", temperature=0.0, seed=SEED + 1, **kwargs)
    np.testing.assert_array_equal(ula.x, gd.x)
    np.testing.assert_array_equal(ula.loss, gd.loss)
    sgd0 = simulate(landscape, "sgd", noise=0.0, seed=SEED + 2, **kwargs)
    np.testing.assert_array_equal(sgd0.x, gd.x)


# --- determinism -------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PATHS))
def test_same_seed_gives_bitwise_identical_runs_and_other_seeds_differ(name):
    a, b = run_path(name, 6), run_path(name, 6)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.x.tobytes() == b.x.tobytes()
    c = run_path(name, 6, seed=SEED + 1)
    assert not np.any(a.x == c.x)


def test_seed_entropy_reproduces_runs_seeded_by_int_or_generator():
    kwargs = dict(n_chains=4, n_steps=50, step_size=0.1, temperature=1.0)
    for seed in (SEED, np.random.default_rng(SEED)):
        run = simulate(DIAG, "ula", seed=seed, **kwargs)
        again = simulate(DIAG, "ula", seed=np.random.SeedSequence(run.seed_entropy), **kwargs)
        np.testing.assert_array_equal(again.x, run.x)


@pytest.mark.parametrize("name", sorted(PATHS))
def test_first_chains_do_not_depend_on_how_many_chains_run_beside_them(name):
    big = run_path(name, 50)
    for n in (1, 3):
        small = run_path(name, n)
        np.testing.assert_array_equal(small.x, big.x[:n])
        if small.acceptance_rate is not None:
            np.testing.assert_array_equal(small.acceptance_rate, big.acceptance_rate[:n])


@pytest.mark.parametrize("name", sorted(PATHS))
def test_chunks_with_chain_offset_reproduce_one_big_run(name):
    big = run_path(name, 50, record_every=10)
    first, second = run_path(name, 20, record_every=10), run_path(name, 30, chain_offset=20, record_every=10)
    np.testing.assert_array_equal(np.vstack([first.x, second.x]), big.x)
    np.testing.assert_array_equal(np.hstack([first.loss, second.loss]), big.loss)
    assert second.chain_offset == 20


_THREAD_SCRIPT = r"""
import json, sys
import numba
import numpy as np
from models import Quadratic, random_rotation
from sandbox.simulate import simulate

seed = int(sys.argv[1])
out = {"threads": numba.get_num_threads()}
d = 20
dense = Quadratic(np.linspace(0.2, 3.0, d), rotation=random_rotation(d, seed=3))
x0 = np.random.default_rng(1).normal(size=(40, d))
out["dense_ula"] = simulate(dense, "ula", n_chains=40, n_steps=40, step_size=0.1, temperature=0.3,
                            x0=x0, seed=seed).x.tobytes().hex()
diag = Quadratic(np.linspace(0.2, 3.0, d))
out["diagonal_ula"] = simulate(diag, "ula", n_chains=40, n_steps=40, step_size=0.1, temperature=0.3,
                               x0=x0, seed=seed).x.tobytes().hex()
out["mala"] = simulate(diag, "mala", n_chains=40, n_steps=40, step_size=0.3, temperature=0.3,
                       x0=x0, seed=seed).x.tobytes().hex()
print(json.dumps(out))
"""


def test_runs_are_bitwise_identical_whatever_the_numba_thread_count(outputs_with_1_and_2_threads):
    one, two = outputs_with_1_and_2_threads(_THREAD_SCRIPT, SEED)
    assert one.pop("threads") == 1 and two.pop("threads") == 2
    assert set(one) == {"dense_ula", "diagonal_ula", "mala"}
    for case in one:
        assert one[case] == two[case], f"{case} depends on the thread count"


# --- records ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PATHS))
def test_records_have_documented_shapes_and_loss_is_value_at_positions(name):
    landscape = PATHS[name][0]
    run = run_path(name, 5, n_steps=30, record_every=7, record_positions=True)
    assert run.loss.shape == (30 // 7, 5)
    np.testing.assert_array_equal(run.record_steps, [7, 14, 21, 28])
    assert run.positions.shape == (4, 5, landscape.dim)
    assert np.all(np.isfinite(run.loss)) and np.all(np.isfinite(run.positions))
    values = landscape.value(run.positions.reshape(-1, landscape.dim)).reshape(4, 5)
    np.testing.assert_allclose(run.loss, values, rtol=1e-12, atol=1e-12)
    # recording does not disturb the trajectory, and record k is the state after step 7k
    plain = run_path(name, 5, n_steps=30)
    np.testing.assert_array_equal(plain.x, run.x)
    assert plain.loss is None and plain.positions is None and plain.record_steps.size == 0
    np.testing.assert_array_equal(run_path(name, 5, n_steps=28).x, run.positions[-1])
    np.testing.assert_array_equal(run_path(name, 5, n_steps=7).x, run.positions[0])


def test_loss_trace_without_positions():
    run = run_path("diagonal_ula", 4, n_steps=30, record_every=10)
    assert run.loss.shape == (3, 4) and run.positions is None
    np.testing.assert_allclose(run.loss[-1], PATHS["diagonal_ula"][0].value(run.x), rtol=1e-12)


@pytest.mark.parametrize("kind", sorted(GD_LANDSCAPES))
def test_records_after_divergence_are_nan_and_before_are_finite(kind):
    q = GD_LANDSCAPES[kind]
    x0 = q.center + np.array([[1.0, 1.0], [0.5, -0.5]])
    with pytest.warns(RuntimeWarning):
        run = simulate(q, "gd", n_chains=2, n_steps=200, step_size=50.0 * gd_critical_step(q.eigenvalues),
                       x0=x0, record_every=1, record_positions=True)
    assert run.diverged.all()
    for c in range(2):
        t = run.divergence_step[c]
        after, at, before = run.record_steps > t, run.record_steps == t, run.record_steps < t
        assert after.any() and before.sum() >= 5 and at.sum() == 1
        assert np.all(np.isnan(run.loss[after, c])) and np.all(np.isnan(run.positions[after, c]))
        # the record of the divergence step holds the finite state whose loss overflowed
        assert np.all(np.isfinite(run.positions[at, c])) and run.loss[at, c] == np.inf
        assert np.all(np.isfinite(run.positions[before, c])) and np.all(np.isfinite(run.loss[before, c]))
        np.testing.assert_allclose(run.loss[before, c], q.value(run.positions[before, c]), rtol=1e-12)
        # the final state is the one recorded just before the divergence step
        np.testing.assert_array_equal(run.x[c], run.positions[np.flatnonzero(at)[0] - 1, c])


# --- bad input ---------------------------------------------------------------------------------

SADDLES = [Quadratic([1.0, -0.5]), Quadratic([1.0, -0.5], rotation=ROT2),
           MultiWell([[0.0, 0.0], [3.0, 0.0]], [np.eye(2), np.diag([1.0, -0.1])])]
VALID = dict(n_chains=3, n_steps=5, step_size=0.1, temperature=0.5, seed=SEED)
non_int = st.one_of(st.floats(allow_nan=True), st.booleans(), st.text(max_size=3), st.just(None),
                    st.integers(max_value=0))
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
not_a_number = st.one_of(st.text(max_size=3), st.sampled_from(["0.1", "1", " 2e-3 "]), st.just(None),
                         st.booleans(), st.just([0.1]), st.just(np.array([0.1, 0.2])))


@st.composite
def non_psd_matrices(draw):
    lam = draw(spectra(2, low=0.1, high=5.0, zeros=st.integers(0, 1), negatives=1))
    q = draw(rotations(2))
    return (q * lam) @ q.T


@st.composite
def bad_calls(draw):
    """(landscape, method, kwargs, name of the offending parameter) for an invalid call."""
    case = draw(st.sampled_from([
        "step_size", "temperature", "n_chains", "n_steps", "method", "x0_shape", "x0_nan",
        "gd_temperature", "gd_noise", "mala_cold", "sgd_no_noise", "sgd_temperature", "sgd_hessian_saddle",
        "noise_not_psd", "noise_shape", "noise_negative", "noise_tuple", "ula_noise", "record_every",
        "chain_offset", "on_divergence", "seed", "landscape",
    ]))
    landscape, method, kw = DIAG, "ula", dict(VALID)
    if case == "step_size":
        kw["step_size"] = draw(st.one_of(st.floats(max_value=0.0), non_finite, not_a_number))
        return landscape, method, kw, "step_size"
    if case == "temperature":
        kw["temperature"] = draw(st.one_of(st.floats(max_value=0.0, exclude_max=True), non_finite, not_a_number))
        return landscape, draw(st.sampled_from(["ula", "mala"])), kw, "temperature"
    if case in ("n_chains", "n_steps"):
        kw[case] = draw(non_int)
        return landscape, method, kw, case
    if case == "method":
        return landscape, draw(st.text(max_size=6).filter(lambda s: s not in METHODS)), kw, "method"
    if case == "x0_shape":
        shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).filter(lambda s: s not in ((2,), (3, 2))))
        kw["x0"] = np.zeros(shape)
        return landscape, method, kw, "x0"
    if case == "x0_nan":
        x0 = np.zeros(draw(st.sampled_from([(2,), (3, 2)])))
        x0.flat[draw(st.integers(0, x0.size - 1))] = draw(non_finite)
        kw["x0"] = x0
        return landscape, method, kw, "x0"
    if case == "gd_temperature":
        kw["temperature"] = draw(st.floats(min_value=1e-300, max_value=1e300))
        return landscape, "gd", kw, "temperature"
    if case == "gd_noise":
        kw.update(temperature=0.0, noise=1.0)
        return landscape, "gd", kw, "noise"
    if case == "mala_cold":
        kw["temperature"] = 0.0
        return landscape, "mala", kw, "temperature"
    if case == "sgd_no_noise":
        kw["temperature"] = 0.0
        return draw(st.sampled_from([DIAG, WELLS])), "sgd", kw, "noise"
    if case == "sgd_temperature":
        kw["noise"] = 1.0
        return landscape, "sgd", kw, "temperature"
    if case == "sgd_hessian_saddle":
        kw.update(temperature=0.0, noise=("hessian", draw(st.floats(0.0, 10.0))))
        return draw(st.sampled_from(SADDLES)), "sgd", kw, "noise"
    kw["temperature"] = 0.0
    if case == "noise_not_psd":
        kw["noise"] = draw(non_psd_matrices())
        return landscape, "sgd", kw, "noise"
    if case == "noise_shape":
        kw["noise"] = draw(st.sampled_from([np.eye(3), np.ones(2), np.ones((2, 3)), [[1.0, 2.0], [0.0, 1.0]],
                                            [[1.0, np.nan], [np.nan, 1.0]], "big"]))
        return landscape, "sgd", kw, "noise"
    if case == "noise_negative":
        kw["noise"] = draw(st.one_of(st.floats(max_value=0.0, exclude_max=True), non_finite))
        return landscape, "sgd", kw, "noise"
    if case == "noise_tuple":
        kw["noise"] = draw(st.sampled_from([("hessian", -1.0), ("hess", 1.0), ("hessian",), ("hessian", 1.0, 2.0),
                                            ("hessian", math.nan)]))
        return landscape, "sgd", kw, "noise"
    if case == "ula_noise":
        kw.update(temperature=0.5, noise=1.0)
        return landscape, draw(st.sampled_from(["ula", "mala"])), kw, "noise"
    kw["temperature"] = 0.5
    if case in ("record_every", "chain_offset"):
        kw[case] = draw(st.one_of(st.integers(max_value=-1), st.floats(), st.booleans()))
        return landscape, method, kw, case
    if case == "on_divergence":
        kw["on_divergence"] = draw(st.text(max_size=6).filter(lambda s: s not in ("warn", "raise", "ignore")))
        return landscape, method, kw, "on_divergence"
    if case == "seed":
        kw["seed"] = draw(st.one_of(st.integers(max_value=-1), st.text(max_size=3), st.floats()))
        return landscape, method, kw, "seed"
    assert case == "landscape"
    return draw(st.sampled_from([None, "quadratic", np.eye(2)])), method, kw, "landscape"


def _kernel_must_not_run(*args, **kwargs):
    raise AssertionError("a simulation kernel ran on invalid input")


@settings(max_examples=200, deadline=None)
@given(bad_calls())
def test_bad_input_raises_value_error_naming_the_parameter_and_runs_nothing(call):
    landscape, method, kw, name = call
    x0_before = None if kw.get("x0") is None else np.array(kw["x0"], copy=True)
    with pytest.MonkeyPatch.context() as mp:
        for kernel in ("first_order_chains", "affine_chains", "mala_chains"):
            mp.setattr(dynamics, kernel, _kernel_must_not_run)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError) as info:
                simulate(landscape, method, **kw)
    assert not isinstance(info.value, DivergenceError)
    assert name in str(info.value), (name, str(info.value))
    if x0_before is not None:
        np.testing.assert_array_equal(kw["x0"], x0_before)


def test_valid_baseline_call_of_the_bad_input_test_runs():
    """The bad-input strategy perturbs this call; unperturbed it must succeed."""
    run = simulate(DIAG, "ula", **VALID)
    assert run.x.shape == (3, 2) and np.all(np.isfinite(run.x))
    assert simulate(DIAG, "sgd", **dict(VALID, temperature=0.0), noise=[[1.0, 0.0], [0.0, 0.0]]).x.shape == (3, 2)


def test_more_chains_than_memory_is_refused_before_allocating():
    with pytest.MonkeyPatch.context() as mp:
        for kernel in ("first_order_chains", "affine_chains", "mala_chains"):
            mp.setattr(dynamics, kernel, _kernel_must_not_run)
        with pytest.raises(ValueError, match=r"n_chains=1000000000.*needs \d+(\.\d+)? GiB.*chain_offset"):
            simulate(DIAG, "ula", n_chains=10**9, n_steps=10, step_size=0.1, temperature=0.5, seed=SEED)
        with pytest.raises(ValueError, match="GiB"):
            simulate(DIAG, "ula", n_chains=10**6, n_steps=10**6, step_size=0.1, temperature=0.5, seed=SEED,
                     record_every=1, record_positions=True)


def test_messages_show_plain_numbers_not_numpy_reprs():
    with pytest.raises(ValueError) as info:
        simulate(DIAG, "ula", n_chains=2, n_steps=5, step_size=np.float64(-4.0), temperature=0.5)
    assert "got -4.0" in str(info.value) and "np.float64" not in str(info.value)
    with pytest.raises(ValueError) as info:
        simulate(DIAG, "ula", n_chains=np.int64(0), n_steps=5, step_size=0.1, temperature=0.5)
    assert "np." not in str(info.value)
    q = Quadratic([4.0])
    with pytest.warns(RuntimeWarning) as record:
        simulate(q, "gd", n_chains=1, n_steps=2000, step_size=np.float64(0.6), x0=[1.0])
    for w in record:
        assert "np.float64" not in str(w.message) and "np.int64" not in str(w.message), str(w.message)


def test_the_batched_dense_path_reports_a_loss_overflow_like_the_generic_path():
    """d = 40 rotated quadratic (BLAS path): GD at 50 x the critical step overflows the loss
    near step log(2 max / (lam_max u0^2)) / (2 log r); it is reported there, cause "loss not
    finite", with the last state of finite loss kept and its records before that finite."""
    lam = np.linspace(0.5, 2.0, 40)
    q = Quadratic(lam, rotation=random_rotation(40, seed=5))
    u0 = np.zeros(40)
    u0[-1] = 1.0                              # along the top eigenvector only
    x0 = np.vstack([q.rotation @ u0, np.zeros(40)])
    factor = 50.0
    with pytest.warns(RuntimeWarning) as record:
        run = simulate(q, "gd", n_chains=2, n_steps=200, step_size=factor * gd_critical_step(lam), x0=x0,
                       record_every=1)
    assert any(re.search(r"chain 0 at step \d+ \(loss not finite\)", str(w.message)) for w in record)
    predicted = ((math.log(2.0) + math.log(np.finfo(float).max) - math.log(lam.max()))
                 / (2 * math.log(2 * factor - 1)))
    assert abs(run.divergence_step[0] - predicted) < 2, (run.divergence_step, predicted)
    assert run.divergence_causes == ["loss not finite", ""]
    assert np.isfinite(q.value(run.x[0])) and q.value(run.x[0]) > 1e300 / (2 * factor) ** 2
    t = run.divergence_step[0]
    assert np.all(np.isfinite(run.loss[: t - 1, 0])) and run.loss[t - 1, 0] == np.inf
    assert np.all(np.isnan(run.loss[t:, 0]))
