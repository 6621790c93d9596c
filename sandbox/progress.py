"""Progress over the steps (or chains) of one long simulation, throttled to cost under 1%.

A simulator that runs its numba kernel over ``n_steps`` in one call cannot
report progress from inside it. :func:`progress_chunks` splits the range into
at most ``max_updates`` contiguous chunks; the simulator calls its kernel once
per chunk (its state and per-chain streams carry over, so the trajectory is
bit for bit the one of a single call) and a tqdm bar advances between chunks.
With 100 chunks the extra cost is 100 kernel entries, microseconds each,
against a run long enough to want a bar (seconds): well under 1%. Without a
terminal, or with ``progress=False``, it yields the whole range as one chunk.

Wiring a simulator (a sketch)::

    for start, stop in progress_chunks(n_steps, progress=progress, desc="ula"):
        kernel(..., x, states, stop - start, first_step=start, ...)
"""
import math
import sys

__all__ = ["progress_chunks", "MAX_UPDATES"]

#: Default largest number of chunks (bar updates) for one run.
MAX_UPDATES = 100


def progress_chunks(total, *, progress=True, desc=None, unit="step", max_updates=MAX_UPDATES, min_chunk=1,
                    file=None):
    """Yield ``(start, stop)`` chunks tiling ``range(total)``, advancing a tqdm bar after each.

    Parameters
    ----------
    total : int >= 0
        Number of steps (or chains).
    progress : bool
        ``False``: no bar and a single chunk. ``True``: a bar when ``file``
        (default ``sys.stderr``) is a terminal, else a single chunk.
    desc, unit : str
        The bar's label and unit.
    max_updates : int >= 1
        Largest number of chunks.
    min_chunk : int >= 1
        Smallest chunk (except the last), e.g. a recording interval, so
        that chunk boundaries fall on records.

    Examples
    --------
    >>> list(progress_chunks(10, progress=False))
    [(0, 10)]
    """
    from models.validation import check_positive_int

    total = check_positive_int(total, "total", minimum=0)
    max_updates = check_positive_int(max_updates, "max_updates")
    min_chunk = check_positive_int(min_chunk, "min_chunk")
    stream = sys.stderr if file is None else file
    if not progress or total == 0 or not getattr(stream, "isatty", lambda: False)():
        if total:
            yield 0, total
        return
    from tqdm import tqdm

    size = max(min_chunk, math.ceil(total / max_updates))
    size = math.ceil(size / min_chunk) * min_chunk
    with tqdm(total=total, desc=desc, unit=unit, file=stream, mininterval=0.5, unit_scale=True) as bar:
        for start in range(0, total, size):
            stop = min(start + size, total)
            yield start, stop
            bar.update(stop - start)
