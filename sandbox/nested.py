"""Nested sampling for the density of states V(eps) = vol{x in box : L(x) <= eps}.

Scope: one sampler, :func:`density_of_states`, that estimates the absolute
log volume of every sublevel set of a landscape inside a box, with an honest
standard error, in dimensions up to a few hundred; :func:`repeat_spread` checks
that error against repeated runs and :func:`benchmark_dos` times the standard
ill-conditioned ellipsoid case for ``sandbox bench``.

Method (Skilling 2006, "Nested sampling for general Bayesian computation",
Bayesian Analysis 1:833). The prior is uniform on the box, so the prior mass
X(eps) = V(eps) / vol(box). ``n`` live points are drawn uniformly in the box.
Each iteration removes the ``k`` live points of highest loss ("parallel nested
sampling", Henderson & Goggans 2014, AIP Conf. Proc. 1636:100) and replaces
them by ``k`` new points drawn uniformly from {x in box : L(x) < L*}, L* the
lowest loss removed. The j-th removed point (j = 1..k, highest loss first) is
the j-th largest of n uniform variates on (0, X_prev), so its prior mass obeys

    log X_j = log X_prev + sum_{m=0}^{j-1} log t_m,   t_m ~ Beta(n - m, 1),
    E[log t_m] = -1 / (n - m),    Var[log t_m] = 1 / (n - m)^2,

independently across iterations. The estimate is the sum of the means and its
variance the sum of the variances: after i removals with k << n this is
log X ~ -i / n with standard error sqrt(i) / n = sqrt(depth / n), the
statistical error of nested sampling (Skilling 2006, sec. 9). When the run
stops, the n live points are removed one by one without replacement (same
formula) and added as the deepest levels. Then

    log V(eps_j) = log vol(box) + log X_j,      stderr_j = sqrt(sum of variances).

Constrained moves. A new point starts at a randomly chosen surviving live
point and takes ``n_steps`` hit-and-run slice-sampling steps (Neal 2003,
"Slice sampling", Ann. Stat. 31:705, stepping out and shrinkage, sec. 4) on
the uniform law over {x in box : L(x) < L*}. Each step's direction is the
difference u = x_a - x_b of two distinct surviving live points (the
differential-evolution proposal of ter Braak 2006, Stat. Comput. 16:239):
u has covariance 2 Sigma, Sigma the live points' covariance, so the moves are
whitened by the live points' shape (affine invariant: an ellipsoid of any
condition number and rotation looks like a ball) at O(d) cost per step,
without forming a Cholesky factor. The directions are drawn from the frozen
survivor set, independently of the moving point, so every step leaves the
uniform law invariant; the box is part of the constraint (points outside it
are rejected without evaluating L). The initial bracket has width
``w |u|`` and ``w`` is adapted between iterations (from the previous batch
only) so that the bracket matches the chord. Only ``L`` values are used, so any
landscape works: non-quadratic, singular, with flat directions.

Gaussian prior. With ``gaussian=(mean, std)`` instead of a box the prior is
N(mean, diag(std^2)): the live points start as its draws, X is prior mass,
and each slice step samples the prior density restricted to {L < L*}: the
slice height is p(x) U, U uniform, and along the line x + t u the log
density changes by -(a t + b t^2 / 2), a = sum_i (x_i - mean_i) u_i / std_i^2,
b = sum_i u_i^2 / std_i^2, so points below the height are rejected before
L is evaluated (Neal 2003, sec. 4). The result is log P(L(x) <= eps).

Randomness: chain c of the sampler (c = 0..n-1 draws the initial live points,
then the replacement chains are numbered n, n+1, ... in order of creation) draws
only from its own stream :func:`sandbox.streams.chain_states` ``(seed, c)``,
so results are bitwise identical for any number of threads.
"""
import math
import time
from typing import NamedTuple

import numba as nb
import numpy as np
from scipy.special import gammaln

from models.estimate import Estimate
from models.kernels import value
from models.landscape import Landscape, LandscapeError
from models.validation import as_finite_array, check_positive, check_positive_int, plain
from sandbox.streams import chain_states, seed_sequence, standard_normals, uniforms

__all__ = ["DensityOfStates", "NestedInfo", "MOVES", "density_of_states", "min_live_points",
           "RepeatSpread", "repeat_spread", "DosBenchmark", "benchmark_dos"]

#: Smallest allowed number of live points is max(2 d, this).
MIN_LIVE = 20
#: Stepping-out budget (Neal 2003, fig. 3) and shrinkage budget per slice step.
_MAX_EXPAND = 32
_MAX_SHRINK = 200

#: The live points' coordinate spreads and move weights are recomputed when log X has
#: dropped by max(_SHAPE_UPDATE, d / 20) nats: their linear size has then shrunk by at most
#: about exp(-1/20), 5 %, and the slice widths adapt in between.
_SHAPE_UPDATE = 0.5
#: Smallest adapted probability of a move type.
_MIN_WEIGHT = 0.1
#: A coordinate move brackets the whole box edge when it is at most this many slice widths long.
_BOX_BRACKET = 4.0
#: The move types, in the order of the ``moves`` weights.
MOVES = ("live_point_difference", "coordinate_axis", "reflected_random_sign")

_OUTSIDE_PRIOR = 0      # outside the box, or below the Gaussian prior's slice height: L not evaluated
_OUTSIDE = 1
_INSIDE = 2
_NOT_FINITE = 3


# --- numba kernels -------------------------------------------------------------

@nb.njit(cache=True, inline="always")
def _loss(fns, params, x):
    """L(x), NaN if a landscape function raised (so that it is reported as a non-finite loss)."""
    status, loss = value(fns, params, x)
    return loss if status == 0 else np.nan


@nb.njit(cache=True, parallel=True)
def _initial_points(fns, params, shift, scale, gaussian, states, x, loss):
    """Chain c: x[c] = shift + scale * U, U uniform in [0, 1)^d (or standard
    normal if ``gaussian``); loss[c] = L(x[c])."""
    n, d = x.shape
    for c in nb.prange(n):
        u = np.empty(d)
        if gaussian:
            standard_normals(states[c], u)
        else:
            uniforms(states[c], u)
        for i in range(d):
            x[c, i] = shift[i] + scale[i] * u[i]
        loss[c] = _loss(fns, params, x[c])


@nb.njit(cache=True, inline="always")
def _classify(fns, params, x, t, u, y, low, high, threshold, reflect):
    """Write y = x + t u, folded into the box by mirror reflection at its walls
    if ``reflect`` (the position of a billiard ball in the box), and return
    (status, L(y)), status one of _OUTSIDE_PRIOR ... _NOT_FINITE."""
    d = x.size
    outside = False
    for i in range(d):
        yi = x[i] + t * u[i]
        y[i] = yi
        outside |= (yi < low[i]) | (yi > high[i])
    if outside and reflect:
        outside = False
        for i in range(d):
            yi = y[i]
            if (yi < low[i]) | (yi > high[i]):
                span = high[i] - low[i]
                z = abs(yi - low[i])
                if z > 2.0 * span:
                    z = z % (2.0 * span)
                if z > span:
                    z = 2.0 * span - z
                yi = low[i] + z
                y[i] = yi
                outside |= (yi < low[i]) | (yi > high[i])
    if outside:
        return _OUTSIDE_PRIOR, 0.0
    loss = _loss(fns, params, y)
    if not math.isfinite(loss):
        return _NOT_FINITE, loss
    if loss < threshold:
        return _INSIDE, loss
    return _OUTSIDE, loss


@nb.njit(cache=True, inline="always")
def _classify_axis(fns, params, x, t, a, scale, y, low, high, threshold):
    """Like :func:`_classify` for u = scale e_a, with y equal to x off coordinate a."""
    ya = x[a] + t * scale
    y[a] = ya
    if (ya < low[a]) | (ya > high[a]):
        return _OUTSIDE_PRIOR, 0.0
    loss = _loss(fns, params, y)
    if not math.isfinite(loss):
        return _NOT_FINITE, loss
    if loss < threshold:
        return _INSIDE, loss
    return _OUTSIDE, loss


@nb.njit(cache=True, inline="always")
def _test(fns, params, move, x, t, u, a, y, low, high, threshold, prior_lin, prior_quad, slice_gap):
    # Gaussian prior: log p(x + t u) - log p(x) = -(prior_lin t + prior_quad t^2 / 2) must stay
    # above log(height / p(x)) = -slice_gap (Neal 2003, sec. 4); for the box prior slice_gap = inf
    if prior_lin * t + 0.5 * prior_quad * t * t >= slice_gap:
        return _OUTSIDE_PRIOR, 0.0
    if move == 1:
        return _classify_axis(fns, params, x, t, a, u[a], y, low, high, threshold)
    return _classify(fns, params, x, t, u, y, low, high, threshold, move == 2)


@nb.njit(cache=True, parallel=True)
def _slice_chains(fns, params, pool, pool_loss, threshold, low, high, prior_mean, prior_precision, states,
                  n_steps, move_cdf, coord_scale, widths, new_x, new_loss, counts, bad):
    """Replace k points: chain c walks from a random pool point by slice steps along lines.

    pool (m, d) holds the surviving live points (all with loss < threshold).
    Each step draws its move type from the cumulative probabilities
    ``move_cdf`` (see ``MOVES``): 0, the difference pool[a] - pool[b] of two
    distinct pool points (ter Braak 2006); 1, a coordinate axis e_i (i
    uniform) times ``coord_scale[i]``; 2, the direction u_i = +-coord_scale[i]
    with independent random signs, along the path reflected at the box
    walls. ``widths[type]`` is the initial bracket in units of u; for types 0
    and 1 the box walls reject. With a Gaussian prior (``prior_precision``
    > 0, the box infinite) each step is a slice step on the prior density
    restricted to {L < threshold}: a point below the slice height is
    rejected before L is evaluated. Outputs per chain:
    the new point and its loss; ``counts[c, type]`` = [steps, shrinkage
    proposals, stepping-out expansions, L evaluations, whole-edge brackets,
    shrinkage proposals within them]; ``bad[c] = 1`` (new_x[c]
    the offending point, new_loss[c] its loss) if L was not finite somewhere.
    """
    m, d = pool.shape
    k = new_x.shape[0]
    n_words = (d + 31) // 32
    gaussian = prior_precision[0] > 0.0
    for c in nb.prange(k):
        st = states[c]
        r = np.empty(4)
        r1 = np.empty(1)
        words = np.empty(n_words)
        x = np.empty(d)
        y = np.empty(d)
        u = np.zeros(d)
        uniforms(st, r1)
        s = min(int(r1[0] * m), m - 1)
        for i in range(d):
            x[i] = pool[s, i]
        lx = pool_loss[s]
        failed = False
        lv = 0.0
        a = 0
        for t in range(3):
            for i in range(6):
                counts[c, t, i] = 0
        for _ in range(n_steps):
            uniforms(st, r)
            move = 0
            while move < 2 and r[3] >= move_cdf[move]:
                move += 1
            if move == 0:
                # difference of two distinct pool points: covariance 2 S, O(d)
                ia = min(int(r[0] * m), m - 1)
                ib = min(int(r[3] * (m - 1) / move_cdf[0]), m - 2)
                ib += ib >= ia
                for i in range(d):
                    u[i] = pool[ia, i] - pool[ib, i]
            elif move == 1:
                a = min(int(r[0] * d), d - 1)
                for i in range(d):
                    u[i] = 0.0
                u[a] = coord_scale[a]
            else:
                uniforms(st, words)
                for w in range(n_words):
                    bits = np.uint64(words[w] * 4294967296.0)
                    for i in range(32 * w, min(32 * w + 32, d)):
                        if (bits >> np.uint64(i - 32 * w)) & np.uint64(1):
                            u[i] = -coord_scale[i]
                        else:
                            u[i] = coord_scale[i]
            p_lin = p_quad = 0.0
            gap = np.inf
            if gaussian:
                # the prior's log density along the line, -(p_lin t + p_quad t^2 / 2), and the
                # slice height's gap below it, -log U ~ Exponential(1)
                if move == 1:
                    p_lin = (x[a] - prior_mean[a]) * prior_precision[a] * u[a]
                    p_quad = u[a] * u[a] * prior_precision[a]
                else:
                    for i in range(d):
                        p_lin += (x[i] - prior_mean[i]) * prior_precision[i] * u[i]
                        p_quad += u[i] * u[i] * prior_precision[i]
                uniforms(st, r1)
                gap = -math.log1p(-r1[0])
            width = widths[move]
            counts[c, move, 0] += 1
            if move == 1:
                for i in range(d):
                    y[i] = x[i]
            if move == 1 and high[a] - low[a] <= _BOX_BRACKET * width * u[a]:
                # the whole box edge along e_a is the bracket: no stepping out
                lo = (low[a] - x[a]) / u[a]
                hi = (high[a] - x[a]) / u[a]
                j = jr = 0
                counts[c, move, 4] += 1
                box_bracket = True
            else:
                lo = -width * r[1]
                hi = lo + width
                # stepping out, budget _MAX_EXPAND split at random (Neal 2003, fig. 3)
                j = int(_MAX_EXPAND * r[2])
                jr = _MAX_EXPAND - 1 - j
                box_bracket = False
            while j > 0:
                status, lv = _test(fns, params, move, x, lo, u, a, y, low, high, threshold, p_lin, p_quad, gap)
                counts[c, move, 3] += status != _OUTSIDE_PRIOR
                if status != _INSIDE:
                    failed = status == _NOT_FINITE
                    break
                lo -= width
                j -= 1
                counts[c, move, 2] += 1
            if failed:
                break
            while jr > 0:
                status, lv = _test(fns, params, move, x, hi, u, a, y, low, high, threshold, p_lin, p_quad, gap)
                counts[c, move, 3] += status != _OUTSIDE_PRIOR
                if status != _INSIDE:
                    failed = status == _NOT_FINITE
                    break
                hi += width
                jr -= 1
                counts[c, move, 2] += 1
            if failed:
                break
            # shrinkage (Neal 2003, fig. 5); t = 0 is inside, so it ends
            for _s in range(_MAX_SHRINK):
                uniforms(st, r1)
                t = lo + r1[0] * (hi - lo)
                status, lv = _test(fns, params, move, x, t, u, a, y, low, high, threshold, p_lin, p_quad, gap)
                counts[c, move, 3] += status != _OUTSIDE_PRIOR
                counts[c, move, 5 if box_bracket else 1] += 1
                if status == _NOT_FINITE:
                    failed = True
                    break
                if status == _INSIDE:
                    if move == 1:
                        x[a] = y[a]
                    else:
                        for i in range(d):
                            x[i] = y[i]
                    lx = lv
                    break
                if t < 0.0:
                    lo = t
                else:
                    hi = t
            if failed:
                break
        if failed:
            bad[c] = 1
            for i in range(d):
                new_x[c, i] = y[i]
            new_loss[c] = lv
        else:
            for i in range(d):
                new_x[c, i] = x[i]
            new_loss[c] = lx


# --- results -------------------------------------------------------------------

class NestedInfo(NamedTuple):
    """Diagnostics of a :func:`density_of_states` run.

    Attributes
    ----------
    n_live : int
        Number of live points n.
    n_replace : int
        Points removed and replaced per iteration, k.
    n_steps : int
        Slice-sampling steps per new point.
    n_iterations : int
        Iterations run.
    n_evaluations : int
        Loss evaluations (initial points included; points outside the box are
        rejected without one).
    acceptance : float
        Fraction of shrinkage proposals that fell inside {L < L*}: slice steps
        per proposal (1 means every first draw landed in the set).
    depth : float
        -log X at the last threshold, in nats: log vol(box) - log V(eps_stop).
        This is the information H (Kullback-Leibler divergence of the uniform
        law on the deepest sublevel set from the uniform law on the box) that
        sets the cost and the error of nested sampling (Skilling 2006, sec. 9).
    depth_stderr : float
        Standard error of log X there (sqrt of the summed shrinkage variances).
    depth_stderr_rule : float
        sqrt(H / n_live) with H = depth, Skilling's rule of thumb for the same
        error; :func:`repeat_spread` gives the empirical one.
    slice_widths : tuple of 3 floats
        Final initial-bracket widths w of the move types ``MOVES``, in units
        of each type's direction vector.
    move_weights : tuple of 3 floats
        Final probabilities of the move types ``MOVES``.
    stop_reason : str
        "eps_min" (reached the requested level), "spread" (live losses within
        ``spread_rtol`` of each other), "max_depth", or "ties" (several live
        points share the threshold loss: a plateau of positive volume or the
        floating-point floor).
    """

    n_live: int
    n_replace: int
    n_steps: int
    n_iterations: int
    n_evaluations: int
    acceptance: float
    depth: float
    depth_stderr: float
    depth_stderr_rule: float
    slice_widths: tuple
    move_weights: tuple
    stop_reason: str


class DensityOfStates(NamedTuple):
    """Log volume of the sublevel sets {x in box : L(x) <= eps}, with standard errors.

    Attributes
    ----------
    eps : ndarray (m,)
        Loss levels (the dead points' losses, then the final live points'),
        increasing.
    log_volumes : ndarray (m,)
        Estimated log V(eps) = log vol(box) + log X, absolute (not a fraction).
    stderr : ndarray (m,)
        Standard errors of ``log_volumes`` (sqrt of the summed shrinkage
        variances; see the module docstring).
    log_box_volume : float
        log vol(box) = sum_i log(high_i - low_i); 0 for a Gaussian prior,
        whose ``log_volumes`` are log prior masses log P(L(x) <= eps).
    info : NestedInfo
        Diagnostics.
    """

    eps: np.ndarray
    log_volumes: np.ndarray
    stderr: np.ndarray
    log_box_volume: float
    info: NestedInfo

    def log_volume(self, eps):
        """log V(eps) as an :class:`~sandbox.estimate.Estimate`, for a float or an array.

        Linear interpolation in ``eps`` between neighbouring levels (they are
        about 1/n_live nats of log V apart). For ``eps`` at or above the highest
        sampled loss the set is the whole box up to the mass above that loss,
        which is about 1/n_live: the value is log vol(box) with standard error
        1/n_live.

        Raises
        ------
        ValueError
            If ``eps`` is not finite or lies below the deepest level reached
            (``self.eps[0]``).
        """
        e = as_finite_array(eps, "eps")
        lowest = self.eps[0]
        if np.any(e < lowest):
            bad = float(np.min(e))
            raise ValueError(f"eps must be >= {plain(lowest)}, the deepest loss level sampled; got eps={plain(bad)} "
                             "(run density_of_states with a lower eps_min)")
        top = e >= self.eps[-1]
        val = np.interp(e, self.eps, self.log_volumes)
        var = np.interp(e, self.eps, self.stderr**2)
        val = np.where(top, self.log_box_volume, val)
        se = np.where(top, 1.0 / self.info.n_live, np.sqrt(var))
        if e.ndim == 0:
            return Estimate(float(val), float(se))
        return Estimate(val, se)


# --- the sampler -----------------------------------------------------------------

def min_live_points(d):
    """Smallest allowed ``n_live`` in dimension ``d``: max(2 d, 20).

    The replacement directions are differences of surviving live points, and
    at least d + 1 survivors are needed for them to span R^d.
    """
    return max(2 * d, MIN_LIVE)


def _per_coordinate(value, name, d):
    """A finite scalar broadcast to length d, or a finite length-d array (float, contiguous)."""
    if np.ndim(value) == 0:
        return np.full(d, float(as_finite_array(value, name)))
    return np.ascontiguousarray(as_finite_array(value, name, shape=(d,)), dtype=float)


def _pair(value, name, fields):
    try:
        first, second = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair {fields}, got {value!r}") from None
    return first, second


def _box(bounds, d):
    low, high = _pair(bounds, "bounds", "(low, high)")
    low, high = _per_coordinate(low, "bounds", d), _per_coordinate(high, "bounds", d)
    if np.any(high <= low):
        i = int(np.argmax(high <= low))
        raise ValueError(f"bounds must satisfy low < high in every coordinate; got low={plain(low[i])} >= "
                         f"high={plain(high[i])} in coordinate {i}")
    return low, high


def _gaussian(gaussian, d):
    mean, std = _pair(gaussian, "gaussian", "(mean, std)")
    mean, std = _per_coordinate(mean, "gaussian mean", d), _per_coordinate(std, "gaussian std", d)
    if np.any(std <= 0):
        raise ValueError(f"gaussian std must be > 0 in every coordinate, got {plain(std.min())}")
    return mean, std


@nb.njit(cache=True)
def _live_shape(pool):
    """The live points' shape: coordinate spreads and axis reach.

    Returns the per-coordinate standard deviations sqrt(S_ii) of the sample
    covariance S, and ``reach`` = mean_i 1 / (S_ii (S^-1)_ii) = mean_i
    1 / (R^-1)_ii, R the correlation matrix: the mean squared ratio of a
    coordinate's conditional to its marginal spread (1 when the live points
    are uncorrelated, ~ 1/condition number for a thin rotated ellipsoid),
    corrected for the bias (m - d - 1)/m of a sample covariance from m points.

    Plain loops (Cholesky factor of R, jittered by 1e-12, then the squared
    column norms of its inverse) rather than BLAS: OpenBLAS worker threads
    left spinning after a threaded call take the cores from the numba
    threads of the next batch (a 3x slowdown on 2 cores).
    """
    m, d = pool.shape
    mean = np.zeros(d)
    for r in range(m):
        for i in range(d):
            mean[i] += pool[r, i]
    mean /= m
    cov = np.zeros((d, d))
    u = np.empty(d)
    for r in range(m):
        for i in range(d):
            u[i] = pool[r, i] - mean[i]
        for i in range(d):
            ui = u[i]
            for j in range(i + 1):
                cov[i, j] += ui * u[j]
    spread = np.empty(d)
    for i in range(d):
        spread[i] = math.sqrt(cov[i, i] / (m - 1))
    # lower Cholesky factor of the correlation matrix, in place
    for i in range(d):
        for j in range(i + 1):
            cov[i, j] /= math.sqrt(cov[i, i] * cov[j, j]) if i != j else 1.0
    for i in range(d):
        cov[i, i] = 1.0 + 1e-12
    for j in range(d):
        s = cov[j, j]
        for k in range(j):
            s -= cov[j, k] * cov[j, k]
        piv = math.sqrt(max(s, 1e-12))
        cov[j, j] = piv
        for i in range(j + 1, d):
            s = cov[i, j]
            for k in range(j):
                s -= cov[i, k] * cov[j, k]
            cov[i, j] = s / piv
    # (R^-1)_ii = sum_k (L^-1)_{ki}^2: column i of L^-1 by forward substitution
    reach = 0.0
    col = np.empty(d)
    for i in range(d):
        total = 0.0
        for k in range(i, d):
            s = 1.0 if k == i else 0.0
            for j in range(i, k):
                s -= cov[k, j] * col[j]
            col[k] = s / cov[k, k]
            total += col[k] * col[k]
        reach += 1.0 / total
    reach = reach / d * m / max(m - d - 1, 1)
    return spread, min(reach, 1.0)


def _not_finite_error(x, loss):
    with np.printoptions(precision=4, threshold=8):
        return LandscapeError(f"the landscape's loss is {plain(loss)} at x={np.asarray(x)} inside the box (NaN also "
                              "when a landscape function raised); density_of_states needs a finite loss on the "
                              "whole box")


def density_of_states(landscape, *, bounds=None, gaussian=None, eps_min=None, n_live=None, n_steps=None,
                      fraction=0.1, moves=None, max_depth=None, spread_rtol=1e-3, seed=None):
    r"""Nested-sampling estimate of log V(eps), V(eps) = vol{x in box : L(x) <= eps}.

    With ``gaussian=(mean, std)`` in place of ``bounds`` it estimates the
    Gaussian prior mass log P(L(x) <= eps), x ~ N(mean, diag(std^2)), instead.

    .. math:: \log V(\varepsilon_j) = \log \mathrm{vol(box)} + \log X_j, \qquad
              \log X_j = -\sum_{\text{removals}} \frac{1}{n - m}, \qquad
              \mathrm{Var} = \sum_{\text{removals}} \frac{1}{(n - m)^2}

    (m = rank of the removed point within its iteration; see the module
    docstring). With k << n this is log X_i = -i/n with standard error
    sqrt(i)/n ~ sqrt(depth / n_live).

    Parameters
    ----------
    landscape : models.Landscape
        Any landscape; only its loss value is used. It must be finite on the box.
    bounds : (low, high)
        Box corners, scalars or length-d arrays, low < high in every coordinate.
    gaussian : (mean, std), optional
        Instead of ``bounds``: a Gaussian prior N(mean, diag(std^2)), scalars
        or length-d arrays, std > 0. Live points start as draws from it; each
        slice step then samples the prior density restricted to {L < L*}
        (slice sampling with the prior's height, Neal 2003, sec. 4), so the
        nested-sampling X is prior mass and ``log_volumes`` are log P(L <= eps)
        (``log_box_volume`` = 0). Exactly one of ``bounds`` and ``gaussian``.
    eps_min : float, optional
        Deepest level wanted: the run stops at the first iteration whose
        threshold is <= eps_min. Default (None): stop when the live points'
        losses span less than ``spread_rtol`` times the span of the initial
        (uniform-in-box) live losses, i.e. once V(eps) is resolved down to
        about ``spread_rtol`` of the loss range above the lowest loss found.
        Either way at most ``max_depth`` nats of log X are explored.
    n_live : int, optional
        Live points n >= max(2 d, 20) (:func:`min_live_points`). Default
        max(500, 2 d). The standard error at depth D nats is about
        sqrt(D / n); the cost is about n D n_steps (3 to 5) loss evaluations.
    n_steps : int, optional
        Slice steps per new point (default max(40, 3 d)). Hit-and-run needs
        O(d) steps to forget its starting point: with too few the new points
        stay correlated with the survivors and log V comes out too large
        (about +12 nats at d = 50 for a rotated ellipsoid of condition
        number 100 with 50 steps, none with 150). PolyChord uses 5 d
        (Handley et al. 2015, MNRAS 453:4384). Mixing also slows when
        n_live is small against d, since the directions then come from few
        survivors: for a rotated ellipsoid with d = 20, condition number 100,
        the mean error of log V over 24-32 runs was +0.50 nats with
        n_live = 100 and 60 steps (0.6 standard errors), +0.22 with 180
        steps and +0.07 with n_live = 400 and 60 steps. Keep n_live >= 10 d
        where the error must stay well below the reported one.
    fraction : float in (0, 0.5]
        Fraction of live points replaced per iteration (k = round(fraction n),
        clipped to [1, n - d - 1]); they are replaced in parallel.
    moves : None or three weights
        Probabilities of the move types ``MOVES`` = (difference of two live points,
        coordinate axis, reflected random-sign direction). Default (None):
        set from the live points' shape each time log X has dropped by
        max(0.5, d / 20) nats: the difference move gets 1 - reach (clipped to [0.1, 0.8]),
        where reach = mean_i 1 / (S_ii (S^-1)_ii) is 1 for uncorrelated live
        points (coordinate moves are then as good) and about 1/condition
        number for a thin rotated ellipsoid; the other two share the rest.
    max_depth : float, optional
        Cap on -log X in nats (default 50 + 5 d).
    spread_rtol : float in (0, 1)
        Stopping tolerance used when ``eps_min`` is None.
    seed : int, SeedSequence, Generator or None

    Returns
    -------
    DensityOfStates
        Arrays ``eps``, ``log_volumes``, ``stderr``; ``log_volume(eps)`` gives an
        :class:`~sandbox.estimate.Estimate` at any level down to the deepest
        one; ``info`` holds the diagnostics (evaluations, acceptance, depth).

    Raises
    ------
    ValueError
        For bad input (naming the parameter), if the loss is not finite
        somewhere in the box, or if ``eps_min`` lies below the lowest loss the
        run could resolve (more than k live points at one loss level).
    RuntimeError
        If ``eps_min`` was not reached within ``max_depth`` nats.

    References
    ----------
    Skilling (2006), Bayesian Analysis 1:833; Henderson & Goggans (2014), AIP
    Conf. Proc. 1636:100 (k points per iteration); Neal (2003), Ann. Stat.
    31:705 (slice sampling).

    Examples
    --------
    >>> from models import Quadratic
    >>> dos = density_of_states(Quadratic([1.0, 4.0]), bounds=(-3.0, 3.0), eps_min=0.1,
    ...                         n_live=200, seed=0)
    >>> est = dos.log_volume(0.5)   # exact: log(2 pi 0.5 / sqrt(1 * 4)) = log(pi / 2) = 0.45
    >>> bool(abs(est.value - 0.4516) < 5 * est.stderr)
    True
    """
    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a models.Landscape, got {type(landscape).__name__}")
    d = landscape.dim
    if (bounds is None) == (gaussian is None):
        raise ValueError("give exactly one of bounds=(low, high) and gaussian=(mean, std)")
    if gaussian is None:
        low, high = _box(bounds, d)
        shift, scale, precision = low, high - low, np.zeros(d)
        log_box = float(np.sum(np.log(high - low)))
    else:
        shift, scale = _gaussian(gaussian, d)
        low, high = np.full(d, -np.inf), np.full(d, np.inf)
        precision = 1.0 / scale**2
        log_box = 0.0
    if eps_min is not None:
        eps_min = _real(eps_min, "eps_min")
    n_live = max(500, 2 * d) if n_live is None else check_positive_int(n_live, "n_live",
                                                                      minimum=min_live_points(d))
    n_steps = max(40, 3 * d) if n_steps is None else check_positive_int(n_steps, "n_steps")
    fraction = check_positive(fraction, "fraction")
    if fraction > 0.5:
        raise ValueError(f"fraction must be in (0, 0.5], got {fraction!r}")
    automatic = moves is None
    if not automatic:
        weights = as_finite_array(moves, "moves", shape=(3,))
        if np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(f"moves must be three non-negative weights, not all zero; got {moves!r}")
        weights = weights / weights.sum()
    max_depth = 50.0 + 5.0 * d if max_depth is None else check_positive(max_depth, "max_depth")
    spread_rtol = check_positive(spread_rtol, "spread_rtol")
    if spread_rtol >= 1:
        raise ValueError(f"spread_rtol must be in (0, 1), got {spread_rtol!r}")
    ss = seed_sequence(seed)
    kernel = landscape.compiled(("value",))
    n = n_live
    k = int(min(max(1, round(fraction * n)), n - d - 1))

    # initial live points: chains 0..n-1
    x = np.empty((n, d))
    loss = np.empty(n)
    _initial_points(kernel.addresses, kernel.params, shift, scale, gaussian is not None, chain_states(ss, n), x, loss)
    if not np.all(np.isfinite(loss)):
        i = int(np.argmax(~np.isfinite(loss)))
        raise _not_finite_error(x[i], loss[i])
    n_evaluations = n
    next_chain = n
    initial_spread = float(loss.max() - loss.min())

    inc = 1.0 / (n - np.arange(k))          # -E[log t_m] for the k removals of one iteration
    cum_mean = np.cumsum(inc)
    cum_var = np.cumsum(inc * inc)
    dead_eps, dead_logx, dead_var = [], [], []
    log_x, var = 0.0, 0.0
    widths = np.ones(3)
    log_x_at_update = 0.0
    total = np.zeros(6, dtype=np.int64)      # see _slice_chains: counts
    n_iterations = 0
    new_x = np.empty((k, d))
    new_loss = np.empty(k)
    counts = np.zeros((k, 3, 6), dtype=np.int64)
    bad = np.zeros(k, dtype=np.int64)
    while True:
        order = np.argsort(-loss, kind="stable")
        threshold = loss[order[k - 1]]
        if loss[order[k]] == threshold:
            stop_reason = "ties"
            break
        dead_eps.append(loss[order[:k]])
        dead_logx.append(log_x - cum_mean)
        dead_var.append(var + cum_var)
        log_x -= cum_mean[-1]
        var += cum_var[-1]
        survivors = order[k:]
        pool = np.ascontiguousarray(x[survivors])
        pool_loss = np.ascontiguousarray(loss[survivors])
        if n_iterations == 0 or log_x_at_update - log_x >= max(_SHAPE_UPDATE, d / 20):
            coord_scale, reach = _live_shape(pool)
            log_x_at_update = log_x
            if automatic:
                w0 = min(max(1.0 - reach, _MIN_WEIGHT), 1.0 - 2 * _MIN_WEIGHT)
                weights = np.array([w0, 0.5 * (1.0 - w0), 0.5 * (1.0 - w0)])
        states = chain_states(ss, k, first_chain=next_chain)
        next_chain += k
        _slice_chains(kernel.addresses, kernel.params, pool, pool_loss, threshold, low, high, shift, precision, states,
                      n_steps,
                      np.cumsum(weights), coord_scale, widths, new_x, new_loss, counts, bad)
        n_iterations += 1
        per_type = counts.sum(axis=0)                     # (3, 6)
        total += per_type.sum(axis=0)
        if bad.any():
            i = int(np.argmax(bad))
            raise _not_finite_error(new_x[i], new_loss[i])
        _adapt_widths(per_type, widths)
        x = np.concatenate([pool, new_x])
        loss = np.concatenate([pool_loss, new_loss])
        if eps_min is not None and threshold <= eps_min:
            stop_reason = "eps_min"
            break
        if -log_x >= max_depth:
            stop_reason = "max_depth"
            break
        if eps_min is None and loss.max() - loss.min() <= spread_rtol * initial_spread:
            stop_reason = "spread"
            break

    n_evaluations += int(total[3])
    if stop_reason == "max_depth" and eps_min is not None:
        raise RuntimeError(f"density_of_states did not reach eps_min={eps_min!r} within max_depth={max_depth!r} "
                           f"nats (deepest level {plain(threshold)}, lowest loss found {plain(loss.min())}); increase "
                           "max_depth, or eps_min may lie below the minimum loss on the box")
    if stop_reason == "ties" and eps_min is not None and threshold > eps_min:
        raise ValueError(f"eps_min={eps_min!r} is below the lowest loss level the run can resolve: "
                         f"more than {k} live points share the loss {plain(threshold)} (a plateau of positive "
                         "volume, or the floating-point floor)")
    depth, depth_var = -log_x, var
    # the final live points, removed one by one without replacement
    order = np.argsort(-loss, kind="stable")
    inc_live = 1.0 / (n - np.arange(n))
    dead_eps.append(loss[order])
    dead_logx.append(log_x - np.cumsum(inc_live))
    dead_var.append(var + np.cumsum(inc_live * inc_live))

    eps = np.concatenate(dead_eps)[::-1]          # increasing
    logx = np.concatenate(dead_logx)[::-1]
    v = np.concatenate(dead_var)[::-1]
    # Tied levels: V(eps) counts every tied point, i.e. takes the largest X.
    eps, first = np.unique(eps, return_index=True)
    last = np.r_[first[1:], logx.size] - 1
    logx, v = logx[last], v[last]
    info = NestedInfo(n_live=n, n_replace=k, n_steps=n_steps, n_iterations=n_iterations,
                      n_evaluations=n_evaluations,
                      acceptance=float(total[0] / (total[1] + total[5])),
                      depth=float(depth), depth_stderr=math.sqrt(depth_var),
                      depth_stderr_rule=math.sqrt(depth / n), slice_widths=tuple(widths.tolist()),
                      move_weights=tuple(weights.tolist()), stop_reason=stop_reason)
    return DensityOfStates(eps, log_box + logx, np.sqrt(v), log_box, info)


def _adapt_widths(per_type, widths):
    """Tune the slice widths in place from one batch's counts (see :func:`_slice_chains`).

    With stepping out, expansions per step grow like chord / w and shrinkage
    draws like bracket / chord; w moves towards 1 + expansions = draws. Only
    past batches are used, so every batch's moves leave the uniform law
    invariant.
    """
    steps, proposals, expansions, _, box_steps, _ = per_type.T.astype(float)
    steps = steps - box_steps           # steps that stepped out
    for t in range(3):
        if steps[t] > 0:
            ratio = (1.0 + expansions[t] / steps[t]) / (proposals[t] / steps[t])
            widths[t] = min(max(widths[t] * math.sqrt(ratio), 1e-6), 1e6)


def _real(value, name):
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if np.ndim(value) != 0 or not math.isfinite(x):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return x


# --- repeated runs ---------------------------------------------------------------

class RepeatSpread(NamedTuple):
    """Result of :func:`repeat_spread`.

    Attributes
    ----------
    eps : ndarray (m,)
        Levels compared.
    values : ndarray (n_repeats, m)
        log V(eps) from each run.
    stderrs : ndarray (n_repeats, m)
        Reported standard errors from each run.
    spread : ndarray (m,)
        Sample standard deviation of ``values`` over runs (ddof = 1).
    ratio : ndarray (m,)
        spread / (root-mean-square reported stderr): near 1 for honest errors;
        with r runs its own relative error is about 1 / sqrt(2 (r - 1)).
    """

    eps: np.ndarray
    values: np.ndarray
    stderrs: np.ndarray
    spread: np.ndarray
    ratio: np.ndarray


def repeat_spread(landscape, eps, *, bounds=None, n_repeats=8, seed=None, **options):
    """Run :func:`density_of_states` ``n_repeats`` times with independent seeds.

    The seeds are ``SeedSequence(seed).spawn(n_repeats)``; ``options`` go to
    :func:`density_of_states` (``eps_min`` defaults to ``min(eps)``; pass
    ``gaussian=(mean, std)`` there instead of ``bounds`` for a Gaussian prior).
    Returns a :class:`RepeatSpread`: the empirical spread of log V(eps) over the
    runs beside the reported standard error.
    """
    eps = np.atleast_1d(as_finite_array(eps, "eps", ndim=(0, 1)))
    n_repeats = check_positive_int(n_repeats, "n_repeats", minimum=2)
    options.setdefault("eps_min", float(eps.min()))
    values = np.empty((n_repeats, eps.size))
    stderrs = np.empty_like(values)
    for r, child in enumerate(seed_sequence(seed).spawn(n_repeats)):
        est = density_of_states(landscape, bounds=bounds, seed=child, **options).log_volume(eps)
        values[r], stderrs[r] = est.value, est.stderr
    spread = values.std(axis=0, ddof=1)
    return RepeatSpread(eps, values, stderrs, spread, spread / np.sqrt(np.mean(stderrs**2, axis=0)))


# --- benchmark -------------------------------------------------------------------

class DosBenchmark(NamedTuple):
    """Result of :func:`benchmark_dos` (one run, timed after a warm-up compile)."""

    d: int
    n_live: int
    n_steps: int
    eps: float
    wall_time: float
    n_evaluations: int
    depth: float
    estimate: Estimate
    exact: float
    landscape: Landscape
    bounds: tuple

    @property
    def error(self):
        """Estimate minus exact log V(eps), in nats."""
        return self.estimate.value - self.exact


def benchmark_dos(d, *, seed=0, stderr=0.33, n_live=None, n_steps=None, fraction=0.1, moves=None):
    """Time :func:`density_of_states` on an ill-conditioned ellipsoid in a cube.

    Case: L(x) = 1/2 sum_i lam_i x_i^2 with lam log-spaced in [1, 100]
    (condition number 100), box [-B, B]^d with B = sqrt(2 eps), eps = 1, so
    the ellipsoid {L <= eps} just fits in the cube (its longest semi-axis is
    sqrt(2 eps / lam_min) = B) and its exact log volume

        log V(eps) = (d/2) log(2 pi eps) - log Gamma(d/2 + 1) - 1/2 sum_i log lam_i

    (docs/claims.md, C3) applies. It lies H = log vol(box) - log V = 40.5 nats below
    the box volume for d = 20 and 276 nats for d = 100.

    Parameters
    ----------
    d : int
        Dimension.
    stderr : float
        Standard error aimed at: the default ``n_live`` is H / stderr^2
        (Skilling's sqrt(H / n)), rounded to hundreds, at least 100.
    n_live, n_steps, fraction, moves, seed
        As in :func:`density_of_states`, except that ``n_steps`` defaults to
        max(40, d): the ellipsoid is axis-aligned, and the coordinate moves
        mix it in about d steps (at d = 100, 40 steps bias log V by about
        +2.5 nats and 100 steps do not).

    Returns
    -------
    DosBenchmark
        Wall time (seconds, compile excluded), loss evaluations, depth, the
        estimate at eps with its standard error, and the exact value.
    """
    from models.quadratic import Quadratic

    d = check_positive_int(d, "d")
    lam = np.logspace(0.0, 2.0, d)
    eps = 1.0
    half = math.sqrt(2.0 * eps)
    exact = 0.5 * d * math.log(2.0 * math.pi * eps) - float(gammaln(0.5 * d + 1.0)) - 0.5 * float(np.sum(np.log(lam)))
    depth = d * math.log(2.0 * half) - exact
    if n_live is None:
        n_live = int(max(100, round(depth / check_positive(stderr, "stderr") ** 2, -2)))
    if n_steps is None:
        n_steps = max(40, d)
    q = Quadratic(lam)
    # warm-up: compile (or load from cache) on a tiny case
    density_of_states(Quadratic(np.ones(2)), bounds=(-1.0, 1.0), eps_min=0.1, n_live=20, n_steps=2, seed=0)
    t0 = time.perf_counter()
    dos = density_of_states(q, bounds=(-half, half), eps_min=eps, n_live=n_live, n_steps=n_steps,
                            fraction=fraction, moves=moves, seed=seed)
    wall = time.perf_counter() - t0
    return DosBenchmark(d=d, n_live=n_live, n_steps=dos.info.n_steps, eps=eps, wall_time=wall,
                        n_evaluations=dos.info.n_evaluations, depth=dos.info.depth,
                        estimate=dos.log_volume(eps), exact=exact, landscape=q, bounds=(-half, half))
