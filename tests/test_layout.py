"""The package layout: data flow models -> sandbox -> analysis, and light base modules."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imported_packages(package):
    """Top-level names imported anywhere in ``package`` (static: every import statement, at any depth)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


@pytest.mark.parametrize("package, forbidden", [("models", ("sandbox", "analysis")), ("sandbox", ("analysis",))])
def test_imports_run_one_way_models_sandbox_analysis(package, forbidden):
    imported = _imported_packages(package)
    assert not {name: imported[name] for name in forbidden if name in imported}


def _modules_after(statement):
    script = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(json.loads(result.stdout))


LANDSCAPE_MODULES = {"models.landscape", "models.quadratic", "models.multiwell", "models.normal_crossing",
                     "models.kernels", "models.symbolic", "models.custom", "models.library"}


def test_importing_analysis_stats_loads_neither_numba_nor_the_simulators():
    loaded = _modules_after("import analysis.stats")
    assert "numba" not in loaded and "sandbox" not in loaded
    assert {"models.estimate", "models.validation"} <= loaded and not loaded & LANDSCAPE_MODULES


@pytest.mark.parametrize("module", ["estimate", "validation"])
def test_base_modules_import_nothing_else_of_the_project(module):
    tree = ast.parse((ROOT / "models" / f"{module}.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name.split(".")[0] in ("models", "sandbox", "analysis")}
    loaded = _modules_after(f"import models.{module}")
    assert "numba" not in loaded and not loaded & LANDSCAPE_MODULES


def test_estimate_is_one_class_whichever_package_it_is_imported_from():
    import analysis.stats
    import models.estimate
    import sandbox
    import sandbox.estimate

    assert sandbox.Estimate is sandbox.estimate.Estimate is analysis.stats.Estimate is models.estimate.Estimate


def test_models_exports_its_landscapes_on_first_use():
    import models

    assert set(models.__all__) <= set(dir(models))
    for name in models.__all__:
        assert getattr(models, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        models.Nope
