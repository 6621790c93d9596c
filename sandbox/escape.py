"""First-exit times of noisy gradient dynamics from a region (saddle escape, claim C2).

Chains run the ULA update x <- x - h grad L(x) + sqrt(2 h T) z (noisy GD /
SGD with isotropic noise sigma^2 is the same update with T = h sigma^2 / 2)
until they leave

- ``region="slab"``: {x : |<x - origin, direction>| < radius}, or
- ``region="ball"``: {x : |x - origin| < radius},

and the exit time is (steps taken) * h. Checking the boundary only at the
grid times overestimates the continuous-time exit time by O(sqrt(h)); with
``monitoring_correction=True`` the boundary is pulled in by
beta * sqrt(2 T h), beta = -zeta(1/2) / sqrt(2 pi) = 0.5826 (Broadie,
Glasserman & Kou 1997, Math. Finance 7:325; Siegmund 1979), which removes
that leading term.
"""
import math
from typing import NamedTuple

import numba as nb
import numpy as np

from models.estimate import Estimate
from models.kernels import gradient
from models.landscape import Landscape
from models.validation import (as_finite_array, check_choice, check_nonnegative, check_positive,
                               check_positive_int)
from sandbox.dynamics import CAUSE_RAISED, _step_cause, divergence_summary
from sandbox.simulate import DivergenceError
from sandbox.streams import chain_states, seed_sequence, standard_normals

__all__ = ["ExitTimes", "exit_times", "MONITORING_BETA"]

#: -zeta(1/2) / sqrt(2 pi): the discrete-monitoring boundary shift in units of the step's noise std.
MONITORING_BETA = 0.5825971579390106


class ExitTimes(NamedTuple):
    """Result of :func:`exit_times`.

    ``mean`` is the mean exit time of the chains that left (Estimate, SE =
    sample std / sqrt(n_exited)); it is NaN when none left. ``times`` holds
    each chain's exit time, inf for chains still inside after ``max_steps``
    (censored: if any are, ``mean`` is biased low and the caller should raise
    ``max_steps``).
    """

    mean: Estimate
    times: np.ndarray
    n_exited: int
    n_censored: int
    fraction_exited: float


@nb.njit(cache=True, parallel=True)
def _exit_steps(fns, params, x, states, max_steps, step, noise_scale, origin, direction, slab, radius, out,
                divergence_step, divergence_cause):
    n, d = x.shape
    r2 = radius * radius
    for c in nb.prange(n):
        cur = x[c].copy()
        g = np.empty(d)
        z = np.zeros(d)
        st = states[c]
        out[c] = -1
        for t in range(1, max_steps + 1):
            if gradient(fns, params, cur, g) != 0:
                divergence_step[c], divergence_cause[c] = t, CAUSE_RAISED
                break
            if noise_scale != 0.0:
                standard_normals(st, z)
            dist = 0.0
            for i in range(d):
                cur[i] = cur[i] - step * g[i] + noise_scale * z[i]
                u = cur[i] - origin[i]
                if slab:
                    dist += u * direction[i]
                else:
                    dist += u * u
            if not math.isfinite(dist):
                divergence_step[c], divergence_cause[c] = t, _step_cause(g)
                break
            if dist * dist >= r2 if slab else dist >= r2:
                out[c] = t
                break
        x[c, :] = cur


def exit_times(landscape, *, radius, n_chains, step_size, temperature, max_steps, region="slab",
               direction=None, origin=None, x0=None, seed=None, monitoring_correction=True):
    """Simulate first-exit times of ULA from a slab or ball around ``origin``.

    Parameters
    ----------
    landscape : models.Landscape
    radius : float > 0
        Half-width of the slab or radius of the ball.
    n_chains, max_steps : int >= 1
    step_size : float > 0
        h; exit times are in units of continuous time, steps * h.
    temperature : float >= 0
        T (T = 0: gradient descent, which never leaves a saddle started on it).
    region : {"slab", "ball"}
    direction : array_like (d,), optional
        Slab normal (normalised here); default the first coordinate axis.
    origin : array_like (d,), optional
        Centre of the region (default 0).
    x0 : array_like (d,), optional
        Start (default ``origin``).
    seed : int, SeedSequence, Generator or None
        Chain c's path is a pure function of (seed, c).
    monitoring_correction : bool
        Pull the boundary in by 0.5826 sqrt(2 T h) (module docstring).

    Returns
    -------
    ExitTimes

    Raises
    ------
    DivergenceError
        If a chain's state became non-finite or a landscape function raised
        before the chain left the region (which chains, at which step).
    """
    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a models.Landscape, got {type(landscape).__name__}")
    radius = check_positive(radius, "radius")
    n_chains = check_positive_int(n_chains, "n_chains")
    max_steps = check_positive_int(max_steps, "max_steps")
    h = check_positive(step_size, "step_size")
    temperature = check_nonnegative(temperature, "temperature")
    check_choice(region, "region", ("slab", "ball"))
    d = landscape.dim
    origin = np.zeros(d) if origin is None else as_finite_array(origin, "origin", shape=(d,))
    if direction is None:
        direction = np.eye(d)[0]
    direction = as_finite_array(direction, "direction", shape=(d,))
    norm = np.linalg.norm(direction)
    if norm == 0:
        raise ValueError("direction must be a non-zero vector")
    start = origin if x0 is None else as_finite_array(x0, "x0", shape=(d,))
    inside = abs((start - origin) @ direction / norm) if region == "slab" else np.linalg.norm(start - origin)
    if inside >= radius:
        raise ValueError(f"x0 must lie inside the region (distance {inside:.3g} >= radius {radius})")
    noise_scale = math.sqrt(2.0 * h * temperature)
    monitored = radius - (MONITORING_BETA * noise_scale if monitoring_correction else 0.0)
    if monitored <= inside:
        raise ValueError("step_size is too large for this radius: the monitoring correction "
                         f"{MONITORING_BETA * noise_scale:.3g} reaches the start")
    x = np.array(np.broadcast_to(start, (n_chains, d)), dtype=float)
    states = chain_states(seed_sequence(seed), n_chains)
    steps = np.empty(n_chains, dtype=np.int64)
    kernel = landscape.compiled(("gradient",))
    divergence_step = np.full(n_chains, -1, dtype=np.int64)
    divergence_cause = np.zeros(n_chains, dtype=np.int64)
    _exit_steps(kernel.addresses, kernel.params, x, states, max_steps, h, noise_scale, origin, direction / norm,
                region == "slab", monitored, steps, divergence_step, divergence_cause)
    failed = np.flatnonzero(divergence_step >= 0)
    if failed.size:
        shown = divergence_summary(divergence_step, divergence_cause)
        raise DivergenceError(f"{failed.size} of {n_chains} chains stopped before leaving the region ({shown}): "
                              "the gradient or the state became non-finite, or a landscape function raised")
    times = np.where(steps > 0, steps * h, np.inf)
    exited = times[np.isfinite(times)]
    if exited.size >= 2:
        mean = Estimate(float(exited.mean()), float(exited.std(ddof=1) / np.sqrt(exited.size)))
    else:
        mean = Estimate(float(exited.mean()) if exited.size else np.nan, np.nan)
    return ExitTimes(mean, times, int(exited.size), int(n_chains - exited.size), exited.size / n_chains)
