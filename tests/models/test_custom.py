"""Tests of models.Custom: the user's own numba functions as a landscape."""
import numba
import numpy as np
import pytest

from models import Custom, Landscape, LandscapeError


@numba.njit
def ring_value(x, p):
    """1/2 (|x|^2 - r^2)^2 with r = p[0]: minima on the circle of radius r."""
    s = 0.0
    for i in range(x.size):
        s += x[i] * x[i]
    return 0.5 * (s - p[0] * p[0]) ** 2


@numba.njit
def ring_grad(x, p, out):
    s = 0.0
    for i in range(x.size):
        s += x[i] * x[i]
    for i in range(x.size):
        out[i] = 2.0 * (s - p[0] * p[0]) * x[i]


@numba.njit
def ring_hessian(x, p, out):
    s = 0.0
    for i in range(x.size):
        s += x[i] * x[i]
    for i in range(x.size):
        for j in range(x.size):
            out[i, j] = 4.0 * x[i] * x[j] + (2.0 * (s - p[0] * p[0]) if i == j else 0.0)


@numba.njit
def raising_value(x, p):
    if x[0] > 1.0:
        raise ValueError("outside the model's domain")
    return x[0] * x[0]


def ring_truth(x, r):
    x = np.asarray(x, dtype=float)
    s = x @ x
    return 0.5 * (s - r * r) ** 2, 2 * (s - r * r) * x, 4 * np.outer(x, x) + 2 * (s - r * r) * np.eye(x.size)


def test_value_gradient_and_hessian_are_the_users_functions():
    ring = Custom(ring_value, ring_grad, dim=3, parameters=[1.5], hessian=ring_hessian, name="ring")
    for x in np.random.default_rng(0).normal(size=(5, 3)):
        v, g, h = ring_truth(x, 1.5)
        assert ring.value(x) == pytest.approx(v, rel=1e-14)
        np.testing.assert_allclose(ring.grad(x), g, rtol=1e-14)
        np.testing.assert_allclose(ring.hessian(x), h, rtol=1e-14, atol=1e-14)
    assert ring.value(np.zeros((4, 3))).shape == (4,) and repr(ring) == "Custom('ring', d=3)"
    np.testing.assert_array_equal(ring.kernel_parameters(), [1.5])
    assert isinstance(ring, Landscape) and ring.cache_kernels is False


def test_hessian_falls_back_to_central_differences_of_the_gradient():
    ring = Custom(ring_value, ring_grad, dim=3, parameters=[1.5])
    assert not ring.has_kernel("hessian")
    x = np.random.default_rng(1).normal(size=(6, 3))
    exact = np.array([ring_truth(p, 1.5)[2] for p in x])
    got = ring.hessian(x)
    # central differences: truncation h^2 |g'''| / 6 ~ 1e-11, rounding eps |g| / h ~ 1e-10
    np.testing.assert_allclose(got, exact, rtol=1e-8, atol=1e-8)
    np.testing.assert_array_equal(got, np.swapaxes(got, 1, 2))
    assert np.abs(got - exact).max() > 0  # differences, not the exact formula


def test_with_parameters_shares_the_functions():
    ring = Custom(ring_value, ring_grad, dim=2, parameters=[1.0])
    wide = ring.with_parameters([2.0])
    assert wide.value([0.0, 0.0]) == 8.0 and ring.value([0.0, 0.0]) == 0.5
    assert wide.kernel_functions()["value"] is ring.kernel_functions()["value"]
    with pytest.raises(ValueError, match="length 1"):
        ring.with_parameters([1.0, 2.0])


def test_a_function_that_raises_is_reported_not_a_number():
    f = Custom(raising_value, ring_grad, dim=1, parameters=[1.0])
    assert f.value([0.5]) == 0.25
    with pytest.raises(LandscapeError, match="value function raised an exception at x=\\[2.\\]"):
        f.value([2.0])
    assert issubclass(LandscapeError, ValueError)


@pytest.mark.parametrize("kwargs, message", [
    (dict(value=lambda x, p: 0.0, grad=ring_grad, dim=2), "value must be a numba.njit function"),
    (dict(value=ring_value, grad=np.sum, dim=2), "grad must be a numba.njit function"),
    (dict(value=ring_value, grad=ring_grad, dim=2, hessian="h"), "hessian must be a numba.njit function"),
    (dict(value=ring_value, grad=ring_grad, dim=0), "dim must be an integer >= 1"),
    (dict(value=ring_value, grad=ring_grad, dim=2.0), "dim must be an integer >= 1"),
    (dict(value=ring_value, grad=ring_grad, dim=2, parameters=[np.nan]), "parameters must be finite"),
    (dict(value=ring_value, grad=ring_grad, dim=2, parameters=[[1.0]]), "parameters must have 1 dimension"),
])
def test_bad_input_names_the_parameter(kwargs, message):
    value, grad = kwargs.pop("value"), kwargs.pop("grad")
    with pytest.raises(ValueError, match=message):
        Custom(value, grad, **kwargs)


@numba.njit
def two_argument_grad(x, p):
    return x


def test_a_wrong_signature_is_named_when_the_landscape_is_built():
    with pytest.raises(ValueError, match=r"grad must have the signature grad\(x, p, out\) -> None"):
        Custom(ring_value, two_argument_grad, dim=2, parameters=[1.0])
