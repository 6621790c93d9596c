"""Input validation shared by every package.

Each check raises ``ValueError`` whose message names the parameter, the value
received and what is allowed, as DESIGN.md requires. Checks return the
validated value (converted to a float array where that makes sense) so that a
wrapper validates and prepares its input in one line.
"""
import numbers

import numpy as np

__all__ = [
    "as_finite_array",
    "check_positive",
    "check_nonnegative",
    "check_positive_int",
    "check_choice",
]


def _describe(value):
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(value)
    return f"array of shape {arr.shape}"


def as_finite_array(value, name, *, ndim=None, shape=None, dtype=float):
    """Return ``value`` as a float array, rejecting NaN, inf and wrong shapes."""
    if np.asarray(value).dtype.kind in "USO" and not _all_numbers(value):
        raise ValueError(f"{name} must be numeric, got {value!r}")
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {value!r}") from None
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
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return x


def check_nonnegative(value, name):
    """Return ``float(value)`` if it is finite and >= 0."""
    x = _scalar(value, name)
    if not x >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return x


def check_positive_int(value, name, *, minimum=1):
    """Return ``int(value)`` if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def _scalar(value, name):
    if isinstance(value, (bool, str, bytes)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got {_describe(value)}")
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return x
