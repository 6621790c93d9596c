"""Where chains end up: landing frequencies of minima from a distribution of starts (claim C5).

:func:`basin_statistics` draws ``n_chains`` starting points (uniform on a
box, Gaussian, or given), runs GD, SGD, ULA or MALA through
:func:`sandbox.simulate`, quenches every end point by deterministic gradient
descent, and assigns it to the nearest listed minimum. With GD from a
uniform start the landing frequency of a minimum estimates its
basin-of-attraction share of the box, which is not its sublevel-set (volume)
share; noisy methods shift it.
"""
from typing import NamedTuple

import numba as nb
import numpy as np

from models.estimate import Estimate
from models.landscape import Landscape
from models.proportions import wilson_interval
from models.validation import (as_finite_array, check_choice, check_positive, check_positive_int, covariance_factor,
                               plain)
from sandbox.simulate import METHODS, simulate
from sandbox.streams import chain_states, seed_sequence, standard_normals, uniforms

__all__ = ["BasinStatistics", "basin_statistics"]


class BasinStatistics(NamedTuple):
    """Result of :func:`basin_statistics`.

    Attributes
    ----------
    counts : ndarray (K,) of int
        Chains assigned to each minimum, in the order of ``minima``.
    fractions : ndarray (K,)
        ``counts / n_chains`` (the denominator includes unassigned chains).
    intervals : ndarray (K, 2)
        Wilson 95% intervals of the fractions (Wilson 1927).
    n_unassigned : int
        Chains that diverged, or whose quenched end point lies within
        ``tolerance`` of no listed minimum.
    unassigned_interval : tuple of float
        Wilson 95% interval of ``n_unassigned / n_chains``.
    n_diverged : int
        Chains whose run or quench diverged (counted in ``n_unassigned``).
    labels : ndarray (n_chains,) of int
        Each chain's minimum (index into ``minima``), -1 if unassigned.
    end_points : ndarray (n_chains, d)
        The run's final states (before the quench).
    minima : ndarray (K, d)
    n_chains : int
    """

    counts: np.ndarray
    fractions: np.ndarray
    intervals: np.ndarray
    n_unassigned: int
    unassigned_interval: tuple
    n_diverged: int
    labels: np.ndarray
    end_points: np.ndarray
    minima: np.ndarray
    n_chains: int

    def __repr__(self):
        with np.printoptions(precision=4):
            return (f"BasinStatistics(counts={self.counts.tolist()}, fractions={self.fractions!r}, "
                    f"n_unassigned={self.n_unassigned}, n_chains={self.n_chains})")

    @property
    def estimates(self):
        """:class:`~models.estimate.Estimate` of the fractions, SE = sqrt(p (1 - p) / n_chains)."""
        p = self.fractions
        return Estimate(p, np.sqrt(p * (1 - p) / self.n_chains))


def basin_statistics(landscape, minima, *, method="gd", init, n_chains, n_steps, step_size, temperature=0.0,
                     noise=None, seed=None, quench_steps=2000, quench_step_size=None, tolerance=None):
    r"""Landing frequencies of the given minima for chains started from a distribution.

    Each chain c starts at a point drawn from ``init`` with its own random
    stream (a pure function of ``(seed, c)``), runs ``n_steps`` steps of
    ``method`` (:func:`sandbox.simulate`, with ``step_size``,
    ``temperature``, ``noise``), and its end point is then quenched by
    ``quench_steps`` steps of plain gradient descent,
    x <- x - eta_q grad L(x), which is deterministic: a ULA chain at T > 0
    is assigned to the basin of attraction (of gradient descent with step
    eta_q) that it sits in at the end. The quenched point is assigned to the
    nearest minimum if it lies within ``tolerance`` of it, and is unassigned
    otherwise (as are diverged chains).

    The fraction landing in minimum i estimates

    .. math:: p_i = P(\text{quench}(X_{n}) \in \text{basin}_i), \qquad X_0 \sim \text{init},

    with a Wilson 95% interval (Wilson 1927, JASA 22:209). For GD from a
    uniform start on a box, p_i is the volume share of minimum i's basin of
    attraction inside the box (for small step sizes; a large step changes
    the basins).

    Parameters
    ----------
    landscape : models.Landscape
    minima : array_like (K, d), or sequence of objects with ``.position``
        The minima to count (e.g. the ``minima`` of
        ``analysis.critical.find_critical_points``).
    method : {"gd", "sgd", "ula", "mala"}
    init : tuple or array_like (n_chains, d)
        ``("uniform", bounds)`` with bounds (d, 2) rows [low, high];
        ``("gaussian", mean, std)`` with ``std`` a float, a (d,) vector of
        standard deviations or a (d, d) covariance matrix; or the starting
        points themselves.
    n_chains, n_steps : int >= 1
    step_size : float > 0
    temperature : float >= 0
        For ULA/MALA.
    noise : optional
        SGD gradient-noise covariance, as in :func:`sandbox.simulate`.
    seed : int, SeedSequence, Generator or None
        Child 0 of its SeedSequence draws the starts, child 1 drives the
        dynamics: the same seed gives the same numbers whatever the thread
        count.
    quench_steps : int >= 0
        Gradient-descent steps of the quench (0: assign the end points as they are).
    quench_step_size : float > 0, optional
        eta_q; ``step_size`` by default.
    tolerance : float > 0, optional
        Largest distance from a quenched point to its minimum. Default: a
        quarter of the smallest distance between two listed minima (0.1 with
        one minimum).

    Returns
    -------
    BasinStatistics

    Examples
    --------
    >>> from models import double_well
    >>> stats = basin_statistics(double_well(), [[-1.0], [1.0]], init=("uniform", [[-2.0, 2.0]]),
    ...                          n_chains=400, n_steps=200, step_size=0.01, seed=0)
    >>> int(stats.counts.sum() + stats.n_unassigned), stats.fractions.round(2).tolist()
    (400, [0.5, 0.5])
    """
    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a models.Landscape, got {type(landscape).__name__}")
    d = landscape.dim
    centers = _as_minima(minima, d)
    check_choice(method, "method", METHODS)
    n_chains = check_positive_int(n_chains, "n_chains")
    n_steps = check_positive_int(n_steps, "n_steps")
    step_size = check_positive(step_size, "step_size")
    quench_steps = check_positive_int(quench_steps, "quench_steps", minimum=0)
    quench_step = step_size if quench_step_size is None else check_positive(quench_step_size, "quench_step_size")
    tolerance = _default_tolerance(centers) if tolerance is None else check_positive(tolerance, "tolerance")
    root = seed_sequence(seed)
    x0 = _initial_points(init, d, n_chains, _child(root, 0))

    run = simulate(landscape, method, n_chains=n_chains, n_steps=n_steps, step_size=step_size,
                   temperature=temperature, noise=noise, x0=x0, seed=_child(root, 1), on_divergence="ignore")
    diverged = run.diverged.copy()
    end = run.x
    if quench_steps:
        quench = simulate(landscape, "gd", n_chains=n_chains, n_steps=quench_steps, step_size=quench_step,
                          x0=end, seed=0, on_divergence="ignore")
        diverged |= quench.diverged
        final = quench.x
    else:
        final = end
    dist = np.linalg.norm(final[:, None, :] - centers[None, :, :], axis=2)        # (n_chains, K)
    labels = np.argmin(dist, axis=1)
    labels[(dist[np.arange(n_chains), labels] > tolerance) | diverged] = -1

    counts = np.bincount(labels[labels >= 0], minlength=centers.shape[0]).astype(np.int64)
    n_unassigned = int(np.count_nonzero(labels < 0))
    return BasinStatistics(
        counts=counts,
        fractions=counts / n_chains,
        intervals=np.array([wilson_interval(int(k), n_chains) for k in counts]),
        n_unassigned=n_unassigned,
        unassigned_interval=wilson_interval(n_unassigned, n_chains),
        n_diverged=int(np.count_nonzero(diverged)),
        labels=labels,
        end_points=end,
        minima=centers,
        n_chains=n_chains,
    )


def _as_minima(minima, d):
    """(K, d) array from an array or a sequence of objects with ``.position``."""
    if isinstance(minima, (list, tuple)) and minima and all(hasattr(m, "position") for m in minima):
        minima = [m.position for m in minima]
    centers = as_finite_array(minima, "minima", ndim=2)
    if centers.shape[0] < 1 or centers.shape[1] != d:
        raise ValueError(f"minima must have shape (K, {d}) with K >= 1 (one row per minimum of the "
                         f"landscape's {d} coordinate(s)), got shape {centers.shape}")
    if centers.shape[0] > 1:
        gaps = np.linalg.norm(centers[:, None, :] - centers[None, :, :], axis=2)
        np.fill_diagonal(gaps, np.inf)
        if gaps.min() == 0:
            i, j = np.unravel_index(np.argmin(gaps), gaps.shape)
            raise ValueError(f"minima must be distinct points; rows {min(i, j)} and {max(i, j)} are equal")
    return centers


def _default_tolerance(centers):
    if centers.shape[0] == 1:
        return 0.1
    gaps = np.linalg.norm(centers[:, None, :] - centers[None, :, :], axis=2)
    return 0.25 * float(gaps[np.triu_indices(centers.shape[0], 1)].min())


def _child(root, key):
    """Child ``key`` of a SeedSequence, a pure function of (root, key) (unlike ``spawn``)."""
    return np.random.SeedSequence(entropy=root.entropy, spawn_key=tuple(root.spawn_key) + (key,),
                                  pool_size=root.pool_size)


def _initial_points(init, d, n_chains, seq):
    """Starting points (n_chains, d): chain c's row is a pure function of (seq, c)."""
    if isinstance(init, (tuple, list)) and init and isinstance(init[0], str):
        kind = init[0]
        check_choice(kind, "init[0]", ("uniform", "gaussian"))
        states = chain_states(seq, n_chains)
        out = np.empty((n_chains, d))
        if kind == "uniform":
            if len(init) != 2:
                raise ValueError(f"init must be ('uniform', bounds), got a tuple of length {len(init)}")
            box = as_finite_array(init[1], "init bounds")
            if box.shape != (d, 2):
                raise ValueError(f"init bounds must have shape ({d}, 2), rows [low, high]; got shape {box.shape}")
            bad = np.flatnonzero(~(box[:, 0] < box[:, 1]))
            if bad.size:
                i = int(bad[0])
                raise ValueError(f"init bounds row {i} must have low < high, got "
                                 f"[{plain(box[i, 0])}, {plain(box[i, 1])}]")
            _fill(states, out, False)
            return box[:, 0] + (box[:, 1] - box[:, 0]) * out
        if len(init) != 3:
            raise ValueError(f"init must be ('gaussian', mean, std_or_cov), got a tuple of length {len(init)}")
        mean = as_finite_array(init[1], "init mean", ndim=(0, 1))
        if mean.ndim == 1 and mean.shape != (d,):
            raise ValueError(f"init mean must be a float or have shape ({d},), got shape {mean.shape}")
        factor = _gaussian_factor(init[2], d)
        _fill(states, out, True)
        return mean + (out * factor if factor.ndim == 1 else out @ factor.T)
    x0 = as_finite_array(init, "init", ndim=2)
    if x0.shape != (n_chains, d):
        raise ValueError(f"init points must have shape ({n_chains}, {d}) (n_chains, d), got {x0.shape}; or pass "
                         "('uniform', bounds) or ('gaussian', mean, std_or_cov)")
    return x0


def _gaussian_factor(spec, d):
    """A (d,) vector of standard deviations, or a (d, d) matrix A with A A^T the covariance."""
    arr = as_finite_array(spec, "init std_or_cov", ndim=(0, 1, 2))
    if arr.ndim < 2:
        if arr.ndim == 1 and arr.shape != (d,):
            raise ValueError(f"init std_or_cov must be a float, ({d},) standard deviations or a ({d}, {d}) "
                             f"covariance, got shape {arr.shape}")
        if np.any(arr < 0):
            raise ValueError(f"init std_or_cov (standard deviations) must be >= 0, got {plain(arr.min())}")
        return np.broadcast_to(arr, (d,)).astype(float)
    if arr.shape != (d, d):
        raise ValueError(f"init std_or_cov covariance must have shape ({d}, {d}), got {arr.shape}")
    return covariance_factor(arr, "init std_or_cov covariance")


@nb.njit(cache=True)
def _fill(states, out, normal):
    """Row c of ``out`` from chain c's stream: U[0, 1) or N(0, 1) draws."""
    for c in range(out.shape[0]):
        if normal:
            standard_normals(states[c], out[c])
        else:
            uniforms(states[c], out[c])
