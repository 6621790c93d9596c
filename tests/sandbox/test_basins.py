"""Landing frequencies against basin-of-attraction shares known in closed form."""
import math
import os
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from models import double_well, symmetric_double_well
from models.proportions import wilson_interval
from sandbox.basins import basin_statistics

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20241201"))
SIG = 5.0

TILT = 0.4
WELL = double_well(c=TILT)
#: U = (x^2 - 1)^2 + c x has U'(x) = 4 x^3 - 4 x + c: minima at the outer roots, the basin boundary
#: (the local maximum) at the middle one.
LEFT, BARRIER, RIGHT = np.sort(np.roots([4.0, 0.0, -4.0, TILT]).real)
MINIMA = [[LEFT], [RIGHT]]


def _z(count, n, p):
    return (count / n - p) / math.sqrt(p * (1 - p) / n)


def test_gd_from_uniform_start_lands_in_proportion_to_basin_lengths():
    # eta = 0.01 < 1 / max U'' on the box: the GD map is increasing, so its basins are those of gradient flow
    lo, hi, n = -1.8, 1.6, 2000
    stats = basin_statistics(WELL, MINIMA, init=("uniform", [[lo, hi]]), n_chains=n, n_steps=400,
                             step_size=0.01, seed=SEED)
    share = (BARRIER - lo) / (hi - lo)
    assert stats.n_unassigned == 0 and stats.n_diverged == 0
    assert stats.counts.sum() == n
    assert abs(_z(stats.counts[0], n, share)) < SIG
    assert stats.fractions.tolist() == (stats.counts / n).tolist()
    p = stats.fractions
    assert stats.estimates.value.tolist() == p.tolist()
    assert stats.estimates.stderr == pytest.approx(np.sqrt(p * (1 - p) / n), rel=1e-15)
    # each chain is labelled by the side of the barrier it started on
    assert np.all((stats.labels == 0) == (stats.end_points[:, 0] < BARRIER))


def test_intervals_are_wilson_intervals_of_the_counts():
    n = 300
    stats = basin_statistics(WELL, MINIMA[:1], init=("uniform", [[-1.8, 1.6]]), n_chains=n, n_steps=400,
                             step_size=0.01, seed=SEED)
    assert stats.intervals.shape == (1, 2)
    assert stats.intervals[0].tolist() == list(wilson_interval(int(stats.counts[0]), n))
    assert stats.unassigned_interval == wilson_interval(stats.n_unassigned, n)
    # the right basin's chains match no listed minimum: unassigned, not diverged
    assert stats.n_unassigned == n - stats.counts[0] and stats.n_diverged == 0
    assert np.all(stats.labels[stats.end_points[:, 0] > BARRIER] == -1)


def test_wilson_intervals_cover_the_basin_share():
    # 100 independent batches of 40 chains: the 95% intervals cover the true share in about 95% of them
    lo, hi = -1.8, 1.6
    share = (BARRIER - lo) / (hi - lo)
    stats = basin_statistics(WELL, MINIMA, init=("uniform", [[lo, hi]]), n_chains=4000, n_steps=400,
                             step_size=0.01, seed=SEED)
    counts = (stats.labels.reshape(100, 40) == 0).sum(axis=1)
    covered = sum(lo_ <= share <= hi_ for lo_, hi_ in (wilson_interval(int(k), 40) for k in counts))
    assert abs(_z(covered, 100, 0.95)) < SIG


def test_gaussian_start_lands_left_with_the_normal_probability_of_starting_left():
    mean, std, n = 0.3, 0.5, 2000
    stats = basin_statistics(WELL, MINIMA, init=("gaussian", mean, std), n_chains=n, n_steps=400,
                             step_size=0.01, seed=SEED)
    assert abs(_z(stats.counts[0], n, norm.cdf((BARRIER - mean) / std))) < SIG


def test_gaussian_start_with_a_covariance_on_the_symmetric_double_well():
    # the basin boundary is the line x = 0 (U is even in x); P(left) = Phi(-mean_x / sqrt(cov_xx))
    cov = np.array([[0.5, 0.2], [0.2, 0.3]])
    mean, n = np.array([0.2, 0.1]), 2000
    stats = basin_statistics(symmetric_double_well(), [[-1.0, 0.0], [1.0, 0.0]], init=("gaussian", mean, cov),
                             n_chains=n, n_steps=400, step_size=0.005, seed=SEED)
    assert stats.n_unassigned == 0
    assert abs(_z(stats.counts[0], n, norm.cdf(-mean[0] / math.sqrt(cov[0, 0])))) < SIG


def test_ula_chains_are_assigned_to_the_basin_they_sit_in_at_the_end():
    # after relaxation (time 12, Kramers time about 1.5) ULA samples exp(-U/T): the fraction quenched into the
    # left basin is the Gibbs mass of x < barrier (exact quadrature), up to ULA's O(h) bias
    T, n = 1.0, 1000
    stats = basin_statistics(WELL, MINIMA, method="ula", init=("uniform", [[-1.8, 1.6]]), n_chains=n,
                             n_steps=6000, step_size=0.002, temperature=T, seed=SEED)
    density = lambda x: math.exp(-((x * x - 1) ** 2 + TILT * x) / T)  # noqa: E731
    left = integrate.quad(density, -5.0, BARRIER, epsabs=0, epsrel=1e-12)[0]
    total = left + integrate.quad(density, BARRIER, 5.0, epsabs=0, epsrel=1e-12)[0]
    assert stats.n_unassigned == 0
    assert abs(_z(stats.counts[0], n, left / total)) < SIG
    assert np.all((stats.labels == 0) == (stats.end_points[:, 0] < BARRIER))


def test_minima_may_be_objects_with_a_position():
    points = [SimpleNamespace(position=np.array(m)) for m in MINIMA]
    kwargs = dict(init=("uniform", [[-1.8, 1.6]]), n_chains=50, n_steps=200, step_size=0.01, seed=SEED)
    assert (basin_statistics(WELL, points, **kwargs).labels == basin_statistics(WELL, MINIMA, **kwargs).labels).all()


def test_given_start_points_and_diverged_chains():
    x0 = np.array([[-1.5], [-0.2], [0.5], [30.0]])           # the last one diverges under GD with eta = 0.01
    stats = basin_statistics(WELL, MINIMA, init=x0, n_chains=4, n_steps=300, step_size=0.01, seed=SEED)
    assert stats.labels.tolist() == [0, 0, 1, -1]
    assert stats.n_diverged == 1 and stats.n_unassigned == 1 and stats.counts.tolist() == [2, 1]


def test_chain_c_starts_at_the_same_point_whatever_the_number_of_chains():
    kwargs = dict(init=("gaussian", 0.0, 2.0), n_steps=1, step_size=1e-9, quench_steps=0, seed=SEED)
    few = basin_statistics(WELL, MINIMA, n_chains=5, **kwargs).end_points
    many = basin_statistics(WELL, MINIMA, n_chains=50, **kwargs).end_points
    assert few.tolist() == many[:5].tolist()


SCRIPT = """
import json
from models import double_well
from sandbox.basins import basin_statistics
stats = basin_statistics(double_well(c=0.4), [[-1.05], [0.95]], method="ula", init=("uniform", [[-1.8, 1.6]]),
                         n_chains=64, n_steps=300, step_size=0.01, temperature=0.5, seed=3)
print(json.dumps({"labels": stats.labels.tolist(), "x": stats.end_points.ravel().tolist()}))
"""


def test_same_seed_same_numbers_with_1_and_2_threads(outputs_with_1_and_2_threads):
    one, two = outputs_with_1_and_2_threads(SCRIPT)
    assert one == two
    assert len(set(one["labels"])) == 2


@pytest.mark.parametrize("kwargs, message", [
    (dict(minima=[[0.0, 1.0]]), r"minima must have shape \(K, 1\)"),
    (dict(minima=[[1.0], [1.0]]), "minima must be distinct points; rows 0 and 1 are equal"),
    (dict(minima=[[np.nan]]), "minima must be finite"),
    (dict(method="adam"), "method"),
    (dict(n_chains=0), "n_chains"),
    (dict(n_steps=0), "n_steps"),
    (dict(step_size=0.0), "step_size must be > 0, got 0.0"),
    (dict(tolerance=-1.0), "tolerance must be > 0"),
    (dict(quench_steps=-1), "quench_steps"),
    (dict(quench_step_size=0.0), "quench_step_size must be > 0"),
    (dict(init=("sobol", [[-1.0, 1.0]])), r"init\[0\]"),
    (dict(init=("uniform", [[1.0, -1.0]])), r"init bounds row 0 must have low < high, got \[1.0, -1.0\]"),
    (dict(init=("uniform", [-1.0, 1.0])), r"init bounds must have shape \(1, 2\)"),
    (dict(init=("gaussian", 0.0)), r"init must be \('gaussian', mean, std_or_cov\)"),
    (dict(init=("gaussian", [0.0, 1.0], 1.0)), r"init mean must be a float or have shape \(1,\)"),
    (dict(init=("gaussian", 0.0, -1.0)), r"init std_or_cov \(standard deviations\) must be >= 0, got -1.0"),
    (dict(init=("gaussian", 0.0, [[-1.0]])), "init std_or_cov covariance must be positive semi-definite"),
    (dict(init=np.zeros((3, 1))), r"init points must have shape \(4, 1\)"),
    (dict(temperature=1.0), "method 'gd' is noiseless"),
])
def test_bad_input_raises_naming_the_parameter(kwargs, message):
    args = dict(minima=MINIMA, init=("uniform", [[-1.0, 1.0]]), n_chains=4, n_steps=5, step_size=0.01)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        basin_statistics(WELL, args.pop("minima"), **args)
