"""Label-noise SGD: ``simulate(..., method="sgd", label_noise={key: sigma})``.

The truths: one SGD step on L = 1/2 (u v - y)^2 with a redrawn label y can be
inverted for y, and those labels must be N(y0, sigma^2); the exact one-step
identity D' = D (1 - eta^2 (u v - y)^2) for D = u^2 - v^2.
"""
import numba as nb
import numpy as np
import pytest

from models import Custom, Quadratic, two_layer_scalar
from sandbox import simulate

SEED = 20261130
ETA, SIGMA = 0.05, 0.5


def _labels_from_one_step(x0, x1, eta):
    """The label y of each chain's step, from u' = u - eta (u v - y) v."""
    u, v = x0[:, 0], x0[:, 1]
    return u * v - (u - x1[:, 0]) / (eta * v)


def test_redrawn_labels_are_normal_around_the_nominal_label():
    n = 4000
    x0 = np.tile([1.5, 0.8], (n, 1))
    run = simulate(two_layer_scalar(y=1.0), "sgd", n_chains=n, n_steps=1, step_size=ETA, label_noise={"y": SIGMA},
                   x0=x0, seed=SEED)
    y = _labels_from_one_step(x0, run.x, ETA)
    assert abs(y.mean() - 1.0) / (SIGMA / np.sqrt(n)) < 5
    assert abs(y.var(ddof=1) / SIGMA ** 2 - 1.0) / np.sqrt(2.0 / (n - 1)) < 5
    # the same draw moves v: v' = v - eta (u v - y) u
    np.testing.assert_allclose(run.x[:, 1], 0.8 - ETA * (1.5 * 0.8 - y) * 1.5, rtol=1e-12)
    # exact identity D' = D (1 - eta^2 (u v - y)^2)
    d0, d1 = 1.5 ** 2 - 0.8 ** 2, run.x[:, 0] ** 2 - run.x[:, 1] ** 2
    np.testing.assert_allclose(d1, d0 * (1 - ETA ** 2 * (1.5 * 0.8 - y) ** 2), rtol=1e-10)


def test_gradient_descent_conserves_u2_minus_v2_and_label_noise_does_not():
    x0 = [2.0, 0.5]
    gd = simulate(two_layer_scalar(), "gd", n_chains=1, n_steps=2000, step_size=ETA, x0=x0)
    u, v = gd.x[0]
    assert u * v == pytest.approx(1.0, abs=1e-9)            # converged onto the manifold
    # discrete GD shrinks D only by prod (1 - eta^2 r_k^2), r_k -> 0 geometrically
    assert u ** 2 - v ** 2 == pytest.approx(3.75, rel=1e-2)
    sgd = simulate(two_layer_scalar(), "sgd", n_chains=200, n_steps=2000, step_size=ETA, x0=x0,
                   label_noise={"y": SIGMA}, seed=SEED)
    d = sgd.x[:, 0] ** 2 - sgd.x[:, 1] ** 2
    # E D_k <= D_0 exp(-eta^2 sigma^2 k) (each factor's mean is 1 - eta^2 (r^2 + sigma^2))
    assert d.mean() + 5 * d.std(ddof=1) / np.sqrt(d.size) < 3.75 * np.exp(-ETA ** 2 * SIGMA ** 2 * 2000)


def test_recorded_loss_is_the_loss_at_the_nominal_labels():
    landscape = two_layer_scalar(y=1.0)
    run = simulate(landscape, "sgd", n_chains=3, n_steps=20, step_size=ETA, x0=[1.2, 0.7], label_noise={"y": SIGMA},
                   seed=SEED, record_every=5, record_positions=True)
    expected = landscape.value(run.positions.reshape(-1, 2)).reshape(run.loss.shape)
    np.testing.assert_allclose(run.loss, expected, rtol=1e-12)


def test_extend_continues_the_label_draws():
    kwargs = dict(n_chains=4, step_size=ETA, x0=[1.2, 0.7], label_noise={"y": SIGMA}, seed=SEED)
    once = simulate(two_layer_scalar(), "sgd", n_steps=60, **kwargs)
    twice = simulate(two_layer_scalar(), "sgd", n_steps=30, **kwargs).extend(30)
    np.testing.assert_array_equal(once.x, twice.x)


@nb.njit
def _data_value(x, p):
    # p = labels y_1..y_n of a 1-parameter least-squares fit to inputs 1, 2, ..., n
    s = 0.0
    for i in range(p.size):
        r = x[0] * (i + 1) - p[i]
        s += 0.5 * r * r
    return s


@nb.njit
def _data_grad(x, p, out):
    g = 0.0
    for i in range(p.size):
        g += ((i + 1) * x[0] - p[i]) * (i + 1)
    out[0] = g


def test_custom_labels_by_index_redraw_every_listed_entry():
    """A data-defined loss: labels live in the parameter vector, all redrawn at every step."""
    labels = [1.0, 2.0, 3.0]
    fit = Custom(_data_value, _data_grad, dim=1, parameters=labels)
    n, eta = 4000, 0.01
    run = simulate(fit, "sgd", n_chains=n, n_steps=1, step_size=eta, x0=[1.0], label_noise={(0, 1, 2): SIGMA},
                   seed=SEED)
    # x' = x - eta sum_i i (i x - y_i) = 1 + eta sum_i i sigma xi_i: variance eta^2 sigma^2 (1 + 4 + 9)
    step = run.x[:, 0] - 1.0
    assert abs(step.mean()) / (eta * SIGMA * np.sqrt(14 / n)) < 5
    assert abs(step.var(ddof=1) / (eta ** 2 * SIGMA ** 2 * 14) - 1) / np.sqrt(2.0 / (n - 1)) < 5
    one = simulate(fit, "sgd", n_chains=n, n_steps=1, step_size=eta, x0=[1.0], label_noise={0: SIGMA}, seed=SEED)
    step = one.x[:, 0] - 1.0
    assert abs(step.var(ddof=1) / (eta ** 2 * SIGMA ** 2) - 1) / np.sqrt(2.0 / (n - 1)) < 5


@pytest.mark.parametrize("kwargs, match", [
    (dict(method="ula", temperature=0.1), "label_noise is an option of method 'sgd'"),
    (dict(method="sgd", label_noise={"z": 0.5}), "unknown parameter 'z'"),
    (dict(method="sgd", label_noise={"y": -1.0}), "label_noise\\['y'\\]"),
    (dict(method="sgd", label_noise={}), "non-empty mapping"),
])
def test_bad_label_noise(kwargs, match):
    kwargs.setdefault("label_noise", {"y": 0.5})
    method = kwargs.pop("method")
    with pytest.raises(ValueError, match=match):
        simulate(two_layer_scalar(), method, n_chains=2, n_steps=1, step_size=ETA, **kwargs)


def test_label_noise_needs_runtime_parameters():
    with pytest.raises(ValueError, match="no runtime parameters"):
        simulate(Quadratic([1.0]), "sgd", n_chains=2, n_steps=1, step_size=0.1, label_noise={"y": 0.5})
    with pytest.raises(ValueError, match="parameter index"):
        Custom(_data_value, _data_grad, dim=1, parameters=[1.0]).parameter_index(3)
