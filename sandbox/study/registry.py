"""Study functions known by name, so that a TOML spec can name one.

A registered function declares its parameters (name -> default, or
``REQUIRED``) and, optionally, a ``validate(point)`` that raises ``ValueError``
for a bad point. ``sandbox study run`` completes every point with the defaults,
refuses unknown or missing parameters, and validates every point before it
computes or writes anything.
"""
from dataclasses import dataclass, field

from sandbox.study.points import check_parameter_name

__all__ = ["REQUIRED", "StudyFunction", "STUDY_FUNCTIONS", "study_function"]


class _Required:
    def __repr__(self):
        return "REQUIRED"


#: Default of a parameter that every point must give.
REQUIRED = _Required()


@dataclass(frozen=True)
class StudyFunction:
    """A registered study function: its name, the callable, parameters and validator."""

    name: str
    function: object = field(repr=False)
    parameters: dict
    validate: object = field(default=None, repr=False)

    @property
    def summary(self):
        """First line of the function's docstring."""
        return (self.function.__doc__ or "").strip().splitlines()[0] if self.function.__doc__ else ""

    def complete(self, point):
        """``point`` with defaults filled in; ``ValueError`` naming an unknown or missing parameter."""
        unknown = [k for k in point if k not in self.parameters]
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]!r} for study function {self.name!r}; it takes "
                             f"{', '.join(self.parameters)}")
        missing = [k for k, v in self.parameters.items() if v is REQUIRED and k not in point]
        if missing:
            raise ValueError(f"study function {self.name!r} needs parameter {missing[0]!r} (in [grid] or "
                             "[sizes])")
        full = {k: point.get(k, v) for k, v in self.parameters.items()}
        if self.validate is not None:
            self.validate(full)
        return full


#: Registered study functions by name, in registration order.
STUDY_FUNCTIONS = {}


def study_function(name, *, parameters, validate=None):
    """Decorator registering ``function(point, seed)`` as study function ``name``.

    Parameters
    ----------
    name : str
        The name a spec gives (``function = "name"``).
    parameters : dict
        Parameter name -> default value, or ``REQUIRED``.
    validate : callable, optional
        ``validate(point)`` raising ``ValueError`` for a bad (completed) point.

    Examples
    --------
    >>> @study_function("square_demo", parameters={"x": REQUIRED})
    ... def square(point, seed):
    ...     return {"y": point["x"] ** 2}
    >>> STUDY_FUNCTIONS["square_demo"].complete({"x": 3.0})
    {'x': 3.0}
    >>> del STUDY_FUNCTIONS["square_demo"]
    """
    check_parameter_name(name, "study function name")
    for p in parameters:
        check_parameter_name(p)

    def register(function):
        if name in STUDY_FUNCTIONS and STUDY_FUNCTIONS[name].function is not function:
            raise ValueError(f"study function {name!r} is registered twice")
        STUDY_FUNCTIONS[name] = StudyFunction(name, function, dict(parameters), validate)
        return function

    return register
