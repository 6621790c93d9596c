r"""Exit times from the unstable direction of a strict saddle, in closed form.

Near a strict saddle with negative curvature -mu the unstable coordinate of
overdamped Langevin dynamics is the linear diffusion
dX = mu X dt + sqrt(2T) dW (docs/conventions.md conventions). This module gives the
exact mean and variance of its exit time from (-r, r), and the small-T
asymptote (1 / (2 mu)) [log(mu r^2 / T) + gamma_E + log 2] -- the form
(1/mu) log(r / noise scale) of claim C2 in docs/claims.md, with its constant.

Derivation (used by every function below)
-----------------------------------------
Write ``k^2 = mu / (2T)``, ``a = k r`` and ``b = k |x0|``. The mean exit time
u(x) solves the backward equation ``T u'' + mu x u' = -1`` with u(+-r) = 0.
Multiplying by the integrating factor ``exp(k^2 x^2) / T`` gives
``(exp(k^2 x^2) u')' = -exp(k^2 x^2) / T``; u is even, so u'(0) = 0 and

.. math:: u'(x) = -\frac{1}{T k}\,F(kx), \qquad
          u(x_0) = \frac{2}{\mu}\int_b^a F(s)\,ds,

with Dawson's function ``F(z) = exp(-z^2) int_0^z exp(t^2) dt``
(``scipy.special.dawsn``). Substituting ``t = s v`` in the inner integral
turns the double integral into one over a finite interval with a smooth,
positive integrand:

.. math:: \tau(x_0) = \frac{1}{\mu}\int_0^1
          \frac{e^{-b^2 (1 - v^2)} - e^{-a^2 (1 - v^2)}}{1 - v^2}\,dv .

For ``x0 = 0`` this is ``(2/mu) G(a)`` with
``G(z) = int_0^z F = (z^2/2) 2F2(1, 1; 3/2, 2; -z^2)``, and
``G(z) = (1/2) log z + gamma_E / 4 + (log 2) / 2 - 1/(8 z^2) + O(z^-4)``
as z -> infinity, which gives the small-T asymptote.
"""
import math

import numpy as np
from scipy.integrate import quad
from scipy.special import dawsn, erfcx

from models.validation import check_nonnegative, check_positive

__all__ = [
    "saddle_mean_exit_time",
    "saddle_exit_time_small_t",
    "saddle_exit_time_variance",
]

_QUAD_EPSREL = 1e-12
_TAIL = 40.0  # the integrand beyond y_max is below exp(-_TAIL) of the integral


def saddle_mean_exit_time(mu, radius, temperature, *, x0=0.0):
    r"""Exact mean exit time of the unstable direction of a saddle from (-r, r).

    The process is dX = mu X dt + sqrt(2T) dW, X_0 = x0 (the linearised
    unstable coordinate at a saddle of curvature -mu). Its mean exit time
    tau(x0) from (-r, r) solves the backward boundary value problem
    ``T u'' + mu x u' = -1``, ``u(-r) = u(r) = 0``, whose solution is

    .. math:: \tau(x_0) = \frac{2}{\mu}\int_{b}^{a} F(s)\,ds
              = \frac{1}{\mu}\int_0^1
              \frac{e^{-b^2 (1 - v^2)} - e^{-a^2 (1 - v^2)}}{1 - v^2}\,dv,
              \qquad a = r\sqrt{\frac{\mu}{2T}},\; b = |x_0|\sqrt{\frac{\mu}{2T}},

    F being Dawson's function (derivation in the module docstring). At the
    saddle, ``x0 = 0``, it is ``(a^2 / mu) 2F2(1, 1; 3/2, 2; -a^2)``. It depends
    on the parameters only through ``tau = (1/mu) f(mu r^2 / T, x0 / r)``.
    Limits: mu -> 0 gives pure diffusion, ``(r^2 - x0^2) / (2T)``; T -> 0 gives
    :func:`saddle_exit_time_small_t`.

    The second integral is evaluated with ``scipy.integrate.quad`` after the
    change of variables ``1 - v = exp(-y)``, which makes the integrand smooth on
    a logarithmic scale for every (a, b) and free of cancellation (relative
    accuracy about 1e-12, also for T -> 0, mu -> 0 and x0 -> +-r).

    Parameters
    ----------
    mu : float
        Magnitude of the negative curvature, mu > 0.
    radius : float
        Half-width r > 0 of the neighbourhood (-r, r).
    temperature : float
        Temperature T >= 0.
    x0 : float, optional
        Starting point, |x0| < r (default 0, the saddle).

    Returns
    -------
    float
        The mean exit time. At T = 0 the motion is deterministic: from
        x0 = 0 (the stable manifold) it never leaves, and ``inf`` is returned;
        from x0 != 0 it leaves at ``(1/mu) log(r / |x0|)``.

    Raises
    ------
    ValueError
        If mu <= 0, radius <= 0, temperature < 0, |x0| >= radius, or any of
        them is not finite; the message names the parameter.

    See Also
    --------
    saddle_exit_time_small_t : the T -> 0 asymptote.
    saddle_exit_time_variance : the variance of the exit time.

    References
    ----------
    Derived above. Backward equation and the one-dimensional exit-time
    formula: C. W. Gardiner, Handbook of Stochastic Methods (3rd ed., 2004),
    section 5.2.7; S. Karlin & H. M. Taylor, A Second Course in Stochastic
    Processes (1981), section 15.3. Dawson's function: DLMF 7.2.5. Claim C2
    in docs/claims.md.

    Examples
    --------
    >>> import math
    >>> math.isclose(saddle_mean_exit_time(1e-9, 1.0, 0.5), 1.0, rel_tol=1e-8)   # ~ r^2 / (2T)
    True
    >>> math.isclose(saddle_mean_exit_time(2.0, 1.0, 0.0, x0=0.5), math.log(2.0) / 2.0)
    True
    """
    mu, radius, temperature, x0 = _check(mu, radius, temperature, x0)
    ax = abs(x0)
    if temperature == 0.0:
        return math.inf if ax == 0.0 else math.log1p((radius - ax) / ax) / mu
    log_c, log_b2 = _log_c_b2(mu, radius, temperature, ax)
    return _exit_integral(log_c, log_b2) / mu


def saddle_exit_time_small_t(mu, radius, temperature, *, x0=0.0):
    r"""Small-temperature asymptote of the mean exit time from a saddle.

    From the saddle (x0 = 0),

    .. math:: \tau \simeq \frac{1}{2\mu}\left[\log\frac{\mu r^2}{T}
              + \gamma_E + \log 2\right]
              = \frac{1}{\mu}\left[\log\frac{r}{\sqrt{T/\mu}}
              + \frac{\gamma_E + \log 2}{2}\right],

    the form (1/mu) log(r / noise scale) of claim C2, with noise scale
    sqrt(T / mu) and constant (gamma_E + log 2) / 2 = 0.6352... It follows from
    the exact ``tau = (2/mu) G(a)``, ``G(z) = int_0^z F(s) ds``, and
    ``G(z) = (1/2) log z + gamma_E/4 + (log 2)/2 + O(z^-2)``, obtained from
    ``F(s) = (1/2) int_0^inf exp(-t^2/4) sin(s t) dt``: then
    ``G(z) = (1/2) int_0^inf exp(-t^2/4) (1 - cos z t) / t dt`` and
    ``int_0^inf (1 - cos z t) g(t) / t dt = log z + gamma_E
    + int_0^1 (g - 1)/t dt + int_1^inf g/t dt + o(1)`` for g(0) = 1.
    The same constant follows heuristically from X_t ~ exp(mu t) Z,
    Z ~ N(0, T/mu): tau ~ (1/mu) E log(r/|Z|) and
    E log|N(0,1)| = -(gamma_E + log 2)/2.

    For x0 != 0 the asymptote, uniform in x0 / sqrt(T/mu), is

    .. math:: \tau \simeq \frac{1}{2\mu}\left[\log\frac{2\mu r^2}{T}
              + \gamma_E\right] - \frac{2}{\mu}\,G(b),
              \qquad b = |x0|\sqrt{\mu / (2T)},

    which tends to the deterministic ``(1/mu) log(r / |x0|)`` as T -> 0.
    In every case the exact value is below the asymptote by
    ``T / (2 mu^2 r^2) + 3 T^2 / (4 mu^3 r^4) + O(T^3)`` (from
    ``F(s) ~ 1/(2s) + 1/(4s^3) + 3/(8s^5)``), independently of x0.

    Parameters
    ----------
    mu : float
        Magnitude of the negative curvature, mu > 0.
    radius : float
        Half-width r > 0 of the neighbourhood.
    temperature : float
        Temperature T >= 0.
    x0 : float, optional
        Starting point, |x0| < r (default 0).

    Returns
    -------
    float
        The asymptote; at T = 0, ``inf`` from x0 = 0 and
        ``(1/mu) log(r/|x0|)`` otherwise, as for the exact time.

    Raises
    ------
    ValueError
        As :func:`saddle_mean_exit_time`.

    References
    ----------
    Derived above. The log(1/noise) law: M. Suzuki (1977), "Scaling theory of
    transient phenomena near the instability point", J. Stat. Phys. 16:11-32;
    Y. Kifer (1981), "The exit problem for small random perturbations of
    dynamical systems with a hyperbolic fixed point", Israel J. Math.
    40:74-96. Dawson's function and its asymptotic expansion: DLMF 7.2.5,
    7.5.13, 7.12.1. Claim C2 in docs/claims.md.

    Examples
    --------
    >>> import math
    >>> round(saddle_exit_time_small_t(1.0, 1.0, 1e-4), 6)   # (log 1e4 + gamma + log 2) / 2
    5.240352
    >>> exact, asymptote = saddle_mean_exit_time(1.0, 1.0, 1e-4), saddle_exit_time_small_t(1.0, 1.0, 1e-4)
    >>> math.isclose(exact, asymptote - 0.5e-4, rel_tol=1e-8)   # exact = asymptote - T / (2 mu^2 r^2) + O(T^2)
    True
    """
    mu, radius, temperature, x0 = _check(mu, radius, temperature, x0)
    ax = abs(x0)
    if temperature == 0.0:
        return math.inf if ax == 0.0 else math.log1p((radius - ax) / ax) / mu
    leading = 0.5 * (math.log(2.0 * mu / temperature) + 2.0 * math.log(radius) + np.euler_gamma) / mu
    if ax == 0.0:
        return leading
    # 2 G(b) is the exit integral with a^2 = b^2 and b -> 0.
    log_b2 = math.log(mu) - math.log(2.0 * temperature) + 2.0 * math.log(ax)
    return leading - _exit_integral(log_b2, -math.inf) / mu


def saddle_exit_time_variance(mu, radius, temperature, *, x0=0.0):
    r"""Variance of the exit time of the unstable direction of a saddle from (-r, r).

    The second moment u2 = E[tau^2] solves ``T u2'' + mu x u2' = -2 u1``,
    u2(+-r) = 0, with u1 the mean exit time (:func:`saddle_mean_exit_time`).
    Subtracting the equation for u1^2 shows that the variance v = u2 - u1^2
    solves the same problem with a positive source,

    .. math:: T v'' + \mu x v' = -2T\,(u_1')^2 = -\frac{4}{\mu} F(kx)^2,
              \qquad v(\pm r) = 0,

    (using u1'(x) = -F(kx) / (T k)), so no cancellation between u2 and u1^2
    occurs. The integrating factor of the module docstring gives, with
    ``k = sqrt(mu / (2T))``, ``a = k r``, ``b = k |x0|``,

    .. math:: \mathrm{Var}\,\tau = \frac{8}{\mu^2}\int_0^a F(\eta)^2\,
              e^{\eta^2}\int_{\max(b,\eta)}^{a} e^{-\xi^2}\,d\xi\,d\eta,

    the inner Gaussian integral being written with ``erfcx`` (or summed by
    Gauss-Legendre where that would cancel) and the outer one done by
    ``scipy.integrate.quad`` (relative accuracy about 1e-12).
    Limits: mu -> 0 gives ``(r^4 - x0^4) / (6 T^2)`` (pure diffusion); T -> 0
    from x0 = 0 gives ``pi^2 / (8 mu^2)``, the variance of
    ``(1/mu) log|N(0,1)|``; T -> 0 from x0 != 0 gives
    ``T (r^2 - x0^2) / (mu^3 x0^2 r^2)`` (the exit time is then
    (1/mu) log(r / |x0 + Z|) with Z ~ N(0, (T/mu)(1 - x0^2/r^2)) the noise
    accumulated, discounted by exp(-mu t), up to the deterministic exit). Use it to size simulations:
    the standard error of a mean over n independent exits is
    sqrt(variance / n). The second moment is this plus the squared mean.

    Parameters
    ----------
    mu : float
        Magnitude of the negative curvature, mu > 0.
    radius : float
        Half-width r > 0 of the neighbourhood.
    temperature : float
        Temperature T >= 0.
    x0 : float, optional
        Starting point, |x0| < r (default 0).

    Returns
    -------
    float
        Var(tau). At T = 0: 0 from x0 != 0 (deterministic exit) and ``inf``
        from x0 = 0 (the chain never leaves).

    Raises
    ------
    ValueError
        As :func:`saddle_mean_exit_time`.

    References
    ----------
    Derived above; moments of exit times from backward equations:
    Gardiner (2004), Handbook of Stochastic Methods, section 5.2.7;
    Karlin & Taylor (1981), section 15.3.

    Examples
    --------
    >>> import math
    >>> math.isclose(saddle_exit_time_variance(1e-9, 1.0, 0.5), 2.0 / 3.0, rel_tol=1e-6)   # r^4 / (6 T^2)
    True
    >>> math.isclose(saddle_exit_time_variance(1.0, 1.0, 1e-8), math.pi**2 / 8, rel_tol=1e-6)
    True
    """
    mu, radius, temperature, x0 = _check(mu, radius, temperature, x0)
    ax = abs(x0)
    if temperature == 0.0:
        return math.inf if ax == 0.0 else 0.0
    k = math.sqrt(mu / (2.0 * temperature))
    b, length = k * ax, k * (radius - ax)  # a = b + length

    # eta = b + s above b: F(eta)^2 times the Gaussian segment from eta to a.
    def above(s):
        return dawsn(b + s) ** 2 * _gaussian_segment(b + s, length - s)

    total = _integrate_pieces(above, (0.0, min(1.0, length), length))
    if b > 0.0:
        # eta = b - s below b: the segment is the constant one from b to a, times exp(eta^2 - b^2),
        # which decays like exp(-2 b s); beyond s = 50 / b it is below e^-50 of its peak.
        def below(s):
            return dawsn(b - s) ** 2 * math.exp(-s * (2.0 * b - s))

        reach = min(b, 50.0 / b)
        total += _gaussian_segment(b, length) * _integrate_pieces(below, (0.0, min(2.0 / b, reach), reach))
    return 8.0 * total / mu**2


# --- internals ----------------------------------------------------------------

def _check(mu, radius, temperature, x0):
    mu = check_positive(mu, "mu")
    radius = check_positive(radius, "radius")
    temperature = check_nonnegative(temperature, "temperature")
    message = f"x0 must be a finite real number with |x0| < radius = {radius!r}, got {x0!r}"
    if isinstance(x0, bool) or np.ndim(x0) != 0:
        raise ValueError(message)
    try:
        x = float(x0)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not abs(x) < radius:
        raise ValueError(message)
    return mu, radius, temperature, x


def _log_c_b2(mu, radius, temperature, ax):
    """log(a^2 - b^2) and log(b^2), computed without overflow or cancellation."""
    log_k2 = math.log(mu) - math.log(2.0) - math.log(temperature)
    log_c = log_k2 + math.log(radius - ax) + math.log(radius + ax)
    log_b2 = log_k2 + 2.0 * math.log(ax) if ax > 0.0 else -math.inf
    return log_c, log_b2


_GAUSS_LEGENDRE = np.polynomial.legendre.leggauss(16)


def _gaussian_segment(m, length):
    """exp(m^2) int_m^{m + length} exp(-xi^2) d xi = int_0^length exp(-s (2m + s)) ds, for m, length >= 0.

    Through erfcx when the exponent at the far end exceeds 1 (the two terms then differ by a factor
    e at least, so nothing cancels); otherwise by 16-point Gauss-Legendre on an integrand that
    varies by less than a factor e, exact to rounding.
    """
    spread = length * (2.0 * m + length)
    if spread > 1.0:
        return 0.5 * math.sqrt(math.pi) * (erfcx(m) - erfcx(m + length) * math.exp(-spread))
    nodes, weights = _GAUSS_LEGENDRE
    s = 0.5 * length * (nodes + 1.0)
    return 0.5 * length * float(weights @ np.exp(-s * (2.0 * m + s)))


def _integrate_pieces(f, nodes):
    """int f over [nodes[0], nodes[-1]] by quad per piece, in log variable where a piece spans a factor > 2."""
    total = 0.0
    nodes = sorted(set(nodes))
    for lo, hi in zip(nodes[:-1], nodes[1:]):
        if lo > 0.0 and hi > 2.0 * lo:
            total += quad(lambda t: f(math.exp(t)) * math.exp(t), math.log(lo), math.log(hi),
                          epsabs=0.0, epsrel=_QUAD_EPSREL, limit=200)[0]
        else:
            total += quad(f, lo, hi, epsabs=0.0, epsrel=_QUAD_EPSREL, limit=200)[0]
    return total


def _exit_integral(log_c, log_b2):
    r"""D = int_0^1 [exp(-b^2 w) - exp(-a^2 w)] / w dv, w = 1 - v^2, a^2 = b^2 + c.

    With 1 - v = u = exp(-y), w = u (2 - u) and dv = u dy, so
    D = int_0^inf exp(-b^2 w) (1 - exp(-c w)) / (2 - u) dy: smooth, positive,
    with its features at y ~ log c and y ~ log b^2. Beyond
    y_max = max(0, log c, log b^2) + _TAIL the rest is below
    2 c exp(-y_max), a relative exp(-_TAIL) of D.
    """
    y_max = max(0.0, log_c, log_b2) + _TAIL

    def integrand(y):
        u = math.exp(-y)
        log_w = -y + math.log(2.0 - u)
        cw = math.exp(min(log_c + log_w, 700.0))
        b2w = math.exp(min(log_b2 + log_w, 700.0))
        return math.exp(-b2w) * -math.expm1(-cw) / (2.0 - u)

    points = sorted({p for p in (log_c, log_b2, log_c + 2.0, log_b2 + 2.0) if 0.0 < p < y_max})
    value, _ = quad(integrand, 0.0, y_max, points=points or None, epsabs=0.0, epsrel=_QUAD_EPSREL, limit=200)
    return value
