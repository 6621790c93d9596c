"""What is sampled: loss landscapes and random Hessian ensembles.

Landscapes expose ``dim``, ``value``, ``grad``, ``hessian`` (one point (d,) or a
batch (n, d)) and a numba kernel description used by :mod:`sandbox`.

The landscape classes are imported on first use (PEP 562), so that the base
modules :mod:`models.estimate` and :mod:`models.validation` load without numba.
"""
import importlib

__all__ = ["Landscape", "KernelParams", "Quadratic", "MultiWell", "NormalCrossing", "random_rotation"]

_HOMES = {
    "Landscape": "models.landscape",
    "KernelParams": "models.landscape",
    "MultiWell": "models.multiwell",
    "NormalCrossing": "models.normal_crossing",
    "Quadratic": "models.quadratic",
    "random_rotation": "models.quadratic",
}


def __getattr__(name):
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'models' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
