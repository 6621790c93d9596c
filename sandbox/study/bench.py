"""``sandbox bench --only study``: what the study machinery costs, and what parallel executors gain.

- Per-point overhead: a study of a trivial function (it returns its
  parameter), timed end to end per point: canonical point, seed, store key,
  evaluation, the atomic Parquet write with fsync, the progress bookkeeping
  and, for pools, the round trip to a worker. Serial, a warm 2-worker local
  pool and a warm 2-worker Dask LocalCluster.
- Speed-up: a CPU-bound study of 16 points (each a single-threaded numba loop
  calibrated to ``seconds_per_point``) on 2 workers against serial. The
  local pool is timed cold (``Study.run(executor=ProcessExecutor(2))``: the
  spawn and imports of the workers included) and warm (a pool already open);
  the Dask LocalCluster (2 worker processes, one thread each) warm, with its
  start-up time reported beside.

Each timing is the best of ``repeats``; every run writes to a fresh temporary store.
"""
import tempfile
import time

import numba as nb
import numpy as np

from sandbox.study.executors import ProcessExecutor
from sandbox.study.study import Study

__all__ = ["run_study_benchmarks", "trivial_point", "cpu_bound_point"]


def trivial_point(point, seed):
    """A study function that does nothing: returns its parameter ``x``."""
    return {"y": float(point["x"])}


@nb.njit(cache=True, nogil=True)
def _spin(n, start):
    acc = start
    for i in range(n):
        acc = acc * 0.999999 + np.sin(acc + i)
    return acc


def cpu_bound_point(point, seed):
    """A single-threaded CPU-bound study function: ``iterations`` steps of a numba loop."""
    return {"y": float(_spin(point["iterations"], float(point["x"])))}


def _time_study(function, grid, executor, repeats):
    best = np.inf
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as store:
            study = Study(function, grid, store=store)
            t0 = time.perf_counter()
            study.run(executor=executor, progress=False)
            best = min(best, time.perf_counter() - t0)
    return best


def _calibrate(seconds_per_point):
    _spin(1000, 0.0)  # compile (or load from the cache)
    n = 1_000_000
    t0 = time.perf_counter()
    _spin(n, 0.0)
    per = (time.perf_counter() - t0) / n
    return max(1000, int(seconds_per_point / per))


def _dask_cluster():
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        return None, None, 0.0
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    return cluster, Client(cluster), time.perf_counter() - t0


def run_study_benchmarks(*, quick=False, repeats=2, print_fn=print):
    """Run the study benchmarks; print them and return a dict of the figures (module docstring).

    The Dask cluster is started only after the local timings and the local pool is closed before
    the Dask ones: an idle cluster's heartbeats took about 10% of a 2-core machine from the local
    pool (1.78x against 1.98x measured without it).
    """
    n_trivial = 100 if quick else 400
    seconds_per_point = 0.25 if quick else 1.0
    trivial = {"x": list(range(n_trivial))}
    warm = {"x": [-1, -2, -3, -4], "iterations": 1000}
    results = {}
    iterations = _calibrate(seconds_per_point)
    grid = {"x": list(range(16)), "iterations": iterations}
    with ProcessExecutor(2) as pool:
        _time_study(cpu_bound_point, warm, pool, 1)  # start the workers, load the compiled loop
        results["overhead_serial_ms"] = 1e3 * _time_study(trivial_point, trivial, "serial", repeats) / n_trivial
        results["overhead_local2_ms"] = 1e3 * _time_study(trivial_point, trivial, pool, repeats) / n_trivial
        t_serial = _time_study(cpu_bound_point, grid, "serial", repeats)
        t_warm = _time_study(cpu_bound_point, grid, pool, repeats)
    t_cold = _time_study(cpu_bound_point, grid, ProcessExecutor(2), repeats)
    results.update(serial_s=t_serial, local2_warm_s=t_warm, local2_cold_s=t_cold,
                   speedup_local2_warm=t_serial / t_warm, speedup_local2_cold=t_serial / t_cold)
    cluster, client, dask_start = _dask_cluster()
    try:
        if client is not None:
            _time_study(cpu_bound_point, warm, client, 1)
            results["overhead_dask2_ms"] = 1e3 * _time_study(trivial_point, trivial, client, repeats) / n_trivial
            t_dask = _time_study(cpu_bound_point, grid, client, repeats)
            results.update(dask2_s=t_dask, speedup_dask2=t_serial / t_dask, dask_start_s=dask_start)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    print_fn(f"per-point overhead, trivial function, {n_trivial} points (target < 5 ms): serial "
             f"{results['overhead_serial_ms']:.2f} ms, local pool of 2 {results['overhead_local2_ms']:.2f} ms"
             + (f", Dask LocalCluster of 2 {results['overhead_dask2_ms']:.2f} ms" if client else ""))
    line = (f"CPU-bound study, 16 points of ~{t_serial / 16:.2f} s (target >= 1.8x on 2 workers): serial "
            f"{t_serial:.2f} s; local pool of 2 {t_warm:.2f} s warm ({t_serial / t_warm:.2f}x), {t_cold:.2f} s "
            f"cold, worker start-up included ({t_serial / t_cold:.2f}x)")
    if client is not None:
        line += (f"; Dask LocalCluster of 2 {results['dask2_s']:.2f} s warm ({results['speedup_dask2']:.2f}x; "
                 f"cluster start-up {dask_start:.1f} s)")
    else:
        line += "; Dask skipped (pip install '.[dask]')"
    print_fn(line)
    return results
