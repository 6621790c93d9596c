r"""Normal-crossing singular minima: K(w) = prod_i (w_i - c_i)^(2 k_i).

The local normal form of every analytic loss near a (possibly degenerate)
minimum after resolution of singularities (Watanabe, *Algebraic Geometry and
Statistical Learning Theory*, 2009, Thm. 6.1). ``w^2`` (d = 1, k = 1) is the
regular one-dimensional minimum; ``w1^2 w2^2`` is the basic singular one,
whose set of minima is the union of the two axes. The volume of the sublevel
set {K <= eps} scales as eps^lambda (log 1/eps)^(m-1) with the real log
canonical threshold lambda = min_i 1/(2 k_i) and its multiplicity m (claim C8;
closed forms in :mod:`analysis.volume`).
"""
import numbers

import numba as nb
import numpy as np

from models.landscape import Landscape
from models.validation import as_finite_array

__all__ = ["NormalCrossing", "as_exponents"]


def as_exponents(exponents, name="exponents"):
    """Validate normal-crossing exponents: a non-empty 1-d list of integers >= 1.

    Integer-valued floats (2.0) are accepted; 1.5, 0, -1, NaN, booleans and an
    empty list raise ``ValueError`` naming ``name``.

    Returns
    -------
    ndarray of int64, shape (d,)
        The exponents k_i.

    Examples
    --------
    >>> as_exponents([1, 2.0]).tolist()
    [1, 2]
    """
    try:
        raw = np.asarray(exponents, dtype=object)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-empty 1-d sequence of integers >= 1, got {exponents!r}") from None
    if raw.ndim != 1 or raw.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d sequence of integers >= 1, got {exponents!r}")
    for k in raw:
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Real):
            raise ValueError(f"{name} must hold integers >= 1, got {k!r} in {exponents!r}")
    arr = as_finite_array(raw.astype(float), name, ndim=1)
    if np.any(arr != np.round(arr)) or np.any(arr < 1):
        raise ValueError(f"{name} must hold integers >= 1, got {arr.tolist()!r}")
    if np.any(arr > 2**30):
        raise ValueError(f"{name} must hold integers <= 2**30, got {arr.tolist()!r}")
    return arr.astype(np.int64)


class NormalCrossing(Landscape):
    r"""K(w) = prod_i (w_i - c_i)^(2 k_i), the normal-crossing singularity.

    .. math:: K(w) = \prod_{i=1}^d u_i^{2k_i}, \qquad u = w - c,

    .. math:: \partial_j K = 2k_j u_j^{2k_j - 1}\prod_{i\ne j} u_i^{2k_i}, \qquad
              \partial_j\partial_l K = 2k_j\,2k_l\,u_j^{2k_j-1}u_l^{2k_l-1}
              \prod_{i\ne j,l} u_i^{2k_i}\ (j \ne l),\qquad
              \partial_j^2 K = 2k_j(2k_j-1)\,u_j^{2k_j-2}\prod_{i\ne j} u_i^{2k_i}.

    Products "over i != j" are formed from prefix and suffix products, never
    by division, so they are exact on the set of minima (where some u_i = 0).
    The minimum value 0 is attained on the union of the hyperplanes
    {w_i = c_i}; the RLCT is min_i 1/(2 k_i) with multiplicity the number of
    indices attaining it (Watanabe 2009, sec. 2.4; docs/claims.md C8).

    ``hessian_is_psd`` is False: the Hessian is indefinite off the axes when
    d >= 2 (at w = (1, 1) of w1^2 w2^2 it is [[2, 4], [4, 2]]), so
    simulators refuse Hessian-shaped noise on it.

    Parameters
    ----------
    exponents : sequence of int, length d
        k_i >= 1 (see :func:`as_exponents`).
    center : array_like, shape (d,), optional
        c (default 0).

    Examples
    --------
    >>> nc = NormalCrossing([1, 1])
    >>> nc.value([2.0, 3.0])
    36.0
    >>> nc.grad([2.0, 3.0]).tolist()
    [36.0, 24.0]
    """

    hessian_is_psd = False

    def __init__(self, exponents, *, center=None):
        self.exponents = as_exponents(exponents, "exponents")
        d = self.exponents.size
        self.dim = d
        self.center = np.zeros(d) if center is None else as_finite_array(center, "center", shape=(d,))
        self._params = np.ascontiguousarray(np.concatenate([self.center, self.exponents.astype(float)]))

    def __repr__(self):
        return f"NormalCrossing(exponents={self.exponents.tolist()}, d={self.dim})"

    def kernel_functions(self):
        return _KERNELS

    def kernel_parameters(self):
        """[c (d), k (d) as floats]."""
        return self._params

    def _factors(self, x):
        """u = x - c, p_i = u_i^(2k_i), q_i = dp_i/du_i, r_i = d^2p_i/du_i^2 for a batch (n, d)."""
        u = np.atleast_2d(x) - self.center
        k = self.exponents
        p = u ** (2 * k)
        q = 2 * k * u ** (2 * k - 1)
        r = 2 * k * (2 * k - 1) * u ** (2 * k - 2)  # numpy: 0.0 ** 0 == 1
        return p, q, r

    @staticmethod
    def _products_without_one(p):
        """prod_{i != j} p_i for every j (last axis), by prefix and suffix products."""
        ones = np.ones(p.shape[:-1] + (1,))
        prefix = np.cumprod(np.concatenate([ones, p[..., :-1]], axis=-1), axis=-1)
        suffix = np.cumprod(np.concatenate([ones, p[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        return prefix * suffix

    def value(self, x):
        arr = self._points(x)
        p, _, _ = self._factors(arr)
        v = np.prod(p, axis=-1)
        return v if arr.ndim == 2 else float(v[0])

    def grad(self, x):
        arr = self._points(x)
        p, q, _ = self._factors(arr)
        g = q * self._products_without_one(p)
        return g if arr.ndim == 2 else g[0]

    def hessian(self, x):
        arr = self._points(x)
        p, q, r = self._factors(arr)
        n, d = p.shape
        # without_two[n, j, l] = prod_{i != j, l} p_i: drop p_j (set it to 1), then drop p_l.
        dropped = np.broadcast_to(p[:, None, :], (n, d, d)).copy()
        idx = np.arange(d)
        dropped[:, idx, idx] = 1.0
        without_two = self._products_without_one(dropped)
        h = q[:, :, None] * q[:, None, :] * without_two
        h[:, idx, idx] = r * self._products_without_one(p)
        return h if arr.ndim == 2 else h[0]


# --- kernels (models.kernels slot signatures); p = [c (d), k (d)] ----------------------------

@nb.njit(cache=True)
def _value(x, p):
    """prod_i (x_i - c_i)^(2 k_i), computed as (u^2)^k so that the base is >= 0."""
    d = x.size
    s = 1.0
    for i in range(d):
        u = x[i] - p[i]
        s *= (u * u) ** p[d + i]
    return s


@nb.njit(cache=True)
def _value_and_gradient(x, p, out):
    """g_j = 2 k_j u_j^(2 k_j - 1) prod_{i != j} u_i^(2 k_i), without division.

    ``out`` first holds the prefix products prod_{i<j}; a backward sweep then
    multiplies in the suffix product and the derivative of factor j, so the
    gradient is exact on the axes (where some u_i = 0).
    """
    d = x.size
    s = 1.0
    for j in range(d):
        out[j] = s
        u = x[j] - p[j]
        s *= (u * u) ** p[d + j]
    s = 1.0
    for j in range(d - 1, -1, -1):
        u = x[j] - p[j]
        k = p[d + j]
        out[j] *= s * 2.0 * k * u * (u * u) ** (k - 1.0)
        s *= (u * u) ** k
    return s


@nb.njit(cache=True)
def _gradient(x, p, out):
    _value_and_gradient(x, p, out)


@nb.njit(cache=True)
def _hessian(x, p, out):
    """H_jl = q_j q_l prod_{i != j, l} p_i (j != l), H_jj = r_j prod_{i != j} p_i; products without division."""
    d = x.size
    for j in range(d):
        for l in range(j, d):
            prod = 1.0
            for i in range(d):
                if i != j and i != l:
                    u = x[i] - p[i]
                    prod *= (u * u) ** p[d + i]
            u, k = x[j] - p[j], p[d + j]
            if l == j:
                out[j, j] = 2.0 * k * (2.0 * k - 1.0) * (u * u) ** (k - 1.0) * prod
            else:
                w, m = x[l] - p[l], p[d + l]
                out[j, l] = 2.0 * k * u * (u * u) ** (k - 1.0) * 2.0 * m * w * (w * w) ** (m - 1.0) * prod
                out[l, j] = out[j, l]


_KERNELS = {"value": _value, "gradient": _gradient, "value_and_gradient": _value_and_gradient,
            "hessian": _hessian}
