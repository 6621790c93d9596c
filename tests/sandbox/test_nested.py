"""Tests of sandbox.nested (density of states by nested sampling).

Truths: the exact ellipsoid volume (``analysis.volume.log_sublevel_volume``),
the exact normal-crossing volume on a box
(``analysis.volume.log_normal_crossing_volume``), the strip
{|x_1| <= sqrt(2 eps)} of a Hessian with a flat direction, and the
chi-square law of a sample variance (for the honesty of the reported
standard error). Random tests use a fixed seed that ``SANDBOX_TEST_SEED``
overrides; z-score thresholds are 5 standard errors.
"""
import math
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chi2, ncx2

from analysis.volume import log_normal_crossing_volume, log_sublevel_volume
from models import NormalCrossing, Quadratic, random_rotation
from sandbox.nested import MOVES, benchmark_dos, density_of_states, min_live_points, repeat_spread

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240917"))
SIG = 5.0


def assert_z(est, truth, what, sig=SIG):
    value, se = np.atleast_1d(est.value), np.atleast_1d(est.stderr)
    z = (value - truth) / se
    assert np.all(np.abs(z) < sig), f"{what}: {value} +- {se} vs {truth} (z = {z})"


# --------------------------------------------------------------------------
# Against exact volumes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("d, cond, rotated", [(2, 10.0, False), (10, 1e2, True), (20, 1e4, False)])
def test_ellipsoid_log_volume_matches_the_exact_formula(d, cond, rotated):
    lam = np.geomspace(1.0, cond, d)
    q = Quadratic(lam, rotation=random_rotation(d, seed=SEED) if rotated else None)
    eps = np.array([1.0, 0.3, 0.1, 0.03])
    dos = density_of_states(q, bounds=(-2.0, 2.0), eps_min=eps.min(), n_live=200, seed=SEED + d)
    exact = np.array([log_sublevel_volume(lam, e) for e in eps])
    assert_z(dos.log_volume(eps), exact, f"ellipsoid d={d}")
    # the deepest level really is deep: the set is many nats below the box
    assert dos.log_box_volume - exact[-1] > 2.5 * d


def test_the_sampler_never_sees_the_axes():
    # a dense rotated ellipsoid has the same volume as its axis-aligned twin
    d, lam = 6, np.geomspace(1.0, 300.0, 6)
    q = Quadratic(lam, rotation=random_rotation(d, seed=SEED + 1), center=0.1 * np.ones(d))
    dos = density_of_states(q, bounds=(-2.0, 2.0), eps_min=0.01, n_live=200, seed=SEED)
    assert_z(dos.log_volume(0.01), log_sublevel_volume(lam, 0.01), "rotated, shifted ellipsoid")


@pytest.mark.parametrize("exponents", [(1, 1), (1, 2), (1, 1, 1)])
def test_normal_crossing_log_volume_matches_the_exact_formula(exponents):
    eps = np.array([1e-2, 1e-4, 1e-6])
    dos = density_of_states(NormalCrossing(exponents), bounds=(-1.0, 1.0), eps_min=1e-6, n_live=200,
                            seed=SEED)
    exact = np.array([log_normal_crossing_volume(e, exponents) for e in eps])
    assert_z(dos.log_volume(eps), exact, f"normal crossing {exponents}")


def test_flat_direction_inside_the_box_gives_a_strip():
    # L = x1^2 / 2 on [-2, 2]^2: {L <= eps} is the strip |x1| <= sqrt(2 eps), of area 4 * 2 sqrt(2 eps)
    dos = density_of_states(Quadratic([1.0, 0.0]), bounds=(-2.0, 2.0), eps_min=1e-4, n_live=100, seed=SEED)
    eps = np.array([0.5, 1e-2, 1e-4])
    assert_z(dos.log_volume(eps), np.log(8.0 * np.sqrt(2.0 * eps)), "strip")


def test_asymmetric_box_clips_the_set():
    # L = x^2 / 2 on [0, 3] (d = 1): V(eps) = sqrt(2 eps) for eps <= 4.5, and 3 above
    dos = density_of_states(Quadratic([1.0]), bounds=(0.0, 3.0), eps_min=1e-3, n_live=100, seed=SEED)
    eps = np.array([2.0, 0.1, 1e-3])
    assert_z(dos.log_volume(eps), 0.5 * np.log(2.0 * eps), "half line")
    top = dos.log_volume(10.0)
    assert top.value == pytest.approx(math.log(3.0)) and top.stderr == pytest.approx(1.0 / 100)


@pytest.mark.parametrize("d, c, std", [(1, 1.0, 1.0), (6, 2.0, 0.5)])
def test_gaussian_prior_mass_is_the_chi_square_law(d, c, std):
    # x ~ N(0, std^2 I), L = c |x|^2 / 2: P(L <= eps) = P(chi^2_d <= 2 eps / (c std^2))
    eps = np.array([1.0, 0.1, 1e-2, 1e-3])
    dos = density_of_states(Quadratic(c * np.ones(d)), gaussian=(0.0, std), eps_min=1e-3, n_live=200,
                            seed=SEED)
    assert dos.log_box_volume == 0.0
    assert_z(dos.log_volume(eps), chi2.logcdf(2 * eps / (c * std**2), d), f"gaussian prior d={d}")


def test_gaussian_prior_off_centre_is_the_noncentral_chi_square_law():
    # x ~ N(m, std^2 I), L = |x - c|^2 / 2: |x - c|^2 / std^2 is noncentral chi^2_d, nc = |m - c|^2 / std^2
    d, std = 4, np.array([0.5, 0.5, 0.5, 0.5])
    mean, centre = np.array([0.3, -0.2, 0.0, 0.1]), np.array([-0.4, 0.2, 0.5, 0.0])
    eps = np.array([0.5, 0.05, 5e-3])
    dos = density_of_states(Quadratic(np.ones(d), center=centre), gaussian=(mean, std), eps_min=5e-3,
                            n_live=200, seed=SEED)
    exact = ncx2.logcdf(2 * eps / std[0]**2, d, np.sum((mean - centre)**2) / std[0]**2)
    assert_z(dos.log_volume(eps), exact, "off-centre gaussian prior")


def test_reported_stderr_matches_the_spread_of_repeated_runs():
    # With r runs the sample variance s^2 obeys (r - 1) s^2 / sigma^2 ~ chi^2_{r-1} (normal estimates):
    # the ratio spread / reported stderr must lie in its central 1 - 1e-6 interval.
    r = 24
    spread = repeat_spread(Quadratic([1.0, 10.0, 100.0]), [0.01], bounds=(-1.0, 1.0), n_repeats=r,
                           n_live=50, seed=SEED)
    lo, hi = np.sqrt(chi2.ppf([0.5e-6, 1 - 0.5e-6], r - 1) / (r - 1))
    assert spread.values.shape == (r, 1)
    assert lo < spread.ratio[0] < hi, f"spread / stderr = {spread.ratio[0]:.3f}, expected in [{lo:.2f}, {hi:.2f}]"


def test_diagnostics_are_consistent():
    dos = density_of_states(Quadratic([1.0, 4.0, 9.0]), bounds=(-2.0, 2.0), eps_min=0.01, n_live=100,
                            fraction=0.05, seed=SEED)
    info = dos.info
    assert info.stop_reason == "eps_min"
    assert info.n_replace == 5 and info.n_live == 100 and info.n_steps == 40
    # depth is log vol(box) - log V at the last threshold, which is <= eps_min and one iteration
    # (k / n = 0.05 nats) past the level above it; its error follows Skilling's sqrt(H / n)
    excess = info.depth - (dos.log_box_volume - dos.log_volume(0.01).value)
    assert 0.0 <= excess <= 0.1
    assert info.depth_stderr == pytest.approx(info.depth_stderr_rule, rel=0.05)
    assert 0.0 < info.acceptance <= 1.0
    # every replacement costs at least one evaluation per slice step
    assert info.n_evaluations >= info.n_live + info.n_iterations * info.n_replace * info.n_steps
    assert len(info.move_weights) == len(MOVES) == 3 and math.isclose(sum(info.move_weights), 1.0)
    assert np.all(np.diff(dos.eps) > 0) and np.all(np.diff(dos.log_volumes) >= 0)
    assert np.all(np.diff(dos.stderr) <= 0)


def test_default_stop_resolves_the_minimum():
    dos = density_of_states(Quadratic([1.0, 2.0]), bounds=(-1.0, 1.0), n_live=50, seed=SEED)
    assert dos.info.stop_reason == "spread"
    assert dos.eps[0] < 1e-3 * 1.5      # initial loss span is 1.5


@given(st.integers(-20, 20))
def test_volumes_are_invariant_under_scaling_the_loss(k):
    # The sampler only compares losses, so L -> 2^k L (exact in floating point) maps eps -> 2^k eps
    # and leaves every volume bitwise unchanged.
    lam = np.array([1.0, 3.0])
    base = density_of_states(Quadratic(lam), bounds=(-1.0, 1.0), eps_min=1e-3, n_live=20, n_steps=5, seed=1)
    scaled = density_of_states(Quadratic(lam * 2.0**k), bounds=(-1.0, 1.0), eps_min=1e-3 * 2.0**k, n_live=20,
                               n_steps=5, seed=1)
    np.testing.assert_array_equal(scaled.eps, base.eps * 2.0**k)
    np.testing.assert_array_equal(scaled.log_volumes, base.log_volumes)


def test_benchmark_case_is_the_exact_ellipsoid_just_inside_the_cube():
    b = benchmark_dos(10, stderr=0.3)
    assert b.exact == pytest.approx(log_sublevel_volume(np.logspace(0.0, 2.0, 10), 1.0), rel=1e-12)
    exact_depth = 10 * math.log(2.0 * math.sqrt(2.0)) - b.exact      # log vol(box) - log V
    assert b.n_live == round(exact_depth / 0.3**2, -2)
    assert b.n_steps == 40 and b.wall_time > 0 and b.n_evaluations > b.n_live * b.n_steps
    assert_z(b.estimate, b.exact, "benchmark ellipsoid d=10")


# --------------------------------------------------------------------------
# Reproducibility
# --------------------------------------------------------------------------


def test_same_seed_same_numbers_and_other_seed_other_numbers():
    q = Quadratic([1.0, 5.0, 25.0])
    a, b, c = (density_of_states(q, bounds=(-1.0, 1.0), eps_min=1e-3, n_live=40, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.eps, b.eps)
    np.testing.assert_array_equal(a.log_volumes, b.log_volumes)
    assert a.info == b.info
    assert not np.array_equal(a.eps, c.eps)


_THREAD_SCRIPT = """
import json, sys
import numba
import numpy as np
from models import NormalCrossing, Quadratic, random_rotation
from sandbox.nested import density_of_states

seed = int(sys.argv[1])
out = {"threads": numba.get_num_threads()}
q = Quadratic(np.geomspace(1.0, 100.0, 8), rotation=random_rotation(8, seed=2))
dos = density_of_states(q, bounds=(-1.0, 1.0), eps_min=1e-2, n_live=60, seed=seed)
out["ellipsoid"] = dos.log_volumes.tobytes().hex() + dos.eps.tobytes().hex()
dos = density_of_states(NormalCrossing([1, 2]), bounds=(-1.0, 1.0), eps_min=1e-5, n_live=40, seed=seed)
out["normal_crossing"] = dos.log_volumes.tobytes().hex() + dos.eps.tobytes().hex()
dos = density_of_states(q, gaussian=(0.1, 0.5), eps_min=1e-2, n_live=40, seed=seed)
out["gaussian_prior"] = dos.log_volumes.tobytes().hex() + dos.eps.tobytes().hex()
print(json.dumps(out))
"""


def test_results_are_bitwise_identical_whatever_the_numba_thread_count(outputs_with_1_and_2_threads):
    one, two = outputs_with_1_and_2_threads(_THREAD_SCRIPT, SEED)
    assert one.pop("threads") == 1 and two.pop("threads") == 2
    assert set(one) == {"ellipsoid", "normal_crossing", "gaussian_prior"}
    for case in one:
        assert one[case] == two[case], f"{case} depends on the thread count"


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("bounds, match", [((1.0, 1.0), "low < high"), ((2.0, -2.0), "low < high"),
                                           (([0.0, 0.0], [1.0, 0.0]), "coordinate 1"),
                                           (([0.0, 0.0, 0.0], 1.0), "bounds"), (1.0, "pair"),
                                           ((0.0, np.inf), "bounds")])
def test_bad_bounds_are_value_errors(bounds, match):
    with pytest.raises(ValueError, match=match):
        density_of_states(Quadratic([1.0, 1.0]), bounds=bounds, eps_min=0.1)


@pytest.mark.parametrize("options, match", [({"n_live": min_live_points(30) - 1}, "n_live"),
                                            ({"n_steps": 0}, "n_steps"), ({"fraction": 0.6}, "fraction"),
                                            ({"moves": (1.0, -1.0, 0.0)}, "moves"),
                                            ({"moves": (1.0, 1.0)}, "moves"),
                                            ({"eps_min": float("nan")}, "eps_min"),
                                            ({"spread_rtol": 1.0}, "spread_rtol"),
                                            ({"max_depth": -1.0}, "max_depth")])
def test_bad_options_are_value_errors(options, match):
    with pytest.raises(ValueError, match=match):
        density_of_states(Quadratic(np.ones(30)), bounds=(-1.0, 1.0), **options)


@pytest.mark.parametrize("options, match", [({}, "exactly one"),
                                            ({"bounds": (-1.0, 1.0), "gaussian": (0.0, 1.0)}, "exactly one"),
                                            ({"gaussian": (0.0, 0.0)}, "std must be > 0"),
                                            ({"gaussian": (0.0, [1.0, -1.0])}, "std must be > 0"),
                                            ({"gaussian": (np.nan, 1.0)}, "gaussian mean"),
                                            ({"gaussian": ([0.0, 0.0, 0.0], 1.0)}, "gaussian mean"),
                                            ({"gaussian": 1.0}, "pair")])
def test_bad_prior_choice_is_a_value_error(options, match):
    with pytest.raises(ValueError, match=match):
        density_of_states(Quadratic([1.0, 1.0]), eps_min=0.1, **options)


def test_not_a_landscape_is_a_value_error():
    with pytest.raises(ValueError, match="landscape"):
        density_of_states(lambda x: x @ x, bounds=(-1.0, 1.0), eps_min=0.1)


def test_non_finite_loss_in_the_box_is_an_error_not_a_number():
    # 1e308 x^2 / 2 overflows to inf for |x| > 1.42
    with pytest.raises(ValueError, match="loss is inf at x="):
        density_of_states(Quadratic([1e308]), bounds=(-10.0, 10.0), eps_min=1e300, n_live=20, seed=SEED)


def test_eps_below_the_sampled_range_is_a_value_error():
    dos = density_of_states(Quadratic([1.0, 2.0]), bounds=(-1.0, 1.0), eps_min=0.01, n_live=30, seed=SEED)
    with pytest.raises(ValueError, match="eps must be >="):
        dos.log_volume(dos.eps[0] / 2)
    with pytest.raises(ValueError, match="eps"):
        dos.log_volume(float("nan"))


def test_eps_min_below_the_minimum_on_the_box_is_an_error():
    # the minimum sits outside the box: the lowest loss on [-1, 1] is (3 - 1)^2 / 2 = 2
    q = Quadratic([1.0], center=[3.0])
    with pytest.raises(RuntimeError, match="eps_min"):
        density_of_states(q, bounds=(-1.0, 1.0), eps_min=1.0, n_live=20, max_depth=15.0, seed=SEED)


def test_eps_min_on_a_plateau_is_a_value_error():
    # L = 0 on the whole box: every live point ties at the top level
    with pytest.raises(ValueError, match="eps_min"):
        density_of_states(Quadratic([0.0, 0.0]), bounds=(-1.0, 1.0), eps_min=-1.0, n_live=20, seed=SEED)


# --- the seam into the RLCT fit -------------------------------------------------------

def test_fit_volume_exponent_takes_the_density_of_states_as_a_user_writes_it():
    """density_of_states -> fit_volume_exponent, the natural call: the RLCT and multiplicity of
    w1^2 w2^2 (lambda = 1/2, m = 2) within 5 standard errors, on the honest grid fit."""
    from analysis.volume import fit_volume_exponent

    dos = density_of_states(NormalCrossing([1, 1]), bounds=(-1.0, 1.0), eps_min=1e-9, n_live=300, seed=SEED)
    fit = fit_volume_exponent(dos, eps_min=1e-8, eps_max=1e-3)
    assert abs(fit.lam.z(0.5)) < SIG, fit
    assert abs(fit.m_minus_1.z(1.0)) < SIG, fit
    assert fit.n_points == 25
    # the same grid through the array interface with the cumulative model gives the same fit
    grid = np.geomspace(1e-3, 1e-8, 25)
    at = dos.log_volume(grid)
    same = fit_volume_exponent((grid, at.value, at.stderr), eps_min=1e-8, eps_max=1e-3, errors="cumulative")
    assert same.lam == fit.lam and same.m_minus_1 == fit.m_minus_1
    with pytest.raises(ValueError, match="eps_min"):
        fit_volume_exponent(dos, eps_min=dos.eps[0] / 10, eps_max=1e-3)
