"""Core sets: the balls |x - center| <= radius around minima that define a transition.

A chain has moved from basin i to basin j when, having last been in core set
i, it enters core set j. Counting entries into cores, not crossings of the
dividing surface, is what keeps recrossings of the saddle from being counted
as transitions (the milestoning view of Schütte, Noé, Lu, Sarich & Vanden-Eijnden
2011, "Markov state models based on milestoning", J. Chem. Phys. 134:204105).
"""
import math
import numbers
from typing import NamedTuple

import numba as nb
import numpy as np

from models.validation import as_finite_array, check_positive, plain

__all__ = ["CoreSet", "as_core_sets", "core_arrays", "core_index"]


class CoreSet(NamedTuple):
    """The closed ball ``|x - center| <= radius``.

    Examples
    --------
    >>> core = CoreSet(np.array([1.0, 0.0]), 0.3)
    >>> core.contains([0.9, 0.1])
    True
    """

    center: np.ndarray
    radius: float

    def contains(self, x):
        """Whether the point ``x`` (d,) lies in the ball."""
        return bool(np.linalg.norm(np.asarray(x, dtype=float) - self.center) <= self.radius)


def as_core_sets(basins, dim, *, name="basins", landscape=None, min_count=1):
    """Validate a list of ``(center, radius)`` pairs as disjoint core sets.

    Parameters
    ----------
    basins : sequence of (array_like (d,), float) or CoreSet
        The core sets; a single pair is accepted where ``min_count`` is 1.
        A center may also be anything with a ``position`` (d,), such as an
        ``analysis.critical.CriticalPoint``.
    dim : int
        Dimension d of the landscape.
    name : str
        The argument's name, for error messages.
    landscape : models.Landscape, optional
        When given, each ball must contain a local minimum of the landscape:
        gradient descent (L-BFGS) started at the center must stop inside it.
    min_count : int
        Fewest core sets allowed.

    Returns
    -------
    list of CoreSet

    Raises
    ------
    ValueError
        A pair of the wrong shape, a radius that is not positive and finite,
        two balls that overlap or touch, or (with ``landscape``) a ball that
        holds no minimum.
    """
    if _is_single_pair(basins):
        basins = [basins]
    try:
        pairs = list(basins)
    except TypeError:
        raise ValueError(f"{name} must be a list of (center, radius) pairs, got {type(basins).__name__}") from None
    if len(pairs) < min_count:
        raise ValueError(f"{name} needs at least {min_count} core set(s) (center, radius), got {len(pairs)}")
    cores = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list, CoreSet)) and len(pair) == 2):
            raise ValueError(f"{name}[{i}] must be a (center, radius) pair, got {pair!r}")
        center = as_finite_array(getattr(pair[0], "position", pair[0]), f"{name}[{i}] center", shape=(dim,))
        radius = check_positive(pair[1], f"{name}[{i}] radius")
        if not math.isfinite(radius):
            raise ValueError(f"{name}[{i}] radius must be finite, got {plain(radius)}")
        cores.append(CoreSet(center, radius))
    for i in range(len(cores)):
        for j in range(i + 1, len(cores)):
            gap = np.linalg.norm(cores[i].center - cores[j].center) - cores[i].radius - cores[j].radius
            if gap <= 0:
                raise ValueError(f"{name}[{i}] and {name}[{j}] overlap: the centers are "
                                 f"{plain(np.linalg.norm(cores[i].center - cores[j].center))} apart, less than "
                                 f"the sum of the radii {plain(cores[i].radius + cores[j].radius)}; core sets "
                                 "must be disjoint")
    if landscape is not None:
        for i, core in enumerate(cores):
            _check_holds_minimum(landscape, core, f"{name}[{i}]")
    return cores


def _is_single_pair(basins):
    """Whether ``basins`` is one ``(center, radius)`` pair rather than a list of them.

    A tuple counts as one pair when its second item is a number; a tuple of
    two pairs has a pair there. (``np.ndim`` is not used: it raises on the
    ragged tuple ``((center, r), (center, r))``.)
    """
    if isinstance(basins, CoreSet):
        return True
    return (isinstance(basins, tuple) and len(basins) == 2 and isinstance(basins[1], (numbers.Real, np.number))
            and not isinstance(basins[1], (bool, np.bool_)))


def _check_holds_minimum(landscape, core, what, *, max_rounds=8):
    """Descend from the center; where descent stops at a critical point with negative
    curvature (a saddle, e.g. a center placed exactly on one, where the gradient is 0),
    push off along the most negative Hessian eigenvector, both ways, and descend again.
    The ball holds a minimum if some descent ends inside it at a point whose Hessian
    has no eigenvalue below -1e-6 max(1, |lambda|_max)."""
    from scipy.optimize import minimize

    def descend(x0):
        return minimize(lambda x: float(landscape.value(x)), x0, jac=lambda x: landscape.grad(x),
                        method="L-BFGS-B", options={"gtol": 1e-10, "maxiter": 10_000}).x

    starts, end = [core.center], core.center
    for _ in range(max_rounds):
        ends = [descend(x0) for x0 in starts]
        inside = [x for x in ends if np.all(np.isfinite(x)) and np.linalg.norm(x - core.center) <= core.radius]
        if not inside:
            end = ends[0]
            break
        end = inside[0]
        eigenvalues, vectors = np.linalg.eigh(np.atleast_2d(landscape.hessian(end)))
        if eigenvalues[0] >= -1e-6 * max(1.0, float(np.abs(eigenvalues).max())):
            return
        push = 1e-3 * core.radius * vectors[:, 0]
        starts = [end + push, end - push]
    raise ValueError(f"{what} does not contain a minimum: descent from its center "
                     f"{np.round(core.center, 6).tolist()} ends at {np.round(end, 6).tolist()}, "
                     + ("outside the radius " + plain(core.radius)
                        if np.linalg.norm(end - core.center) > core.radius else "a saddle point"))


def core_arrays(cores):
    """Centers (K, d) and squared radii (K,) as contiguous arrays, for :func:`core_index`."""
    centers = np.ascontiguousarray([c.center for c in cores], dtype=np.float64)
    radii2 = np.array([c.radius ** 2 for c in cores], dtype=np.float64)
    return centers, radii2


@nb.njit(cache=True)
def core_index(x, centers, radii2):
    """Index of the core set holding the point ``x``, or -1 (numba; cores are disjoint)."""
    k, d = centers.shape
    for i in range(k):
        s = 0.0
        for j in range(d):
            t = x[j] - centers[i, j]
            s += t * t
        if s <= radii2[i]:
            return i
    return -1
