"""The landscape interface every simulator uses.

A landscape is a loss L: R^d -> R. Users and tests call ``value``, ``grad``,
``hessian`` and ``hessian_vector`` on one point ``(d,)`` or a batch
``(n, d)``; simulators call its compiled kernels (:meth:`Landscape.compiled`,
see :mod:`models.kernels`). A landscape kind provides

- :meth:`Landscape.kernel_functions`: slot name -> numba.njit implementation
  with the signatures of :mod:`models.kernels` (``value(x, p)``,
  ``gradient(x, p, out)``, ...), and
- :meth:`Landscape.kernel_parameters`: the float64 vector ``p`` they read.

Parameters are runtime values: landscapes of one kind share their compiled
kernels and differ only in ``p``.
"""
import abc

import numpy as np

from models import kernels
from models.validation import as_finite_array

__all__ = ["Landscape", "LandscapeError"]

#: What every simulator asks for; Hessian slots are compiled only when a method needs them.
FIRST_ORDER = ("value", "gradient", "value_and_gradient")


class LandscapeError(ValueError):
    """A landscape function raised or returned a non-finite value where a finite one was required."""


class Landscape(abc.ABC):
    """Base class: subclasses set ``dim`` and implement the two kernel methods.

    ``value``/``grad``/``hessian`` default to the compiled kernels (so a
    subclass is complete once its kernels exist); subclasses may override
    them with independent numpy code, which the tests compare with the
    kernels. A subclass that overrides ``value`` or ``grad`` must also
    provide its own kernels: otherwise the simulators would silently run the
    parent's landscape (checked when the class is defined).
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

    #: Cache the compiled kernels on disk (False for a user's own numba functions).
    cache_kernels = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        overrides = [m for m in ("value", "grad") if m in cls.__dict__]
        if overrides and "kernel_functions" not in cls.__dict__ and "kernel_parameters" not in cls.__dict__:
            inherited = getattr(cls, "kernel_functions")
            if not getattr(inherited, "__isabstractmethod__", False):
                raise TypeError(
                    f"{cls.__name__} overrides {' and '.join(overrides)} but not kernel_functions/"
                    "kernel_parameters: the simulators would run the parent's kernels, a different landscape. "
                    "Write it as models.Symbolic or models.Custom, or provide its kernels.")

    @abc.abstractmethod
    def kernel_functions(self):
        """Slot name -> numba.njit implementation (see :mod:`models.kernels`)."""

    @abc.abstractmethod
    def kernel_parameters(self):
        """The float64 parameter vector ``p`` the kernel functions read."""

    def curvature_bound(self):
        """An upper bound on lambda_max(H(x)) over all x, or None when it is not cheap.

        :func:`sandbox.simulate` warns when the step size exceeds the
        method's stability limit 2 / lambda_max.
        """
        return None

    def compiled(self, slots=FIRST_ORDER):
        """The :class:`~models.kernels.CompiledLandscape` with the requested slots compiled."""
        addresses, keep = kernels.compile_slots(self.kernel_functions(), slots, cache=self.cache_kernels)
        params = np.ascontiguousarray(self.kernel_parameters(), dtype=np.float64)
        return kernels.CompiledLandscape(addresses, params, keep)

    def has_kernel(self, slot):
        """Whether the landscape provides the kernel ``slot`` itself (not by a fallback)."""
        return slot in self.kernel_functions()

    def _points(self, x, name="x"):
        arr = as_finite_array(x, name, ndim=(1, 2))
        if arr.shape[-1] != self.dim:
            raise ValueError(f"{name} must have last dimension {self.dim} (the landscape's dim), got shape {arr.shape}")
        return arr

    def _run_batch(self, slot, kernel, x, out_shape, *extra):
        arr = self._points(x)
        batch = np.ascontiguousarray(np.atleast_2d(arr))
        out = np.empty((batch.shape[0],) + out_shape)
        status = np.zeros(batch.shape[0], dtype=np.int64)
        c = self.compiled((slot,))
        kernel(c.addresses, c.params, batch, *extra, out, status)
        if status.any():
            i = int(np.argmax(status != 0))
            with np.printoptions(precision=6, threshold=8):
                raise LandscapeError(f"the landscape's {slot} function raised an exception at x={batch[i]}; "
                                     "call it directly to see the exception")
        return out if arr.ndim == 2 else out[0]

    def value(self, x):
        """Loss at ``x`` of shape (d,) -> float, or (n, d) -> (n,)."""
        v = self._run_batch("value", kernels.batch_value, x, ())
        return v if np.ndim(v) else float(v)

    def grad(self, x):
        """Gradient at ``x``: shape (d,) or (n, d), like ``x``."""
        return self._run_batch("gradient", kernels.batch_gradient, x, (self.dim,))

    def hessian(self, x):
        """Hessian at ``x``: (d, d) for one point, (n, d, d) for a batch.

        From the landscape's HESSIAN kernel; without one, central differences
        of the gradient kernel, (g(x + h e_j) - g(x - h e_j)) / (2 h) with
        h = 6e-6 max(1, |x_j|) (relative error about 1e-10 for smooth losses),
        symmetrised.
        """
        if self.has_kernel("hessian"):
            return self._run_batch("hessian", kernels.batch_hessian, x, (self.dim, self.dim))
        arr = self._points(x)
        pts = np.atleast_2d(arr)
        d = self.dim
        steps = 6e-6 * np.maximum(1.0, np.abs(pts))                # (n, d)
        shifts = np.einsum("nj,jk->njk", steps, np.eye(d))         # (n, d, d): row j is h_j e_j
        plus = self.grad((pts[:, None, :] + shifts).reshape(-1, d)).reshape(-1, d, d)
        minus = self.grad((pts[:, None, :] - shifts).reshape(-1, d)).reshape(-1, d, d)
        h = (plus - minus) / (2.0 * steps[:, :, None])             # h[n, j, :] = d grad / d x_j
        h = 0.5 * (h + np.swapaxes(h, 1, 2))
        return h if arr.ndim == 2 else h[0]

    def hessian_vector(self, x, v):
        """H(x) v for ``x`` and ``v`` of shape (d,) or (n, d) (from the Hessian when no product kernel exists)."""
        arr = self._points(x)
        vec = np.broadcast_to(self._points(v, "v"), np.atleast_2d(arr).shape)
        if not (self.has_kernel("hessian_vector") or self.has_kernel("hessian")):
            h = np.atleast_2d(self.hessian(arr)) if arr.ndim == 2 else self.hessian(arr)[None]
            out = np.einsum("nij,nj->ni", h, vec)
            return out if arr.ndim == 2 else out[0]
        slots = "hessian_vector" if self.has_kernel("hessian_vector") else "hessian"
        out = self._run_batch(slots, kernels.batch_hessian_vector, arr, (self.dim,), np.ascontiguousarray(vec))
        return out
