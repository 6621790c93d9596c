"""How it moves: stochastic simulators, random streams, samplers, CLI and benchmarks."""
from sandbox.escape import exit_times
from models.estimate import Estimate
from sandbox.hit_or_miss import hit_or_miss_volume
from sandbox.nested import density_of_states
from sandbox.rare_events import log_p_positive_definite
from sandbox.simulate import METHODS, DivergenceError, Run, simulate

__all__ = ["Estimate", "simulate", "Run", "DivergenceError", "METHODS", "hit_or_miss_volume",
           "exit_times", "density_of_states", "log_p_positive_definite"]
