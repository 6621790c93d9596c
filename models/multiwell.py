"""Several ellipsoidal basins: L(x) = min_k [depth_k + 1/2 (x - c_k)^T H_k (x - c_k)]."""
import numpy as np

from models import kernels
from models.landscape import KernelParams, Landscape
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
        fp = np.concatenate(
            [self.depths, self.centers.ravel(), self.hessians.ravel(), self._sqrt_hessians.ravel()]
        )
        self._kernel = KernelParams(kernels.MULTI_WELL, fp, np.array([d, n_wells], dtype=np.int64))

    def __repr__(self):
        return f"MultiWell(K={self.n_wells}, d={self.dim})"

    def kernel_params(self):
        return self._kernel

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
