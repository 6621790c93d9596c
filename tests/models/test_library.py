"""Tests of models.library: each named landscape's documented critical points and Hessians.

The truths are the docstrings' closed forms (and, for Mueller-Brown, the
published critical points of Mueller & Brown 1979 to the 4 printed digits,
refined here by Newton's method on the exact gradient).
"""
import math

import numpy as np
import pytest

from models import (deep_scalar, double_well, entropic_double_well, mueller_brown, rosenbrock, skewed_double_well,
                    symmetric_double_well, two_layer_scalar)


def newton(landscape, x, n=30):
    x = np.asarray(x, dtype=float)
    for _ in range(n):
        x = x - np.linalg.solve(landscape.hessian(x), landscape.grad(x))
    return x


@pytest.mark.parametrize("a", [0.5, 1.0, 2.0])
def test_double_well_minima_saddle_and_curvatures(a):
    w = double_well(a=a)
    for m in (-a, a):
        assert w.value([m]) == 0.0 and w.grad([m])[0] == 0.0
        assert w.hessian([m])[0, 0] == pytest.approx(8 * a * a, rel=1e-14)
    assert w.value([0.0]) == pytest.approx(a**4, rel=1e-14)
    assert w.hessian([0.0])[0, 0] == pytest.approx(-4 * a * a, rel=1e-14)
    tilted = w.with_parameters(c=0.01)
    m = newton(tilted, [a])[0]
    assert m == pytest.approx(a - 0.01 / (8 * a * a), abs=1e-4 / a**3)


@pytest.mark.parametrize("a", [math.log(2.0), 1.0])
def test_entropic_double_well_width_ratio(a):
    w = entropic_double_well(a)
    np.testing.assert_allclose(w.hessian([-1.0, 0.0]), np.diag([8.0, math.exp(-a)]), rtol=1e-14)
    np.testing.assert_allclose(w.hessian([1.0, 0.0]), np.diag([8.0, math.exp(a)]), rtol=1e-14)
    np.testing.assert_allclose(w.hessian([0.0, 0.0]), np.diag([-4.0, 1.0]), rtol=1e-14)
    assert w.value([0.0, 0.0]) == 1.0 and np.all(w.grad([1.0, 0.0]) == 0)


@pytest.mark.parametrize("b", [0.5, 1.8202534122391687, 3.0])
def test_skewed_double_well_curvatures_and_barrier(b):
    w = skewed_double_well(b)
    for m, sign in ((-1.0, -1), (1.0, 1)):
        assert w.value([m]) == 0.0 and w.grad([m])[0] == 0.0
        assert w.hessian([m])[0, 0] == pytest.approx(8 * math.exp(sign * b * math.tanh(1.0)), rel=1e-12)
    # the barrier: 4 x + b (x^2 - 1) sech^2 x = 0 on (0, 1), by bisection on the closed form
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if 4 * mid + b * (mid * mid - 1) / math.cosh(mid) ** 2 < 0 else (lo, mid)
    assert abs(w.grad([lo])[0]) < 1e-9 and w.hessian([lo])[0, 0] < 0
    if b == 1.8202534122391687:
        assert lo == pytest.approx(0.352717, abs=1e-6) and w.value([lo]) == pytest.approx(1.420427, abs=1e-6)
    # no other critical point: U' changes sign only at -1, x*, 1 on a fine grid
    x = np.linspace(-6, 6, 12001)[:, None]
    signs = np.sign(w.grad(x)[:, 0])
    assert np.count_nonzero(np.diff(signs[signs != 0])) == 3


def test_symmetric_double_well():
    w = symmetric_double_well()
    for m in ([-1.0, 0.0], [1.0, 0.0]):
        np.testing.assert_allclose(w.hessian(m), np.diag([8.0, 2.0]), rtol=1e-14)
    np.testing.assert_allclose(w.hessian([0.0, 0.0]), np.diag([-4.0, 1.0]), rtol=1e-14)
    assert w.value([0.3, 0.7]) == w.value([-0.3, -0.7])


MUELLER_BROWN = [("minimum", (-0.5582, 1.4417), -146.6995), ("minimum", (0.6235, 0.0280), -108.1667),
                 ("minimum", (-0.0500, 0.4667), -80.7678), ("saddle", (-0.8220, 0.6243), -40.6648),
                 ("saddle", (0.2125, 0.2930), -72.2489)]


@pytest.mark.parametrize("kind, point, energy", MUELLER_BROWN)
def test_mueller_brown_published_critical_points(kind, point, energy):
    mb = mueller_brown()
    x = newton(mb, point)
    assert np.abs(mb.grad(x)).max() < 1e-9
    np.testing.assert_allclose(x, point, atol=6e-5)
    assert mb.value(x) == pytest.approx(energy, abs=6e-5)
    n_negative = int(np.sum(np.linalg.eigvalsh(mb.hessian(x)) < 0))
    assert n_negative == (0 if kind == "minimum" else 1)
    assert mueller_brown(scale=0.1).value(x) == pytest.approx(0.1 * mb.value(x), rel=1e-14)


def test_scalar_networks_manifold_of_minima_and_sharpness():
    net = two_layer_scalar()
    for u in (0.5, 1.0, 3.0):
        x = [u, 1.0 / u]
        assert net.value(x) == pytest.approx(0.0, abs=1e-15)
        lam = np.linalg.eigvalsh(net.hessian(x))
        np.testing.assert_allclose(lam, [0.0, u * u + 1 / u**2], atol=1e-12)
    np.testing.assert_allclose(np.linalg.eigvalsh(net.hessian([0.0, 0.0])), [-1.0, 1.0])
    deep = deep_scalar(3, y=2.0)
    assert deep.value([1.0, 2.0, 1.0]) == 0.0 and deep.value([0.0, 0.0, 0.0]) == 2.0
    np.testing.assert_array_equal(deep.hessian([0.0, 0.0, 0.0]), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="depth"):
        deep_scalar(1)


def test_rosenbrock_minimum_and_hessian():
    r = rosenbrock()
    assert r.value([1.0, 1.0]) == 0.0
    np.testing.assert_allclose(r.hessian([1.0, 1.0]), [[802.0, -400.0], [-400.0, 200.0]])
    r5 = rosenbrock(dim=5)
    assert r5.value(np.ones(5)) == 0.0 and np.all(r5.grad(np.ones(5)) == 0)
    local = newton(r5, [-1.0, 1.0, 1.0, 1.0, 1.0])
    assert np.abs(r5.grad(local)).max() < 1e-8 and local[0] < -0.9
    assert np.all(np.linalg.eigvalsh(r5.hessian(local)) > 0) and r5.value(local) > 3.0
