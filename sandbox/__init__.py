"""How it moves: stochastic simulators, random streams, samplers, CLI and benchmarks."""
from sandbox.estimate import Estimate
from sandbox.hit_or_miss import hit_or_miss_volume
from sandbox.simulate import METHODS, DivergenceError, Run, simulate

__all__ = ["Estimate", "simulate", "Run", "DivergenceError", "METHODS", "hit_or_miss_volume"]
