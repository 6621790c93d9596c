"""Critical points and minimum-energy paths against published tables and closed forms."""
import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.critical import CriticalPoint, find_critical_points, minimum_energy_path
from models import (Custom, MultiWell, Symbolic, double_well, entropic_double_well, mueller_brown,
                    symmetric_double_well)

MB_BOUNDS = [[-1.5, 1.2], [-0.5, 2.0]]
#: Müller & Brown (1979): the table in models.library.mueller_brown's docstring, 4 digits.
MB_MINIMA = [((-0.5582, 1.4417), -146.6995), ((0.6235, 0.0280), -108.1667), ((-0.0500, 0.4667), -80.7678)]
MB_SADDLES = [((0.2125, 0.2930), -72.2489), ((-0.8220, 0.6243), -40.6648)]


@pytest.fixture(scope="module")
def mb_points():
    return find_critical_points(mueller_brown(), bounds=MB_BOUNDS, seed=0)


def test_mueller_brown_has_the_published_three_minima_and_two_saddles(mb_points):
    assert len(mb_points.minima) == 3 and len(mb_points.saddles) == 2
    for found, kind, table in ((mb_points.minima, 0, MB_MINIMA), (mb_points.saddles, 1, MB_SADDLES)):
        for point, (xy, v) in zip(found, table):            # both sorted by loss, as the table
            assert point.position == pytest.approx(xy, abs=5e-5)
            assert point.loss == pytest.approx(v, abs=5e-5)
            assert point.index == kind
            assert np.sum(point.eigenvalues < 0) == kind
            assert np.all(np.diff(point.eigenvalues) >= 0)


def test_mueller_brown_points_are_roots_of_the_gradient(mb_points):
    landscape = mueller_brown()
    for point in mb_points.minima + mb_points.saddles:
        assert np.linalg.norm(landscape.grad(point.position)) < 1e-7
        assert point.eigenvalues == pytest.approx(np.linalg.eigvalsh(landscape.hessian(point.position)), rel=1e-12)


@pytest.mark.parametrize("a", [math.log(2.0), 0.3])
def test_entropic_double_well_hessians_are_those_of_its_docstring(a):
    cp = find_critical_points(entropic_double_well(a), bounds=[[-2.0, 2.0], [-2.0, 2.0]], seed=1)
    left, right = sorted(cp.minima, key=lambda p: p.position[0])
    assert left.position == pytest.approx([-1.0, 0.0], abs=1e-10)
    assert right.position == pytest.approx([1.0, 0.0], abs=1e-10)
    assert left.eigenvalues == pytest.approx(sorted([8.0, math.exp(-a)]), rel=1e-9)
    assert right.eigenvalues == pytest.approx(sorted([8.0, math.exp(a)]), rel=1e-9)
    assert left.loss == pytest.approx(0.0, abs=1e-14) and right.loss == pytest.approx(0.0, abs=1e-14)
    [saddle] = cp.saddles
    assert saddle.position == pytest.approx([0.0, 0.0], abs=1e-10)
    assert saddle.loss == pytest.approx(1.0, rel=1e-12)
    assert saddle.eigenvalues == pytest.approx([-4.0, 1.0], rel=1e-9)
    assert saddle.index == 1


def test_symmetric_double_well_hessians_are_those_of_its_docstring():
    cp = find_critical_points(symmetric_double_well(), bounds=[[-2.0, 2.0], [-2.0, 2.0]], seed=2)
    assert [p.position[0] for p in sorted(cp.minima, key=lambda p: p.position[0])] == pytest.approx([-1, 1])
    for m in cp.minima:
        assert m.eigenvalues == pytest.approx([2.0, 8.0], rel=1e-9) and m.index == 0
    [saddle] = cp.saddles
    assert saddle.eigenvalues == pytest.approx([-4.0, 1.0], rel=1e-9) and saddle.loss == pytest.approx(1.0)


@settings(max_examples=8)
@given(c=st.floats(-1.0, 1.0))
def test_tilted_double_well_points_are_the_roots_of_the_cubic(c):
    # U = (x^2 - 1)^2 + c x: U' = 4 x^3 - 4 x + c, U'' = 12 x^2 - 4; three real roots for |c| < 8 / (3 sqrt 3)
    roots = np.sort(np.roots([4.0, 0.0, -4.0, c]).real)
    cp = find_critical_points(double_well(c=c), bounds=[[-2.0, 2.0]], seed=3)
    assert sorted(p.position[0] for p in cp.minima) == pytest.approx([roots[0], roots[2]], abs=1e-12)
    [saddle] = cp.saddles
    assert saddle.position[0] == pytest.approx(roots[1], abs=1e-12)
    assert saddle.eigenvalues[0] == pytest.approx(12 * roots[1] ** 2 - 4, rel=1e-9)
    assert [p.loss for p in cp.minima] == sorted(p.loss for p in cp.minima)


@numba.njit
def _dw_value(x, p):
    return (x[0] ** 2 - 1.0) ** 2 + (1.0 + x[0] ** 2) * x[1] ** 2 / 2


@numba.njit
def _dw_grad(x, p, out):
    out[0] = 4.0 * x[0] * (x[0] ** 2 - 1.0) + x[0] * x[1] ** 2
    out[1] = (1.0 + x[0] ** 2) * x[1]


def test_custom_landscape_without_hessian_uses_finite_differences():
    custom = Custom(_dw_value, _dw_grad, dim=2)                   # symmetric_double_well, no Hessian kernel
    assert not custom.has_kernel("hessian")
    cp = find_critical_points(custom, bounds=[[-2.0, 2.0], [-2.0, 2.0]], n_starts=60, seed=4)
    assert len(cp.minima) == 2
    [saddle] = cp.saddles
    assert saddle.position == pytest.approx([0.0, 0.0], abs=1e-9)
    assert saddle.eigenvalues == pytest.approx([-4.0, 1.0], rel=1e-6)


def test_multiwell_minima_are_its_centers():
    wells = MultiWell([[-1.0, 0.0], [1.5, 0.5]], [np.diag([1.0, 2.0]), np.diag([4.0, 3.0])], depths=[0.0, -0.2])
    cp = find_critical_points(wells, bounds=[[-3.0, 3.0], [-3.0, 3.0]], n_starts=50, seed=5)
    assert len(cp.minima) == 2 and cp.saddles == []        # the ridge between the wells is not smooth
    assert cp.minima[0].position == pytest.approx([1.5, 0.5], abs=1e-12)
    assert cp.minima[1].position == pytest.approx([-1.0, 0.0], abs=1e-12)
    assert cp.minima[0].eigenvalues == pytest.approx([3.0, 4.0]) and cp.minima[1].eigenvalues == pytest.approx([1, 2])


def test_only_points_inside_the_bounds_are_returned():
    cp = find_critical_points(symmetric_double_well(), bounds=[[0.5, 2.0], [-1.0, 1.0]], seed=6)
    assert [p.position.tolist() for p in cp.minima] == [pytest.approx([1.0, 0.0], abs=1e-10)]
    assert cp.saddles == []


def test_same_seed_same_points():
    one = find_critical_points(double_well(c=0.3), bounds=[[-2.0, 2.0]], n_starts=30, seed=7)
    two = find_critical_points(double_well(c=0.3), bounds=[[-2.0, 2.0]], n_starts=30, seed=7)
    assert [p.position.tolist() for p in one.minima + one.saddles] == [p.position.tolist()
                                                                         for p in two.minima + two.saddles]


def test_bounds_without_a_minimum_say_so_and_where_the_minima_are():
    with pytest.raises(ValueError, match=r"bounds .* contain no minimum of the landscape; found 2 outside.*"
                                         r"minimum at \[-?1\.0\]"):
        find_critical_points(double_well(), bounds=[[-0.5, 0.5]], seed=0)


def test_asking_for_saddles_that_are_not_there_raises():
    with pytest.raises(ValueError, match=r"bounds \[\[0\.5, 2\.0\], \[-1\.0, 1\.0\]\] contain 0 index-1 saddle\(s\) "
                                         r"of the landscape, fewer than min_saddles=1"):
        find_critical_points(symmetric_double_well(), bounds=[[0.5, 2.0], [-1.0, 1.0]], min_saddles=1, seed=0)
    with pytest.raises(ValueError, match="fewer than min_minima=3"):
        find_critical_points(double_well(), bounds=[[-2.0, 2.0]], min_minima=3, seed=0)


@pytest.mark.parametrize("bounds, message", [
    ([[-1.0, 1.0]], r"bounds must have shape \(2, 2\)"),
    ([[-1.0, 1.0, 2.0], [0.0, 1.0, 2.0]], r"bounds must have shape \(2, 2\)"),
    ([[-1.0, np.nan], [0.0, 1.0]], "bounds must be finite"),
    ([[-1.0, 1.0], [1.0, 1.0]], r"bounds row 1 must have low < high, got \[1.0, 1.0\]"),
    ("wide", "bounds must be numeric"),
])
def test_bad_bounds_raise_naming_bounds(bounds, message):
    with pytest.raises(ValueError, match=message):
        find_critical_points(symmetric_double_well(), bounds=bounds)


@pytest.mark.parametrize("kwargs, name", [(dict(n_starts=0), "n_starts"), (dict(tol=0.0), "tol"),
                                          (dict(min_saddles=-1), "min_saddles")])
def test_bad_options_raise_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        find_critical_points(symmetric_double_well(), bounds=[[-2, 2], [-2, 2]], **kwargs)


def test_non_landscape_is_rejected():
    with pytest.raises(ValueError, match="landscape must be a models.Landscape, got function"):
        find_critical_points(lambda x: x, bounds=[[-1, 1]])


def test_energy_path_on_symmetric_double_well_rises_monotonically_to_the_saddle():
    path = minimum_energy_path(symmetric_double_well(), [-1.2, 0.4], [0.9, -0.3], n_images=21)
    assert path.converged
    assert path.images.shape == (21, 2) and path.energies.shape == (21,)
    assert path.images[0] == pytest.approx([-1.0, 0.0], abs=1e-9)        # end points relaxed to the minima
    assert path.images[-1] == pytest.approx([1.0, 0.0], abs=1e-9)
    top = int(np.argmax(path.energies))
    assert top == 10
    assert np.all(np.diff(path.energies[:top + 1]) > 0) and np.all(np.diff(path.energies[top:]) < 0)
    assert isinstance(path.saddle, CriticalPoint)
    assert path.saddle.position == pytest.approx([0.0, 0.0], abs=1e-10)
    assert path.saddle.loss == pytest.approx(1.0, rel=1e-12)
    assert path.saddle.eigenvalues == pytest.approx([-4.0, 1.0], rel=1e-9)
    assert path.saddle.index == 1
    # the minimum-energy path of this landscape is the x axis (y = 0 is invariant under descent)
    assert np.abs(path.images[:, 1]).max() < 1e-5


def test_energy_path_from_mueller_brown_a_to_b_passes_through_c(mb_points):
    a, b, c = (m.position for m in mb_points.minima)
    path = minimum_energy_path(mueller_brown(), a, b)
    e = path.energies
    maxima = [k for k in range(1, e.size - 1) if e[k] > e[k - 1] and e[k] > e[k + 1]]
    minima = [k for k in range(1, e.size - 1) if e[k] < e[k - 1] and e[k] < e[k + 1]]
    assert len(maxima) == 2 and len(minima) == 1
    # the intermediate minimum is C: the nearest image, and no lower than V_C
    k = minima[0]
    assert np.argmin(np.linalg.norm(path.images - c, axis=1)) == k
    assert MB_MINIMA[2][1] <= e[k] < MB_MINIMA[2][1] + 1.0
    assert path.saddle.position == pytest.approx(MB_SADDLES[1][0], abs=5e-5)   # the higher saddle, A-C
    assert path.saddle.loss == pytest.approx(max(e[maxima]), abs=0.5)


def test_energy_path_between_one_minimum_and_itself_raises():
    with pytest.raises(ValueError, match=r"a = \[-1\.1, 0\.1\] and b = \[-0\.9, -0\.1\] relax to the same minimum "
                                         r"\[-1\.0, 0\.0\]"):
        minimum_energy_path(symmetric_double_well(), [-1.1, 0.1], [-0.9, -0.1])


@pytest.mark.parametrize("kwargs, message", [
    (dict(a=[0.0], b=[1.0, 0.0]), r"a must have shape \(2,\)"),
    (dict(a=[-1.0, 0.0], b=[1.0, np.inf]), "b must be finite"),
    (dict(a=[-1.0, 0.0], b=[1.0, 0.0], n_images=2), "n_images must be"),
    (dict(a=[-1.0, 0.0], b=[1.0, 0.0], tol=-1.0), "tol must be > 0"),
])
def test_energy_path_bad_input_raises_naming_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        minimum_energy_path(symmetric_double_well(), **kwargs)


_TURNED = None


def _turned_double_well(theta, tx, ty):
    """symmetric_double_well composed with a rotation by theta about the shift (tx, ty): one compiled kernel."""
    global _TURNED
    if _TURNED is None:
        u, v = "(c*(x - tx) + s*(y - ty))", "(-s*(x - tx) + c*(y - ty))"
        _TURNED = Symbolic(f"({u}**2 - 1)**2 + (1 + {u}**2)*{v}**2/2", ["x", "y"],
                           parameters={"c": 1.0, "s": 0.0, "tx": 0.0, "ty": 0.0})
    return _TURNED.with_parameters(c=math.cos(theta), s=math.sin(theta), tx=tx, ty=ty)


@settings(max_examples=10)
@given(theta=st.floats(0.0, 2 * math.pi), tx=st.floats(-1.0, 1.0), ty=st.floats(-1.0, 1.0))
def test_critical_points_move_with_rotations_and_shifts_and_keep_their_spectra(theta, tx, ty):
    landscape = _turned_double_well(theta, tx, ty)
    shift, axis = np.array([tx, ty]), np.array([math.cos(theta), math.sin(theta)])
    cp = find_critical_points(landscape, bounds=[[tx - 2.5, tx + 2.5], [ty - 2.5, ty + 2.5]], n_starts=60, seed=8)
    found = sorted((m.position for m in cp.minima), key=lambda p: float((p - shift) @ axis))
    assert len(found) == 2
    assert found[0] == pytest.approx(shift - axis, abs=1e-9) and found[1] == pytest.approx(shift + axis, abs=1e-9)
    for m in cp.minima:
        assert m.eigenvalues == pytest.approx([2.0, 8.0], rel=1e-9)
    [saddle] = cp.saddles
    assert saddle.position == pytest.approx(shift, abs=1e-9)
    assert saddle.eigenvalues == pytest.approx([-4.0, 1.0], rel=1e-9)
