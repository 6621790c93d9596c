"""The estimate type: a simulated number together with its standard error.

A base type shared by the three packages: ``models``, ``sandbox`` and
``analysis`` import it from here, and this module imports nothing else of the
project (nor numba), so ``import analysis.stats`` stays light.
``sandbox.Estimate``, ``sandbox.estimate.Estimate`` and
``analysis.stats.Estimate`` are the same class.
"""
from typing import NamedTuple

import numpy as np

__all__ = ["Estimate"]


class Estimate(NamedTuple):
    """A value with its standard error (scalars or arrays of equal shape).

    Attributes
    ----------
    value : float or ndarray
        The point estimate.
    stderr : float or ndarray
        Its standard error (one standard deviation of the estimator).

    Examples
    --------
    >>> e = Estimate(1.02, 0.01)
    >>> round(e.z(1.0), 6)
    2.0
    """

    value: object
    stderr: object

    def z(self, predicted):
        """z-score ``(value - predicted) / stderr`` against a prediction."""
        return (np.asarray(self.value) - predicted) / np.asarray(self.stderr)

    def interval(self, n_sigma=1.96):
        """Normal-approximation interval ``value -+ n_sigma * stderr``."""
        v, s = np.asarray(self.value), np.asarray(self.stderr)
        return v - n_sigma * s, v + n_sigma * s

    def __repr__(self):
        v, s = np.asarray(self.value), np.asarray(self.stderr)
        if v.ndim == 0:
            return f"Estimate({float(v):.6g} +- {float(s):.2g})"
        return f"Estimate(value={v!r}, stderr={s!r})"
