"""Mean first-passage times into a core set, and their estimator from censored passage times.

A chain that has not arrived when the simulation stops is a *censored*
observation: its passage time is only known to exceed the horizon. Dropping
such chains biases the mean low (it keeps the fast passages only); counting
them as passages at the horizon biases it low too. :func:`censored_mean`
estimates the mean passage time from the whole sample:

    E[tau] = int_0^H S(t) dt + S(H) / lambda,

the integral of the Kaplan–Meier survival curve S up to the horizon H
(Kaplan & Meier 1958, J. Am. Stat. Assoc. 53:457; with one common horizon,
as here, it is the empirical survival #{tau_c > t} / n) plus the mean of an
exponential tail beyond H whose hazard lambda is the exponential maximum-
likelihood estimate on the late window [t_a, H]:

    lambda = (passages in (t_a, H]) / (time at risk in (t_a, H]).

Why an exponential tail: the survival of a diffusion killed on the target is
a sum of decaying modes, S(t) = sum_k a_k exp(-lambda_k t) (the spectral
expansion of the killed Fokker–Planck generator), so its hazard tends to the
principal eigenvalue lambda_1 and the tail beyond a late t_a is exponential
up to exp(-(lambda_2 - lambda_1) t_a). With t_a = 0 the estimator is exactly
the censored exponential MLE (total time at risk) / (passages), the efficient
estimator when the passage is a rare, Poisson-like event (Kramers regime:
relaxation inside the well is fast, so the hazard is constant after a short
transient); the default t_a = H / 2 discards that transient at the cost of
fewer events in the fit.
"""
import math
from typing import NamedTuple

import numpy as np

from models.estimate import Estimate
from models.landscape import Landscape
from models.validation import as_finite_array, check_choice, check_positive, check_positive_int, plain
from sandbox.escape import MONITORING_BETA

__all__ = ["PassageTime", "CensoredMean", "NoPassageError", "censored_mean", "mean_first_passage_time"]

#: -log(0.05): a Poisson count of 0 puts the rate below this / exposure with 95% confidence.
_ZERO_EVENT_BOUND = 2.995732273553991


class PassageTime(NamedTuple):
    """A mean first-passage time with its standard error, in SDE time units (steps x step_size).

    Attributes
    ----------
    value, stderr : float
        The MFPT estimate and its standard error.
    log_value, log_stderr : float
        log(MFPT) and its standard error (the natural scale for rare events).
    method : str
        "direct" or "splitting".
    n_events : int
        Passages observed (direct) or replicas that reached the target (splitting).
    n_censored : int
        Chains still running at the end (direct: handled by the survival
        estimator, never dropped); 0 for splitting.
    details : dict
        Method-specific diagnostics (e.g. splitting's probability estimate,
        number of levels, the cycle time).
    """

    value: float
    stderr: float
    log_value: float
    log_stderr: float
    method: str
    n_events: int
    n_censored: int
    details: dict

    def __repr__(self):
        return (f"PassageTime({self.value:.6g} +- {self.stderr:.2g}, method={self.method!r}, "
                f"n_events={self.n_events}, n_censored={self.n_censored})")


class NoPassageError(RuntimeError):
    """No chain arrived (or none in the tail window while some are still running): the mean
    passage time cannot be estimated from these chains. The message gives a 95% lower bound."""


class CensoredMean(NamedTuple):
    """Result of :func:`censored_mean`.

    Attributes
    ----------
    mean : Estimate
        E[tau] = restricted_mean + survival_at_horizon / tail_rate (module docstring); SE by the
        delta method over chains (the chains are independent).
    restricted_mean : float
        int_0^H S(t) dt = mean of min(tau_c, H).
    survival_at_horizon : Estimate
        S(H), the fraction of chains censored, with its binomial SE.
    tail_rate : float
        The hazard fitted on (tail_from, H]; NaN when no chain is censored (no tail needed).
    tail_from, horizon : float
    n_events, n_censored, n_tail_events : int
        Passages, censored chains, passages in the tail window.
    event_times, survival : ndarray
        The Kaplan–Meier curve: S just after each distinct passage time.
    """

    mean: Estimate
    restricted_mean: float
    survival_at_horizon: Estimate
    tail_rate: float
    tail_from: float
    horizon: float
    n_events: int
    n_censored: int
    n_tail_events: int
    event_times: np.ndarray
    survival: np.ndarray


def censored_mean(times, horizon, *, tail_from=None):
    """Mean of a passage time from chains observed up to a common horizon, censoring included.

    E[tau] = int_0^H S_KM(t) dt + S_KM(H) / lambda_tail, lambda_tail the exponential MLE of the
    hazard on (tail_from, H] (module docstring). Every chain enters: a censored one through S(H)
    and through its time at risk in the tail window, never as a passage.

    Parameters
    ----------
    times : array_like (n,)
        Passage times, >= 0; a value above ``horizon`` (``np.inf``) marks a censored chain.
    horizon : float > 0
        H, the time at which every chain stopped being observed.
    tail_from : float in [0, H), optional
        t_a, the start of the window the tail hazard is fitted on; default H / 2. With 0 the
        estimate is the censored exponential MLE (sum of min(tau_c, H)) / (passages).

    Returns
    -------
    CensoredMean

    Raises
    ------
    NoPassageError
        If no chain arrived, or chains are censored but none arrived in the tail window
        (the tail cannot be fitted: raise the horizon).

    Notes
    -----
    The estimate is a smooth function of four chain averages, a = min(tau, H), b = [censored],
    d = [passage in (t_a, H]], r = time at risk in (t_a, H]: m = mean(a) + mean(b) mean(r) / mean(d).
    Its standard error is the sample standard deviation over chains of the influence values
    a + (r̄/d̄) b - (b̄ r̄/d̄²) d + (b̄/d̄) r, divided by sqrt(n) (delta method). Without censoring it is
    the sample mean with its usual SE.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> tau = rng.exponential(2.0, size=4000)
    >>> res = censored_mean(np.where(tau <= 2.0, tau, np.inf), 2.0)   # 1518 of 4000 censored
    >>> res.mean, res.n_censored
    (Estimate(2.07899 +- 0.048), 1518)
    """
    horizon = check_positive(horizon, "horizon")
    t = np.asarray(times, dtype=float)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times must be a non-empty 1-d array, got shape {t.shape}")
    if np.isnan(t).any() or (t < 0).any():
        raise ValueError("times must be >= 0 (np.inf for a censored chain), got NaN or a negative value")
    t_a = 0.5 * horizon if tail_from is None else float(tail_from)
    if not 0.0 <= t_a < horizon:
        raise ValueError(f"tail_from must lie in [0, horizon) = [0, {plain(horizon)}), got {plain(tail_from)}")
    n = t.size
    observed = t <= horizon
    n_events = int(observed.sum())
    a = np.minimum(t, horizon)
    b = (~observed).astype(float)
    d = (observed & (t > t_a)).astype(float)
    r = np.maximum(a - t_a, 0.0)
    n_censored, n_tail = n - n_events, int(d.sum())
    if n_events == 0:
        bound = n * horizon / _ZERO_EVENT_BOUND
        raise NoPassageError(f"no chain arrived: all {n} chains are censored at the horizon {plain(horizon)}; "
                             f"the mean passage time exceeds {bound:.4g} with 95% confidence (exponential "
                             "passages). Run longer, or use a rare-event method")
    if n_censored and n_tail == 0:
        bound = horizon + r.sum() / _ZERO_EVENT_BOUND
        raise NoPassageError(f"{n_censored} of {n} chains are still running at the horizon {plain(horizon)} but "
                             f"none arrived in the tail window ({plain(t_a)}, {plain(horizon)}]: the tail of the "
                             "survival curve cannot be fitted (the survival has a plateau, e.g. chains trapped "
                             f"elsewhere); the remaining chains' passage times exceed about {bound:.4g}. Run longer")
    a_bar, b_bar = a.mean(), b.mean()
    if n_censored:
        d_bar, r_bar = d.mean(), r.mean()
        tail_mean = r_bar / d_bar
        influence = a + tail_mean * b - b_bar * r_bar / d_bar**2 * d + b_bar / d_bar * r
        tail_rate = 1.0 / tail_mean
    else:
        tail_mean, tail_rate, influence = 0.0, math.nan, a
    value = float(a_bar + b_bar * tail_mean)
    stderr = float(influence.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    event_times, counts = np.unique(t[observed], return_counts=True)
    survival = 1.0 - np.cumsum(counts) / n
    at_horizon = Estimate(float(b_bar), math.sqrt(b_bar * (1 - b_bar) / n))
    return CensoredMean(Estimate(value, stderr), float(a_bar), at_horizon,
                        float(tail_rate), t_a, horizon, n_events, n_censored, n_tail, event_times, survival)


_DIRECT_OPTIONS = ("dynamics", "tail_from", "monitoring_correction")


def mean_first_passage_time(landscape, start, target, *, temperature, step_size, n_chains=None, max_steps=None,
                            method="direct", seed=None, **options):
    """Mean first-passage time from a point into a core set, tau(start -> target).

    ``method="direct"``: ``n_chains`` chains of the Langevin dynamics
    dX = -grad L dt + sqrt(2T) dW, discretised as ULA
    x <- x - h grad L(x) + sqrt(2 h T) z (or MALA, ``dynamics="mala"``), start at
    ``start`` and run until they enter the ball ``target`` or ``max_steps``
    steps have passed. A chain's passage time is (steps) x h. Chains still
    outside at the end are censored: the mean comes from :func:`censored_mean`
    (Kaplan–Meier up to the horizon plus an exponential tail fitted on its
    late half; ``tail_from=0`` gives the censored exponential MLE).

    ``method="splitting"`` hands over to
    :func:`sandbox.splitting.ams_mean_first_passage_time` (adaptive
    multilevel splitting, for passages too rare to simulate directly), with
    ``temperature``, ``step_size``, ``seed`` and the ``options``; its sizes are
    among its options, so ``n_chains`` must be left unset (``max_steps``, if
    given, is passed on: splitting's cap on the steps of one trajectory).

    Parameters
    ----------
    landscape : models.Landscape
    start : array_like (d,)
        The start point, outside the target.
    target : (array_like (d,), float) or CoreSet
        The core set (center, radius): the closed ball the passage ends in.
    temperature, step_size : float > 0
        T and h. Times are in SDE units (steps x h).
    n_chains, max_steps : int >= 1
        Direct simulation's size: chains, and the horizon max_steps x h.
    method : {"direct", "splitting"}
    seed : int, SeedSequence, Generator or None
        Chain c's path is a pure function of (seed, c), whatever the thread count.
    **options
        direct: ``dynamics`` ("ula", default, or "mala"); ``tail_from`` (time, see
        :func:`censored_mean`); ``monitoring_correction`` (default True: the
        target radius is enlarged by 0.5826 sqrt(2 T h), which removes the
        O(sqrt h) delay of checking the ball only at the grid times; Broadie,
        Glasserman & Kou 1997, Math. Finance 7:325). splitting: the keywords
        of :func:`sandbox.splitting.ams_mean_first_passage_time` (``n_replicas``,
        ``n_runs``, ...), with ``dynamics`` for its ``method``.

    Returns
    -------
    PassageTime
        ``details`` holds the :class:`CensoredMean` (``"survival"``), the horizon, the
        monitored radius and, for MALA, the acceptance rate.

    Raises
    ------
    ValueError
        Bad input, including a start inside the target.
    NoPassageError
        No chain arrived (the message gives a lower bound on the MFPT).
    DivergenceError
        A chain's state became non-finite, or a landscape function raised.

    Examples
    --------
    >>> from models import double_well
    >>> res = mean_first_passage_time(double_well(), [-1.0], ([1.0], 0.5), temperature=0.5, step_size=1e-3,
    ...                               n_chains=200, max_steps=50_000, seed=0)
    >>> res.method, res.n_censored
    ('direct', 0)
    """
    check_choice(method, "method", ("direct", "splitting"))
    if method == "splitting":
        if n_chains is not None:
            raise ValueError("n_chains sizes direct simulation; with method='splitting' leave it unset and give "
                             "splitting's own sizes (n_replicas, n_runs, ...) as options")
        import inspect

        from sandbox.splitting import ams_mean_first_passage_time

        allowed = ["dynamics" if k == "method" else k
                   for k, v in inspect.signature(ams_mean_first_passage_time).parameters.items()
                   if v.kind is v.KEYWORD_ONLY and k not in ("temperature", "step_size", "seed")]
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ValueError(f"unknown option(s) {unknown} for method='splitting'; allowed: {allowed}")
        if "dynamics" in options:                  # "ula" or "mala", as for method="direct"
            options["method"] = options.pop("dynamics")
        if max_steps is not None:
            options["max_steps"] = max_steps
        return ams_mean_first_passage_time(landscape, start, target, temperature=temperature, step_size=step_size,
                                           seed=seed, **options)
    from sandbox.core_sets import as_core_sets
    from sandbox.transitions import run_milestones

    unknown = sorted(set(options) - set(_DIRECT_OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for method='direct'; allowed: {list(_DIRECT_OPTIONS)}")
    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a models.Landscape, got {type(landscape).__name__}")
    if n_chains is None or max_steps is None:
        raise ValueError("method='direct' needs n_chains and max_steps")
    temperature = check_positive(temperature, "temperature")
    h = check_positive(step_size, "step_size")
    n_chains = check_positive_int(n_chains, "n_chains")
    max_steps = check_positive_int(max_steps, "max_steps")
    dynamics = options.get("dynamics", "ula")
    check_choice(dynamics, "dynamics", ("ula", "mala"))
    d = landscape.dim
    start = as_finite_array(start, "start", shape=(d,))
    cores = as_core_sets(target, d, name="target", landscape=landscape)
    if len(cores) != 1:
        raise ValueError(f"target must be one core set (center, radius), got {len(cores)}")
    core = cores[0]
    distance = float(np.linalg.norm(start - core.center))
    if distance <= core.radius:
        raise ValueError(f"start must lie outside the target: it is {distance:.6g} from the target's center, "
                         f"within the radius {plain(core.radius)}")
    radius = core.radius
    if options.get("monitoring_correction", True):
        radius += MONITORING_BETA * math.sqrt(2.0 * h * temperature)
        if distance <= radius:
            raise ValueError(f"step_size is too large for this start: the monitoring correction "
                             f"{radius - core.radius:.3g} makes the target reach the start")
    run = run_milestones(landscape, np.array([core.center]), np.array([radius**2]),
                         np.broadcast_to(start, (n_chains, d)), dynamics=dynamics, temperature=temperature,
                         step_size=h, n_steps=max_steps, seed=seed, stop_at_first=True,
                         what="before reaching the target")
    times = np.where(run.first_step >= 0, run.first_step * h, np.inf)
    survival = censored_mean(times, max_steps * h, tail_from=options.get("tail_from"))
    value, stderr = survival.mean
    details = {"survival": survival, "horizon": max_steps * h, "monitored_radius": radius, "dynamics": dynamics,
               "tail_from": survival.tail_from}
    if dynamics == "mala":
        details["acceptance"] = run.acceptance
    return PassageTime(value, stderr, math.log(value), stderr / value, "direct", survival.n_events,
                       survival.n_censored, details)
