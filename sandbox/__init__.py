"""How it moves: stochastic simulators, random streams, samplers and benchmarks.

Importing the package limits BLAS to one thread (:mod:`sandbox.threads`).
"""
from models.estimate import Estimate
from sandbox.escape import exit_times
from sandbox.hit_or_miss import hit_or_miss_volume
from sandbox.nested import density_of_states
from sandbox.rare_events import log_p_positive_definite
from sandbox.simulate import METHODS, DivergenceError, Run, simulate
from sandbox.threads import limit_blas_threads

__all__ = ["Estimate", "simulate", "Run", "DivergenceError", "METHODS", "hit_or_miss_volume",
           "exit_times", "density_of_states", "log_p_positive_definite"]

limit_blas_threads()  # the package's one BLAS decision: see sandbox.threads
