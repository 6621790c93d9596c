"""Quadratic minima and saddles: L(x) = 1/2 (x - c)^T Q diag(lam) Q^T (x - c)."""
import numpy as np

from models import kernels
from models.landscape import KernelParams, Landscape
from models.validation import as_finite_array, check_positive_int

__all__ = ["Quadratic", "random_rotation"]


def random_rotation(d, *, seed=None):
    """Haar-random orthogonal d x d matrix.

    QR decomposition of a d x d standard Gaussian matrix G = QR, with the
    columns of Q multiplied by sign(diag R) so that the law is exactly Haar
    (Mezzadri 2007, "How to generate random matrices from the classical
    compact groups", Notices AMS 54:592).

    Examples
    --------
    >>> Q = random_rotation(3, seed=0)
    >>> bool(np.allclose(Q @ Q.T, np.eye(3)))
    True
    """
    d = check_positive_int(d, "d")
    g = np.random.default_rng(seed).standard_normal((d, d))
    q, r = np.linalg.qr(g)
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


class Quadratic(Landscape):
    """L(x) = 1/2 (x - c)^T H (x - c) with H = Q diag(lam) Q^T.

    Parameters
    ----------
    eigenvalues : array_like, shape (d,)
        Eigenvalues lam of the Hessian. Zeros (flat directions) and negative
        values (saddles) are allowed.
    rotation : array_like, shape (d, d), optional
        Orthogonal Q whose columns are the eigenvectors. None (default) means
        the identity: the diagonal case, which stores no d x d matrix and
        costs O(d) per gradient.
    center : array_like, shape (d,), optional
        The critical point c (default 0).

    Examples
    --------
    >>> q = Quadratic([1.0, 4.0])
    >>> q.value([1.0, 1.0])
    2.5
    >>> q.grad([1.0, 1.0]).tolist()
    [1.0, 4.0]
    """

    def __init__(self, eigenvalues, *, rotation=None, center=None):
        self.eigenvalues = as_finite_array(eigenvalues, "eigenvalues", ndim=1)
        d = self.eigenvalues.size
        if d < 1:
            raise ValueError("eigenvalues must hold at least one value, got an empty array")
        self.dim = d
        self.center = np.zeros(d) if center is None else as_finite_array(center, "center", shape=(d,))
        if rotation is None:
            self.rotation = None
            self.matrix = None
        else:
            q = as_finite_array(rotation, "rotation", shape=(d, d))
            if not np.allclose(q.T @ q, np.eye(d), atol=1e-8 * d):
                raise ValueError("rotation must be an orthogonal matrix (Q^T Q = I)")
            self.rotation = q
            self.matrix = (q * self.eigenvalues) @ q.T
            self.matrix = 0.5 * (self.matrix + self.matrix.T)
            self.affine_gradient = (self.matrix, self.center)
        self.hessian_is_psd = bool(np.all(self.eigenvalues >= 0))
        self._kernel = None

    def __repr__(self):
        kind = "diagonal" if self.rotation is None else "rotated"
        return f"Quadratic(d={self.dim}, {kind}, eigenvalues in [{self.eigenvalues.min():.3g}, {self.eigenvalues.max():.3g}])"

    def kernel_params(self):
        if self._kernel is None:
            d = self.dim
            sqrt_lam = np.sqrt(np.where(self.eigenvalues >= 0, self.eigenvalues, np.nan))
            if self.rotation is None:
                fp = np.concatenate([self.center, self.eigenvalues, sqrt_lam])
                kind = kernels.DIAGONAL_QUADRATIC
            else:
                sqrt_h = (self.rotation * sqrt_lam) @ self.rotation.T
                fp = np.concatenate([self.center, self.matrix.ravel(), sqrt_h.ravel()])
                kind = kernels.DENSE_QUADRATIC
            self._kernel = KernelParams(kind, np.ascontiguousarray(fp), np.array([d], dtype=np.int64))
        return self._kernel

    def value(self, x):
        u = self._points(x) - self.center
        if self.rotation is None:
            return 0.5 * np.sum(self.eigenvalues * u * u, axis=-1)
        return 0.5 * np.einsum("...i,ij,...j->...", u, self.matrix, u)

    def grad(self, x):
        u = self._points(x) - self.center
        if self.rotation is None:
            return self.eigenvalues * u
        return u @ self.matrix

    def hessian(self, x):
        arr = self._points(x)
        h = np.diag(self.eigenvalues) if self.matrix is None else self.matrix.copy()
        return h if arr.ndim == 1 else np.broadcast_to(h, (arr.shape[0],) + h.shape).copy()
