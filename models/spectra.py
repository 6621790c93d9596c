r"""Random-matrix Hessian ensembles and their limiting spectral laws.

Scope: the random Hessians a claim can be checked on (GOE, Wishart, shifted
Wishart, Wishart plus Wigner, bulk + zeros + outliers), the Gaussian
beta-ensemble in tridiagonal form, and the laws their spectra converge to
(Marchenko–Pastur, semicircle, free additive convolution of the two).

Conventions (docs/conventions.md): the GOE has density proportional to
:math:`\exp(-\operatorname{tr} H^2/2)`, i.e. diagonal entries N(0, 1) and
off-diagonal entries N(0, 1/2), so its semicircle has radius :math:`\sqrt{2d}`.
A Wishart matrix is :math:`W = X^T X / n` with ``X`` of shape (n, d) and i.i.d.
N(0, sigma^2) entries; its ratio is gamma = d / n and its spectrum tends to the
Marchenko–Pastur law on :math:`\sigma^2 (1 \mp \sqrt\gamma)^2`, plus an atom
1 - 1/gamma at 0 when gamma > 1.

Every ensemble is a deterministic map from a vector of i.i.d. standard normals
to a symmetric matrix (:meth:`Ensemble.from_gaussian`); sampling is that map
applied to normals drawn from ``np.random.default_rng(seed)``, so samplers that
move in Gaussian space (subset simulation with Crank–Nicolson moves) use
exactly the generator.
"""
import abc
import math

import numpy as np
import scipy.integrate
import scipy.linalg
import scipy.stats

from models.validation import (
    as_finite_array,
    check_nonnegative,
    check_positive,
    check_positive_int,
)

__all__ = [
    "Ensemble",
    "GOE",
    "Wishart",
    "ShiftedWishart",
    "WishartPlusWigner",
    "BulkZerosOutliers",
    "beta_ensemble_eigenvalues",
    "MarchenkoPastur",
    "marchenko_pastur",
    "semicircle",
    "wishart_plus_wigner_density",
    "wishart_plus_wigner_negative_fraction",
]


# --------------------------------------------------------------------------
# Ensembles
# --------------------------------------------------------------------------


class Ensemble(abc.ABC):
    """A random symmetric matrix as a deterministic function of Gaussians.

    Subclasses set ``dim`` (the matrix size d) and ``n_gaussian`` (the length
    of the underlying vector of i.i.d. standard normals) and implement
    ``_from_gaussian``; everything else follows.

    Attributes
    ----------
    dim : int
        Matrix size d.
    n_gaussian : int
        Number of standard normals one matrix is made of.
    """

    dim: int
    n_gaussian: int

    @abc.abstractmethod
    def _from_gaussian(self, z):
        """Map validated ``z`` of shape (..., n_gaussian) to (..., d, d)."""

    def from_gaussian(self, z):
        """Matrices made from standard normals ``z``.

        Parameters
        ----------
        z : array_like, shape (n_gaussian,) or (..., n_gaussian)
            Finite values; i.i.d. N(0, 1) entries give the ensemble's law.

        Returns
        -------
        ndarray, shape (d, d) or (..., d, d)
            Symmetric matrices (exactly: ``H == H.swapaxes(-1, -2)``), one per
            leading index of ``z``.
        """
        z = as_finite_array(z, "z")
        if z.ndim == 0 or z.shape[-1] != self.n_gaussian:
            raise ValueError(
                f"z must have shape ({self.n_gaussian},) or (..., {self.n_gaussian}) "
                f"for {type(self).__name__} with n_gaussian={self.n_gaussian}, got {z.shape}"
            )
        return self._from_gaussian(z)

    def eigenvalues_from_gaussian(self, z):
        """Ascending eigenvalues of ``from_gaussian(z)``, shape (..., d)."""
        return np.linalg.eigvalsh(self.from_gaussian(z))

    def sample(self, size=None, *, seed=None):
        """One matrix (d, d), or a batch (size, d, d) (or ``size + (d, d)``).

        Equal to ``from_gaussian(np.random.default_rng(seed).standard_normal(
        batch + (n_gaussian,)))``. ``seed`` follows numpy (int, SeedSequence,
        Generator, None).
        """
        return self.from_gaussian(self._normals(size, seed))

    def eigenvalues(self, size=None, *, seed=None):
        """Ascending eigenvalues of ``sample(size, seed=seed)``: (d,) or (size, d)."""
        return self.eigenvalues_from_gaussian(self._normals(size, seed))

    def _normals(self, size, seed):
        rng = np.random.default_rng(seed)
        return rng.standard_normal(_batch_shape(size) + (self.n_gaussian,))


class GOE(Ensemble):
    r"""Gaussian orthogonal ensemble, density :math:`\propto \exp(-\operatorname{tr} H^2 / 2)`.

    ``H[i, i] = z[i]`` (variance 1) and, for i < j in row-major order of the
    upper triangle, ``H[i, j] = H[j, i] = z[d + k] / sqrt(2)`` (variance 1/2),
    so ``n_gaussian = d (d + 1) / 2`` and no Gaussian is wasted. The
    eigenvalue density tends to the semicircle of radius :math:`\sqrt{2d}`
    (Wigner; Mehta, *Random Matrices*, 3rd ed., ch. 3).

    Parameters
    ----------
    d : int
        Matrix size, >= 1.

    Examples
    --------
    >>> GOE(3).sample(seed=0).shape
    (3, 3)
    """

    def __init__(self, d):
        self.dim = check_positive_int(d, "d")
        self.n_gaussian = self.dim * (self.dim + 1) // 2
        self._upper = np.triu_indices(self.dim, 1)

    def __repr__(self):
        return f"GOE(d={self.dim})"

    def _from_gaussian(self, z):
        d = self.dim
        h = np.zeros(z.shape[:-1] + (d, d))
        diag = np.arange(d)
        h[..., diag, diag] = z[..., :d]
        off = z[..., d:] / math.sqrt(2.0)
        i, j = self._upper
        h[..., i, j] = off
        h[..., j, i] = off
        return h


class Wishart(Ensemble):
    r"""Wishart matrix :math:`W = X^T X / n`, X of shape (n, d), i.i.d. N(0, variance).

    ``X = sqrt(variance) * z.reshape(n, d)``, so ``n_gaussian = n d``. The
    spectrum tends to :func:`marchenko_pastur` with ``ratio = d / n`` (Marchenko
    & Pastur 1967).

    Parameters
    ----------
    n : int
        Number of rows of X (samples), >= 1.
    d : int
        Matrix size, >= 1.
    variance : float, optional
        Entry variance sigma^2 of X, > 0 (default 1).

    Attributes
    ----------
    ratio : float
        gamma = d / n.
    """

    def __init__(self, n, d, *, variance=1.0):
        self.n = check_positive_int(n, "n")
        self.dim = check_positive_int(d, "d")
        self.variance = check_positive(variance, "variance")
        self.n_gaussian = self.n * self.dim

    @property
    def ratio(self):
        return self.dim / self.n

    def __repr__(self):
        return f"{type(self).__name__}(n={self.n}, d={self.dim}, variance={self.variance})"

    def _from_gaussian(self, z):
        x = math.sqrt(self.variance) * z.reshape(z.shape[:-1] + (self.n, self.dim))
        w = np.swapaxes(x, -1, -2) @ x / self.n
        return _symmetrize(w)


class ShiftedWishart(Wishart):
    r"""Shifted Wishart matrix :math:`W - s I` (see :class:`Wishart`).

    Positive definite iff the smallest eigenvalue of W exceeds ``shift``; in
    the limit that is the lower MP edge variance (1 - sqrt(d/n))^2.

    Parameters
    ----------
    n, d : int
        As in :class:`Wishart`.
    shift : float
        s, finite.
    variance : float, optional
        As in :class:`Wishart`.
    """

    def __init__(self, n, d, shift, *, variance=1.0):
        super().__init__(n, d, variance=variance)
        self.shift = _finite_scalar(shift, "shift")

    def __repr__(self):
        return f"ShiftedWishart(n={self.n}, d={self.dim}, shift={self.shift}, variance={self.variance})"

    def _from_gaussian(self, z):
        return super()._from_gaussian(z) - self.shift * np.eye(self.dim)


class WishartPlusWigner(Ensemble):
    r"""Pennington–Bahri Hessian :math:`H = W - s I + r\,\mathrm{GOE}/\sqrt{2d}`.

    :math:`H_0 = W` is a :class:`Wishart` matrix (the positive semi-definite
    Gauss–Newton part) and :math:`H_1 = r\,\mathrm{GOE}/\sqrt{2d}` a Wigner
    matrix with off-diagonal variance :math:`r^2/(4d)`, whose semicircle has
    radius exactly ``r = wigner_scale`` (the GOE's radius is :math:`\sqrt{2d}`).
    ``z[:n*d]`` makes W and ``z[n*d:]`` the GOE, so
    ``n_gaussian = n d + d (d + 1) / 2``. The limiting density is
    :func:`wishart_plus_wigner_density`.

    Mapping to Pennington & Bahri (2017, "Geometry of neural network loss
    surfaces via random matrix theory", ICML): their parameter ratio
    phi (parameters / data points) is ``ratio = d / n``; H0 has unit-mean MP
    spectrum (``variance=1``) and H1 is semicircular with variance
    :math:`2\epsilon` (R-transform :math:`2\epsilon g`) at loss epsilon, i.e.
    ``wigner_scale = sqrt(8 epsilon)``. With that mapping the predicted index
    vanishes below :math:`\epsilon_c = (1 - 20\phi - 8\phi^2 + (1 + 8\phi)^{3/2})/16`
    (phi < 1), which the tests check.

    Parameters
    ----------
    n, d : int
        Shape of X, >= 1.
    variance : float, optional
        Entry variance of X, > 0 (default 1).
    wigner_scale : float, optional
        Semicircle radius r of H1, > 0 (default 1).
    shift : float, optional
        s, finite (default 0).
    """

    def __init__(self, n, d, *, variance=1.0, wigner_scale=1.0, shift=0.0):
        self._wishart = Wishart(n, d, variance=variance)
        self._goe = GOE(d)
        self.n, self.dim, self.variance = self._wishart.n, self._wishart.dim, self._wishart.variance
        self.wigner_scale = check_positive(wigner_scale, "wigner_scale")
        self.shift = _finite_scalar(shift, "shift")
        self.n_gaussian = self._wishart.n_gaussian + self._goe.n_gaussian

    @property
    def ratio(self):
        return self.dim / self.n

    def __repr__(self):
        return (
            f"WishartPlusWigner(n={self.n}, d={self.dim}, variance={self.variance}, "
            f"wigner_scale={self.wigner_scale}, shift={self.shift})"
        )

    def _from_gaussian(self, z):
        k = self._wishart.n_gaussian
        wigner = self._goe._from_gaussian(z[..., k:]) * (self.wigner_scale / math.sqrt(2.0 * self.dim))
        return self._wishart._from_gaussian(z[..., :k]) - self.shift * np.eye(self.dim) + wigner


class BulkZerosOutliers(Ensemble):
    r"""Hessian with exact zeros, a Marchenko–Pastur bulk and large outliers.

    The spectrum models what is measured on trained networks (Sagun et al.
    2017, "Empirical analysis of the Hessian of over-parametrized neural
    networks"; Papyan 2019): most eigenvalues exactly zero, a bulk near zero,
    and a few outliers. With ``n_zero = round(zero_fraction d)``,
    ``n_bulk = d - n_zero - n_outliers`` and rank ``r = d - n_zero``,

    .. math:: H = V \operatorname{diag}(\lambda_1, \dots, \lambda_r) V^T,

    where :math:`\lambda` holds ``n_bulk`` eigenvalues of a
    ``Wishart(m, n_bulk, variance=bulk_variance)`` matrix with
    ``m = ceil(n_bulk / bulk_ratio)`` (so the bulk follows MP(bulk_ratio,
    bulk_variance), all > 0) and ``n_outliers`` eigenvalues equal to
    ``outlier_scale``; V (d x r) holds the first r columns of a Haar-random
    orthogonal matrix: the Q factor of a d x r Gaussian matrix with the signs
    of diag(R) made positive (Mezzadri 2007, "How to generate random matrices
    from the classical compact groups"; H itself does not depend on those
    signs). ``z[:d*r]`` makes V (row-major) and
    ``z[d*r:]`` the bulk's Wishart, so ``n_gaussian = d r + m n_bulk``.

    The rank of H is exactly r, but a dense eigensolver returns its zero
    eigenvalues as +-1e-16 * ``outlier_scale`` or so; :meth:`eigenvalues` and
    :meth:`eigenvalues_from_gaussian` return the exact spectrum (exact zeros)
    of the same draw instead. Count negative eigenvalues with a tolerance
    when using ``np.linalg.eigvalsh`` on :meth:`from_gaussian`.

    Parameters
    ----------
    d : int
        Matrix size, >= 1.
    zero_fraction : float, optional
        Fraction of exact zero eigenvalues, in [0, 1) (default 0.9).
    n_outliers : int, optional
        Number of outliers, >= 0 (default 1); ``n_zero + n_outliers <= d``.
    outlier_scale : float, optional
        Value of the outlier eigenvalues, > 0 (default 10, well above the
        default bulk edge (1 + sqrt(1/2))^2 = 2.9).
    bulk_ratio : float, optional
        MP ratio of the bulk, in (0, 1] (default 0.5).
    bulk_variance : float, optional
        MP variance of the bulk, > 0 (default 1).
    """

    def __init__(self, d, *, zero_fraction=0.9, n_outliers=1, outlier_scale=10.0,
                 bulk_ratio=0.5, bulk_variance=1.0):
        self.dim = check_positive_int(d, "d")
        self.zero_fraction = check_nonnegative(zero_fraction, "zero_fraction")
        if not self.zero_fraction < 1:
            raise ValueError(f"zero_fraction must be in [0, 1), got {zero_fraction!r}")
        self.n_outliers = check_positive_int(n_outliers, "n_outliers", minimum=0)
        self.outlier_scale = check_positive(outlier_scale, "outlier_scale")
        self.bulk_ratio = check_positive(bulk_ratio, "bulk_ratio")
        if self.bulk_ratio > 1:
            raise ValueError(f"bulk_ratio must be in (0, 1], got {bulk_ratio!r}")
        self.bulk_variance = check_positive(bulk_variance, "bulk_variance")
        self.n_zero = round(self.zero_fraction * self.dim)
        self.n_bulk = self.dim - self.n_zero - self.n_outliers
        if self.n_bulk < 0:
            raise ValueError(
                f"n_outliers must be <= d - round(zero_fraction * d) = {self.dim - self.n_zero}, "
                f"got {n_outliers!r}"
            )
        self.rank = self.dim - self.n_zero
        self._bulk = None
        n_bulk_gaussian = 0
        if self.n_bulk > 0:
            m = math.ceil(self.n_bulk / self.bulk_ratio)
            self._bulk = Wishart(m, self.n_bulk, variance=self.bulk_variance)
            n_bulk_gaussian = self._bulk.n_gaussian
        self.n_gaussian = self.dim * self.rank + n_bulk_gaussian

    def __repr__(self):
        return (
            f"BulkZerosOutliers(d={self.dim}, zero_fraction={self.zero_fraction}, "
            f"n_outliers={self.n_outliers}, outlier_scale={self.outlier_scale}, "
            f"bulk_ratio={self.bulk_ratio}, bulk_variance={self.bulk_variance})"
        )

    def _nonzero_spectrum(self, z):
        batch = z.shape[:-1]
        parts = []
        if self._bulk is not None:
            parts.append(np.linalg.eigvalsh(self._bulk._from_gaussian(z[..., self.dim * self.rank:])))
        parts.append(np.full(batch + (self.n_outliers,), self.outlier_scale))
        return np.concatenate(parts, axis=-1)

    def _from_gaussian(self, z):
        d, r = self.dim, self.rank
        q, upper = np.linalg.qr(z[..., : d * r].reshape(z.shape[:-1] + (d, r)))
        signs = np.where(np.diagonal(upper, axis1=-2, axis2=-1) < 0, -1.0, 1.0)
        v = q * signs[..., None, :]
        lam = self._nonzero_spectrum(z)
        return _symmetrize((v * lam[..., None, :]) @ np.swapaxes(v, -1, -2))

    def eigenvalues_from_gaussian(self, z):
        """Exact ascending spectrum of ``from_gaussian(z)``: n_zero exact zeros, bulk, outliers."""
        z = as_finite_array(z, "z")
        if z.ndim == 0 or z.shape[-1] != self.n_gaussian:
            self.from_gaussian(z)  # raises the shape error
        zeros = np.zeros(z.shape[:-1] + (self.n_zero,))
        return np.sort(np.concatenate([zeros, self._nonzero_spectrum(z)], axis=-1), axis=-1)


def beta_ensemble_eigenvalues(d, beta, *, size=None, seed=None):
    r"""Eigenvalues of the Gaussian beta-ensemble from its tridiagonal model.

    Dumitriu & Edelman (2002, "Matrix models for beta ensembles", J. Math.
    Phys. 43, 5830): the symmetric tridiagonal matrix

    .. math:: T = \frac{1}{\sqrt 2}\begin{pmatrix}
              N(0,2) & \chi_{\beta(d-1)} & & \\
              \chi_{\beta(d-1)} & N(0,2) & \ddots & \\
              & \ddots & \ddots & \chi_\beta \\
              & & \chi_\beta & N(0,2) \end{pmatrix}

    (independent entries) has joint eigenvalue density proportional to
    :math:`\prod_{i<j}|\lambda_i - \lambda_j|^\beta \exp(-\sum_i \lambda_i^2/2)`.
    For beta = 1 this is the eigenvalue law of :class:`GOE` (density
    :math:`\exp(-\operatorname{tr}H^2/2)`): Householder tridiagonalisation of
    that GOE gives diagonal N(0, 1) = N(0, 2)/sqrt(2) and first off-diagonal
    :math:`\|H_{2:,1}\| = \chi_{d-1}/\sqrt 2`. The semicircle radius is
    :math:`\sqrt{2\beta d}`; :math:`\operatorname{tr}T \sim N(0, d)` and
    :math:`\operatorname{tr}T^2 \sim \chi^2_d + \chi^2_{\beta d(d-1)/2}`.
    Cost O(d^2) per matrix (``scipy.linalg.eigvalsh_tridiagonal``) instead of
    the dense O(d^3).

    Parameters
    ----------
    d : int
        Matrix size, >= 1.
    beta : float
        Dyson index, > 0 (1: GOE, 2: GUE, 4: GSE eigenvalue laws).
    size : int or tuple of int, optional
        Batch shape; None (default) for one spectrum.
    seed : int, SeedSequence, Generator or None, optional
        Random stream (numpy conventions).

    Returns
    -------
    ndarray, shape (d,) or size + (d,)
        Ascending eigenvalues.

    Examples
    --------
    >>> beta_ensemble_eigenvalues(1000, 2.0, seed=0).shape
    (1000,)
    """
    d = check_positive_int(d, "d")
    beta = check_positive(beta, "beta")
    batch = _batch_shape(size)
    rng = np.random.default_rng(seed)
    diag = rng.standard_normal(batch + (d,))
    off = np.sqrt(rng.chisquare(beta * np.arange(d - 1, 0, -1), size=batch + (d - 1,)) / 2.0)
    if d == 1:
        return diag
    out = np.empty(batch + (d,))
    for idx in np.ndindex(*batch):
        out[idx] = scipy.linalg.eigvalsh_tridiagonal(diag[idx], off[idx])
    return out


# --------------------------------------------------------------------------
# Limiting laws
# --------------------------------------------------------------------------


class MarchenkoPastur:
    r"""Marchenko–Pastur law, a frozen distribution with the scipy.stats interface.

    Limit of the eigenvalue distribution of :class:`Wishart` with
    gamma = d / n -> ``ratio`` and sigma^2 = ``variance`` (Marchenko & Pastur
    1967; Bai & Silverstein, *Spectral Analysis of Large Dimensional Random
    Matrices*, 2010, Thm. 3.6). With :math:`a, b = \sigma^2(1 \mp \sqrt\gamma)^2`:

    .. math:: \mu = \max(0, 1 - 1/\gamma)\,\delta_0 +
              \frac{\sqrt{(b - x)(x - a)}}{2\pi\sigma^2\gamma x}\,
              \mathbf 1_{a<x<b}\,dx .

    ``pdf`` is the density of the continuous part (it integrates to
    min(1, 1/gamma)); ``cdf``, ``sf``, ``ppf``, ``rvs`` and the moments
    include the atom: cdf(0) = 1 - 1/gamma and ppf(q) = 0 for
    q <= 1 - 1/gamma when gamma > 1. (This is why the class mimics
    ``rv_continuous_frozen`` rather than subclassing ``rv_continuous``, whose
    cdf, expect and entropy assume no atom.)

    The cdf is closed form: with :math:`m = 1 + \gamma`, :math:`r = 2\sqrt\gamma`,
    :math:`x/\sigma^2 = m - r\cos\theta`, :math:`\theta \in [0, \pi]`,

    .. math:: F(x) = \max(0, 1 - 1/\gamma) + \frac{1}{2\pi\gamma}\Big(m\theta
              + r\sin\theta - 2|1-\gamma|\arctan\Big(\sqrt{b/a}\tan\frac\theta2
              \Big)\Big);

    ``ppf`` inverts it by bisection in theta (to machine precision). Raw
    moments are Narayana polynomials,
    :math:`E[x^k] = \sigma^{2k}\sum_{j=0}^{k-1}\frac{\gamma^j}{j+1}\binom kj
    \binom{k-1}j`, so mean = sigma^2 and var = sigma^4 gamma (atom included).

    Parameters
    ----------
    ratio : float
        gamma = d / n, > 0.
    variance : float, optional
        sigma^2, > 0 (default 1).

    Examples
    --------
    >>> mp = marchenko_pastur(2.0)
    >>> float(mp.cdf(0.0)), float(mp.mean()), float(mp.var())
    (0.5, 1.0, 2.0)
    """

    def __init__(self, ratio, variance=1.0):
        self.ratio = check_positive(ratio, "ratio")
        self.variance = check_positive(variance, "variance")
        root = math.sqrt(self.ratio)
        self.lower = self.variance * (1.0 - root) ** 2
        self.upper = self.variance * (1.0 + root) ** 2
        self.atom = max(0.0, 1.0 - 1.0 / self.ratio)

    def __repr__(self):
        return f"marchenko_pastur(ratio={self.ratio}, variance={self.variance})"

    def support(self):
        """(lower, upper): (0, b) when there is an atom at 0, else (a, b)."""
        return (0.0 if self.atom > 0 else self.lower, self.upper)

    def pdf(self, x):
        """Density of the continuous part (integrates to min(1, 1/ratio))."""
        x = np.asarray(x, dtype=float)
        inside = (x > self.lower) & (x < self.upper)
        xs = np.where(inside, x, 0.5 * (self.lower + self.upper))
        dens = np.sqrt((self.upper - xs) * (xs - self.lower)) / (2 * np.pi * self.variance * self.ratio * xs)
        return np.where(inside, dens, 0.0)[()]

    def logpdf(self, x):
        with np.errstate(divide="ignore"):
            return np.log(self.pdf(x))

    def _theta_mass(self, theta):
        g = self.ratio
        arc = np.arctan2((1 + math.sqrt(g)) * np.sin(theta / 2), abs(1 - math.sqrt(g)) * np.cos(theta / 2))
        return ((1 + g) * theta + 2 * math.sqrt(g) * np.sin(theta) - 2 * abs(1 - g) * arc) / (2 * np.pi * g)

    def cdf(self, x):
        """P(X <= x), atom at 0 included."""
        x = np.asarray(x, dtype=float)
        g = self.ratio
        c = ((1 + g) - x / self.variance) / (2 * math.sqrt(g))
        theta = np.arccos(np.clip(np.nan_to_num(c), -1.0, 1.0))
        out = np.clip(self.atom + self._theta_mass(theta), 0.0, 1.0)
        out = np.where(x < 0, 0.0, np.where(x >= self.upper, 1.0, out))
        return np.where(np.isnan(x), np.nan, out)[()]

    def sf(self, x):
        return (1.0 - np.asarray(self.cdf(x)))[()]

    def ppf(self, q):
        """Quantile inf{x : cdf(x) >= q}; 0 for q <= atom; nan outside [0, 1]."""
        q = np.asarray(q, dtype=float)
        target = q - self.atom
        lo, hi = np.zeros(q.shape), np.full(q.shape, np.pi)
        for _ in range(64):  # theta to within pi / 2**64
            mid = 0.5 * (lo + hi)
            below = self._theta_mass(mid) < target
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        g = self.ratio
        x = self.variance * ((1 + g) - 2 * math.sqrt(g) * np.cos(hi))
        x = np.where(target <= 0, self.support()[0], np.where(q >= 1, self.upper, x))
        return np.where((q >= 0) & (q <= 1), x, np.nan)[()]

    def isf(self, q):
        return self.ppf(1.0 - np.asarray(q, dtype=float))

    def rvs(self, size=None, random_state=None):
        """Samples by inversion, ppf(U) with U from ``np.random.default_rng(random_state)``."""
        return self.ppf(np.random.default_rng(random_state).random(size))

    def moment(self, order):
        """Raw moment E[X^order] (Narayana polynomial), atom included."""
        k = check_positive_int(order, "order", minimum=0)
        g = self.ratio
        total = sum(g**j / (j + 1) * math.comb(k, j) * math.comb(k - 1, j) for j in range(k)) if k else 1.0
        return self.variance**k * total

    def mean(self):
        return self.moment(1)

    def var(self):
        return self.moment(2) - self.moment(1) ** 2

    def std(self):
        return math.sqrt(self.var())

    def median(self):
        return self.ppf(0.5)

    def interval(self, confidence):
        c = check_nonnegative(confidence, "confidence")
        return self.ppf((1 - c) / 2), self.ppf((1 + c) / 2)

    def stats(self, moments="mv"):
        """Mean ('m'), variance ('v'), skewness ('s'), excess kurtosis ('k'), as scipy."""
        m1, m2, m3, m4 = (self.moment(k) for k in (1, 2, 3, 4))
        v = m2 - m1**2
        mu3 = m3 - 3 * m1 * m2 + 2 * m1**3
        mu4 = m4 - 4 * m1 * m3 + 6 * m1**2 * m2 - 3 * m1**4
        values = {"m": m1, "v": v, "s": mu3 / v**1.5, "k": mu4 / v**2 - 3}
        out = tuple(values[c] for c in moments)
        return out[0] if len(out) == 1 else out


def marchenko_pastur(ratio, variance=1.0):
    """Frozen Marchenko–Pastur law MP(ratio, variance); see :class:`MarchenkoPastur`."""
    return MarchenkoPastur(ratio, variance)


def semicircle(radius):
    r"""Wigner semicircle law of radius R, density :math:`2\sqrt{R^2-x^2}/(\pi R^2)`.

    Returned as ``scipy.stats.semicircular(scale=radius)`` (a frozen
    ``rv_continuous``): mean 0, variance R^2/4. The GOE(d) of this module tends
    to ``semicircle(sqrt(2 d))`` (Wigner 1958).

    Examples
    --------
    >>> float(semicircle(2.0).var())
    1.0
    """
    return scipy.stats.semicircular(scale=check_positive(radius, "radius"))


# --------------------------------------------------------------------------
# Free additive convolution: Wishart + Wigner
# --------------------------------------------------------------------------


def wishart_plus_wigner_density(x, *, ratio, variance=1.0, wigner_scale=1.0, shift=0.0):
    r"""Limiting eigenvalue density of :class:`WishartPlusWigner`, MP(gamma, sigma^2) - s ⊞ SC(r).

    Subordination (Biane 1997; Pennington & Bahri 2017, sec. 3): the
    semicircle of radius r has R-transform :math:`(r^2/4) g`, so the Stieltjes
    transform :math:`G(z) = \int \rho(t)/(z - t)\,dt` of H solves

    .. math:: G(z) = G_{MP}\big(z + s - \tfrac{r^2}{4} G(z)\big), \qquad
              \gamma\sigma^2 w G_{MP}^2 - (w - \sigma^2(1-\gamma)) G_{MP} + 1 = 0 .

    Substituting :math:`w = z + s - c G`, :math:`c = r^2/4`, turns the fixed
    point into the cubic

    .. math:: -\gamma\sigma^2 c\, G^3 + (\gamma\sigma^2 (z+s) + c)\, G^2
              - (z + s - \sigma^2(1-\gamma))\, G + 1 = 0,

    solved for all x at once (eigenvalues of companion matrices) directly at
    eta = 0. For Im z > 0 exactly one root has Im G < 0 (such a root gives Im w >
    0, the other MP branch has Im > 0 there, and the subordination fixed point
    is unique by Denjoy–Wolff), so at real x the roots are all real outside the
    support and contain the physical complex pair inside it, and
    :math:`\rho(x) = \max_k |\operatorname{Im} G_k| / \pi` is the eta -> 0+
    limit of :math:`-\operatorname{Im}G(x + i\eta)/\pi`. No iteration, so no
    slow convergence at the edges; accuracy is that of the cubic's roots
    (about 1e-8 absolute right at an edge, machine precision elsewhere).

    Parameters
    ----------
    x : array_like
        Points, finite.
    ratio : float
        gamma = d / n of the Wishart part, > 0.
    variance : float, optional
        sigma^2 of the Wishart part, > 0 (default 1).
    wigner_scale : float, optional
        Semicircle radius r, > 0 (default 1).
    shift : float, optional
        s, finite (default 0).

    Returns
    -------
    ndarray or float
        Density at x (shape of x); it integrates to 1 (the atom of MP is
        smoothed out).

    Examples
    --------
    >>> float(wishart_plus_wigner_density(1.0, ratio=0.5)) > 0
    True
    """
    x = as_finite_array(x, "x")
    params = _convolution_params(ratio, variance, wigner_scale, shift)
    return _convolution_density(x, *params)[()]


def wishart_plus_wigner_negative_fraction(*, ratio, variance=1.0, wigner_scale=1.0, shift=0.0):
    r"""Predicted index (fraction of negative eigenvalues) of :class:`WishartPlusWigner`.

    :math:`\alpha = \int_{-\infty}^0 \rho(x)\,dx` with rho from
    :func:`wishart_plus_wigner_density`, integrated by adaptive quadrature
    (``scipy.integrate.quad``, relative error ~1e-10) over each interval of
    the support below 0. The support edges are the real roots of the
    discriminant of the cubic (a quartic in x) between which the
    discriminant is negative (one real root and the complex pair), so a
    small index just above the critical loss is integrated as accurately
    as a large one. Pennington & Bahri (2017) predict
    :math:`\alpha \approx \alpha_0 |(\epsilon-\epsilon_c)/\epsilon_c|^{3/2}`
    above the critical loss (mapping in :class:`WishartPlusWigner`).

    Parameters
    ----------
    ratio, variance, wigner_scale, shift
        As in :func:`wishart_plus_wigner_density`.

    Returns
    -------
    float
        Fraction in [0, 1].
    """
    params = _convolution_params(ratio, variance, wigner_scale, shift)
    total = 0.0
    for lo, hi in _convolution_support(*params):
        if lo < 0:
            total += scipy.integrate.quad(
                lambda t: float(_convolution_density(np.asarray(t), *params)),
                lo, min(hi, 0.0), epsabs=1e-13, epsrel=1e-11, limit=200,
            )[0]
    return min(max(total, 0.0), 1.0)


def _convolution_params(ratio, variance, wigner_scale, shift):
    return (
        check_positive(ratio, "ratio"),
        check_positive(variance, "variance"),
        check_positive(wigner_scale, "wigner_scale") ** 2 / 4,
        _finite_scalar(shift, "shift"),
    )


def _convolution_support(g, v, c, s):
    """Intervals [lo, hi] (in x) where the cubic has a complex pair of roots."""
    poly = np.polynomial.Polynomial
    lead, b, cc = -g * v * c, poly([c, g * v]), poly([v * (1 - g), -1.0])  # coefficients in u = x + s
    disc = 18 * lead * b * cc - 4 * b**3 + b**2 * cc**2 - 4 * lead * cc**3 - 27 * lead**2
    roots = disc.roots()
    scale = v * (1 + math.sqrt(g)) ** 2 + 2 * math.sqrt(c)
    edges = np.sort(roots.real[np.abs(roots.imag) <= 1e-9 * scale])
    return [(lo - s, hi - s) for lo, hi in zip(edges[:-1], edges[1:]) if disc(0.5 * (lo + hi)) < 0]


def _convolution_density(x, g, v, c, s):
    u = x + s
    lead = -g * v * c
    companion = np.zeros(x.shape + (3, 3))
    companion[..., 0, 0] = -(g * v * u + c) / lead
    companion[..., 0, 1] = (u - v * (1 - g)) / lead
    companion[..., 0, 2] = -1.0 / lead
    companion[..., 1, 0] = 1.0
    companion[..., 2, 1] = 1.0
    roots = np.linalg.eigvals(companion)
    return np.abs(roots.imag).max(axis=-1) / np.pi


# --------------------------------------------------------------------------
# Small private helpers
# --------------------------------------------------------------------------


def _symmetrize(a):
    return 0.5 * (a + np.swapaxes(a, -1, -2))


def _finite_scalar(value, name):
    return float(as_finite_array(value, name, shape=()))


def _batch_shape(size):
    """numpy-style ``size``: None -> (), int -> (size,), tuple of ints -> tuple."""
    if size is None:
        return ()
    sizes = (size,) if np.ndim(size) == 0 else tuple(size)
    return tuple(check_positive_int(s, "size", minimum=0) for s in sizes)
