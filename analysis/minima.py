"""How rare are local minima? Closed forms for claim C1 (docs/claims.md).

Three models of a random Hessian at a critical point in dimension d:

* the essay's model: each eigenvalue is positive independently with
  probability p, so P(minimum) = p^d;
* the Gaussian orthogonal ensemble (docs/conventions.md convention, density
  proportional to exp(-tr H^2 / 2)): P(H positive definite) computed exactly
  from the joint eigenvalue density, and its large-d law exp(-ln(3) d^2 / 4);
* a shifted Wishart matrix W - s I, governed for large d by the lower
  Marchenko-Pastur edge.

All probabilities are natural logs.
"""
import functools
import math
from typing import NamedTuple

import mpmath
import numpy as np

from models.validation import as_finite_array, check_positive, check_positive_int
from models.estimate import Estimate

__all__ = [
    "DEAN_MAJUMDAR_THETA",
    "log_p_min_bernoulli",
    "goe_log_p_positive_definite",
    "goe_log_p_positive_definite_table",
    "dean_majumdar_log_p_positive_definite",
    "QuadraticFit",
    "fit_quadratic_log_p",
    "WishartEdge",
    "shifted_wishart_log_p_positive_definite_edge",
]

#: Dean & Majumdar's exponent for the GOE (beta = 1): P(H > 0) ~ exp(-theta d^2).
DEAN_MAJUMDAR_THETA = math.log(3.0) / 4.0

# Blocks of dimensions computed together by goe_log_p_positive_definite: one
# table up to 32 serves every d <= 32 (verify asks for d = 1..30).
_TABLE_BLOCK = 32


def log_p_min_bernoulli(p, d):
    """Log-probability of a minimum when each eigenvalue is positive w.p. ``p``.

    log P = d log p: the essay's model, in which the d Hessian eigenvalues
    are positive independently, each with probability p.

    Parameters
    ----------
    p : float
        Probability that one eigenvalue is positive, 0 < p <= 1.
    d : int
        Dimension, >= 1.

    Returns
    -------
    float
        d log p (natural log).

    Examples
    --------
    >>> round(log_p_min_bernoulli(0.5, 10), 6)
    -6.931472
    """
    p = check_positive(p, "p")
    if p > 1:
        raise ValueError(f"p must be a probability in (0, 1], got {p!r}")
    d = check_positive_int(d, "d")
    return d * math.log(p)


def goe_log_p_positive_definite(d, *, dps=None):
    """Exact log-probability that a d x d GOE matrix is positive definite.

    With the eigenvalue density proportional to
    prod_{i<j} |l_i - l_j| prod_i exp(-l_i^2 / 2) (docs/conventions.md convention),

        P_d = Z_d^+ / Z_d,
        Z_d^+ = int_{(0, inf)^d} |Delta(l)| prod_i exp(-l_i^2 / 2) dl,
        Z_d = (2 pi)^{d/2} prod_{j=1}^{d} Gamma(1 + j/2) / Gamma(3/2)

    (Z_d is Mehta's integral, a case of Selberg's). By de Bruijn (1955),
    Z_d^+ = d! Pf(A) with A_jk = int int_{0<x<y} (phi_j(x) phi_k(y) -
    phi_k(x) phi_j(y)) dx dy, phi_j(x) = x^j exp(-x^2/2), j, k = 0..d-1,
    bordered for odd d by the column m_j = int_0^inf phi_j. Writing
    X ~ Gamma(a_j), Y ~ Gamma(a_k) with a_j = (j + 1)/2 (substitute u = x^2/2)
    gives the closed form

        A_jk = m_j m_k (2 I_{1/2}(a_j, a_k) - 1),
        m_j = 2^{(j-1)/2} Gamma((j+1)/2),

    with I the regularised incomplete beta function (P(X < Y) = I_{1/2}).
    The m_j factor out of the Pfaffian. The Pfaffian of these monomial
    moments suffers cancellation of about d decimal digits, so it is
    evaluated with mpmath at ``dps`` digits (default 2 d + 30) by Schur
    complements, whose pivots give the Pfaffians of all smaller d at once.

    Parameters
    ----------
    d : int
        Dimension, >= 1. d <= 32 takes about 0.3 s (all of them, cached),
        d <= 64 about 2 s, d = 100 about 10 s.
    dps : int, optional
        Working precision in decimal digits, >= d + 20 (the loss to
        cancellation is about d digits). Default: chosen automatically.

    Returns
    -------
    float
        log P(H positive definite), natural log. d = 1: log(1/2);
        d = 2: log((2 - sqrt 2) / 4).

    References
    ----------
    N. G. de Bruijn, "On some multiple integrals involving determinants",
    J. Indian Math. Soc. 19, 133 (1955). M. L. Mehta, Random Matrices, 3rd ed.
    (2004), chapter 17 (Selberg's integral). D. S. Dean & S. N. Majumdar, PRL 97, 160201 (2006)
    and PRE 77, 041108 (2008) for the large-d law (see
    :func:`dean_majumdar_log_p_positive_definite`).

    Examples
    --------
    >>> round(goe_log_p_positive_definite(2), 10) == round(math.log((2 - math.sqrt(2)) / 4), 10)
    True
    """
    d = check_positive_int(d, "d")
    if dps is None:
        d_max = _TABLE_BLOCK * math.ceil(d / _TABLE_BLOCK)
        return _log_p_table(d_max, _default_dps(d_max))[d - 1]
    dps = check_positive_int(dps, "dps", minimum=d + 20)
    return _log_p_table(d, dps)[d - 1]


def goe_log_p_positive_definite_table(d_max, *, dps=None):
    """Exact log P(GOE matrix positive definite) for d = 1..d_max, jointly.

    Same formula and references as :func:`goe_log_p_positive_definite`; one
    Pfaffian elimination yields every d up to ``d_max``, so the table costs
    about as much as its last entry.

    Parameters
    ----------
    d_max : int
        Largest dimension, >= 1.
    dps : int, optional
        Working precision in decimal digits, >= d_max + 20. Default 2 d_max + 30.

    Returns
    -------
    ndarray, shape (d_max,)
        Entry d - 1 is log P for dimension d.

    Examples
    --------
    >>> np.round(np.exp(goe_log_p_positive_definite_table(3)), 4)
    array([0.5   , 0.1464, 0.0249])
    """
    d_max = check_positive_int(d_max, "d_max")
    dps = _default_dps(d_max) if dps is None else check_positive_int(dps, "dps", minimum=d_max + 20)
    return np.array(_log_p_table(d_max, dps))


def _default_dps(d_max):
    return 2 * d_max + 30


@functools.lru_cache(maxsize=None)
def _log_p_table(d_max, dps):
    """log P_d for d = 1..d_max as a tuple of floats (cached)."""
    with mpmath.workdps(dps):
        a = [mpmath.mpf(j + 1) / 2 for j in range(d_max)]
        # Upper triangle of the scaled Pfaffian matrices: K for even d, and the
        # matrix bordered by ones *first* (index 0) for odd d, so that in both
        # the leading 2m x 2m block belongs to one d. Bordering first instead
        # of last flips the sign of Pf; the +1 border (not -1) flips it back.
        zero = mpmath.mpf(0)
        kernel = [[2 * mpmath.betainc(a[j], a[k], 0, 0.5, regularized=True) - 1 if k > j else zero
                   for k in range(d_max)] for j in range(d_max)]
        even = _leading_log_pfaffians([row[:] for row in kernel])
        bordered = [[zero] + [mpmath.mpf(1)] * d_max] + [[zero] + row for row in kernel]
        odd = _leading_log_pfaffians(bordered)
        log_pf = [None] * d_max
        log_pf[1::2] = even[: d_max // 2]          # d = 2, 4, ...
        log_pf[0::2] = odd[: (d_max + 1) // 2]     # d = 1, 3, ...
        out, log_m, log_z = [], mpmath.mpf(0), mpmath.mpf(0)
        for d in range(1, d_max + 1):
            log_m += (d - 2) * mpmath.log(2) / 2 + mpmath.loggamma(a[d - 1])
            log_z += mpmath.log(2 * mpmath.pi) / 2 + mpmath.loggamma(1 + mpmath.mpf(d) / 2) - mpmath.loggamma(1.5)
            out.append(float(mpmath.loggamma(d + 1) + log_m + log_pf[d - 1] - log_z))
    return tuple(out)


def _leading_log_pfaffians(u):
    """log Pf of the leading 2 x 2, 4 x 4, ... blocks of a skew matrix.

    ``u`` holds the matrix in its upper triangle (u[i][j], i < j; the rest is
    ignored and overwritten). Unpivoted Schur complements on pairs of rows:
    Pf(A) = A_01 Pf(S), S_ij = A_ij + (A_1i A_0j - A_0i A_1j) / A_01; the
    running product of pivots is the Pfaffian of each leading block. Here
    every leading Pfaffian is a positive integral, so pivots must be > 0.
    """
    n = len(u)
    out, total = [], mpmath.mpf(0)
    for k in range(0, n - 1, 2):
        pivot = u[k][k + 1]
        if not pivot > 0:
            raise ArithmeticError("non-positive Pfaffian pivot: working precision too low")
        total += mpmath.log(pivot)
        out.append(total)
        row0, row1 = u[k], u[k + 1]
        for i in range(k + 2, n):
            c0, c1 = row0[i] / pivot, row1[i] / pivot
            row_i = u[i]
            for j in range(i + 1, n):
                row_i[j] += c1 * row0[j] - c0 * row1[j]
    return out


def dean_majumdar_log_p_positive_definite(d):
    """Leading large-d asymptotic of log P(GOE matrix positive definite).

    log P ~ -theta d^2 with theta = ln(3) / 4 = 0.2747 for beta = 1
    (theta = beta ln(3) / 4 in general), from the Coulomb-gas large-deviation
    calculation of Dean & Majumdar. This is only the leading term, NOT the
    exact value: the correction is O(d) and large. From the exact values of
    :func:`goe_log_p_positive_definite`, -log P / d^2 is 0.315 at d = 10,
    0.288 at d = 30 and 0.281 at d = 60, approaching ln(3)/4 from above about
    as ln(3)/4 + 0.38 / d. Subleading terms were computed by Borot, Eynard,
    Majumdar & Nadal, J. Stat. Mech. P11024 (2011), arXiv:1009.1945.

    Parameters
    ----------
    d : int
        Dimension, >= 1.

    Returns
    -------
    float
        -ln(3) d^2 / 4.

    References
    ----------
    D. S. Dean & S. N. Majumdar, PRL 97, 160201 (2006); PRE 77, 041108 (2008).

    Examples
    --------
    >>> round(dean_majumdar_log_p_positive_definite(30), 3)  # exact: -258.862
    -247.188
    """
    d = check_positive_int(d, "d")
    return -DEAN_MAJUMDAR_THETA * d * d


class QuadraticFit(NamedTuple):
    """Weighted least-squares fit of -log P = theta d^2 + b d + c.

    Attributes
    ----------
    theta : Estimate
        Coefficient of d^2 with its standard error.
    coefficients : ndarray, shape (3,)
        (theta, b, c).
    covariance : ndarray, shape (3, 3)
        Parameter covariance of (theta, b, c).
    """

    theta: Estimate
    coefficients: np.ndarray
    covariance: np.ndarray


def fit_quadratic_log_p(d, log_p, *, stderr=None):
    """Fit -log P = theta d^2 + b d + c by (weighted) least squares.

    Used to set a fitted exponent beside Dean & Majumdar's ln(3)/4. With
    ``stderr`` given, the weights are 1/stderr^2 and the covariance is
    (X^T W X)^{-1} (standard errors taken as known). Without it, the fit is
    unweighted and the covariance is scaled by the residual variance
    RSS / (n - 3), so at least 4 points are needed. Note that a fit to exact
    small-d values also absorbs higher-order terms (e.g. log d) of the true
    expansion, so its theta is biased at finite d.

    Parameters
    ----------
    d : array_like, shape (n,)
        Dimensions (at least 3 distinct values).
    log_p : array_like, shape (n,)
        log P at those dimensions.
    stderr : array_like, shape (n,), optional
        Standard errors of log_p, all > 0.

    Returns
    -------
    QuadraticFit

    Examples
    --------
    >>> d = np.arange(1.0, 11.0)
    >>> fit = fit_quadratic_log_p(d, -(0.3 * d**2 + 0.5 * d + 1.0))
    >>> round(float(fit.theta.value), 10)
    0.3
    """
    d = as_finite_array(d, "d", ndim=1)
    log_p = as_finite_array(log_p, "log_p", shape=d.shape)
    if np.unique(d).size < 3:
        raise ValueError(f"d must hold at least 3 distinct values, got {d.tolist()}")
    if stderr is None:
        if d.size < 4:
            raise ValueError(f"d must hold at least 4 points when stderr is None, got {d.size}")
        weights = np.ones_like(d)
    else:
        stderr = as_finite_array(stderr, "stderr", shape=d.shape)
        if not np.all(stderr > 0):
            raise ValueError(f"stderr must be > 0 everywhere, got min {stderr.min()!r}")
        weights = 1.0 / stderr
    design = np.column_stack([d * d, d, np.ones_like(d)]) * weights[:, None]
    target = -log_p * weights
    scale = np.linalg.norm(design, axis=0)  # column scaling for conditioning
    q, r = np.linalg.qr(design / scale)
    coef = np.linalg.solve(r, q.T @ target) / scale
    r_inv = np.linalg.inv(r) / scale[:, None]
    covariance = r_inv @ r_inv.T
    if stderr is None:
        residual = target - design @ coef
        covariance *= residual @ residual / (d.size - 3)
    theta = Estimate(float(coef[0]), float(np.sqrt(covariance[0, 0])))
    return QuadraticFit(theta, coef, covariance)


class WishartEdge(NamedTuple):
    """Large-d verdict on positive-definiteness of W - shift I.

    Attributes
    ----------
    edge : float
        Smallest point of the limiting spectrum of W: variance (1 - sqrt(ratio))^2
        for ratio <= 1, and 0 (the atom) for ratio > 1.
    regime : str
        ``"below_edge"`` (shift < edge), ``"above_edge"`` (shift > edge) or
        ``"at_edge"`` (shift == edge).
    log_p_limit : float
        lim_{d -> inf} log P(W - shift I positive definite): 0.0 below the
        edge, -inf above it. At the edge: nan when ratio < 1 (the limit is a
        Tracy-Widom probability strictly between 0 and 1, not computed here);
        0.0 when ratio == 1 (W is almost surely invertible); -inf when
        ratio > 1 (W is singular).
    """

    edge: float
    regime: str
    log_p_limit: float


def shifted_wishart_log_p_positive_definite_edge(ratio, shift, *, variance=1.0):
    """Large-d limit of P(W - shift I positive definite) from the MP lower edge.

    W = X^T X / n with X n x d of i.i.d. N(0, variance) entries and
    ratio = d / n (docs/conventions.md). Its smallest eigenvalue converges almost surely
    to the lower Marchenko-Pastur edge variance (1 - sqrt(ratio))^2 when
    ratio <= 1 (Bai & Yin, Ann. Probab. 21, 1275 (1993)); when ratio > 1, W has
    d - n zero eigenvalues. Hence P(W - shift I > 0) tends to 1 for shift below
    the edge and to 0 above it: a threshold in the shift, not the p^d decay of
    the essay's model. At finite d the transition has width O(d^{-2/3})
    (Tracy-Widom fluctuations of the smallest eigenvalue), which this function
    does not model.

    Parameters
    ----------
    ratio : float
        gamma = d / n, > 0.
    shift : float
        s in W - s I (any finite real).
    variance : float, optional
        Entry variance sigma^2 of X, > 0.

    Returns
    -------
    WishartEdge
        The edge, the regime and the limiting log-probability.

    Examples
    --------
    >>> shifted_wishart_log_p_positive_definite_edge(0.25, 0.1)
    WishartEdge(edge=0.25, regime='below_edge', log_p_limit=0.0)
    """
    ratio = check_positive(ratio, "ratio")
    variance = check_positive(variance, "variance")
    shift = float(as_finite_array(shift, "shift", ndim=0))
    edge = variance * (1.0 - math.sqrt(ratio)) ** 2 if ratio <= 1 else 0.0
    if shift < edge:
        return WishartEdge(edge, "below_edge", 0.0)
    if shift > edge:
        return WishartEdge(edge, "above_edge", -math.inf)
    at_edge = math.nan if ratio < 1 else (0.0 if ratio == 1 else -math.inf)
    return WishartEdge(edge, "at_edge", at_edge)
