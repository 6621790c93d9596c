"""The package's thread policy: numba threads run the chains, BLAS runs single-threaded.

The simulators and samplers parallelise over chains with numba
(``parallel=True``); between those parallel regions they call numpy and
scipy linear algebra (``eigh``, ``cov``, small matrix products, and
``np.dot`` inside numba kernels, which goes to scipy's BLAS). Left at their
defaults, OpenBLAS's threads keep spinning for a while after each call and
take the cores the numba threads need: the same work then runs up to twice
as slowly. Importing :mod:`sandbox` therefore limits every BLAS library
already loaded (numpy's and scipy's) to :func:`blas_thread_limit` threads,
once, with threadpoolctl.

Set the environment variable ``SANDBOX_BLAS_THREADS`` before importing
:mod:`sandbox` to choose another count (``0`` leaves BLAS alone). The numba
thread count is numba's own setting (``NUMBA_NUM_THREADS`` or
``numba.set_num_threads``); results do not depend on either count.

Examples
--------
>>> import sandbox                      # limits BLAS once, on import
>>> from sandbox.threads import blas_threads
>>> set(blas_threads().values())      # with SANDBOX_BLAS_THREADS unset
{1}
"""
import os

__all__ = ["BLAS_THREADS_ENV", "blas_thread_limit", "limit_blas_threads", "blas_threads", "all_blas_threads"]

#: Environment variable that overrides the BLAS thread count (an integer >= 0; 0 = leave BLAS alone).
BLAS_THREADS_ENV = "SANDBOX_BLAS_THREADS"


def blas_thread_limit():
    """BLAS threads the package sets: ``$SANDBOX_BLAS_THREADS``, default 1; ``None`` when it is 0.

    Raises
    ------
    ValueError
        If the variable is not a non-negative integer.
    """
    raw = os.environ.get(BLAS_THREADS_ENV, "1").strip()
    if not raw.isdigit():
        raise ValueError(f"{BLAS_THREADS_ENV} must be a non-negative integer (0 leaves BLAS alone), got {raw!r}")
    n = int(raw)
    return n if n > 0 else None


def limit_blas_threads(n_threads=None):
    """Limit every loaded BLAS library to ``n_threads`` threads (default :func:`blas_thread_limit`).

    scipy's BLAS, which numba-compiled ``np.dot`` calls, is loaded first so
    that it is limited too. Returns the ``threadpoolctl`` limiter, whose
    ``restore_original_limits()`` undoes the change, or ``None`` when there is
    nothing to do (``n_threads`` None and the environment says leave BLAS alone).
    """
    if n_threads is None:
        n_threads = blas_thread_limit()
        if n_threads is None:
            return None
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS so that the limit reaches it)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(n_threads), user_api="blas")


def blas_threads():
    """``{library file: threads}`` of the BLAS libraries loaded in this process."""
    from threadpoolctl import threadpool_info

    return {os.path.basename(p["filepath"]): p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}


def all_blas_threads():
    """Context manager: BLAS at one thread per core while inside, the previous limits restored after.

    For measurements that mean "what BLAS can do on this machine" (the
    matrix-product bound of ``sandbox bench``), not for simulations.

    Examples
    --------
    >>> import numpy as np
    >>> with all_blas_threads():
    ...     _ = np.ones((64, 64)) @ np.ones((64, 64))
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=os.cpu_count() or 1, user_api="blas")
