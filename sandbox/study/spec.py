"""Study specs: a TOML file that names a study function (or a claim check), a grid and sizes.

A spec is data, never code: it is read with ``tomllib``, every key is checked
against the list below, every string parameter is a plain name (letters,
digits and ``_ . + -``), the function is looked up by name in
:data:`sandbox.study.registry.STUDY_FUNCTIONS`, and every point is completed
with the function's defaults and validated before anything is computed or
written. Any problem is a ``ValueError`` that names the key::

    function = "langevin_variance"   # a registered study function, or
    # claim = "C10"                  # a claim check (the registered function "claim")
    seed = 0                         # optional, default 0
    description = "free text"        # optional, never interpreted

    [grid]                           # the Cartesian product of these lists
    step_size = [0.05, 0.1, 0.2, 0.4]
    method = ["ula", "mala"]

    [sizes]                          # the same at every point
    lam = 1.0
    temperature = 1.0
    n_chains = 20000

Instead of ``[grid]``, a list of points may be given as ``[[points]]`` tables.
A grid of more than :data:`sandbox.study.points.MAX_POINTS` points is refused
before it is expanded.
"""
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sandbox.study.points import MAX_POINTS, check_parameter_name, count_points, expand_grid
from sandbox.study.registry import STUDY_FUNCTIONS, StudyFunction

__all__ = ["StudySpec", "load_spec", "parse_spec", "SPEC_KEYS"]

#: The keys a spec may have at its top level.
SPEC_KEYS = ("function", "claim", "seed", "description", "grid", "points", "sizes")

_PLAIN = re.compile(r"[A-Za-z0-9_.+\-]{1,100}\Z")


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...'"


def _scalar(where, value):
    if isinstance(value, str):
        if not _PLAIN.match(value):
            raise ValueError(f"{where}: the string {_short(value)} is not a plain name (1 to 100 letters, digits "
                             "and _ . + -); strings in a spec are names, never code")
        return value
    if isinstance(value, (bool, int, float)):
        return value
    raise ValueError(f"{where} must be a number, a boolean or a name, got {type(value).__name__} {_short(value)}")


def _table(spec, key):
    value = spec.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"[{key}] must be a table (name = value lines), got {type(value).__name__}")
    for name in value:
        check_parameter_name(name, f"parameter name {name!r} in [{key}]")
    return value


@dataclass(frozen=True)
class StudySpec:
    """A validated spec: the study function, the completed points, and the seed."""

    function: StudyFunction
    points: list
    seed: int
    description: str = ""

    def study(self, store):
        """The :class:`sandbox.study.Study` this spec describes, stored in ``store``."""
        from sandbox.study.study import Study

        return Study(self.function.function, self.points, store=store, seed=self.seed)


def parse_spec(text, *, max_points=MAX_POINTS):
    """Validate a spec given as TOML text; return a :class:`StudySpec` (module docstring)."""
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"the spec is not valid TOML: {exc}") from None
    unknown = [k for k in spec if k not in SPEC_KEYS]
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} in the spec; allowed keys: {', '.join(SPEC_KEYS)}")
    if ("function" in spec) == ("claim" in spec):
        raise ValueError("the spec must name exactly one of function = \"NAME\" (a registered study function) "
                         "or claim = \"ID\" (a claim check)")
    grid, sizes = _table(spec, "grid"), _table(spec, "sizes")
    if "claim" in spec:
        claim_id = _scalar("claim", spec["claim"])
        if "claim" in grid or "claim" in sizes:
            raise ValueError("give the claim id once: claim = \"ID\" at the top, or claim in [grid]")
        sizes = {"claim": claim_id, **sizes}
        name = "claim"
    else:
        name = spec["function"]
    if not isinstance(name, str) or name not in STUDY_FUNCTIONS:
        known = ", ".join(STUDY_FUNCTIONS) or "none"
        what = "claim checks are not available here (run them through the sandbox command)" if name == "claim" \
            else f"registered: {known}"
        raise ValueError(f"unknown study function {_short(name)}; {what}")
    function = STUDY_FUNCTIONS[name]
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {_short(seed)}")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise ValueError(f"description must be a string, got {type(description).__name__}")

    fixed = {k: _scalar(f"[sizes] {k}", v) for k, v in sizes.items()}
    if "points" in spec and "grid" in spec:
        raise ValueError("give either [grid] (a Cartesian product) or [[points]] (a list of points), not both")
    if "points" in spec:
        listed = spec["points"]
        if not isinstance(listed, list) or not all(isinstance(p, dict) for p in listed) or not listed:
            raise ValueError("points must be a non-empty list of tables ([[points]] blocks)")
        raw = []
        for i, p in enumerate(listed):
            for k in p:
                check_parameter_name(k, f"parameter name {k!r} in points[{i}]")
            raw.append({k: _scalar(f"points[{i}] {k}", v) for k, v in p.items()})
    else:
        columns = {}
        for k, v in grid.items():
            values = v if isinstance(v, list) else [v]
            if not values:
                raise ValueError(f"[grid] {k} is an empty list")
            columns[k] = [_scalar(f"[grid] {k}", x) for x in values]
        n = count_points(columns)
        if n > max_points:
            raise ValueError(f"the grid has {n} points, more than the {max_points} a study accepts; split it")
        if columns:
            names, expanded = expand_grid(columns, max_points=max_points)
            raw = [{k: p[k] for k in names} for p in expanded]
        else:  # [sizes] alone: one point
            raw = [{}]
    if len(raw) > max_points:
        raise ValueError(f"the spec lists {len(raw)} points, more than the {max_points} a study accepts; split it")
    points = []
    for p in raw:
        both = sorted(set(p) & set(fixed))
        if both:
            raise ValueError(f"parameter {both[0]!r} is given both in [sizes] and in the grid or points")
        full = function.complete({**p, **fixed})
        ordered = {k: full[k] for k in list(p) + list(fixed)}
        ordered.update((k, v) for k, v in full.items() if k not in ordered)
        points.append(ordered)
    return StudySpec(function, points, seed, description)


def load_spec(path, *, max_points=MAX_POINTS):
    """Read and validate the TOML spec at ``path`` (:func:`parse_spec`)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"spec file {str(path)!r} does not exist")
    return parse_spec(path.read_text(encoding="utf-8"), max_points=max_points)
