"""Hit-or-miss Monte Carlo for sublevel-set volumes in low dimension.

vol{x in box : L(x) <= eps} = vol(box) * P(L(U) <= eps), U uniform in the box.
With k hits out of n the proportion has a binomial standard error, and the
log-volume estimate log(vol(box) k/n) has delta-method standard error
sqrt((1 - p)/(n p)). The relative error grows like 1/sqrt(n p), and p decays
exponentially with d, so this is for d <= 10 or so; nested sampling
(issue #4) is the tool for high d.
"""
from typing import NamedTuple

import numpy as np

from models.landscape import Landscape
from models.validation import as_finite_array, check_positive, check_positive_int
from models.estimate import Estimate
from sandbox.streams import seed_sequence

__all__ = ["HitOrMiss", "hit_or_miss_volume"]


class HitOrMiss(NamedTuple):
    """Result of :func:`hit_or_miss_volume`."""

    log_volume: Estimate
    hits: int
    n_samples: int
    log_box_volume: float


def hit_or_miss_volume(landscape, eps, *, bounds, n_samples, seed=None, batch=65536):
    """Estimate log vol{x in box : L(x) <= eps} by uniform sampling of the box.

    Parameters
    ----------
    landscape : models.Landscape
    eps : float > 0
        Loss level.
    bounds : (low, high)
        Box corners, scalars or length-d arrays with low < high.
    n_samples : int >= 1
    seed : int, SeedSequence, Generator or None

    Returns
    -------
    HitOrMiss
        ``log_volume`` is an Estimate (value, delta-method stderr).

    Raises
    ------
    ValueError
        For bad input, or when no sample hit the set (log volume undefined:
        use more samples or a tighter box).
    """
    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a models.Landscape, got {type(landscape).__name__}")
    eps = check_positive(eps, "eps")
    n_samples = check_positive_int(n_samples, "n_samples")
    d = landscape.dim
    try:
        low, high = bounds
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be a pair (low, high), got {bounds!r}") from None
    low = np.broadcast_to(as_finite_array(low, "bounds"), (d,))
    high = np.broadcast_to(as_finite_array(high, "bounds"), (d,))
    if np.any(high <= low):
        raise ValueError("bounds must satisfy low < high in every coordinate")
    rng = np.random.default_rng(seed_sequence(seed))
    hits = 0
    done = 0
    while done < n_samples:
        m = min(batch, n_samples - done)
        x = low + (high - low) * rng.random((m, d))
        hits += int(np.count_nonzero(landscape.value(x) <= eps))
        done += m
    log_box = float(np.sum(np.log(high - low)))
    if hits == 0:
        raise ValueError(f"no sample out of n_samples={n_samples} fell in {{L <= {eps}}}; "
                         "increase n_samples or shrink bounds")
    p = hits / n_samples
    est = Estimate(log_box + np.log(p), float(np.sqrt((1.0 - p) / (n_samples * p))))
    return HitOrMiss(est, hits, n_samples, log_box)
