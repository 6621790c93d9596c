"""A landscape written as a formula: a sympy expression or a whitelisted string.

The loss, its gradient and its Hessian are derived exactly with sympy, common
subexpressions are shared (``sympy.cse``), and the result is printed as numba
source by a printer that knows only the whitelisted nodes of
:mod:`models.expression` (so a user's string, or an exotic sympy object,
never reaches generated code: variables and parameters are printed as
``x[i]`` and ``p[j]``). The generated module is written once to the package's
cache directory under a content hash of the expression, variable and
parameter names (:mod:`models.cache`), and its kernels are cached by numba:
a landscape seen before is not recompiled in a new process. Parameters are
read from the runtime vector ``p``, so :meth:`Symbolic.with_parameters`
never recompiles.
"""
import copy
import hashlib
import math

import numpy as np
import sympy

from models import kernels
from models.expression import FUNCTIONS, check_expression, parse_expression
from models.landscape import Landscape
from models.validation import as_finite_array

__all__ = ["Symbolic", "compile_count", "GENERATOR_VERSION"]

#: Bumped whenever the generated code changes shape (part of the content hash).
GENERATOR_VERSION = 5

_FUNCTIONS = {}        # content key -> {slot: njit function}, this process
_BUILDS = [0]


def compile_count():
    """Number of distinct symbolic kernel sets built (generated, or loaded from the disk cache) in this process.

    ``with_parameters`` and repeated construction of the same expression do
    not add to it.
    """
    return _BUILDS[0]


class Symbolic(Landscape):
    r"""The user's own loss, written as a sympy expression or a string.

    Parameters
    ----------
    expr : str or sympy.Expr
        The loss. A string is parsed by the whitelist of
        :func:`models.expression.parse_expression` (never evaluated): numbers,
        the declared names, ``+ - * / **``, parentheses and the functions
        exp, log, sqrt, sin, cos, tan, asin, acos, atan, atan2, sinh, cosh,
        tanh, asinh, acosh, atanh, erf, erfc, Abs/abs, sign, Min/min, Max/max,
        and the constants pi and E. A sympy expression may also use finite
        ``Sum``\ s over ``IndexedBase`` variables (expanded with ``doit``).
    variables : sequence of str, sympy.Symbol or sympy.Indexed
        The coordinates, in order: coordinate i of a point is ``variables[i]``.
    parameters : mapping, optional
        Names of constants -> float values. They are runtime values:
        :meth:`with_parameters` changes them without recompiling.
    name : str, optional
        Shown in ``repr``.
    hessian_is_psd : bool
        Declare that the Hessian is positive semi-definite everywhere (needed
        for Hessian-shaped SGD noise; not checked).

    Attributes
    ----------
    expr : sympy.Expr
        The loss, with every name a real Symbol.
    variables : tuple of sympy.Symbol
    parameters : dict
        Name -> value.
    gradient_expr : list of sympy.Expr
        d L / d x_i (computed on first access).
    hessian_expr : sympy.Matrix
        The d x d Hessian (computed on first access).
    dim : int

    Notes
    -----
    Compile time. The first use of a new expression generates its module and
    compiles three kernels (value, gradient, and both fused); the Hessian
    kernels are compiled only when something needs them (``hessian()``,
    Hessian-shaped SGD noise). Measured on 2 cores, a new expression in a
    process where the package is already loaded:

    ================================  ===================  ===============
    loss                              first-order kernels  Hessian kernel
    ================================  ===================  ===============
    2-d double well                   1.3 s                1.3 s
    sum of d squares, d = 10          2.3 s                0.7 s
    sum of d squares, d = 50          4.8 s                1.2 s
    sum of d squares, d = 100         9.2 s                2.3 s
    sum of d squares, d = 200         20 s
    (sum_i x_i^2 - 1)^2, d = 10       2.4 s                2.3 s
    (sum_i x_i^2 - 1)^2, d = 20       3.3 s                21 s
    (sum_i x_i^2 - 1)^2, d = 50       8.2 s                minutes
    ================================  ===================  ===============

    So first-order use stays under 30 s up to d of about 250 for losses with
    O(d) terms, and a dense Hessian kernel up to d of about 20 (it has
    d (d + 1) / 2 entries). Beyond that use :class:`models.Custom` with
    loops. A new process that meets the same expression loads everything
    from the disk cache in a fraction of a second.

    Examples
    --------
    >>> w = Symbolic("(x**2 - 1)**2 + c*x + y**2/2", ["x", "y"], parameters={"c": 0.1})
    >>> w.value([1.0, 2.0])
    2.1
    >>> w.gradient_expr
    [c + 4*x*(x**2 - 1), y]
    >>> w.with_parameters(c=0.0).value([1.0, 2.0])
    2.0
    """

    def __init__(self, expr, variables, *, parameters=None, name=None, hessian_is_psd=False):
        parameters = {} if parameters is None else dict(parameters)
        variables = list(variables)
        if not variables:
            raise ValueError("variables must name at least one coordinate")
        if isinstance(expr, str):
            var_names = [v if isinstance(v, str) else str(v) for v in variables]
            par_names = [k if isinstance(k, str) else str(k) for k in parameters]
            self.expr = parse_expression(expr, var_names, par_names)
            table = {n: sympy.Symbol(n, real=True) for n in var_names + par_names}
        else:
            self.expr, table, var_names, par_names = _canonical(expr, variables, list(parameters))
        self.variables = tuple(table[n] for n in var_names)
        values = as_finite_array(list(parameters.values()), "parameters", ndim=1) if parameters else np.zeros(0)
        self.parameters = dict(zip(par_names, values.tolist()))
        self._parameter_symbols = tuple(table[n] for n in par_names)
        self.dim = len(self.variables)
        self.name = name
        self.hessian_is_psd = bool(hessian_is_psd)
        self._params = np.ascontiguousarray(values, dtype=np.float64)
        self._gradient = None
        self._hessian = None
        self._key = _content_key(self.expr, self.variables, self._parameter_symbols)
        self._functions = None

    def __repr__(self):
        label = self.name or str(self.expr)
        if len(label) > 60:
            label = label[:57] + "..."
        return f"Symbolic({label!r}, d={self.dim})"

    def __reduce__(self):
        return (_rebuild, (self.expr, self.variables, self.parameters, self.name, self.hessian_is_psd))

    @property
    def gradient_expr(self):
        if self._gradient is None:
            self._gradient = [sympy.diff(self.expr, v) for v in self.variables]
        return self._gradient

    @property
    def hessian_expr(self):
        if self._hessian is None:
            d, g = self.dim, self.gradient_expr
            h = sympy.zeros(d, d)
            for i in range(d):
                for j in range(i, d):
                    h[i, j] = h[j, i] = sympy.diff(g[i], self.variables[j])
            self._hessian = h
        return self._hessian

    def with_parameters(self, **values):
        """A copy with some parameters changed; it shares the compiled kernels (no recompilation).

        Examples
        --------
        >>> w = Symbolic("a*x**2", ["x"], parameters={"a": 1.0})
        >>> w.with_parameters(a=3.0).value([1.0])
        3.0
        """
        unknown = sorted(set(values) - set(self.parameters))
        if unknown:
            raise ValueError(f"with_parameters: unknown parameter(s) {unknown}; this landscape has "
                             f"{sorted(self.parameters)}")
        new = copy.copy(self)
        new.parameters = dict(self.parameters)
        for key, value in values.items():
            new.parameters[key] = float(as_finite_array(value, key, ndim=0))
        new._params = np.array(list(new.parameters.values()), dtype=np.float64)
        return new

    def kernel_functions(self):
        if self._functions is None:
            self._functions = _kernel_functions(self)
        return self._functions

    def kernel_parameters(self):
        """The parameter values in the order of ``parameters``."""
        return self._params

    def parameter_index(self, key):
        """``[i]``: the position of the parameter named ``key`` in ``kernel_parameters()``."""
        names = list(self.parameters)
        if key not in names:
            raise ValueError(f"unknown parameter {key!r}; this landscape has {names}")
        return [names.index(key)]


def _rebuild(expr, variables, parameters, name, hessian_is_psd):
    return Symbolic(expr, variables, parameters=parameters, name=name, hessian_is_psd=hessian_is_psd)


def _name_of(item, what):
    if isinstance(item, str):
        return item
    if isinstance(item, (sympy.Symbol, sympy.Indexed)):
        return str(item)
    raise ValueError(f"{what} must be names (str), sympy Symbols or Indexed objects, got {item!r}")


def _canonical(expr, variables, parameters):
    """Replace every declared name by a real Symbol; expand finite sums; check the whitelist."""
    if not isinstance(expr, sympy.Expr):
        raise ValueError(f"expr must be a str or a sympy expression, got {type(expr).__name__}")
    if expr.has(sympy.Sum, sympy.Product):
        expr = expr.doit()
    var_names = [_name_of(v, "variables") for v in variables]
    par_names = [_name_of(k, "parameters") for k in parameters]
    names = var_names + par_names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"variables and parameters must have distinct names; {duplicated} appear twice")
    table = {n: sympy.Symbol(n, real=True) for n in names}
    replace = {}
    for item, n in zip(variables + parameters, names):
        if isinstance(item, sympy.Indexed):
            replace[item] = table[n]
    for atom in expr.atoms(sympy.Symbol):
        if atom.name in table:
            replace[atom] = table[atom.name]
    expr = expr.xreplace(replace)
    declared = set(table.values())
    indexed = expr.atoms(sympy.Indexed)
    labels = {a.base.label for a in indexed}
    leftover = {str(a) for a in indexed} | {
        s.name for s in expr.free_symbols if isinstance(s, sympy.Symbol) and s not in declared | labels}
    if leftover:
        raise ValueError(f"expr uses undeclared name(s) {sorted(leftover)}; declared variables: "
                         f"{_shorten(var_names)}, parameters: {_shorten(par_names)}")
    check_expression(expr)
    return expr, table, var_names, par_names


def _shorten(names, limit=8):
    return str(names) if len(names) <= limit else f"[{', '.join(map(repr, names[:limit]))}, ... ({len(names)} in all)]"


def _content_key(expr, variables, parameters):
    text = "\n".join([f"generator {GENERATOR_VERSION}", sympy.srepr(expr), repr([v.name for v in variables]),
                      repr([p.name for p in parameters])])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _kernel_functions(landscape):
    """{slot: njit function} of the landscape's expression: from this process, the disk cache, or generated."""
    key = landscape._key
    with kernels.LOCK:
        return _FUNCTIONS[key] if key in _FUNCTIONS else _build_functions(landscape, key)


def _build_functions(landscape, key):
    module = kernels.load_generated(f"sandbox_symbolic_{key}", lambda: _module_source(landscape))
    _FUNCTIONS[key] = {slot: getattr(module, slot) for slot in _SLOTS}
    _BUILDS[0] += 1
    return _FUNCTIONS[key]


_SLOTS = ("value", "gradient", "value_and_gradient", "hessian", "hessian_vector")

_HEADER = '''"""Generated by models.symbolic (generator version {version}); do not edit.

L = {summary}
"""
import math

import numba as nb

#: Fused multiply-adds; no flag assumes finite values, so NaN and inf still propagate.
_FASTMATH = {{"contract"}}


@nb.njit(inline="always")
def _sign(a):
    return 1.0 if a > 0 else (-1.0 if a < 0 else 0.0)


@nb.njit(inline="always")
def _heaviside(a, at_zero):
    return 1.0 if a > 0 else (at_zero if a == 0 else 0.0)
'''


def _module_source(landscape):
    """Python/numba source of the five kernels of ``landscape`` (value, gradient, both, Hessian, H v)."""
    expr, d = landscape.expr, landscape.dim
    # variables are read where they are used, not loaded into d locals up front: with many
    # variables the locals spill from the registers (a 100-term sum ran twice as slowly)
    names = {v: f"x[{i}]" for i, v in enumerate(landscape.variables)}
    names.update({q: f"p[{j}]" for j, q in enumerate(landscape._parameter_symbols)})
    grad = landscape.gradient_expr
    hess = landscape.hessian_expr
    upper = [(i, j) for i in range(d) for j in range(i, d) if hess[i, j] != 0]
    summary = str(expr)
    summary = summary if len(summary) < 200 else summary[:197] + "..."
    parts = [_HEADER.format(version=GENERATOR_VERSION, summary=summary.replace('"""', "'''"))]

    def function(signature, outputs, tail):
        """One njit function: loads, shared subexpressions of ``outputs``, then ``tail(printed outputs)``."""
        temps, reduced = sympy.cse(outputs, symbols=sympy.numbered_symbols("t"), order="none")
        printer = _Printer(dict(names))
        lines = [f"\n\n@nb.njit(error_model=\"numpy\", fastmath=_FASTMATH)\ndef {signature}:"]
        for symbol, value in temps:
            lines.append(f"    {symbol.name} = {printer.print(value)}")
            printer.names[symbol] = symbol.name
        lines += tail([printer.print(e) for e in reduced])
        return "\n".join(lines) + "\n"

    parts.append(function("value(x, p)", [expr], lambda out: [f"    return {out[0]}"]))
    parts.append(function("gradient(x, p, out)", grad, lambda out: [f"    out[{i}] = {e}" for i, e in enumerate(out)]))
    parts.append(function("value_and_gradient(x, p, out)", [expr] + grad,
                          lambda out: [f"    out[{i}] = {e}" for i, e in enumerate(out[1:])] + [f"    return {out[0]}"]))
    entries = [hess[i, j] for i, j in upper]

    def hessian_tail(out):
        lines = ["    out[:, :] = 0.0"]
        for (i, j), e in zip(upper, out):
            lines.append(f"    out[{i}, {j}] = {e}")
            if i != j:
                lines.append(f"    out[{j}, {i}] = out[{i}, {j}]")
        return lines

    def product_tail(out):
        rows = [[] for _ in range(d)]
        lines = []
        for n, ((i, j), e) in enumerate(zip(upper, out)):
            lines.append(f"    h{n} = {e}")
            rows[i].append(f"h{n} * v[{j}]")
            if i != j:
                rows[j].append(f"h{n} * v[{i}]")
        return lines + [f"    out[{i}] = {' + '.join(r) if r else '0.0'}" for i, r in enumerate(rows)]

    parts.append(function("hessian(x, p, out)", entries, hessian_tail))
    parts.append(function("hessian_vector(x, p, v, out)", entries, product_tail))
    return "".join(parts)


_MATH = {sympy.exp: "math.exp", sympy.log: "math.log", sympy.sin: "math.sin", sympy.cos: "math.cos",
         sympy.tan: "math.tan", sympy.asin: "math.asin", sympy.acos: "math.acos", sympy.atan: "math.atan",
         sympy.atan2: "math.atan2", sympy.sinh: "math.sinh", sympy.cosh: "math.cosh", sympy.tanh: "math.tanh",
         sympy.asinh: "math.asinh", sympy.acosh: "math.acosh", sympy.atanh: "math.atanh", sympy.erf: "math.erf",
         sympy.erfc: "math.erfc", sympy.Abs: "abs", sympy.sign: "_sign", sympy.Min: "min", sympy.Max: "max"}
assert set(_MATH) >= {f for f, _ in FUNCTIONS.values()} - {sympy.sqrt}


def _balanced(terms, op):
    """``terms`` joined by ``op`` as a balanced tree: a sum of n terms is then log2(n) additions deep,
    not n, so the processor overlaps them (a 100-term sum ran about twice as fast)."""
    if len(terms) == 1:
        return terms[0]
    half = len(terms) // 2
    return f"({_balanced(terms[:half], op)}{op}{_balanced(terms[half:], op)})"


class _Printer:
    """numba source for the whitelisted sympy nodes; every symbol must have a name in ``names``."""

    def __init__(self, names):
        self.names = names

    def print(self, e):
        if isinstance(e, sympy.Symbol):
            return self.names[e]
        if e is sympy.pi:
            return "math.pi"
        if e is sympy.E:
            return "math.e"
        if isinstance(e, sympy.Number):
            value = float(e)
            if not math.isfinite(value):
                raise ValueError(f"the expression's derivative contains {e}, which is not a finite number")
            return f"({value!r})" if value < 0 else repr(value)
        if isinstance(e, (sympy.Add, sympy.Mul)):
            return _balanced([self.print(a) for a in e.args], " + " if isinstance(e, sympy.Add) else " * ")
        if isinstance(e, sympy.Pow):
            base, exponent = self.print(e.base), e.exp
            if exponent == sympy.Rational(1, 2):
                return f"math.sqrt({base})"
            if exponent == sympy.Rational(-1, 2):
                return f"(1.0 / math.sqrt({base}))"
            if exponent == -1:
                return f"(1.0 / {base})"
            if exponent in (2, 3) and isinstance(e.base, sympy.Symbol):  # x[i] * x[i], t0 * t0
                return "(" + " * ".join([base] * int(exponent)) + ")"
            if isinstance(exponent, sympy.Integer):
                # 1 / b^k, not b^(-k): numba's integer power raises ZeroDivisionError at b = 0
                return f"{base} ** {int(exponent)}" if exponent > 0 else f"(1.0 / {base} ** {-int(exponent)})"
            return f"{base} ** {self.print(exponent)}"
        if isinstance(e, sympy.DiracDelta):
            return "0.0"  # derivative of a step: zero wherever the loss is differentiable
        if isinstance(e, sympy.Heaviside):
            at_zero = e.args[1] if len(e.args) > 1 else sympy.Rational(1, 2)
            return f"_heaviside({self.print(e.args[0])}, {self.print(at_zero)})"
        if type(e) in _MATH:
            return f"{_MATH[type(e)]}({', '.join(self.print(a) for a in e.args)})"
        raise ValueError(f"cannot generate code for {type(e).__name__} ({str(e)[:40]!r})")
