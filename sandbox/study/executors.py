"""Where a study's points run: in this process, in a local process pool, or on Dask.

Every executor evaluates :func:`evaluate_point` on ``(key, point)`` items and
yields ``(key, outputs, seconds)`` as points finish, in any order; the driver
(:class:`sandbox.study.Study`) writes each to the store as it arrives. A point's
result depends only on the function, the study seed and the point, so every
executor gives the same table bit for bit.

- :class:`SerialExecutor` runs the points one after another here; a point may
  use every core (numba's threads, BLAS threads) as it would outside a study.
- :class:`ProcessExecutor` runs them in a pool of ``spawn``-ed worker
  processes (default: one per core). Each worker runs one numba thread and one
  BLAS thread: ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``,
  ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``VECLIB_MAXIMUM_THREADS`` and
  ``NUMEXPR_NUM_THREADS`` are 1 in the environment the workers start with (set
  in this process while the pool is open, restored when it closes), so the
  limits hold before a worker imports numpy or numba. A worker that dies
  (killed, out of memory) breaks the pool; the points not yet finished are
  run again in a fresh pool, up to ``max_retries`` times.
- :class:`DaskExecutor` submits them to a ``distributed`` cluster (a
  ``Client`` or a scheduler address). Each task runs with one numba thread;
  each worker process limits BLAS to one thread (threadpoolctl) on its first
  task. Quick points are sent several to a task (about 0.1 s of work, from
  the durations measured so far), slow ones one per task. The scheduler reruns the tasks of a lost worker; a task that loses
  ``allowed-failures`` workers (a ``KilledWorker`` error) is resubmitted, up
  to ``max_retries`` times. Results are written by the driver only, once per
  key, so a task computed twice is stored once.

Functions travel to worker processes by reference (module and name), as
``concurrent.futures`` and Dask send them: they must be defined at module
level in an importable module or in the script that runs the study (with the
usual ``if __name__ == "__main__":`` guard). Nothing is stored with pickle.
"""
import itertools
import numbers
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from models.estimate import Estimate
from models.validation import check_positive_int
from sandbox.study.points import canonical_text, point_seed

__all__ = ["evaluate_point", "evaluate_points", "SerialExecutor", "ProcessExecutor", "DaskExecutor", "resolve_executor",
           "ONE_THREAD_ENVIRONMENT"]

#: Environment variables that make a fresh process run one BLAS/OpenMP/numba thread.
ONE_THREAD_ENVIRONMENT = {name: "1" for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                  "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                                                  "NUMEXPR_NUM_THREADS")}

#: Processes that drive a study: workers are pinned to one thread each, the driver is not (its BLAS
#: follows the package-wide policy of sandbox.threads, like any process that imports sandbox).
_DRIVER_PIDS = set()
_blas_limited = False


def mark_driver():
    """Record this process as a study driver (the one-thread worker pinning is never applied to it)."""
    _DRIVER_PIDS.add(os.getpid())


def _limit_threads_in_worker():
    """One BLAS thread for this worker process (once); never in a driver process."""
    global _blas_limited
    if _blas_limited or os.getpid() in _DRIVER_PIDS:
        return
    from sandbox.threads import limit_blas_threads

    limit_blas_threads(1)
    _blas_limited = True


def flatten_outputs(outputs, params):
    """Turn ``{name: float | Estimate}`` into ``{name: float}``; an Estimate ``q`` gives ``q`` and ``q_stderr``."""
    if not isinstance(outputs, dict):
        raise ValueError(f"a study function must return a dict from output name to float or Estimate, "
                         f"got {type(outputs).__name__}")
    flat = {}
    for name, value in outputs.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"output names must be non-empty strings, got {name!r}")
        if isinstance(value, Estimate):
            pairs = ((name, value.value), (f"{name}_stderr", value.stderr))
        else:
            pairs = ((name, value),)
        for column, x in pairs:
            if column in flat or column in params:
                raise ValueError(f"output column {column!r} appears twice (outputs and parameters share one "
                                 "namespace; an Estimate 'q' fills 'q' and 'q_stderr')")
            if isinstance(x, (bool, np.bool_)) or not (isinstance(x, numbers.Real) or
                                                       (isinstance(x, np.ndarray) and x.ndim == 0)):
                raise ValueError(f"output {column!r} must be a real number (or an Estimate of real numbers), "
                                 f"got {type(x).__name__} {x!r}")
            flat[column] = float(x)
    return flat


def evaluate_point(function, point, study_seed, threads=None):
    """Run ``function(point, seed)`` for one point; return ``(outputs, seconds)``.

    ``seed`` is :func:`sandbox.study.points.point_seed` of (``study_seed``,
    ``point``); ``outputs`` is flattened by :func:`flatten_outputs`. With
    ``threads=1`` the call runs one numba thread (and, outside the driver
    process, one BLAS thread), as executors that run several points at once need.
    """
    start = time.perf_counter()
    previous = None
    if threads is not None:
        import numba

        _limit_threads_in_worker()
        previous = numba.get_num_threads()
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        outputs = flatten_outputs(function(dict(point), point_seed(study_seed, point)), point)
    except Exception as exc:
        exc.add_note(f"in the study function at point {canonical_text(point)}")
        raise
    finally:
        if previous is not None:
            numba.set_num_threads(previous)
    return outputs, time.perf_counter() - start


def evaluate_points(function, points, study_seed, threads=None):
    """:func:`evaluate_point` for each of ``points``: a list of ``(outputs, seconds)``."""
    return [evaluate_point(function, p, study_seed, threads) for p in points]


#: A task of quick points holds several, so that it lasts about this long (the scheduler's
#: overhead is a millisecond or more per task); points of this duration or longer go one per task.
_TASK_SECONDS = 0.1
_MAX_CHUNK = 64


def _chunk_size(timing):
    """Points per task from the mean duration of the points finished so far (1 until one has)."""
    seconds, n = timing
    if n == 0:
        return 1
    return int(min(_MAX_CHUNK, max(1, _TASK_SECONDS // max(seconds / n, 1e-9))))


def _check_importable(function, where):
    """Functions go to worker processes by reference; refuse those that cannot be found there."""
    qualname = getattr(function, "__qualname__", "")
    if "<" in qualname:
        raise ValueError(f"study function {qualname!r} is a lambda or a local function, which {where} cannot "
                         "import; define it at module level, or run with executor='serial'")
    if getattr(function, "__module__", None) == "__main__" and not hasattr(sys.modules["__main__"], "__file__"):
        raise ValueError(f"study function {qualname!r} is defined in an interactive session, which {where} "
                         "cannot import; put it in a module, or run with executor='serial'")


class SerialExecutor:
    """Run the points one after another in this process (no thread limits)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self):
        return "SerialExecutor()"

    def run_points(self, function, study_seed, items):
        for key, point in items:
            outputs, seconds = evaluate_point(function, point, study_seed)
            yield key, outputs, seconds


def default_workers():
    """Number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class ProcessExecutor:
    """A pool of spawned worker processes, one numba and one BLAS thread each (module docstring).

    Parameters
    ----------
    n_workers : int, optional
        Worker processes (default: the cores this process may use).
    max_retries : int
        How many times a broken pool is replaced before the study gives up.

    Use it as a context manager to keep one pool across several studies;
    otherwise each ``Study.run`` opens and closes its own.

    Examples
    --------
    >>> with ProcessExecutor(2) as pool:               # doctest: +SKIP
    ...     study_a.run(executor=pool); study_b.run(executor=pool)
    """

    def __init__(self, n_workers=None, *, max_retries=3):
        self.n_workers = default_workers() if n_workers is None else check_positive_int(n_workers, "n_workers")
        self.max_retries = check_positive_int(max_retries, "max_retries", minimum=0)
        self._pool = None
        self._saved_environment = None
        self._depth = 0

    def __repr__(self):
        return f"ProcessExecutor(n_workers={self.n_workers})"

    def __enter__(self):
        self._depth += 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        if self._depth == 0:
            self.close()
        return False

    def _open(self):
        if self._pool is None:
            import multiprocessing

            if self._saved_environment is None:
                self._saved_environment = {k: os.environ.get(k) for k in ONE_THREAD_ENVIRONMENT}
                os.environ.update(ONE_THREAD_ENVIRONMENT)
            self._pool = ProcessPoolExecutor(self.n_workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def _discard(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self):
        """Shut the pool down and restore this process's environment."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._saved_environment is not None:
            for k, v in self._saved_environment.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            self._saved_environment = None

    def run_points(self, function, study_seed, items):
        _check_importable(function, "a process pool")
        pending = dict(items)
        broken = 0
        while pending:
            try:
                for key, outputs, seconds in self._drain(function, study_seed, list(pending.items())):
                    del pending[key]
                    broken = 0
                    yield key, outputs, seconds
            except BrokenProcessPool as exc:
                self._discard()
                broken += 1
                if broken > self.max_retries:
                    raise RuntimeError(f"the process pool broke {broken} times in a row (a worker died) with "
                                       f"{len(pending)} points left; finished points are stored") from exc
            except BaseException:
                self._discard()
                raise

    def _drain(self, function, study_seed, items):
        pool = self._open()
        window = 4 * self.n_workers
        queue = iter(items)
        in_flight = {}

        def fill():
            for key, point in queue:
                in_flight[pool.submit(evaluate_point, function, point, study_seed, 1)] = key
                if len(in_flight) >= window:
                    return

        fill()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                key = in_flight.pop(future)
                outputs, seconds = future.result()
                yield key, outputs, seconds
            fill()


class DaskExecutor:
    """Run the points on a Dask ``distributed`` cluster (module docstring).

    Parameters
    ----------
    client : distributed.Client or str
        A connected client, or a scheduler address (``"tcp://host:8786"``)
        to which a client is opened for the run and closed after it.
    max_retries : int
        Resubmissions of a point whose task failed with ``KilledWorker``.
    max_in_flight : int
        Tasks submitted at once (more are submitted as these finish).
    """

    def __init__(self, client, *, max_retries=3, max_in_flight=1000):
        if not isinstance(client, str) and not type(client).__module__.startswith("distributed"):
            raise ValueError(f"client must be a distributed.Client or a scheduler address string, "
                             f"got {type(client).__name__} {client!r}")
        self.client = client
        self.max_retries = check_positive_int(max_retries, "max_retries", minimum=0)
        self.max_in_flight = check_positive_int(max_in_flight, "max_in_flight")
        self._own_client = None

    def __repr__(self):
        return f"DaskExecutor({self.client!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None
        return False

    def _client(self):
        if not isinstance(self.client, str):
            return self.client
        if self._own_client is None:
            from distributed import Client

            self._own_client = Client(self.client)
        return self._own_client

    def run_points(self, function, study_seed, items):
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        client = self._client()
        points = dict(items)
        attempts = dict.fromkeys(points, 0)
        queue = iter(points)
        running = as_completed()
        chunk_of = {}  # task key -> the point keys it evaluates
        timing = [0.0, 0]  # seconds and number of the points finished so far
        n_in_flight = 0

        def submit(keys):  # one message for a batch of tasks, each of one or more points
            nonlocal n_in_flight
            size = _chunk_size(timing)
            chunks = [keys[i:i + size] for i in range(0, len(keys), size)]
            if not chunks:
                return
            names = [f"sandbox-study-{c[0]}-{attempts[c[0]]}-{len(c)}" for c in chunks]
            chunk_of.update(zip(names, chunks))
            running.update(client.map(evaluate_points, [function] * len(chunks),
                                      [[points[k] for k in c] for c in chunks], [study_seed] * len(chunks),
                                      [1] * len(chunks), key=names, pure=False))
            n_in_flight += len(keys)

        def fill(limit=self.max_in_flight):
            submit(list(itertools.islice(queue, max(0, limit - n_in_flight))))

        # first a few single points, to learn how long a point takes before chunking the rest
        fill(limit=min(self.max_in_flight, 2 * max(1, sum(client.nthreads().values()))))
        try:
            for batch in running.batches():
                done, lost = [], []
                for future in batch:
                    n_in_flight -= len(chunk_of[future.key])
                    (done if future.status == "finished" else lost).append(future)
                retry = []
                for future in lost:
                    keys = chunk_of[future.key]
                    if not isinstance(future.exception(), KilledWorker) or attempts[keys[0]] >= self.max_retries:
                        future.result()  # raises the function's error (with the point in its notes)
                    for k in keys:
                        attempts[k] += 1
                    retry.extend(keys)
                submit(retry)
                results = client.gather(done)  # one round trip for the batch
                for future, chunk_results in zip(done, results):
                    for key, (outputs, seconds) in zip(chunk_of.pop(future.key), chunk_results):
                        timing[0] += seconds
                        timing[1] += 1
                        yield key, outputs, seconds
                for future in batch:
                    chunk_of.pop(future.key, None)
                    future.release()
                fill()
        except BaseException:
            for future in list(running.futures):
                future.cancel()
            raise


def resolve_executor(executor, *, n_points):
    """Turn ``Study.run``'s ``executor`` argument into an executor object.

    ``None`` is a local process pool when more than one point is to be run on
    a machine with more than one core, and serial otherwise; ``"serial"``,
    ``"local"``, an executor object, a ``distributed.Client``, or a scheduler
    address (a string containing ``"://"``).
    """
    if executor is None:
        executor = "local" if n_points > 1 and default_workers() > 1 else "serial"
    if isinstance(executor, (SerialExecutor, ProcessExecutor, DaskExecutor)):
        return executor
    if executor == "serial":
        return SerialExecutor()
    if executor == "local":
        return ProcessExecutor()
    if isinstance(executor, str) and "://" in executor:
        return DaskExecutor(executor)
    if type(executor).__module__.startswith("distributed") and type(executor).__name__ == "Client":
        return DaskExecutor(executor)
    raise ValueError(f"executor must be None, 'serial', 'local', a ProcessExecutor, a DaskExecutor, a "
                     f"distributed.Client or a scheduler address like 'tcp://host:8786'; got {executor!r}")
