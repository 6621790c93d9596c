"""How it moves: stochastic simulators, random streams, samplers and benchmarks.

Importing the package limits BLAS to one thread (:mod:`sandbox.threads`).
The samplers are imported on first use (PEP 562), so that a process that
needs one of them, a study worker for instance, does not load them all;
``simulate`` and ``transitions`` are imported at once: their names are also
their modules', and importing ``sandbox.transitions`` anywhere would bind the
module, not the function, to ``sandbox.transitions``.
"""
import importlib

from models.estimate import Estimate
from sandbox.simulate import METHODS, DivergenceError, Run, simulate
from sandbox.threads import limit_blas_threads
from sandbox.transitions import transitions

_NAMES = {
    "hit_or_miss_volume": "sandbox.hit_or_miss", "exit_times": "sandbox.escape",
    "density_of_states": "sandbox.nested", "log_p_positive_definite": "sandbox.rare_events",
    "basin_statistics": "sandbox.basins", "mean_first_passage_time": "sandbox.passage",
    "ams_mean_first_passage_time": "sandbox.splitting",
}

__all__ = ["Estimate", "simulate", "Run", "DivergenceError", "METHODS", "transitions"] + list(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_NAMES))


limit_blas_threads()  # the package's one BLAS decision: see sandbox.threads
