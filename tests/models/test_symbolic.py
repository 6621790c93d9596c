"""Tests of models.Symbolic: compiled kernels against sympy's exact evaluation, parameters, caching.

The truth for the compiled value, gradient and Hessian is sympy's exact
evaluation (``evalf`` at 30 digits) of the expression and of its exact
derivatives; the tolerance is 1e-10 relative to the sum of the magnitudes of
the expression's terms (floating-point evaluation cannot be closer than that
when terms cancel). Expressions come from the public hypothesis strategy
``analysis.strategies.symbolic_expressions``; each new expression costs a
compilation, so few examples are drawn.
"""
import os
import pickle
import subprocess
import sys
import uuid

import numpy as np
import pytest
import sympy
from hypothesis import given, settings

from analysis.strategies import symbolic_expressions
from models import Landscape, Symbolic, double_well, entropic_double_well, kernels, mueller_brown
from models import symbolic as symbolic_module

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20241130"))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _scale(expr, subs):
    """Sum of |term| over the top-level terms of ``expr`` at ``subs``: the size of rounding errors."""
    return sum(abs(complex(t.evalf(30, subs=subs))) for t in sympy.Add.make_args(expr)) + 1e-300


def _exact(expr, subs):
    value = complex(expr.evalf(30, subs=subs))
    assert value.imag == 0
    return value.real


def assert_matches_sympy(landscape, points):
    """Compiled value, gradient, value_and_gradient and Hessian == evalf of the exact expressions."""
    c = landscape.compiled(("value", "gradient", "value_and_gradient", "hessian"))
    for x in points:
        subs = dict(zip(landscape.variables, x))
        subs.update({sympy.Symbol(k, real=True): v for k, v in landscape.parameters.items()})
        exact = _exact(landscape.expr, subs)
        tol = 1e-10 * _scale(landscape.expr, subs)
        assert abs(landscape.value(x) - exact) <= tol, (landscape, x)
        g_out = np.empty(landscape.dim)
        status, fused = kernels.value_and_gradient(c.addresses, c.params, np.array(x), g_out)
        assert status == 0 and abs(fused - exact) <= tol
        grad = landscape.grad(x)
        hess = landscape.hessian(x)
        for i, gi in enumerate(landscape.gradient_expr):
            tol_i = 1e-10 * _scale(gi, subs)
            assert abs(grad[i] - _exact(gi, subs)) <= tol_i, (landscape, x, i)
            assert abs(g_out[i] - _exact(gi, subs)) <= tol_i
            for j in range(landscape.dim):
                hij = landscape.hessian_expr[i, j]
                assert abs(hess[i, j] - _exact(hij, subs)) <= 1e-10 * _scale(hij, subs), (landscape, x, i, j)


def assert_gradient_is_central_difference_of_value(landscape, points, h=1e-6):
    for x in points:
        x = np.asarray(x, dtype=float)
        g = landscape.grad(x)
        for i in range(landscape.dim):
            e = np.zeros_like(x)
            e[i] = h
            fd = (landscape.value(x + e) - landscape.value(x - e)) / (2 * h)
            # truncation h^2 |f'''| / 6 plus rounding eps |f| / h
            scale = 1.0 + abs(landscape.value(x)) + abs(g[i])
            assert abs(fd - g[i]) <= 1e-5 * scale, (landscape, x, i, fd, g[i])


@settings(max_examples=6, deadline=None)
@given(symbolic_expressions(["x", "y"], ["a"], max_terms=3))
def test_compiled_kernels_equal_sympy_exact_evaluation_on_random_expressions(text):
    landscape = Symbolic(text, ["x", "y"], parameters={"a": 0.7})
    points = np.random.default_rng(SEED).uniform(-1.5, 1.5, size=(4, 2))
    assert_matches_sympy(landscape, points)
    assert_gradient_is_central_difference_of_value(landscape, points)


@pytest.mark.parametrize("landscape", [double_well(a=1.3, c=0.2), entropic_double_well(), mueller_brown()],
                         ids=["double_well", "entropic", "mueller_brown"])
def test_library_landscapes_match_sympy_and_central_differences(landscape):
    points = np.random.default_rng(SEED).uniform(-1.0, 1.0, size=(5, landscape.dim))
    assert_matches_sympy(landscape, points)
    assert_gradient_is_central_difference_of_value(landscape, points)


def test_a_string_and_the_sympy_expression_it_spells_give_one_landscape():
    x, y, c = sympy.symbols("x y c")
    from_sympy = Symbolic((x**2 - 1) ** 2 + c * x + y**2 / 2, [x, y], parameters={c: 0.3})
    from_text = Symbolic("(x**2 - 1)**2 + c*x + y**2/2", ["x", "y"], parameters={"c": 0.3})
    assert from_sympy.expr == from_text.expr and from_sympy._key == from_text._key
    assert from_sympy.kernel_functions() is from_text.kernel_functions()
    assert from_sympy.variables == tuple(sympy.symbols("x y", real=True))
    assert from_sympy.parameters == {"c": 0.3}
    assert from_sympy.gradient_expr == [4 * from_sympy.variables[0] * (from_sympy.variables[0] ** 2 - 1)
                                        + sympy.Symbol("c", real=True), from_sympy.variables[1]]
    assert from_sympy.hessian_expr.shape == (2, 2) and from_sympy.dim == 2


def test_variables_fix_the_coordinate_order():
    xy = Symbolic("x + 10*y", ["x", "y"])
    yx = Symbolic("x + 10*y", ["y", "x"])
    assert xy.value([1.0, 2.0]) == 21.0 and yx.value([1.0, 2.0]) == 12.0
    np.testing.assert_array_equal(yx.grad([0.0, 0.0]), [10.0, 1.0])


def test_indexed_sum_in_fifty_dimensions():
    """A loss written with IndexedBase and Sum, d = 50: 1/2 sum_i c (i + 1) x_i^2."""
    x, i = sympy.IndexedBase("x"), sympy.Symbol("i", integer=True)
    c = sympy.Symbol("c")
    expr = sympy.Sum(c * (i + 1) * x[i] ** 2, (i, 0, 49)) / 2
    s = Symbolic(expr, [x[k] for k in range(50)], parameters={"c": 2.0}, name="weighted bowl")
    lam = 2.0 * np.arange(1, 51)
    pt = np.random.default_rng(SEED).normal(size=50)
    assert s.dim == 50
    np.testing.assert_allclose(s.value(pt), 0.5 * np.sum(lam * pt**2), rtol=1e-13)
    np.testing.assert_allclose(s.grad(pt), lam * pt, rtol=1e-13)
    np.testing.assert_allclose(s.with_parameters(c=1.0).grad(pt), lam / 2 * pt, rtol=1e-13)
    with pytest.raises(ValueError, match=r"undeclared name\(s\) \['x\[49\]'\]"):
        Symbolic(expr, [x[k] for k in range(49)], parameters={"c": 2.0})


def test_with_parameters_never_recompiles():
    """A sweep over 20 parameter values: one kernel build, no new adapter, no new simulator signature."""
    from sandbox import dynamics, simulate

    base = double_well(a=1.0)
    simulate(base, "ula", n_chains=2, n_steps=2, step_size=0.01, temperature=0.5, seed=SEED)
    builds, adapters = symbolic_module.compile_count(), len(kernels._ADAPTERS)
    signatures = len(dynamics.first_order_chains.signatures)
    for a in np.linspace(0.5, 2.0, 20):
        w = base.with_parameters(a=a)
        assert w.kernel_functions() is base.kernel_functions()
        assert w.value([0.0]) == pytest.approx(a**4, rel=1e-14)
        run = simulate(w, "ula", n_chains=2, n_steps=5, step_size=0.001, temperature=0.5, seed=SEED)
        assert run.n_diverged == 0
    assert symbolic_module.compile_count() == builds
    assert len(kernels._ADAPTERS) == adapters
    assert len(dynamics.first_order_chains.signatures) == signatures == 1
    assert base.parameters == {"a": 1.0, "c": 0.0}
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['b'\]"):
        base.with_parameters(b=1.0)
    with pytest.raises(ValueError, match="a must be finite"):
        base.with_parameters(a=float("nan"))


@pytest.mark.parametrize("call, message", [
    (lambda: Symbolic("x + y", ["x"]), r"undeclared name\(s\) 'y'"),
    (lambda: Symbolic(sympy.Symbol("x") + sympy.Symbol("y"), ["x"]), r"undeclared name\(s\) \['y'\]"),
    (lambda: Symbolic("x", ["x", "x"]), "declared twice"),
    (lambda: Symbolic(sympy.Symbol("x"), ["x", "x"]), "distinct names"),
    (lambda: Symbolic("x", []), "at least one"),
    (lambda: Symbolic("a*x", ["x"], parameters={"a": float("inf")}), "parameters must be finite"),
    (lambda: Symbolic("a*x", ["x"], parameters={"a": "1"}), "parameters must be numeric"),
    (lambda: Symbolic(3.0, ["x"]), "expr must be a str or a sympy expression"),
    (lambda: Symbolic(sympy.Eq(sympy.Symbol("x"), 1), ["x"]), "expr must be a str or a sympy expression"),
    (lambda: Symbolic(sympy.Function("f")(sympy.Symbol("x")), ["x"]), "not in the whitelist"),
    (lambda: Symbolic(sympy.I * sympy.Symbol("x"), ["x"]), "not in the whitelist"),
    (lambda: Symbolic("x", [1.5]), "must be identifiers"),
])
def test_bad_input_is_a_value_error_naming_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_user_symbol_assumptions_are_replaced_by_real_symbols():
    x = sympy.Symbol("x", positive=True)
    s = Symbolic(sympy.Abs(x - 1), [x])
    assert s.variables == (sympy.Symbol("x", real=True),)
    assert s.value([0.0]) == 1.0 and s.grad([0.0])[0] == -1.0 and s.grad([2.0])[0] == 1.0


def test_nan_where_the_formula_is_not_real_and_no_exception():
    s = Symbolic("log(x) + sqrt(y)", ["x", "y"])
    assert np.isnan(s.value([-1.0, 1.0])) and np.isnan(s.value([1.0, -1.0]))
    assert s.value([1.0, 4.0]) == 2.0
    assert Symbolic("1/x", ["x"]).value([0.0]) == np.inf


def test_a_symbolic_landscape_pickles_and_keeps_its_parameters():
    w = double_well(a=1.5, c=0.1)
    again = pickle.loads(pickle.dumps(w))
    assert again.parameters == w.parameters and again.value([0.3]) == w.value([0.3])
    assert again.kernel_functions() is w.kernel_functions()


_CACHE_SCRIPT = r"""
import json, sys
import numpy as np
from models import Symbolic, kernels, symbolic
from sandbox import simulate

text = sys.argv[1]
s = Symbolic(text, ["x", "y"], parameters={"a": 0.5})
run = simulate(s, "ula", n_chains=4, n_steps=50, step_size=0.01, temperature=0.5, seed=3)
hits = [a.cache_hits for a in kernels._ADAPTERS.values()]
print(json.dumps({"x": run.x.tobytes().hex(), "builds": symbolic.compile_count(), "hits": hits}))
"""


def _run(script, *args, env=None):
    out = subprocess.run([sys.executable, "-c", script, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_new_process_loads_the_compiled_expression_from_disk():
    """The first process compiles a new expression (adapters not from cache); a second loads every
    kernel from the disk cache and gives the same numbers bit for bit. Two processes compiling the
    same new expression at once both succeed, and no partial file is left behind."""
    token = uuid.uuid4().int % 10**9
    text = f"(x**2 - 1)**2 + a*y**2 + {token}e-12*x*y"
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    first = _run(_CACHE_SCRIPT, text, env=env)
    second = _run(_CACHE_SCRIPT, text, env=env)
    assert first["builds"] == second["builds"] == 1
    assert 0 in first["hits"]
    assert second["hits"] and all(h == 1 for h in second["hits"]), second
    assert first["x"] == second["x"]
    text2 = text.replace("e-12*x*y", "e-12*x*y + 1e-13*x")
    procs = [subprocess.Popen([sys.executable, "-c", _CACHE_SCRIPT, text2], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    assert outputs[0][0].splitlines()[-1].split('"builds"')[0] == outputs[1][0].splitlines()[-1].split('"builds"')[0]
    from models.cache import generated_dir

    assert not [p for p in generated_dir().iterdir() if p.name.startswith(".tmp-")]


def test_symbolic_is_a_landscape_with_the_documented_attributes():
    s = Symbolic("a*x**2 + y", ["x", "y"], parameters={"a": 2.0}, name="demo", hessian_is_psd=False)
    assert isinstance(s, Landscape)
    assert repr(s) == "Symbolic('demo', d=2)"
    for attr in ("expr", "variables", "parameters", "gradient_expr", "hessian_expr", "dim"):
        assert hasattr(s, attr)
    assert s.hessian_is_psd is False and Symbolic("x**2", ["x"], hessian_is_psd=True).hessian_is_psd is True
    np.testing.assert_array_equal(s.kernel_parameters(), [2.0])
    np.testing.assert_allclose(s.hessian_vector([1.0, 1.0], [1.0, 2.0]), [4.0, 0.0])
