"""Mean first-passage times into a core set (skeleton: the result type is fixed)."""
from typing import NamedTuple

__all__ = ["PassageTime"]


class PassageTime(NamedTuple):
    """A mean first-passage time with its standard error, in SDE time units (steps x step_size).

    Attributes
    ----------
    value, stderr : float
        The MFPT estimate and its standard error.
    log_value, log_stderr : float
        log(MFPT) and its standard error (the natural scale for rare events).
    method : str
        "direct" or "splitting".
    n_events : int
        Passages observed (direct) or replicas that reached the target (splitting).
    n_censored : int
        Chains still running at the end (direct: handled by the survival
        estimator, never dropped); 0 for splitting.
    details : dict
        Method-specific diagnostics (e.g. splitting's probability estimate,
        number of levels, the cycle time).
    """

    value: float
    stderr: float
    log_value: float
    log_stderr: float
    method: str
    n_events: int
    n_censored: int
    details: dict
