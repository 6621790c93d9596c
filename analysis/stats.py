"""Standard errors, effective sample sizes, intervals and z-scores.

Every simulated number the sandbox reports carries its uncertainty
(docs/conventions.md, "Results and their uncertainty"): independent samples get the
usual standard errors, correlated MCMC chains get their integrated
autocorrelation time, proportions get Wilson intervals. Estimates are returned
as :class:`Estimate` (value, stderr), defined in :mod:`models.estimate` (a base module
that imports neither numba nor the simulators) and re-exported here.
"""
import math

import numpy as np

from models.estimate import Estimate
from models.proportions import check_binomial, wilson_interval
from models.validation import as_finite_array, check_positive

__all__ = [
    "Estimate",
    "mean_estimate",
    "variance_estimate",
    "integrated_autocorr_time",
    "effective_sample_size",
    "mcmc_mean_estimate",
    "wilson_interval",
    "proportion_estimate",
    "log_proportion_estimate",
    "z_score",
]


def mean_estimate(samples, axis=0):
    r"""Sample mean of independent samples with its standard error.

    .. math:: \bar x = \frac1n\sum_k x_k, \qquad \mathrm{SE} = s / \sqrt{n},
              \quad s^2 = \frac{1}{n-1}\sum_k (x_k - \bar x)^2

    For correlated MCMC output use :func:`mcmc_mean_estimate`.

    Parameters
    ----------
    samples : array_like
        Independent samples along ``axis`` (at least 2), finite.
    axis : int, optional
        Axis holding the samples (default 0); the others are kept.

    Returns
    -------
    Estimate
        ``(mean, s / sqrt(n))``, floats or arrays of the remaining shape.

    Examples
    --------
    >>> mean_estimate([1.0, 2.0, 3.0, 4.0])
    Estimate(2.5 +- 0.65)
    """
    x = as_finite_array(samples, "samples")
    n = _count(x, axis, minimum=2)
    return Estimate(_scalar(x.mean(axis=axis)), _scalar(x.std(axis=axis, ddof=1) / math.sqrt(n)))


def variance_estimate(samples, axis=0):
    r"""Unbiased sample variance of independent samples with its standard error.

    .. math:: \mathrm{SE}^2 = \frac1n\left(m_4 - \frac{n-3}{n-1}\, s^4\right),
              \qquad m_4 = \frac1n\sum_k (x_k - \bar x)^4

    the plug-in form of Var(s^2) = (mu_4 - (n-3)/(n-1) sigma^4) / n, which is
    2 sigma^4 / (n - 1) for normal samples. It is never negative.

    Parameters
    ----------
    samples : array_like
        Independent samples along ``axis`` (at least 2), finite.
    axis : int, optional
        Axis holding the samples (default 0).

    Returns
    -------
    Estimate
        ``(s^2, SE)``.

    References
    ----------
    Cramér (1946), Mathematical Methods of Statistics, Princeton, chapter 27
    (moments of sample moments).

    Examples
    --------
    >>> variance_estimate([1.0, 2.0, 3.0, 4.0]).value
    1.6666666666666667
    """
    x = as_finite_array(samples, "samples")
    n = _count(x, axis, minimum=2)
    s2 = x.var(axis=axis, ddof=1)
    m4 = ((x - x.mean(axis=axis, keepdims=True)) ** 4).mean(axis=axis)
    se2 = (m4 - (n - 3) / (n - 1) * s2**2) / n
    return Estimate(_scalar(s2), _scalar(np.sqrt(np.maximum(se2, 0.0))))


def integrated_autocorr_time(x, *, c=5.0):
    r"""Integrated autocorrelation time of one chain or of several, with Sokal's window.

    .. math:: \tau = 1 + 2\sum_{t=1}^{\infty} \rho(t)
              \approx \hat\tau(M) = 1 + 2\sum_{t=1}^{M} \hat\rho(t)

    Method: each chain's autocovariance is computed by FFT (zero-padded to a
    power of two >= 2 n, so it is not circular), normalised by its lag-0 value
    and the normalised functions are averaged over chains. The window M is the
    smallest lag with M >= c * tau_hat(M) (Sokal's automatic windowing); if no
    lag qualifies the chain is too short and the longest window is used. The
    estimate is reliable when n_steps is at least about 50 tau. This follows the
    method of emcee's ``autocorr.py`` (Foreman-Mackey et al.), reimplemented.

    Parameters
    ----------
    x : array_like, shape (n_steps,) or (n_steps, n_chains)
        The chain(s), finite, each non-constant, n_steps >= 2.
    c : float, optional
        Window constant (default 5; Sokal suggests 4 to 10).

    Returns
    -------
    float
        tau (1 for independent samples).

    References
    ----------
    Sokal (1997), "Monte Carlo methods in statistical mechanics: foundations and
    new algorithms", in Functional Integration, Plenum, section 3; Goodman & Weare
    (2010), CAMCoS 5(1):65-80.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> 0.8 < integrated_autocorr_time(rng.standard_normal(10_000)) < 1.2
    True
    """
    chains = _chains(x)
    c = check_positive(c, "c")
    n = chains.shape[0]
    centred = chains - chains.mean(axis=0)
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(centred, n=size, axis=0)
    acov = np.fft.irfft(spectrum * spectrum.conj(), n=size, axis=0)[:n]
    if np.any(acov[0] <= 0):
        raise ValueError("x must not contain a constant chain: its autocorrelation time is undefined")
    rho = (acov / acov[0]).mean(axis=1)
    taus = 2.0 * np.cumsum(rho) - 1.0
    window = np.flatnonzero(np.arange(n) >= c * taus)
    return float(taus[window[0]] if window.size else taus[-1])


def effective_sample_size(x):
    r"""Effective number of independent samples in one chain or several.

    .. math:: n_\mathrm{eff} = \frac{n_\mathrm{steps}\, n_\mathrm{chains}}{\tau}

    Parameters
    ----------
    x : array_like, shape (n_steps,) or (n_steps, n_chains)
        The chain(s), as for :func:`integrated_autocorr_time`.

    Returns
    -------
    float
        The effective sample size.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> 8_000 < effective_sample_size(rng.standard_normal((5_000, 2))) < 12_000
    True
    """
    chains = _chains(x)
    return chains.size / integrated_autocorr_time(chains)


def mcmc_mean_estimate(x):
    r"""Mean of correlated chain(s) with a standard error that accounts for autocorrelation.

    .. math:: \mathrm{SE} = \sqrt{\frac{s^2\,\tau}{n_\mathrm{total}}}

    with s^2 the sample variance of all n_total = n_steps * n_chains values and
    tau from :func:`integrated_autocorr_time`.

    Parameters
    ----------
    x : array_like, shape (n_steps,) or (n_steps, n_chains)
        The chain(s), as for :func:`integrated_autocorr_time`.

    Returns
    -------
    Estimate
        ``(mean, SE)``.

    References
    ----------
    Sokal (1997), section 3 (see :func:`integrated_autocorr_time`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> bool(abs(mcmc_mean_estimate(rng.standard_normal(10_000)).z(0.0)) < 4)
    True
    """
    chains = _chains(x)
    tau = integrated_autocorr_time(chains)
    n_total = chains.size
    return Estimate(float(chains.mean()), math.sqrt(chains.var(ddof=1) * tau / n_total))


def proportion_estimate(successes, n):
    r"""Binomial proportion with its standard error, p_hat = k / n, SE = sqrt(p_hat (1 - p_hat) / n).

    The SE is 0 at k = 0 or k = n; report :func:`wilson_interval` there.

    Parameters
    ----------
    successes : int
        Number of successes k, 0 <= k <= n.
    n : int
        Number of trials, >= 1.

    Returns
    -------
    Estimate
        ``(p_hat, SE)``.

    Examples
    --------
    >>> proportion_estimate(25, 100)
    Estimate(0.25 +- 0.043)
    """
    k, n = check_binomial(successes, n)
    p = k / n
    return Estimate(p, math.sqrt(p * (1 - p) / n))


def log_proportion_estimate(successes, n):
    r"""Log of a binomial proportion with its delta-method standard error.

    .. math:: \log\hat p = \log(k/n), \qquad
              \mathrm{SE} = \frac{\mathrm{SE}(\hat p)}{\hat p} = \sqrt{\frac{1 - \hat p}{k}}

    For rare events (log probabilities far below 0) the relative error
    1/sqrt(k) is what matters. With k = 0 the proportion is 0 and its log is
    -inf with no meaningful error: a ValueError is raised; report an upper
    bound from :func:`wilson_interval` instead.

    Parameters
    ----------
    successes : int
        Number of successes k, 1 <= k <= n.
    n : int
        Number of trials, >= 1.

    Returns
    -------
    Estimate
        ``(log p_hat, SE)``.

    References
    ----------
    Casella & Berger (2002), Statistical Inference, section 5.5.4 (delta method).

    Examples
    --------
    >>> e = log_proportion_estimate(4, 1000)
    >>> round(e.stderr, 4)   # sqrt((1 - 0.004) / 4)
    0.499
    """
    k, n = check_binomial(successes, n)
    if k == 0:
        raise ValueError(
            f"successes is 0 out of n={n}: the proportion is 0 and a log estimate needs at least one "
            "success (use wilson_interval for an upper bound)"
        )
    p = k / n
    return Estimate(math.log(p), math.sqrt((1 - p) / k))


def z_score(estimate, predicted):
    r"""z-score of an estimate against a prediction, (value - predicted) / stderr.

    A zero standard error gives z = 0 when value equals the prediction and
    +-inf otherwise.

    Parameters
    ----------
    estimate : Estimate or tuple (value, stderr)
        The measurement.
    predicted : float or array_like
        The theoretical value.

    Returns
    -------
    float or ndarray
        The z-score(s).

    Examples
    --------
    >>> round(z_score(Estimate(1.02, 0.01), 1.0), 6)
    2.0
    """
    value, stderr = (np.asarray(v, dtype=float) for v in estimate)
    diff = value - np.asarray(predicted, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(diff == 0, 0.0, diff / stderr)
    return _scalar(z)


def _count(x, axis, *, minimum):
    if x.ndim == 0:
        raise ValueError("samples must be an array of samples, got a scalar")
    n = x.shape[axis]
    if n < minimum:
        raise ValueError(f"samples must hold at least {minimum} samples along axis {axis}, got {n}")
    return n


def _chains(x):
    """Validate one chain (n_steps,) or several (n_steps, n_chains); return 2-d."""
    chains = as_finite_array(x, "x", ndim=(1, 2))
    if chains.shape[0] < 2 or chains.size == 0:
        raise ValueError(f"x must hold at least 2 steps per chain, got shape {chains.shape}")
    return chains.reshape(chains.shape[0], -1)


def _scalar(value):
    return float(value) if np.ndim(value) == 0 else value
