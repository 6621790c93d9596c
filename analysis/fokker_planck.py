r"""The Fokker–Planck generator of Langevin dynamics on a grid: its spectral gap, for d <= 2.

For dX = -grad U dt + sqrt(2T) dW (docs/conventions.md) the backward
(Kolmogorov) generator is ``L f = T Laplacian f - grad U . grad f``; it is
self-adjoint in L^2(pi), pi proportional to exp(-U/T), and its eigenvalues
0 = lambda_0 < lambda_1 <= ... are those of the Fokker–Planck operator. The
smallest nonzero one, the spectral gap lambda_1, is the slowest relaxation
rate: an exact, simulation-free reference for the escape rates of claim C7.

Physics of the gap. For a double well at low T the slowest mode moves
probability between the two wells, and

.. math:: \lambda_1 = k_{12} + k_{21}\,\big(1 + O(e^{-c/T})\big),

the sum of the two transition rates, not one of them (on a symmetric well each
rate is lambda_1 / 2). Each rate is the inverse mean transition time to the
other well, and the mean first-passage time to the saddle is half of that
(a path at the saddle goes on with probability 1/2). Eyring–Kramers
(:func:`analysis.escape.eyring_kramers_rate`) gives each rate to relative
O(T). Measured in one dimension for U = (x^2 - 1)^2 (tests/analysis/
test_fokker_planck.py): ``|lambda_1 tau / 2 - 1|``, tau the exact mean
first-passage time from -1 to 1, is 0.031, 7.8e-4 and 1.1e-4 at
T = 0.25, 0.125, 0.1, about 5 lambda_1 / lambda_2.
"""
import math
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from models.validation import as_finite_array, check_positive, check_positive_int, plain

__all__ = ["SpectralGap", "spectral_gap"]

_MAX_CELLS = 4_000_000   # finest grid: sparse LU of a 2-D five-point matrix this size takes about 1 GiB
_EXP_CLIP = 300.0        # |U_j - U_i| / (2T) between neighbours beyond which a rate is clipped (cells of mass e^-600)


class SpectralGap(NamedTuple):
    """The spectral gap of the Fokker–Planck generator and its accuracy.

    Attributes
    ----------
    value : float
        The gap lambda_1 (Richardson-extrapolated unless ``richardson=False``),
        per unit SDE time.
    error : float
        Estimate of the absolute error of ``value``: with Richardson, the
        difference between the final extrapolation and the one a level lower
        (``|value - R|``, R the h^2-extrapolation of the two finest grids);
        without, ``|lambda(h) - lambda(2h)| / 3``, the h^2 estimate of the
        finest grid's error. Discretisation only: the box's reflecting walls
        are part of the problem (see ``boundary_mass``).
    grid_values : ndarray
        lambda_1 on each grid, coarsest first.
    spacings : ndarray, shape (n_grids, d)
        The cell widths of each grid.
    next_value : float
        lambda_2 on the finest grid: lambda_1 / lambda_2 << 1 says that the
        gap is a metastable rate.
    boundary_mass : float
        Gibbs probability of the cells along the box's edge (finest grid):
        when it is not small the box cuts into the landscape and the gap is
        that of the box with reflecting walls.
    """

    value: float
    error: float
    grid_values: np.ndarray
    spacings: np.ndarray
    next_value: float
    boundary_mass: float


def spectral_gap(landscape, temperature, *, bounds, n_grid=32, richardson=True):
    r"""Smallest nonzero eigenvalue of the Fokker–Planck generator, by SQRA on a grid (d <= 2).

    Discretisation: square-root approximation (SQRA). On a regular grid of
    cells with centres x_i and widths h_k, the rate from cell i to its
    neighbour j along axis k is

    .. math:: Q_{ij} = \frac{T}{h_k^2}\,\exp\!\Big(-\frac{U(x_j) - U(x_i)}{2T}\Big),

    with no rate out of the box (reflecting walls). Q is a Markov generator in
    detailed balance with pi_i proportional to exp(-U(x_i)/T), and converges
    to L with error O(h^2). Conjugated by pi^(1/2) it becomes the symmetric
    ``S = (T/h^2) (A - D)``: constant off-diagonal entries and the diagonal
    ``D_ii = sum_j exp((U_i - U_j) / (2T))``, a discrete Witten Laplacian whose
    null vector is exactly pi^(1/2). ``scipy.sparse.linalg.eigsh`` in
    shift-invert mode near 0 gives its three smallest eigenpairs; lambda_1 is
    then the Rayleigh–Ritz value of the Dirichlet form

    .. math:: \mathcal{E}(f) = \frac12\sum_{i \sim j} \pi_i Q_{ij} (f_i - f_j)^2

    on those eigenvectors with pi^(1/2) projected out exactly. A sum of
    squares has no cancellation, so lambda_1 keeps its relative accuracy when
    it is 1e-9 of the largest rates (the eigenvalue eigsh returns has an
    absolute error of about 1e-16 times the matrix norm: relative 1e-4 at
    lambda_1 = 4e-9).

    Richardson extrapolation: the grids have ``n_grid``, ``2 n_grid`` and
    ``4 n_grid`` cells per axis; with lambda(h) = lambda + c2 h^2 + c4 h^4 + ...,
    ``R(h) = (4 lambda(h/2) - lambda(h)) / 3`` removes h^2 and
    ``(16 R(h/2) - R(h)) / 15`` removes h^4.

    Measured accuracy and cost (tests/analysis/test_fokker_planck.py and the
    runs quoted here; wall times on a shared 2-core machine):

    - U = 0 on a box: every grid value equals the discrete Neumann eigenvalue
      ``(4T/h^2) sin^2(pi h / 2L)`` to 1e-12, and the extrapolation gives
      T pi^2 / L^2 to better than 1e-5 relative.
    - Harmonic wells ``Quadratic([lam1, lam2])`` (also rotated off the grid
      axes) on a box of +-7 sqrt(T / lam_min) at the default n_grid = 32:
      relative error 3e-8, error estimate 1.5e-6; the finest grid alone is
      off by 2e-3. Wall time 1-2 s (finest grid 128 x 128).
    - The 2-D double wells of :mod:`models.library` on [-2, 2] x [-2.5, 2.5]
      at the defaults: relative error estimate 4.5e-6, 3.5e-5, 1.8e-4 at
      T = 0.2, 0.1, 0.05, while the true error (against n_grid = 64) is
      2e-8, 5e-7, 1.6e-5: the estimate is conservative by 10 to 200 times.
      Wall time 1.2-1.9 s per call.
    - Range: lambda_1 is resolved down to about 1e-12 of lambda_2 (1-D well
      (x^2 - 1)^2 down to T = 0.04, gap 2.5e-11); below that the eigensolver
      cannot separate lambda_1 from 0 and the error estimate grows (1e-2 at
      T = 0.03): check ``error``.

    The resolution that matters is h against the well width sqrt(T / U''):
    the error of one grid is about 0.05 to 0.1 times h^2 U'' / T, relative.

    Parameters
    ----------
    landscape : models.Landscape
        Dimension 1 or 2 (``.dim`` and a batched ``.value``).
    temperature : float
        T > 0.
    bounds : (low, high)
        The box, scalars or per-coordinate arrays of length d, low < high.
        It should hold all the Gibbs mass that matters (``boundary_mass``
        reports what lies at its edge).
    n_grid : int or sequence of int
        Cells per axis on the coarsest grid (at least 4); the finest has four
        times as many with ``richardson``. Keep the coarsest h below about
        sqrt(T / U''), the well width.
    richardson : bool
        Extrapolate over three grids (default); if False, the gap on the grid
        of ``2 n_grid`` cells per axis is reported, with the one of ``n_grid``
        for the error estimate.

    Returns
    -------
    SpectralGap
        ``value``, ``error``, the per-grid values and spacings, lambda_2 (``next_value``) and
        the boundary mass.

    Raises
    ------
    ValueError
        d > 2; T <= 0; bounds of the wrong shape or with low >= high; n_grid
        below 4 or a finest grid of more than 4e6 cells; a landscape that is
        not finite on the grid.

    References
    ----------
    H. C. Lie, K. Fackeldey & M. Weber (2013), "A square root approximation
    of transition rates for a Markov state model", SIAM J. Matrix Anal. Appl.
    34:738-756. L. Donati, M. Heida, B. G. Keller & M. Weber (2018),
    "Estimation of the infinitesimal generator by square-root approximation",
    J. Phys.: Condens. Matter 30:425201. L. F. Richardson (1911), Phil. Trans.
    R. Soc. A 210:307. Gap and rates: A. Bovier, V. Gayrard & M. Klein (2005),
    "Metastability in reversible diffusion processes II: Precise asymptotics
    for small eigenvalues", J. Eur. Math. Soc. 7:69-99.

    Examples
    --------
    Ornstein–Uhlenbeck in each coordinate: the spectrum is k1 lam1 + k2 lam2,
    so the gap is min(lam1, lam2), at any temperature:

    >>> from models import Quadratic
    >>> gap = spectral_gap(Quadratic([1.5, 4.0]), 0.5, bounds=(-4.0, 4.0))
    >>> round(gap.value, 6), gap.error < 1e-5
    (1.5, True)
    """
    dim = getattr(landscape, "dim", None)
    if not isinstance(dim, int) or not hasattr(landscape, "value"):
        raise ValueError(f"landscape must be a models.Landscape, got {type(landscape).__name__}")
    if dim > 2:
        raise ValueError(f"landscape must have dimension 1 or 2 for the grid spectral gap, got dim = {dim}")
    temperature = check_positive(temperature, "temperature")
    low, high = _box(bounds, dim)
    cells = _cells(n_grid, dim)
    if not isinstance(richardson, bool):
        raise ValueError(f"richardson must be True or False, got {plain(richardson)}")
    factors = (1, 2, 4) if richardson else (1, 2)
    if int(np.prod(cells * factors[-1])) > _MAX_CELLS:
        raise ValueError(f"n_grid = {plain(n_grid)} makes a finest grid of {int(np.prod(cells * factors[-1]))} "
                         f"cells, more than {_MAX_CELLS}; use a smaller n_grid")
    values, spacings = [], []
    for f in factors:
        gap, nxt, edge, h = _grid_gap(landscape, temperature, low, high, cells * f)
        values.append(gap)
        spacings.append(h)
    values = np.array(values)
    if richardson:
        r1 = (4.0 * values[1] - values[0]) / 3.0
        r2 = (4.0 * values[2] - values[1]) / 3.0
        value = (16.0 * r2 - r1) / 15.0
        error = abs(value - r2)
    else:
        value = values[-1]
        error = abs(values[-1] - values[0]) / 3.0
    return SpectralGap(float(value), float(error), values, np.array(spacings), float(nxt), float(edge))


def _box(bounds, dim):
    try:
        low, high = bounds
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be a pair (low, high), got {bounds!r}") from None
    low, high = as_finite_array(low, "bounds low"), as_finite_array(high, "bounds high")
    for name, edge in (("low", low), ("high", high)):
        if edge.ndim > 1 or edge.size not in (1, dim):
            raise ValueError(f"bounds {name} must be a number or {dim} numbers (one per coordinate), got shape "
                             f"{edge.shape}")
    low, high = np.broadcast_to(low, (dim,)).astype(float), np.broadcast_to(high, (dim,)).astype(float)
    if not np.all(low < high):
        raise ValueError(f"bounds must satisfy low < high in every coordinate, got low = {low.tolist()}, "
                         f"high = {high.tolist()}")
    return low, high


def _cells(n_grid, dim):
    if np.ndim(n_grid) == 0:
        n = [check_positive_int(n_grid, "n_grid", minimum=4)] * dim
    else:
        n = [check_positive_int(v, "n_grid", minimum=4) for v in n_grid]
        if len(n) != dim:
            raise ValueError(f"n_grid must be an integer or {dim} integers (one per axis), got {list(n_grid)}")
    return np.array(n, dtype=np.int64)


def _grid_gap(landscape, temperature, low, high, n):
    """lambda_1, lambda_2, boundary Gibbs mass and spacings on the grid of n cells per axis."""
    dim = len(n)
    h = (high - low) / n
    axes = [low[k] + (np.arange(n[k]) + 0.5) * h[k] for k in range(dim)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
    u = np.asarray(landscape.value(points), dtype=float).reshape(tuple(n))
    if not np.all(np.isfinite(u)):
        bad = points[np.argmax(~np.isfinite(u.ravel()))]
        raise ValueError(f"landscape must be finite on the grid, got a non-finite value at {bad.tolist()}")
    size = u.size
    index = np.arange(size).reshape(u.shape)
    # Edges along each axis: i -> j with U difference dU, weight c = T / h_k^2.
    tails, heads, diffs, weights = [], [], [], []
    for k in range(dim):
        lo = [slice(None)] * dim
        hi = [slice(None)] * dim
        lo[k], hi[k] = slice(0, -1), slice(1, None)
        tails.append(index[tuple(lo)].ravel())
        heads.append(index[tuple(hi)].ravel())
        diffs.append((u[tuple(hi)] - u[tuple(lo)]).ravel())
        weights.append(np.full(tails[-1].size, temperature / h[k] ** 2))
    i, j, du, c = (np.concatenate(a) for a in (tails, heads, diffs, weights))
    half = np.clip(du / (2.0 * temperature), -_EXP_CLIP, _EXP_CLIP)
    diag = np.bincount(i, c * np.exp(-half), size) + np.bincount(j, c * np.exp(half), size)
    # -S, positive semi-definite, null vector pi^(1/2).
    matrix = sp.csc_matrix((np.concatenate([-c, -c, diag]),
                            (np.concatenate([i, j, np.arange(size)]), np.concatenate([j, i, np.arange(size)]))),
                           shape=(size, size))
    log_root = -(u.ravel() - u.min()) / (2.0 * temperature)
    root = np.exp(log_root)
    root /= np.linalg.norm(root)
    scale = temperature * float(np.sum(1.0 / (high - low) ** 2))   # slowest free-diffusion rate in the box, / pi^2
    _, vecs = sla.eigsh(matrix, k=3, sigma=-1e-3 * scale, which="LM", ncv=min(12, size),
                        v0=root + 1.0 / math.sqrt(size))
    # Rayleigh–Ritz of the Dirichlet form on span(vecs) with pi^(1/2) removed exactly.
    basis = vecs - np.outer(root, root @ vecs)
    # The eigenvector of 0 leaves only rounding noise: drop it by its singular value (QR would keep its direction).
    left, singular, _ = np.linalg.svd(basis, full_matrices=False)
    q = left[:, singular > 1e-6 * singular.max()]
    quarter = np.exp(np.clip(du / (4.0 * temperature), -_EXP_CLIP / 2, _EXP_CLIP / 2))
    grad = np.sqrt(c)[:, None] * (q[i] / quarter[:, None] - q[j] * quarter[:, None])   # E(f) = |grad|^2
    ritz = np.linalg.eigvalsh(grad.T @ grad)
    boundary = np.ones(u.shape, dtype=bool)
    boundary[tuple(slice(1, -1) for _ in range(dim))] = False
    weights_pi = root**2
    return float(ritz[0]), float(ritz[1]) if ritz.size > 1 else math.nan, float(weights_pi[boundary.ravel()].sum()), h
