"""Tests of models.expression: the whitelist parser for loss strings.

Accepted strings must give exactly the sympy expression they spell (checked
against expressions built by hand); hostile strings must be refused with a
ValueError that names the offending token, without side effects: an audit hook
records every audited event during parsing (file opens, imports, exec,
os.system, subprocess, ...) and only the 'compile' event of ``ast.parse`` may
occur; the working directory must be unchanged.
"""
import os
import sys

import pytest
import sympy

from models.expression import (FUNCTIONS, MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, MAX_NODES, check_expression,
                               parse_expression)

x, y, c = sympy.symbols("x y c", real=True)


@pytest.mark.parametrize("text, expected", [
    ("(x**2 - 1)**2 + c*x", (x**2 - 1) ** 2 + c * x),
    ("-x + +y", -x + y),
    ("x/y - 2.5e-3*x", x / y - sympy.Float(2.5e-3) * x),
    ("exp(-x**2/2)/sqrt(2*pi)", sympy.exp(-x**2 / 2) / sympy.sqrt(2 * sympy.pi)),
    ("log(1 + x**2) + atan2(y, x) + erf(x) + erfc(y)", sympy.log(1 + x**2) + sympy.atan2(y, x) + sympy.erf(x)
     + sympy.erfc(y)),
    ("Abs(x) + abs(y) + Min(x, y, 1) + max(x, c)", sympy.Abs(x) + sympy.Abs(y) + sympy.Min(x, y, 1)
     + sympy.Max(x, c)),
    ("sin(x)*cos(y)*tan(c) + sinh(x) + cosh(y) + tanh(c)", sympy.sin(x) * sympy.cos(y) * sympy.tan(c)
     + sympy.sinh(x) + sympy.cosh(y) + sympy.tanh(c)),
    ("asin(x/2) + acos(y/2) + atan(x) + asinh(x) + acosh(1 + y**2) + atanh(x/3)",
     sympy.asin(x / 2) + sympy.acos(y / 2) + sympy.atan(x) + sympy.asinh(x) + sympy.acosh(1 + y**2)
     + sympy.atanh(x / 3)),
    ("E**x * sign(y)", sympy.E**x * sympy.sign(y)),
    ("  x ** -2  ", x**-2),
    ("2**10 * x", 1024 * x),
])
def test_accepted_strings_give_the_expression_they_spell(text, expected):
    got = parse_expression(text, ["x", "y"], ["c"])
    assert sympy.simplify(got - expected) == 0, (got, expected)
    assert all(s.is_real for s in got.free_symbols)


HOSTILE = [
    # code execution and introspection
    ("__import__('os').system('true')", "only calls of the allowed functions by name"),
    ("().__class__.__bases__", "attribute access"),
    ("x.__class__", "attribute access"),
    ("x.real", "attribute access"),
    ("exp.__globals__", "attribute access"),
    ("__builtins__", "dunder name"),
    ("__import__", "dunder name"),
    ("__import__('os')", "dunder name"),
    ("eval('1')", "unknown function 'eval'"),
    ("exec('x=1')", "unknown function 'exec'"),
    ("open('f', 'w')", "unknown function 'open'"),
    ("getattr(x, 'real')", "unknown function 'getattr'"),
    ("globals()", "unknown function 'globals'"),
    ("compile('1', 'f', 'eval')", "unknown function 'compile'"),
    ("sympify('x')", "unknown function 'sympify'"),
    ("lambda: 0", "lambda"),
    ("(lambda: 0)()", "only calls of the allowed functions by name"),
    ("exp(x)[0]", "subscript"),
    ("x[0]", "subscript"),
    ("[x for x in range(3)]", "comprehension"),
    ("(x for x in y)", "comprehension"),
    ("{k: 1 for k in y}", "comprehension"),
    ("exp(x, evaluate=False)", "keyword argument"),
    ("exp(*x)", "starred argument"),
    ("x if y else c", "conditional expression"),
    ("(z := x)", "walrus"),
    ("'x'", "string literal"),
    ("b'x'", "string literal"),
    ("f'{x}'", "f-string"),
    ("x < 1", "comparison"),
    ("x and y", "boolean operator"),
    ("not x", "operator Not"),
    ("~x", "operator Invert"),
    ("x ^ 2", "use ** for powers"),
    ("x % 2", "operator Mod"),
    ("x // 2", "operator FloorDiv"),
    ("x @ y", "operator MatMult"),
    ("x << 1", "operator LShift"),
    ("(x, y)", "tuple"),
    ("[x]", "list"),
    ("{x}", "set"),
    ("{x: y}", "dict"),
    ("True", "bool literal"),
    ("None", "NoneType literal"),
    ("1j", "complex literal"),
    ("...", "ellipsis literal"),
    ("import os", "not a valid formula"),
    ("x = 1", "not a valid formula"),
    ("x; y", "not a valid formula"),
    ("exp(x", "not a valid formula"),
    # resource exhaustion
    ("9**9**9", "constant exponent beyond"),
    ("x**(10**6)", "constant exponent beyond"),
    ("x**1e5", "constant exponent beyond"),
    ("10**400", "constant power beyond 1e300"),
    ("(10**300)**2", "constant power beyond 1e300"),
    ("1e400", "not finite"),
    ("123456789012345678901234567890 * x", "integer literal beyond 2**63"),
    ("x" * (MAX_LENGTH + 1), "characters long"),
    ("x" + "+x" * 5_000_000, "characters long"),                # a 10 MB string
    ("(" * 10_000 + "x" + ")" * 10_000, "nested parentheses"),
    ("-" * 150 + "x", "deeper than"),
    ("-" * 5_000 + "x", "too deeply nested"),
    ("Max(" + ", ".join(["x"] * 25_000) + ")", "syntax nodes"),
    # semantics
    ("foo(x)", "unknown function 'foo'"),
    ("exp()", "takes 1 argument"),
    ("exp(x, y)", "takes 1 argument"),
    ("Min(x)", "takes at least 2 argument"),
    ("atan2(x)", "takes 2 argument"),
    ("x / 0", "division by zero"),
    ("z + w", "undeclared name(s) 'z', 'w'"),
    ("x + pi + zeta", "undeclared name(s) 'zeta'"),
]


def test_there_are_at_least_40_hostile_strings():
    assert len(HOSTILE) >= 40
    assert len({text for text, _ in HOSTILE}) == len(HOSTILE)


class _AuditLog:
    """Record audited events while ``active`` (an audit hook cannot be removed, only silenced)."""

    def __init__(self):
        self.active = False
        self.events = []
        sys.addaudithook(self)

    def __call__(self, event, args):
        if self.active:
            self.events.append(event)


_AUDIT = _AuditLog()


@pytest.mark.parametrize("text, message", HOSTILE, ids=[t[:30] for t, _ in HOSTILE])
def test_hostile_strings_are_refused_naming_the_token_without_side_effects(text, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _AUDIT.events.clear()
    _AUDIT.active = True
    try:
        with pytest.raises(ValueError) as info:
            parse_expression(text, ["x", "y"], ["c"])
    finally:
        _AUDIT.active = False
    assert message in str(info.value), str(info.value)
    assert set(_AUDIT.events) <= {"compile"}, _AUDIT.events
    assert list(tmp_path.iterdir()) == []
    assert len(str(info.value)) < 400


def test_errors_name_the_token_and_its_column():
    with pytest.raises(ValueError, match=r"attribute access is not allowed: 'x.real' at column 7"):
        parse_expression("1 + y*x.real", ["x", "y"])
    with pytest.raises(ValueError, match=r"keyword argument is not allowed: 'evaluate=False' at column 8"):
        parse_expression("exp(x, evaluate=False)", ["x"])


def test_declared_names_are_checked():
    for bad in (["x", "x"], ["exp"], ["pi"], ["__x"], ["1x"], ["lambda"], [3]):
        with pytest.raises(ValueError):
            parse_expression("1", bad)
    with pytest.raises(ValueError, match="declared twice"):
        parse_expression("x", ["x"], ["x"])


def test_limits_are_documented_numbers():
    assert MAX_LENGTH == 100_000 and MAX_NODES == 20_000 and MAX_DEPTH == 100 and MAX_EXPONENT == 1000
    # just inside the limits is accepted
    parse_expression("x**1000", ["x"])
    parse_expression("-" * 90 + "x", ["x"])
    # a long sum is one level of nesting, not one per term
    names = [f"x{i}" for i in range(500)]
    assert len(parse_expression(" + ".join(f"{n}**2" for n in names), names).args) == 500
    assert set(FUNCTIONS) >= {"exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "erf", "Abs",
                              "Min", "Max"}


@pytest.mark.parametrize("expr", [sympy.Function("f")(x), sympy.I * x, sympy.zoo * x, sympy.Integral(x, x),
                                  sympy.gamma(x), sympy.Float("nan") * x, sympy.Float(1e305) * x])
def test_sympy_input_outside_the_whitelist_is_refused(expr):
    with pytest.raises(ValueError):
        check_expression(expr)


def test_refusal_leaves_the_process_unchanged():
    before = (os.getcwd(), sorted(sys.modules))
    for text, _ in HOSTILE[:20]:
        with pytest.raises(ValueError):
            parse_expression(text, ["x", "y"], ["c"])
    assert (os.getcwd(), sorted(sys.modules)) == before
