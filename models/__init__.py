"""What is sampled: loss landscapes and random Hessian ensembles.

Landscapes expose ``dim``, ``value``, ``grad``, ``hessian`` (one point (d,) or a
batch (n, d)) and compiled kernels (:mod:`models.kernels`) that every
simulator in :mod:`sandbox` calls: built-in families (``Quadratic``,
``MultiWell``, ``NormalCrossing``), a sympy expression or a whitelisted string
(``Symbolic``), the user's own numba functions (``Custom``), and a library of
named analytic landscapes (``double_well``, ``mueller_brown``, ...).

Names are imported on first use, so ``import models.validation`` stays light.
"""
import importlib

from models import cache as _cache

_cache.configure()  # before any numba function of the package is defined

_NAMES = {
    "Landscape": "models.landscape", "LandscapeError": "models.landscape",
    "Quadratic": "models.quadratic", "random_rotation": "models.quadratic",
    "MultiWell": "models.multiwell", "NormalCrossing": "models.normal_crossing",
    "Symbolic": "models.symbolic", "Custom": "models.custom",
    "double_well": "models.library", "skewed_double_well": "models.library",
    "entropic_double_well": "models.library", "symmetric_double_well": "models.library",
    "mueller_brown": "models.library", "two_layer_scalar": "models.library",
    "deep_scalar": "models.library", "rosenbrock": "models.library",
}

__all__ = list(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_NAMES))
