"""Loss expressions from strings, parsed by a whitelist and never evaluated.

``sympy.sympify`` and ``parse_expr`` run ``eval`` on their input, so a user's
string never reaches them. :func:`parse_expression` reads the string with
Python's :mod:`ast` (which builds a syntax tree and runs nothing) and builds
the sympy expression node by node, accepting only

- numeric literals (int, float), ``pi`` and ``E``;
- the declared variable and parameter names;
- ``+ - * / **``, unary minus and plus, parentheses;
- calls, by name and with positional arguments only, of the functions in
  :data:`FUNCTIONS`.

Everything else (attribute access, subscripts, lambdas, comprehensions,
keyword arguments, strings, dunder names, conditionals, comparisons, the
walrus, ...) raises ``ValueError`` naming the offending token and its
column. So do inputs that would exhaust memory or time: strings longer than
:data:`MAX_LENGTH`, trees of more than :data:`MAX_NODES` nodes or deeper than
:data:`MAX_DEPTH`, constant exponents beyond :data:`MAX_EXPONENT` in
magnitude (``9**9**9``) and numbers that do not fit a float.

:func:`check_expression` applies the same whitelist to a sympy expression a
user built directly (and to its derivatives, which may add ``sign``,
``Heaviside`` and ``DiracDelta``).
"""
import ast
import keyword
import math

import sympy

__all__ = ["FUNCTIONS", "CONSTANTS", "MAX_LENGTH", "MAX_NODES", "MAX_DEPTH", "MAX_EXPONENT",
           "parse_expression", "check_expression", "check_names"]

#: name -> (sympy function, allowed numbers of arguments)
FUNCTIONS = {
    "exp": (sympy.exp, (1,)), "log": (sympy.log, (1,)), "sqrt": (sympy.sqrt, (1,)),
    "sin": (sympy.sin, (1,)), "cos": (sympy.cos, (1,)), "tan": (sympy.tan, (1,)),
    "asin": (sympy.asin, (1,)), "acos": (sympy.acos, (1,)), "atan": (sympy.atan, (1,)),
    "atan2": (sympy.atan2, (2,)),
    "sinh": (sympy.sinh, (1,)), "cosh": (sympy.cosh, (1,)), "tanh": (sympy.tanh, (1,)),
    "asinh": (sympy.asinh, (1,)), "acosh": (sympy.acosh, (1,)), "atanh": (sympy.atanh, (1,)),
    "erf": (sympy.erf, (1,)), "erfc": (sympy.erfc, (1,)),
    "Abs": (sympy.Abs, (1,)), "abs": (sympy.Abs, (1,)), "sign": (sympy.sign, (1,)),
    "Min": (sympy.Min, None), "Max": (sympy.Max, None), "min": (sympy.Min, None), "max": (sympy.Max, None),
}
#: Names of constants.
CONSTANTS = {"pi": sympy.pi, "E": sympy.E}

MAX_LENGTH = 100_000
MAX_NODES = 20_000
MAX_DEPTH = 100
MAX_EXPONENT = 1000

#: Function classes a checked expression may contain: the whitelist, and what differentiation adds.
_FUNCTION_CLASSES = tuple({f for f, _ in FUNCTIONS.values()} - {sympy.sqrt} | {sympy.Heaviside, sympy.DiracDelta})
_ATOM_CLASSES = (sympy.Symbol, sympy.Integer, sympy.Rational, sympy.Float)

_REFUSED = {
    ast.Attribute: "attribute access", ast.Subscript: "subscript", ast.Lambda: "lambda",
    ast.ListComp: "comprehension", ast.SetComp: "comprehension", ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension", ast.IfExp: "conditional expression",
    ast.NamedExpr: "assignment expression (walrus)", ast.Compare: "comparison",
    ast.BoolOp: "boolean operator", ast.Starred: "starred argument", ast.JoinedStr: "f-string",
    ast.Tuple: "tuple", ast.List: "list", ast.Dict: "dict", ast.Set: "set",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
}
_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_OPERATOR_HINTS = {ast.BitXor: " (use ** for powers)", ast.Mod: "", ast.FloorDiv: "", ast.MatMult: "",
                   ast.BitAnd: "", ast.BitOr: "", ast.LShift: "", ast.RShift: ""}


def _where(text, node):
    """'<token>' at column c, the token cut to 40 characters."""
    segment = ast.get_source_segment(text, node) or type(node).__name__
    if len(segment) > 40:
        segment = segment[:37] + "..."
    return f"{segment!r} at column {node.col_offset + 1}"


def check_names(variables, parameters):
    """Validate declared names: identifiers, distinct, not functions, constants, keywords or dunders."""
    seen = set()
    for kind, names in (("variables", variables), ("parameters", parameters)):
        for name in names:
            if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
                raise ValueError(f"{kind} must be identifiers (letters, digits, _), got {name!r}")
            if name.startswith("__"):
                raise ValueError(f"{kind} must not be dunder names, got {name!r}")
            if name in FUNCTIONS or name in CONSTANTS:
                raise ValueError(f"{kind}: {name!r} is the name of a function or constant; choose another")
            if name in seen:
                raise ValueError(f"{kind}: the name {name!r} is declared twice")
            seen.add(name)


def parse_expression(text, variables, parameters=()):
    """Build the sympy expression a string spells, by the whitelist of the module docstring.

    Parameters
    ----------
    text : str
        The loss, e.g. ``"(x**2 - 1)**2 + c*x"``.
    variables, parameters : sequence of str
        Declared names; each becomes a real sympy Symbol.

    Returns
    -------
    sympy.Expr

    Raises
    ------
    ValueError
        Naming the offending token and its column, or listing undeclared names.

    Examples
    --------
    >>> parse_expression("(x**2 - 1)**2 + c*x", ["x"], ["c"])
    c*x + (x**2 - 1)**2
    >>> parse_expression("x.real", ["x"])
    Traceback (most recent call last):
        ...
    ValueError: expression: attribute access is not allowed: 'x.real' at column 1
    """
    if not isinstance(text, str):
        raise ValueError(f"expression must be a str or a sympy expression, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"expression is {len(text)} characters long, more than the limit of {MAX_LENGTH}")
    if not text.strip():
        raise ValueError("expression is empty")
    variables, parameters = list(variables), list(parameters)
    check_names(variables, parameters)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ValueError(f"expression is not a valid formula: {err.msg} at column {err.offset}") from None
    except (RecursionError, MemoryError, ValueError) as err:
        raise ValueError(f"expression is too deeply nested or too large to parse ({type(err).__name__})") from None
    n_nodes = sum(1 for _ in ast.walk(tree))
    if n_nodes > MAX_NODES:
        raise ValueError(f"expression has {n_nodes} syntax nodes, more than the limit of {MAX_NODES}")
    symbols = {name: sympy.Symbol(name, real=True) for name in variables + parameters}
    undeclared = []
    expr = _build(text.strip(), tree.body, symbols, undeclared, 0)
    if undeclared:
        names = ", ".join(repr(n) for n in dict.fromkeys(undeclared))
        raise ValueError(f"expression uses undeclared name(s) {names}; declared variables: {variables}, "
                         f"parameters: {parameters}")
    check_expression(expr)
    return expr


def _build(text, node, symbols, undeclared, depth):
    if depth > MAX_DEPTH:
        raise ValueError(f"expression is nested deeper than {MAX_DEPTH} levels at column {node.col_offset + 1}")
    for cls, what in _REFUSED.items():
        if isinstance(node, cls):
            raise ValueError(f"expression: {what} is not allowed: {_where(text, node)}")
    if isinstance(node, ast.Constant):
        return _number(text, node)
    if isinstance(node, ast.Name):
        if node.id.startswith("__"):
            raise ValueError(f"expression: dunder name is not allowed: {_where(text, node)}")
        if node.id in symbols:
            return symbols[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        undeclared.append(node.id)
        return sympy.Integer(0)
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ValueError(f"expression: operator {type(node.op).__name__} is not allowed: {_where(text, node)}")
        operand = _build(text, node.operand, symbols, undeclared, depth + 1)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            hint = _OPERATOR_HINTS.get(type(node.op), "")
            raise ValueError(f"expression: operator {type(node.op).__name__} is not allowed{hint}: "
                             f"{_where(text, node)}")
        if isinstance(node.op, ast.Pow):
            left = _build(text, node.left, symbols, undeclared, depth + 1)
            right = _build(text, node.right, symbols, undeclared, depth + 1)
            return _power(text, node, left, right)
        return _chain(text, node, symbols, undeclared, depth)
    if isinstance(node, ast.Call):
        return _call(text, node, symbols, undeclared, depth)
    raise ValueError(f"expression: {type(node).__name__} is not allowed: {_where(text, node)}")


def _chain(text, node, symbols, undeclared, depth):
    """A left-nested chain a + b - c + ... (or a * b / c * ...) as one level, however long.

    Python parses ``x0 + x1 + ... + x99`` as 99 nested BinOps; the chain is
    walked iteratively so that sums of many terms do not count as nesting.
    """
    additive = isinstance(node.op, (ast.Add, ast.Sub))
    same = (ast.Add, ast.Sub) if additive else (ast.Mult, ast.Div)
    operands = []
    while isinstance(node, ast.BinOp) and isinstance(node.op, same):
        operands.append((node.op, node.right, node))
        node = node.left
    first = _build(text, node, symbols, undeclared, depth + 1)
    terms = [first]
    for op, operand, whole in reversed(operands):
        value = _build(text, operand, symbols, undeclared, depth + 1)
        if isinstance(op, ast.Sub):
            value = -value
        elif isinstance(op, ast.Div):
            if value == 0:
                raise ValueError(f"expression: division by zero: {_where(text, whole)}")
            value = 1 / value
        terms.append(value)
    return sympy.Add(*terms) if additive else sympy.Mul(*terms)


def _number(text, node):
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "string literal" if isinstance(value, (str, bytes)) else f"{type(value).__name__} literal"
        raise ValueError(f"expression: {kind} is not allowed: {_where(text, node)}")
    if isinstance(value, int):
        if abs(value) > 2**63:
            raise ValueError(f"expression: integer literal beyond 2**63: {_where(text, node)}")
        return sympy.Integer(value)
    if not math.isfinite(value):
        raise ValueError(f"expression: number literal is not finite: {_where(text, node)}")
    return sympy.Float(value)


def _power(text, node, base, exponent):
    if exponent.is_number:
        e = complex(exponent.evalf(30))
        if e.imag != 0 or not math.isfinite(e.real) or abs(e.real) > MAX_EXPONENT:
            raise ValueError(f"expression: constant exponent beyond {MAX_EXPONENT} in magnitude: {_where(text, node)}")
    if base.is_number and exponent.is_number:
        b = complex(base.evalf(30))
        if b != 0 and abs(complex(exponent.evalf(30)).real * math.log10(abs(b))) > 300:
            raise ValueError(f"expression: constant power beyond 1e300: {_where(text, node)}")
    return sympy.Pow(base, exponent)


def _call(text, node, symbols, undeclared, depth):
    if not isinstance(node.func, ast.Name):
        raise ValueError(f"expression: only calls of the allowed functions by name are allowed: {_where(text, node)}")
    name = node.func.id
    if name.startswith("__"):
        raise ValueError(f"expression: dunder name is not allowed: {_where(text, node.func)}")
    if name not in FUNCTIONS:
        raise ValueError(f"expression: unknown function {name!r} at column {node.col_offset + 1}; allowed: "
                         f"{', '.join(sorted(FUNCTIONS))}")
    if node.keywords:
        kw = node.keywords[0]
        raise ValueError(f"expression: keyword argument is not allowed: {_where(text, kw)}")
    function, arities = FUNCTIONS[name]
    n = len(node.args)
    if (arities is None and n < 2) or (arities is not None and n not in arities):
        wanted = "at least 2" if arities is None else " or ".join(map(str, arities))
        raise ValueError(f"expression: {name} takes {wanted} argument(s), got {n}: {_where(text, node)}")
    args = [_build(text, a, symbols, undeclared, depth + 1) for a in node.args]
    return function(*args)


def check_expression(expr):
    """Raise ``ValueError`` unless ``expr`` is built only from whitelisted sympy nodes and finite numbers.

    Allowed: symbols, integers, rationals, floats (finite, below 1e300 in
    magnitude), pi, E, Add, Mul, Pow and the function classes of
    :data:`FUNCTIONS` plus Heaviside and DiracDelta (which derivatives of
    Abs, sign, Min and Max produce).
    """
    if not isinstance(expr, sympy.Basic):
        raise ValueError(f"expression must be a str or a sympy expression, got {type(expr).__name__}")
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, _ATOM_CLASSES):
            if isinstance(node, sympy.Number) and not (math.isfinite(float(node)) and abs(float(node)) < 1e300):
                raise ValueError(f"expression contains the number {node}, which is not a finite float")
            continue
        if node in (sympy.pi, sympy.E) or isinstance(node, (sympy.Add, sympy.Mul, sympy.Pow)):
            continue
        if type(node) in _FUNCTION_CLASSES:
            continue
        if isinstance(node, sympy.Basic) and node.is_Number:
            raise ValueError(f"expression contains {node} (not a finite real number)")
        raise ValueError(f"expression contains {type(node).__name__} ({str(node)[:40]!r}), which is not in the "
                         f"whitelist: {', '.join(sorted(FUNCTIONS))}, + - * / **, pi, E")
