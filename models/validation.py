"""Input validation shared by every package.

Each check raises ``ValueError`` whose message names the parameter, the value
received and what is allowed, as docs/conventions.md requires. Checks return the
validated value (converted to a float array where that makes sense) so that a
wrapper validates and prepares its input in one line.
"""
import numbers
import os

import numpy as np

__all__ = [
    "as_finite_array",
    "check_positive",
    "check_nonnegative",
    "check_positive_int",
    "check_choice",
    "check_memory",
    "plain",
]


def plain(value):
    """``repr`` of ``value`` with numpy scalars shown as plain numbers: ``4.0``, not ``np.float64(4.0)``.

    Examples
    --------
    >>> plain(np.float64(4.0)), plain(np.int64(3)), plain("a")
    ('4.0', '3', "'a'")
    """
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _describe(value):
    arr = np.asarray(value)
    if arr.ndim == 0:
        return plain(value)
    return f"array of shape {arr.shape}"


def as_finite_array(value, name, *, ndim=None, shape=None, dtype=float):
    """Return ``value`` as a float array, rejecting NaN, inf and wrong shapes."""
    if np.asarray(value).dtype.kind in "USO" and not _all_numbers(value):
        raise ValueError(f"{name} must be numeric, got {plain(value)}")
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {plain(value)}") from None
    if ndim is not None and arr.ndim not in np.atleast_1d(ndim):
        raise ValueError(f"{name} must have {ndim} dimension(s), got {arr.ndim} (shape {arr.shape})")
    if shape is not None:
        for axis, (got, want) in enumerate(zip(arr.shape, shape)):
            if want is not None and got != want:
                raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
        if len(arr.shape) != len(shape):
            raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got NaN or inf in {_describe(value)}")
    return arr


def _all_numbers(value):
    return all(isinstance(v, numbers.Number) and not isinstance(v, bool)
               for v in np.asarray(value, dtype=object).ravel())


def check_positive(value, name):
    """Return ``float(value)`` if it is finite and > 0."""
    x = _scalar(value, name)
    if not x > 0:
        raise ValueError(f"{name} must be > 0, got {plain(value)}")
    return x


def check_nonnegative(value, name):
    """Return ``float(value)`` if it is finite and >= 0."""
    x = _scalar(value, name)
    if not x >= 0:
        raise ValueError(f"{name} must be >= 0, got {plain(value)}")
    return x


def check_positive_int(value, name, *, minimum=1):
    """Return ``int(value)`` if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {plain(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {plain(value)}")
    return int(value)


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {plain(value)}")
    return value


def covariance_factor(cov, name):
    """The symmetric square root F of a covariance matrix (F F^T = cov), after checking it.

    ``cov`` must be a finite (d, d) symmetric positive semi-definite matrix
    (eigenvalues down to -1e-10 of the largest are taken as 0); the error
    names ``name``.
    """
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12):
        raise ValueError(f"{name} must be symmetric")
    lam, vec = np.linalg.eigh(cov)
    if lam.min() < -1e-10 * max(lam.max(), 1e-300):
        raise ValueError(f"{name} must be positive semi-definite, smallest eigenvalue {plain(float(lam.min()))}")
    return np.ascontiguousarray((vec * np.sqrt(np.clip(lam, 0.0, None))) @ vec.T)


def _scalar(value, name):
    if isinstance(value, (bool, str, bytes)):
        raise ValueError(f"{name} must be a real number, got {plain(value)}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {plain(value)}") from None
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got {_describe(value)}")
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {plain(value)}")
    return x


def _available_memory():
    """Bytes of memory available to a new allocation (MemAvailable, else total physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(n_bytes, what, hint):
    """Raise ``ValueError`` before allocating ``n_bytes`` if that exceeds the memory available.

    The message says how much ``what`` needs, how much is available, and ``hint``.
    """
    available = _available_memory()
    if available is not None and n_bytes > available:
        raise ValueError(f"{what} needs {n_bytes / 2**30:.3g} GiB of memory, more than the "
                         f"{available / 2**30:.3g} GiB available; {hint}")
