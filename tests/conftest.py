"""Shared test settings.

The seed for statistical tests is fixed (``SANDBOX_TEST_SEED`` overrides it,
so the suite can be swept over seeds); BLAS runs single-threaded so that
numba's threads and OpenBLAS's do not oversubscribe two cores.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from hypothesis import settings  # noqa: E402

settings.register_profile("sandbox", deadline=None, max_examples=40)
settings.load_profile("sandbox")
