"""The landscape interface every simulator uses.

A landscape is a loss L: R^d -> R with ``value``, ``grad`` and ``hessian`` for
one point ``(d,)`` or a batch ``(n, d)`` (numpy, for users and tests), and a
numba kernel description (:meth:`Landscape.kernel_params`) for the simulators.
"""
import abc
from typing import NamedTuple

import numpy as np

from models import kernels
from models.validation import as_finite_array

__all__ = ["Landscape", "KernelParams"]


class KernelParams(NamedTuple):
    """What the numba simulators need: see :mod:`models.kernels`."""

    kind: int
    fp: np.ndarray
    ip: np.ndarray


class Landscape(abc.ABC):
    """Base class: subclasses set ``dim`` and implement :meth:`kernel_params`.

    ``value``/``grad`` default to the numba kernels (so a subclass is complete
    once its kernel exists); subclasses may override them with independent
    numpy code, which the tests then compare with the kernels.
    """

    #: Dimension d of the parameter space.
    dim: int

    #: For landscapes with an affine gradient grad L = H (x - c) whose H is
    #: dense, ``(H, c)`` lets simulators batch all chains into one matrix
    #: product per step; None otherwise.
    affine_gradient = None

    #: Whether H(x) is positive semi-definite everywhere, so that
    #: Hessian-shaped noise sigma^2 H(x) is a covariance.
    hessian_is_psd = False

    @abc.abstractmethod
    def kernel_params(self):
        """Return :class:`KernelParams` for :mod:`models.kernels`."""

    def _points(self, x, name="x"):
        arr = as_finite_array(x, name, ndim=(1, 2))
        if arr.shape[-1] != self.dim:
            raise ValueError(f"{name} must have last dimension {self.dim} (the landscape's dim), got shape {arr.shape}")
        return arr

    def value(self, x):
        """Loss at ``x`` of shape (d,) -> float, or (n, d) -> (n,)."""
        arr = self._points(x)
        batch = np.ascontiguousarray(np.atleast_2d(arr))
        out = np.empty(batch.shape[0])
        kp = self.kernel_params()
        kernels.batch_value(kp.kind, kp.fp, kp.ip, batch, out)
        return out if arr.ndim == 2 else float(out[0])

    def grad(self, x):
        """Gradient at ``x``: shape (d,) or (n, d), like ``x``."""
        arr = self._points(x)
        batch = np.ascontiguousarray(np.atleast_2d(arr))
        out = np.empty_like(batch)
        kp = self.kernel_params()
        kernels.batch_gradient(kp.kind, kp.fp, kp.ip, batch, out)
        return out if arr.ndim == 2 else out[0]

    @abc.abstractmethod
    def hessian(self, x):
        """Hessian at ``x``: (d, d) for one point, (n, d, d) for a batch."""
