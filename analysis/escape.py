r"""Escape from wells and saddles in closed form: Eyring–Kramers rates, exact 1-D passage times, saddle exits.

Conventions (docs/conventions.md): overdamped Langevin dynamics
dX = -grad U dt + sqrt(2T) dW, time in SDE units (ULA steps times step size).

- :func:`eyring_kramers_rate`, :func:`log_eyring_kramers_rate` and
  :func:`eyring_kramers_transition_time`: the small-T rate of leaving a
  minimum over an index-1 saddle (claim C7).
- :func:`mean_first_passage_time_1d` and :func:`log_mean_first_passage_time_1d`:
  the exact mean first-passage time of a 1-D diffusion, by the double-integral
  formula, accurate to about 1e-13 relative at any temperature.
- :func:`saddle_mean_exit_time`, :func:`saddle_exit_time_small_t` and
  :func:`saddle_exit_time_variance`: exit times from the unstable direction of a
  strict saddle (claim C2), derived below.

Saddle exit times
-----------------
Near a strict saddle with negative curvature -mu the unstable coordinate of
overdamped Langevin dynamics is the linear diffusion
dX = mu X dt + sqrt(2T) dW (docs/conventions.md conventions). This module gives the
exact mean and variance of its exit time from (-r, r), and the small-T
asymptote (1 / (2 mu)) [log(mu r^2 / T) + gamma_E + log 2] -- the form
(1/mu) log(r / noise scale) of claim C2 in docs/claims.md, with its constant.

Derivation (used by the three saddle functions)
-----------------------------------------------
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
from typing import NamedTuple

import numpy as np
from scipy.integrate import quad
from scipy.special import dawsn, erfcx

from models.validation import as_finite_array, check_nonnegative, check_positive, plain

__all__ = [
    "eyring_kramers_rate",
    "log_eyring_kramers_rate",
    "eyring_kramers_transition_time",
    "mean_first_passage_time_1d",
    "log_mean_first_passage_time_1d",
    "saddle_mean_exit_time",
    "saddle_exit_time_small_t",
    "saddle_exit_time_variance",
]

_QUAD_EPSREL = 1e-12
_TAIL = 40.0  # the integrand beyond y_max is below exp(-_TAIL) of the integral


# --- Eyring–Kramers ------------------------------------------------------------

def log_eyring_kramers_rate(minimum, saddle, temperature):
    r"""Natural log of the Eyring–Kramers rate of leaving ``minimum`` over ``saddle``.

    .. math:: \log k = \log\frac{|\lambda_s|}{2\pi}
              + \frac12\Big(\sum_i \log\lambda_i^{\min} - \sum_i \log|\lambda_i^{s}|\Big)
              - \frac{U_s - U_{\min}}{T},

    summed in log space, so it stays finite where ``k`` itself underflows
    (``T`` much smaller than the barrier / 700). Arguments and validation as
    :func:`eyring_kramers_rate`.

    Examples
    --------
    >>> from analysis.critical import CriticalPoint
    >>> m = CriticalPoint(np.array([-1.0]), 0.0, np.array([8.0]), 0)
    >>> s = CriticalPoint(np.array([0.0]), 1.0, np.array([-4.0]), 1)
    >>> round(log_eyring_kramers_rate(m, s, 1e-4), 4)   # k = exp(-10000.105...) underflows
    -10000.105
    """
    temperature = check_positive(temperature, "temperature")
    min_eigs, min_loss = _critical_point(minimum, "minimum")
    saddle_eigs, saddle_loss = _critical_point(saddle, "saddle")
    if min_eigs.size != saddle_eigs.size:
        raise ValueError(f"saddle must have as many Hessian eigenvalues as minimum (the dimension d), got "
                         f"{saddle_eigs.size} and {min_eigs.size}")
    if not np.all(min_eigs > 0):
        raise ValueError(f"minimum must have all Hessian eigenvalues > 0 (a strict minimum), got "
                         f"{_show(min_eigs)}")
    n_negative = int(np.sum(saddle_eigs < 0))
    if n_negative != 1 or np.any(saddle_eigs == 0):
        raise ValueError(f"saddle must have exactly one negative Hessian eigenvalue and no zero one (an index-1 "
                         f"saddle), got {_show(saddle_eigs)}")
    barrier = saddle_loss - min_loss
    if not barrier > 0:
        raise ValueError(f"saddle must lie above minimum: saddle loss {plain(saddle_loss)} <= minimum loss "
                         f"{plain(min_loss)}")
    abs_saddle = np.abs(saddle_eigs)
    log_prefactor = (math.log(float(abs_saddle[saddle_eigs < 0][0])) - math.log(2.0 * math.pi)
                     + 0.5 * (float(np.sum(np.log(min_eigs))) - float(np.sum(np.log(abs_saddle)))))
    return log_prefactor - barrier / temperature


def eyring_kramers_rate(minimum, saddle, temperature):
    r"""Eyring–Kramers rate of the transition from ``minimum`` over the index-1 ``saddle``.

    .. math:: k = \frac{|\lambda_s|}{2\pi}
              \sqrt{\frac{\det H_{\min}}{|\det H_s|}}\;
              e^{-(U_s - U_{\min}) / T},

    with ``lambda_s`` the saddle's one negative Hessian eigenvalue, for the
    overdamped Langevin dynamics dX = -grad U dt + sqrt(2T) dW
    (docs/conventions.md); time in SDE units. Its meaning (Bovier, Eckhoff,
    Gayrard & Klein 2004, theorem 3.2): when the saddle is the lowest pass out
    of the minimum's basin into a deeper or equally deep one, the mean
    transition time, the mean first-passage time from the minimum to a small
    ball around the minimum on the other side, is

    .. math:: \mathbb{E}\,\tau = \frac{1}{k}\,\big(1 + O(\sqrt{T}\,|\log T|)\big),

    and for smooth (Morse) landscapes the correction is in fact a power series
    in ``T``: the relative error of ``1/k`` shrinks like ``T``.
    Two consequences that a comparison must respect:

    - the mean first-passage time to the saddle itself is ``1 / (2k)`` to
      leading order: a path at the saddle falls back with probability 1/2;
    - the Fokker–Planck spectral gap of a double well is the sum of the two
      rates, ``lambda_1 = k_12 + k_21`` (up to exponentially small terms):
      see :func:`analysis.fokker_planck.spectral_gap`.

    Detailed balance: for two minima sharing the saddle,
    ``k_12 / k_21 = exp(-(U_2 - U_1)/T) sqrt(det H_1 / det H_2) = P_2 / P_1``,
    the ratio of their Laplace occupancies (claim C7).

    Parameters
    ----------
    minimum, saddle : analysis.critical.CriticalPoint
        The minimum left and the saddle crossed, as
        :func:`analysis.critical.find_critical_points` returns them; anything
        with ``.loss`` (float) and ``.eigenvalues`` (the Hessian's, shape (d,))
        will do.
    temperature : float
        T > 0.

    Returns
    -------
    float
        The rate ``k`` (per unit SDE time); 0.0 where it underflows (use
        :func:`log_eyring_kramers_rate` there).

    Raises
    ------
    ValueError
        Temperature <= 0; a minimum with an eigenvalue <= 0; a saddle without
        exactly one negative eigenvalue or with a zero one; different
        dimensions; a saddle not above the minimum; non-finite values. The
        message names the parameter.

    See Also
    --------
    eyring_kramers_transition_time : ``1 / k``.
    mean_first_passage_time_1d : the exact value in one dimension.

    References
    ----------
    H. Eyring (1935), "The activated complex in chemical reactions", J. Chem.
    Phys. 3:107. H. A. Kramers (1940), "Brownian motion in a field of force and
    the diffusion model of chemical reactions", Physica 7:284. A. Bovier,
    M. Eckhoff, V. Gayrard & M. Klein (2004), "Metastability in reversible
    diffusion processes I: Sharp asymptotics for capacities and exit times",
    J. Eur. Math. Soc. 6:399-424. N. Berglund (2013), "Kramers' law: validity,
    derivations and generalisations", Markov Process. Related Fields 19:459-490.

    Examples
    --------
    The 1-D double well (x^2 - 1)^2 (minimum U'' = 8, saddle U'' = -4, barrier 1):

    >>> from analysis.critical import CriticalPoint
    >>> m = CriticalPoint(np.array([-1.0]), 0.0, np.array([8.0]), 0)
    >>> s = CriticalPoint(np.array([0.0]), 1.0, np.array([-4.0]), 1)
    >>> k = eyring_kramers_rate(m, s, 0.05)   # sqrt(32) / (2 pi) exp(-20)
    >>> math.isclose(k, math.sqrt(32) / (2 * math.pi) * math.exp(-20.0))
    True
    >>> print(f"{1 / k:.4e}")   # the exact MFPT is 5.4966e8, 2% = 3T/8 + O(T^2) more (mean_first_passage_time_1d)
    5.3888e+08
    """
    return math.exp(log_eyring_kramers_rate(minimum, saddle, temperature))


def eyring_kramers_transition_time(minimum, saddle, temperature):
    r"""Mean transition time ``1 / k`` from ``minimum`` to the minimum beyond ``saddle``.

    The Eyring–Kramers prediction of the mean first-passage time from the
    minimum to (a small ball around) the next minimum; the mean first-passage
    time to the saddle itself is half of it (see :func:`eyring_kramers_rate`).
    ``inf`` where ``k`` underflows; ``exp(-log_eyring_kramers_rate(...))`` is
    the same number, and the log is finite. Arguments as
    :func:`eyring_kramers_rate`.

    Examples
    --------
    >>> from analysis.critical import CriticalPoint
    >>> m = CriticalPoint(np.array([-1.0, 0.0]), 0.0, np.array([2.0, 8.0]), 0)
    >>> s = CriticalPoint(np.array([0.0, 0.0]), 1.0, np.array([-4.0, 1.0]), 1)
    >>> round(eyring_kramers_transition_time(m, s, 0.1), 1)   # (2 pi / 4) / 2 * exp(10)
    17299.5
    """
    return _exp(-log_eyring_kramers_rate(minimum, saddle, temperature))


def _exp(x):
    """exp(x), inf where it overflows (math.exp raises there)."""
    return math.inf if x > 709.0 and x > math.log(np.finfo(float).max) else math.exp(x)


def _critical_point(point, name):
    try:
        loss, eigenvalues = point.loss, point.eigenvalues
    except AttributeError:
        raise ValueError(f"{name} must be a critical point with .loss and .eigenvalues (analysis.critical."
                         f"CriticalPoint), got {type(point).__name__}") from None
    eigs = as_finite_array(eigenvalues, f"{name}.eigenvalues", ndim=1)
    if eigs.size == 0:
        raise ValueError(f"{name}.eigenvalues must not be empty")
    return eigs, _finite_scalar(loss, f"{name}.loss")


def _finite_scalar(value, name):
    if isinstance(value, (bool, str, bytes)) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be a finite real number, got {plain(value)}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite real number, got {plain(value)}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite real number, got {plain(value)}")
    return x


def _show(values):
    return "[" + ", ".join(plain(float(v)) for v in values) + "]"


# --- exact mean first-passage time in one dimension -----------------------------

def log_mean_first_passage_time_1d(potential, start, target, temperature, *, reflect=None):
    r"""Natural log of the exact 1-D mean first-passage time; see :func:`mean_first_passage_time_1d`.

    Finite where the time itself overflows (barriers above about 700 T).

    Examples
    --------
    >>> round(log_mean_first_passage_time_1d(lambda x: (x**2 - 1)**2, -1.0, 1.0, 0.001), 4)
    1000.1054
    """
    U, x0, b, a, temperature = _passage_problem(potential, start, target, temperature, reflect)
    if x0 == b:
        return -math.inf
    return _log_passage_time(U, x0, b, a, temperature)


def mean_first_passage_time_1d(potential, start, target, temperature, *, reflect=None):
    r"""Exact mean first-passage time of the 1-D Langevin diffusion from ``start`` to ``target``.

    For dX = -U'(X) dt + sqrt(2T) dW (docs/conventions.md) started at x0 < b,
    reflected at a <= x0 (a = -inf: no wall), the mean time to first reach b
    solves the backward equation ``T tau'' - U' tau' = -1``, ``tau(b) = 0``,
    ``tau'(a) = 0``. The integrating factor ``exp(-U/T)`` gives
    ``(exp(-U/T) tau')' = -exp(-U/T) / T``, hence

    .. math:: \tau(x_0 \to b) = \frac{1}{T}\int_{x_0}^{b} e^{U(y)/T}
              \int_{a}^{y} e^{-U(z)/T}\,dz\,dy

    (Gardiner, Handbook of Stochastic Methods, section 5.2.7). A target left
    of the start is the mirror image, x -> -x (the wall, if any, is then to
    the right). The time is in SDE units.

    Relation to Kramers: for a double well with minimum m, barrier top s and
    the target beyond s, Laplace's method on both integrals gives
    ``tau ~ 2 pi / sqrt(U''(m) |U''(s)|) exp((U(s) - U(m))/T)``, i.e. the
    Eyring–Kramers ``1/k`` (:func:`eyring_kramers_rate`), with a relative
    correction linear in T. For U = (x^2 - 1)^2 from -1 to 1 that correction
    is ``tau = (1/k) (1 + 3T/8 + O(T^2))``: the second-order Laplace terms
    ``5 U'''^2 / (24 U''^3) - U'''' / (8 U''^2)`` are 3/16 at the minimum and
    3/16 at the top. The time to reach the barrier top itself is about half
    of ``1/k``.

    Numerics: both integrals are done together on one set of panels, by
    16-point Gauss–Legendre on each, entirely in log space (log-sum-exp with
    shifts by the maximum), so nothing overflows or underflows at any T. The
    panels are placed so that U/T varies by at most about 1 on each (split
    further wherever the nodes show more), with x0 an edge; the inner
    integral at every outer node adds the panels to its left and a
    Gauss–Legendre rule on the remaining part of its own panel. With a = -inf
    the inner integral starts where U has risen 50 T above its minimum on
    [a, b] and keeps rising to the left (relative truncation below e^-40).
    Measured accuracy (tests/analysis/test_kramers.py; worst of 200 random
    cases): relative 1e-14 against free diffusion, 5e-14 against a linear
    potential (both closed forms), 1e-15 against 30-digit mpmath quadrature
    for (x^2 - 1)^2 at T = 0.05. Cost: milliseconds (0.05 s at T = 0.006).

    Parameters
    ----------
    potential : callable or models.Landscape
        U as a vectorised function of one variable (array in, array of the
        same shape out), or a landscape of dimension 1. Its values must be
        finite on the integration range.
    start : float
        Starting point x0.
    target : float or core set
        The point b where the passage ends. A core set (a ``(center,
        radius)`` pair as ``sandbox.mean_first_passage_time`` takes it, or
        anything with ``.center`` and ``.radius``, e.g.
        :class:`sandbox.core_sets.CoreSet`, in d = 1) is reached at its near edge, ``center - radius`` when it lies
        to the right of ``start``, ``center + radius`` when to the left; that
        is the time :func:`sandbox.mean_first_passage_time` estimates.
    temperature : float
        T > 0.
    reflect : float, optional
        A reflecting wall on the side of ``start`` away from ``target`` (at or
        beyond ``start``); default: none (``-inf`` for a target to the right,
        ``+inf`` to the left), which requires U to confine on that side: the
        integral is cut where U has risen 50 T above its minimum and still
        rises outward, so a deeper well farther out on that side would be
        missed; put a wall there, or a finite ``reflect``, in that case.

    Returns
    -------
    float
        tau(x0 -> b); ``inf`` where it overflows (use
        :func:`log_mean_first_passage_time_1d`), 0.0 when start == target.

    Raises
    ------
    ValueError
        Temperature <= 0; non-finite start, target or reflect; a wall on the
        target's side of the start; a start inside the target core set; a
        potential of dimension other than 1, not vectorised, non-finite on the
        range, or not confining on an open side (the time is then infinite).

    References
    ----------
    C. W. Gardiner, Handbook of Stochastic Methods (3rd ed., 2004), section
    5.2.7 (the formula) and 5.2.7.c (Kramers' escape time). H. A. Kramers
    (1940), Physica 7:284. Laplace's method to second order: N. Bleistein &
    R. A. Handelsman, Asymptotic Expansions of Integrals (1975), section 5.1.

    Examples
    --------
    Free diffusion reflected at 0 reaches b from x0 after (b^2 - x0^2) / (2T):

    >>> round(mean_first_passage_time_1d(lambda x: 0.0 * x, 0.5, 2.0, 0.25, reflect=0.0), 10)
    7.5

    The double well of the rare-event benchmark, at T = 0.05:

    >>> tau = mean_first_passage_time_1d(lambda x: (x**2 - 1)**2, -1.0, 1.0, 0.05)
    >>> print(f"{tau:.6e}")
    5.496611e+08
    """
    return _exp(log_mean_first_passage_time_1d(potential, start, target, temperature, reflect=reflect))


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
_TRUNCATE = 50.0     # the inner integral starts where U is 50 T above its minimum
_PANEL_RISE = 1.0    # U/T varies by about this much on one panel
_MAX_PANELS = 200_000
_DOUBLINGS = 100     # the search for the left cutoff goes out to 2^99 times the start-target distance


class _Core(NamedTuple):
    center: object
    radius: object


def _passage_problem(potential, start, target, temperature, reflect):
    """Validate; return (U, x0, b, a, T) with the target to the right (mirrored when needed)."""
    temperature = check_positive(temperature, "temperature")
    U = _as_potential(potential)
    x0 = _finite_scalar(start, "start")
    if isinstance(target, (tuple, list)) and len(target) == 2 and np.ndim(target[1]) == 0:
        target = _Core(target[0], target[1])                    # a (center, radius) pair, as sandbox takes
    if hasattr(target, "center") and hasattr(target, "radius"):
        center = as_finite_array(target.center, "target center").ravel()
        if center.size != 1:
            raise ValueError(f"target core set must be 1-dimensional, got a center of shape {center.shape}")
        radius = check_positive(target.radius, "target radius")
        c = float(center[0])
        if abs(x0 - c) <= radius:
            raise ValueError(f"start {plain(x0)} lies in the target core set (center {plain(c)}, "
                             f"radius {plain(radius)}); the passage time is 0")
        b = c - radius if c > x0 else c + radius
    else:
        b = _finite_scalar(target, "target")
    sign = 1.0 if b >= x0 else -1.0
    if reflect is None:
        a = -math.inf
    else:
        if isinstance(reflect, (bool, str, bytes)) or np.ndim(reflect) != 0:
            raise ValueError(f"reflect must be a real number or None, got {plain(reflect)}")
        a = sign * float(reflect)
        if math.isnan(a) or a == math.inf or a > sign * x0:
            side = "<= start" if sign > 0 else ">= start"
            raise ValueError(f"reflect must lie on the far side of start from target ({side} = {plain(x0)}) "
                             f"or be None, got {plain(reflect)}")
    if sign < 0:
        return (lambda x: U(-x)), -x0, -b, a, temperature
    return U, x0, b, a, temperature


def _as_potential(potential):
    if hasattr(potential, "dim") and hasattr(potential, "value"):     # a models.Landscape
        if potential.dim != 1:
            raise ValueError(f"potential must be a landscape of dimension 1, got dim = {potential.dim}")
        return lambda x: np.asarray(potential.value(np.asarray(x, dtype=float)[:, None]), dtype=float)
    if not callable(potential):
        raise ValueError(f"potential must be a vectorised callable of one variable or a 1-d models.Landscape, "
                         f"got {type(potential).__name__}")

    def U(x):
        x = np.asarray(x, dtype=float)
        u = np.asarray(potential(x), dtype=float)
        if u.shape != x.shape:
            raise ValueError(f"potential must be vectorised: for an array of shape {x.shape} it returned "
                             f"shape {u.shape}")
        return u
    return U


def _values(U, x):
    u = U(x)
    bad = ~np.isfinite(u)
    if bad.any():
        raise ValueError(f"potential must be finite on the integration range, got {plain(float(u[bad][0]))} "
                         f"at x = {plain(float(x[bad][0]))}")
    return u


def _left_cutoff(U, x0, b, temperature):
    """A point L < x0 with U(L) >= min U[L, b] + _TRUNCATE T, U still rising to the left."""
    scale = max(b - x0, 1e-6 * max(1.0, abs(x0), abs(b)))
    grid = np.linspace(x0, b, 513)
    lowest = float(np.min(_values(U, grid)))
    previous = float(_values(U, np.array([x0]))[0])
    for k in range(_DOUBLINGS):
        left = x0 - scale * 2.0**k
        span = np.linspace(left, x0, 1025)
        u = _values(U, span)
        lowest = min(lowest, float(np.min(u)))
        further = float(_values(U, np.array([left - scale * 2.0**k]))[0])
        if u[0] - lowest >= _TRUNCATE * temperature and u[0] >= previous and further > u[0]:
            return left
        previous = u[0]
    raise ValueError("potential must confine on the side away from the target (U -> inf there): it did not rise "
                     f"{_TRUNCATE:g} T above its minimum within {plain(scale * 2.0**(_DOUBLINGS - 1))} of start; pass reflect= for "
                     "a wall")


def _panels(U, edges, temperature):
    """Panel edges on [edges[0], edges[-1]] (containing ``edges``) on which U/T varies by about _PANEL_RISE."""
    out = [np.array([edges[0]])]
    for lo, hi in zip(edges[:-1], edges[1:]):
        x = np.linspace(lo, hi, 4097)
        f = _values(U, x) / temperature
        # Arc length: one panel per _PANEL_RISE of variation of U/T, and at least 8 panels per segment.
        s = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(f)) / _PANEL_RISE + 8.0 / (len(x) - 1))])
        n = int(math.ceil(s[-1]))
        out.append(np.interp(np.arange(1, n + 1) * (s[-1] / n), s, x)[:-1])
        out.append(np.array([hi]))
    return np.concatenate(out)


def _log_passage_time(U, x0, b, a, temperature):
    if a == -math.inf:
        a = _left_cutoff(U, x0, b, temperature)
    breaks = [a, x0, b] if a < x0 else [x0, b]
    e = np.unique(_panels(U, np.array(breaks), temperature))    # sorted, no empty panels
    t = 0.5 * (_GL_NODES + 1.0)                 # nodes on [0, 1]
    log_w = np.log(0.5 * _GL_WEIGHTS)
    for _ in range(40):                         # split panels whose nodes show more than 2 _PANEL_RISE of U/T
        width = np.diff(e)
        z = e[:-1, None] + width[:, None] * t
        u = _values(U, z.ravel()).reshape(z.shape)
        ends = _values(U, e)
        spread = (np.maximum(u.max(1), np.maximum(ends[:-1], ends[1:]))
                  - np.minimum(u.min(1), np.minimum(ends[:-1], ends[1:]))) / temperature
        coarse = spread > 2.0 * _PANEL_RISE
        if not coarse.any():
            break
        if e.size + coarse.sum() > _MAX_PANELS:
            raise ValueError(f"potential varies too fast for the quadrature at temperature {plain(temperature)} "
                             f"(more than {_MAX_PANELS} panels)")
        e = np.unique(np.concatenate([e, 0.5 * (e[:-1] + e[1:])[coarse]]))
    shift = float(u.min())
    f = -(u - shift) / temperature                              # log exp(-(U - shift)/T) at the nodes
    log_panel = _logsumexp(f + log_w, axis=1) + np.log(width)   # log int over each panel
    log_before = np.concatenate([[-math.inf], np.logaddexp.accumulate(log_panel)[:-1]])
    first = int(np.searchsorted(e, x0))                         # x0 is the edge e[first]
    # Inner integral from e[k] to the outer node z[k, j], by the same rule on [e[k], z[k, j]].
    outer = slice(first, None)
    zk, ek, wk = z[outer], e[:-1][outer], width[outer]
    sub = ek[:, None, None] + (zk - ek[:, None])[:, :, None] * t    # (panels, outer node j, inner node l)
    g = -(_values(U, sub.ravel()).reshape(sub.shape) - shift) / temperature
    log_part = _logsumexp(g + log_w, axis=2) + np.log(wk[:, None] * t)
    log_inner = np.logaddexp(log_before[outer][:, None], log_part)
    log_outer = (u[outer] - shift) / temperature + log_inner + log_w + np.log(wk)[:, None]
    return float(_logsumexp(log_outer.ravel(), axis=0)) - math.log(temperature)


def _logsumexp(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(x - m), axis=axis))


# --- exit from a saddle ----------------------------------------------------------

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
