"""The points of a study: canonical parameters, grid expansion, seeds and store keys.

A point is a dict from parameter name to a scalar (bool, int, float or str).
Its canonical text is JSON with sorted keys, floats written by ``repr`` (the
shortest text that reads back to the same double) and ``-0.0`` written as
``0.0``, so that equal points have equal text whatever the order in which
their keys were given. Two derived quantities are pure functions of it:

- the point's seed, ``SeedSequence(study_seed, spawn_key=w)`` with ``w`` four
  32-bit words of SHA-256(canonical text); independent of the function, the
  order of the grid, the chunking and the executor;
- the point's store key, the first 32 hex digits of SHA-256 over the
  canonical text of (function name, package version, study seed, point).
"""
import hashlib
import itertools
import json
import math
import numbers
import re

import numpy as np

__all__ = ["canonical_point", "canonical_text", "expand_grid", "point_seed", "point_key", "count_points",
           "check_parameter_name", "MAX_POINTS"]

#: Largest number of points a study accepts unless told otherwise (``max_points``).
MAX_POINTS = 100_000

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SEED_TAG = 0x53545544  # "STUD": keeps point seeds apart from other spawn keys


def check_parameter_name(name, what="parameter name"):
    """Return ``name`` if it is an identifier (letters, digits, underscores; not starting with a digit)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{what} must be an identifier (letters, digits and underscores, not starting with "
                         f"a digit), got {name!r}")
    return name


def _canonical_value(name, value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        if not -2**63 <= int(value) < 2**63:
            raise ValueError(f"parameter {name!r} must fit in a 64-bit integer, got {int(value)}")
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value)
        if not math.isfinite(x):
            raise ValueError(f"parameter {name!r} must be finite, got {x}")
        return 0.0 if x == 0 else x
    if isinstance(value, str):
        return value
    raise ValueError(f"parameter {name!r} must be a bool, int, float or str, got {type(value).__name__} {value!r}")


def canonical_point(point):
    """Return ``point`` as a dict with sorted keys and plain Python scalars.

    Examples
    --------
    >>> canonical_point({"b": np.float64(0.5), "a": 2})
    {'a': 2, 'b': 0.5}
    """
    if not isinstance(point, dict):
        raise ValueError(f"a point must be a dict from parameter name to value, got {type(point).__name__}")
    if not point:
        raise ValueError("a point must have at least one parameter, got an empty dict")
    return {check_parameter_name(k): _canonical_value(k, point[k]) for k in sorted(point)}


def canonical_text(point):
    """The canonical JSON text of a canonical point (see the module docstring)."""
    return json.dumps(point, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _digest(text):
    return hashlib.sha256(text.encode("ascii")).digest()


def point_seed(study_seed, point):
    """The point's ``SeedSequence``: a pure function of (study seed, canonical point).

    Examples
    --------
    >>> point_seed(0, {"x": 1.0, "n": 2}).spawn_key == point_seed(0, {"n": 2, "x": 1.0}).spawn_key
    True
    """
    words = np.frombuffer(_digest(canonical_text(canonical_point(point)))[:16], dtype="<u4")
    return np.random.SeedSequence(study_seed, spawn_key=(_SEED_TAG, *(int(w) for w in words)))


def point_key(function_name, version, study_seed, point):
    """Content address of a point's result: 32 hex digits of SHA-256."""
    text = canonical_text({"function": function_name, "point": canonical_point(point),
                           "seed": int(study_seed), "version": version})
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:32]


def _values(name, values):
    if isinstance(values, (list, tuple, np.ndarray)):
        values = list(np.asarray(values, dtype=object).ravel()) if isinstance(values, np.ndarray) else list(values)
        if not values:
            raise ValueError(f"grid parameter {name!r} has an empty list of values")
        return values
    return [values]  # a scalar: the same value at every point


def count_points(grid):
    """Number of points ``grid`` expands to, computed without expanding it."""
    if isinstance(grid, dict):
        return math.prod(len(_values(name, v)) for name, v in grid.items())
    if isinstance(grid, (list, tuple)):
        return len(grid)
    raise ValueError(f"grid must be a dict of parameter lists or a list of dicts, got {type(grid).__name__}")


def expand_grid(grid, *, max_points=MAX_POINTS):
    """Expand a grid into its parameter names and canonical points, in grid order.

    Parameters
    ----------
    grid : dict or list of dict
        A dict from parameter name to a list of values (the Cartesian product,
        the last parameter varying fastest; a scalar is a one-value list), or
        a list of point dicts, all with the same parameter names.
    max_points : int
        Refuse (``ValueError``) a grid of more points, before expanding it.

    Returns
    -------
    names : list of str
        Parameter names in the order the grid gives them (the table's column order).
    points : list of dict
        Canonical points (:func:`canonical_point`).

    Examples
    --------
    >>> expand_grid({"b": [1, 2], "a": [0.5]})
    (['b', 'a'], [{'a': 0.5, 'b': 1}, {'a': 0.5, 'b': 2}])
    """
    n = count_points(grid)
    if n > max_points:
        raise ValueError(f"grid has {n} points, more than max_points={max_points}; split the study or raise "
                         "max_points")
    if n == 0:
        raise ValueError("grid has no points")
    if isinstance(grid, dict):
        names = [check_parameter_name(k) for k in grid]
        columns = [_values(k, grid[k]) for k in names]
        points = [canonical_point(dict(zip(names, combo))) for combo in itertools.product(*columns)]
    else:
        names = [check_parameter_name(k) for k in (grid[0] if isinstance(grid[0], dict) else {})]
        points = [canonical_point(p) for p in grid]
        for p in points:
            if set(p) != set(names):
                raise ValueError(f"every point of a list grid must have the same parameters; {names} and "
                                 f"{list(p)} differ")
    seen = {}
    for i, p in enumerate(points):
        text = canonical_text(p)
        if text in seen:
            raise ValueError(f"grid lists the point {text} twice (positions {seen[text]} and {i})")
        seen[text] = i
    return names, points
