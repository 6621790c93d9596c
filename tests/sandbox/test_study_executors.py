"""Executors and durability of sandbox.study.

- Serial, a local process pool and a Dask LocalCluster give bit-identical tables.
- A worker that dies mid-study (SIGKILL) costs nothing: its points are rerun,
  none is lost or stored twice (process pool and Dask).
- A study killed with SIGKILL and restarted ends with the table of an
  uninterrupted run, bit for bit, losing no finished point.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sandbox.study import STUDY_FUNCTIONS, DaskExecutor, ProcessExecutor, Study

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240601"))


def assert_bitwise_equal(a, b):
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for column in a.columns:
        if a[column].dtype == np.float64:
            assert np.array_equal(a[column].to_numpy().view(np.uint64), b[column].to_numpy().view(np.uint64)), column


def langevin_points():
    fn = STUDY_FUNCTIONS["langevin_variance"]
    return fn.function, [fn.complete({"lam": 1.0, "step_size": h, "temperature": 0.5, "method": m,
                                      "n_chains": 200, "n_steps": 20})
                         for h in (0.1, 0.4, 0.8) for m in ("ula", "mala")]


def test_serial_process_pool_and_dask_give_bitwise_equal_tables(tmp_path, study_toys):
    distributed = pytest.importorskip("distributed")
    cases = [(study_toys.noisy_mean, {"mu": [0.0, 1.0, 2.5], "n": [10, 1000]}), langevin_points(),
             (study_toys.slow_square, {"x": list(range(60))})]  # quick points: Dask sends them in chunks
    tables = {}
    with ProcessExecutor(2) as pool, \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                     dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        for name, executor in (("serial", "serial"), ("pool", pool), ("dask", client)):
            tables[name] = [Study(f, grid, store=tmp_path / f"{name}{k}", seed=SEED)
                            .run(executor=executor, progress=False).results() for k, (f, grid) in enumerate(cases)]
        # pool workers run one numba thread and one BLAS thread (set before they imported numpy)
        numba_threads, blas_threads, omp = pool._open().submit(study_toys.thread_report).result()
    assert numba_threads == 1 and omp == "1" and blas_threads and set(blas_threads) == {1}
    for k in range(len(cases)):
        assert len(tables["serial"][k]) == (60 if k == 2 else 6)
        assert_bitwise_equal(tables["serial"][k], tables["pool"][k])
        assert_bitwise_equal(tables["serial"][k], tables["dask"][k])


def test_a_scheduler_address_opens_and_closes_its_own_client(tmp_path, study_toys):
    distributed = pytest.importorskip("distributed")
    grid = {"mu": [0.0, 1.0], "n": 20}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert "://" in address
        by_address = Study(study_toys.noisy_mean, grid, store=tmp_path / "a", seed=SEED).run(address, progress=False)
        executor = DaskExecutor(address)
        Study(study_toys.noisy_mean, grid, store=tmp_path / "b", seed=SEED).run(executor, progress=False)
        assert executor._own_client is None  # closed after the run
    serial = Study(study_toys.noisy_mean, grid, store=tmp_path / "s", seed=SEED).run("serial", progress=False)
    assert_bitwise_equal(by_address.results(), serial.results())


def test_process_pool_restores_the_environment():
    before = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    with ProcessExecutor(1) as pool:
        pool._open()
        assert os.environ["MKL_NUM_THREADS"] == "1"
    assert {k: os.environ.get(k) for k in before} == before


def test_a_killed_pool_worker_is_replaced_and_nothing_is_lost(tmp_path, study_toys, monkeypatch):
    log = tmp_path / "calls.log"
    monkeypatch.setenv(study_toys.LOG_VARIABLE, str(log))
    grid = {"x": list(range(8)), "victim": 5, "marker": str(tmp_path / "killed")}
    study = Study(study_toys.kill_once, grid, store=tmp_path / "pool", seed=SEED)
    study.run(executor=ProcessExecutor(2), progress=False)
    assert (tmp_path / "killed").exists()
    reference = Study(study_toys.kill_once, grid, store=tmp_path / "serial", seed=SEED)
    reference.run(executor="serial", progress=False)  # the marker exists: no kill
    assert_bitwise_equal(study.results(), reference.results())
    assert len(os.listdir(tmp_path / "pool" / "points")) == 8


def test_a_killed_dask_worker_is_replaced_and_nothing_is_lost(tmp_path, study_toys):
    distributed = pytest.importorskip("distributed")
    grid = {"x": list(range(6)), "victim": 2, "marker": str(tmp_path / "killed"), "sleep": 0.05}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        study = Study(study_toys.kill_once, grid, store=tmp_path / "dask", seed=SEED)
        study.run(executor=DaskExecutor(client), progress=False)
    assert (tmp_path / "killed").exists()
    reference = Study(study_toys.kill_once, grid, store=tmp_path / "serial", seed=SEED).run("serial", progress=False)
    assert_bitwise_equal(study.results(), reference.results())
    assert len(os.listdir(tmp_path / "dask" / "points")) == 6


def test_sigkill_mid_study_then_restart_gives_the_uninterrupted_table(tmp_path, study_toys, monkeypatch):
    store, n = tmp_path / "store", 30
    toys_dir = str(Path(study_toys.__file__).parent)
    script = (f"import sys; sys.path.insert(0, {toys_dir!r})\n"
              "import study_toys\n"
              "from sandbox.study import Study\n"
              f"Study(study_toys.slow_square, {{'x': list(range({n})), 'sleep': 0.05}}, store={str(store)!r}, "
              f"seed={SEED}).run(executor='serial', progress=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", script])
    points = store / "points"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if points.is_dir() and len([p for p in os.listdir(points) if p.endswith(".parquet")]) >= 5:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = {p: (points / p).read_bytes() for p in os.listdir(points) if not p.startswith(".")}
    assert 5 <= len(before) < n, "the study must be killed in the middle"

    log = tmp_path / "calls.log"
    monkeypatch.setenv(study_toys.LOG_VARIABLE, str(log))
    restarted = Study(study_toys.slow_square, {"x": list(range(n)), "sleep": 0.05}, store=store, seed=SEED)
    assert len(restarted.pending()) == n - len(before)
    restarted.run(executor="serial", progress=False)
    assert len(log.read_text().split()) == n - len(before)  # only the missing points were computed
    assert all((points / p).read_bytes() == b for p, b in before.items())  # finished points untouched
    monkeypatch.delenv(study_toys.LOG_VARIABLE)
    uninterrupted = Study(study_toys.slow_square, {"x": list(range(n)), "sleep": 0.05}, store=tmp_path / "ref",
                          seed=SEED).run(executor="serial", progress=False)
    assert len(uninterrupted.results()) == n
    assert_bitwise_equal(restarted.results(), uninterrupted.results())
