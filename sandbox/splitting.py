r"""Mean first-passage times of rare transitions by adaptive multilevel splitting (AMS).

Scope: the MFPT of ULA or MALA from a point ``start`` into a core set
``target`` when it is far too long to simulate (1e6 to 1e12 time units and
beyond), with a standard error from independent runs. Time is in SDE units,
steps x step_size (docs/conventions.md).

**Cycle decomposition** (Cérou, Guyader, Lelièvre & Pommier 2011, J. Chem.
Phys. 134:054108; Teo, Mayne, Schulten & Lelièvre 2016, J. Chem. Theory
Comput. 12:2983, eq. 4). Let A be the ball ``|x - start| <= start_radius``
and Sigma = {xi >= z_Sigma} a level set of a reaction coordinate xi a little
beyond A. A trajectory from A is a sequence of cycles A -> Sigma -> A; each
cycle ends in B (the target) instead of A with probability
p = P(reach B before A | start on Sigma at the cycle's entry law eta). With
i.i.d. cycles the number of failed ones before the first success is
geometric, and Wald's identity gives

.. math:: \tau = \Big(\frac{1}{p} - 1\Big)\, E[T_{\rm cycle}] + E[T_{\rm reac}],

with :math:`T_{\rm cycle}` the duration of a failed cycle and
:math:`T_{\rm reac} = T_{A \to \Sigma} + T_{\Sigma \to B}` that of the
successful one. E[T_cycle], E[T_{A->Sigma}] and samples of eta come from a
cheap direct simulation from ``start`` (``n_cycles`` cycles per replica);
p and E[T_{Sigma->B} | success] from AMS.

**AMS** (Cérou & Guyader 2007, Stoch. Anal. Appl. 25:417; the generalised,
unbiased form of Bréhier, Gazeau, Goudenège, Lelièvre & Rousset 2016, Ann.
Appl. Probab. 26:3559). N replicas start at entry points on Sigma and run
until they hit A or B. A replica's score is the largest xi on its path
(+inf if it reached B). At each iteration j the level Z_j is the smallest
score; all K_j replicas with score <= Z_j (ties included) are killed, each
replaced by a copy of a survivor drawn uniformly, branched at the first
point of the survivor's path where xi > Z_j and continued with fresh noise.
When every replica has reached B,

.. math:: \hat p = \prod_j \Big(1 - \frac{K_j}{N}\Big)

is an unbiased estimator of p for the discrete-time chain (Bréhier et al.
2016, Thm. 4.1), whatever xi (a poor xi costs variance, not bias). If all
replicas tie at a level (K_j = N, p estimate 0) or ``max_iterations`` pass
without reaching B, :class:`SplittingError` is raised: a rate of zero is
never reported.

Each run r gives (p_r, E[T_cycle]_r, E[T_reac]_r); tau uses their means over
runs (the mean of p_r is unbiased, so 1/mean is biased only by its relative
variance, of order -log p / (N n_runs)), and its standard error is the delta
method with the runs' sample covariance.

Every replica slot has its own xoshiro stream (:mod:`sandbox.streams`), used
by its pilot chain and by every trajectory simulated into that slot; each
run has one more stream for choosing survivors. A run executes on one
thread, so results are bitwise the same whatever the thread count.
"""
import math

import numba as nb
import numpy as np
from numba.core.registry import CPUDispatcher

from models.estimate import Estimate
from models.kernels import SLOTS, compile_slots, gradient, value, value_and_gradient
from models.landscape import Landscape
from models.validation import as_finite_array, check_choice, check_positive, check_positive_int, plain
from sandbox.core_sets import as_core_sets
from sandbox.dynamics import CAUSES
from sandbox.passage import PassageTime
from sandbox.simulate import DivergenceError
from sandbox.streams import chain_states, seed_sequence, standard_normals, uniforms

__all__ = ["ams_mean_first_passage_time", "SplittingError"]

# Reaction coordinates.
_HYPERBOLIC, _DIRECTION, _USER = 0, 1, 2
# Error codes of the kernels (0: none); 10 + CAUSE for a divergence.
_EXTINCT, _ITERATIONS, _STEPS, _COORDINATE, _TARGET_BEFORE_SIGMA = 1, 2, 3, 4, 5
_DIVERGED = 10


class SplittingError(RuntimeError):
    """The splitting could not estimate the probability: a level was never passed.

    Raised when every replica tied at a level (the estimate of p would be 0),
    when ``max_iterations`` passed before all replicas reached the target, or
    when a trajectory neither returned to the start set nor reached the
    target within ``max_steps``. The message says which, and what to change.
    """


# --------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------

@nb.njit(cache=True, inline="always")
def _coordinate(x, kind, start, center, direction, scale, cfns, cp):
    """xi(x); NaN if a user coordinate raised or was not finite."""
    if kind == _HYPERBOLIC:
        a = 0.0
        b = 0.0
        for i in range(x.size):
            u = x[i] - start[i]
            w = x[i] - center[i]
            a += u * u
            b += w * w
        return (math.sqrt(a) - math.sqrt(b) + scale) / (2.0 * scale)
    if kind == _DIRECTION:
        s = 0.0
        for i in range(x.size):
            s += (x[i] - start[i]) * direction[i]
        return s / scale
    status, xi = value(cfns, cp, x)
    if status != 0 or not math.isfinite(xi):
        return math.nan
    return xi


@nb.njit(cache=True, inline="always")
def _dist2(x, c):
    s = 0.0
    for i in range(x.size):
        t = x[i] - c[i]
        s += t * t
    return s


@nb.njit(cache=True)
def _prepare(fns, p, cur, g):
    """Evaluate (loss, gradient) at ``cur``: (cause, loss); cause 0 if finite."""
    status, loss = value_and_gradient(fns, p, cur, g)
    if status != 0:
        return 4, loss
    if not math.isfinite(loss):
        return 2, loss
    for i in range(g.size):
        if not math.isfinite(g[i]):
            return 3, loss
    return 0, loss


@nb.njit(cache=True, inline="always")
def _move(fns, p, cur, g, loss, prop, g_prop, z, u, st, h, scale, temperature, mala):
    """One ULA or MALA step of ``cur`` (gradient ``g``, loss ``loss``) in place: (cause, new loss)."""
    standard_normals(st, z)
    if not mala:
        s = 0.0
        for i in range(cur.size):
            cur[i] = cur[i] - h * g[i] + scale * z[i]
            s += cur[i]
        if not math.isfinite(s):
            return 1, loss
        if gradient(fns, p, cur, g) != 0:
            return 4, loss
        return 0, loss
    uniforms(st, u)
    forward = 0.0
    for i in range(cur.size):
        prop[i] = cur[i] - h * g[i] + scale * z[i]
        forward += z[i] * z[i]
    status, l_prop = value_and_gradient(fns, p, prop, g_prop)
    if status != 0:
        return 4, loss
    if math.isnan(l_prop):
        return 2, loss
    backward = 0.0
    for i in range(cur.size):
        e = cur[i] - prop[i] + h * g_prop[i]
        backward += e * e
    if math.isnan(backward):
        return 3, loss
    log_alpha = -(l_prop - loss) / temperature - backward / (4.0 * h * temperature) + 0.5 * forward
    if math.isfinite(log_alpha) and math.log(u[0]) < log_alpha:
        cur[:] = prop
        g[:] = g_prop
        return 0, l_prop
    return 0, loss


@nb.njit(cache=True, parallel=True)
def _pilot(fns, p, x0, states, h, scale, temperature, mala, kind, center, direction, xscale, cfns, cp,
           radius_a2, radius_b2, z_sigma, n_cycles, max_steps, entry, cycle_steps, reach_steps, n_reach,
           n_success, n_steps, error, error_step, abort):
    """Direct simulation from x0: ``n_cycles`` failed cycles A -> Sigma -> A per chain, then one more
    entry into Sigma, whose point is the chain's replica start."""
    n, d = entry.shape
    for c in nb.prange(n):
        st = states[c]
        cur = x0.copy()
        g = np.empty(d)
        prop = np.empty(d)
        g_prop = np.empty(d)
        z = np.empty(d)
        u = np.empty(1)
        cause, loss = _prepare(fns, p, cur, g)
        if cause:
            error[c], error_step[c] = _DIVERGED + cause, 0
            continue
        phase = 1
        t = 0
        t_cycle = 0
        t_segment = 0
        done = 0
        while True:
            if abort[0] != 0:
                break
            cause, loss = _move(fns, p, cur, g, loss, prop, g_prop, z, u, st, h, scale, temperature, mala)
            t += 1
            if cause:
                error[c], error_step[c] = _DIVERGED + cause, t
                abort[0] = 1
                break
            if t - t_segment > max_steps:
                error[c], error_step[c] = _STEPS, t
                abort[0] = 1
                break
            in_b = _dist2(cur, center) <= radius_b2
            if phase == 1:
                if in_b:
                    error[c], error_step[c] = _TARGET_BEFORE_SIGMA, t
                    abort[0] = 1
                    break
                xi = _coordinate(cur, kind, x0, center, direction, xscale, cfns, cp)
                if math.isnan(xi):
                    error[c], error_step[c] = _COORDINATE, t
                    abort[0] = 1
                    break
                if xi >= z_sigma:
                    reach_steps[c] += t - t_cycle
                    n_reach[c] += 1
                    if done == n_cycles:
                        entry[c, :] = cur
                        break
                    phase = 2
                    t_segment = t
            elif in_b:
                # a direct success: start afresh from x0 (not a failed cycle)
                n_success[c] += 1
                cur[:] = x0
                cause, loss = _prepare(fns, p, cur, g)
                phase = 1
                t_cycle = t
                t_segment = t
            elif _dist2(cur, x0) <= radius_a2:
                cycle_steps[c] += t - t_cycle
                done += 1
                phase = 1
                t_cycle = t
                t_segment = t
        n_steps[c] = t


@nb.njit(cache=True)
def _grow(rec_xi, rec_x, rec_t):
    n, cap = rec_xi.shape
    new_xi = np.empty((n, 2 * cap))
    new_x = np.empty((n, 2 * cap, rec_x.shape[2]))
    new_t = np.empty((n, 2 * cap), dtype=np.int64)
    new_xi[:, :cap] = rec_xi
    new_x[:, :cap, :] = rec_x
    new_t[:, :cap] = rec_t
    return new_xi, new_x, new_t


@nb.njit(cache=True)
def _simulate_replica(i, rec_xi, rec_x, rec_t, n_rec, score, end_step, fns, p, x0, st, h, scale, temperature,
                      mala, kind, center, direction, xscale, cfns, cp, radius_a2, radius_b2, max_steps, work):
    """Continue replica ``i`` from its only record (n_rec[i] == 1) until it hits A or B.

    Records are the points where xi reaches a new maximum (its first crossing of
    every level), with their step counts since the entry into Sigma; the
    entry into B is recorded with xi = +inf. Returns (error code, steps taken,
    record arrays, grown if needed).
    """
    d = x0.size
    cur, g, prop, g_prop, z, u = work[0], work[1], work[2], work[3], work[4], work[5, :1]
    cur[:] = rec_x[i, 0]
    best = rec_xi[i, 0]
    t = rec_t[i, 0]
    t_start = t
    if best == math.inf:  # branched at the parent's entry into B
        score[i], end_step[i] = math.inf, t
        return 0, 0, rec_xi, rec_x, rec_t
    cause, loss = _prepare(fns, p, cur, g)
    if cause:
        return _DIVERGED + cause, 0, rec_xi, rec_x, rec_t
    while True:
        cause, loss = _move(fns, p, cur, g, loss, prop, g_prop, z, u, st, h, scale, temperature, mala)
        t += 1
        if cause:
            return _DIVERGED + cause, t - t_start, rec_xi, rec_x, rec_t
        if t - t_start > max_steps:
            return _STEPS, t - t_start, rec_xi, rec_x, rec_t
        if _dist2(cur, center) <= radius_b2:
            xi = math.inf
        elif _dist2(cur, x0) <= radius_a2:
            score[i], end_step[i] = best, t
            return 0, t - t_start, rec_xi, rec_x, rec_t
        else:
            xi = _coordinate(cur, kind, x0, center, direction, xscale, cfns, cp)
            if math.isnan(xi):
                return _COORDINATE, t - t_start, rec_xi, rec_x, rec_t
        if xi > best:
            best = xi
            k = n_rec[i]
            if k == rec_xi.shape[1]:
                rec_xi, rec_x, rec_t = _grow(rec_xi, rec_x, rec_t)
            rec_xi[i, k] = xi
            rec_x[i, k, :] = cur
            rec_t[i, k] = t
            n_rec[i] = k + 1
        if xi == math.inf:
            score[i], end_step[i] = math.inf, t
            return 0, t - t_start, rec_xi, rec_x, rec_t


@nb.njit(cache=True, parallel=True)
def _ams(fns, p, x0, entry, states, run_states, h, scale, temperature, mala, kind, center, direction,
         xscale, cfns, cp, radius_a2, radius_b2, max_steps, max_iterations, log_p, n_iterations, reactive_steps,
         n_steps, error, error_level):
    """One AMS run per prange iteration; replica slot i of run r uses stream r * N + i."""
    n_runs = log_p.size
    n_rep = entry.shape[0] // n_runs
    d = x0.size
    for r in nb.prange(n_runs):
        cap = 64
        rec_xi = np.empty((n_rep, cap))
        rec_x = np.empty((n_rep, cap, d))
        rec_t = np.zeros((n_rep, cap), dtype=np.int64)
        n_rec = np.zeros(n_rep, dtype=np.int64)
        score = np.empty(n_rep)
        end_step = np.zeros(n_rep, dtype=np.int64)
        work = np.empty((6, max(d, 1)))
        pick = np.empty(1)
        survivors = np.empty(n_rep, dtype=np.int64)
        steps = 0
        code = 0
        for i in range(n_rep):
            rec_xi[i, 0] = _coordinate(entry[r * n_rep + i], kind, x0, center, direction, xscale, cfns, cp)
            if math.isnan(rec_xi[i, 0]):
                code = _COORDINATE
                break
            rec_x[i, 0, :] = entry[r * n_rep + i]
            rec_t[i, 0] = 0
            n_rec[i] = 1
            code, taken, rec_xi, rec_x, rec_t = _simulate_replica(
                i, rec_xi, rec_x, rec_t, n_rec, score, end_step, fns, p, x0, states[r * n_rep + i], h, scale,
                temperature, mala, kind, center, direction, xscale, cfns, cp, radius_a2, radius_b2, max_steps, work)
            steps += taken
            if code:
                break
        lp = 0.0
        it = 0
        level = -math.inf
        while code == 0:
            level = score.min()
            if level == math.inf:
                break
            n_surv = 0
            for i in range(n_rep):
                if score[i] > level:
                    survivors[n_surv] = i
                    n_surv += 1
            if n_surv == 0:
                code = _EXTINCT
                break
            if it == max_iterations:
                code = _ITERATIONS
                break
            it += 1
            lp += math.log1p(-(n_rep - n_surv) / n_rep)
            for i in range(n_rep):
                if score[i] > level:
                    continue
                uniforms(run_states[r], pick)
                j = survivors[min(int(pick[0] * n_surv), n_surv - 1)]
                m = np.searchsorted(rec_xi[j, :n_rec[j]], level, side="right")
                rec_xi[i, 0] = rec_xi[j, m]
                rec_x[i, 0, :] = rec_x[j, m]
                rec_t[i, 0] = rec_t[j, m]
                n_rec[i] = 1
                code, taken, rec_xi, rec_x, rec_t = _simulate_replica(
                    i, rec_xi, rec_x, rec_t, n_rec, score, end_step, fns, p, x0, states[r * n_rep + i], h, scale,
                    temperature, mala, kind, center, direction, xscale, cfns, cp, radius_a2, radius_b2, max_steps,
                    work)
                steps += taken
                if code:
                    break
        log_p[r] = lp
        n_iterations[r] = it
        reactive_steps[r] = end_step.mean()
        n_steps[r] = steps
        error[r] = code
        error_level[r] = level


# --------------------------------------------------------------------------
# Python wrapper
# --------------------------------------------------------------------------

def _user_coordinate(function, d):
    """The value slot of a user's njit xi(x) -> float, compiled as a landscape slot (exceptions caught)."""
    if not isinstance(function, CPUDispatcher):
        raise ValueError("reaction_coordinate must be None, a direction vector (d,) or a numba.njit function "
                         f"xi(x) -> float; got {type(function).__name__}")

    @nb.njit
    def xi(x, p):
        return function(x)

    try:
        xi.compile((nb.types.float64[::1], nb.types.float64[::1]))
    except Exception as err:  # numba's typing errors have no common base worth naming
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"reaction_coordinate must have the signature xi(x) -> float with x a float64 array "
                         f"(d,); numba could not compile {function.__name__} for it: {first}") from None
    addresses, keep = compile_slots({"value": xi, "gradient": xi}, ("value",), cache=False)
    return addresses, keep, lambda x: float(xi(np.ascontiguousarray(x, dtype=float), np.zeros(0)))


def _default_start_radius(landscape, start, unit, temperature):
    """Half the thermal length sqrt(T / kappa) along the direction to the target, kappa = e^T H(start) e."""
    try:
        hess = np.asarray(landscape.hessian(start), dtype=float)
        kappa = float(unit @ hess @ unit)
        positive = bool(np.all(np.linalg.eigvalsh(hess) > 0))
    except (ValueError, NotImplementedError, np.linalg.LinAlgError):
        kappa, positive = math.nan, False
    if not (positive and math.isfinite(kappa) and kappa > 0):
        raise ValueError("start_radius must be given when start is not a strict minimum of the landscape "
                         "(its Hessian there is not positive definite or not available)")
    return 0.5 * math.sqrt(temperature / kappa)


def ams_mean_first_passage_time(landscape, start, target, *, temperature, step_size, n_replicas=100, n_runs=10,
                                reaction_coordinate=None, start_radius=None, sigma_level=None, n_cycles=10,
                                method="ula", seed=None, max_iterations=None, max_steps=10_000_000):
    r"""Mean first-passage time from ``start`` into ``target`` by adaptive multilevel splitting.

    tau = (1/p - 1) E[T_cycle] + E[T_reac] (module docstring; Teo et al.
    2016, eq. 4), p from AMS (Bréhier et al. 2016), the cycle times from a
    direct simulation. Dynamics: ULA, x <- x - h grad L(x) + sqrt(2 h T) z,
    or MALA; time = steps x h. The estimate is that of the discrete-time
    chain: ULA's MFPT differs from the SDE's by O(h) (measured on the 1-d
    double well at T = 0.05: see docs), MALA's too (its dynamics are not
    exact, only its stationary law).

    Parameters
    ----------
    landscape : models.Landscape
    start : array_like (d,)
        The starting point, normally a minimum.
    target : (center, radius) or CoreSet
        The core set to reach; it must contain a minimum.
    temperature, step_size : float > 0
        T and h.
    n_replicas : int >= 2
        N, replicas per AMS run. The relative variance of one run's p is
        about -log(p) / N when xi orders states like the committor.
    n_runs : int >= 2
        Independent runs (own pilot, own AMS); their spread gives the
        standard error.
    reaction_coordinate : None, array_like (d,) or numba.njit function
        xi, increasing from start to target. None: the distance difference
        xi(x) = (|x - start| - |x - c| + D) / (2 D), c the target's center,
        D = |c - start|, which is 0 at start, 1 at c and, between them on the
        line, the projection onto it (in 1-d the committor's ordering, the
        best possible). A vector v: xi(x) = <x - start, v> / <c - start, v>.
        A function: ``xi(x) -> float`` on a float64 array (d,).
    start_radius : float > 0, optional
        Radius of A, the ball around start where cycles begin and end.
        Default: half the thermal length sqrt(T / kappa), kappa the curvature
        e^T H(start) e along the unit vector e towards the target.
    sigma_level : float, optional
        z_Sigma: a cycle reaches Sigma when xi >= z_Sigma. Default xi at
        start + 3 start_radius e (for the built-in coordinates, 3
        start_radius / D).
    n_cycles : int >= 1
        Failed cycles per replica in the pilot (N n_cycles per run).
    method : {"ula", "mala"}
    seed : int, SeedSequence, Generator or None
    max_iterations : int >= 1, optional
        AMS iterations per run before :class:`SplittingError` (default
        200 N: p down to about e^-200).
    max_steps : int >= 1
        Steps allowed for one trajectory segment (A -> Sigma, Sigma -> A or
        B) before :class:`SplittingError`.

    Returns
    -------
    sandbox.passage.PassageTime
        ``method="splitting"``, ``n_events`` = replicas that reached the
        target (N n_runs), ``n_censored`` = 0. ``details``: ``p`` (Estimate
        of the mean of p over runs), ``log_p_runs``, ``cycle_time`` and
        ``reactive_time`` (Estimates), ``n_iterations`` per run,
        ``pilot_successes`` (direct A -> B events in the pilot),
        ``start_radius``, ``sigma_level``, ``steps`` (all steps simulated),
        ``tau_runs`` (each run's own tau).

    Raises
    ------
    ValueError
        Bad input: T or h <= 0, start inside the target, A touching the
        target, a coordinate that does not increase from start to target.
    SplittingError
        The splitting stalled (see the class); never a rate of zero.
    DivergenceError
        A trajectory's state, loss or gradient became non-finite.

    Examples
    --------
    >>> from models import double_well
    >>> res = ams_mean_first_passage_time(double_well(), [-1.0], ([1.0], 0.1), temperature=0.1,
    ...                                   step_size=1e-3, seed=0)
    >>> 1e4 < res.value < 3e4   # exact (1-d double-integral formula): 1.9e4
    True
    """
    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a models.Landscape, got {type(landscape).__name__}")
    temperature = check_positive(temperature, "temperature")
    h = check_positive(step_size, "step_size")
    n_rep = check_positive_int(n_replicas, "n_replicas")
    n_runs = check_positive_int(n_runs, "n_runs")
    for name, v in (("n_replicas", n_rep), ("n_runs", n_runs)):
        if v < 2:
            raise ValueError(f"{name} must be at least 2, got {v}")
    n_cycles = check_positive_int(n_cycles, "n_cycles")
    max_steps = check_positive_int(max_steps, "max_steps")
    max_iterations = 200 * n_rep if max_iterations is None else check_positive_int(max_iterations, "max_iterations")
    check_choice(method, "method", ("ula", "mala"))
    d = landscape.dim
    x0 = as_finite_array(start, "start", shape=(d,))
    (core,) = as_core_sets(target, d, name="target", landscape=landscape)
    center, radius_b = core.center, core.radius
    dist = float(np.linalg.norm(center - x0))
    if dist <= radius_b:
        raise ValueError(f"start lies inside the target: it is {plain(dist)} from the center, within the radius "
                         f"{plain(radius_b)}")
    unit = (center - x0) / dist
    if start_radius is None:
        radius_a = _default_start_radius(landscape, x0, unit, temperature)
    else:
        radius_a = check_positive(start_radius, "start_radius")
    if radius_a + radius_b >= dist:
        raise ValueError(f"start_radius {plain(radius_a)} is too large: the start set |x - start| <= start_radius "
                         f"must not touch the target (distance {plain(dist)}, target radius {plain(radius_b)})")

    cfns, cp, keep = np.zeros(len(SLOTS), dtype=np.int64), np.zeros(0), ()
    direction = np.zeros(d)
    if reaction_coordinate is None:
        kind, xscale = _HYPERBOLIC, dist
        xi_target_min = 1.0 - radius_b / dist

        def xi_of(x):
            return (np.linalg.norm(x - x0) - np.linalg.norm(x - center) + dist) / (2 * dist)
    elif isinstance(reaction_coordinate, CPUDispatcher):
        kind, xscale, xi_target_min = _USER, 1.0, None
        cfns, keep, xi_of = _user_coordinate(reaction_coordinate, d)
    else:
        if callable(reaction_coordinate):
            _user_coordinate(reaction_coordinate, d)  # raises the message for non-njit callables
        direction = as_finite_array(reaction_coordinate, "reaction_coordinate", shape=(d,))
        xscale = float(direction @ (center - x0))
        if not xscale > 0:
            raise ValueError("reaction_coordinate (a direction v) must point from start towards the target: "
                             f"<c - start, v> = {plain(xscale)} is not positive")
        kind = _DIRECTION
        xi_target_min = 1.0 - radius_b * np.linalg.norm(direction) / xscale

        def xi_of(x):
            return float((x - x0) @ direction) / xscale
    xi_start, xi_center = xi_of(x0), xi_of(center)
    if sigma_level is None:
        z_sigma = xi_of(x0 + 3.0 * radius_a * unit)
    else:
        z_sigma = float(sigma_level)
    if not (math.isfinite(xi_start) and math.isfinite(xi_center) and xi_start < z_sigma < xi_center):
        raise ValueError(f"the reaction coordinate must increase from start to target through sigma_level: "
                         f"xi(start) = {plain(xi_start)}, sigma_level = {plain(z_sigma)}, "
                         f"xi(target center) = {plain(xi_center)}")
    if xi_target_min is not None and z_sigma >= xi_target_min:
        raise ValueError(f"sigma_level {plain(z_sigma)} reaches into the target (xi >= {plain(xi_target_min)} "
                         "there): choose a smaller start_radius or sigma_level")

    kernel = landscape.compiled(("value", "gradient", "value_and_gradient"))
    scale = math.sqrt(2.0 * h * temperature)
    mala = method == "mala"
    n_chains = n_runs * n_rep
    all_states = chain_states(seed_sequence(seed), n_chains + n_runs)
    states, run_states = all_states[:n_chains].copy(), all_states[n_chains:].copy()
    ra2, rb2 = radius_a ** 2, radius_b ** 2
    common = (kernel.addresses, kernel.params, x0)

    entry = np.zeros((n_chains, d))
    cycle_steps = np.zeros(n_chains, dtype=np.int64)
    reach_steps = np.zeros(n_chains, dtype=np.int64)
    n_reach = np.zeros(n_chains, dtype=np.int64)
    n_success = np.zeros(n_chains, dtype=np.int64)
    pilot_steps = np.zeros(n_chains, dtype=np.int64)
    error = np.zeros(n_chains, dtype=np.int64)
    error_step = np.zeros(n_chains, dtype=np.int64)
    _pilot(*common, states, h, scale, temperature, mala, kind, center, direction, xscale, cfns, cp, ra2, rb2,
           z_sigma, n_cycles, max_steps, entry, cycle_steps, reach_steps, n_reach, n_success, pilot_steps, error,
           error_step, np.zeros(1, dtype=np.int64))
    _raise_pilot_errors(error, error_step, max_steps, z_sigma)

    log_p = np.zeros(n_runs)
    n_iterations = np.zeros(n_runs, dtype=np.int64)
    reactive_steps = np.zeros(n_runs)
    ams_steps = np.zeros(n_runs, dtype=np.int64)
    run_error = np.zeros(n_runs, dtype=np.int64)
    error_level = np.zeros(n_runs)
    _ams(*common, entry, states, run_states, h, scale, temperature, mala, kind, center, direction,
         xscale, cfns, cp, ra2, rb2, max_steps, max_iterations, log_p, n_iterations, reactive_steps, ams_steps,
         run_error, error_level)
    del keep
    _raise_ams_errors(run_error, error_level, max_iterations, max_steps, xi_center, n_rep)

    per_run = lambda a: a.reshape(n_runs, n_rep).sum(axis=1)  # noqa: E731
    cycle_time = h * per_run(cycle_steps) / (n_cycles * n_rep)
    reach_time = h * per_run(reach_steps) / per_run(n_reach)
    reactive_time = reach_time + h * reactive_steps
    return _combine(log_p, cycle_time, reactive_time, n_rep, n_iterations, per_run(n_success),
                    int(pilot_steps.sum() + ams_steps.sum()), radius_a, z_sigma)


def _combine(log_p, cycle_time, reactive_time, n_rep, n_iterations, pilot_successes, steps, radius_a, z_sigma):
    """tau = L (1/p - 1) + R from the run means, with the delta-method standard error."""
    n_runs = log_p.size
    log_pbar = np.logaddexp.reduce(log_p) - math.log(n_runs)
    q = np.exp(log_p - log_pbar)                 # p_r / mean p: mean 1
    big_l, big_r = cycle_time.mean(), reactive_time.mean()
    inv_p = math.exp(-log_pbar)
    tau = big_l * (inv_p - 1.0) + big_r
    # d tau / d(mean q) at mean q = 1 (p = pbar q): -L / pbar; d/dL: 1/pbar - 1; d/dR: 1
    grad = np.array([-big_l * inv_p, inv_p - 1.0, 1.0])
    cov = np.cov(np.vstack([q, cycle_time, reactive_time])) / n_runs
    stderr = float(math.sqrt(max(grad @ cov @ grad, 0.0)))
    tau_runs = cycle_time * (np.exp(-log_p) - 1.0) + reactive_time
    details = {
        "p": Estimate(float(math.exp(log_pbar)), float(math.exp(log_pbar) * q.std(ddof=1) / math.sqrt(n_runs))),
        "log_p_runs": log_p.copy(),
        "cycle_time": Estimate(float(big_l), float(cycle_time.std(ddof=1) / math.sqrt(n_runs))),
        "reactive_time": Estimate(float(big_r), float(reactive_time.std(ddof=1) / math.sqrt(n_runs))),
        "n_iterations": n_iterations.copy(),
        "pilot_successes": int(pilot_successes.sum()),
        "start_radius": float(radius_a),
        "sigma_level": float(z_sigma),
        "steps": steps,
        "tau_runs": tau_runs,
    }
    return PassageTime(float(tau), stderr, float(math.log(tau)), stderr / float(tau), "splitting",
                       int(n_rep * n_runs), 0, details)


def _raise_pilot_errors(error, error_step, max_steps, z_sigma):
    bad = np.flatnonzero(error)
    if not bad.size:
        return
    c = int(bad[0])
    code = int(error[c])
    if code >= _DIVERGED:
        raise DivergenceError(f"pilot chain {c} stopped at step {int(error_step[c])} "
                              f"({CAUSES[code - _DIVERGED]})")
    if code == _STEPS:
        raise SplittingError(f"pilot chain {c} spent more than max_steps={max_steps} steps in one segment of a "
                             f"cycle (start set -> sigma_level {plain(z_sigma)} -> start set): the start set or "
                             "the level is not reached; increase start_radius, lower sigma_level or raise max_steps")
    if code == _COORDINATE:
        raise ValueError(f"reaction_coordinate raised or returned a non-finite value (pilot chain {c}, step "
                         f"{int(error_step[c])})")
    raise SplittingError(f"pilot chain {c} entered the target before reaching sigma_level {plain(z_sigma)}: the "
                         "reaction coordinate must be larger on the target than on Sigma; lower sigma_level")


def _raise_ams_errors(error, level, max_iterations, max_steps, xi_center, n_rep):
    bad = np.flatnonzero(error)
    if not bad.size:
        return
    r = int(bad[0])
    code, z = int(error[r]), plain(float(level[r]))
    if code >= _DIVERGED:
        raise DivergenceError(f"a trajectory of AMS run {r} stopped ({CAUSES[code - _DIVERGED]})")
    if code == _EXTINCT:
        raise SplittingError(f"AMS run {r}: all {n_rep} replicas tied at level xi = {z}, so the estimate of p is 0 "
                             "and the target is not reached; use a reaction coordinate that keeps increasing "
                             "towards the target (xi at its center: "
                             f"{plain(xi_center)}) or more replicas")
    if code == _ITERATIONS:
        raise SplittingError(f"AMS run {r} did not reach the target in max_iterations={max_iterations}: the level "
                             f"got to xi = {z} (the target's center is at {plain(xi_center)}); the event is rarer "
                             "than max_iterations allows (p below about exp(-max_iterations / n_replicas)) or the "
                             "coordinate does not lead to the target; raise max_iterations or the temperature")
    if code == _STEPS:
        raise SplittingError(f"AMS run {r}: a trajectory neither returned to the start set nor reached the target "
                             f"in max_steps={max_steps} steps (last level xi = {z}): raise max_steps")
    raise ValueError(f"reaction_coordinate raised or returned a non-finite value (AMS run {r})")
