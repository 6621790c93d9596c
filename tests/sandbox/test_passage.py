"""Mean first-passage times: the censored-mean estimator on synthetic data, and direct
simulation against the exact 1-d MFPT by quadrature."""
import os
import sys
import types

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad

from models import double_well
from sandbox import DivergenceError, mean_first_passage_time
from sandbox.passage import NoPassageError, PassageTime, censored_mean

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20261123"))
T = 0.3
TARGET = ([1.0], 0.5)


def exact_mfpt(potential, temperature, x0, b):
    """tau(x0 -> b) = (1/T) int_{x0}^{b} exp(U(y)/T) int_{-inf}^{y} exp(-U(z)/T) dz dy (1-d, b > x0)."""
    def inner(y):
        return quad(lambda z: np.exp(-potential(z) / temperature), -np.inf, y, epsabs=0, epsrel=1e-12, limit=200)[0]
    outer = quad(lambda y: np.exp(potential(y) / temperature) * inner(y), x0, b, epsabs=0, epsrel=1e-10, limit=200)
    return outer[0] / temperature


def quartic(x):
    return (x * x - 1.0) ** 2


EXACT = exact_mfpt(quartic, T, -1.0, 0.5)   # about 34.0


# --- the estimator on synthetic data -------------------------------------------------------------

def _censor(tau, horizon):
    return np.where(tau <= horizon, tau, np.inf)


def test_without_censoring_the_estimate_is_the_sample_mean():
    tau = np.random.default_rng(SEED).exponential(1.0, 500)
    res = censored_mean(tau, tau.max() + 1.0)
    assert res.n_censored == 0 and res.mean.value == pytest.approx(tau.mean(), rel=1e-12)
    assert res.mean.stderr == pytest.approx(tau.std(ddof=1) / np.sqrt(tau.size), rel=1e-12)


def test_with_the_whole_window_the_estimate_is_the_censored_exponential_mle():
    tau = _censor(np.random.default_rng(SEED).exponential(3.0, 1000), 2.0)
    res = censored_mean(tau, 2.0, tail_from=0.0)
    assert res.mean.value == pytest.approx(np.minimum(tau, 2.0).sum() / np.isfinite(tau).sum(), rel=1e-12)


@pytest.mark.parametrize("tail_from", [None, 0.0])
def test_the_censored_mean_is_unbiased_on_exponential_data_with_half_censored(tail_from):
    rng = np.random.default_rng(SEED)
    scale, horizon, n = 2.0, 2.0 * np.log(2.0), 400          # S(horizon) = 1/2
    samples = [_censor(rng.exponential(scale, n), horizon) for _ in range(400)]
    results = [censored_mean(tau, horizon, tail_from=tail_from) for tau in samples]
    values = np.array([r.mean.value for r in results])
    stderrs = np.array([r.mean.stderr for r in results])
    assert 0.4 < np.mean([r.n_censored / n for r in results]) < 0.6
    assert abs(values.mean() - scale) < 5 * values.std(ddof=1) / np.sqrt(values.size)
    # the reported SE is the spread of the estimates (400 replicates give that SD to about 4%)
    assert abs(np.median(stderrs) / values.std(ddof=1) - 1) < 0.2
    # dropping the censored chains keeps the fast passages only: E[tau | tau < H] = 0.61, not 2
    dropped = np.array([tau[np.isfinite(tau)].mean() for tau in samples])
    assert abs(dropped.mean() - scale) > 5 * dropped.std(ddof=1) / np.sqrt(dropped.size)


def test_the_late_tail_removes_the_bias_of_a_delay_that_the_exponential_mle_keeps():
    # tau = 1 + Exp(2): the hazard is 0 until t = 1, then constant. A tail fitted on (H/2, H] is exact;
    # the exponential MLE on the whole window assumes a constant hazard from 0 and is biased.
    rng = np.random.default_rng(SEED)
    horizon, n = 4.0, 400
    late, whole = [], []
    for _ in range(300):
        tau = _censor(1.0 + rng.exponential(2.0, n), horizon)
        late.append(censored_mean(tau, horizon).mean.value)
        whole.append(censored_mean(tau, horizon, tail_from=0.0).mean.value)
    late, whole = np.array(late), np.array(whole)
    assert abs(late.mean() - 3.0) < 5 * late.std(ddof=1) / np.sqrt(late.size)
    assert abs(whole.mean() - 3.0) > 5 * whole.std(ddof=1) / np.sqrt(whole.size)


@given(st.lists(st.floats(0.0, 10.0), min_size=3, max_size=40), st.floats(0.1, 100.0), st.randoms())
def test_the_estimate_scales_with_the_time_unit_and_ignores_the_chain_order(raw, unit, random):
    times = np.array(raw)
    horizon = 5.0
    times[times > horizon] = np.inf
    try:
        ref = censored_mean(times, horizon)
    except NoPassageError:
        return
    order = list(range(times.size))
    random.shuffle(order)
    scaled = censored_mean(times[order] * unit, horizon * unit)
    assert scaled.mean.value == pytest.approx(ref.mean.value * unit, rel=1e-9)
    assert scaled.mean.stderr == pytest.approx(ref.mean.stderr * unit, rel=1e-9, abs=1e-12)
    assert ref.mean.value >= np.minimum(times, horizon).mean()   # censored chains only add time


def test_no_passage_at_all_raises_with_a_lower_bound():
    with pytest.raises(NoPassageError, match="no chain arrived.*exceeds 33.38 "):
        censored_mean(np.full(10, np.inf), 10.0)


def test_a_plateau_of_the_survival_curve_raises_instead_of_fitting_a_tail():
    times = np.array([0.1, 0.2, 0.3, np.inf, np.inf])
    with pytest.raises(NoPassageError, match="none arrived in the tail window"):
        censored_mean(times, 10.0)


@pytest.mark.parametrize("times, horizon, tail_from, match", [
    ([1.0, np.nan], 2.0, None, "times must be >= 0"), ([-1.0, 1.0], 2.0, None, "times must be >= 0"),
    ([1.0], 0.0, None, "horizon must be > 0"), ([1.0, 2.0], 2.0, 2.0, r"tail_from must lie in \[0, horizon\)"),
    ([], 2.0, None, "non-empty"),
])
def test_bad_estimator_input_raises_value_error(times, horizon, tail_from, match):
    with pytest.raises(ValueError, match=match):
        censored_mean(times, horizon, tail_from=tail_from)


# --- direct simulation against the exact MFPT ----------------------------------------------------

def test_direct_mfpt_in_the_1d_double_well_matches_the_exact_quadrature():
    res = mean_first_passage_time(double_well(), [-1.0], TARGET, temperature=T, step_size=1e-3, n_chains=1000,
                                  max_steps=200_000, seed=SEED)
    assert isinstance(res, PassageTime) and res.method == "direct"
    assert res.n_events + res.n_censored == 1000 and res.n_censored < 20
    assert abs((res.value - EXACT) / res.stderr) < 5
    assert abs((res.value - 1.2 * EXACT) / res.stderr) > 5   # the test has power against a 20% error
    assert res.log_value == pytest.approx(np.log(res.value)) and res.log_stderr == pytest.approx(
        res.stderr / res.value)


def test_with_half_the_chains_censored_the_estimate_is_right_and_dropping_them_is_not():
    horizon = 0.69 * EXACT                                   # S(horizon) about 1/2 for an exponential passage
    max_steps = int(horizon / 1e-3)
    res = mean_first_passage_time(double_well(), [-1.0], TARGET, temperature=T, step_size=1e-3, n_chains=1000,
                                  max_steps=max_steps, seed=SEED + 1)
    assert 0.35 < res.n_censored / 1000 < 0.65
    assert abs((res.value - EXACT) / res.stderr) < 5
    # the same chains with the censored ones dropped: the mean of the observed passages only
    arrived = _arrival_times(res)
    assert arrived.size == res.n_events
    naive_se = arrived.std(ddof=1) / np.sqrt(arrived.size)
    assert (EXACT - arrived.mean()) / naive_se > 5
    # ... or counted as passages at the horizon
    at_horizon = np.concatenate([arrived, np.full(res.n_censored, max_steps * 1e-3)])
    assert (EXACT - at_horizon.mean()) / (at_horizon.std(ddof=1) / np.sqrt(at_horizon.size)) > 5


def _arrival_times(res):
    """The observed passage times, recovered from the Kaplan–Meier curve (one common horizon)."""
    km = res.details["survival"]
    n = km.n_events + km.n_censored
    drops = np.rint(-np.diff(np.concatenate([[1.0], km.survival])) * n).astype(int)
    return np.repeat(km.event_times, drops)


def test_mala_dynamics_matches_the_exact_quadrature_too():
    res = mean_first_passage_time(double_well(), [-1.0], TARGET, temperature=T, step_size=1e-3, n_chains=400,
                                  max_steps=200_000, seed=SEED + 2, dynamics="mala")
    assert res.details["acceptance"] > 0.99
    assert abs((res.value - EXACT) / res.stderr) < 5


def test_no_passage_raises_with_a_lower_bound():
    with pytest.raises(NoPassageError, match="no chain arrived"):
        mean_first_passage_time(double_well(), [-1.0], TARGET, temperature=0.05, step_size=1e-3, n_chains=8,
                                max_steps=1000, seed=SEED)


def test_divergence_is_reported_not_returned_as_nan():
    with pytest.raises(DivergenceError, match="before reaching the target"):
        mean_first_passage_time(double_well(), [-3.0], TARGET, temperature=0.3, step_size=0.5, n_chains=4,
                                max_steps=100, seed=SEED, monitoring_correction=False)


def test_splitting_dispatches_to_the_splitting_module(monkeypatch):
    calls = []
    fake = types.ModuleType("sandbox.splitting")
    def fake_ams(landscape, start, target, *, temperature, step_size, seed=None, n_replicas=100, max_steps=None):
        kwargs = dict(temperature=temperature, step_size=step_size, seed=seed, n_replicas=n_replicas)
        if max_steps is not None:
            kwargs["max_steps"] = max_steps
        calls.append(((landscape, start, target), kwargs))
        return "result"

    fake.ams_mean_first_passage_time = fake_ams
    monkeypatch.setitem(sys.modules, "sandbox.splitting", fake)
    out = mean_first_passage_time(double_well(), [-1.0], TARGET, temperature=0.05, step_size=1e-3,
                                  method="splitting", seed=3, n_replicas=10)
    assert out == "result"
    (args, kwargs), = calls
    assert args[1] == [-1.0] and args[2] == TARGET
    assert kwargs == dict(temperature=0.05, step_size=1e-3, seed=3, n_replicas=10)
    mean_first_passage_time(double_well(), [-1.0], TARGET, temperature=0.05, step_size=1e-3, method="splitting",
                            max_steps=500)
    assert calls[-1][1]["max_steps"] == 500
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['n_replica'\] for method='splitting'"):
        mean_first_passage_time(double_well(), [-1.0], TARGET, temperature=0.05, step_size=1e-3,
                                method="splitting", n_replica=10)


def test_direct_target_must_hold_a_minimum():
    with pytest.raises(ValueError, match=r"target\[0\] does not contain a minimum"):
        mean_first_passage_time(double_well(), [-1.0], ([0.5], 0.1), temperature=0.3, step_size=1e-3,
                                n_chains=10, max_steps=10)


def test_splitting_reaches_the_real_splitting_estimator():
    from sandbox.splitting import ams_mean_first_passage_time

    res = mean_first_passage_time(double_well(), [-1.0], TARGET, temperature=0.3, step_size=1e-3,
                                  method="splitting", seed=SEED, n_replicas=20, n_runs=2, n_cycles=2)
    assert isinstance(res, PassageTime) and res.method == "splitting" and res.value > 0
    assert ams_mean_first_passage_time.__module__ == "sandbox.splitting"


@pytest.mark.parametrize("bad, match", [
    (dict(temperature=0.0), "temperature must be > 0"), (dict(temperature=-1.0), "temperature"),
    (dict(step_size=0.0), "step_size"), (dict(n_chains=0), "n_chains"), (dict(max_steps=1.5), "max_steps"),
    (dict(start=[0.8]), "start must lie outside the target"), (dict(start=[0.0, 0.0]), r"start must have shape"),
    (dict(target=([1.0], -0.5)), r"target\[0\] radius must be > 0"),
    (dict(target=[([1.0], 0.2), ([-1.0], 0.2)]), "target must be one core set"),
    (dict(method="magic"), "method"), (dict(dynamics="hmc"), "dynamics"),
    (dict(colour="red"), r"unknown option\(s\) \['colour'\]"), (dict(max_steps=None), "needs n_chains and max_steps"),
    (dict(method="splitting"), "n_chains sizes direct simulation"),
    (dict(start=[0.49], step_size=0.1), "step_size is too large for this start"),
])
def test_bad_input_raises_value_error_naming_the_parameter(bad, match):
    kw = dict(start=[-1.0], target=TARGET, temperature=0.3, step_size=1e-3, n_chains=2, max_steps=10)
    kw.update(bad)
    start, target = kw.pop("start"), kw.pop("target")
    with pytest.raises(ValueError, match=match):
        mean_first_passage_time(double_well(), start, target, **kw)
