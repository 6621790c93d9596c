"""Several ellipsoidal basins: L(x) = min_k [depth_k + 1/2 (x - c_k)^T H_k (x - c_k)]."""
import numba as nb
import numpy as np

from models.landscape import Landscape
from models.validation import as_finite_array

__all__ = ["MultiWell"]


class MultiWell(Landscape):
    """Minimum over K quadratic wells.

    L(x) = min_k [ depth_k + 1/2 (x - c_k)^T H_k (x - c_k) ]. The landscape is
    continuous; its gradient and Hessian are those of the active (lowest)
    well, so the boundaries between basins are ridges where the Hessian jumps.

    Parameters
    ----------
    centers : array_like, shape (K, d)
        Well minima c_k.
    hessians : array_like, shape (K, d, d)
        Symmetric well Hessians H_k.
    depths : array_like, shape (K,), optional
        Loss at each minimum (default all 0: wells of equal depth).

    Examples
    --------
    >>> w = MultiWell([[-1.0], [1.0]], [[[1.0]], [[4.0]]])
    >>> w.basin_of([[-0.5], [0.5]]).tolist()
    [0, 1]
    """

    def __init__(self, centers, hessians, *, depths=None):
        self.centers = as_finite_array(centers, "centers", ndim=2)
        n_wells, d = self.centers.shape
        if n_wells < 1 or d < 1:
            raise ValueError(f"centers must have shape (K, d) with K, d >= 1, got {self.centers.shape}")
        self.hessians = as_finite_array(hessians, "hessians", shape=(n_wells, d, d))
        if not np.allclose(self.hessians, np.swapaxes(self.hessians, 1, 2), rtol=1e-12, atol=1e-12):
            raise ValueError("hessians must be symmetric matrices")
        self.hessians = 0.5 * (self.hessians + np.swapaxes(self.hessians, 1, 2))
        self.depths = np.zeros(n_wells) if depths is None else as_finite_array(depths, "depths", shape=(n_wells,))
        self.dim = d
        self.n_wells = n_wells
        lam, vec = np.linalg.eigh(self.hessians)
        self.hessian_is_psd = bool(np.all(lam >= -1e-12 * np.abs(lam).max(initial=1.0)))
        sqrt_lam = np.sqrt(np.where(lam >= 0, lam, 0.0 if self.hessian_is_psd else np.nan))
        self._sqrt_hessians = np.einsum("kij,kj,klj->kil", vec, sqrt_lam, vec)
        self._params = np.concatenate(
            [self.depths, self.centers.ravel(), self.hessians.ravel(), self._sqrt_hessians.ravel()]
        )
        self._curvature = float(lam.max())

    def __repr__(self):
        return f"MultiWell(K={self.n_wells}, d={self.dim})"

    def kernel_functions(self):
        return _KERNELS

    def kernel_parameters(self):
        """[depth (K), c (K*d), H (K*d*d), H^{1/2} (K*d*d)], row-major; K = len(p) / (1 + d + 2 d^2)."""
        return self._params

    def curvature_bound(self):
        """The largest eigenvalue of any well's Hessian."""
        return self._curvature

    def _well_values(self, x):
        u = np.atleast_2d(x)[:, None, :] - self.centers  # (n, K, d)
        return self.depths + 0.5 * np.einsum("nki,kij,nkj->nk", u, self.hessians, u)

    def basin_of(self, x):
        """Index of the active (lowest) well at each point: int or (n,) ints."""
        arr = self._points(x)
        k = np.argmin(self._well_values(arr), axis=1)
        return k if arr.ndim == 2 else int(k[0])

    def value(self, x):
        arr = self._points(x)
        v = self._well_values(arr).min(axis=1)
        return v if arr.ndim == 2 else float(v[0])

    def grad(self, x):
        arr = self._points(x)
        pts = np.atleast_2d(arr)
        k = np.argmin(self._well_values(pts), axis=1)
        g = np.einsum("nij,nj->ni", self.hessians[k], pts - self.centers[k])
        return g if arr.ndim == 2 else g[0]

    def hessian(self, x):
        arr = self._points(x)
        k = np.argmin(self._well_values(np.atleast_2d(arr)), axis=1)
        h = self.hessians[k].copy()
        return h if arr.ndim == 2 else h[0]


# --- kernels (models.kernels slot signatures); p as in MultiWell.kernel_parameters ----------

@nb.njit(cache=True)
def _active_well(x, p):
    """(K, index of the lowest well at x (ties: the first), its loss)."""
    d = x.size
    n_wells = p.size // (1 + d + 2 * d * d)
    best, best_k = np.inf, 0
    for k in range(n_wells):
        c = n_wells + k * d
        h = n_wells + n_wells * d + k * d * d
        s = 0.0
        for i in range(d):
            t = 0.0
            for j in range(d):
                t += p[h + i * d + j] * (x[j] - p[c + j])
            s += (x[i] - p[c + i]) * t
        v = p[k] + 0.5 * s
        if v < best:
            best, best_k = v, k
    return n_wells, best_k, best


@nb.njit(cache=True)
def _well_matvec(p, n_wells, k, block, x, shift, out):
    """out = M_k (x - shift c_k): M = H (block 0) or H^{1/2} (block 1) of well k."""
    d = x.size
    c = n_wells + k * d
    m = n_wells + n_wells * d + block * n_wells * d * d + k * d * d
    for i in range(d):
        t = 0.0
        for j in range(d):
            t += p[m + i * d + j] * (x[j] - shift * p[c + j])
        out[i] = t


@nb.njit(cache=True)
def _value(x, p):
    return _active_well(x, p)[2]


@nb.njit(cache=True)
def _gradient(x, p, out):
    n_wells, k, _ = _active_well(x, p)
    _well_matvec(p, n_wells, k, 0, x, 1.0, out)


@nb.njit(cache=True)
def _value_and_gradient(x, p, out):
    n_wells, k, loss = _active_well(x, p)
    _well_matvec(p, n_wells, k, 0, x, 1.0, out)
    return loss


@nb.njit(cache=True)
def _hessian(x, p, out):
    d = x.size
    n_wells, k, _ = _active_well(x, p)
    m = n_wells + n_wells * d + k * d * d
    for i in range(d):
        for j in range(d):
            out[i, j] = p[m + i * d + j]


@nb.njit(cache=True)
def _hessian_vector(x, p, v, out):
    n_wells, k, _ = _active_well(x, p)
    _well_matvec(p, n_wells, k, 0, v, 0.0, out)


@nb.njit(cache=True)
def _hessian_sqrt(x, p, v, out):
    n_wells, k, _ = _active_well(x, p)
    _well_matvec(p, n_wells, k, 1, v, 0.0, out)


_KERNELS = {"value": _value, "gradient": _gradient, "value_and_gradient": _value_and_gradient,
            "hessian": _hessian, "hessian_vector": _hessian_vector, "hessian_sqrt": _hessian_sqrt}
