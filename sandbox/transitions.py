"""Transition rates between core sets, counted by milestoning (claim C7).

Each chain runs the Langevin dynamics dX = -grad L dt + sqrt(2T) dW,
discretised as ULA, x <- x - h grad L(x) + sqrt(2 h T) z, or MALA (the same
proposal with a Metropolis accept step), and carries the index of the last
core set it was in. A transition i -> j is counted when a chain whose last
core is i enters core j != i; leaving core i and coming back counts nothing,
so recrossings of the saddle are not transitions (milestoning: Schütte, Noé,
Lu, Sarich & Vanden-Eijnden 2011, J. Chem. Phys. 134:204105). The time a
chain spends with last core i is its *exposure* to the transitions out of i.

Rates. On the cores the dynamics is (at low T, to exponential accuracy) a
Markov jump process; the maximum-likelihood rate of jumps i -> j from the
counts N_ij and the exposures E_i is

    k_ij = N_ij / E_i,

and the mean time to leave core i for any other (milestoning residence time,
the MFPT out of i) is tau_i = E_i / N_i, N_i = sum_j N_ij: the censored
exponential MLE, in which every chain's last, unfinished stay in a core adds
its time to E_i and no event (Lawless 2003, Statistical Models and Methods
for Lifetime Data, sec. 2.2). Standard errors: the Poisson (Fisher
information) value sqrt(N_ij) / E_i assumes the Markov jump process; the
reported one is the between-chain (ratio, or cluster) estimate

    var k_ij = n / (n - 1) sum_c (N_ij,c - k_ij E_i,c)^2 / (sum_c E_i,c)^2,

which only assumes that chains are independent, which they are. The two
agree when the jumps are Markov; a between-chain SE well above the Poisson
one says the counted jumps are correlated (cores too small, so that
excursions that fall back count). With one chain the Poisson SE is reported.
A rate with no event is NaN, not 0 +- 0; ``rate_upper_bounds`` gives the
exact 95% Poisson upper bound, 0.5 chi2_{0.95}(2 N_ij + 2) / E_i
(-log 0.05 / E_i = 3.0 / E_i for N_ij = 0).

Cores are checked at the grid times only, so entries between two steps are
missed; rates refer to cores monitored every h (an O(sqrt h) effect on the
residence times, negligible when they are long compared to h).
"""
import math
from typing import NamedTuple

import numba as nb
import numpy as np

from models.estimate import Estimate
from models.kernels import gradient, value_and_gradient
from models.landscape import Landscape
from models.validation import as_finite_array, check_choice, check_positive, check_positive_int
from sandbox.core_sets import as_core_sets, core_arrays, core_index
from sandbox.dynamics import CAUSE_RAISED, _loss_cause, _step_cause, divergence_summary, mala_proposal
from sandbox.passage import NoPassageError, censored_mean
from sandbox.simulate import DivergenceError
from sandbox.streams import chain_states, seed_sequence, standard_normals

__all__ = ["Transitions", "transitions", "run_milestones", "MilestoneRun"]


@nb.njit(cache=True, parallel=True)
def _milestone_chains(fns, p, x, states, n_steps, step, temperature, mala, centers, radii2, stop_at_first,
                      start_core, counts, exposure, first_step, first_core, n_accepted, divergence_step,
                      divergence_cause):
    """ULA or MALA chains with milestoning bookkeeping (module docstring); per chain c:
    ``counts[c]`` (K, K) and ``exposure[c]`` (K,) in steps (step t counts for the last core
    before it), ``first_step[c]`` the step of the first entry into a core other than
    ``start_core[c]`` (-1: none), ``first_core[c]`` that core. With ``stop_at_first`` a chain
    stops there. The MALA step is that of :func:`sandbox.dynamics.mala_chains`."""
    n, d = x.shape
    scale = math.sqrt(2.0 * step * temperature)
    for c in nb.prange(n):
        cur = x[c].copy()
        prop = np.empty(d)
        g_cur = np.empty(d)
        g_prop = np.empty(d)
        z = np.empty(d)
        u = np.empty(1)
        st = states[c]
        start = start_core[c]
        last = start     # the last core visited (-1: none yet)
        since = 0        # the step at which it became the last core
        done = 0         # steps taken
        first_step[c] = -1
        first_core[c] = -1
        accepted = 0
        l_cur = 0.0
        if mala:
            status, l_cur = value_and_gradient(fns, p, cur, g_cur)
            cause = _loss_cause(status, l_cur)
            if cause:
                divergence_step[c] = 0
                divergence_cause[c] = cause
                continue
        for t in range(1, n_steps + 1):
            if mala:
                cause, accept, l_prop = mala_proposal(fns, p, cur, g_cur, l_cur, prop, g_prop, z, u, st, step, scale,
                                                      temperature)
                if cause:
                    divergence_step[c] = t
                    divergence_cause[c] = cause
                    break
                if accept:
                    cur, prop = prop, cur
                    g_cur, g_prop = g_prop, g_cur
                    l_cur = l_prop
                    accepted += 1
            else:
                if gradient(fns, p, cur, g_cur) != 0:
                    divergence_step[c] = t
                    divergence_cause[c] = CAUSE_RAISED
                    break
                standard_normals(st, z)
                s = 0.0
                for i in range(d):
                    prop[i] = cur[i] - step * g_cur[i] + scale * z[i]
                    s += prop[i]
                if not math.isfinite(s):
                    divergence_step[c] = t
                    divergence_cause[c] = _step_cause(g_cur)
                    break
                cur, prop = prop, cur
            done = t
            j = core_index(cur, centers, radii2)
            if j >= 0 and j != last:
                if last >= 0:
                    exposure[c, last] += t - since
                    counts[c, last, j] += 1
                if first_step[c] < 0 and j != start:
                    first_step[c] = t
                    first_core[c] = j
                last = j
                since = t
                if stop_at_first and first_step[c] >= 0:
                    break
        if last >= 0:
            exposure[c, last] += done - since
        x[c, :] = cur
        n_accepted[c] = accepted


class MilestoneRun(NamedTuple):
    """Per-chain output of :func:`run_milestones` (steps, not times)."""

    x: np.ndarray            # (n, d) final states
    counts: np.ndarray       # (n, K, K) transitions i -> j
    exposure: np.ndarray     # (n, K) steps with last core i
    first_step: np.ndarray   # (n,) step of the first entry into a core other than the start core, -1: none
    first_core: np.ndarray   # (n,) that core, -1: none
    start_core: np.ndarray   # (n,) core holding x0, -1: none
    acceptance: float        # MALA's acceptance rate (NaN for ULA)


def run_milestones(landscape, centers, radii2, x0, *, dynamics, temperature, step_size, n_steps, seed,
                   stop_at_first=False, what="before the end"):
    """Run the milestoning kernel on validated input (shared by :func:`transitions` and
    :func:`sandbox.passage.mean_first_passage_time`); raise DivergenceError if a chain failed."""
    n = x0.shape[0]
    k = centers.shape[0]
    x = np.array(x0, dtype=np.float64)
    start_core = np.array([core_index(row, centers, radii2) for row in x], dtype=np.int64)
    counts = np.zeros((n, k, k), dtype=np.int64)
    exposure = np.zeros((n, k), dtype=np.int64)
    first_step = np.full(n, -1, dtype=np.int64)
    first_core = np.full(n, -1, dtype=np.int64)
    n_accepted = np.zeros(n, dtype=np.int64)
    divergence_step = np.full(n, -1, dtype=np.int64)
    divergence_cause = np.zeros(n, dtype=np.int64)
    mala = dynamics == "mala"
    kernel = landscape.compiled(("value", "gradient", "value_and_gradient") if mala else ("gradient",))
    _milestone_chains(kernel.addresses, kernel.params, x, chain_states(seed_sequence(seed), n), n_steps,
                      step_size, temperature, mala, centers, radii2, stop_at_first, start_core, counts, exposure,
                      first_step, first_core, n_accepted, divergence_step, divergence_cause)
    failed = np.flatnonzero(divergence_step >= 0)
    if failed.size:
        shown = divergence_summary(divergence_step, divergence_cause)
        raise DivergenceError(f"{failed.size} of {n} chains stopped {what} ({shown}): the gradient or the state "
                              "became non-finite, or a landscape function raised; lower step_size")
    taken = np.where(first_step >= 0, first_step, n_steps) if stop_at_first else np.full(n, n_steps)
    acceptance = float(n_accepted.sum() / taken.sum()) if mala else math.nan
    return MilestoneRun(x, counts, exposure, first_step, first_core, start_core, acceptance)


class Transitions(NamedTuple):
    """Result of :func:`transitions`; times in SDE units (steps x step_size), K core sets.

    Attributes
    ----------
    counts : ndarray (K, K) int
        N_ij, transitions i -> j (diagonal 0).
    exposure : ndarray (K,)
        E_i, total time the chains spent with last core i.
    rates : Estimate of (K, K) arrays
        k_ij = N_ij / E_i with the between-chain SE (module docstring; the Poisson SE with one
        chain). NaN on the diagonal and where N_ij = 0 (see ``rate_upper_bounds``).
    rates_poisson_stderr : ndarray (K, K)
        sqrt(N_ij) / E_i, the SE if the jumps are a Markov (Poisson) process.
    rate_upper_bounds : ndarray (K, K)
        Exact 95% Poisson upper bounds 0.5 chi2_{0.95}(2 N_ij + 2) / E_i (inf where E_i = 0).
    mfpt : Estimate of (K,) arrays
        tau_i = E_i / N_i, the mean time to leave core i for another core (censored exponential
        MLE), between-chain SE; NaN where N_i = 0 (see ``mfpt_lower_bounds``).
    mfpt_lower_bounds : ndarray (K,)
        95% lower bounds E_i / (0.5 chi2_{0.95}(2 N_i + 2)).
    first_passage : Estimate of (K,) arrays
        Mean time for chains started in core i to first enter another core, from their first
        passages with the censored ones included (:func:`sandbox.passage.censored_mean`: Kaplan–Meier
        plus an exponential tail fitted on the late half); NaN where no chain started in core i or
        none left it (see ``notes``).
    first_passage_times : ndarray (n_chains,)
        Each chain's first-passage time out of its start core, inf if censored.
    start_core : ndarray (n_chains,) int
        The core each chain started in, -1 for none.
    chain_counts, chain_exposure : ndarray (n_chains, K, K) int, (n_chains, K)
        Per-chain counts and exposure times, for other batchings.
    cores : list of CoreSet
    acceptance : float
        MALA's acceptance rate; NaN for ULA.
    stderr_kind : str
        "between-chain" or "poisson": which SE ``rates`` and ``mfpt`` carry.
    notes : tuple of str
        What could not be estimated and why.
    """

    counts: np.ndarray
    exposure: np.ndarray
    rates: Estimate
    rates_poisson_stderr: np.ndarray
    rate_upper_bounds: np.ndarray
    mfpt: Estimate
    mfpt_lower_bounds: np.ndarray
    first_passage: Estimate
    first_passage_times: np.ndarray
    start_core: np.ndarray
    chain_counts: np.ndarray
    chain_exposure: np.ndarray
    cores: list
    acceptance: float
    stderr_kind: str
    notes: tuple

    def __repr__(self):
        with np.printoptions(precision=4, suppress=False):
            return (f"Transitions(K={len(self.cores)}, counts={self.counts.tolist()}, rates={self.rates.value!r}, "
                    f"stderr={self.rates.stderr!r} ({self.stderr_kind}), exposure={self.exposure!r})")


def _ratio_stderr(num, den):
    """Between-chain SE of sum(num) / sum(den) over axis 0 (delta method for a ratio estimator)."""
    n = num.shape[0]
    total_num, total_den = num.sum(axis=0), den.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = total_num / total_den
        resid = num - ratio * den
        return np.sqrt(n / (n - 1) * (resid**2).sum(axis=0)) / total_den


def _poisson_upper(count, level=0.95):
    """Exact upper confidence bound on a Poisson mean from an observed count (Garwood 1936)."""
    from scipy.stats import chi2

    return 0.5 * chi2.ppf(level, 2 * np.asarray(count) + 2)


def transitions(landscape, basins, *, method="ula", temperature, step_size, n_chains, n_steps, seed=None,
                x0=None):
    """Count transitions between core sets and estimate the rates k_ij and the MFPTs out of each core.

    A transition i -> j is counted when a chain whose last core was i enters
    core j (milestoning; module docstring), so recrossings of the saddle are
    not transitions. k_ij = N_ij / E_i, tau_i = E_i / N_i (censored
    exponential MLE; chains that have not left count as exposure, never as
    exits).

    Parameters
    ----------
    landscape : models.Landscape
    basins : list of (center (d,), radius) or CoreSet
        At least two disjoint core sets, each holding a minimum of the landscape.
    method : {"ula", "mala"}
        ULA x <- x - h grad L(x) + sqrt(2 h T) z, or MALA (Roberts & Tweedie 1996), which
        removes ULA's O(h) bias of the stationary law but not of the dynamics' time scale.
    temperature, step_size : float > 0
        T and h; times are steps x h.
    n_chains, n_steps : int >= 1
    seed : int, SeedSequence, Generator or None
        Chain c's path is a pure function of (seed, c), whatever the thread count.
    x0 : array_like (d,) or (n_chains, d), optional
        Start points; default: chain c starts at the center of core c % K. A chain's last core
        starts as the core it starts in (undefined, and no exposure counted, until it enters
        one if it starts outside all).

    Returns
    -------
    Transitions

    Raises
    ------
    ValueError
        Bad input: T <= 0, overlapping cores, a core without a minimum, ...
    DivergenceError
        A chain's state became non-finite or a landscape function raised.

    Examples
    --------
    >>> from models import symmetric_double_well
    >>> res = transitions(symmetric_double_well(), [((-1.0, 0.0), 0.4), ((1.0, 0.0), 0.4)], temperature=0.3,
    ...                   step_size=5e-3, n_chains=64, n_steps=20_000, seed=0)
    >>> res.counts.shape, res.rates.value.shape
    ((2, 2), (2, 2))
    """
    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a models.Landscape, got {type(landscape).__name__}")
    check_choice(method, "method", ("ula", "mala"))
    temperature = check_positive(temperature, "temperature")
    h = check_positive(step_size, "step_size")
    n_chains = check_positive_int(n_chains, "n_chains")
    n_steps = check_positive_int(n_steps, "n_steps")
    d = landscape.dim
    cores = as_core_sets(basins, d, landscape=landscape, min_count=2)
    k = len(cores)
    centers, radii2 = core_arrays(cores)
    if x0 is None:
        starts = centers[np.arange(n_chains) % k]
    else:
        starts = as_finite_array(x0, "x0", ndim=(1, 2))
        if starts.shape not in ((d,), (n_chains, d)):
            raise ValueError(f"x0 must have shape ({d},) or ({n_chains}, {d}), got {starts.shape}")
        starts = np.broadcast_to(starts, (n_chains, d))
    run = run_milestones(landscape, centers, radii2, starts, dynamics=method, temperature=temperature,
                         step_size=h, n_steps=n_steps, seed=seed)
    chain_exposure = run.exposure * h
    counts, exposure = run.counts.sum(axis=0), chain_exposure.sum(axis=0)
    exits = counts.sum(axis=1)
    off = ~np.eye(k, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        poisson = np.sqrt(counts) / exposure[:, None]
        rate = np.where((counts > 0) & off, counts / exposure[:, None], np.nan)
        upper = np.where(off, _poisson_upper(counts) / exposure[:, None], np.nan)
        tau = np.where(exits > 0, exposure / exits, np.nan)
        tau_lower = exposure / _poisson_upper(exits)
        if n_chains > 1:
            kind = "between-chain"
            rate_se = _ratio_stderr(run.counts.astype(float), np.broadcast_to(chain_exposure[:, :, None],
                                                                               run.counts.shape))
            tau_se = _ratio_stderr(chain_exposure, run.counts.sum(axis=2).astype(float))
        else:
            kind = "poisson"
            rate_se, tau_se = poisson, tau / np.sqrt(exits)
    rate_se = np.where(np.isnan(rate), np.nan, rate_se)
    tau_se = np.where(np.isnan(tau), np.nan, tau_se)
    poisson = np.where(off, poisson, np.nan)
    notes = []
    for i in range(k):
        if exposure[i] == 0:
            notes.append(f"core {i} was never visited: its rates and MFPT are NaN")
            continue
        for j in range(k):
            if i != j and counts[i, j] == 0:
                notes.append(f"no transition {i} -> {j} in {exposure[i]:.4g} time units with last core {i}: "
                             f"rates[{i}, {j}] is NaN; 95% upper bound {upper[i, j]:.3g}")
        if exits[i] == 0:
            notes.append(f"no exit from core {i}: mfpt[{i}] is NaN; 95% lower bound {tau_lower[i]:.3g}")
    times = np.where(run.first_step >= 0, run.first_step * h, np.inf)
    fp_value, fp_stderr = np.full(k, np.nan), np.full(k, np.nan)
    for i in range(k):
        mine = times[run.start_core == i]
        if mine.size == 0:
            continue
        try:
            est = censored_mean(mine, n_steps * h).mean
        except NoPassageError as err:
            notes.append(f"first passage out of core {i}: {err}")
            continue
        fp_value[i], fp_stderr[i] = est.value, est.stderr
    return Transitions(counts, exposure, Estimate(rate, rate_se), poisson, upper, Estimate(tau, tau_se), tau_lower,
                       Estimate(fp_value, fp_stderr), times, run.start_core, run.counts, chain_exposure, cores,
                       run.acceptance, kind, tuple(notes))
