r"""Manifolds of minima: the Gibbs law along them, and the drift of label-noise SGD (claim C6).

Gibbs law along a manifold. As T -> 0 the Gibbs density exp(-L/T) / Z
concentrates on the manifold of minima, with marginal density proportional to
arc length times det(H_normal)^(-1/2). On the ellipse of minima of
L = 1/2 g^2, g = x^2/a^2 + y^2/b^2 - 1, the normal eigenvalue is |grad g|^2,
so the marginal is proportional to (ds/dtheta) / |grad g|: not uniform in arc
length, as the essay suggests, unless a = b. Two exact facts hold here
(derived for this module): in the polar angle theta the density is
r(theta)^2 / (2 pi a b), r(theta) the ellipse's radius, i.e. uniform in the
eccentric anomaly phi (x, y = a cos phi, b sin phi); and since L depends on
(r, theta) only through u = r^2 q(theta), q = cos^2/a^2 + sin^2/b^2, and
r dr = du / (2 q), the theta-marginal is the same at every T > 0, not only in
the limit. On the hyperbola u v = 1 of L = 1/2 (u v - 1)^2 the Gibbs measure
is not normalisable: int exp(-L/T) dv = sqrt(2 pi T) / |u| at fixed u, whose
integral over u diverges at 0 and at infinity; no stationary law exists there
to test.

Label-noise SGD. On L = 1/2 (u v - y)^2 with the label redrawn as
y = 1 + sigma xi at every step, SGD drifts along u v = 1 towards u = v, the
point of minimal tr H = u^2 + v^2, while gradient flow conserves u^2 - v^2:
see :func:`label_noise_drift` and :func:`gd_balance`.
"""
from typing import NamedTuple

import numpy as np
from scipy.special import ellipeinc

from models.validation import (as_finite_array, check_nonnegative, check_positive, check_positive_int, plain)

__all__ = [
    "ellipse_landscape",
    "ellipse_limit_density",
    "ellipse_limit_bin_probabilities",
    "ellipse_arc_length_bin_probabilities",
    "EllipseBins",
    "ellipse_gibbs_bin_probabilities",
    "label_noise_drift",
    "gd_balance",
    "gradient_flow_balance",
]


# --- the ellipse of minima -----------------------------------------------------------------------

def ellipse_landscape(a, b):
    """L(x, y) = 1/2 (x^2/a^2 + y^2/b^2 - 1)^2, a ``models.Symbolic`` with parameters a and b.

    Its minima (L = 0) form the ellipse x^2/a^2 + y^2/b^2 = 1; the origin is a
    local maximum (L = 1/2).

    Examples
    --------
    >>> ellipse_landscape(2.0, 1.0).value([2.0, 0.0])
    0.0
    """
    from models import Symbolic

    a, b = check_positive(a, "a"), check_positive(b, "b")
    return Symbolic("(x**2/a**2 + y**2/b**2 - 1)**2/2", ["x", "y"], parameters={"a": a, "b": b},
                    name="ellipse_of_minima")


def ellipse_limit_density(theta, a, b):
    r"""T -> 0 Gibbs marginal density along the ellipse of minima, in the polar angle theta = atan2(y, x).

    .. math:: p(\theta) \propto \frac{ds/d\theta}{|\nabla g|}
              = \frac{r(\theta)^2}{2}, \qquad
              p(\theta) = \frac{r(\theta)^2}{2\pi a b}, \qquad
              r(\theta)^{-2} = \frac{\cos^2\theta}{a^2} + \frac{\sin^2\theta}{b^2}.

    Arc length times det(H_normal)^(-1/2), H_normal = |grad g|^2 the Hessian
    eigenvalue across the ellipse (claim C6). With q = r^-2 and
    r' = dr/dtheta: ds/dtheta = sqrt(r^2 + r'^2) = sqrt(4 q^2 + q'^2) / (2 q^(3/2))
    and |grad g| = r sqrt(4 q^2 + q'^2), whose ratio is 1 / (2 q). The
    normalisation is the ellipse's area, int r^2 / 2 dtheta = pi a b.

    Parameters
    ----------
    theta : float or array_like
        Polar angles (radians).
    a, b : float
        Semi-axes along x and y, > 0.

    Returns
    -------
    float or ndarray
        Density with respect to dtheta (integrates to 1 over a full turn).

    Examples
    --------
    >>> float(ellipse_limit_density(0.0, 2.0, 1.0) / ellipse_limit_density(np.pi / 2, 2.0, 1.0))   # (a / b)^2
    4.0
    """
    th = as_finite_array(theta, "theta")
    a, b = check_positive(a, "a"), check_positive(b, "b")
    p = 1.0 / (2 * np.pi * a * b * (np.cos(th) ** 2 / a ** 2 + np.sin(th) ** 2 / b ** 2))
    return float(p) if p.ndim == 0 else p


def _eccentric_anomaly(theta, a, b):
    """phi with (a cos phi, b sin phi) at polar angle theta, continuous in theta (phi - theta in (-pi/2, pi/2))."""
    raw = np.arctan2(a * np.sin(theta), b * np.cos(theta))
    return theta + (raw - theta + np.pi) % (2 * np.pi) - np.pi


def _check_edges(edges):
    e = as_finite_array(edges, "edges", ndim=1)
    if e.size < 2 or np.any(np.diff(e) <= 0):
        raise ValueError(f"edges must be at least two increasing angles, got {e.tolist()}")
    if e[-1] - e[0] > 2 * np.pi * (1 + 1e-12):
        raise ValueError(f"edges must span at most one turn (2 pi), got a span of {plain(e[-1] - e[0])}")
    return e


def ellipse_limit_bin_probabilities(edges, a, b):
    r"""Probabilities of polar-angle bins under the T -> 0 law :func:`ellipse_limit_density`.

    The law is uniform in the eccentric anomaly phi, tan phi = (a / b) tan theta,
    so bin [theta_i, theta_{i+1}] has probability (phi(theta_{i+1}) - phi(theta_i)) / (2 pi).

    Parameters
    ----------
    edges : array_like
        Increasing polar angles spanning at most 2 pi.
    a, b : float
        Semi-axes, > 0.

    Returns
    -------
    ndarray (len(edges) - 1,)
        Bin probabilities (summing to 1 when the edges span a full turn).

    Examples
    --------
    >>> ellipse_limit_bin_probabilities(np.linspace(0, np.pi / 2, 3), 2.0, 1.0).round(6).tolist()
    [0.176208, 0.073792]
    """
    e = _check_edges(edges)
    a, b = check_positive(a, "a"), check_positive(b, "b")
    return np.diff(_eccentric_anomaly(e, a, b)) / (2 * np.pi)


def ellipse_arc_length_bin_probabilities(edges, a, b):
    r"""Probabilities of polar-angle bins if the law were uniform in arc length (the essay's suggestion).

    Arc length from phi = 0 to phi is s(phi) = b E(phi | 1 - a^2/b^2)
    (incomplete elliptic integral of the second kind,
    ``scipy.special.ellipeinc``), phi the eccentric anomaly; the perimeter is
    s(2 pi).

    Examples
    --------
    >>> ellipse_arc_length_bin_probabilities(np.linspace(0, np.pi / 2, 3), 2.0, 1.0).round(6).tolist()
    [0.156812, 0.093188]
    """
    e = _check_edges(edges)
    a, b = check_positive(a, "a"), check_positive(b, "b")
    m = 1.0 - a ** 2 / b ** 2
    s = b * ellipeinc(_eccentric_anomaly(e, a, b), m)
    return np.diff(s) / (b * ellipeinc(2 * np.pi, m))


class EllipseBins(NamedTuple):
    """Finite-T bin probabilities by quadrature (:func:`ellipse_gibbs_bin_probabilities`).

    Attributes
    ----------
    probabilities : ndarray (n_bins,)
        Share of the whole plane's Gibbs mass in each polar-angle bin.
    error : ndarray (n_bins,)
        Estimated quadrature error (difference between two resolutions).
    """

    probabilities: np.ndarray
    error: np.ndarray


def ellipse_gibbs_bin_probabilities(edges, a, b, temperature, *, n_panels=8, n_nodes=16):
    r"""Exact finite-T probabilities of polar-angle bins: quadrature of exp(-L/T) r dr dtheta over the plane.

    .. math:: P_i = \frac{\int_{\theta_i}^{\theta_{i+1}} d\theta \int_0^\infty e^{-L(r\cos\theta,\,r\sin\theta)/T}\,r\,dr}
                         {\int_0^{2\pi} d\theta \int_0^\infty e^{-L/T}\,r\,dr},
              \qquad L = \tfrac12\,(x^2/a^2 + y^2/b^2 - 1)^2,

    with L evaluated by :func:`ellipse_landscape`. The radial integral runs
    over [0, r_out(theta)], beyond which exp(-L/T) < e^-60, in Gauss-Legendre
    panels graded around the ellipse (r_out and the panels come from
    u = r^2 q(theta): 16 panels inside u = 1 - sqrt(120 T), 64 panels across
    1 -+ sqrt(120 T)); each bin's theta-range has ``n_panels`` panels. The
    error is the difference from a run with twice the panels in both
    variables. These converge to :func:`ellipse_limit_bin_probabilities` as
    T -> 0; for this landscape they equal them at every T (the module
    docstring says why), which the quadrature confirms independently.

    Parameters
    ----------
    edges : array_like
        Increasing polar angles spanning at most 2 pi.
    a, b : float
        Semi-axes, > 0.
    temperature : float
        T > 0.
    n_panels, n_nodes : int
        Theta panels per bin, and Gauss-Legendre nodes per panel.

    Returns
    -------
    EllipseBins

    Examples
    --------
    >>> r = ellipse_gibbs_bin_probabilities(np.linspace(0, np.pi / 2, 3), 2.0, 1.0, 0.1)
    >>> r.probabilities.round(6).tolist(), bool(r.error.max() < 1e-10)
    ([0.176208, 0.073792], True)
    """
    e = _check_edges(edges)
    a, b = check_positive(a, "a"), check_positive(b, "b")
    t = check_positive(temperature, "temperature")
    n_panels = check_positive_int(n_panels, "n_panels")
    n_nodes = check_positive_int(n_nodes, "n_nodes", minimum=2)
    landscape = ellipse_landscape(a, b)
    full = np.array([0.0, 2 * np.pi])
    coarse = _polar_mass(landscape, e, a, b, t, n_panels, n_nodes, 1) / _polar_mass(
        landscape, full, a, b, t, 4 * n_panels, n_nodes, 1)[0]
    fine = _polar_mass(landscape, e, a, b, t, 2 * n_panels, n_nodes, 2) / _polar_mass(
        landscape, full, a, b, t, 8 * n_panels, n_nodes, 2)[0]
    return EllipseBins(fine, np.abs(fine - coarse))


def _panels(lo, hi, n_panels, nodes, weights):
    """Gauss-Legendre nodes and weights of n_panels equal panels on [lo, hi] (lo, hi arrays (m,)): (m, P*n)."""
    edges = lo[:, None] + (hi - lo)[:, None] * np.linspace(0, 1, n_panels + 1)
    half = 0.5 * np.diff(edges, axis=1)                                         # (m, P)
    mid = 0.5 * (edges[:, 1:] + edges[:, :-1])
    x = (mid[:, :, None] + half[:, :, None] * nodes).reshape(len(lo), -1)
    w = (half[:, :, None] * weights).reshape(len(lo), -1)
    return x, w


def _polar_mass(landscape, edges, a, b, t, n_panels, n_nodes, refine):
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    th, wt = _panels(edges[:-1], edges[1:], n_panels, nodes, weights)           # (bins, P*n)
    th, wt = th.ravel(), wt.ravel()
    q = np.cos(th) ** 2 / a ** 2 + np.sin(th) ** 2 / b ** 2
    width = np.sqrt(120 * t)
    r_in = np.sqrt(np.maximum(0.0, 1 - width) / q)
    r_out = np.sqrt((1 + width) / q)
    inner_r, inner_w = _panels(np.zeros_like(r_in), r_in, 16 * refine, nodes, weights)
    outer_r, outer_w = _panels(r_in, r_out, 64 * refine, nodes, weights)
    r = np.concatenate([inner_r, outer_r], axis=1)                             # (m, R)
    w = np.concatenate([inner_w, outer_w], axis=1)
    pts = np.stack([r * np.cos(th)[:, None], r * np.sin(th)[:, None]], axis=-1).reshape(-1, 2)
    loss = np.asarray(landscape.value(pts)).reshape(r.shape)
    radial = np.sum(np.exp(-loss / t) * r * w, axis=1)                          # (m,)
    return (radial * wt).reshape(len(edges) - 1, -1).sum(axis=1)


# --- label-noise SGD on the scalar two-layer model -------------------------------------------------

def label_noise_drift(d0, eta, sigma, n_steps, *, correction=True, r0=0.0):
    r"""Predicted mean of D_k = u_k^2 - v_k^2 under label-noise SGD on L = 1/2 (u v - y)^2.

    SGD step eta with the label redrawn as y = 1 + sigma xi, xi ~ N(0, 1), at
    every step: (u, v) <- (u, v) - eta e (v, u), e = u v - y. With
    r = u v - 1 and s = u^2 + v^2 = tr H, one step gives exactly

    .. math:: D' = D\,(1 - \eta^2 e^2), \qquad
              E[D' \mid \text{now}] = D\,(1 - \eta^2 (r^2 + \sigma^2)),

    and near the manifold r' = (1 - eta s) r + eta s sigma xi + O(eta^2 e^2),
    so m_k = E r_k^2 follows m' = (1 - eta s)^2 m + eta^2 s^2 sigma^2, with the
    quasi-equilibrium m = eta s sigma^2 / (2 - eta s). On u v = 1,
    s = sqrt(D^2 + 4).

    ``correction=True`` iterates

    .. math:: E D_{k+1} = E D_k\,(1 - \eta^2 (m_k + \sigma^2)),\quad
              m_{k+1} = (1 - \eta s_k)^2 m_k + \eta^2 s_k^2 \sigma^2,\quad
              s_k = \sqrt{E D_k^2 + 4},\ m_0 = r_0^2,

    whose quasi-equilibrium rate is d ln|D| / dk = -eta^2 sigma^2 2 / (2 - eta s).
    ``correction=False`` gives the leading order, E D_k = D_0 exp(-eta^2 sigma^2 k):
    the manifold flow dD/dtau = -D in tau = eta^2 sigma^2 k. That flow is the
    Riemannian gradient flow -1/4 grad_Gamma tr H of Li, Wang & Arora (2022)
    written in D: on u v = 1 the tangent is (u, -v) / sqrt(s), grad tr H = 2 (u, v),
    so (u, v)' = -D (u, -v) / (2 s) and D' = 2 u u' - 2 v v' = -D. Its fixed
    point D = 0 (u = v = 1) minimises tr H = u^2 + 1/u^2 on the manifold.

    Regime: eta s < 2 (else the normal direction is unstable), sigma small
    (eta sigma^2 / s << 1: the neglected mean shift of r and the
    correlation between D_k and r_k^2 are of relative order eta sigma^2 / s),
    and the chain near the manifold (|r| << 1). The trajectory ignores the
    spread of D between chains (it uses s at the mean D).

    Parameters
    ----------
    d0 : float
        D_0 = u_0^2 - v_0^2 (the start is on or near u v = 1).
    eta : float
        Step size, > 0.
    sigma : float
        Label-noise standard deviation, >= 0.
    n_steps : int
        Number of steps; the trajectory has n_steps + 1 entries.
    correction : bool
        Iterate the finite-eta recursion above (default) or return the
        leading-order exponential.
    r0 : float
        Initial distance u_0 v_0 - 1 (default 0: start on the manifold).

    Returns
    -------
    ndarray (n_steps + 1,)
        Predicted E[D_k], k = 0..n_steps.

    References
    ----------
    Blanc, Gupta, Valiant & Valiant (2020), "Implicit regularization for deep
    neural networks driven by an Ornstein-Uhlenbeck like process", COLT 2020;
    Damian, Ma & Lee (2021), "Label noise SGD provably prefers flat global
    minimizers", NeurIPS 2021; Li, Wang & Arora (2022), "What happens after
    SGD reaches zero loss? A mathematical framework", ICLR 2022. The exact
    one-step identity and the recursion for m are derived above.

    Examples
    --------
    >>> label_noise_drift(3.0, 0.01, 0.5, 2, correction=False).round(6).tolist()
    [3.0, 2.999925, 2.99985]
    """
    d0 = float(as_finite_array(d0, "d0", ndim=0))
    eta = check_positive(eta, "eta")
    sigma = check_nonnegative(sigma, "sigma")
    n_steps = check_positive_int(n_steps, "n_steps", minimum=0)
    r0 = float(as_finite_array(r0, "r0", ndim=0))
    s0 = np.sqrt(d0 ** 2 + 4)
    if eta * s0 >= 2:
        raise ValueError(f"eta * tr H must be < 2 for SGD to stay near the manifold; got eta={plain(eta)} with "
                         f"tr H = sqrt(d0^2 + 4) = {s0:.6g} at d0={plain(d0)} (eta must be < {2 / s0:.6g})")
    k = np.arange(n_steps + 1)
    if not correction:
        return d0 * np.exp(-eta ** 2 * sigma ** 2 * k)
    out = np.empty(n_steps + 1)
    out[0] = d = d0
    m = r0 ** 2
    for i in range(1, n_steps + 1):
        s = np.sqrt(d * d + 4)
        d *= 1 - eta ** 2 * (m + sigma ** 2)
        m = (1 - eta * s) ** 2 * m + (eta * s * sigma) ** 2
        out[i] = d
    return out


def gd_balance(u0, v0, eta, n_steps):
    r"""D_k = u_k^2 - v_k^2 along gradient descent on L = 1/2 (u v - 1)^2 (label noise sigma = 0).

    The exact product formula of :func:`label_noise_drift` with sigma = 0:

    .. math:: D_{k+1} = D_k\,(1 - \eta^2 r_k^2), \qquad r_k = u_k v_k - 1,

    evaluated along the GD path (u, v) <- (u, v) - eta r (v, u). GD changes D
    only by O(eta^2 sum_k r_k^2), which vanishes as eta -> 0 at fixed time
    eta k: gradient flow conserves D (:func:`gradient_flow_balance`).

    Returns
    -------
    ndarray (n_steps + 1,)
        D_k, k = 0..n_steps.

    Examples
    --------
    >>> gd_balance(2.0, 0.25, 0.1, 3).round(6).tolist()
    [3.9375, 3.927656, 3.924224, 3.923067]
    """
    u = float(as_finite_array(u0, "u0", ndim=0))
    v = float(as_finite_array(v0, "v0", ndim=0))
    eta = check_positive(eta, "eta")
    n_steps = check_positive_int(n_steps, "n_steps", minimum=0)
    out = np.empty(n_steps + 1)
    out[0] = d = u * u - v * v
    for i in range(1, n_steps + 1):
        r = u * v - 1
        d *= 1 - (eta * r) * (eta * r)
        u, v = u - eta * r * v, v - eta * r * u
        out[i] = d
        if not np.isfinite(d):
            raise ValueError(f"gradient descent diverged at step {i} (eta={plain(eta)} is too large for "
                             f"u0={plain(u0)}, v0={plain(v0)})")
    return out


def gradient_flow_balance(d0, n_steps):
    """D_k = D_0 for all k: gradient flow conserves u^2 - v^2 on L = 1/2 (u v - y)^2.

    d/dt (u^2 - v^2) = -2 u (u v - y) v + 2 v (u v - y) u = 0.

    Examples
    --------
    >>> gradient_flow_balance(3.0, 2).tolist()
    [3.0, 3.0, 3.0]
    """
    d0 = float(as_finite_array(d0, "d0", ndim=0))
    n_steps = check_positive_int(n_steps, "n_steps", minimum=0)
    return np.full(n_steps + 1, d0)
