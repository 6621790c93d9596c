"""A landscape from the user's own numba functions: the path for large d and for
losses that sympy cannot write compactly."""
import numpy as np
from numba import types
from numba.core import errors
from numba.core.registry import CPUDispatcher

from models.landscape import Landscape
from models.validation import as_finite_array, check_positive_int

__all__ = ["Custom"]


_ARRAY = types.float64[::1]
_OUT_2D = types.float64[:, ::1]
#: name -> (argument types, how the signature reads in a message)
_SIGNATURES = {"value": ((_ARRAY, _ARRAY), "value(x, p) -> float"),
               "grad": ((_ARRAY, _ARRAY, _ARRAY), "grad(x, p, out) -> None"),
               "hessian": ((_ARRAY, _ARRAY, _OUT_2D), "hessian(x, p, out) -> None")}


def _dispatcher(function, name):
    """Check that ``function`` is a numba.njit function that compiles for its slot's signature.

    Compiling here (which the first simulation would do anyway) turns a wrong
    signature into an error that names the function, instead of a typing
    error deep inside a generated adapter at the first simulation.
    """
    if not isinstance(function, CPUDispatcher):
        raise ValueError(f"{name} must be a numba.njit function, got {type(function).__name__}")
    argtypes, spelled = _SIGNATURES[name]
    try:
        function.compile(argtypes)
    except (errors.TypingError, TypeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{name} must have the signature {spelled} with x, p{', out' if len(argtypes) > 2 else ''} "
                         f"float64 arrays; numba could not compile {function.__name__} for it: {first}") from None
    return function


class Custom(Landscape):
    """The user's own ``numba.njit`` functions as a landscape that every simulator runs.

    Parameters
    ----------
    value : numba.njit function
        ``value(x, p) -> float``, x float64 (d,), p float64 (k,).
    grad : numba.njit function
        ``grad(x, p, out) -> None``, writing grad L(x) into ``out`` (d,).
    dim : int
        d.
    parameters : sequence of float, optional
        The vector p passed to the functions (default empty).
    hessian : numba.njit function, optional
        ``hessian(x, p, out) -> None``, writing H(x) into ``out`` (d, d).
    hessian_is_psd : bool
        Declare H(x) positive semi-definite everywhere (for Hessian-shaped SGD
        noise, which also needs ``hessian``).
    name : str, optional

    Notes
    -----
    The functions are wrapped in C-ABI adapters that catch exceptions: a
    function that raises inside a simulation stops that chain and is
    reported with the chain and the step, like a divergence. The adapters
    are compiled once per process (a few seconds) and not cached on disk:
    the package cannot tell when the user's source changes. The simulators
    themselves are not recompiled.

    Examples
    --------
    >>> import numba
    >>> @numba.njit
    ... def value(x, p):
    ...     return 0.5 * p[0] * (x[0] ** 2 + x[1] ** 2)
    >>> @numba.njit
    ... def grad(x, p, out):
    ...     out[0] = p[0] * x[0]
    ...     out[1] = p[0] * x[1]
    >>> bowl = Custom(value, grad, dim=2, parameters=[3.0])
    >>> bowl.value([1.0, 1.0])
    3.0
    """

    cache_kernels = False

    def __init__(self, value, grad, *, dim, parameters=(), hessian=None, hessian_is_psd=False, name=None):
        self._functions = {"value": _dispatcher(value, "value"), "gradient": _dispatcher(grad, "grad")}
        if hessian is not None:
            self._functions["hessian"] = _dispatcher(hessian, "hessian")
        self.dim = check_positive_int(dim, "dim")
        self._params = np.ascontiguousarray(as_finite_array(parameters, "parameters", ndim=1), dtype=np.float64)
        self.parameters = self._params.copy()
        self.hessian_is_psd = bool(hessian_is_psd)
        self.name = name

    def __repr__(self):
        label = self.name or getattr(self._functions["value"], "__name__", "value")
        return f"Custom({label!r}, d={self.dim})"

    def kernel_functions(self):
        return self._functions

    def kernel_parameters(self):
        return self._params

    def parameter_index(self, key):
        """The positions ``key`` (an int, a sequence of ints or a slice) in the parameter vector."""
        n = self._params.size
        positions = list(range(n))[key] if isinstance(key, slice) else np.atleast_1d(key)
        if np.size(positions) == 0 or not all(isinstance(i, (int, np.integer)) and -n <= i < n for i in positions):
            raise ValueError(f"parameter index must be an int, a sequence of ints or a slice within the "
                             f"{n} parameters, got {key!r}")
        return [int(i) % n for i in positions]

    def with_parameters(self, parameters):
        """A copy with another parameter vector (same length); it shares the compiled adapters."""
        new = Custom(self._functions["value"], self._functions["gradient"], dim=self.dim, parameters=parameters,
                     hessian=self._functions.get("hessian"), hessian_is_psd=self.hessian_is_psd, name=self.name)
        if new._params.shape != self._params.shape:
            raise ValueError(f"parameters must have length {self._params.size}, got {new._params.size}")
        return new

    def hessian(self, x):
        """Hessian at ``x``: (d, d) or (n, d, d).

        From the user's ``hessian`` function when one was given; otherwise by
        central differences of ``grad``, (g(x + h e_j) - g(x - h e_j)) / (2 h)
        with h = 6e-6 max(1, |x_j|), symmetrised (relative error about 1e-10
        for smooth losses; none of the simulators use it).
        """
        return Landscape.hessian(self, x)
