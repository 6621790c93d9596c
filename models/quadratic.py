"""Quadratic minima and saddles: L(x) = 1/2 (x - c)^T Q diag(lam) Q^T (x - c)."""
import numba as nb
import numpy as np

from models.landscape import Landscape
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
        self._params = None

    def __repr__(self):
        kind = "diagonal" if self.rotation is None else "rotated"
        return f"Quadratic(d={self.dim}, {kind}, eigenvalues in [{self.eigenvalues.min():.3g}, {self.eigenvalues.max():.3g}])"

    def kernel_functions(self):
        return _DIAGONAL if self.rotation is None else _DENSE

    def kernel_parameters(self):
        """Diagonal: [c (d), lam (d), sqrt(lam) (d)]; rotated: [c (d), H (d*d), H^{1/2} (d*d)], row-major.

        The square roots are NaN where an eigenvalue is negative (Hessian-shaped
        noise is refused first: ``hessian_is_psd`` is False then).
        """
        if self._params is None:
            sqrt_lam = np.sqrt(np.where(self.eigenvalues >= 0, self.eigenvalues, np.nan))
            if self.rotation is None:
                parts = [self.center, self.eigenvalues, sqrt_lam]
            else:
                sqrt_h = (self.rotation * sqrt_lam) @ self.rotation.T
                parts = [self.center, self.matrix.ravel(), sqrt_h.ravel()]
            self._params = np.ascontiguousarray(np.concatenate(parts))
        return self._params

    def curvature_bound(self):
        """lambda_max: GD and ULA are stable iff step_size < 2 / lambda_max."""
        return float(self.eigenvalues.max())

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


# --- kernels (models.kernels slot signatures); p as in Quadratic.kernel_parameters ----------

@nb.njit(cache=True, fastmath={"reassoc", "contract"})
def _diagonal_value(x, p):
    d = x.size
    s = 0.0
    for i in range(d):
        u = x[i] - p[i]
        s += p[d + i] * u * u
    return 0.5 * s


@nb.njit(cache=True)
def _diagonal_gradient(x, p, out):
    d = x.size
    for i in range(d):
        out[i] = p[d + i] * (x[i] - p[i])


@nb.njit(cache=True, fastmath={"reassoc", "contract"})
def _diagonal_value_and_gradient(x, p, out):
    d = x.size
    s = 0.0
    for i in range(d):
        u = x[i] - p[i]
        g = p[d + i] * u
        out[i] = g
        s += g * u
    return 0.5 * s


@nb.njit(cache=True)
def _diagonal_hessian(x, p, out):
    d = x.size
    out[:, :] = 0.0
    for i in range(d):
        out[i, i] = p[d + i]


@nb.njit(cache=True)
def _diagonal_hessian_vector(x, p, v, out):
    d = x.size
    for i in range(d):
        out[i] = p[d + i] * v[i]


@nb.njit(cache=True)
def _diagonal_hessian_sqrt(x, p, v, out):
    d = x.size
    for i in range(d):
        out[i] = p[2 * d + i] * v[i]


@nb.njit(cache=True)
def _matvec(p, offset, d, x, shift, out):
    """out = M (x - shift * c), M = p[offset:offset + d*d] row-major, c = p[:d]; shift is 0 or 1."""
    for i in range(d):
        row = offset + i * d
        t = 0.0
        for j in range(d):
            t += p[row + j] * (x[j] - shift * p[j])
        out[i] = t


@nb.njit(cache=True, fastmath={"reassoc", "contract"})
def _dense_value(x, p):
    d = x.size
    s = 0.0
    for i in range(d):
        row = d + i * d
        t = 0.0
        for j in range(d):
            t += p[row + j] * (x[j] - p[j])
        s += (x[i] - p[i]) * t
    return 0.5 * s


@nb.njit(cache=True)
def _dense_gradient(x, p, out):
    _matvec(p, x.size, x.size, x, 1.0, out)


@nb.njit(cache=True)
def _dense_value_and_gradient(x, p, out):
    d = x.size
    _matvec(p, d, d, x, 1.0, out)
    s = 0.0
    for i in range(d):
        s += (x[i] - p[i]) * out[i]
    return 0.5 * s


@nb.njit(cache=True)
def _dense_hessian(x, p, out):
    d = x.size
    for i in range(d):
        for j in range(d):
            out[i, j] = p[d + i * d + j]


@nb.njit(cache=True)
def _dense_hessian_vector(x, p, v, out):
    _matvec(p, v.size, v.size, v, 0.0, out)


@nb.njit(cache=True)
def _dense_hessian_sqrt(x, p, v, out):
    d = v.size
    _matvec(p, d + d * d, d, v, 0.0, out)


_DIAGONAL = {"value": _diagonal_value, "gradient": _diagonal_gradient,
             "value_and_gradient": _diagonal_value_and_gradient, "hessian": _diagonal_hessian,
             "hessian_vector": _diagonal_hessian_vector, "hessian_sqrt": _diagonal_hessian_sqrt}
_DENSE = {"value": _dense_value, "gradient": _dense_gradient, "value_and_gradient": _dense_value_and_gradient,
          "hessian": _dense_hessian, "hessian_vector": _dense_hessian_vector, "hessian_sqrt": _dense_hessian_sqrt}
