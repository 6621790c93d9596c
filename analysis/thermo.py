"""Stationary laws of GD, SGD and Langevin dynamics on a quadratic, in closed form.

On L(x) = 1/2 x^T H x every algorithm in ``sandbox`` is a linear recursion
driven by Gaussian noise, so its stationary law is Gaussian with a covariance
given by a (discrete) Lyapunov equation. These are the predictions that claims
C6, C9 and C10 in docs/claims.md compare simulations with. Conventions (docs/conventions.md):
ULA step h is x <- x - h grad L + sqrt(2 h T) xi; SGD step eta is
x <- x - eta (grad L + xi) with xi ~ N(0, C).
"""
import numpy as np

from models.validation import as_finite_array, check_nonnegative, check_positive

__all__ = [
    "ula_stationary_variance",
    "sgd_stationary_covariance",
    "gibbs_covariance",
    "gd_critical_step",
]


def ula_stationary_variance(lam, step_size, temperature):
    r"""Stationary variance of the unadjusted Langevin algorithm on L = lam x^2 / 2.

    The recursion x <- (1 - h lam) x + sqrt(2 h T) xi has stationary variance
    v = (1 - h lam)^2 v + 2 h T, that is

    .. math:: v = \frac{2hT}{1 - (1 - h\lambda)^2}
              = \frac{T}{\lambda\,(1 - h\lambda/2)},

    which exceeds the Gibbs value T / lam by the step-size bias (claim C10).
    A stationary law exists only for 0 < h lam < 2.

    Parameters
    ----------
    lam : float or array_like
        Curvature(s) lambda > 0.
    step_size : float
        ULA step h > 0, with h * lam < 2 for every lam.
    temperature : float
        Temperature T >= 0.

    Returns
    -------
    float or ndarray
        The stationary variance, shaped like ``lam``.

    References
    ----------
    Derived above. The ULA and its bias: Roberts & Tweedie (1996), "Exponential
    convergence of Langevin distributions and their discrete approximations",
    Bernoulli 2(4):341-363; docs/claims.md, C10.

    Examples
    --------
    >>> ula_stationary_variance(1.0, 0.1, 0.5)   # T / lam = 0.5 without the bias
    0.5263157894736842
    """
    lam_arr = as_finite_array(lam, "lam")
    if lam_arr.size == 0 or lam_arr.min() <= 0:
        raise ValueError(f"lam must be > 0, got {lam!r}")
    h = check_positive(step_size, "step_size")
    temperature = check_nonnegative(temperature, "temperature")
    if h * lam_arr.max() >= 2:
        raise ValueError(
            f"step_size * lam must be < 2 for ULA to have a stationary law, got step_size={step_size!r} "
            f"with largest lam={lam_arr.max()!r} (step_size must be < {2 / lam_arr.max()!r})"
        )
    value = temperature / (lam_arr * (1.0 - 0.5 * h * lam_arr))
    return float(value) if value.ndim == 0 else value


def sgd_stationary_covariance(hessian, step_size, noise_cov):
    r"""Exact stationary covariance of SGD on a quadratic with Gaussian gradient noise.

    The recursion x <- x - eta (H x + xi), xi ~ N(0, C), has the stationary
    covariance Sigma solving the discrete Lyapunov equation

    .. math:: \Sigma = (I - \eta H)\,\Sigma\,(I - \eta H)^T + \eta^2 C.

    In the eigenbasis H = Q diag(l) Q^T, with C' = Q^T C Q and x_i = eta l_i,

    .. math:: \Sigma'_{ij} = \frac{\eta^2 C'_{ij}}{1 - (1 - x_i)(1 - x_j)}
              = \frac{\eta^2 C'_{ij}}{x_i + x_j - x_i x_j},

    (the right-hand form avoids cancellation at small eta) and Sigma = Q Sigma' Q^T.
    For small eta, Sigma solves H Sigma + Sigma H = eta C: C = sigma^2 I gives
    the Gibbs covariance T H^{-1} with T = eta sigma^2 / 2, while C = c H
    gives (eta c / 2) I (claim C9).

    Parameters
    ----------
    hessian : array_like, shape (d, d) or (d,)
        Symmetric Hessian H, or its eigenvalues (meaning H = diag(eigenvalues)).
    step_size : float
        Learning rate eta > 0; the spectral radius of I - eta H must be < 1,
        i.e. 0 < eta l_i < 2 for every eigenvalue.
    noise_cov : float or array_like, shape (d, d)
        Gradient-noise covariance C: a scalar sigma^2 >= 0 (meaning sigma^2 I)
        or a symmetric positive semi-definite matrix.

    Returns
    -------
    ndarray, shape (d, d)
        The stationary covariance Sigma (symmetric).

    References
    ----------
    The discrete Lyapunov equation of a linear Gaussian recursion: Kailath (1980),
    Linear Systems, Prentice-Hall. Its small-eta (continuous Lyapunov) limit for
    SGD: Mandt, Hoffman & Blei (2017), "Stochastic gradient descent as
    approximate Bayesian inference", JMLR 18. docs/claims.md, C9.

    Examples
    --------
    >>> sgd_stationary_covariance([1.0], 0.1, 1.0)   # eta sigma^2 / (l (2 - eta l))
    array([[0.05263158]])
    """
    lam, q = _eigh(hessian)
    d = lam.size
    eta = check_positive(step_size, "step_size")
    if np.ndim(noise_cov) == 0:
        c = check_nonnegative(noise_cov, "noise_cov") * np.eye(d)
    else:
        c = as_finite_array(noise_cov, "noise_cov", shape=(d, d))
        _check_symmetric(c, "noise_cov")
        if np.linalg.eigvalsh(c).min() < -1e-12 * max(np.abs(c).max(), np.finfo(float).tiny):
            raise ValueError("noise_cov must be positive semi-definite, got a negative eigenvalue")
    x = eta * lam
    radius = np.abs(1.0 - x).max()
    if radius >= 1:
        raise ValueError(
            f"step_size={step_size!r} gives spectral radius |1 - step_size * lambda| = {radius!r} >= 1, "
            f"so SGD has no stationary law; need 0 < step_size * lambda < 2 for every Hessian eigenvalue "
            f"(eigenvalues range {lam.min()!r} .. {lam.max()!r})"
        )
    c_rot = q.T @ c @ q
    sigma_rot = eta**2 * c_rot / (x[:, None] + x[None, :] - np.outer(x, x))
    sigma = q @ sigma_rot @ q.T
    return 0.5 * (sigma + sigma.T)


def gibbs_covariance(hessian, temperature):
    r"""Covariance T H^{-1} of the Gibbs law exp(-L/T)/Z for L = 1/2 x^T H x.

    This is the stationary covariance of overdamped Langevin dynamics
    dX = -H X dt + sqrt(2T) dW (claim C6).

    Parameters
    ----------
    hessian : array_like, shape (d, d) or (d,)
        Symmetric positive definite Hessian H, or its eigenvalues (meaning
        H = diag(eigenvalues)).
    temperature : float
        Temperature T >= 0.

    Returns
    -------
    ndarray, shape (d, d)
        ``T H^{-1}``, computed through the eigendecomposition (exactly symmetric).

    References
    ----------
    The stationary law of the Ornstein-Uhlenbeck process: Pavliotis (2014),
    Stochastic Processes and Applications, Springer; docs/claims.md, C6.

    Examples
    --------
    >>> gibbs_covariance([2.0, 4.0], 1.0)
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    lam, q = _eigh(hessian)
    temperature = check_nonnegative(temperature, "temperature")
    if lam.min() <= 0:
        raise ValueError(
            f"hessian must be symmetric positive definite (SPD) for a Gibbs law, got smallest eigenvalue {lam.min()!r}"
        )
    return (q * (temperature / lam)) @ q.T


def gd_critical_step(eigenvalues):
    r"""Largest stable gradient-descent step on a quadratic, 2 / lambda_max.

    GD x <- (I - eta H) x converges iff |1 - eta lambda_i| < 1 for all i, i.e.
    eta < 2 / lambda_max, and diverges for eta > 2 / lambda_max (claim C10).

    Parameters
    ----------
    eigenvalues : array_like, shape (d,)
        Hessian eigenvalues; the largest must be > 0.

    Returns
    -------
    float
        ``2 / max(eigenvalues)``.

    References
    ----------
    Nesterov (2018), Lectures on Convex Optimization, Springer, chapter 1;
    Cohen et al. (2021), "Gradient descent on neural networks typically occurs
    at the edge of stability", ICLR, section 2.

    Examples
    --------
    >>> gd_critical_step([0.5, 4.0])
    0.5
    """
    lam = as_finite_array(eigenvalues, "eigenvalues", ndim=1)
    if lam.size == 0 or lam.max() <= 0:
        raise ValueError(f"eigenvalues must be non-empty with largest eigenvalue > 0, got {eigenvalues!r}")
    return 2.0 / float(lam.max())


def _eigh(hessian):
    """Eigenvalues and eigenvectors of a symmetric Hessian, or of diag(eigenvalues)."""
    h = as_finite_array(hessian, "hessian", ndim=(1, 2))
    if h.size == 0:
        raise ValueError("hessian must be non-empty, got an empty array")
    if h.ndim == 1:
        return h, np.eye(h.size)
    if h.shape[0] != h.shape[1]:
        raise ValueError(f"hessian must be square, got shape {h.shape}")
    _check_symmetric(h, "hessian")
    return np.linalg.eigh(0.5 * (h + h.T))


def _check_symmetric(matrix, name):
    scale = max(np.abs(matrix).max(), np.finfo(float).tiny)
    asymmetry = np.abs(matrix - matrix.T).max()
    if asymmetry > 1e-10 * scale:
        raise ValueError(f"{name} must be symmetric, got max |{name} - {name}.T| = {asymmetry!r}")
