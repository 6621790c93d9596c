"""The package's BLAS decision (sandbox.threads): one thread after ``import sandbox``, unless overridden."""
import json
import os
import subprocess
import sys

import pytest

from sandbox.threads import BLAS_THREADS_ENV, blas_thread_limit

SCRIPT = """
import json, numpy, scipy.linalg
from threadpoolctl import threadpool_info
before = {p["filepath"]: p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}
import sandbox
after = {p["filepath"]: p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}
print(json.dumps({"before": before, "after": after}))
"""


def _blas_threads(**env):
    environ = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", BLAS_THREADS_ENV)}
    environ.update(OPENBLAS_NUM_THREADS="2", **env)  # two threads to start from, whatever the machine
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=environ)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_sandbox_limits_every_blas_library_to_one_thread():
    seen = _blas_threads()
    assert seen["before"] and set(seen["before"].values()) == {2}
    assert seen["after"].keys() == seen["before"].keys() and set(seen["after"].values()) == {1}


def test_the_environment_variable_sets_another_count_or_leaves_blas_alone():
    assert set(_blas_threads(SANDBOX_BLAS_THREADS="3")["after"].values()) == {3}
    assert set(_blas_threads(SANDBOX_BLAS_THREADS="0")["after"].values()) == {2}


@pytest.mark.parametrize("raw, expected", [(None, 1), ("1", 1), ("4", 4), ("0", None), (" 2 ", 2)])
def test_blas_thread_limit_reads_the_environment(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv(BLAS_THREADS_ENV, raising=False)
    else:
        monkeypatch.setenv(BLAS_THREADS_ENV, raw)
    assert blas_thread_limit() == expected


@pytest.mark.parametrize("raw", ["-1", "two", "1.5", ""])
def test_a_malformed_thread_count_is_a_value_error_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(BLAS_THREADS_ENV, raw)
    with pytest.raises(ValueError, match=f"{BLAS_THREADS_ENV} must be a non-negative integer"):
        blas_thread_limit()


def test_all_blas_threads_lifts_the_limit_inside_and_restores_it_after():
    script = ("import json, os, sandbox\n"
              "from sandbox.threads import all_blas_threads, blas_threads\n"
              "with all_blas_threads():\n"
              "    inside = set(blas_threads().values())\n"
              "print(json.dumps({'inside': sorted(inside), 'after': sorted(set(blas_threads().values())), "
              "'cpus': os.cpu_count()}))")
    environ = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", BLAS_THREADS_ENV)}
    environ["OPENBLAS_NUM_THREADS"] = "2"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environ)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["after"] == [1]
    assert seen["inside"] == [min(seen["cpus"], 2)]  # OpenBLAS cannot exceed the threads it started with
