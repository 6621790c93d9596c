"""Critical points of a landscape: minima, index-1 saddles and minimum-energy paths.

:func:`find_critical_points` solves grad L = 0 by damped Newton
(Levenberg–Marquardt) from many starts in a box, deduplicates and classifies
the roots by their Hessian spectrum, and adds the saddles that
:func:`minimum_energy_path` finds between pairs of minima. These are the
inputs of the closed forms of :mod:`analysis.escape` (Eyring–Kramers) and of
Laplace occupancies: positions, losses and Hessian eigenvalues.
"""
import itertools
from typing import NamedTuple

import numpy as np
import scipy.optimize

from models.landscape import Landscape
from models.validation import as_finite_array, check_positive, check_positive_int, plain

__all__ = ["CriticalPoint", "CriticalPoints", "EnergyPath", "find_critical_points", "minimum_energy_path"]

#: Newton iterations per root search; Levenberg–Marquardt needs a few dozen from far away,
#: then converges quadratically.
_NEWTON_ITER = 200
#: A root's |grad L| is at most this times |H|_F times the box diagonal.
_GTOL = 1e-8
#: Two roots closer than this (in box-width units, max norm) are one point.
_DEDUP = 1e-6
#: Relative size below which a Hessian eigenvalue counts as zero when counting negative ones.
_ZERO_EIG = 1e-8
#: Descents that look for minima outside the box when none is inside (for the error message).
_DESCENTS = 10
#: Beyond this many minima, the saddle search joins only neighbours in loss order.
_ALL_PAIRS_UP_TO = 8


class CriticalPoint(NamedTuple):
    """A point where grad L = 0, with its Hessian spectrum.

    Attributes
    ----------
    position : ndarray (d,)
    loss : float
        L at the point.
    eigenvalues : ndarray (d,)
        Hessian eigenvalues, ascending.
    index : int
        Number of negative eigenvalues (0: minimum, 1: index-1 saddle).
    """

    position: np.ndarray
    loss: float
    eigenvalues: np.ndarray
    index: int


class CriticalPoints(NamedTuple):
    """Result of :func:`find_critical_points`.

    Attributes
    ----------
    minima : list of CriticalPoint
        Index-0 critical points inside the box, by increasing loss.
    saddles : list of CriticalPoint
        Index-1 critical points inside the box, by increasing loss.
    """

    minima: list
    saddles: list


class EnergyPath(NamedTuple):
    """Result of :func:`minimum_energy_path`.

    Attributes
    ----------
    images : ndarray (n_images, d)
        The converged string, equally spaced in arc length, from the minimum
        near ``a`` to the minimum near ``b``.
    energies : ndarray (n_images,)
        L at the images. A path through an intermediate minimum has several
        maxima; the local minima of ``energies`` between them show where.
    saddle : CriticalPoint or None
        The highest image refined by Newton's method to grad L = 0; None if
        that refinement did not end at an index-1 saddle.
    converged : bool
        Whether the string met the tolerance within ``max_iter`` iterations.
    """

    images: np.ndarray
    energies: np.ndarray
    saddle: object
    converged: bool


def find_critical_points(landscape, *, bounds, n_starts=200, seed=None, tol=1e-10, min_minima=1, min_saddles=0):
    r"""The minima and index-1 saddles of a landscape inside a box.

    1. Newton's method on grad L(x) = 0 from ``n_starts`` points drawn
       uniformly in the box, damped as Levenberg–Marquardt so that it
       converges from far away: the step s solves

       .. math:: (H^2 + \mu I)\, s = -H g, \qquad H = \nabla^2 L(x),\ g = \nabla L(x),

       the Gauss–Newton step for min |g|^2 / 2 (Levenberg 1944; Marquardt
       1963). mu shrinks after a step that lowers |g| and grows after one
       that does not; near a nondegenerate root mu -> 0 and the step is
       Newton's, which converges quadratically. The Hessian is exact where
       the landscape has a Hessian kernel (``landscape.hessian``; central
       differences of the gradient otherwise).
    2. Roots closer than 1e-6 box widths are merged; each is classified by
       the eigenvalues of its Hessian (``numpy.linalg.eigh``): its index is
       the number of negative ones.
    3. Saddles are searched for directly as well: for each pair of minima
       found (all pairs up to 8 minima, otherwise neighbours in loss order),
       :func:`minimum_energy_path`; every local maximum of its energy
       profile is refined by Newton to grad L = 0 and kept if it has index 1.

    Only critical points inside the box (closed) with index 0 or 1 are
    returned. Degenerate critical points (a zero Hessian eigenvalue, e.g. on
    a manifold of minima) converge only linearly and come back as many
    nearby points; this search is meant for isolated ones.

    Parameters
    ----------
    landscape : models.Landscape
    bounds : array_like (d, 2)
        Rows ``[low, high]``, finite, low < high.
    n_starts : int >= 1
        Newton starts.
    seed : int, SeedSequence, Generator or None
        For ``numpy.random.default_rng``, which draws the starts.
    tol : float > 0
        A start stops when its step falls below ``tol`` box widths; its end
        point is a root if there |grad L| <= 1e-8 |H|_F times the box
        diagonal (this rejects the points where |grad L| has a local minimum
        above 0, where Levenberg–Marquardt also stalls).
    min_minima, min_saddles : int >= 0
        The fewest minima and saddles the caller needs inside the box; fewer
        raise ValueError (by default: at least one minimum).

    Returns
    -------
    CriticalPoints
        ``minima`` and ``saddles``, lists of :class:`CriticalPoint` sorted by
        loss.

    Raises
    ------
    ValueError
        Bad ``bounds``, or fewer minima/saddles inside them than required (the
        message lists those found outside).

    References
    ----------
    Levenberg (1944), Quart. Appl. Math. 2:164; Marquardt (1963), J. SIAM
    11:431 (the damped Newton step); Müller & Brown (1979), Theor. Chim. Acta
    53:75 (the test potential).

    Examples
    --------
    >>> from models import mueller_brown
    >>> cp = find_critical_points(mueller_brown(), bounds=[[-1.5, 1.2], [-0.5, 2.0]], seed=0)
    >>> [round(m.loss, 2) for m in cp.minima], [round(s.loss, 2) for s in cp.saddles]
    ([-146.7, -108.17, -80.77], [-72.25, -40.66])
    """
    _check_landscape(landscape)
    box = _check_bounds(bounds, landscape.dim)
    n_starts = check_positive_int(n_starts, "n_starts")
    tol = check_positive(tol, "tol")
    min_minima = check_positive_int(min_minima, "min_minima", minimum=0)
    min_saddles = check_positive_int(min_saddles, "min_saddles", minimum=0)
    low, high = box[:, 0], box[:, 1]
    width = high - low

    rng = np.random.default_rng(seed)
    starts = low + width * rng.random((n_starts, landscape.dim))
    roots, ok = _newton_roots(landscape, starts, width, tol)
    points = _dedup_points(landscape, roots[ok], width)

    inside = [p for p in points if _in_box(p.position, low, high, width)]
    minima = [p for p in inside if p.index == 0]
    saddles = [p for p in inside if p.index == 1]

    # the dedicated saddle search along minimum-energy paths between minima
    minima.sort(key=lambda p: p.loss)
    if len(minima) <= _ALL_PAIRS_UP_TO:
        pairs = itertools.combinations(range(len(minima)), 2)
    else:
        pairs = zip(range(len(minima) - 1), range(1, len(minima)))
    for i, j in pairs:
        path = _string(landscape, minima[i].position, minima[j].position, 41, 4000, 1e-7)
        for k in _local_maxima(path.energies):
            candidate = _refine(landscape, path.images[k], width, tol)
            if candidate is not None and candidate.index == 1 and _in_box(candidate.position, low, high, width):
                saddles.append(candidate)
    saddles = _dedup_points(landscape, [s.position for s in saddles], width) if saddles else []

    saddles.sort(key=lambda p: p.loss)
    if len(minima) < min_minima or len(saddles) < min_saddles:
        outside = [p for p in points if not _in_box(p.position, low, high, width) and p.index in (0, 1)]
        if not any(p.index == 0 for p in outside):   # say where the minima are: descend from a few starts
            found_min = [m for m in (_relax(landscape, x) for x in starts[:_DESCENTS]) if m is not None]
            outside += [p for p in _dedup_points(landscape, found_min, width)
                        if not _in_box(p.position, low, high, width)]
        found = "; ".join(f"{'minimum' if p.index == 0 else 'saddle'} at {_fmt(p.position)}" for p in outside[:6])
        short = []
        if len(minima) < min_minima:
            short.append("no minimum of the landscape" if not minima else
                         f"{len(minima)} minima of the landscape, fewer than min_minima={min_minima}")
        if len(saddles) < min_saddles:
            short.append(f"{len(saddles)} index-1 saddle(s) of the landscape, fewer than min_saddles={min_saddles}")
        raise ValueError(f"bounds {_fmt(box)} contain {' and '.join(short)}; found {len(outside)} outside"
                         + (f" ({found})" if found else "")
                         + f" from {n_starts} Newton starts: widen bounds or add starts")
    return CriticalPoints(minima, saddles)


def minimum_energy_path(landscape, a, b, *, n_images=41, max_iter=10_000, tol=1e-7):
    r"""Minimum-energy path between two minima by the simplified string method.

    ``a`` and ``b`` are first relaxed to minima (trust-region Newton,
    ``scipy.optimize.minimize(method="trust-exact")``). The string, n_images
    points joining them (first the straight segment), then alternates

    1. a gradient-descent step of every interior image,
       phi_i <- phi_i - dt grad L(phi_i), with dt = 0.5 / lambda_max, the
       largest Hessian eigenvalue over the images (stable explicit step);
    2. reparametrisation: the images are moved along the piecewise-linear
       string to equal arc-length spacing,

    until no image moves by more than ``tol`` times the string's length in
    one iteration (E, Ren & Vanden-Eijnden 2007, "Simplified and improved
    string method for computing the minimum energy paths in barrier-crossing
    events", J. Chem. Phys. 126:164103). The converged string follows the
    path on which grad L is parallel to the tangent. Its highest image is
    refined by Newton's method to grad L = 0 (:func:`find_critical_points`'s
    damped Newton) and returned as the saddle if it has index 1.

    On the Müller–Brown potential the path from minimum A to minimum B runs
    through the intermediate minimum C and crosses both saddles: ``energies``
    has two maxima with a local minimum (C) between them, and ``saddle`` is
    the higher one (A–C, V = -40.66).

    Parameters
    ----------
    landscape : models.Landscape
    a, b : array_like (d,)
        End points; each is relaxed to the minimum that descent from it reaches.
    n_images : int >= 3
    max_iter : int >= 1
        String iterations.
    tol : float > 0
        Largest image displacement per iteration, relative to the path length.

    Returns
    -------
    EnergyPath

    Raises
    ------
    ValueError
        Bad input, or ``a`` and ``b`` relax to the same minimum (no barrier
        between them).

    Examples
    --------
    >>> from models import symmetric_double_well
    >>> path = minimum_energy_path(symmetric_double_well(), [-1.0, 0.3], [1.0, -0.2])
    >>> bool(np.abs(path.saddle.position).max() < 1e-12)        # the saddle (0, 0)
    True
    >>> round(path.saddle.loss, 9), path.saddle.eigenvalues.round(9).tolist()
    (1.0, [-4.0, 1.0])
    """
    _check_landscape(landscape)
    d = landscape.dim
    a = as_finite_array(a, "a", shape=(d,))
    b = as_finite_array(b, "b", shape=(d,))
    n_images = check_positive_int(n_images, "n_images", minimum=3)
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_positive(tol, "tol")
    ends = []
    for name, point in (("a", a), ("b", b)):
        m = _relax(landscape, point)
        if m is None:
            raise ValueError(f"{name} = {_fmt(point)} does not relax to a minimum of the landscape "
                             "(descent from it diverged or stopped at a point that is not a minimum)")
        ends.append(m)
    scale = max(np.linalg.norm(ends[1] - ends[0]), 1e-300)
    if np.linalg.norm(ends[1] - ends[0]) <= 1e-6 * max(1.0, np.linalg.norm(ends[0])):
        raise ValueError(f"a = {_fmt(a)} and b = {_fmt(b)} relax to the same minimum {_fmt(ends[0])}: "
                         "there is no path between two different minima")
    path = _string(landscape, ends[0], ends[1], n_images, max_iter, tol)
    top = int(np.argmax(path.energies))
    width = np.full(d, scale)
    saddle = _refine(landscape, path.images[top], width, 1e-10)
    if saddle is not None and saddle.index != 1:
        saddle = None
    return EnergyPath(path.images, path.energies, saddle, path.converged)


class _Path(NamedTuple):
    images: np.ndarray
    energies: np.ndarray
    converged: bool


def _string(landscape, start, end, n_images, max_iter, tol):
    """Simplified string method between two fixed end points (already minima)."""
    t = np.linspace(0.0, 1.0, n_images)[:, None]
    phi = (1 - t) * start + t * end
    converged = False
    dt = None
    for it in range(max_iter):
        if it % 50 == 0:  # re-estimate the stable step as the string moves
            with np.errstate(all="ignore"):
                h = landscape.hessian(phi)
            h = h[np.all(np.isfinite(h), axis=(1, 2))]
            lam = np.linalg.eigvalsh(h).max() if h.size else 0.0
            dt = 0.5 / max(lam, 1e-12) if dt is None or lam > 0 else dt
        new = phi.copy()
        new[1:-1] -= dt * landscape.grad(phi[1:-1])
        if not np.all(np.isfinite(new)):
            break
        new = _equal_arc_length(new)
        length = np.linalg.norm(np.diff(new, axis=0), axis=1).sum()
        moved = np.abs(new - phi).max()
        phi = new
        if moved <= tol * length:
            converged = True
            break
    return _Path(phi, np.asarray(landscape.value(phi), dtype=float), converged)


def _equal_arc_length(phi):
    """Images moved along the piecewise-linear curve through ``phi`` to equal arc-length spacing."""
    seg = np.linalg.norm(np.diff(phi, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        return phi
    target = np.linspace(0.0, s[-1], phi.shape[0])
    return np.column_stack([np.interp(target, s, phi[:, j]) for j in range(phi.shape[1])])


def _local_maxima(energies):
    """Indices of interior images higher than both neighbours."""
    e = energies
    return [k for k in range(1, e.size - 1) if e[k] >= e[k - 1] and e[k] >= e[k + 1]]


def _newton_roots(landscape, x, width, tol, max_iter=_NEWTON_ITER):
    """Batched Levenberg–Marquardt on grad L = 0 from the rows of ``x``: (roots, converged mask).

    A row stops when its step falls below ``tol`` box widths; it has converged if then
    |grad L| <= 1e-8 |H|_F |width|, which rejects the local minima of |grad L| > 0 where
    Levenberg–Marquardt also stalls (there |grad L| is of the order of |H| times a distance).
    """
    x = np.array(x, dtype=float)
    n, d = x.shape
    center = x.mean(axis=0)
    eye = np.eye(d)
    trust = 0.5 * np.linalg.norm(width)          # no step longer than half the box diagonal
    g, gnorm = _safe_grad(landscape, x)
    active = np.isfinite(gnorm) & (gnorm > 0)
    mu = np.full(n, 1e-3)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        with np.errstate(all="ignore"):
            h = landscape.hessian(x[idx])
            hh = h @ h
            scale = np.maximum(np.trace(hh, axis1=1, axis2=2) / d, 1e-300)
            rhs = -np.einsum("nij,nj->ni", h, g[idx])
            ok = np.all(np.isfinite(hh), axis=(1, 2)) & np.all(np.isfinite(rhs), axis=1)
            step = np.zeros((idx.size, d))
            step[ok] = np.linalg.solve(hh[ok] + (mu[idx[ok]] * scale[ok])[:, None, None] * eye,
                                       rhs[ok, :, None])[:, :, 0]
        broken = ~ok | ~np.all(np.isfinite(step), axis=1)    # the Hessian or gradient overflowed
        step[broken] = 0.0
        active[idx[broken]] = False
        length = np.linalg.norm(step, axis=1)
        step *= np.minimum(1.0, trust / np.maximum(length, 1e-300))[:, None]
        trial = x[idx] + step
        g_trial, n_trial = _safe_grad(landscape, trial)
        better = np.isfinite(n_trial) & (n_trial < gnorm[idx])
        acc = idx[better]
        x[acc], g[acc], gnorm[acc] = trial[better], g_trial[better], n_trial[better]
        mu[acc] = np.maximum(mu[acc] / 10.0, 1e-15)
        mu[idx[~better]] *= 10.0
        small = np.max(np.abs(step) / width, axis=1) <= tol
        far = np.max(np.abs(x[idx] - center) / width, axis=1) > 1e3     # ran off to infinity
        active[idx[small | far | (mu[idx] > 1e12) | (gnorm[idx] == 0)]] = False
    converged = np.isfinite(gnorm)
    if converged.any():
        with np.errstate(all="ignore"):
            h_norm = np.linalg.norm(landscape.hessian(x[converged]), axis=(1, 2))
        converged[converged] = np.isfinite(h_norm) & (gnorm[converged] <= _GTOL * h_norm * np.linalg.norm(width))
    return x, converged


def _safe_grad(landscape, x):
    """Gradient rows and their norms; inf where the landscape overflows."""
    with np.errstate(all="ignore"):
        g = np.asarray(landscape.grad(x), dtype=float)
        g[~np.all(np.isfinite(g), axis=1)] = np.inf
        return g, np.linalg.norm(g, axis=1)


def _classify(landscape, x):
    h = landscape.hessian(x)
    eig = np.linalg.eigvalsh(h)
    zero = _ZERO_EIG * max(np.abs(eig).max(), 1e-300)
    return CriticalPoint(np.array(x, dtype=float), float(landscape.value(x)), eig, int(np.sum(eig < -zero)))


def _dedup_points(landscape, roots, width):
    """Merge roots within _DEDUP box widths of each other and classify the survivors."""
    kept = []
    for r in np.atleast_2d(roots):
        if not np.all(np.isfinite(r)):
            continue
        if any(np.max(np.abs(r - k) / width) <= _DEDUP for k in kept):
            continue
        kept.append(r)
    return [_classify(landscape, r) for r in kept]


def _refine(landscape, x, width, tol):
    """Newton (damped) from ``x`` to a critical point; None if it does not converge."""
    roots, ok = _newton_roots(landscape, np.atleast_2d(x), width, tol)
    return _classify(landscape, roots[0]) if ok[0] else None


def _relax(landscape, x):
    """The minimum that trust-region Newton descent from ``x`` reaches, polished by Newton; None if not a minimum."""
    with np.errstate(all="ignore"):
        res = scipy.optimize.minimize(landscape.value, x, jac=landscape.grad, hess=landscape.hessian,
                                      method="trust-exact", options={"gtol": 1e-12, "maxiter": 500})
    if not np.all(np.isfinite(res.x)):
        return None
    width = np.full(landscape.dim, max(1.0, np.linalg.norm(res.x - x)))
    point = _refine(landscape, res.x, width, 1e-12)
    if point is None or point.index != 0 or np.min(point.eigenvalues) <= 0:
        return None
    return point.position


def _in_box(x, low, high, width):
    slack = 1e-9 * width
    return bool(np.all(x >= low - slack) and np.all(x <= high + slack))


def _check_landscape(landscape):
    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a models.Landscape, got {type(landscape).__name__}")


def _check_bounds(bounds, d):
    box = as_finite_array(bounds, "bounds")
    if box.shape != (d, 2):
        raise ValueError(f"bounds must have shape ({d}, 2), rows [low, high] for the landscape's {d} "
                         f"coordinate(s); got shape {box.shape}")
    bad = np.flatnonzero(~(box[:, 0] < box[:, 1]))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"bounds row {i} must have low < high, got [{plain(box[i, 0])}, {plain(box[i, 1])}]")
    return box


def _fmt(x):
    """Plain numbers, rounded to 6 decimals (-0.0 shown as 0.0)."""
    return str((np.round(np.asarray(x, dtype=float), 6) + 0.0).tolist())
