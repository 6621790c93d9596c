"""Shared test settings and fixtures.

The seed for statistical tests is fixed (``SANDBOX_TEST_SEED`` overrides it,
so the suite can be swept over seeds); BLAS runs single-threaded so that
numba's threads and OpenBLAS's do not oversubscribe two cores.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]

settings.register_profile("sandbox", deadline=None, max_examples=40)
settings.load_profile("sandbox")


@pytest.fixture
def outputs_with_1_and_2_threads():
    """Run a script in two subprocesses, NUMBA_NUM_THREADS=1 and 2, at once.

    Call it as ``one, two = outputs_with_1_and_2_threads(script, *args)``;
    each is the JSON object the script printed on its last line.
    """
    def run(script, *args):
        procs = []
        for n_threads in (1, 2):
            env = os.environ.copy()
            env["NUMBA_NUM_THREADS"] = str(n_threads)
            env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH")
                                                                   else []))
            procs.append(subprocess.Popen([sys.executable, "-c", script, *map(str, args)], env=env, cwd=REPO_ROOT,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outputs = []
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            outputs.append(json.loads(out.strip().splitlines()[-1]))
        return outputs
    return run
