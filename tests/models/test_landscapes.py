"""Tests of models.quadratic and models.multiwell against independent truths.

Every landscape has two implementations of its value and gradient: numpy
(``q.value(x)``) and the numba kernel the simulators call
(``Landscape.value(q, x)``). Both are compared with formulas written out here
independently (eigen-coordinates, explicit minimum over wells) and with
central finite differences. Random tests use a fixed seed that
``SANDBOX_TEST_SEED`` overrides; KS tests pass at p > 1e-4 and are paired
with a check that the same data reject a nearby wrong law.
"""
import math
import os

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from models import Landscape, MultiWell, Quadratic, random_rotation
from models import kernels
from analysis.strategies import rotations, spectra, standard_normals

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240601"))
SIG = 5.0
P_MIN = 1e-4


def kernel_value(landscape, x):
    """The numba-kernel value (the base-class path the simulators use)."""
    return Landscape.value(landscape, x)


def kernel_grad(landscape, x):
    return Landscape.grad(landscape, x)


def quadratic_truth(eigenvalues, rotation, center, x):
    """1/2 sum_i lam_i y_i^2 with y = Q^T (x - c): value and gradient Q (lam * y)."""
    lam = np.asarray(eigenvalues, dtype=float)
    d = lam.size
    q = np.eye(d) if rotation is None else np.asarray(rotation)
    c = np.zeros(d) if center is None else np.asarray(center)
    y = (np.atleast_2d(x) - c) @ q
    value = 0.5 * np.sum(lam * y * y, axis=1)
    grad = (lam * y) @ q.T
    if np.ndim(x) == 1:
        return value[0], grad[0]
    return value, grad


def central_difference_grad(f, x, h=1e-4):
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


QUADRATIC_CASES = {
    "diagonal": dict(eigenvalues=[1.0, 4.0, 0.5]),
    "rotated": dict(eigenvalues=[1.0, 4.0, 0.5], rotation=random_rotation(3, seed=11)),
    "centered_diagonal": dict(eigenvalues=[2.0, 0.3, 7.0], center=[0.5, -1.0, 2.0]),
    "centered_rotated": dict(eigenvalues=[2.0, 0.3, 7.0], rotation=random_rotation(3, seed=12),
                             center=[0.5, -1.0, 2.0]),
    "saddle_diagonal": dict(eigenvalues=[2.0, -1.5, 0.5]),
    "saddle_rotated": dict(eigenvalues=[2.0, -1.5, 0.5], rotation=random_rotation(3, seed=13),
                           center=[1.0, 0.0, -1.0]),
    "flat_diagonal": dict(eigenvalues=[1.0, 0.0, 3.0], center=[0.0, 5.0, 0.0]),
    "flat_rotated": dict(eigenvalues=[1.0, 0.0, 3.0], rotation=random_rotation(3, seed=14)),
}


@pytest.fixture(params=sorted(QUADRATIC_CASES))
def quadratic_case(request):
    spec = QUADRATIC_CASES[request.param]
    q = Quadratic(spec["eigenvalues"], rotation=spec.get("rotation"), center=spec.get("center"))
    return q, spec


def _points(d, n=7, seed=SEED):
    return np.random.default_rng(seed).normal(scale=2.0, size=(n, d))


# --- Quadratic: numpy path, kernel path and the eigen-coordinate formula ------

def test_quadratic_value_and_grad_match_eigen_coordinate_formula_numpy_and_kernel(quadratic_case):
    q, spec = quadratic_case
    pts = _points(q.dim)
    value, grad = quadratic_truth(spec["eigenvalues"], spec.get("rotation"), spec.get("center"), pts)
    for impl_value, impl_grad in ((q.value, q.grad), (lambda x: kernel_value(q, x), lambda x: kernel_grad(q, x))):
        np.testing.assert_allclose(impl_value(pts), value, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(impl_grad(pts), grad, rtol=1e-12, atol=1e-12)


def test_quadratic_single_point_and_batch_shapes_agree(quadratic_case):
    q, _ = quadratic_case
    pts = _points(q.dim, n=4)
    for value, grad in ((q.value, q.grad), (lambda x: kernel_value(q, x), lambda x: kernel_grad(q, x))):
        batch_v, batch_g = value(pts), grad(pts)
        assert np.shape(batch_v) == (4,) and batch_g.shape == (4, q.dim)
        for k in range(4):
            v, g = value(pts[k]), grad(pts[k])
            assert np.ndim(v) == 0 and g.shape == (q.dim,)
            assert float(v) == pytest.approx(batch_v[k], rel=1e-14, abs=1e-14)
            np.testing.assert_allclose(g, batch_g[k], rtol=1e-14, atol=1e-14)
    assert q.hessian(pts[0]).shape == (q.dim, q.dim)
    assert q.hessian(pts).shape == (4, q.dim, q.dim)


def test_quadratic_kernel_value_is_a_python_float_for_one_point(quadratic_case):
    q, _ = quadratic_case
    assert isinstance(kernel_value(q, np.ones(q.dim)), float)


def test_quadratic_grad_matches_central_differences_of_value(quadratic_case):
    q, _ = quadratic_case
    for x in _points(q.dim, n=3):
        # central differences are exact for a quadratic up to rounding ~ eps |L| / h
        np.testing.assert_allclose(central_difference_grad(q.value, x), q.grad(x), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(central_difference_grad(lambda y: kernel_value(q, y), x), kernel_grad(q, x),
                                   rtol=1e-6, atol=1e-6)


def test_quadratic_hessian_is_q_diag_lam_qt_and_matches_differences_of_grad(quadratic_case):
    q, spec = quadratic_case
    rot = np.eye(q.dim) if spec.get("rotation") is None else spec["rotation"]
    expected = (rot * np.asarray(spec["eigenvalues"])) @ rot.T
    x = _points(q.dim, n=1)[0]
    np.testing.assert_allclose(q.hessian(x), expected, rtol=1e-12, atol=1e-12)
    fd = np.column_stack([central_difference_grad(lambda y, i=i: q.grad(y)[i], x) for i in range(q.dim)])
    np.testing.assert_allclose(fd, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.linalg.eigvalsh(q.hessian(x)), np.sort(spec["eigenvalues"]), atol=1e-12)


def test_quadratic_is_zero_with_zero_grad_at_its_center(quadratic_case):
    q, spec = quadratic_case
    c = np.zeros(q.dim) if spec.get("center") is None else np.asarray(spec["center"])
    for value, grad in ((q.value, q.grad), (lambda x: kernel_value(q, x), lambda x: kernel_grad(q, x))):
        assert value(c) == 0.0
        np.testing.assert_array_equal(grad(c), np.zeros(q.dim))


def test_flat_direction_leaves_value_unchanged_and_saddle_direction_lowers_it():
    rot = random_rotation(3, seed=5)
    flat = Quadratic([1.0, 0.0, 3.0], rotation=rot)
    x = np.array([0.3, -0.2, 0.7])
    for t in (1.0, -10.0, 1e3):
        assert flat.value(x + t * rot[:, 1]) == pytest.approx(flat.value(x), rel=1e-9, abs=1e-9)
        assert kernel_value(flat, x + t * rot[:, 1]) == pytest.approx(flat.value(x), rel=1e-9, abs=1e-9)
    saddle = Quadratic([2.0, -1.5, 0.5], rotation=rot)
    assert saddle.value(3.0 * rot[:, 1]) == pytest.approx(-0.5 * 1.5 * 9.0, rel=1e-12)
    assert kernel_value(saddle, 3.0 * rot[:, 1]) == pytest.approx(-0.5 * 1.5 * 9.0, rel=1e-12)


def test_hessian_is_psd_flag_follows_the_sign_of_the_eigenvalues():
    assert Quadratic([1.0, 0.0]).hessian_is_psd
    assert not Quadratic([1.0, -1e-3]).hessian_is_psd
    assert not Quadratic([1.0, -1.0], rotation=random_rotation(2, seed=1)).hessian_is_psd


def test_rotated_quadratic_exposes_affine_gradient_and_diagonal_does_not():
    rot = random_rotation(3, seed=2)
    q = Quadratic([1.0, 2.0, 3.0], rotation=rot, center=[1.0, 2.0, 3.0])
    h, c = q.affine_gradient
    np.testing.assert_allclose(h, (rot * [1.0, 2.0, 3.0]) @ rot.T, atol=1e-12)
    np.testing.assert_array_equal(h, h.T)
    np.testing.assert_array_equal(c, [1.0, 2.0, 3.0])
    assert Quadratic([1.0, 2.0]).affine_gradient is None


@pytest.mark.parametrize("slots", [("hessian_sqrt",), ("hessian",)], ids=["own_kernel", "eigh_fallback"])
def test_hessian_sqrt_kernel_squares_to_the_hessian(slots):
    """hessian_sqrt_apply (used by Hessian-shaped SGD noise) is a square root of H, from the
    landscape's own square-root kernel or, without one, from its Hessian by eigh."""
    rot = random_rotation(4, seed=3)
    lam = np.array([0.5, 2.0, 0.0, 9.0])
    wells = MultiWell([[0.0] * 4, [3.0] * 4], [np.diag(lam), (rot * lam) @ rot.T])
    for q in (Quadratic(lam), Quadratic(lam, rotation=rot), wells):
        c = q.compiled(slots)
        assert (c.addresses[kernels.HESSIAN_SQRT] != 0) == (slots == ("hessian_sqrt",))
        for x in (np.zeros(q.dim), np.full(q.dim, 2.9)):
            s = np.empty((q.dim, q.dim))     # row j = H^{1/2} e_j, so s = (H^{1/2})^T
            for j in range(q.dim):
                status = kernels.hessian_sqrt_apply(c.addresses, c.params, x, np.eye(q.dim)[j].copy(), s[j],
                                                    np.empty((q.dim, q.dim)))
                assert status == 0
            np.testing.assert_allclose(s @ s, q.hessian(x), atol=1e-12)
            np.testing.assert_allclose(s, s.T, atol=1e-12)


@pytest.mark.parametrize("landscape", [Quadratic([0.5, -2.0, 3.0], center=[1.0, 0.0, -1.0]),
                                       Quadratic([0.5, -2.0, 3.0], rotation=random_rotation(3, seed=2)),
                                       MultiWell([[0.0, 0.0, 0.0], [2.0, 1.0, 0.0]],
                                                 [np.diag([1.0, 2.0, 3.0]), [[2.0, 0.5, 0.0], [0.5, 1.0, 0.0],
                                                                             [0.0, 0.0, 4.0]]])],
                         ids=["diagonal", "rotated", "multiwell"])
def test_hessian_kernels_equal_the_numpy_hessian(landscape):
    """The HESSIAN and HESSIAN_VECTOR kernels against the independent numpy Hessian."""
    x = np.random.default_rng(SEED).normal(size=(7, landscape.dim)) * 2
    v = np.random.default_rng(SEED + 1).normal(size=(7, landscape.dim))
    np.testing.assert_allclose(Landscape.hessian(landscape, x), landscape.hessian(x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(landscape.hessian_vector(x, v), np.einsum("nij,nj->ni", landscape.hessian(x), v),
                               rtol=1e-12, atol=1e-12)
    assert landscape.curvature_bound() == pytest.approx(max(np.linalg.eigvalsh(landscape.hessian(x)).max(axis=1)))


# --- hypothesis: rotation invariance ------------------------------------------

@settings(max_examples=40, deadline=None)
@given(data=st.data(), centered=st.booleans())
def test_rotated_quadratic_at_qx_plus_c_equals_diagonal_quadratic_at_x(data, centered):
    lam = data.draw(spectra(st.integers(1, 5), low=1e-2, high=10.0, zeros=st.integers(0, 1),
                            negatives=st.integers(0, 2)))
    d = len(lam)
    rot = data.draw(rotations(d))
    x = 3.0 * data.draw(standard_normals((3, d)))
    c = data.draw(standard_normals(d)) if centered else np.zeros(d)
    diagonal = Quadratic(lam)
    rotated = Quadratic(lam, rotation=rot, center=c)
    qx = x @ rot.T + c
    scale = 1e-10 * (1.0 + np.max(np.abs(lam)) * np.max(np.sum(x * x, axis=1)))
    for value in (lambda q, p: q.value(p), kernel_value):
        np.testing.assert_allclose(value(rotated, qx), value(diagonal, x), rtol=0, atol=scale)
    for grad in (lambda q, p: q.grad(p), kernel_grad):
        np.testing.assert_allclose(grad(rotated, qx), grad(diagonal, x) @ rot.T, rtol=0,
                                   atol=1e-10 * (1.0 + np.max(np.abs(lam))) * (1.0 + np.abs(x).max()))


# --- MultiWell ----------------------------------------------------------------

WELL_CENTERS = np.array([[-3.0, 0.0], [3.0, 0.5], [0.0, 4.0]])
WELL_HESSIANS = np.array([
    [[1.0, 0.3], [0.3, 2.0]],
    [[4.0, -1.0], [-1.0, 1.5]],
    [[0.5, 0.0], [0.0, 0.8]],
])
WELL_DEPTHS = np.array([0.0, -0.5, 1.0])


@pytest.fixture
def wells():
    return MultiWell(WELL_CENTERS, WELL_HESSIANS, depths=WELL_DEPTHS)


def _well_values(x):
    """Explicit per-well loss for (n, 2) points, written out without einsum."""
    out = np.empty((x.shape[0], len(WELL_DEPTHS)))
    for k, (c, h, depth) in enumerate(zip(WELL_CENTERS, WELL_HESSIANS, WELL_DEPTHS)):
        u = x - c
        out[:, k] = depth + 0.5 * np.sum((u @ h) * u, axis=1)
    return out


def _clear_points(n=200):
    """Random points whose two lowest wells differ by > 1e-6 (away from the ridges)."""
    x = np.random.default_rng(SEED).uniform(-6, 6, size=(n, 2))
    v = np.sort(_well_values(x), axis=1)
    return x[v[:, 1] - v[:, 0] > 1e-6]


def test_multiwell_value_is_min_over_wells_in_numpy_and_kernel(wells):
    x = _clear_points()
    expected = _well_values(x).min(axis=1)
    np.testing.assert_allclose(wells.value(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(kernel_value(wells, x), expected, rtol=1e-12, atol=1e-12)
    assert isinstance(wells.value(x[0]), float) and isinstance(kernel_value(wells, x[0]), float)


def test_multiwell_basin_of_is_argmin_and_every_well_is_visited(wells):
    x = _clear_points()
    basins = wells.basin_of(x)
    np.testing.assert_array_equal(basins, np.argmin(_well_values(x), axis=1))
    assert set(basins.tolist()) == {0, 1, 2}
    assert isinstance(wells.basin_of(x[0]), int) and wells.basin_of(x[0]) == basins[0]
    assert wells.basin_of(WELL_CENTERS).tolist() == [0, 1, 2]


def test_multiwell_grad_and_hessian_are_those_of_the_active_well(wells):
    x = _clear_points()
    k = np.argmin(_well_values(x), axis=1)
    expected = np.einsum("nij,nj->ni", WELL_HESSIANS[k], x - WELL_CENTERS[k])
    np.testing.assert_allclose(wells.grad(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(kernel_grad(wells, x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(wells.hessian(x), WELL_HESSIANS[k])
    np.testing.assert_array_equal(wells.hessian(x[0]), WELL_HESSIANS[k[0]])
    for p in x[:5]:
        np.testing.assert_allclose(central_difference_grad(wells.value, p), wells.grad(p), rtol=1e-6, atol=1e-6)


def test_multiwell_value_at_each_center_is_its_depth_with_zero_grad(wells):
    np.testing.assert_allclose(wells.value(WELL_CENTERS), WELL_DEPTHS, atol=1e-15)
    np.testing.assert_allclose(kernel_value(wells, WELL_CENTERS), WELL_DEPTHS, atol=1e-15)
    np.testing.assert_allclose(kernel_grad(wells, WELL_CENTERS), 0.0, atol=1e-15)


def test_multiwell_with_one_well_equals_the_quadratic_of_that_well():
    rot = random_rotation(3, seed=4)
    c = np.array([1.0, -2.0, 0.5])
    q = Quadratic([0.5, 2.0, 3.0], rotation=rot, center=c)
    w = MultiWell([c], [q.matrix], depths=[0.0])
    x = _points(3, n=10)
    np.testing.assert_allclose(w.value(x), q.value(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(kernel_value(w, x), q.value(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(kernel_grad(w, x), q.grad(x), rtol=1e-12, atol=1e-12)


def test_multiwell_value_is_continuous_across_a_ridge(wells):
    """Along a segment from well 0 to well 1 the loss has no jump at the basin boundary."""
    t = np.linspace(0.0, 1.0, 20001)[:, None]
    path = (1 - t) * WELL_CENTERS[0] + t * WELL_CENTERS[1]
    v = kernel_value(wells, path)
    assert np.unique(wells.basin_of(path)).size >= 2
    step = np.linalg.norm(path[1] - path[0])
    assert np.max(np.abs(np.diff(v))) < 50 * step


def test_multiwell_hessian_is_psd_flag():
    assert MultiWell(WELL_CENTERS, WELL_HESSIANS).hessian_is_psd
    indefinite = WELL_HESSIANS.copy()
    indefinite[2] = [[1.0, 0.0], [0.0, -0.1]]
    assert not MultiWell(WELL_CENTERS, indefinite).hessian_is_psd


# --- random_rotation ----------------------------------------------------------

@pytest.mark.parametrize("d", [1, 2, 5, 40])
def test_random_rotation_is_orthogonal(d):
    q = random_rotation(d, seed=SEED)
    assert q.shape == (d, d)
    np.testing.assert_allclose(q.T @ q, np.eye(d), atol=1e-12)
    np.testing.assert_allclose(q @ q.T, np.eye(d), atol=1e-12)


def test_random_rotation_is_deterministic_in_its_seed():
    a = random_rotation(6, seed=SEED)
    np.testing.assert_array_equal(a, random_rotation(6, seed=SEED))
    np.testing.assert_array_equal(a, random_rotation(6, seed=np.random.SeedSequence(SEED)))
    assert not np.array_equal(a, random_rotation(6, seed=SEED + 1))


def _haar_sample(d, n):
    rng = np.random.default_rng(SEED)
    return np.array([random_rotation(d, seed=rng) for _ in range(n)])


def test_random_rotation_entries_follow_the_haar_marginals():
    """For Haar Q in O(d), every entry is a coordinate of a uniform unit vector:
    Q_ij^2 ~ Beta(1/2, (d-1)/2) and (Q_ij + 1)/2 ~ Beta((d-1)/2, (d-1)/2), so the
    sign of Q_ij is a fair coin. Checked on the first and last diagonal entries
    (the ones QR's sign convention would bias without the sign correction)."""
    d, n = 5, 4000
    qs = _haar_sample(d, n)
    for i, j in ((0, 0), (d - 1, d - 1), (0, d - 1)):
        e = qs[:, i, j]
        assert scipy.stats.kstest(e**2, scipy.stats.beta(0.5, (d - 1) / 2).cdf).pvalue > P_MIN
        assert scipy.stats.kstest((e + 1) / 2, scipy.stats.beta((d - 1) / 2, (d - 1) / 2).cdf).pvalue > P_MIN
    # power: the same data reject the law of an entry in dimension d + 2
    e = qs[:, 0, 0]
    assert scipy.stats.kstest(e**2, scipy.stats.beta(0.5, (d + 1) / 2).cdf).pvalue < P_MIN
    # power: unsigned QR (Q of numpy's QR, no sign fix) has a one-signed Q_00
    raw = np.linalg.qr(np.random.default_rng(SEED).standard_normal((n, d, d)))[0][:, 0, 0]
    assert scipy.stats.kstest((raw + 1) / 2, scipy.stats.beta((d - 1) / 2, (d - 1) / 2).cdf).pvalue < P_MIN


def test_random_rotation_trace_has_haar_moments():
    """For Haar O(d), d >= 2: E tr Q = 0 and E (tr Q)^2 = 1 (Diaconis & Shahshahani 1994)."""
    d, n = 6, 4000
    tr = np.trace(_haar_sample(d, n), axis1=1, axis2=2)
    se1 = tr.std(ddof=1) / math.sqrt(n)
    se2 = (tr**2).std(ddof=1) / math.sqrt(n)
    assert abs(tr.mean()) < SIG * se1
    assert abs((tr**2).mean() - 1.0) < SIG * se2


# --- bad input ----------------------------------------------------------------

@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: Quadratic([1.0, np.nan]), "eigenvalues"),
        (lambda: Quadratic([1.0, np.inf]), "eigenvalues"),
        (lambda: Quadratic([]), "eigenvalues"),
        (lambda: Quadratic([[1.0, 2.0]]), "eigenvalues"),
        (lambda: Quadratic(["a", "b"]), "eigenvalues"),
        (lambda: Quadratic([1.0, 2.0], rotation=[[1.0, 0.5], [0.0, 1.0]]), "rotation"),
        (lambda: Quadratic([1.0, 2.0], rotation=2 * np.eye(2)), "rotation"),
        (lambda: Quadratic([1.0, 2.0], rotation=np.eye(3)), "rotation"),
        (lambda: Quadratic([1.0, 2.0], rotation=[[np.nan, 0.0], [0.0, 1.0]]), "rotation"),
        (lambda: Quadratic([1.0, 2.0], center=[0.0, 0.0, 0.0]), "center"),
        (lambda: Quadratic([1.0, 2.0], center=[[0.0, 0.0]]), "center"),
        (lambda: Quadratic([1.0, 2.0], center=[0.0, np.nan]), "center"),
        (lambda: MultiWell(WELL_CENTERS, WELL_HESSIANS + [[0.0, 0.1], [0.0, 0.0]]), "hessians"),
        (lambda: MultiWell(WELL_CENTERS, WELL_HESSIANS[:2]), "hessians"),
        (lambda: MultiWell(WELL_CENTERS, WELL_HESSIANS[:, :1, :1]), "hessians"),
        (lambda: MultiWell(WELL_CENTERS, WELL_HESSIANS, depths=[0.0, 1.0]), "depths"),
        (lambda: MultiWell(WELL_CENTERS, WELL_HESSIANS, depths=[0.0, 1.0, np.nan]), "depths"),
        (lambda: MultiWell(WELL_CENTERS[0], WELL_HESSIANS[0]), "centers"),
        (lambda: MultiWell(np.zeros((0, 2)), np.zeros((0, 2, 2))), "centers"),
        (lambda: random_rotation(0), "d"),
        (lambda: random_rotation(2.5), "d"),
    ],
)
def test_bad_landscape_parameters_raise_value_error_naming_the_parameter(make, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        make()


BAD_POINTS = [np.zeros(2), np.zeros((4, 2)), np.zeros((2, 3, 3)), np.array([0.0, np.nan, 0.0]),
              np.array([[0.0, 0.0, np.inf]]), 1.0]


@pytest.mark.parametrize("x", BAD_POINTS, ids=range(len(BAD_POINTS)))
@pytest.mark.parametrize("landscape", [
    Quadratic([1.0, 2.0, 3.0]),
    Quadratic([1.0, 2.0, 3.0], rotation=random_rotation(3, seed=0)),
    MultiWell(np.zeros((2, 3)), np.stack([np.eye(3), 2 * np.eye(3)])),
], ids=["diagonal", "rotated", "multiwell"])
def test_points_of_wrong_shape_or_non_finite_raise_value_error_naming_x(landscape, x):
    methods = [landscape.value, landscape.grad, landscape.hessian,
               lambda p: kernel_value(landscape, p), lambda p: kernel_grad(landscape, p)]
    if isinstance(landscape, MultiWell):
        methods.append(landscape.basin_of)
    for method in methods:
        with pytest.raises(ValueError, match=r"\bx\b"):
            method(x)
