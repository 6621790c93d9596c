"""Scripted parameter studies: a function over a grid, stored point by point, on any executor.

``Study(function, grid, store=DIR, seed=0).run(executor).results()`` runs
``function(point, seed)`` at every point of the grid and returns a tidy
table. Each point's seed is a pure function of (study seed, point), each
finished point is written atomically to a content-addressed Parquet file, and
a study run again computes only what is missing, so the table is the same bit
for bit whatever the executor (serial, local processes, Dask), the order or
an interruption. ``sandbox study run SPEC.toml`` does the same from a TOML spec.
"""
from sandbox.study import functions  # noqa: F401  (registers the built-in study functions)
from sandbox.study.executors import DaskExecutor, ProcessExecutor, SerialExecutor
from sandbox.study.points import MAX_POINTS, point_seed
from sandbox.study.registry import REQUIRED, STUDY_FUNCTIONS, StudyFunction, study_function
from sandbox.study.spec import load_spec
from sandbox.study.study import Study, read_study

__all__ = ["Study", "read_study", "SerialExecutor", "ProcessExecutor", "DaskExecutor", "point_seed",
           "study_function", "StudyFunction", "STUDY_FUNCTIONS", "REQUIRED", "MAX_POINTS", "load_spec"]
