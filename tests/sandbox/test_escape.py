"""Saddle exit times against the exact Dawson-function formula (analysis.escape)."""
import os

import numpy as np
import pytest

from analysis.escape import saddle_mean_exit_time
from models import Quadratic, random_rotation
from sandbox.escape import exit_times

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20261123"))


@pytest.mark.parametrize("temperature", [0.3, 0.03])
def test_mean_exit_time_from_a_1d_saddle_matches_the_exact_formula(temperature):
    res = exit_times(Quadratic([-1.0]), radius=1.0, n_chains=3000, step_size=1e-3, temperature=temperature,
                     max_steps=100_000, seed=SEED)
    assert res.n_censored == 0
    exact = saddle_mean_exit_time(1.0, 1.0, temperature)
    assert abs(res.mean.z(exact)) < 5
    # the same data reject a 10% error in the prediction
    assert abs(res.mean.z(1.1 * exact)) > 5


def test_unstable_direction_decouples_in_a_rotated_saddle():
    d = 6
    rot = random_rotation(d, seed=SEED)
    saddle = Quadratic([-2.0] + [1.0] * (d - 1), rotation=rot)
    res = exit_times(saddle, radius=0.5, n_chains=3000, step_size=1e-3, temperature=0.05, direction=rot[:, 0],
                     max_steps=100_000, seed=SEED + 1)
    assert abs(res.mean.z(saddle_mean_exit_time(2.0, 0.5, 0.05))) < 5


def test_ball_exit_of_pure_diffusion_matches_r2_over_2dT():
    # flat landscape: E tau = r^2 / (2 d T) for Brownian motion with generator T Laplacian
    d, r, temp = 3, 1.0, 0.5
    res = exit_times(Quadratic(np.zeros(d)), radius=r, n_chains=3000, step_size=1e-4, temperature=temp,
                     region="ball", max_steps=100_000, seed=SEED + 2)
    assert abs(res.mean.z(r**2 / (2 * d * temp))) < 5


def test_noiseless_descent_never_leaves_the_saddle():
    res = exit_times(Quadratic([-1.0, 1.0]), radius=1.0, n_chains=4, step_size=1e-2, temperature=0.0,
                     max_steps=5000)
    assert res.n_exited == 0 and np.all(np.isinf(res.times)) and np.isnan(res.mean.value)


def test_noiseless_descent_from_off_the_saddle_takes_log_time():
    x0 = 0.01
    res = exit_times(Quadratic([-1.0]), radius=1.0, n_chains=1, step_size=1e-4, temperature=0.0, x0=[x0],
                     max_steps=200_000)
    # (1 + h)^n x0 = r  ->  n h ~ log(r / x0)
    assert res.times[0] == pytest.approx(np.log(1 / x0), rel=1e-3)


def test_exit_times_are_reproducible_and_chainwise_independent_of_batch():
    kw = dict(radius=1.0, step_size=1e-3, temperature=0.1, max_steps=50_000, seed=SEED)
    small = exit_times(Quadratic([-1.0, 1.0]), n_chains=3, **kw)
    big = exit_times(Quadratic([-1.0, 1.0]), n_chains=40, **kw)
    np.testing.assert_array_equal(small.times, big.times[:3])


@pytest.mark.parametrize("bad", [dict(radius=0.0), dict(radius=np.nan), dict(step_size=-1.0),
                                 dict(temperature=-0.1), dict(n_chains=0), dict(region="cube"),
                                 dict(x0=[2.0, 0.0]), dict(direction=[0.0, 0.0])])
def test_bad_input_raises_value_error_naming_the_parameter(bad):
    kw = dict(radius=1.0, n_chains=2, step_size=1e-3, temperature=0.1, max_steps=10)
    kw.update(bad)
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        exit_times(Quadratic([-1.0, 1.0]), **kw)
