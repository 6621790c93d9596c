"""Closed-form volumes of balls and of quadratic sublevel sets, in log space.

Near a minimum the loss is L(x) = 1/2 x^T H x, and its sublevel set
S(eps) = {L <= eps} is an ellipsoid whose volume is the unit-ball volume times
the product of its semi-axes sqrt(2 eps / lambda_i) (claims C3 and C11 in
docs/claims.md). Everything is returned as a natural log so that nothing overflows
or underflows at d = 10^5.

Beyond the quadratic case: exact volumes of normal-crossing singular minima
and their RLCT (claim C8), the fit of V ~ c eps^lambda (log 1/eps)^(m-1) to a
measured density of states, and the statistics of volumes of minima with
random spectra: log-normal volume ratios and the share of the flattest few
(claim C4).
"""
import math
from fractions import Fraction
from typing import NamedTuple

import mpmath
import numpy as np
import scipy.integrate
import scipy.linalg
import scipy.stats
from scipy.special import bdtr, gammaln, logsumexp

from models.normal_crossing import as_exponents
from models.spectra import MarchenkoPastur
from models.validation import (
    as_finite_array,
    check_choice,
    check_nonnegative,
    check_positive,
    check_positive_int,
)
from models.estimate import Estimate

__all__ = [
    "log_unit_ball_volume",
    "log_sublevel_volume",
    "log_volume_ratio",
    "log_ball_fraction_of_cube",
    "LearningCoefficient",
    "normal_crossing_rlct",
    "log_normal_crossing_volume",
    "LogMoments",
    "marchenko_pastur_log_moments",
    "log_volume_ratio_moments",
    "flattest_volume_fraction",
    "predicted_flattest_fraction",
    "VolumeExponentFit",
    "fit_volume_exponent",
]


def log_unit_ball_volume(d):
    r"""Log volume of the unit Euclidean ball in dimension ``d``.

    .. math:: \log V_d = \frac{d}{2}\log\pi - \log\Gamma\left(\frac{d}{2} + 1\right)

    Parameters
    ----------
    d : int or array_like of int
        Dimension(s), each >= 1.

    Returns
    -------
    float or ndarray
        ``log V_d`` (a float for an integer ``d``, an array for an array).

    References
    ----------
    NIST Digital Library of Mathematical Functions, eq. 5.19.4.

    Examples
    --------
    >>> import math
    >>> math.isclose(math.exp(log_unit_ball_volume(3)), 4 / 3 * math.pi)
    True
    """
    d = _dimension(d)
    value = 0.5 * d * np.log(np.pi) - gammaln(0.5 * d + 1.0)
    return float(value) if np.ndim(value) == 0 else value


def log_sublevel_volume(eigenvalues, eps):
    r"""Log volume of the sublevel set {x : 1/2 x^T H x <= eps} of a quadratic.

    .. math:: \log V(\varepsilon) = \frac{d}{2}\log(2\pi\varepsilon)
              - \log\Gamma\left(\frac{d}{2} + 1\right)
              - \frac12 \sum_{i=1}^{d} \log\lambda_i

    The set is an ellipsoid with semi-axes sqrt(2 eps / lambda_i). The sum of
    logs is taken with ``math.fsum``, so the result is exact to float precision
    for d = 10^5 and eigenvalues spanning many decades.

    Parameters
    ----------
    eigenvalues : array_like, shape (d,)
        Eigenvalues of the Hessian H, all finite and > 0 (a volume needs an
        SPD Hessian).
    eps : float
        Loss level above the minimum, > 0.

    Returns
    -------
    float
        ``log V(eps)``.

    References
    ----------
    docs/claims.md, C3; the unit-ball volume is NIST DLMF eq. 5.19.4.

    Examples
    --------
    >>> import math
    >>> area = math.exp(log_sublevel_volume([2.0, 8.0], 0.5))   # ellipse, semi-axes 1/sqrt(2), 1/sqrt(8)
    >>> math.isclose(area, math.pi * 2 * 0.5 / math.sqrt(2.0 * 8.0))
    True
    """
    logs = _log_eigenvalues(eigenvalues, "eigenvalues")
    eps = check_positive(eps, "eps")
    d = logs.size
    return math.fsum([0.5 * d * math.log(2.0 * math.pi * eps), -float(gammaln(0.5 * d + 1.0)),
                      -0.5 * math.fsum(logs)])


def log_volume_ratio(eigenvalues_a, eigenvalues_b):
    r"""Log ratio of the sublevel-set volumes of two minima at the same eps.

    .. math:: \log\frac{V_a}{V_b} = \frac12\sum_i \log\lambda^{(b)}_i
              - \frac12\sum_i \log\lambda^{(a)}_i

    independent of eps; with all eigenvalues equal it is (d/2) log(lambda_b / lambda_a).

    Parameters
    ----------
    eigenvalues_a, eigenvalues_b : array_like, shape (d,)
        Hessian eigenvalues of the two minima, all finite and > 0, of the same
        length d.

    Returns
    -------
    float
        ``log(V_a / V_b)``; positive when minimum a is the flatter one.

    References
    ----------
    docs/claims.md, C3.

    Examples
    --------
    >>> import math
    >>> math.isclose(log_volume_ratio([1.0, 1.0], [4.0, 4.0]), math.log(4.0))   # (d/2) log(4/1)
    True
    """
    log_a = _log_eigenvalues(eigenvalues_a, "eigenvalues_a")
    log_b = _log_eigenvalues(eigenvalues_b, "eigenvalues_b")
    if log_a.size != log_b.size:
        raise ValueError(
            f"eigenvalues_a and eigenvalues_b must have the same length d, got {log_a.size} and {log_b.size}"
        )
    return 0.5 * math.fsum(np.concatenate([log_b, -log_a]))


def log_ball_fraction_of_cube(d):
    r"""Log of the fraction of the cube [-1, 1]^d filled by its inscribed unit ball.

    .. math:: \log\frac{V_d}{2^d} = \frac{d}{2}\log\pi
              - \log\Gamma\left(\frac{d}{2} + 1\right) - d \log 2

    It decreases super-exponentially, about -(d/2) log(d / (2 pi e)) - d log 2
    by Stirling's formula (claim C11).

    Parameters
    ----------
    d : int or array_like of int
        Dimension(s), each >= 1.

    Returns
    -------
    float or ndarray
        The log fraction, <= 0 (0 only at d = 1).

    References
    ----------
    docs/claims.md, C11; NIST DLMF eq. 5.19.4.

    Examples
    --------
    >>> import math
    >>> math.isclose(math.exp(log_ball_fraction_of_cube(2)), math.pi / 4)
    True
    """
    d = _dimension(d)
    value = log_unit_ball_volume(d) - d * np.log(2.0)
    return float(value) if np.ndim(value) == 0 else value


def _dimension(d):
    """Validate a dimension (int >= 1) or an integer array of them."""
    if np.ndim(d) == 0:
        return check_positive_int(d, "d")
    arr = np.asarray(d)
    if not np.issubdtype(arr.dtype, np.integer) or arr.size == 0 or arr.min() < 1:
        raise ValueError(f"d must be an integer >= 1 or a non-empty integer array of them, got {d!r}")
    return arr


def _log_eigenvalues(eigenvalues, name):
    """Validate a non-empty 1-d array of positive finite eigenvalues; return their logs."""
    lam = as_finite_array(eigenvalues, name, ndim=1)
    if lam.size == 0:
        raise ValueError(f"{name} must be non-empty, got an empty array")
    if lam.min() <= 0:
        raise ValueError(
            f"{name} must all be > 0 (a volume needs an SPD Hessian), got minimum {lam.min()!r}"
        )
    return np.log(lam)


# --------------------------------------------------------------------------
# Singular minima: normal crossings (claim C8)
# --------------------------------------------------------------------------


class LearningCoefficient(NamedTuple):
    """Real log canonical threshold ``lam`` and its multiplicity (claim C8).

    Unpacks as ``lam, multiplicity = normal_crossing_rlct(...)``.
    """

    lam: float
    multiplicity: int


def normal_crossing_rlct(exponents):
    r"""RLCT and multiplicity of the normal crossing K(w) = prod_i w_i^(2 k_i).

    .. math:: \lambda = \min_i \frac{1}{2k_i}, \qquad
              m = \#\{i : k_i = \max_j k_j\},

    so that V(eps) = vol{K <= eps} ~ c eps^lambda (log 1/eps)^(m-1) as
    eps -> 0 (see :func:`log_normal_crossing_volume` for c). A regular
    minimum of one variable (w^2) has (1/2, 1); w1^2 w2^2 has (1/2, 2);
    w1^2 w2^4 has (1/4, 1).

    Parameters
    ----------
    exponents : sequence of int
        k_i >= 1.

    Returns
    -------
    LearningCoefficient
        ``(lam, multiplicity)``.

    References
    ----------
    Watanabe (2009), *Algebraic Geometry and Statistical Learning Theory*,
    Cambridge University Press, sec. 2.4 and Thm. 6.1; docs/claims.md, C8.

    Examples
    --------
    >>> normal_crossing_rlct([1, 2, 2])
    LearningCoefficient(lam=0.25, multiplicity=2)
    """
    k = as_exponents(exponents, "exponents")
    k_max = int(k.max())
    return LearningCoefficient(1.0 / (2 * k_max), int(np.sum(k == k_max)))


def log_normal_crossing_volume(eps, exponents, *, half_width=1.0, log_eps=None):
    r"""Exact log volume of {w in [-a, a]^m : prod_i w_i^(2 k_i) <= eps}.

    For w_i uniform on [-a, a], E_i = -log(|w_i| / a) is Exponential(1), and
    prod_i w_i^(2k_i) = a^(2K) exp(-S) with K = sum_i k_i and
    S = sum_i 2 k_i E_i, a sum of independent exponentials with rates
    rho_i = 1/(2 k_i) (a hypoexponential variable). Hence

    .. math:: V(\varepsilon) = (2a)^m\, P(S \ge L), \qquad
              L = \log\frac{a^{2K}}{\varepsilon},

    and V = (2a)^m when L <= 0. Grouping equal exponents (distinct rates
    rho_j with multiplicities n_j), the Laplace transform of S is
    prod_j (rho_j / (rho_j + s))^(n_j); its partial fractions
    sum_{j,l} B_{jl} (s + rho_j)^(-l), with

    .. math:: B_{jl} = \frac{1}{(n_j - l)!}\frac{d^{\,n_j-l}}{ds^{\,n_j-l}}
              \Big[(s+\rho_j)^{n_j}\prod_i\Big(\frac{\rho_i}{\rho_i+s}\Big)^{n_i}
              \Big]_{s=-\rho_j},

    invert term by term to Erlang tails:

    .. math:: P(S \ge L) = \sum_j e^{-\rho_j L}\sum_{l=1}^{n_j}
              \frac{B_{jl}}{\rho_j^{\,l}}\sum_{i<l}\frac{(\rho_j L)^i}{i!} .

    The B_{jl} are computed exactly in rational arithmetic (Taylor series of
    prod_{i != j} (rho_i - rho_j + t)^(-n_i)), and the alternating sum is
    evaluated with mpmath at a working precision raised until the
    cancellation it suffers is covered, so the result is exact to double
    precision for every eps, including eps = 1e-300 or, through
    ``log_eps``, far below the smallest double.

    For k_i = 1 on the unit cube this is the classical
    vol{v in [0,1]^m : prod v_i <= t} = t sum_{j<m} log(1/t)^j / j! applied
    to v_i = |w_i| with t = sqrt(eps): V = 2^m sqrt(eps) sum_{j<m}
    (log(1/eps)/2)^j / j!; m = 1 gives the interval length 2 sqrt(eps).

    Small-eps asymptote: only the smallest rate lam = min_i 1/(2k_i), of
    multiplicity n, survives, and

    .. math:: V(\varepsilon) \sim c\,\varepsilon^{\lambda}
              (\log 1/\varepsilon)^{n-1}, \qquad
              c = \frac{(2a)^m\, a^{-2K\lambda}\,\lambda^{n-1}}{(n-1)!}\,
              \prod_{i:\,k_i \ne k_{\max}}\Big(\frac{\rho_i}{\rho_i - \lambda}\Big),

    (:func:`normal_crossing_rlct` gives (lam, n)); the relative correction
    is O(1 / log(1/eps)) when n > 1, exponentially small when n = 1.

    Parameters
    ----------
    eps : float or array_like, or None
        Loss level(s), > 0 and finite. Pass None and use ``log_eps`` instead
        for levels below the smallest double.
    exponents : sequence of int
        k_i >= 1, the exponents of prod_i w_i^(2 k_i) (m = len(exponents)).
    half_width : float, optional
        a > 0, the box [-a, a]^m (default 1).
    log_eps : float or array_like, optional
        Natural log of eps (finite), instead of ``eps``.

    Returns
    -------
    float or ndarray
        log V, a float for a scalar level, an array of the levels' shape
        otherwise.

    References
    ----------
    Watanabe (2009), *Algebraic Geometry and Statistical Learning Theory*,
    sec. 2.4 (state density of normal crossings); hypoexponential
    distribution with repeated rates: Amari & Misra (1997), "Closed-form
    expressions for distribution of sum of exponential random variables",
    IEEE Trans. Commun. 45:1008. docs/claims.md, C8.

    Examples
    --------
    >>> import math
    >>> math.isclose(math.exp(log_normal_crossing_volume(1e-4, [1])), 2 * math.sqrt(1e-4))
    True
    >>> eps = 1e-6; L = math.log(1 / eps)          # w1^2 w2^2: 4 sqrt(eps) (1 + L / 2)
    >>> math.isclose(log_normal_crossing_volume(eps, [1, 1]), math.log(4 * math.sqrt(eps) * (1 + L / 2)))
    True
    """
    k = as_exponents(exponents, "exponents")
    a = check_positive(half_width, "half_width")
    if (eps is None) == (log_eps is None):
        raise ValueError(f"pass exactly one of eps and log_eps, got eps={eps!r} and log_eps={log_eps!r}")
    if eps is not None:
        levels = as_finite_array(eps, "eps")
        if levels.size and levels.min() <= 0:
            raise ValueError(f"eps must be > 0, got minimum {levels.min()!r}")
        with np.errstate(divide="ignore"):
            logs = np.log(levels)
    else:
        logs = as_finite_array(log_eps, "log_eps")
    tail = _hypoexponential_tail(k)
    m, two_k = k.size, 2 * int(k.sum())
    log_box = m * math.log(2.0 * a)
    out = np.array([log_box + _log_hypoexponential_sf(two_k, a, float(le), tail) for le in logs.ravel()])
    out = out.reshape(logs.shape)
    return float(out) if out.ndim == 0 else out


def _hypoexponential_tail(k):
    """Exact coefficients of P(S >= L) = sum_j exp(-rho_j L) sum_i coef_ji L^i.

    S = sum_i 2 k_i E_i with E_i i.i.d. Exponential(1); rho_j = 1/(2 k_j) over
    the distinct k_j (multiplicity n_j). Returns a list of (rho_j, [coef_j0,
    ..., coef_j,n_j-1]) in ``fractions.Fraction``.
    """
    counts = {}
    for kk in k.tolist():
        counts[kk] = counts.get(kk, 0) + 1
    rates = {kk: Fraction(1, 2 * kk) for kk in counts}
    out = []
    for kj, nj in counts.items():
        rj = rates[kj]
        # g(t) = (s + rho_j)^n_j F(s) at s = -rho_j + t = rho_j^n_j prod_{i != j} rho_i^n_i (delta_i + t)^(-n_i)
        series = [Fraction(0)] * nj
        series[0] = rj**nj
        for ki, ni in counts.items():
            if ki == kj:
                continue
            ri = rates[ki]
            delta = ri - rj
            # rho_i^n (delta + t)^(-n) = (rho_i/delta)^n sum_q C(n+q-1, q) (-t/delta)^q
            factor = [(ri / delta) ** ni * math.comb(ni + q - 1, q) * (-1 / delta) ** q for q in range(nj)]
            series = [sum(series[p] * factor[q - p] for p in range(q + 1)) for q in range(nj)]
        b = {l: series[nj - l] for l in range(1, nj + 1)}  # B_jl, coefficient of (s + rho_j)^(-l)
        coef = [sum(b[l] / rj**l for l in range(i + 1, nj + 1)) * rj**i / math.factorial(i) for i in range(nj)]
        out.append((rj, coef))
    return out


def _log_hypoexponential_sf(two_k, a, log_eps, tail):
    """log P(S >= L), L = 2K log a - log eps, evaluated in mpmath until cancellation is covered."""
    dps = 30
    while True:
        with mpmath.workdps(dps):
            big_l = two_k * mpmath.log(a) - mpmath.mpf(log_eps)
            if big_l <= 0:
                return 0.0
            terms = []
            for rate, coef in tail:
                decay = mpmath.exp(-mpmath.mpf(rate.numerator) / rate.denominator * big_l)
                for i, c in enumerate(coef):
                    terms.append(mpmath.mpf(c.numerator) / c.denominator * decay * big_l**i)
            total = mpmath.fsum(terms)
            scale = max(abs(t) for t in terms)
            if total > 0 and scale <= total * mpmath.mpf(10) ** (dps - 20):
                return float(mpmath.log(total))
            lost = 0 if total <= 0 else int(mpmath.log10(scale / total))
            dps = max(2 * dps, lost + 40)
        if dps > 5000:  # pragma: no cover - the coefficients are exact; cannot happen for sane k
            raise ArithmeticError(f"normal-crossing volume lost all precision at log_eps={log_eps!r}")


# --------------------------------------------------------------------------
# Random spectra: log-normal volume ratios (claim C4)
# --------------------------------------------------------------------------


class LogMoments(NamedTuple):
    """Mean and variance of a log: of an eigenvalue, or of a volume ratio."""

    mean: float
    variance: float

    @property
    def std(self):
        return math.sqrt(self.variance)

    def lognormal(self):
        """The implied log-normal law of exp(X), X ~ N(mean, variance) (frozen scipy).

        ``scipy.stats.lognorm(s=std, scale=exp(mean))``; for a volume ratio
        at large d, exp(mean) may overflow: work with the log instead.
        """
        return scipy.stats.lognorm(s=self.std, scale=math.exp(self.mean))


def marchenko_pastur_log_moments(ratio, variance=1.0):
    r"""E[log l] and Var[log l] for l from the Marchenko–Pastur law MP(ratio, variance).

    The mean is closed form (verified against quadrature in the tests):

    .. math:: E\log l = \log\sigma^2 - 1 + \frac{\gamma - 1}{\gamma}\log(1-\gamma)
              \quad(\gamma < 1), \qquad E\log l = \log\sigma^2 - 1 \quad(\gamma = 1).

    The variance (independent of sigma^2) is computed by adaptive quadrature
    in the angle theta of x / sigma^2 = 1 + gamma - 2 sqrt(gamma) cos(theta)
    = (1 - sqrt gamma)^2 + 4 sqrt(gamma) sin^2(theta/2), under which the MP
    density becomes the bounded weight 2 sin^2(theta) / (pi x / sigma^2) on
    [0, pi]: the inverse-square-root edge singularities of the density in x
    disappear, and for gamma < 1 the integrand is analytic (for gamma = 1 a
    logarithmic singularity at theta = 0 remains, which QUADPACK's
    extrapolation handles). Relative accuracy about 1e-10.

    Parameters
    ----------
    ratio : float
        gamma = d / n in (0, 1]. For gamma > 1 the law has an atom at 0, so
        E log l = -inf and the volume is infinite: ValueError.
    variance : float, optional
        sigma^2 > 0 (default 1).

    Returns
    -------
    LogMoments
        ``(E log l, Var log l)``.

    References
    ----------
    Marchenko & Pastur (1967); Bai & Silverstein (2010), *Spectral Analysis
    of Large Dimensional Random Matrices*, Thm. 3.6 (density); the mean
    is the per-eigenvalue limit of (1/d) log det W, Bai & Silverstein
    (2004), Ann. Probab. 32:553, eq. (1.16).

    Examples
    --------
    >>> import math
    >>> mom = marchenko_pastur_log_moments(0.5)
    >>> math.isclose(mom.mean, -1 - math.log(0.5))
    True
    """
    g = check_positive(ratio, "ratio")
    if g > 1:
        raise ValueError(
            f"ratio must be in (0, 1], got {ratio!r}: for ratio > 1 the Marchenko-Pastur law has an atom at 0, "
            "so E[log l] = -inf (zero eigenvalues, infinite volume)"
        )
    s2 = check_positive(variance, "variance")
    mean0 = -1.0 + ((g - 1.0) / g * math.log1p(-g) if g < 1 else 0.0)
    q = math.sqrt(g)

    def integrand(theta):
        s, c = math.sin(0.5 * theta), math.cos(0.5 * theta)
        x = (1.0 - q) ** 2 + 4.0 * q * s * s
        return 8.0 * s * s * c * c / (math.pi * x) * (math.log(x) - mean0) ** 2

    var = scipy.integrate.quad(integrand, 0.0, math.pi, epsabs=0.0, epsrel=1e-12, limit=400)[0]
    return LogMoments(math.log(s2) + mean0, var)


def log_volume_ratio_moments(law, d, *, law_b=None):
    r"""Mean and variance of log(V_a / V_b) for two minima with i.i.d. random eigenvalues.

    With the d Hessian eigenvalues of minimum a i.i.d. from ``law`` and those
    of minimum b i.i.d. from ``law_b`` (default: the same law), independent,
    :func:`log_volume_ratio` gives

    .. math:: \log\frac{V_a}{V_b} = \frac12\sum_{i=1}^d
              \big(\log\lambda^{(b)}_i - \log\lambda^{(a)}_i\big),

    .. math:: E = \frac d2\big(E\log\lambda^{(b)} - E\log\lambda^{(a)}\big),
              \qquad \operatorname{Var} = \frac d4\big(\operatorname{Var}
              \log\lambda^{(a)} + \operatorname{Var}\log\lambda^{(b)}\big),

    i.e. mean 0 and variance (d/2) Var(log l) for identical laws. By the
    central limit theorem log(V_a/V_b) is near normal, so V_a/V_b is near
    log-normal (:meth:`LogMoments.lognormal`) with a spread that grows as
    sqrt(d) on the log scale (claim C4). Eigenvalues of one random matrix are
    not independent (they repel), so for Wishart spectra this is the
    i.i.d. reference, not the exact finite-d law.

    Parameters
    ----------
    law, law_b
        Eigenvalue laws on (0, inf), each one of:

        * :class:`models.spectra.MarchenkoPastur` (ratio <= 1), handled by
          :func:`marchenko_pastur_log_moments`;
        * a :class:`LogMoments` or a pair (E log l, Var log l): for
          log-normal eigenvalues exp(N(mu, s^2)) that is simply (mu, s^2);
        * an object with ``expect(func)`` (a frozen ``scipy.stats``
          distribution), whose support must lie in [0, inf);
        * a callable ``law(func) -> E[func(l)]`` (an expectation operator).
    d : int
        Number of eigenvalues per minimum, >= 1.
    law_b : optional
        Law of minimum b (default ``law``).

    Returns
    -------
    LogMoments
        ``(mean, variance)`` of log(V_a / V_b).

    References
    ----------
    docs/claims.md, C3 and C4.

    Examples
    --------
    >>> log_volume_ratio_moments((0.0, 0.5), 10)          # log-normal eigenvalues, sigma^2 = 0.5
    LogMoments(mean=0.0, variance=2.5)
    """
    d = check_positive_int(d, "d")
    mom_a = _eigenvalue_log_moments(law, "law")
    mom_b = mom_a if law_b is None else _eigenvalue_log_moments(law_b, "law_b")
    return LogMoments(0.5 * d * (mom_b.mean - mom_a.mean), 0.25 * d * (mom_a.variance + mom_b.variance))


def _eigenvalue_log_moments(law, name):
    if isinstance(law, MarchenkoPastur):
        if law.ratio > 1:
            raise ValueError(
                f"{name} has an atom at 0 (Marchenko-Pastur ratio {law.ratio} > 1): E[log l] = -inf"
            )
        return marchenko_pastur_log_moments(law.ratio, law.variance)
    if isinstance(law, tuple) and len(law) == 2:
        mean, var = law
        mean = float(as_finite_array(mean, f"{name} (mean of log l)", shape=()))
        var = check_nonnegative(var, f"{name} (variance of log l)")
        return LogMoments(mean, var)
    if hasattr(law, "expect"):
        support = getattr(law, "support", None)
        if callable(support) and support()[0] < 0:
            raise ValueError(f"{name} must be a law on [0, inf) (eigenvalues of a minimum), got support {support()}")

        def expect(func):
            return law.expect(func)
    elif callable(law):
        expect = law
    else:
        raise ValueError(
            f"{name} must be a MarchenkoPastur law, a (mean, variance) pair of log l, an object with "
            f"expect(func), or a callable expectation law(func); got {law!r}"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = float(expect(np.log))
        var = float(expect(lambda x: (np.log(x) - mean) ** 2)) if math.isfinite(mean) else math.nan
    if not (math.isfinite(mean) and math.isfinite(var) and var >= 0):
        raise ValueError(f"{name} must have finite E[log l] and Var[log l], got {mean!r} and {var!r}")
    return LogMoments(mean, var)


def flattest_volume_fraction(log_volumes, k):
    r"""Fraction of the total volume held by the k largest of N volumes.

    .. math:: f_k = \frac{\sum_{i \le k} V_{(i)}}{\sum_{i \le N} V_i}
              = \exp\big(\operatorname{lse}(\log V_{(1..k)}) -
              \operatorname{lse}(\log V_{1..N})\big),

    computed with log-sum-exp so that log volumes of order -10^5 neither
    underflow nor lose the ordering (claim C4).

    Parameters
    ----------
    log_volumes : array_like, shape (N,) or (..., N)
        Log volumes, finite; the last axis holds the N minima (leading axes
        are independent sets, e.g. repetitions).
    k : int
        Number of largest volumes, 1 <= k <= N.

    Returns
    -------
    float or ndarray
        f_k in (0, 1], one per leading index.

    Examples
    --------
    >>> import math
    >>> round(flattest_volume_fraction([math.log(3.0), 0.0, 0.0], 1), 12)
    0.6
    """
    logv = as_finite_array(log_volumes, "log_volumes")
    if logv.ndim == 0 or logv.shape[-1] == 0:
        raise ValueError(f"log_volumes must have shape (N,) or (..., N) with N >= 1, got {logv.shape}")
    n = logv.shape[-1]
    k = check_positive_int(k, "k")
    if k > n:
        raise ValueError(f"k must be <= N = {n} (the number of volumes), got {k}")
    top = -np.partition(-logv, k - 1, axis=-1)[..., :k]
    frac = np.exp(np.minimum(logsumexp(top, axis=-1) - logsumexp(logv, axis=-1), 0.0))
    return float(frac) if np.ndim(frac) == 0 else frac


def predicted_flattest_fraction(k, n, *, std, mean=0.0):
    r"""Expected share of total volume held by the k largest of n i.i.d. log-normal volumes.

    For log V_i = X_i i.i.d. N(mean, std^2) the expectation E[f_k] of
    :func:`flattest_volume_fraction` is computed exactly as an integral, by
    deterministic quadrature (no Monte Carlo). With 1/S = int_0^inf e^{-tS} dt,
    t = e^u, exchangeability and, given X_1 = x, the others split into those
    above x (at most k - 1 of them) and below x:

    .. math:: E f_k = n\int_{-\infty}^{\infty}\!du\int\!dz\,\varphi(z)\,
              e^{w - e^{w}}\, M(u)^{n-1}\,
              \mathrm{Bin}\big(k-1;\, n-1,\, A(u,z)/M(u)\big),
              \qquad w = \sigma z + u,

    where A(u, z) = int_z^inf phi(z') exp(-e^{sigma z' + u}) dz',
    M(u) = int phi(z') exp(-e^{sigma z' + u}) dz' and Bin(j; n, p) is the
    binomial cdf. The mean cancels (f_k is scale invariant), so ``mean``
    does not change the result; std = 0 gives k/n and k = n gives 1 (the
    integrand is then -d(M^n)/du). Quadrature: the trapezoidal rule in u (step
    0.3; spectrally accurate for this smooth, doubly exponentially decaying
    integrand), cumulative trapezoid in z on |z| <= sqrt(2 log n + 80) with
    step min(0.02, 0.2/std), and one Richardson extrapolation in the z step;
    the absolute error is below about 1e-7 (tests compare with simulation).
    Cost grows as std^2 (about a second at std = 10).

    For minima with i.i.d. random eigenvalues from a law with Var(log l) = v
    (:func:`log_volume_ratio_moments`), a single log volume has
    std = sqrt(d v / 4).

    Parameters
    ----------
    k : int
        Number of largest volumes, 1 <= k <= n.
    n : int
        Number of minima N, >= 1.
    std : float
        Standard deviation of the log volumes, >= 0.
    mean : float, optional
        Mean of the log volumes (finite; it cancels).

    Returns
    -------
    float
        E[f_k] in [k/n, 1].

    References
    ----------
    docs/claims.md, C4. The integral representation is the standard Laplace
    trick for ratios, E[Y/S] = int_0^inf E[Y e^{-tS}] dt.

    Examples
    --------
    >>> round(predicted_flattest_fraction(2, 4, std=0.0), 12)
    0.5
    """
    n = check_positive_int(n, "n")
    k = check_positive_int(k, "k")
    if k > n:
        raise ValueError(f"k must be <= n, got k={k} with n={n}")
    sigma = check_nonnegative(std, "std")
    as_finite_array(mean, "mean", shape=())  # validated only: f_k does not depend on it
    if k == n:
        return 1.0
    if sigma == 0.0:
        return k / n
    step = min(0.02, 0.2 / sigma)
    coarse = _flattest_fraction_quadrature(k, n, sigma, step)
    fine = _flattest_fraction_quadrature(k, n, sigma, 0.5 * step)
    return float(min(max((4.0 * fine - coarse) / 3.0, k / n), 1.0))


def _flattest_fraction_quadrature(k, n, sigma, z_step, u_step=0.3):
    z_max = math.sqrt(2.0 * math.log(n) + 80.0)
    nz = int(math.ceil(2.0 * z_max / z_step)) + 1
    z = np.linspace(-z_max, z_max, nz)
    h = z[1] - z[0]
    log_phi = -0.5 * z * z - 0.5 * math.log(2.0 * math.pi)
    phi = np.exp(log_phi)
    weights = np.full(nz, h)
    weights[[0, -1]] = 0.5 * h
    u = np.arange(-sigma * z_max - 45.0, sigma * z_max + 6.0, u_step)
    total = 0.0
    for chunk in np.array_split(u, max(1, u.size // 64)):
        w = sigma * z + chunk[:, None]
        ew = np.exp(w)
        f = phi * np.exp(-ew)
        tail = np.zeros_like(f)  # A(u, z): cumulative trapezoid from the right
        tail[:, :-1] = np.cumsum((0.5 * h * (f[:, 1:] + f[:, :-1]))[:, ::-1], axis=1)[:, ::-1]
        one_minus_m = np.minimum((-np.expm1(-ew) * phi) @ weights, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_m = np.log1p(-one_minus_m)
            m = np.exp(log_m)
            p = np.clip(np.where(m[:, None] > 0, tail / m[:, None], 0.0), 0.0, 1.0)
            log_integrand = log_phi + w - ew + (n - 1) * log_m[:, None] + np.log(bdtr(k - 1, n - 1, p))
        total += float(np.sum(np.exp(log_integrand) @ weights)) * u_step
    return n * total


# --------------------------------------------------------------------------
# Fitting the volume exponent to a measured density of states (claim C8)
# --------------------------------------------------------------------------


class VolumeExponentFit(NamedTuple):
    """Result of :func:`fit_volume_exponent`.

    Attributes
    ----------
    lam : Estimate
        lambda, the exponent of eps.
    m_minus_1 : Estimate
        m - 1, the exponent of log(1/eps).
    c : Estimate
        The constant log c.
    power_law_only : Estimate
        lambda from the fit log V = lambda log eps + c without the log-log
        term, for comparison (biased low by about (m - 1)/log(1/eps)).
    n_points : int
        Number of DOS points in [eps_min, eps_max] used.
    """

    lam: Estimate
    m_minus_1: Estimate
    c: Estimate
    power_law_only: Estimate
    n_points: int


def fit_volume_exponent(dos, *, eps_min, eps_max, errors=None, n_grid=25):
    r"""Fit log V = lambda log eps + (m - 1) log log(1/eps) + c to a density of states.

    Generalised least squares on the points with eps_min <= eps <= eps_max,
    weighted by the standard errors of the log volumes:

    .. math:: \log V(\varepsilon) = \lambda\log\varepsilon
              + (m-1)\log\log\frac1\varepsilon + c ,

    the small-eps form V ~ c eps^lambda (log 1/eps)^(m-1) of claim C8 (for
    exact normal-crossing curves, :func:`log_normal_crossing_volume`, the
    neglected terms are O(1/log(1/eps)) when m > 1). eps_max < 1 is required
    so that log log(1/eps) is defined.

    A pure power law log V = lambda log eps + c fitted to the same points is
    returned as ``power_law_only``: when m > 1 its slope is the local slope
    d log V / d log eps = lambda - (m - 1)/log(1/eps), so it underestimates
    lambda by about (m - 1)/log(1/eps) (the RLCT of a singular model is
    mistaken for a smaller one).

    Standard errors: with ``errors="independent"`` the points are treated as
    independent (weighted least squares, weights 1/stderr^2). DOS curves
    from nested sampling are *not* independent: the error of log X_i is a
    random walk (a sum of the independent shrinkage errors of all earlier
    iterations), so neighbouring points are strongly correlated and the WLS
    standard errors are then too small (approximate, optimistic by a
    factor that grows with the number of points). ``errors="cumulative"``
    models exactly that: Cov(log V(eps_i), log V(eps_j)) = min(s_i, s_j)^2,
    a random walk in decreasing eps, which is whitened by fitting the
    increments between successive points (stderr must then increase strictly
    as eps decreases). It is the exact GLS for nested sampling's log X
    (Skilling 2006) and the honest choice for such curves, evaluated on a
    fixed grid of levels (``dos.log_volume(eps)`` at log-spaced eps). Do not
    pass nested sampling's raw dead points: there log V is a deterministic
    staircase and the noise sits in the levels eps_i, so regressing the
    increments on noisy log eps increments attenuates the slope (measured:
    lambda about half its true value).

    A :class:`~sandbox.nested.DensityOfStates` (what
    :func:`sandbox.density_of_states` returns) is handled that honest way by
    itself: it is read on ``n_grid`` log-spaced levels in [eps_min, eps_max]
    (``dos.log_volume(grid)``) and fitted with ``errors="cumulative"``, so
    the natural call ``fit_volume_exponent(density_of_states(...), eps_min=...,
    eps_max=...)`` cannot give the biased fit of the raw dead points.

    Parameters
    ----------
    dos : DensityOfStates, object or tuple
        A :class:`~sandbox.nested.DensityOfStates`; or an object with 1-d
        arrays ``eps``, ``log_volume`` and ``stderr`` (the standard error of
        each log volume), or a tuple ``(eps, log_volume, stderr)``; eps > 0,
        stderr > 0, all finite, equal lengths.
    eps_min, eps_max : float
        The fitting window, 0 < eps_min < eps_max < 1; at least 4 points must
        fall inside. For a DensityOfStates, eps_min must not lie below its
        deepest level ``dos.eps[0]``.
    errors : {"independent", "cumulative"}, optional
        Error model, see above. Default: "cumulative" for a DensityOfStates,
        "independent" for arrays.
    n_grid : int
        Levels read from a DensityOfStates (default 25).

    Returns
    -------
    VolumeExponentFit
        ``(lam, m_minus_1, c, power_law_only, n_points)``.

    References
    ----------
    Watanabe (2009), *Algebraic Geometry and Statistical Learning Theory*,
    Thm. 6.1 (state density); Skilling (2006), "Nested sampling for general
    Bayesian computation", Bayesian Analysis 1:833 (log X_i = -i/n_live
    +- sqrt(i)/n_live). docs/claims.md, C8.

    Examples
    --------
    >>> eps = np.logspace(-200, -20, 50)
    >>> fit = fit_volume_exponent((eps, log_normal_crossing_volume(eps, [1, 2]), np.full(50, 0.01)),
    ...                           eps_min=1e-200, eps_max=1e-20)
    >>> round(float(fit.lam.value), 4), round(float(fit.m_minus_1.value), 4)
    (0.25, 0.0)
    """
    eps_min = check_positive(eps_min, "eps_min")
    eps_max = check_positive(eps_max, "eps_max")
    if not eps_max < 1:
        raise ValueError(f"eps_max must be < 1 so that log log(1/eps) is defined, got {eps_max!r}")
    if not eps_min < eps_max:
        raise ValueError(f"eps_min must be < eps_max, got eps_min={eps_min!r} and eps_max={eps_max!r}")
    sampled = callable(getattr(dos, "log_volume", None)) and hasattr(dos, "log_volumes")
    if errors is None:
        errors = "cumulative" if sampled else "independent"
    errors = check_choice(errors, "errors", ("independent", "cumulative"))
    if sampled:
        if eps_min < dos.eps[0]:
            raise ValueError(f"eps_min={eps_min!r} lies below the deepest level {float(dos.eps[0])!r} of the density "
                             "of states; run density_of_states with a lower eps_min")
        grid = np.geomspace(eps_max, eps_min, check_positive_int(n_grid, "n_grid", minimum=4))
        at_grid = dos.log_volume(grid)
        dos = (grid, at_grid.value, at_grid.stderr)
    eps, logv, se = _dos_arrays(dos)
    keep = (eps >= eps_min) & (eps <= eps_max)
    n_points = int(keep.sum())
    if n_points < 4:
        raise ValueError(
            f"eps_min and eps_max must enclose at least 4 DOS points, got {n_points} in [{eps_min!r}, {eps_max!r}]"
        )
    order = np.argsort(-eps[keep], kind="stable")  # decreasing eps: the order errors accumulate in
    eps, logv, se = eps[keep][order], logv[keep][order], se[keep][order]
    log_eps = np.log(eps)
    design = np.column_stack([log_eps, np.log(-log_eps), np.ones(n_points)])
    if errors == "independent":
        whiten = _whiten_independent(se)
    else:
        whiten = _whiten_cumulative(eps, se)
    full, full_se = _gls(design, logv, whiten)
    power, power_se = _gls(design[:, [0, 2]], logv, whiten)
    return VolumeExponentFit(
        lam=Estimate(full[0], full_se[0]),
        m_minus_1=Estimate(full[1], full_se[1]),
        c=Estimate(full[2], full_se[2]),
        power_law_only=Estimate(power[0], power_se[0]),
        n_points=n_points,
    )


def _dos_arrays(dos):
    if all(hasattr(dos, attr) for attr in ("eps", "log_volume", "stderr")):
        parts = (dos.eps, dos.log_volume, dos.stderr)
    elif isinstance(dos, (tuple, list)) and len(dos) == 3:
        parts = tuple(dos)
    else:
        raise ValueError(
            f"dos must have attributes eps, log_volume and stderr, or be a tuple (eps, log_volume, stderr); got {dos!r}"
        )
    eps = as_finite_array(parts[0], "dos.eps", ndim=1)
    logv = as_finite_array(parts[1], "dos.log_volume", shape=eps.shape)
    se = as_finite_array(parts[2], "dos.stderr", shape=eps.shape)
    if eps.size and eps.min() <= 0:
        raise ValueError(f"dos.eps must be > 0, got minimum {eps.min()!r}")
    if se.size and se.min() <= 0:
        raise ValueError(f"dos.stderr must be > 0 (it weights the fit), got minimum {se.min()!r}")
    return eps, logv, se


def _whiten_independent(se):
    return lambda v: v / se.reshape((-1,) + (1,) * (v.ndim - 1))


def _whiten_cumulative(eps, se):
    """Whitening of a random walk: first point / s_0, increments / sqrt(s_i^2 - s_{i-1}^2)."""
    if np.any(np.diff(eps) == 0):
        raise ValueError("dos.eps must hold distinct values for errors='cumulative'")
    step_var = np.diff(se**2)
    if np.any(step_var <= 0):
        raise ValueError(
            "dos.stderr must increase strictly as eps decreases for errors='cumulative' "
            "(a random-walk error, as in nested sampling)"
        )
    scale = np.concatenate([[se[0]], np.sqrt(step_var)])

    def whiten(v):
        inc = np.concatenate([v[:1], np.diff(v, axis=0)], axis=0)
        return inc / scale.reshape((-1,) + (1,) * (v.ndim - 1))

    return whiten


def _gls(design, y, whiten):
    """Coefficients and standard errors of the whitened least-squares fit (known error scale)."""
    xw, yw = whiten(design), whiten(y)
    q, r = np.linalg.qr(xw)
    beta = scipy.linalg.solve_triangular(r, q.T @ yw)
    r_inv = scipy.linalg.solve_triangular(r, np.eye(r.shape[0]))
    return beta, np.sqrt(np.sum(r_inv**2, axis=1))
