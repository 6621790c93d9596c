"""Tests of models.normal_crossing: K(w) = prod_i (w_i - c_i)^(2 k_i).

The numpy value/grad/hessian are compared with formulas written out here,
with central finite differences, and with the numba kernel path the
simulators use (``Landscape.value(nc, x)``). Random points use a fixed seed
that ``SANDBOX_TEST_SEED`` overrides.
"""
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.strategies import normal_crossing_exponents
from models import Landscape, NormalCrossing
from models.normal_crossing import as_exponents
from sandbox import simulate

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240601"))

CASES = {
    "regular_1d": dict(exponents=[1]),
    "quartic_1d": dict(exponents=[2]),
    "basic_singular": dict(exponents=[1, 1]),
    "mixed": dict(exponents=[1, 2, 1], center=[0.3, -0.2, 0.1]),
    "higher": dict(exponents=[3, 1, 2, 1], center=[0.0, 0.5, 0.0, -0.5]),
}


@pytest.fixture(params=sorted(CASES))
def case(request):
    spec = CASES[request.param]
    return NormalCrossing(spec["exponents"], center=spec.get("center")), spec


def _points(d, n=6, seed=SEED):
    return np.random.default_rng(seed).uniform(-1.3, 1.3, size=(n, d))


def truth(spec, x):
    """Value, gradient and Hessian of prod_i u_i^(2k_i) by explicit loops (no prefix products)."""
    k = np.asarray(spec["exponents"])
    c = np.zeros(k.size) if spec.get("center") is None else np.asarray(spec["center"])
    u = np.asarray(x) - c
    d = k.size
    value = math.prod(u[i] ** (2 * k[i]) for i in range(d))
    grad = np.empty(d)
    hess = np.empty((d, d))
    for j in range(d):
        rest = math.prod(u[i] ** (2 * k[i]) for i in range(d) if i != j)
        grad[j] = 2 * k[j] * u[j] ** (2 * k[j] - 1) * rest
        hess[j, j] = 2 * k[j] * (2 * k[j] - 1) * u[j] ** (2 * k[j] - 2) * rest
        for l in range(d):
            if l != j:
                rest2 = math.prod(u[i] ** (2 * k[i]) for i in range(d) if i not in (j, l))
                hess[j, l] = 2 * k[j] * u[j] ** (2 * k[j] - 1) * 2 * k[l] * u[l] ** (2 * k[l] - 1) * rest2
    return value, grad, hess


def central_difference(f, x, h=1e-5):
    out = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out.append((f(x + e) - f(x - e)) / (2 * h))
    return np.array(out)


def test_value_grad_hessian_match_explicit_formulas_numpy_and_kernel(case):
    nc, spec = case
    pts = _points(nc.dim)
    expected = [truth(spec, x) for x in pts]
    value = np.array([e[0] for e in expected])
    grad = np.array([e[1] for e in expected])
    hess = np.array([e[2] for e in expected])
    np.testing.assert_allclose(nc.value(pts), value, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(nc.grad(pts), grad, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(nc.hessian(pts), hess, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(Landscape.value(nc, pts), value, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(Landscape.grad(nc, pts), grad, rtol=1e-12, atol=1e-300)


def test_grad_and_hessian_match_central_differences(case):
    nc, _ = case
    for x in _points(nc.dim, n=3):
        scale = 1.0 + np.abs(nc.grad(x)).max()
        np.testing.assert_allclose(central_difference(nc.value, x), nc.grad(x), rtol=1e-6, atol=1e-7 * scale)
        fd = central_difference(nc.grad, x).T
        np.testing.assert_allclose(fd, nc.hessian(x), rtol=1e-6, atol=1e-6 * (1.0 + np.abs(nc.hessian(x)).max()))
        np.testing.assert_allclose(nc.hessian(x), nc.hessian(x).T, rtol=1e-14, atol=0)


def test_single_point_and_batch_shapes_agree(case):
    nc, _ = case
    pts = _points(nc.dim, n=4)
    for value, grad in ((nc.value, nc.grad), (lambda y: Landscape.value(nc, y), lambda y: Landscape.grad(nc, y))):
        assert np.shape(value(pts)) == (4,) and grad(pts).shape == (4, nc.dim)
        for j in range(4):
            assert isinstance(value(pts[j]), float)
            assert value(pts[j]) == pytest.approx(value(pts)[j], rel=1e-14)
            np.testing.assert_allclose(grad(pts[j]), grad(pts)[j], rtol=1e-14)
    assert nc.hessian(pts[0]).shape == (nc.dim, nc.dim)
    assert nc.hessian(pts).shape == (4, nc.dim, nc.dim)


def test_zero_value_and_zero_gradient_on_an_axis_hyperplane_numpy_and_kernel():
    spec = dict(exponents=[1, 2, 1], center=[0.5, 0.0, -1.0])
    nc = NormalCrossing(spec["exponents"], center=spec["center"])
    x = np.array([0.5, 0.7, 2.0])  # on {w_1 = c_1}, with k_1 = 1 the gradient vanishes there too
    for value, grad in ((nc.value, nc.grad), (lambda y: Landscape.value(nc, y), lambda y: Landscape.grad(nc, y))):
        assert value(x) == 0.0
        np.testing.assert_array_equal(grad(x), np.zeros(3))
    # where two factors vanish at once the prefix/suffix products still give exact zeros, no 0/0
    y = np.array([0.5, 0.0, 2.0])
    np.testing.assert_array_equal(Landscape.grad(nc, y), np.zeros(3))
    np.testing.assert_array_equal(nc.hessian(y), np.zeros((3, 3)))


def test_basic_singular_hessian_is_indefinite_off_the_axes_and_zero_at_origin():
    nc = NormalCrossing([1, 1])
    np.testing.assert_array_equal(nc.hessian([1.0, 1.0]), [[2.0, 4.0], [4.0, 2.0]])
    assert np.linalg.eigvalsh(nc.hessian([1.0, 1.0])).min() < 0
    np.testing.assert_array_equal(nc.hessian([0.0, 0.0]), np.zeros((2, 2)))
    # on the axis w2 = 0 the Hessian is diag(0, 2 w1^2): flat along the valley of minima
    np.testing.assert_array_equal(nc.hessian([3.0, 0.0]), [[0.0, 0.0], [0.0, 18.0]])


def test_regular_one_dimensional_case_is_w_squared():
    nc = NormalCrossing([1])
    x = np.linspace(-2, 2, 9)[:, None]
    np.testing.assert_allclose(nc.value(x), x[:, 0] ** 2, rtol=1e-15)
    np.testing.assert_allclose(Landscape.grad(nc, x), 2 * x, rtol=1e-15)
    np.testing.assert_allclose(nc.hessian(x), np.full((9, 1, 1), 2.0))


def test_kernel_parameters_layout_and_no_hessian_noise():
    nc = NormalCrossing([1, 3], center=[0.25, -1.0])
    np.testing.assert_array_equal(nc.kernel_parameters(), [0.25, -1.0, 1.0, 3.0])
    assert nc.kernel_parameters().dtype == np.float64
    assert set(nc.kernel_functions()) == {"value", "gradient", "value_and_gradient", "hessian"}
    assert nc.hessian_is_psd is False
    with pytest.raises(ValueError, match="hessian_is_psd"):
        simulate(nc, "sgd", n_chains=2, n_steps=2, step_size=0.1, noise=("hessian", 1.0))


def test_hessian_kernel_equals_the_numpy_hessian_on_and_off_the_axes():
    nc = NormalCrossing([1, 2, 3], center=[0.5, 0.0, -0.5])
    x = np.random.default_rng(3).normal(size=(6, 3))
    x[0] = [0.5, 1.0, 2.0]      # on the set of minima (u_1 = 0)
    x[1] = [0.5, 0.0, 2.0]      # two factors vanish
    np.testing.assert_allclose(Landscape.hessian(nc, x), nc.hessian(x), rtol=1e-13, atol=1e-13)


@settings(max_examples=40, deadline=None)
@given(
    exponents=normal_crossing_exponents(st.integers(1, 5), max_exponent=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_kernel_equals_numpy_for_random_exponents_and_points(exponents, seed):
    rng = np.random.default_rng(seed)
    d = len(exponents)
    nc = NormalCrossing(exponents, center=rng.normal(size=d))
    x = rng.uniform(-2.0, 2.0, size=(3, d))
    np.testing.assert_allclose(Landscape.value(nc, x), nc.value(x), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(Landscape.grad(nc, x), nc.grad(x), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("bad", [[0], [1, 0], [-1], [1.5], [1, 2.5], [math.nan], [math.inf], [], [True], "ab", 2,
                                 [[1, 1]]])
def test_bad_exponents_raise_value_error_naming_exponents(bad):
    with pytest.raises(ValueError, match="exponents"):
        NormalCrossing(bad)


def test_integer_valued_float_exponents_are_accepted():
    np.testing.assert_array_equal(as_exponents([1.0, 2.0]), [1, 2])
    assert NormalCrossing(np.array([2, 1])).exponents.tolist() == [2, 1]


@pytest.mark.parametrize("bad", [[0.0, math.nan], [0.0], [0.0, 0.0, 0.0], [[0.0, 0.0]]])
def test_bad_center_raises_value_error_naming_center(bad):
    with pytest.raises(ValueError, match="center"):
        NormalCrossing([1, 1], center=bad)


@pytest.mark.parametrize("bad", [[math.nan, 0.0], [0.0, math.inf], [0.0, 0.0, 0.0]])
def test_bad_points_raise_value_error_naming_x(bad):
    nc = NormalCrossing([1, 1])
    for f in (nc.value, nc.grad, nc.hessian, lambda y: Landscape.value(nc, y)):
        with pytest.raises(ValueError, match=r"\bx\b"):
            f(bad)


@settings(max_examples=30, deadline=None)
@given(k=st.one_of(st.integers(max_value=0), st.floats(0.01, 10.0).filter(lambda v: not float(v).is_integer())))
def test_hypothesis_non_positive_or_fractional_exponent_is_rejected(k):
    with pytest.raises(ValueError, match="exponents"):
        NormalCrossing([1, k])
