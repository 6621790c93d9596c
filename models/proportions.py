"""Binomial proportions: validated counts and the Wilson score interval.

A base module (like :mod:`models.estimate`): it imports only
:mod:`models.validation` and scipy, so that :mod:`sandbox` (which reports
landing frequencies) and :mod:`analysis` (which re-exports
:func:`wilson_interval` from :mod:`analysis.stats`) share one implementation.
"""
import math

from scipy.special import ndtri

from models.validation import check_positive, check_positive_int

__all__ = ["wilson_interval", "check_binomial"]


def check_binomial(successes, n):
    """Return ``(k, n)`` as ints if 0 <= k <= n and n >= 1; ValueError naming the bad one otherwise."""
    n = check_positive_int(n, "n")
    k = check_positive_int(successes, "successes", minimum=0)
    if k > n:
        raise ValueError(f"successes must be <= n, got successes={k} with n={n}")
    return k, n


def wilson_interval(successes, n, *, level=0.95):
    r"""Wilson score interval for a binomial proportion.

    The set of p with |p_hat - p| <= z sqrt(p (1 - p) / n), z the (1+level)/2
    normal quantile:

    .. math:: \frac{\hat p + z^2/(2n) \mp z\sqrt{\hat p(1-\hat p)/n + z^2/(4n^2)}}{1 + z^2/n}

    Unlike the normal interval it stays inside [0, 1] and is informative at
    0 or n successes (then [0, z^2/(n+z^2)] or [n/(n+z^2), 1]).

    Parameters
    ----------
    successes : int
        Number of successes k, 0 <= k <= n.
    n : int
        Number of trials, >= 1.
    level : float, optional
        Confidence level in (0, 1), default 0.95.

    Returns
    -------
    tuple of float
        ``(lo, hi)``.

    References
    ----------
    Wilson (1927), JASA 22(158):209-212; Brown, Cai & DasGupta (2001),
    Statistical Science 16(2):101-133.

    Examples
    --------
    >>> lo, hi = wilson_interval(0, 10)
    >>> lo, round(hi, 4)
    (0.0, 0.2775)
    """
    k, n = check_binomial(successes, n)
    level = check_positive(level, "level")
    if level >= 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    z = float(ndtri(0.5 + 0.5 * level))
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half) if k > 0 else 0.0, min(1.0, centre + half) if k < n else 1.0)
