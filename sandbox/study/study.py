"""``Study``: a function evaluated over a grid of parameters, stored point by point.

``Study(function, grid, store=DIR, seed=0)`` sets up the points;
``.run(executor)`` computes those not yet in the store, writing each as it
finishes; ``.results()`` reads the table back; ``.plot(...)`` draws it. The
store is the only state: a study killed at any moment and run again computes
only the missing points and ends with the table an uninterrupted run gives.
"""
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from functools import lru_cache
from importlib import metadata

from models.validation import check_positive_int
from sandbox.study.executors import mark_driver, resolve_executor
from sandbox.study.points import MAX_POINTS, expand_grid, point_key
from sandbox.study.store import PointStore

__all__ = ["Study", "read_study", "package_version", "function_name", "read_table"]

STUDY_FORMAT = 1
#: Threads writing finished points to the store (fsyncs overlap: 4 ms -> 1 ms a point on a virtual disk).
_WRITERS = 4


@lru_cache(maxsize=1)
def package_version():
    """The installed version of this package (part of every store key)."""
    try:
        return metadata.version("landscape-sandbox")
    except metadata.PackageNotFoundError:
        return "unknown"


def function_name(function):
    """``module.qualname`` of a study function: its identity in store keys."""
    module, qualname = getattr(function, "__module__", None), getattr(function, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise ValueError(f"study function {function!r} has no stable name (a lambda or a local function "
                         "has none); define it at module level or pass name=")
    return f"{module}.{qualname}"


def read_table(store, keys, names, points):
    """The tidy table of the finished points among ``points`` (in their order).

    One row per finished point: a column per parameter (in ``names`` order),
    then the outputs in the order they first appear; an output a point lacks is NaN.
    """
    import pandas as pd

    finished = store.finished_keys()
    rows, outputs = [], {}
    for key, point in zip(keys, points):
        if key in finished:
            _, values = store.read(key)
            outputs.update(dict.fromkeys(values))
            rows.append({**{n: point[n] for n in names}, **values})
    columns = list(names) + [c for c in outputs if c not in names]
    return pd.DataFrame.from_records(rows, columns=columns)


class Study:
    """A parameter study: ``function(point, seed)`` over a grid, with a durable store.

    Parameters
    ----------
    function : callable
        ``function(point, seed) -> dict[str, float | Estimate]``, with ``point``
        a dict from parameter name to value and ``seed`` a
        ``np.random.SeedSequence``. An ``Estimate`` named ``q`` becomes the
        columns ``q`` and ``q_stderr``.
    grid : dict of lists, or list of dicts
        The Cartesian product of the lists (a scalar counts as a one-value
        list), the last parameter varying fastest; or the points themselves.
        Values are bool, int, float or str.
    store : str or path-like
        Directory of finished points (:mod:`sandbox.study.store`).
    seed : int >= 0
        Study seed. Point p's seed is a pure function of (seed, p)
        (:func:`sandbox.study.points.point_seed`), so results do not depend
        on order, chunking or executor.
    name : str, optional
        The function's identity in store keys (default ``module.qualname``).
    max_points : int
        Largest grid accepted (default 100 000); larger grids are refused
        before anything is computed or written.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sandbox.estimate import Estimate
    >>> def mean_of_normals(point, seed):
    ...     x = np.random.default_rng(seed).normal(point["mu"], 1.0, size=point["n"])
    ...     return {"mean": Estimate(x.mean(), x.std(ddof=1) / np.sqrt(x.size))}
    >>> study = Study(mean_of_normals, {"mu": [0.0, 1.0], "n": 100}, store=tempfile.mkdtemp())
    >>> list(study.run(executor="serial", progress=False).results().columns)
    ['mu', 'n', 'mean', 'mean_stderr']
    """

    def __init__(self, function, grid, *, store, seed=0, name=None, max_points=MAX_POINTS):
        if not callable(function):
            raise ValueError(f"function must be callable, got {type(function).__name__} {function!r}")
        self.function = function
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.seed = seed
        self.name = function_name(function) if name is None else name
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        max_points = check_positive_int(max_points, "max_points")
        self.names, self.points = expand_grid(grid, max_points=max_points)
        self.store = PointStore(store)
        self.version = package_version()
        self.keys = [point_key(self.name, self.version, seed, p) for p in self.points]

    def __repr__(self):
        return (f"Study({self.name}, {len(self.points)} points over {self.names}, seed={self.seed}, "
                f"store={str(self.store.directory)!r})")

    def __len__(self):
        return len(self.points)

    def pending(self):
        """The points not yet in the store, in grid order."""
        finished = self.store.finished_keys()
        return [p for k, p in zip(self.keys, self.points) if k not in finished]

    def description(self):
        """The JSON-serialisable description written to ``study.json``."""
        return {"format": STUDY_FORMAT, "function": self.name, "seed": self.seed, "version": self.version,
                "parameters": self.names, "points": self.points}

    def run(self, executor=None, progress=True):
        """Compute the points missing from the store; return ``self``.

        Parameters
        ----------
        executor : None, "serial", "local", ProcessExecutor, DaskExecutor, distributed.Client or str
            Where to run (:func:`sandbox.study.executors.resolve_executor`):
            ``None`` is a local process pool over all cores (serial for a
            single point), a string with ``"://"`` a Dask scheduler address.
        progress : bool
            Show a tqdm bar over points (on a terminal only).
        """
        from tqdm import tqdm

        finished = self.store.finished_keys()
        todo = [(k, p) for k, p in zip(self.keys, self.points) if k not in finished]
        executor = resolve_executor(executor, n_points=len(todo))
        self.store.write_study(self.description())
        if not todo:
            return self
        mark_driver()
        host = os.uname().nodename if hasattr(os, "uname") else ""
        points = dict(todo)
        with tqdm(total=len(self.points), initial=len(self.points) - len(todo), unit="point",
                  desc=self.name.rsplit(".", 1)[-1], disable=None if progress else True,
                  file=sys.stderr, mininterval=0.5) as bar, \
                ThreadPoolExecutor(_WRITERS, thread_name_prefix="study-store") as writers:
            # points are written by a few threads, so that one point's fsync overlaps the next ones
            writing, last_sync = set(), time.monotonic()

            def collect(block):
                nonlocal writing, last_sync
                done, writing = wait(writing, timeout=None if block else 0, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
                bar.update(len(done))
                if time.monotonic() - last_sync > 1.0:
                    self.store.sync()
                    last_sync = time.monotonic()

            try:
                with executor:
                    for key, outputs, seconds in executor.run_points(self.function, self.seed, todo):
                        meta = {"function": self.name, "version": self.version, "seed": self.seed,
                                "seconds": round(seconds, 6), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                "host": host}
                        writing.add(writers.submit(self.store.write, key, points[key], outputs, meta,
                                                   sync_directory=False))
                        collect(block=len(writing) >= 4 * _WRITERS)
            finally:  # finished points are stored even when the run stops with an error
                while writing:
                    collect(block=True)
                self.store.sync()
        return self

    def results(self):
        """The tidy ``pandas.DataFrame`` of the finished points, in grid order.

        One row per finished point; a column per parameter (grid order), then
        the outputs; an ``Estimate`` output ``q`` gives the columns ``q`` and
        ``q_stderr``.
        """
        return read_table(self.store, self.keys, self.names, self.points)

    def plot(self, *, x, y, hue=None, prediction=None, xscale=None, yscale=None, path=None, ax=None,
             title=None):
        """Measured ``y`` (error bars from ``y_stderr``) against parameter ``x``, a line per ``hue``.

        ``prediction(point) -> float`` is drawn dashed beside each line; see
        :func:`sandbox.study.plot.plot_table`. Returns the matplotlib Figure
        (Agg canvas, no window); ``path`` saves it as a 640 x 400 PNG.
        """
        from sandbox.study.plot import plot_table

        return plot_table(self.results(), x=x, y=y, hue=hue, prediction=prediction, parameters=self.names,
                          xscale=xscale, yscale=yscale, path=path, ax=ax,
                          title=title or self.name.rsplit(".", 1)[-1])


def read_study(directory):
    """Read the study last run in ``directory``: ``(table, description)``.

    ``description`` is the dict in ``study.json`` (function, seed, version,
    parameters, points); ``table`` is what that study's ``.results()`` returns.
    The study function itself is not needed (nor imported).
    """
    store = PointStore(directory)
    desc = store.read_study()
    if desc.get("format") != STUDY_FORMAT:
        raise ValueError(f"{str(directory)!r}: study.json has format {desc.get('format')!r}, "
                         f"this version reads format {STUDY_FORMAT}")
    keys = [point_key(desc["function"], desc["version"], desc["seed"], p) for p in desc["points"]]
    return read_table(store, keys, desc["parameters"], desc["points"]), desc
