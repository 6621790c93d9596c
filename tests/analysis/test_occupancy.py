"""Gibbs occupancy of basins: Laplace's formula and its correction against exact quadrature, and the quadrature
against closed forms (erf, the Gaussian y-integral of the entropic double well, polar quadrature)."""
import doctest

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.integrate import dblquad, quad
from scipy.special import ndtr

import analysis.occupancy
from analysis.critical import CriticalPoint
from analysis.occupancy import exact_occupancy, laplace_correction, laplace_occupancy, log_laplace_partition
from analysis.strategies import multiwells, rotations
from models import MultiWell, Quadratic, Symbolic, entropic_double_well

A = np.log(2.0)


def halves(x):
    return (x[:, 0] > 0).astype(int)


class HessianOnly:
    """A landscape seen only through its Hessian, so that laplace_correction takes finite differences."""

    def __init__(self, landscape):
        self.dim = landscape.dim
        self._landscape = landscape

    def hessian(self, x):
        return self._landscape.hessian(x)


QUARTIC_1D = Symbolic("x**2/2 + b*x**3 + q*x**4", ["x"], parameters={"b": 0.1, "q": 0.1})
WELL_2D = Symbolic("x**2 + x*y + y**2 + a*x**3 + b*x*y**2 + c*x**2*y**2 + e*y**4 + f*x**3*y", ["x", "y"],
                   parameters={"a": 0.2, "b": -0.3, "c": 0.2, "e": 0.3, "f": 0.05})
WELL_2D_HESSIAN = np.array([[2.0, 1.0], [1.0, 2.0]])


# --- Laplace's formula and its correction ------------------------------------------------------

def test_laplace_occupancy_of_equal_depth_wells_is_inverse_sqrt_det():
    p = laplace_occupancy([(0.0, np.eye(2)), (0.0, [1.0, 4.0])], 0.3)
    np.testing.assert_allclose(p, [2 / 3, 1 / 3], rtol=1e-14)


def test_laplace_occupancy_weights_depths_by_boltzmann_factor():
    t = 0.25
    p = laplace_occupancy([(0.0, [2.0]), (0.5, [2.0])], t)
    assert p[1] / p[0] == pytest.approx(np.exp(-0.5 / t), rel=1e-13)


def test_log_laplace_partition_of_a_gaussian_is_exact():
    t, lam = 0.7, np.array([0.5, 3.0])
    log_z = log_laplace_partition([(1.0, lam)], t)[0]
    assert log_z == pytest.approx(np.log(2 * np.pi * t) - 0.5 * np.log(lam).sum() - 1.0 / t, rel=1e-14)


def test_laplace_occupancy_accepts_critical_points():
    w = entropic_double_well()
    minima = [CriticalPoint(np.array([s, 0.0]), 0.0, np.linalg.eigvalsh(w.hessian([s, 0.0])), 0) for s in (-1, 1)]
    np.testing.assert_allclose(laplace_occupancy(minima, 0.1), [2 / 3, 1 / 3], rtol=1e-12)


def test_gaussian_wells_have_zero_correction():
    q = Symbolic("x**2 + x*y + 2*y**2 + z**2/2", ["x", "y", "z"])
    assert laplace_correction(q, [0.3, -0.2, 1.0]) == 0.0
    assert abs(laplace_correction(HessianOnly(q), [0.3, -0.2, 1.0])) < 1e-8
    w = MultiWell([[-1.0, 0.0], [1.0, 0.0]], [np.eye(2), [[2.0, 0.5], [0.5, 1.0]]])
    assert laplace_correction(w, [1.0, 0.0]) == 0.0
    p0 = laplace_occupancy([(0.0, np.eye(2), [-1.0, 0.0]), (0.0, w.hessians[1], [1.0, 0.0])], 0.2)
    p1 = laplace_occupancy([(0.0, np.eye(2), [-1.0, 0.0]), (0.0, w.hessians[1], [1.0, 0.0])], 0.2,
                           correction=True, landscape=w)
    np.testing.assert_allclose(p1, p0, rtol=1e-14)


def test_one_dimensional_correction_is_5_u3_squared_over_24_minus_u4_over_8():
    # U'' = 1, U''' = 6 b = 0.6, U'''' = 24 q = 2.4
    expected = 5 * 0.6 ** 2 / 24 - 2.4 / 8
    assert laplace_correction(QUARTIC_1D, [0.0]) == pytest.approx(expected, rel=1e-14)
    assert laplace_correction(HessianOnly(QUARTIC_1D), [0.0]) == pytest.approx(expected, rel=1e-8)


def test_finite_difference_correction_matches_sympy_in_two_dimensions():
    exact = laplace_correction(WELL_2D, [0.0, 0.0])
    assert laplace_correction(HessianOnly(WELL_2D), [0.0, 0.0]) == pytest.approx(exact, rel=1e-8)
    assert laplace_correction(HessianOnly(WELL_2D), [0.0, 0.0], step=1e-2) == pytest.approx(exact, rel=1e-3)


def test_correction_reduces_the_error_from_order_t_to_order_t_squared_in_one_dimension():
    errors = []
    for t in (0.01, 0.005, 0.0025):
        z = quad(lambda x: np.exp(-(x * x / 2 + 0.1 * x ** 3 + 0.1 * x ** 4) / t), -3, 3, epsabs=0,
                 epsrel=1e-13, limit=200)[0]
        well = [(0.0, [1.0], [0.0])]
        plain_error = np.log(z) - log_laplace_partition(well, t)[0]
        corrected_error = np.log(z) - log_laplace_partition(well, t, correction=True, landscape=QUARTIC_1D)[0]
        errors.append((plain_error, corrected_error))
    errors = np.abs(errors)
    ratios = errors[:-1] / errors[1:]                   # halving T
    assert np.all((ratios[:, 0] > 1.9) & (ratios[:, 0] < 2.1))      # Laplace alone: O(T)
    assert np.all((ratios[:, 1] > 3.7) & (ratios[:, 1] < 4.3))      # with the correction: O(T^2)
    assert errors[-1, 1] < errors[-1, 0] / 50


def test_multivariate_correction_against_exact_quadrature():
    # non-separable cubic and quartic terms and a non-diagonal Hessian: the 1/8 and 1/12 contractions differ
    c = laplace_correction(WELL_2D, [0.0, 0.0])
    well = [(0.0, WELL_2D_HESSIAN, [0.0, 0.0])]
    errors = []
    for t in (0.01, 0.005):
        exact = exact_occupancy(WELL_2D, t, bounds=[[-1.5, 1.5], [-1.5, 1.5]],
                                partition=lambda x: np.zeros(len(x), dtype=int))
        assert exact.log_partition_error[0] < 1e-10
        plain_error = exact.log_partition[0] - log_laplace_partition(well, t)[0]
        corrected = log_laplace_partition(well, t, correction=True, landscape=WELL_2D)[0]
        errors.append((plain_error, exact.log_partition[0] - corrected))
        assert plain_error / t == pytest.approx(c, rel=0.1)
    (p1, c1), (p2, c2) = np.abs(errors)
    assert 1.9 < p1 / p2 < 2.1 and 3.7 < c1 / c2 < 4.3


@settings(max_examples=20)
@given(multiwells(d=st.integers(1, 3), n_wells=st.integers(1, 3), low=0.2, high=5.0),
       st.data(), st.floats(0.05, 2.0))
def test_laplace_occupancy_is_invariant_under_rotation_and_shift_of_the_wells(w, data, t):
    rot = data.draw(rotations(w.dim))
    shift = np.array(data.draw(st.lists(st.floats(-3, 3), min_size=w.dim, max_size=w.dim)))
    moved = MultiWell(w.centers @ rot.T + shift, rot @ w.hessians @ rot.T, depths=w.depths)
    before = laplace_occupancy(list(zip(w.depths, w.hessians, w.centers)), t)
    after = laplace_occupancy(list(zip(moved.depths, moved.hessians, moved.centers)), t)
    np.testing.assert_allclose(after, before, rtol=1e-9, atol=1e-300)


@settings(max_examples=10)
@given(rotations(2, proper=True), st.floats(-1, 1), st.floats(-1, 1))
def test_correction_is_invariant_under_rotation_and_shift(rot, s0, s1):
    x = "(r00*(x - s0) + r10*(y - s1))"
    y = "(r01*(x - s0) + r11*(y - s1))"
    expr = (f"{x}**2 + {x}*{y} + {y}**2 + 0.2*{x}**3 - 0.3*{x}*{y}**2 + 0.2*{x}**2*{y}**2 + 0.3*{y}**4 "
            f"+ 0.05*{x}**3*{y}")
    moved = Symbolic(expr, ["x", "y"], parameters={"r00": rot[0, 0], "r01": rot[0, 1], "r10": rot[1, 0],
                                                   "r11": rot[1, 1], "s0": s0, "s1": s1})
    assert laplace_correction(moved, [s0, s1]) == pytest.approx(laplace_correction(WELL_2D, [0.0, 0.0]),
                                                                rel=1e-10)


# --- exact occupancy -----------------------------------------------------------------------------

def _entropic_one_dimensional(t):
    """Z_left, Z_right of the entropic double well: the y-integral is sqrt(2 pi T exp(-a x))."""
    f = lambda x: np.exp(-(x * x - 1) ** 2 / t) * np.sqrt(2 * np.pi * t * np.exp(-A * x))  # noqa: E731
    return np.array([quad(f, lo, hi, epsabs=0, epsrel=1e-13, limit=200)[0] for lo, hi in ((-3, 0), (0, 3))])


@pytest.mark.parametrize("t", [0.1, 0.25, 0.5, 1.0])
def test_exact_occupancy_of_the_entropic_double_well_matches_the_one_dimensional_integral(t):
    r = exact_occupancy(entropic_double_well(), t, bounds=[[-3, 3], [-20, 20]], partition=halves)
    z = _entropic_one_dimensional(t)
    np.testing.assert_allclose(r.probabilities, z / z.sum(), rtol=1e-9)
    np.testing.assert_allclose(r.log_partition, np.log(z), rtol=0, atol=1e-9)
    assert r.error.max() < 1e-8 and r.details["converged"]


def test_exact_occupancy_ratio_tends_to_laplace_on_the_entropic_double_well():
    w = entropic_double_well()
    minima = [CriticalPoint(np.array([s, 0.0]), 0.0, np.linalg.eigvalsh(w.hessian([s, 0.0])), 0) for s in (-1, 1)]
    gaps, corrected_gaps = [], []
    for t in (0.1, 0.05, 0.025, 0.0125):
        r = exact_occupancy(w, t, bounds=[[-2.5, 2.5], [-6, 6]], partition=halves)
        assert r.error.max() < 1e-12
        ratio = r.probabilities[0] / r.probabilities[1]
        p = laplace_occupancy(minima, t, correction=True, landscape=w)
        gaps.append(abs(ratio / 2 - 1))                                     # Laplace: exp(a) = 2
        corrected_gaps.append(abs(ratio / (p[0] / p[1]) - 1))
    gaps, corrected_gaps = np.array(gaps), np.array(corrected_gaps)
    assert gaps[-1] < 0.002
    ratios = gaps[:-1] / gaps[1:]                                           # halving T
    assert np.all((ratios > 1.9) & (ratios < 2.2)) and 1.95 < ratios[-1] < 2.05                     # O(T)
    assert 3.7 < corrected_gaps[-2] / corrected_gaps[-1] < 4.3                                      # O(T^2)
    assert corrected_gaps[-1] < gaps[-1] / 50


def test_exact_occupancy_of_a_one_dimensional_multiwell_matches_erf():
    t = 0.7
    w = MultiWell([[-1.0], [1.0]], [[[1.0]], [[4.0]]], depths=[0.0, 0.3])
    r = exact_occupancy(w, t, bounds=[[-15, 15]], partition=w.basin_of)
    # the sharp well's basin [r1, r2]: 1/2 (x + 1)^2 = 0.3 + 2 (x - 1)^2
    r1, r2 = np.sort(np.roots([-1.5, 5.0, -1.8]).real)

    def gauss(c, lam, depth, lo, hi):
        s = np.sqrt(t / lam)
        return np.exp(-depth / t) * np.sqrt(2 * np.pi) * s * (ndtr((hi - c) / s) - ndtr((lo - c) / s))

    z = np.array([gauss(-1, 1, 0, -15, r1) + gauss(-1, 1, 0, r2, 15), gauss(1, 4, 0.3, r1, r2)])
    np.testing.assert_allclose(r.probabilities, z / z.sum(), rtol=1e-12)
    np.testing.assert_allclose(np.exp(r.log_partition), z, rtol=1e-12)


def test_exact_occupancy_with_a_slanted_planar_boundary_matches_erf():
    # equal Hessians: the basin boundary is a line, here not parallel to any axis
    t, h = 0.6, np.array([[2.0, 0.7], [0.7, 1.0]])
    c = np.array([[-0.8, -0.5], [0.9, 0.6]])
    w = MultiWell(c, [h, h], depths=[0.0, 0.2])
    r = exact_occupancy(w, t, bounds=[[-9, 9], [-9, 9]], partition=w.basin_of)
    # x in basin 1 iff n.x > k, n = H (c1 - c0), k = (c1 H c1 - c0 H c0) / 2 + depth1 - depth0
    n = h @ (c[1] - c[0])
    k = 0.5 * (c[1] @ h @ c[1] - c[0] @ h @ c[0]) + 0.2
    sd = np.sqrt(t * n @ np.linalg.solve(h, n))
    base = 2 * np.pi * t / np.sqrt(np.linalg.det(h))
    z = np.array([base * ndtr((k - n @ c[0]) / sd), base * np.exp(-0.2 / t) * ndtr((n @ c[1] - k) / sd)])
    np.testing.assert_allclose(r.probabilities, z / z.sum(), rtol=1e-10)
    np.testing.assert_allclose(r.log_partition, np.log(z), rtol=0, atol=1e-10)


def test_exact_occupancy_of_a_disk_shaped_basin_matches_polar_quadrature_within_its_error_estimate():
    # lines along x graze the disk at its top and bottom, where the density is high: the hard case
    t = 0.5
    disk = lambda x: ((x[:, 0] - 1) ** 2 + x[:, 1] ** 2 < 0.25).astype(int)  # noqa: E731
    r = exact_occupancy(entropic_double_well(), t, bounds=[[-3, 3], [-8, 8]], partition=disk, n_panels=8,
                        rtol=1e-7)
    u = lambda x, y: (x * x - 1) ** 2 + np.exp(A * x) * y * y / 2  # noqa: E731
    z = dblquad(lambda rr, th: np.exp(-u(1 + rr * np.cos(th), rr * np.sin(th)) / t) * rr, 0, 2 * np.pi, 0, 0.5,
                epsabs=0, epsrel=1e-12)[0]
    actual = abs(np.exp(r.log_partition[1]) / z - 1)
    assert actual < 1e-6
    assert actual <= r.log_partition_error[1] + 1e-10


def test_exact_occupancy_of_the_det_ratio_4_pair_tends_to_two_thirds():
    w = MultiWell([[-1.5, 0.0], [1.5, 0.0]], [np.eye(2), 2 * np.eye(2)])
    r = exact_occupancy(w, 0.1, bounds=[[-8, 8], [-8, 8]], partition=w.basin_of, n_panels=16)
    np.testing.assert_allclose(r.probabilities, [2 / 3, 1 / 3], rtol=1e-6)
    high = exact_occupancy(w, 1.0, bounds=[[-10, 10], [-10, 10]], partition=w.basin_of, n_panels=16)
    assert high.probabilities[0] - 2 / 3 > 1e-3          # finite-T boundary effects, resolved: error << gap
    assert high.error.max() < 1e-10


@settings(max_examples=4)
@given(multiwells(d=2, n_wells=2, low=0.5, high=4.0, spread=1.5, depths=(0.0, 0.5)),
       rotations(2), st.floats(-1, 1), st.floats(-1, 1))
def test_exact_occupancy_is_invariant_under_rotation_and_shift_of_a_multiwell(w, rot, s0, s1):
    t, box = 0.5, [[-10, 10], [-10, 10]]
    moved = MultiWell(w.centers @ rot.T + [s0, s1], rot @ w.hessians @ rot.T, depths=w.depths)
    options = dict(bounds=box, n_basins=2, n_panels=8, rtol=1e-8, max_doublings=3)
    before = exact_occupancy(w, t, partition=w.basin_of, **options)
    after = exact_occupancy(moved, t, partition=moved.basin_of, **options)
    tol = 1e-8 + before.error + after.error
    assert np.all(np.abs(after.probabilities - before.probabilities) <= tol)


def test_exact_occupancy_shifting_the_loss_changes_log_z_only():
    w = MultiWell([[-1.0, 0.0], [1.0, 0.5]], [np.eye(2), [[3.0, 1.0], [1.0, 2.0]]], depths=[0.1, 0.0])
    up = MultiWell(w.centers, w.hessians, depths=w.depths + 0.7)
    t, box = 0.4, [[-8, 8], [-8, 8]]
    a = exact_occupancy(w, t, bounds=box, partition=w.basin_of, n_panels=16)
    b = exact_occupancy(up, t, bounds=box, partition=up.basin_of, n_panels=16)
    np.testing.assert_allclose(b.probabilities, a.probabilities, rtol=1e-11)
    np.testing.assert_allclose(b.log_partition, a.log_partition - 0.7 / t, rtol=0, atol=1e-11)


def test_attraction_partition_finds_the_basins_of_a_tilted_double_well():
    w = Symbolic("(x**2 - 1)**2 + 0.3*x", ["x"])
    roots = np.roots([4, 0, -4, 0.3]).real
    saddle = roots[np.abs(roots) < 0.5][0]
    minima = np.sort(roots[np.abs(roots) > 0.5])
    t = 0.3
    r = exact_occupancy(w, t, bounds=[[-3, 3]], partition="attraction", minima=minima[:, None], n_panels=8,
                        max_doublings=1)
    f = lambda x: np.exp(-((x * x - 1) ** 2 + 0.3 * x) / t)  # noqa: E731
    z = np.array([quad(f, -3, saddle, epsabs=0, epsrel=1e-13)[0], quad(f, saddle, 3, epsabs=0, epsrel=1e-13)[0]])
    np.testing.assert_allclose(r.probabilities, z / z.sum(), rtol=1e-10)
    assert r.details["n_unassigned"] <= 2               # only points that land on the maximum itself


def test_exact_occupancy_in_three_dimensions_matches_a_gaussian_half_space():
    q = Quadratic([1.0, 2.0, 3.0], center=[0.3, 0.0, 0.0])
    t = 0.5
    r = exact_occupancy(q, t, bounds=[[-6, 6], [-5, 5], [-4, 4]], partition=halves, n_panels=4, n_nodes=16,
                        max_doublings=1)
    p_right = ndtr(0.3 / np.sqrt(t))
    np.testing.assert_allclose(r.probabilities, [1 - p_right, p_right], rtol=1e-10)
    log_z = 1.5 * np.log(2 * np.pi * t) - 0.5 * np.log(6.0)
    np.testing.assert_allclose(np.logaddexp(*r.log_partition), log_z, rtol=0, atol=1e-10)


# --- bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("t", [0.0, -1.0])
def test_non_positive_temperature_is_refused(t):
    with pytest.raises(ValueError, match="temperature must be > 0"):
        laplace_occupancy([(0.0, [1.0])], t)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        exact_occupancy(QUARTIC_1D, t, bounds=[[-1, 1]], partition=halves)


def test_more_than_three_dimensions_is_refused():
    with pytest.raises(ValueError, match="dim must be 1, 2 or 3; got dim=4"):
        exact_occupancy(Quadratic([1.0] * 4), 1.0, bounds=[[-1, 1]] * 4, partition=halves)


@pytest.mark.parametrize("bounds, message", [([[-1, 1]], r"bounds must have shape \(2, 2\)"),
                                             ([[-1, 1], [2, 2]], r"bounds\[1\] must have lo < hi, got \[2.0, 2.0\]"),
                                             ([[-1, np.inf], [0, 1]], "bounds must be finite")])
def test_bad_bounds_are_refused(bounds, message):
    with pytest.raises(ValueError, match=message):
        exact_occupancy(entropic_double_well(), 1.0, bounds=bounds, partition=halves)


@pytest.mark.parametrize("partition, message", [
    (lambda x: np.full(len(x), 2), "partition returned basin index 2; allowed: 0..1"),
    (lambda x: np.full(len(x), -1), "partition returned basin index -1"),
    (lambda x: np.full(len(x), 0.5), "partition must return integer basin indices, got 0.5"),
    (lambda x: np.zeros((len(x), 2), dtype=int), "one basin index per point"),
    ("nearest", "partition must be a callable or 'attraction', got 'nearest'"),
])
def test_bad_partitions_are_refused(partition, message):
    with pytest.raises(ValueError, match=message):
        exact_occupancy(QUARTIC_1D, 1.0, bounds=[[-2, 2]], partition=partition, n_basins=2)


def test_attraction_needs_minima_inside_the_box():
    with pytest.raises(ValueError, match="needs minima="):
        exact_occupancy(QUARTIC_1D, 1.0, bounds=[[-2, 2]], partition="attraction")
    with pytest.raises(ValueError, match=r"minima\[1\] at \[3.0\] lies outside bounds"):
        exact_occupancy(QUARTIC_1D, 1.0, bounds=[[-2, 2]], partition="attraction", minima=[[0.0], [3.0]])


def test_laplace_refuses_saddles_and_a_correction_without_landscape_or_positions():
    with pytest.raises(ValueError, match=r"minima\[1\] is not a strict minimum"):
        laplace_occupancy([(0.0, [1.0, 2.0]), (0.0, [-1.0, 2.0])], 1.0)
    with pytest.raises(ValueError, match="needs the landscape"):
        laplace_occupancy([(0.0, [1.0])], 1.0, correction=True)
    with pytest.raises(ValueError, match=r"minima\[0\] has none"):
        laplace_occupancy([(0.0, [1.0])], 1.0, correction=True, landscape=QUARTIC_1D)
    with pytest.raises(ValueError, match="same dimension"):
        laplace_occupancy([(0.0, [1.0]), (0.0, [1.0, 1.0])], 1.0)
    with pytest.raises(ValueError, match="too high for the first correction"):
        laplace_occupancy([(0.0, [1.0], [0.0])], 10.0, correction=True, landscape=QUARTIC_1D)


def test_docstring_examples_run():
    assert doctest.testmod(analysis.occupancy).failed == 0
