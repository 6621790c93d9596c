"""The compiled interface between landscapes and the simulators.

Every landscape (built-in, :class:`~models.symbolic.Symbolic`,
:class:`~models.custom.Custom`) compiles to a table of C function pointers,
one per *slot*, plus a float64 parameter vector ``p``. The simulators are
compiled once, cached on disk, and call a landscape only through the helpers
below (:func:`value`, :func:`gradient`, :func:`value_and_gradient`,
:func:`hessian_sqrt_apply`, ...), which jump to the slot's address: no
simulator lists landscape kinds, and a new landscape never recompiles a
simulator (the numbalsoda pattern: the solver is compiled once for every
user function).

Slots (index, what the function computes, the njit implementation's signature):

======================  ===============================  ==========================
``VALUE``               L(x)                             ``f(x, p) -> float``
``GRADIENT``            grad L(x) into ``out`` (d,)      ``f(x, p, out)``
``VALUE_AND_GRADIENT``  both (shared subexpressions)     ``f(x, p, out) -> float``
``HESSIAN``             H(x) into ``out`` (d, d)         ``f(x, p, out)``
``HESSIAN_VECTOR``      H(x) v into ``out`` (d,)         ``f(x, p, v, out)``
``HESSIAN_SQRT``        H(x)^{1/2} v, H(x) PSD           ``f(x, p, v, out)``
======================  ===============================  ==========================

with x, v float64 (d,) and p float64 (k,). VALUE and GRADIENT are required;
the helpers fall back for the others (VALUE_AND_GRADIENT from the two
required slots, HESSIAN_VECTOR and HESSIAN_SQRT from HESSIAN) and an absent
slot has address 0. The C signature shared by all slots is

    int64 f(double *x, double *p, double *v, double *out, double *loss, int64 d, int64 k)

returning 0, or 1 if the implementation raised. :func:`compile_slots` wraps
each implementation in a numba ``cfunc`` adapter. Adapters of a user's own
functions (``cache=False``, :class:`~models.custom.Custom`) catch exceptions,
so a function that raises inside a simulation is reported (which chain,
which step) instead of crashing or giving silent NaN; they are compiled once
per process. Adapters of the package's and of generated implementations are
cached on disk (``cache=True``) and have no guard: those kernels never raise
(``error_model="numpy"``, no raise statements), and the guard cost them up
to 30% (measured: 90 against 120 ns for a 100-term value and gradient).
Adapters are generated modules in :func:`models.cache.generated_dir`.
"""
import hashlib
import importlib
import importlib.util
import itertools
import sys
import threading
from typing import NamedTuple

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils, errors
from numba.extending import intrinsic

from models.cache import generated_dir, write_once

__all__ = [
    "SLOTS", "VALUE", "GRADIENT", "VALUE_AND_GRADIENT", "HESSIAN", "HESSIAN_VECTOR", "HESSIAN_SQRT",
    "SIGNATURE", "CompiledLandscape", "compile_slots", "implementation", "register_implementation",
    "load_generated",
    "value", "gradient", "value_and_gradient", "hessian", "hessian_vector", "hessian_sqrt_apply",
    "batch_value", "batch_gradient", "batch_hessian", "batch_hessian_vector",
]

SLOTS = ("value", "gradient", "value_and_gradient", "hessian", "hessian_vector", "hessian_sqrt")
VALUE, GRADIENT, VALUE_AND_GRADIENT, HESSIAN, HESSIAN_VECTOR, HESSIAN_SQRT = range(len(SLOTS))

_f64p = types.CPointer(types.float64)
SIGNATURE = types.int64(_f64p, _f64p, _f64p, _f64p, _f64p, types.int64, types.int64)


class CompiledLandscape(NamedTuple):
    """What a simulator receives: slot addresses (int64, len(SLOTS)) and the parameter vector p.

    ``keepalive`` holds the cfunc objects, so the addresses stay valid while
    this tuple lives.
    """

    addresses: np.ndarray
    params: np.ndarray
    keepalive: tuple = ()


# --- calling a slot -------------------------------------------------------------

@intrinsic
def _call(typingctx, address, x, p, v, out):
    """``(status, loss)`` of the slot at ``address`` on arrays x, p, v, out (data pointers passed).

    The arrays must be C-contiguous float64 (a strided view would be read as
    if it were contiguous): anything else is a typing error.
    """
    for name, arr in zip("xpvo", (x, p, v, out)):
        if not (isinstance(arr, types.Array) and arr.dtype == types.float64 and arr.layout == "C"):
            raise errors.TypingError(f"landscape slot argument {name} must be a C-contiguous float64 array, "
                                     f"got {arr}")
    sig = types.Tuple((types.int64, types.float64))(address, x, p, v, out)

    def codegen(context, builder, signature, args):
        arrays = [context.make_array(ty)(context, builder, val) for ty, val in zip(signature.args[1:], args[1:])]
        d = builder.extract_value(arrays[0].shape, 0)
        k = builder.extract_value(arrays[1].shape, 0)
        loss = cgutils.alloca_once_value(builder, context.get_constant(types.float64, np.nan))
        dbl = ir.DoubleType().as_pointer()
        fnty = ir.FunctionType(ir.IntType(64), [dbl] * 5 + [ir.IntType(64)] * 2)
        fn = builder.inttoptr(args[0], fnty.as_pointer())
        data = [builder.bitcast(a.data, dbl) for a in arrays]
        status = builder.call(fn, data + [loss, d, k])
        return context.make_tuple(builder, signature.return_type, [status, builder.load(loss)])

    return sig, codegen


@nb.njit(cache=True)
def value(fns, p, x):
    """``(status, L(x))``; status 0, or 1 if the landscape function raised."""
    return _call(fns[VALUE], x, p, x, x)


@nb.njit(cache=True)
def gradient(fns, p, x, g):
    """Write grad L(x) into ``g``; return the status."""
    return _call(fns[GRADIENT], x, p, x, g)[0]


@nb.njit(cache=True)
def value_and_gradient(fns, p, x, g):
    """``(status, L(x))`` and grad L(x) written into ``g``."""
    if fns[VALUE_AND_GRADIENT] != 0:
        return _call(fns[VALUE_AND_GRADIENT], x, p, x, g)
    status, loss = _call(fns[VALUE], x, p, x, g)
    if status == 0:
        status = _call(fns[GRADIENT], x, p, x, g)[0]
    return status, loss


@nb.njit(cache=True)
def hessian(fns, p, x, h):
    """Write H(x) into ``h`` (d, d); return the status (the slot must be present)."""
    return _call(fns[HESSIAN], x, p, x, h)[0]


@nb.njit(cache=True)
def hessian_vector(fns, p, x, v, out, h):
    """Write H(x) v into ``out``; without that slot, from the HESSIAN slot via the work matrix ``h`` (d, d)."""
    if fns[HESSIAN_VECTOR] != 0:
        return _call(fns[HESSIAN_VECTOR], x, p, v, out)[0]
    status = _call(fns[HESSIAN], x, p, x, h)[0]
    d = x.size
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += h[i, j] * v[j]
        out[i] = s
    return status


@nb.njit(cache=True)
def hessian_sqrt_apply(fns, p, x, z, out, h):
    """Write H(x)^{1/2} z into ``out`` (H(x) positive semi-definite); return the status.

    Without a HESSIAN_SQRT slot: H(x) from the HESSIAN slot into the work
    matrix ``h`` (d, d), then H^{1/2} = V diag(sqrt(max(lam, 0))) V^T from
    its eigendecomposition (negative rounding-level eigenvalues clipped).
    """
    if fns[HESSIAN_SQRT] != 0:
        return _call(fns[HESSIAN_SQRT], x, p, z, out)[0]
    status = _call(fns[HESSIAN], x, p, x, h)[0]
    if status != 0:
        return status
    lam, vec = np.linalg.eigh(h)
    d = x.size
    w = np.empty(d)
    for j in range(d):
        s = 0.0
        for i in range(d):
            s += vec[i, j] * z[i]
        w[j] = np.sqrt(max(lam[j], 0.0)) * s
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += vec[i, j] * w[j]
        out[i] = s
    return status


@nb.njit(cache=True, parallel=True)
def batch_value(fns, p, X, out, status):
    """``out[n] = L(X[n])``, ``status[n]`` the slot's status, for a batch ``X`` (n, d)."""
    for n in nb.prange(X.shape[0]):
        status[n], out[n] = value(fns, p, X[n])


@nb.njit(cache=True, parallel=True)
def batch_gradient(fns, p, X, out, status):
    """``out[n] = grad L(X[n])`` for a batch ``X`` (n, d)."""
    for n in nb.prange(X.shape[0]):
        status[n] = gradient(fns, p, X[n], out[n])


@nb.njit(cache=True, parallel=True)
def batch_hessian(fns, p, X, out, status):
    """``out[n] = H(X[n])`` (n, d, d); needs the HESSIAN slot."""
    for n in nb.prange(X.shape[0]):
        status[n] = hessian(fns, p, X[n], out[n])


@nb.njit(cache=True, parallel=True)
def batch_hessian_vector(fns, p, X, V, out, status):
    """``out[n] = H(X[n]) V[n]``."""
    d = X.shape[1]
    for n in nb.prange(X.shape[0]):
        status[n] = hessian_vector(fns, p, X[n], V[n], out[n], np.empty((d, d)))


# --- building slots -------------------------------------------------------------

#: How each slot calls its implementation, given the carrays x, p, v (d,), out (d,) or (d, d), loss (1,).
_CALLS = {
    "value": ("loss[0] = _impl(x, p)", "(1,)", None),
    "gradient": ("_impl(x, p, out)", "(d,)", None),
    "value_and_gradient": ("loss[0] = _impl(x, p, out)", "(d,)", None),
    "hessian": ("_impl(x, p, out)", "(d, d)", None),
    "hessian_vector": ("_impl(x, p, v, out)", "(d,)", "(d,)"),
    "hessian_sqrt": ("_impl(x, p, v, out)", "(d,)", "(d,)"),
}

_ADAPTER = '''"""Generated by models.kernels.compile_slots: the C-ABI adapter of one landscape slot."""
import numba as _nb

from models.kernels import SIGNATURE as _SIGNATURE, implementation as _implementation

_impl = _implementation({token!r})


@_nb.cfunc(_SIGNATURE, cache={cache}, error_model="numpy")
def {slot}(xp, pp, vp, outp, lossp, d, k):
    x = _nb.carray(xp, (d,))
    p = _nb.carray(pp, (k,))
    {v_line}out = _nb.carray(outp, {out_shape})
    loss = _nb.carray(lossp, (1,))
    {body}
    return 0
'''

_REGISTERED = {}
_registration = itertools.count()
_ADAPTERS = {}
#: Building adapters and importing generated modules from several threads at once (a Dask worker
#: with threads) must not import a module twice: one lock, re-entrant for nested loads.
LOCK = threading.RLock()


def register_implementation(function):
    """Register a user's njit function for the current process; return its token (``"process:N"``)."""
    token = f"process:{next(_registration)}"
    _REGISTERED[token] = function
    return token


def implementation(token):
    """The njit function a token names: ``"module:qualname"`` or a registered ``"process:N"``."""
    if token in _REGISTERED:
        return _REGISTERED[token]
    module, _, qualname = token.partition(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _token(function):
    py = getattr(function, "py_func", None)
    if py is None or "<locals>" in py.__qualname__:
        raise ValueError(f"cached slots need a module-level numba.njit function, got {function!r}")
    return f"{py.__module__}:{py.__qualname__}"


def load_generated(name, source):
    """Import the generated module ``name``, first writing ``source`` (a str, or a callable returning
    one, called only if the file is not yet in the generated-code directory)."""
    with LOCK:
        return _load_generated(name, source)


def _load_generated(name, source):
    if name in sys.modules:
        return sys.modules[name]
    path = generated_dir() / f"{name}.py"
    if not path.exists():
        write_once(path, source() if callable(source) else source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _adapter(slot, function, cache):
    """The cfunc adapter of one slot (memoised per process)."""
    key = (slot, function, cache)
    if key not in _ADAPTERS:
        token = _token(function) if cache else next(t for t, f in _REGISTERED.items() if f is function)
        call, out_shape, v_shape = _CALLS[slot]
        # a user's function may raise: catch it (status 1). The package's own and generated kernels
        # cannot (error_model="numpy", no raise statements), and the guard costs them up to 30%.
        body = f"try:\n        {call}\n    except Exception:\n        return 1" if not cache else call
        text = _ADAPTER.format(token=token, cache=cache, slot=slot, body=body, out_shape=out_shape,
                               v_line=f"v = _nb.carray(vp, {v_shape})\n    " if v_shape else "")
        name = "sandbox_slot_" + hashlib.sha256(text.encode()).hexdigest()[:20]
        _ADAPTERS[key] = getattr(load_generated(name, text), slot)
    return _ADAPTERS[key]


def compile_slots(functions, slots, *, cache=True):
    """Addresses (int64, len(SLOTS)) of the slots in ``slots`` that ``functions`` provides, and their cfuncs.

    Parameters
    ----------
    functions : dict
        Slot name -> numba.njit implementation (signatures in the module
        docstring). "value" and "gradient" are required.
    slots : iterable of str
        The slots to compile (others stay 0); compiling is lazy and memoised,
        so a simulator asks only for what it calls.
    cache : bool
        Cache the adapters' machine code on disk. Needs module-level
        functions; ``False`` for a user's own functions (their source may
        change without this package's changing), which are then registered
        for this process.
    """
    for name in ("value", "gradient"):
        if name not in functions:
            raise ValueError(f"a landscape must provide the {name!r} kernel")
    with LOCK:
        return _compile(functions, slots, cache)


def _compile(functions, slots, cache):
    addresses = np.zeros(len(SLOTS), dtype=np.int64)
    keep = []
    for slot in slots:
        function = functions.get(slot)
        if function is None:
            continue
        if not cache and all(f is not function for f in _REGISTERED.values()):
            register_implementation(function)
        cf = _adapter(slot, function, cache)
        addresses[SLOTS.index(slot)] = cf.address
        keep.append(cf)
    return addresses, tuple(keep)
