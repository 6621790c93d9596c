"""Critical points of a landscape: minima, index-1 saddles and minimum-energy paths.

(Skeleton: the CriticalPoint type is fixed; the search functions are being written.)
"""
from typing import NamedTuple

import numpy as np

__all__ = ["CriticalPoint"]


class CriticalPoint(NamedTuple):
    """A point where grad L = 0, with its Hessian spectrum.

    Attributes
    ----------
    position : ndarray (d,)
    loss : float
        L at the point.
    eigenvalues : ndarray (d,)
        Hessian eigenvalues, ascending.
    index : int
        Number of negative eigenvalues (0: minimum, 1: index-1 saddle).
    """

    position: np.ndarray
    loss: float
    eigenvalues: np.ndarray
    index: int
