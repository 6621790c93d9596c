"""Small study functions for the study tests.

They live in a plain module (not a test file) so that worker processes can
import them by name: the tests put this folder on ``sys.path``, which spawned
workers inherit.
"""
import os
import signal
import time

import numpy as np

from sandbox.estimate import Estimate

#: When set, every call appends the point's ``x`` to this file (to count what was computed).
LOG_VARIABLE = "STUDY_TOYS_LOG"


def _log(point):
    path = os.environ.get(LOG_VARIABLE)
    if path:
        with open(path, "a") as f:
            f.write(f"{point['x']}\n")


def noisy_mean(point, seed):
    """Mean of n normals N(mu, 1), with its standard error; and the first draw."""
    x = np.random.default_rng(seed).normal(point["mu"], 1.0, size=point["n"])
    return {"mean": Estimate(x.mean(), x.std(ddof=1) / np.sqrt(x.size)), "first": x[0]}


def slow_square(point, seed):
    """x^2 plus a uniform draw, after sleeping ``sleep`` seconds."""
    _log(point)
    time.sleep(point.get("sleep", 0.0))
    return {"y": point["x"] ** 2 + np.random.default_rng(seed).random()}


def kill_once(point, seed):
    """Like slow_square, but the first call at x == victim kills its own process (SIGKILL)."""
    if point["x"] == point["victim"] and not os.path.exists(point["marker"]):
        open(point["marker"], "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return slow_square(point, seed)


def thread_report():
    """(numba threads, BLAS/OpenMP threads per library, OMP_NUM_THREADS) in this process."""
    import numba
    from threadpoolctl import threadpool_info

    return numba.get_num_threads(), [i["num_threads"] for i in threadpool_info()], os.environ.get("OMP_NUM_THREADS")
