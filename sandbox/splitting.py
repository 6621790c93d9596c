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
p = P(reach B before A | start on Sigma at the cycles' entry law eta). With
i.i.d. cycles the number of failed ones before the first success is
geometric, and Wald's identity gives, for the MFPT from ``start`` = x0,

.. math:: \tau = \Big(\frac{1}{p} - 1\Big)\, E[T_{\rm cycle}] + E[T_{x_0 \to \Sigma}]
          + E[T_{\Sigma \to B} \mid B],

T_cycle the duration of a failed cycle from an entry into A (the first
passage x0 -> Sigma replaces the first cycle's A -> Sigma leg: tau(x0) =
tau(A) + E[T_{x0->Sigma}] - E[T_{A->Sigma}]). E[T_cycle], E[T_{x0->Sigma}]
and samples of eta come from a cheap direct simulation from x0 (a first
passage, then ``n_cycles`` cycles per replica); p and
E[T_{Sigma->B} | B] come from AMS. The only approximation is that
successive cycles are independent (A small, so that a cycle forgets where
the previous one entered A).

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
from typing import NamedTuple

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

__all__ = ["ams_mean_first_passage_time", "ams_probability", "ReachProbability", "SplittingError"]

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
def _pilot(fns, p, h, scale, temperature, mala, x0, states, kind, center, direction, xscale, cfns, cp,
           radius_a2, radius_b2, z_sigma, n_cycles, max_steps, entry, cycle_steps, reach_steps, n_reach,
           n_success, n_steps, error, error_step, abort):
    """Direct simulation from x0, per chain: a first passage x0 -> Sigma (its steps summed in
    ``reach_steps``, counted in ``n_reach``), its return to A, then ``n_cycles`` failed cycles
    A -> Sigma -> A (steps summed in ``cycle_steps``), then one more entry into Sigma, whose point is
    the chain's replica start. A chain that reaches B from Sigma (a direct success, counted in
    ``n_success``) starts afresh from x0."""
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
        phase = 0          # 0: x0 -> Sigma, 1: A -> Sigma, 2: Sigma -> A or B
        recording = False  # whether the cycle under way started at an entry into A
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
            if phase != 2:
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
                    if phase == 0:
                        reach_steps[c] += t - t_cycle
                        n_reach[c] += 1
                    elif done == n_cycles:
                        entry[c, :] = cur
                        break
                    phase = 2
                    t_segment = t
            elif in_b:
                n_success[c] += 1
                cur[:] = x0
                cause, loss = _prepare(fns, p, cur, g)
                phase = 0
                recording = False
                t_cycle = t
                t_segment = t
            elif _dist2(cur, x0) <= radius_a2:
                if recording:
                    cycle_steps[c] += t - t_cycle
                    done += 1
                recording = True
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
def _ams(fns, p, h, scale, temperature, mala, x0, entry, states, run_states, kind, center, direction,
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
        log_p[r] = -math.inf if code == _EXTINCT else lp
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
    chain: ULA's MFPT differs from the SDE's by O(h). Measured on the 1-d
    double well (U'' = 8 at the minima) against the exact formula, with
    50 000-100 000 replicas per point: at T = 0.1 the ratio was 0.990,
    0.987, 0.985 (+- 0.010) for h = 0.016, 0.008, 0.004; at T = 0.05,
    1.019, 1.051, 0.994 (+- 0.025) for the same h: no bias resolved at the
    1-3% level for h <= 0.016. MALA is not better: 1.106 +- 0.035 at T = 0.1,
    h = 0.016 (rejections slow the dynamics; only its stationary law is
    exact).

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
        ``pilot_successes`` (direct Sigma -> B events in the pilot), ``n_extinct`` (runs whose
        replicas all tied at a level: their p estimate 0 is kept in the mean, which stays unbiased;
        if every run dies out, SplittingError),
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
    ...                                   step_size=4e-3, seed=0)
    >>> exact = 25526.6   # the 1-d double-integral formula
    >>> abs(res.value - exact) < 5 * res.stderr
    True
    """
    temperature, h, n_rep, n_runs, max_iterations, max_steps = _check_common(
        landscape, temperature, step_size, n_replicas, n_runs, max_iterations, max_steps, method)
    n_cycles = check_positive_int(n_cycles, "n_cycles")
    d = landscape.dim
    x0 = as_finite_array(start, "start", shape=(d,))
    (core,) = as_core_sets(target, d, name="target", landscape=landscape)
    dist = float(np.linalg.norm(core.center - x0))
    if dist <= core.radius:
        raise ValueError(f"start lies inside the target: it is {plain(dist)} from the center, within the radius "
                         f"{plain(core.radius)}")
    unit = (core.center - x0) / dist
    if start_radius is None:
        radius_a = _default_start_radius(landscape, x0, unit, temperature)
    else:
        radius_a = check_positive(start_radius, "start_radius")
    if radius_a + core.radius >= dist:
        raise ValueError(f"start_radius {plain(radius_a)} is too large: the start set |x - start| <= start_radius "
                         f"must not touch the target (distance {plain(dist)}, target radius {plain(core.radius)})")
    xi = _Coordinate(reaction_coordinate, x0, core, d)
    z_sigma = xi(x0 + 3.0 * radius_a * unit) if sigma_level is None else float(sigma_level)
    if not (xi.at_start < z_sigma < xi.at_center):
        raise ValueError(f"the reaction coordinate must increase from start to target through sigma_level: "
                         f"xi(start) = {plain(xi.at_start)}, sigma_level = {plain(z_sigma)}, "
                         f"xi(target center) = {plain(xi.at_center)}")
    if z_sigma >= xi.on_target:
        raise ValueError(f"sigma_level {plain(z_sigma)} reaches into the target (xi >= {plain(xi.on_target)} "
                         "there): choose a smaller start_radius or sigma_level")

    dyn = _Dynamics(landscape, temperature, h, method)
    n_chains = n_runs * n_rep
    all_states = chain_states(seed_sequence(seed), n_chains + n_runs)
    states, run_states = all_states[:n_chains].copy(), all_states[n_chains:].copy()
    ra2, rb2 = radius_a ** 2, core.radius ** 2

    entry = np.zeros((n_chains, d))
    cycle_steps, reach_steps, n_reach, n_success, pilot_steps, error, error_step = (
        np.zeros(n_chains, dtype=np.int64) for _ in range(7))
    _pilot(*dyn.args, x0, states, *xi.args, ra2, rb2, z_sigma, n_cycles, max_steps, entry, cycle_steps,
           reach_steps, n_reach, n_success, pilot_steps, error, error_step, np.zeros(1, dtype=np.int64))
    _raise_pilot_errors(error, error_step, max_steps, z_sigma)

    log_p, n_iterations, reactive_steps, ams_steps = _run_ams(dyn, xi, x0, ra2, rb2, entry, states, run_states,
                                                              max_iterations, max_steps, n_rep)
    per_run = lambda a: a.reshape(n_runs, n_rep).sum(axis=1)  # noqa: E731
    cycle_time = h * per_run(cycle_steps) / (n_cycles * n_rep)
    reach_time = h * per_run(reach_steps) / per_run(n_reach)
    reactive_time = reach_time + h * reactive_steps
    return _combine(log_p, cycle_time, reactive_time, n_rep, n_iterations, per_run(n_success),
                    int(pilot_steps.sum() + ams_steps.sum()), radius_a, z_sigma)


class ReachProbability(NamedTuple):
    """Result of :func:`ams_probability`.

    ``value``, ``stderr``: the mean of the runs' estimates (each unbiased)
    and its standard error (sample std / sqrt(n_runs)); ``log_p_runs``: each
    run's log estimate; ``n_iterations``: AMS iterations per run; ``steps``:
    steps simulated in all; ``n_extinct``: runs in which all replicas tied at a
    level, whose estimate is 0 (kept in the mean: that is what makes it
    unbiased).
    """

    value: float
    stderr: float
    log_p_runs: np.ndarray
    n_iterations: np.ndarray
    steps: int
    n_extinct: int


def ams_probability(landscape, start, target, avoid, *, temperature, step_size, n_replicas=100, n_runs=10,
                    reaction_coordinate=None, method="ula", seed=None, max_iterations=None, max_steps=10_000_000):
    """Probability that the chain started at ``start`` enters ``target`` before ``avoid``, by AMS.

    The committor q(x) = P_x(tau_B < tau_A) of the discrete-time chain (ULA
    or MALA), estimated by the generalised AMS of Bréhier et al. (2016): all
    N replicas start at x, and the product prod_j (1 - K_j / N) of each run
    is an unbiased estimator of q(x) for any N >= 2 and any reaction
    coordinate (module docstring). The chain is checked against A and B
    after every step, not at the start point.

    Parameters
    ----------
    landscape : models.Landscape
    start : array_like (d,)
    target, avoid : (center, radius) or CoreSet
        B and A, disjoint balls (no minimum needed in either).
    temperature, step_size, n_replicas, n_runs, reaction_coordinate, method, seed, max_iterations, max_steps
        As in :func:`ams_mean_first_passage_time`, with A's center in the
        role of ``start`` for the default coordinate.

    Returns
    -------
    ReachProbability

    Examples
    --------
    Free diffusion (U = 0) on [0, 1] from x: q(x) = x, up to O(sqrt(h T)) overshoot.

    >>> from models import Symbolic
    >>> free = Symbolic("0*x", ["x"])
    >>> res = ams_probability(free, [0.2], ([2.0], 1.0), ([-1.0], 1.0), temperature=1.0, step_size=1e-5,
    ...                       n_replicas=20, n_runs=20, seed=0)
    >>> abs(res.value - 0.2) < 5 * res.stderr + 0.01
    True
    """
    temperature, h, n_rep, n_runs, max_iterations, max_steps = _check_common(
        landscape, temperature, step_size, n_replicas, n_runs, max_iterations, max_steps, method)
    d = landscape.dim
    x = as_finite_array(start, "start", shape=(d,))
    core_b, core_a = as_core_sets([target, avoid], d, name="[target, avoid]", min_count=2)
    for core, name in ((core_b, "target"), (core_a, "avoid")):
        if core.contains(x):
            raise ValueError(f"start lies inside {name}: it is {plain(np.linalg.norm(x - core.center))} from the "
                             f"center, within the radius {plain(core.radius)}")
    xi = _Coordinate(reaction_coordinate, core_a.center, core_b, d)
    dyn = _Dynamics(landscape, temperature, h, method)
    n_chains = n_runs * n_rep
    all_states = chain_states(seed_sequence(seed), n_chains + n_runs)
    states, run_states = all_states[:n_chains].copy(), all_states[n_chains:].copy()
    entry = np.array(np.broadcast_to(x, (n_chains, d)))
    log_p, n_iterations, _, steps = _run_ams(dyn, xi, core_a.center, core_a.radius ** 2, core_b.radius ** 2, entry,
                                             states, run_states, max_iterations, max_steps, n_rep)
    p = np.exp(log_p)
    return ReachProbability(float(p.mean()), float(p.std(ddof=1) / math.sqrt(n_runs)), log_p, n_iterations,
                            int(steps.sum()), int(np.sum(~np.isfinite(log_p))))


def _check_common(landscape, temperature, step_size, n_replicas, n_runs, max_iterations, max_steps, method):
    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a models.Landscape, got {type(landscape).__name__}")
    temperature = check_positive(temperature, "temperature")
    h = check_positive(step_size, "step_size")
    n_rep = check_positive_int(n_replicas, "n_replicas")
    n_runs = check_positive_int(n_runs, "n_runs")
    for name, v in (("n_replicas", n_rep), ("n_runs", n_runs)):
        if v < 2:
            raise ValueError(f"{name} must be at least 2, got {v}")
    max_steps = check_positive_int(max_steps, "max_steps")
    max_iterations = 200 * n_rep if max_iterations is None else check_positive_int(max_iterations, "max_iterations")
    check_choice(method, "method", ("ula", "mala"))
    return temperature, h, n_rep, n_runs, max_iterations, max_steps


class _Dynamics:
    """The landscape's compiled slots and the step's constants, as the kernels take them."""

    def __init__(self, landscape, temperature, h, method):
        kernel = landscape.compiled(("value", "gradient", "value_and_gradient"))
        self.kernel = kernel
        self.args = (kernel.addresses, kernel.params, h, math.sqrt(2.0 * h * temperature), temperature,
                     method == "mala")


class _Coordinate:
    """The reaction coordinate: its kernel arguments and a Python evaluation.

    ``at_start``, ``at_center``: xi at the anchor and at the target's center;
    ``on_target``: a lower bound of xi on the target ball (+inf when unknown: not checked).
    """

    def __init__(self, reaction_coordinate, anchor, core, d):
        center, dist = core.center, float(np.linalg.norm(core.center - anchor))
        cfns, cp, self.keep = np.zeros(len(SLOTS), dtype=np.int64), np.zeros(0), ()
        direction = np.zeros(d)
        if reaction_coordinate is None:
            kind, xscale = _HYPERBOLIC, dist
            self.on_target = 1.0 - core.radius / dist
            self._py = lambda x: (np.linalg.norm(x - anchor) - np.linalg.norm(x - center) + dist) / (2 * dist)
        elif isinstance(reaction_coordinate, CPUDispatcher):
            kind, xscale, self.on_target = _USER, 1.0, math.inf
            cfns, self.keep, self._py = _user_coordinate(reaction_coordinate, d)
        else:
            if callable(reaction_coordinate):
                _user_coordinate(reaction_coordinate, d)  # raises the message for other callables
            direction = as_finite_array(reaction_coordinate, "reaction_coordinate", shape=(d,))
            xscale = float(direction @ (center - anchor))
            if not xscale > 0:
                raise ValueError("reaction_coordinate (a direction v) must point from start towards the target: "
                                 f"<c - start, v> = {plain(xscale)} is not positive")
            kind = _DIRECTION
            self.on_target = 1.0 - core.radius * float(np.linalg.norm(direction)) / xscale
            self._py = lambda x: float((x - anchor) @ direction) / xscale
        self.args = (kind, center, direction, xscale, cfns, cp)
        self.at_start, self.at_center = self(anchor), self(center)
        if not (math.isfinite(self.at_start) and math.isfinite(self.at_center)):
            raise ValueError(f"reaction_coordinate must be finite at start and at the target's center, got "
                             f"{plain(self.at_start)} and {plain(self.at_center)}")

    def __call__(self, x):
        return float(self._py(np.asarray(x, dtype=float)))


def _run_ams(dyn, xi, anchor, ra2, rb2, entry, states, run_states, max_iterations, max_steps, n_rep):
    n_runs = run_states.shape[0]
    log_p = np.zeros(n_runs)
    n_iterations = np.zeros(n_runs, dtype=np.int64)
    reactive_steps = np.zeros(n_runs)
    steps = np.zeros(n_runs, dtype=np.int64)
    error = np.zeros(n_runs, dtype=np.int64)
    level = np.zeros(n_runs)
    _ams(*dyn.args, anchor, entry, states, run_states, *xi.args, ra2, rb2, max_steps, max_iterations, log_p,
         n_iterations, reactive_steps, steps, error, level)
    _raise_ams_errors(error, level, max_iterations, max_steps, xi.at_center, n_rep)
    reactive_steps[error == _EXTINCT] = np.nan
    return log_p, n_iterations, reactive_steps, steps


def _combine(log_p, cycle_time, reactive_time, n_rep, n_iterations, pilot_successes, steps, radius_a, z_sigma):
    """tau = L (1/p - 1) + R from the run means, with the delta-method standard error."""
    n_runs = log_p.size
    log_pbar = np.logaddexp.reduce(log_p) - math.log(n_runs)
    q = np.exp(log_p - log_pbar)                 # p_r / mean p: mean 1
    extinct = ~np.isfinite(log_p)
    reactive_time = np.where(extinct, np.nanmean(reactive_time), reactive_time)  # no B-time from those runs
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
        "n_extinct": int(extinct.sum()),
        "pilot_successes": int(pilot_successes.sum()),
        "start_radius": float(radius_a),
        "sigma_level": float(z_sigma),
        "steps": steps,
        "tau_runs": tau_runs,
    }
    return PassageTime(float(tau), stderr, float(math.log(tau)), stderr / float(tau), "splitting",
                       int(n_rep * (n_runs - extinct.sum())), 0, details)


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
    """Raise for the first failed run; runs that died out (p estimate 0) raise only if all did."""
    extinct = error == _EXTINCT
    bad = np.flatnonzero(error * ~extinct) if not extinct.all() else np.array([0])
    if not bad.size:
        return
    r = int(bad[0])
    code, z = int(error[r]), plain(float(level[r]))
    if code >= _DIVERGED:
        raise DivergenceError(f"a trajectory of AMS run {r} stopped ({CAUSES[code - _DIVERGED]})")
    if code == _EXTINCT:
        raise SplittingError(f"every AMS run died out: in run {r} all {n_rep} replicas tied at level xi = {z}, so "
                             "the estimate of p is 0 "
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
