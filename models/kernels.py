"""numba kernels for every landscape, dispatched on an integer ``kind``.

A landscape hands the simulators three things (see
:meth:`models.landscape.Landscape.kernel_params`): ``kind`` (one of the
constants below), a flat float64 array ``fp`` and a flat int64 array ``ip``
holding its parameters. The simulators call only :func:`value`,
:func:`gradient` and :func:`hessian_sqrt_apply` below, so one compiled
simulator serves every landscape and is cached on disk once (numba cannot
cache kernels that take jitted functions as arguments or closures).
A new landscape adds a ``kind``, its packing, and a branch here; the
simulators are not touched.

Layouts (``d`` = dimension, ``K`` = number of wells, matrices row-major):

- ``DIAGONAL_QUADRATIC``: ip = [d]; fp = [c (d), lam (d), sqrt(lam) (d)]
- ``DENSE_QUADRATIC``:    ip = [d]; fp = [c (d), H (d*d), H^{1/2} (d*d)]
- ``MULTI_WELL``:         ip = [d, K]; fp = [depth (K), c (K*d), H (K*d*d), H^{1/2} (K*d*d)]
- ``NORMAL_CROSSING``:    ip = [d]; fp = [c (d), k (d) as floats]; L = prod_i (x_i - c_i)^(2 k_i)
  (:class:`models.normal_crossing.NormalCrossing`). It has no Hessian square
  root: :func:`hessian_sqrt_apply` raises for it, and the landscape sets
  ``hessian_is_psd = False`` so that wrappers refuse Hessian-shaped noise first.

``sqrt`` blocks are NaN where the Hessian is not positive semi-definite;
wrappers refuse Hessian-shaped noise in that case before calling a kernel.
"""
import numba as nb
import numpy as np

__all__ = [
    "DIAGONAL_QUADRATIC",
    "DENSE_QUADRATIC",
    "MULTI_WELL",
    "NORMAL_CROSSING",
    "value",
    "gradient",
    "hessian_sqrt_apply",
    "batch_value",
    "batch_gradient",
]

DIAGONAL_QUADRATIC = 0
DENSE_QUADRATIC = 1
MULTI_WELL = 2
NORMAL_CROSSING = 3


@nb.njit(cache=True, fastmath={"reassoc", "contract"})
def _diag_value(fp, d, x):
    s = 0.0
    for i in range(d):
        u = x[i] - fp[i]
        s += fp[d + i] * u * u
    return 0.5 * s


@nb.njit(cache=True, fastmath={"reassoc", "contract"})
def _quadratic_form(fp, off_c, off_h, d, x):
    """1/2 (x - c)^T M (x - c) with c = fp[off_c:], M = fp[off_h:] (row-major)."""
    s = 0.0
    for i in range(d):
        row = off_h + i * d
        t = 0.0
        for j in range(d):
            t += fp[row + j] * (x[j] - fp[off_c + j])
        s += (x[i] - fp[off_c + i]) * t
    return 0.5 * s


@nb.njit(cache=True)
def _matvec(fp, off_m, d, x, off_c, shift, out):
    """out = M (x - shift * c): M = fp[off_m:], c = fp[off_c:]; shift is 0 or 1."""
    for i in range(d):
        row = off_m + i * d
        t = 0.0
        for j in range(d):
            t += fp[row + j] * (x[j] - shift * fp[off_c + j])
        out[i] = t


@nb.njit(cache=True)
def _active_well(fp, ip, x):
    """Index and value of the lowest well at ``x`` (ties: the first)."""
    d, K = ip[0], ip[1]
    best, best_k = np.inf, 0
    for k in range(K):
        v = fp[k] + _quadratic_form(fp, K + k * d, K + K * d + k * d * d, d, x)
        if v < best:
            best, best_k = v, k
    return best_k, best


@nb.njit(cache=True)
def _crossing_value(fp, d, x):
    """prod_i (x_i - c_i)^(2 k_i), computed as (u^2)^k so that the base is >= 0."""
    s = 1.0
    for i in range(d):
        u = x[i] - fp[i]
        s *= (u * u) ** fp[d + i]
    return s


@nb.njit(cache=True)
def _crossing_gradient(fp, d, x, g):
    """g_j = 2 k_j u_j^(2 k_j - 1) prod_{i != j} u_i^(2 k_i), without division.

    ``g`` first holds the prefix products prod_{i<j}; a backward sweep then
    multiplies in the suffix product and the derivative of factor j, so the
    gradient is exact on the axes (where some u_i = 0).
    """
    s = 1.0
    for j in range(d):
        g[j] = s
        u = x[j] - fp[j]
        s *= (u * u) ** fp[d + j]
    s = 1.0
    for j in range(d - 1, -1, -1):
        u = x[j] - fp[j]
        k = fp[d + j]
        g[j] *= s * 2.0 * k * u * (u * u) ** (k - 1.0)
        s *= (u * u) ** k


@nb.njit(cache=True)
def value(kind, fp, ip, x):
    """Loss at one point ``x`` (d,)."""
    d = ip[0]
    if kind == NORMAL_CROSSING:
        return _crossing_value(fp, d, x)
    if kind == DIAGONAL_QUADRATIC:
        return _diag_value(fp, d, x)
    if kind == DENSE_QUADRATIC:
        return _quadratic_form(fp, 0, d, d, x)
    if kind == MULTI_WELL:
        return _active_well(fp, ip, x)[1]
    raise ValueError("unknown landscape kind")


@nb.njit(cache=True)
def gradient(kind, fp, ip, x, g):
    """Write grad L(x) into ``g`` (d,)."""
    d = ip[0]
    if kind == NORMAL_CROSSING:
        _crossing_gradient(fp, d, x, g)
        return
    if kind == DIAGONAL_QUADRATIC:
        for i in range(d):
            g[i] = fp[d + i] * (x[i] - fp[i])
        return
    if kind == DENSE_QUADRATIC:
        _matvec(fp, d, d, x, 0, 1.0, g)
        return
    if kind == MULTI_WELL:
        K = ip[1]
        k = _active_well(fp, ip, x)[0]
        _matvec(fp, K + K * d + k * d * d, d, x, K + k * d, 1.0, g)
        return
    raise ValueError("unknown landscape kind")


@nb.njit(cache=True)
def hessian_sqrt_apply(kind, fp, ip, x, z, out):
    """Write H(x)^{1/2} z into ``out`` (H(x) positive semi-definite)."""
    d = ip[0]
    if kind == NORMAL_CROSSING:
        raise ValueError("hessian_sqrt_apply is not available for NORMAL_CROSSING (indefinite Hessian)")
    if kind == DIAGONAL_QUADRATIC:
        for i in range(d):
            out[i] = fp[2 * d + i] * z[i]
        return
    if kind == DENSE_QUADRATIC:
        _matvec(fp, d + d * d, d, z, 0, 0.0, out)
        return
    if kind == MULTI_WELL:
        K = ip[1]
        k = _active_well(fp, ip, x)[0]
        _matvec(fp, K + K * d + K * d * d + k * d * d, d, z, 0, 0.0, out)
        return
    raise ValueError("unknown landscape kind")


@nb.njit(cache=True, parallel=True)
def batch_value(kind, fp, ip, X, out):
    """``out[n] = L(X[n])`` for a batch ``X`` (n, d)."""
    for n in nb.prange(X.shape[0]):
        out[n] = value(kind, fp, ip, X[n])


@nb.njit(cache=True, parallel=True)
def batch_gradient(kind, fp, ip, X, out):
    """``out[n] = grad L(X[n])`` for a batch ``X`` (n, d)."""
    for n in nb.prange(X.shape[0]):
        gradient(kind, fp, ip, X[n], out[n])
