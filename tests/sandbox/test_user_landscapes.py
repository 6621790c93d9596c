"""Every algorithm on every kind of landscape: built-in, Symbolic and Custom.

The seams: a Symbolic or Custom landscape that spells a built-in quadratic
gives the built-in's trajectories bit for bit in every simulator; each
sampler's number on a user landscape is compared with a closed form or an
exact quadrature (tolerance 5 standard errors, ESS for correlated samples);
per-chain determinism, continuation of runs, and the reporting of NaN and of
functions that raise hold for user landscapes as for built-ins.
"""
import math
import os
import warnings

import numba
import numpy as np
import pytest
from scipy import integrate

from analysis.stats import mean_estimate
from models import Custom, Quadratic, Symbolic, double_well
from sandbox import DivergenceError, density_of_states, dynamics, exit_times, hit_or_miss_volume, simulate

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20241201"))
SIG = 5.0


@numba.njit
def bowl_value(x, p):
    return 0.5 * (p[0] * x[0] * x[0] + p[1] * x[1] * x[1])


@numba.njit
def bowl_grad(x, p, out):
    out[0] = p[0] * (x[0] - 0.0)
    out[1] = p[1] * (x[1] - 0.0)


@numba.njit
def bowl_hessian(x, p, out):
    out[0, 0], out[0, 1], out[1, 0], out[1, 1] = p[0], 0.0, 0.0, p[1]


@numba.njit
def flaky_grad(x, p, out):
    if x[0] > 2.0:
        raise ZeroDivisionError("the user's model fails here")
    out[0] = x[0]
    out[1] = x[1]


LAM = (1.0, 4.0)
BUILTIN = Quadratic(list(LAM))
SYMBOLIC = Symbolic("a*x**2/2 + b*y**2/2", ["x", "y"], parameters={"a": LAM[0], "b": LAM[1]},
                    hessian_is_psd=True)
CUSTOM = Custom(bowl_value, bowl_grad, dim=2, parameters=list(LAM), hessian=bowl_hessian, hessian_is_psd=True)
KINDS = {"builtin": BUILTIN, "symbolic": SYMBOLIC, "custom": CUSTOM}

#: method -> keyword arguments; one per simulator path and noise kind.
METHODS = {
    "gd": dict(step_size=0.1),
    "sgd_isotropic": dict(step_size=0.1, noise=0.8),
    "sgd_matrix": dict(step_size=0.1, noise=[[1.0, 0.3], [0.3, 0.5]]),
    "sgd_hessian": dict(step_size=0.1, noise=("hessian", 2.0)),
    "ula": dict(step_size=0.1, temperature=0.5),
    "mala": dict(step_size=0.3, temperature=0.5),
}


def run(landscape, method, n_chains=7, n_steps=40, **extra):
    kwargs = dict(METHODS[method], **extra)
    name = method.split("_")[0]
    x0 = np.random.default_rng(1).normal(size=(n_chains, 2))
    return simulate(landscape, name, n_chains=n_chains, n_steps=n_steps, x0=x0, seed=SEED, record_every=10,
                    **kwargs)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("kind", ["symbolic", "custom"])
def test_a_user_quadratic_runs_the_builtin_trajectories_bit_for_bit(kind, method):
    """The gradient lam_i x_i is computed with the same rounding by all three, so every path must
    produce the same bits; the noise streams do not depend on the landscape."""
    ours, builtin = run(KINDS[kind], method), run(BUILTIN, method)
    np.testing.assert_array_equal(ours.x, builtin.x)
    np.testing.assert_allclose(ours.loss, builtin.loss, rtol=1e-15)
    if method == "mala":
        np.testing.assert_array_equal(ours.acceptance_rate, builtin.acceptance_rate)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_volume_samplers_on_every_kind_against_the_ellipse_area(kind):
    """{1/2 (x^2 + 4 y^2) <= eps} is an ellipse of area 2 pi eps / sqrt(1 * 4) = pi eps."""
    landscape, eps = KINDS[kind], 0.5
    exact = math.log(math.pi * eps)
    hm = hit_or_miss_volume(landscape, eps, bounds=(-2.0, 2.0), n_samples=200_000, seed=SEED).log_volume
    assert abs(hm.z(exact)) < SIG, hm
    dos = density_of_states(landscape, bounds=(-2.0, 2.0), eps_min=0.05, n_live=200, seed=SEED)
    est = dos.log_volume(eps)
    assert abs(est.z(exact)) < SIG, est
    assert abs(dos.log_volume(0.05).z(math.log(math.pi * 0.05))) < SIG


def test_density_of_states_is_the_same_for_every_kind_bit_for_bit():
    runs = [density_of_states(k, bounds=(-2.0, 2.0), eps_min=0.1, n_live=50, seed=SEED) for k in KINDS.values()]
    for other in runs[1:]:
        np.testing.assert_array_equal(other.eps, runs[0].eps)
        np.testing.assert_array_equal(other.log_volumes, runs[0].log_volumes)


def test_exit_times_on_a_symbolic_saddle_equal_the_builtin_saddle():
    saddle = Quadratic([-1.0, 2.0])
    symbolic = Symbolic("-x**2/2 + y**2", ["x", "y"])
    kwargs = dict(radius=1.0, n_chains=200, step_size=0.01, temperature=0.1, max_steps=20_000, seed=SEED)
    a, b = exit_times(saddle, **kwargs), exit_times(symbolic, **kwargs)
    np.testing.assert_array_equal(a.times, b.times)
    assert a.n_censored == 0


# --- the stationary law on a tilted double well, against exact quadrature ------------

def _gibbs_moments(c, temperature):
    """E[x], E[x^2], P(x < 0) under exp(-U/T)/Z, U = (x^2 - 1)^2 + c x, by adaptive quadrature."""
    def weight(x):
        return math.exp(-((x * x - 1) ** 2 + c * x) / temperature)
    z = integrate.quad(weight, -4, 4, points=[-1, 0, 1], epsabs=0, epsrel=1e-12)[0]
    m1 = integrate.quad(lambda x: x * weight(x), -4, 4, points=[-1, 0, 1], epsabs=0, epsrel=1e-12)[0] / z
    m2 = integrate.quad(lambda x: x * x * weight(x), -4, 4, points=[-1, 0, 1], epsabs=0, epsrel=1e-12)[0] / z
    left = integrate.quad(weight, -4, 0, points=[-1], epsabs=0, epsrel=1e-12)[0] / z
    return m1, m2, left


def _gibbs_draws(c, temperature, n, seed):
    """Exact draws from exp(-U/T)/Z by inverse CDF on a fine grid (error ~1e-7 in the CDF)."""
    grid = np.linspace(-4.0, 4.0, 400_001)
    w = np.exp(-((grid**2 - 1) ** 2 + c * grid) / temperature)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(grid))])
    return np.interp(np.random.default_rng(seed).random(n), cdf / cdf[-1], grid)


@pytest.mark.parametrize("temperature", [0.5, 1.0])
@pytest.mark.parametrize("method, step", [("ula", 0.002), ("mala", 0.05)])
def test_langevin_on_the_tilted_double_well_matches_exact_quadrature(method, step, temperature):
    """Chains start from the exact Gibbs law and run 40 time units; E[x], E[x^2] and P(x < 0) over
    the records (after 2 time units) against quadrature. The records of one chain are correlated
    (tau ~ 4 time units, 200 records), so the standard error is that of the chains' time averages,
    which are independent replicas (batch means with one batch per chain; the effective sample
    size is var(x) / SE^2). ULA's O(h) bias at h = 0.002 is below a tenth of the standard error;
    MALA is exact at any step."""
    c = 0.25
    well = double_well(a=1.0, c=c)
    n_chains, n_steps = 1000, int(round(40 / step))
    every = n_steps // 200
    x0 = _gibbs_draws(c, temperature, n_chains, SEED)[:, None]
    r = simulate(well, method, n_chains=n_chains, n_steps=n_steps, step_size=step, temperature=temperature,
                 x0=x0, seed=SEED, record_every=every, record_positions=True)
    r.check()
    x = r.positions[10:, :, 0]                                   # (records, chains)
    truth = _gibbs_moments(c, temperature)
    for samples, exact in zip((x, x * x, (x < 0).astype(float)), truth):
        est = mean_estimate(samples.mean(axis=0))
        assert abs(est.z(exact)) < SIG, (method, temperature, est, exact)
        assert samples.var() / est.stderr**2 < samples.size    # correlated: fewer effective samples
    # power: the untilted well's P(x < 0) = 1/2 is rejected by the same data
    assert abs(mean_estimate((x < 0).mean(axis=0)).z(0.5)) > SIG


# --- determinism ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["symbolic", "custom"])
@pytest.mark.parametrize("method", ["ula", "mala", "sgd_hessian"])
def test_first_chains_do_not_depend_on_the_chains_beside_them_or_the_chunking(kind, method):
    big = run(KINDS[kind], method, n_chains=20)
    np.testing.assert_array_equal(run(KINDS[kind], method, n_chains=3).x, big.x[:3])
    x0 = np.random.default_rng(1).normal(size=(20, 2))
    name, kwargs = method.split("_")[0], METHODS[method]
    tail = simulate(KINDS[kind], name, n_chains=12, n_steps=40, x0=x0[8:], seed=SEED, chain_offset=8, **kwargs)
    np.testing.assert_array_equal(tail.x, big.x[8:])


_THREAD_SCRIPT = r"""
import json, sys
import numba
import numpy as np
from models import Custom, Symbolic
from sandbox import simulate, density_of_states

@numba.njit
def value(x, p):
    return (x[0] ** 2 - 1.0) ** 2 + p[0] * x[1] ** 2

@numba.njit
def grad(x, p, out):
    out[0] = 4.0 * x[0] * (x[0] ** 2 - 1.0)
    out[1] = 2.0 * p[0] * x[1]

seed = int(sys.argv[1])
out = {"threads": numba.get_num_threads()}
landscapes = {"symbolic": Symbolic("(x**2 - 1)**2 + a*y**2", ["x", "y"], parameters={"a": 0.5}),
              "custom": Custom(value, grad, dim=2, parameters=[0.5])}
x0 = np.random.default_rng(1).normal(size=(40, 2))
for name, l in landscapes.items():
    out[name + "_ula"] = simulate(l, "ula", n_chains=40, n_steps=200, step_size=0.01, temperature=0.3,
                                  x0=x0, seed=seed).x.tobytes().hex()
    out[name + "_mala"] = simulate(l, "mala", n_chains=40, n_steps=200, step_size=0.05, temperature=0.3,
                                   x0=x0, seed=seed).x.tobytes().hex()
    out[name + "_dos"] = density_of_states(l, bounds=(-2.0, 2.0), eps_min=0.05, n_live=40,
                                           seed=seed).log_volumes.tobytes().hex()
print(json.dumps(out))
"""


def test_user_landscapes_are_bitwise_identical_whatever_the_thread_count(outputs_with_1_and_2_threads):
    one, two = outputs_with_1_and_2_threads(_THREAD_SCRIPT, SEED)
    assert one.pop("threads") == 1 and two.pop("threads") == 2
    assert len(one) == 6
    for case in one:
        assert one[case] == two[case], f"{case} depends on the thread count"


def test_the_simulators_are_compiled_once_for_every_landscape():
    for landscape in KINDS.values():
        run(landscape, "ula")
        run(landscape, "mala")
    assert len(dynamics.first_order_chains.signatures) == 1
    assert len(dynamics.mala_chains.signatures) == 1


# --- continuing runs ----------------------------------------------------------------------

CONTINUE_CASES = {
    "builtin_gd": (BUILTIN, "gd"),
    "symbolic_sgd_hessian": (SYMBOLIC, "sgd_hessian"),
    "custom_sgd_matrix": (CUSTOM, "sgd_matrix"),
    "symbolic_ula": (SYMBOLIC, "ula"),
    "custom_mala": (CUSTOM, "mala"),
    "dense_affine_ula": (Quadratic(np.linspace(0.5, 2.0, 40), rotation=np.linalg.qr(
        np.random.default_rng(3).normal(size=(40, 40)))[0]), "ula"),
}


@pytest.mark.parametrize("case", sorted(CONTINUE_CASES))
def test_two_calls_of_100_steps_equal_one_call_of_200_bit_for_bit(case):
    landscape, method = CONTINUE_CASES[case]
    name, kwargs = method.split("_")[0], METHODS[method]
    common = dict(n_chains=5, seed=SEED, record_every=30, record_positions=True, **kwargs)
    whole = simulate(landscape, name, n_steps=200, **common)
    first = simulate(landscape, name, n_steps=100, **common)
    second = first.extend(100)
    np.testing.assert_array_equal(second.x, whole.x)
    np.testing.assert_array_equal(second.stream_states, whole.stream_states)
    assert second.n_steps == 200 and first.n_steps == 100
    # records are numbered from the start: 30, 60, 90 | 120, 150, 180
    np.testing.assert_array_equal(first.record_steps, [30, 60, 90])
    np.testing.assert_array_equal(second.record_steps, [120, 150, 180])
    np.testing.assert_array_equal(np.vstack([first.loss, second.loss]), whole.loss)
    np.testing.assert_array_equal(np.concatenate([first.positions, second.positions]), whole.positions)
    again = simulate(landscape, name, n_chains=5, n_steps=100, resume=first, record_every=30,
                     record_positions=True, **kwargs)
    np.testing.assert_array_equal(again.x, whole.x)
    # the first run is not changed by continuing it
    np.testing.assert_array_equal(first.x, simulate(landscape, name, n_steps=100, **common).x)


def test_resume_refuses_what_would_break_the_continuation():
    first = simulate(SYMBOLIC, "ula", n_chains=3, n_steps=10, step_size=0.1, temperature=0.5, seed=SEED)
    kw = dict(n_steps=5, step_size=0.1, temperature=0.5, resume=first)
    with pytest.raises(ValueError, match="n_chains must be the resumed run's 3"):
        simulate(SYMBOLIC, "ula", n_chains=4, **kw)
    with pytest.raises(ValueError, match="x0 and seed must be None"):
        simulate(SYMBOLIC, "ula", n_chains=3, seed=1, **kw)
    with pytest.raises(ValueError, match="x0 and seed must be None"):
        simulate(SYMBOLIC, "ula", n_chains=3, x0=[0.0, 0.0], **kw)
    with pytest.raises(ValueError, match="dimension"):
        simulate(Quadratic([1.0]), "ula", n_chains=3, **kw)
    with pytest.raises(ValueError, match="resume must be a Run"):
        simulate(SYMBOLIC, "ula", n_chains=3, n_steps=5, step_size=0.1, temperature=0.5, resume="run")


def test_a_diverged_chain_stays_stopped_when_the_run_continues():
    q = Quadratic([4.0])
    x0 = np.array([[1.0], [0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = simulate(q, "gd", n_chains=2, n_steps=1500, step_size=0.6, x0=x0, on_divergence="ignore")
    assert first.diverged.tolist() == [True, False]
    with pytest.warns(RuntimeWarning, match="stability limit"):
        second = first.extend(50, on_divergence="raise")    # no new divergence: nothing raised
    np.testing.assert_array_equal(second.x[0], first.x[0])
    assert second.divergence_step[0] == first.divergence_step[0] and second.n_steps == 1550


# --- NaN and exceptions inside user functions ----------------------------------------------

def test_nan_from_a_formula_is_reported_with_chain_and_step():
    """log(x) is NaN for x < 0: ULA from x = 1 with strong noise steps there."""
    s = Symbolic("-log(x) + x", ["x"])
    with pytest.warns(RuntimeWarning, match=r"chain \d+ at step \d+ \(loss not finite\)"):
        r = simulate(s, "ula", n_chains=50, n_steps=500, step_size=0.05, temperature=2.0, x0=[1.0], seed=SEED)
    assert r.n_diverged > 0 and set(r.divergence_causes) <= {"", "loss not finite"}
    assert np.all(np.isfinite(r.x)) and np.all(r.x[r.diverged] > 0)
    with pytest.raises(DivergenceError, match="loss not finite"):
        r.check()


def test_a_user_function_that_raises_is_reported_with_chain_and_step():
    flaky = Custom(bowl_value, flaky_grad, dim=2, parameters=[1.0, 1.0])
    with pytest.warns(RuntimeWarning, match=r"\(a landscape function raised an exception\)"):
        r = simulate(flaky, "ula", n_chains=30, n_steps=300, step_size=0.1, temperature=3.0, seed=SEED)
    assert r.n_diverged > 0
    assert set(np.array(r.divergence_causes)[r.diverged]) == {"a landscape function raised an exception"}
    # a stopped chain keeps its last state where the functions ran, so every final state is valid
    assert np.all(r.x[:, 0] <= 2.0)
    r.landscape.grad(r.x)
    with pytest.warns(RuntimeWarning, match="raised"):
        mala = simulate(flaky, "mala", n_chains=30, n_steps=300, step_size=0.3, temperature=3.0, seed=SEED)
    assert mala.n_diverged > 0
    with pytest.raises(DivergenceError, match="raised"):
        exit_times(flaky, radius=50.0, n_chains=30, step_size=0.1, temperature=3.0, max_steps=300, seed=SEED)
    with pytest.raises(ValueError, match="loss is nan at x="):
        density_of_states(Symbolic("log(x) + y**2", ["x", "y"]), bounds=(-1.0, 1.0), eps_min=0.1, n_live=20,
                          seed=SEED)


def test_mala_rejects_an_infinite_loss_instead_of_diverging():
    """exp(800 x) overflows to inf for x > 0.89: MALA must reject such proposals (exact Gibbs
    law unchanged), ULA must report the divergence."""
    s = Symbolic("x**2/2 + exp(800*x - 800)", ["x"])
    r = simulate(s, "mala", n_chains=50, n_steps=400, step_size=0.5, temperature=1.0, seed=SEED,
                 on_divergence="raise")
    assert r.n_diverged == 0 and np.all(r.x < 1.0)
    with pytest.warns(RuntimeWarning, match="loss not finite"):
        simulate(s, "ula", n_chains=50, n_steps=400, step_size=0.5, temperature=1.0, seed=SEED)


def test_a_start_with_infinite_loss_is_refused():
    with pytest.raises(ValueError, match=r"x0 must be a point where the loss is finite"):
        simulate(Symbolic("1/x**2", ["x"]), "ula", n_chains=2, n_steps=5, step_size=0.1, temperature=1.0,
                 x0=[0.0])


class _Terminal:
    """A stderr that says it is a terminal, so that the progress bar (and its chunking) switches on."""

    def __init__(self):
        self.text = []

    def isatty(self):
        return True

    def write(self, s):
        self.text.append(s)

    def flush(self):
        pass


@pytest.mark.parametrize("case", ["symbolic_ula", "custom_mala", "dense_affine_ula", "builtin_gd"])
def test_a_progress_bar_cuts_the_run_into_chunks_without_changing_a_bit(case, monkeypatch):
    landscape, method = CONTINUE_CASES[case]
    name, kwargs = method.split("_")[0], METHODS[method]
    common = dict(n_chains=5, n_steps=1000, seed=SEED, record_every=30, record_positions=True, **kwargs)
    plain = simulate(landscape, name, **common)
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    barred = simulate(landscape, name, progress=True, **common)
    assert any("1000/1000" in t or "1.00k/1.00k" in t for t in terminal.text), terminal.text[-3:]
    np.testing.assert_array_equal(barred.x, plain.x)
    np.testing.assert_array_equal(barred.loss, plain.loss)
    np.testing.assert_array_equal(barred.positions, plain.positions)
    if plain.acceptance_rate is not None:
        np.testing.assert_array_equal(barred.acceptance_rate, plain.acceptance_rate)
