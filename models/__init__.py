"""What is sampled: loss landscapes and random Hessian ensembles.

Landscapes expose ``dim``, ``value``, ``grad``, ``hessian`` (one point (d,) or a
batch (n, d)) and a numba kernel description used by :mod:`sandbox`.
"""
from models.landscape import KernelParams, Landscape
from models.multiwell import MultiWell
from models.normal_crossing import NormalCrossing
from models.quadratic import Quadratic, random_rotation

__all__ = ["Landscape", "KernelParams", "Quadratic", "MultiWell", "NormalCrossing", "random_rotation"]
