"""Closed-form volumes of balls and of quadratic sublevel sets, in log space.

Near a minimum the loss is L(x) = 1/2 x^T H x, and its sublevel set
S(eps) = {L <= eps} is an ellipsoid whose volume is the unit-ball volume times
the product of its semi-axes sqrt(2 eps / lambda_i) (claims C3 and C11 in
CLAIMS.md). Everything is returned as a natural log so that nothing overflows
or underflows at d = 10^5.
"""
import math

import numpy as np
from scipy.special import gammaln

from models.validation import as_finite_array, check_positive, check_positive_int

__all__ = [
    "log_unit_ball_volume",
    "log_sublevel_volume",
    "log_volume_ratio",
    "log_ball_fraction_of_cube",
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
    CLAIMS.md, C3; the unit-ball volume is NIST DLMF eq. 5.19.4.

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
    CLAIMS.md, C3.

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
    CLAIMS.md, C11; NIST DLMF eq. 5.19.4.

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
