r"""Gibbs occupancy of basins: Laplace's formula, its first correction in T, and exact quadrature.

The Gibbs law exp(-U/T) / Z gives basin i the probability P_i = Z_i / sum_j Z_j,
Z_i = int_{basin i} exp(-U(x)/T) dx (docs/conventions.md, claim C6). At low T
each Z_i is a Gaussian integral around the basin's minimum (Laplace's
formula), with a relative correction c_i T for wells that are not quadratic;
:func:`exact_occupancy` computes the Z_i themselves by quadrature for d <= 3,
the independent truth that the simulations are checked against.
"""
import itertools
import math
from typing import NamedTuple

import numpy as np
import scipy.optimize
import sympy

from models.validation import as_finite_array, check_positive, check_positive_int, plain

__all__ = [
    "laplace_occupancy",
    "log_laplace_partition",
    "laplace_correction",
    "ExactOccupancy",
    "exact_occupancy",
]

#: Default central-difference step for the third and fourth derivatives (from ``landscape.hessian``).
FD_STEP = 1e-3


# --- Laplace's formula and its first correction -------------------------------------------------

def log_laplace_partition(minima, temperature, *, correction=False, landscape=None, step=FD_STEP):
    r"""Laplace's approximation of log Z_i = log int_{basin i} exp(-U/T) dx for each minimum.

    .. math:: Z_i = (2\pi T)^{d/2}\,\det(H_i)^{-1/2}\,e^{-U_i/T}\,[1 + c_i T + O(T^2)],

    with the bracket kept only when ``correction=True`` (``c_i`` from
    :func:`laplace_correction`).

    Parameters
    ----------
    minima : sequence
        One entry per basin: an object with ``.loss`` and ``.eigenvalues``
        (and ``.position``), such as :class:`analysis.critical.CriticalPoint`,
        or a tuple ``(loss, hessian)`` or ``(loss, hessian, position)`` where
        ``hessian`` is the d x d matrix or its d eigenvalues.
    temperature : float
        T > 0.
    correction : bool
        Add the first correction, log(1 + c_i T). Needs ``landscape`` and the
        minima's positions.
    landscape : models.Landscape, optional
        Where the third and fourth derivatives come from (see
        :func:`laplace_correction`).
    step : float
        Finite-difference step when the landscape is not a ``models.Symbolic``.

    Returns
    -------
    ndarray (K,)
        log Z_i, natural logarithms.

    Examples
    --------
    >>> log_laplace_partition([(0.0, [1.0]), (0.0, [4.0])], 0.5).round(6).tolist()
    [0.572365, -0.120782]
    """
    wells = _as_wells(minima)
    t = check_positive(temperature, "temperature")
    d = wells[0][1].size
    log_z = np.array([0.5 * d * math.log(2 * math.pi * t) - 0.5 * float(np.sum(np.log(eig))) - loss / t
                      for loss, eig, _ in wells])
    if not correction:
        return log_z
    if landscape is None:
        raise ValueError("correction=True needs the landscape (for the third and fourth derivatives); got "
                         "landscape=None")
    for i, (loss, eig, position) in enumerate(wells):
        if position is None:
            raise ValueError(f"correction=True needs the position of every minimum; minima[{i}] has none "
                             "(pass CriticalPoint objects or (loss, hessian, position) tuples)")
        factor = 1.0 + laplace_correction(landscape, position, step=step) * t
        if factor <= 0:
            raise ValueError(f"temperature={plain(t)} is too high for the first correction at minima[{i}]: "
                             f"1 + c T = {factor:.6g} <= 0; use a lower temperature or correction=False")
        log_z[i] += math.log(factor)
    return log_z


def laplace_occupancy(minima, temperature, *, correction=False, landscape=None, step=FD_STEP):
    r"""Occupancy of each basin from Laplace's formula, normalised over the given minima.

    .. math:: P_i \propto e^{-U_i/T}\,\det(H_i)^{-1/2}\,[1 + c_i T],

    the bracket only with ``correction=True``. Arguments as in
    :func:`log_laplace_partition`. Laplace's formula neglects the basins'
    boundaries: it is the T -> 0 limit of :func:`exact_occupancy`, with
    relative error O(T) (O(T^2) with the correction) in each Z_i, plus terms
    of order exp(-(U_saddle - U_i)/T).

    Returns
    -------
    ndarray (K,)
        Probabilities summing to 1.

    Examples
    --------
    Two wells of equal depth whose Hessian determinants differ by 4: the
    flatter one holds twice the probability of the sharper one.

    >>> laplace_occupancy([(0.0, [[1.0, 0.0], [0.0, 1.0]]), (0.0, [1.0, 4.0])], 0.1).round(6).tolist()
    [0.666667, 0.333333]
    """
    log_z = log_laplace_partition(minima, temperature, correction=correction, landscape=landscape, step=step)
    p = np.exp(log_z - log_z.max())
    return p / p.sum()


def laplace_correction(landscape, position, *, step=FD_STEP):
    r"""First correction c in Z = (2 pi T)^(d/2) det(H)^(-1/2) exp(-U/T) [1 + c T + O(T^2)].

    .. math::
        c = \tfrac18 U_{ijk}U_{lmn}G_{ij}G_{kl}G_{mn}
          + \tfrac1{12} U_{ijk}U_{lmn}G_{il}G_{jm}G_{kn}
          - \tfrac18 U_{ijkl}G_{ij}G_{kl},

    G = H^{-1}, derivatives at the minimum, summed over repeated indices. In
    one dimension c = 5 U'''^2 / (24 U''^3) - U'''' / (8 U''^2).

    Derivation: with x = x* + sqrt(T) z, exp(-(U - U*)/T) = exp(-z^T H z / 2)
    exp(-sqrt(T) U_ijk z_i z_j z_k / 6 - T U_ijkl z_i z_j z_k z_l / 24 + ...);
    expanding to order T and taking Gaussian moments (Wick's theorem,
    <z_i z_j> = G_ij) gives -T/24 * 3 U_ijkl G_ij G_kl from the quartic term
    and T/72 * (9 A + 6 B) from the square of the cubic term, where A and B
    are the two contractions above (9 pairings keep a pair inside each
    U_ijk, 6 pair across). This is the second-order Laplace approximation of
    Shun & McCullagh (1995), "Laplace approximation of high dimensional
    integrals", J. R. Stat. Soc. B 57(4):749-760; in one dimension Bender &
    Orszag (1978), "Advanced Mathematical Methods for Scientists and
    Engineers", ch. 6 (Laplace's method). Gaussian wells have c = 0.

    Parameters
    ----------
    landscape : models.Landscape
        A ``models.Symbolic`` is differentiated exactly with sympy (at the
        landscape's parameter values); any other landscape by central
        differences of ``landscape.hessian`` with step ``step`` (truncation
        error O(step^2), round-off about 1e-16 |H| / step^2).
    position : array_like (d,)
        The minimum.
    step : float
        Finite-difference step h > 0 (default 1e-3).

    Returns
    -------
    float

    Examples
    --------
    >>> from models import Symbolic
    >>> round(laplace_correction(Symbolic("x**2/2 + x**4/4", ["x"]), [0.0]), 12)   # -U''''/(8 U''^2) = -6/8
    -0.75
    """
    x = as_finite_array(position, "position", ndim=1)
    if x.size != landscape.dim:
        raise ValueError(f"position must have {landscape.dim} coordinates (the landscape's dim), got {x.size}")
    h = check_positive(step, "step")
    hess, u3, u4 = _derivatives(landscape, x, h)
    eig = np.linalg.eigvalsh(hess)
    if eig.min() <= 0:
        raise ValueError(f"position is not a strict minimum: the Hessian there has eigenvalues {eig.tolist()}")
    g = np.linalg.inv(hess)
    a = np.einsum("ijk,lmn,ij,kl,mn->", u3, u3, g, g, g)
    b = np.einsum("ijk,lmn,il,jm,kn->", u3, u3, g, g, g)
    q = np.einsum("ijkl,ij,kl->", u4, g, g)
    return float(a / 8 + b / 12 - q / 8)


def _derivatives(landscape, x, h):
    """(H, U_ijk, U_ijkl) at x: exact for a models.Symbolic, else central differences of the Hessian."""
    if hasattr(landscape, "expr") and hasattr(landscape, "variables") and hasattr(landscape, "parameters"):
        return _symbolic_derivatives(landscape, x)
    d = x.size
    e = np.eye(d) * h
    pts = [x] + [x + e[k] for k in range(d)] + [x - e[k] for k in range(d)]
    pairs = [(k, l) for k in range(d) for l in range(k + 1, d)]
    for k, l in pairs:
        pts += [x + e[k] + e[l], x + e[k] - e[l], x - e[k] + e[l], x - e[k] - e[l]]
    hs = np.asarray(landscape.hessian(np.array(pts)), dtype=float).reshape(len(pts), d, d)
    h0, plus, minus = hs[0], hs[1:d + 1], hs[d + 1:2 * d + 1]
    u3 = np.empty((d, d, d))
    u4 = np.empty((d, d, d, d))
    for k in range(d):
        u3[:, :, k] = (plus[k] - minus[k]) / (2 * h)
        u4[:, :, k, k] = (plus[k] - 2 * h0 + minus[k]) / h ** 2
    for n, (k, l) in enumerate(pairs):
        pp, pm, mp, mm = hs[2 * d + 1 + 4 * n: 2 * d + 5 + 4 * n]
        u4[:, :, k, l] = u4[:, :, l, k] = (pp - pm - mp + mm) / (4 * h ** 2)
    return 0.5 * (h0 + h0.T), _symmetrised(u3), _symmetrised(u4)


def _symmetrised(t):
    perms = list(itertools.permutations(range(t.ndim)))
    return sum(np.transpose(t, p) for p in perms) / len(perms)


def _symbolic_derivatives(landscape, x):
    variables = list(landscape.variables)
    d = len(variables)
    values = {v: sympy.Float(float(c)) for v, c in zip(variables, x)}
    values.update({sympy.Symbol(name, real=True): sympy.Float(float(val))
                   for name, val in landscape.parameters.items()})

    def number(e):
        value = float(e.xreplace(values))
        if not math.isfinite(value):
            raise ValueError(f"a derivative of the landscape is not finite at position={x.tolist()}")
        return value

    hess_expr = landscape.hessian_expr
    hess = np.array([[number(hess_expr[i, j]) for j in range(d)] for i in range(d)])
    u3 = np.empty((d, d, d))
    u4 = np.empty((d, d, d, d))
    third = {}
    for idx in itertools.combinations_with_replacement(range(d), 3):
        third[idx] = sympy.diff(hess_expr[idx[0], idx[1]], variables[idx[2]])
        value = number(third[idx])
        for p in set(itertools.permutations(idx)):
            u3[p] = value
    for idx in itertools.combinations_with_replacement(range(d), 4):
        value = number(sympy.diff(third[idx[:3]], variables[idx[3]]))
        for p in set(itertools.permutations(idx)):
            u4[p] = value
    return hess, u3, u4


def _as_wells(minima):
    """[(loss, eigenvalues (d,), position or None)] from CriticalPoints or (loss, hessian[, position]) tuples."""
    try:
        items = list(minima)
    except TypeError:
        raise ValueError(f"minima must be a sequence of minima, got {plain(minima)}") from None
    if not items:
        raise ValueError("minima must hold at least one minimum, got an empty sequence")
    wells = []
    for i, m in enumerate(items):
        if hasattr(m, "loss") and hasattr(m, "eigenvalues"):
            loss, curv, position = m.loss, m.eigenvalues, getattr(m, "position", None)
        elif isinstance(m, (tuple, list)) and len(m) in (2, 3):
            loss, curv, position = m[0], m[1], (m[2] if len(m) == 3 else None)
        else:
            raise ValueError(f"minima[{i}] must be a CriticalPoint or a (loss, hessian[, position]) tuple, "
                             f"got {plain(m)}")
        loss = float(as_finite_array(loss, f"minima[{i}].loss", ndim=0))
        curv = as_finite_array(curv, f"minima[{i}] hessian", ndim=(0, 1, 2))
        if curv.ndim == 2:
            if curv.shape[0] != curv.shape[1] or not np.allclose(curv, curv.T, rtol=1e-10, atol=1e-12):
                raise ValueError(f"minima[{i}] hessian must be a symmetric square matrix, got shape {curv.shape}")
            eig = np.linalg.eigvalsh(0.5 * (curv + curv.T))
        else:
            eig = np.atleast_1d(curv)
        if eig.min() <= 0:
            raise ValueError(f"minima[{i}] is not a strict minimum: Hessian eigenvalues {eig.tolist()} "
                             "(all must be > 0)")
        if position is not None:
            position = as_finite_array(position, f"minima[{i}].position", ndim=1)
            if position.size != eig.size:
                raise ValueError(f"minima[{i}].position has {position.size} coordinates but its Hessian is "
                                 f"{eig.size} x {eig.size}")
        wells.append((loss, eig, position))
    dims = {w[1].size for w in wells}
    if len(dims) > 1:
        raise ValueError(f"all minima must have the same dimension, got {sorted(dims)}")
    return wells


# --- exact occupancy by quadrature ---------------------------------------------------------------

class ExactOccupancy(NamedTuple):
    """Gibbs occupancy of basins by quadrature (:func:`exact_occupancy`).

    Attributes
    ----------
    probabilities : ndarray (K,)
        P_k = Z_k / sum_j Z_j.
    error : ndarray (K,)
        Estimated absolute quadrature error of each probability (from the
        differences between two resolutions; an upper estimate).
    log_partition : ndarray (K,)
        log Z_k, Z_k = integral of exp(-U/T) over basin k within the box
        (-inf for a basin that holds no quadrature node).
    log_partition_error : ndarray (K,)
        Estimated relative error of Z_k (= absolute error of log Z_k).
    details : dict
        ``reference_loss`` (U_ref, the integrand is exp(-(U - U_ref)/T)),
        ``n_inner_panels`` (panels along axis 0 at the accepted resolution),
        ``n_evaluations`` (landscape values), ``n_label_calls`` (partition
        calls), ``n_unassigned`` (attraction partition: points whose descent
        did not reach a capture ball and were given the nearest minimum),
        ``converged`` (both resolutions agreed to ``rtol``).
    """

    probabilities: np.ndarray
    error: np.ndarray
    log_partition: np.ndarray
    log_partition_error: np.ndarray
    details: dict


def exact_occupancy(landscape, temperature, *, bounds, partition, minima=None, n_basins=None, n_nodes=16,
                    n_panels=32, rtol=1e-9, max_doublings=4):
    r"""Exact Gibbs occupancy of each basin: quadrature of exp(-(U - U_ref)/T) over the box.

    .. math:: P_k = \frac{Z_k}{\sum_j Z_j},\qquad
              Z_k = \int_{\mathrm{box}} e^{-U(x)/T}\,\mathbf 1[\mathrm{partition}(x) = k]\,dx .

    Method (d <= 3). Axis 0 is integrated along lines: ``n_panels`` equal
    panels of ``n_nodes``-point Gauss-Legendre rules, each split where the
    partition changes along the line (the crossing is located by bisection to
    1e-13 of the box width by 16-ary search), so that the basin indicator
    never cuts a panel.
    Axes 1 and 2 are integrated by adaptive bisection of Gauss-Legendre
    panels (a panel is split until its value and the sum of its halves agree
    to ``rtol`` of each basin's Z, in proportion to the panel's width), which
    resolves the square-root edges where a line becomes tangent to a basin
    boundary. The whole computation is then repeated with twice the panels
    along axis 0 (up to ``max_doublings`` times) until the two resolutions
    agree to ``rtol``; the reported error adds the larger of the last two
    such differences to the adaptive estimates. Initial panels must resolve the narrowest well,
    width sqrt(T / lambda_max): keep (box width) / (n_panels n_nodes) below
    about that width.

    Limitation: crossings are found between consecutive nodes along axis 0,
    so where a line along axis 0 only grazes a basin (near a point where the
    basin's boundary is parallel to axis 0) a sliver shorter than the node
    spacing h is missed. The error is of order rho h^3 / R (rho the Gibbs
    density there, R the boundary's radius of curvature); it falls by about
    8 per doubling and shows in the reported error, but it converges slowly
    and not monotonically: a basin whose boundary grazes axis 0 where the
    density is high (a small basin of a sharp well, a disk) costs several
    doublings for rtol = 1e-9. Half-planes x_0 < c (the entropic double
    well) and boundaries far from the mass (the MultiWell test pair) are
    exact to rounding.

    Parameters
    ----------
    landscape : models.Landscape
        ``dim`` <= 3 (d > 3 is refused: tensor quadrature costs n^d).
    temperature : float
        T > 0.
    bounds : array_like (d, 2)
        The box [lo_i, hi_i], lo_i < hi_i; it must hold essentially all the
        Gibbs mass (the box is the domain: nothing outside is counted).
    partition : callable or "attraction"
        ``partition(x)`` maps points (n, d) to basin indices (n,) in
        0..K-1 (e.g. ``MultiWell.basin_of``, or
        ``lambda x: (x[:, 0] > 0).astype(int)``). ``"attraction"``: the basin
        of attraction of each of ``minima`` under gradient descent of the
        point (steps h = 1 / lambda_max(minima) with the displacement
        clipped to half the capture radius; captured within 0.1 of the
        smallest distance between minima; after 2000 steps, the nearest
        minimum). It descends every quadrature node it labels, so it is far
        slower than a callable: Müller–Brown at T = 10 took about 250 s on
        two cores before the crossing search was made 4 times cheaper,
        against under a second with a callable. Pass a callable whenever
        the basins have a simple description.
    minima : sequence, optional
        CriticalPoints or positions (K, d); required for "attraction"; they
        must lie inside the box. K = len(minima).
    n_basins : int, optional
        K when neither ``minima`` is given nor all basins show up on the
        initial grid.
    n_nodes : int
        Gauss-Legendre nodes per panel (default 16).
    n_panels : int
        Initial panels per axis (default 32).
    rtol : float
        Relative accuracy asked of each Z_k (default 1e-9); basins holding
        less than 1e-6 of the largest Z are asked for rtol * 1e-6 of it.
    max_doublings : int
        How many times the axis-0 panels may double.

    Returns
    -------
    ExactOccupancy

    Examples
    --------
    >>> from models import entropic_double_well
    >>> r = exact_occupancy(entropic_double_well(), 0.1, bounds=[[-3, 3], [-20, 20]],
    ...                     partition=lambda x: (x[:, 0] > 0).astype(int))
    >>> round(float(r.probabilities[0] / r.probabilities[1]), 4), bool(r.error.max() < 1e-12)
    (1.971, True)
    """
    t = check_positive(temperature, "temperature")
    d = int(landscape.dim)
    if d > 3:
        raise ValueError(f"exact_occupancy integrates over a box by tensor quadrature, so the landscape's dim "
                         f"must be 1, 2 or 3; got dim={d}")
    box = as_finite_array(bounds, "bounds")
    if box.shape != (d, 2):
        raise ValueError(f"bounds must have shape ({d}, 2) (one [lo, hi] per coordinate), got {box.shape}")
    if np.any(box[:, 1] <= box[:, 0]):
        i = int(np.argmax(box[:, 1] <= box[:, 0]))
        raise ValueError(f"bounds[{i}] must have lo < hi, got [{plain(box[i, 0])}, {plain(box[i, 1])}]")
    n_nodes = check_positive_int(n_nodes, "n_nodes", minimum=2)
    n_panels = check_positive_int(n_panels, "n_panels")
    rtol = check_positive(rtol, "rtol")
    max_doublings = check_positive_int(max_doublings, "max_doublings", minimum=0)
    centers = None if minima is None else _positions(minima, d)
    if centers is not None:
        outside = np.any((centers < box[:, 0]) | (centers > box[:, 1]), axis=1)
        if outside.any():
            i = int(np.argmax(outside))
            raise ValueError(f"minima[{i}] at {centers[i].tolist()} lies outside bounds {box.tolist()}")
    if isinstance(partition, str):
        if partition != "attraction":
            raise ValueError(f"partition must be a callable or 'attraction', got {plain(partition)}")
        if centers is None:
            raise ValueError("partition='attraction' needs minima= (the minima whose basins of attraction are "
                             "integrated)")
        label_fn = _AttractionPartition(landscape, centers)
    elif callable(partition):
        label_fn = partition
    else:
        raise ValueError(f"partition must be a callable or 'attraction', got {plain(partition)}")
    if n_basins is not None:
        n_basins = check_positive_int(n_basins, "n_basins")
        if centers is not None and n_basins != len(centers):
            raise ValueError(f"n_basins={n_basins} disagrees with the {len(centers)} minima given")
    k = len(centers) if centers is not None else n_basins
    quad = _BoxQuadrature(landscape, t, box, label_fn, k, n_nodes, rtol)
    quad.prepare(n_panels, centers)

    n_inner = n_panels
    z, err = quad.integrate(n_inner)
    converged = False
    previous = np.zeros_like(z)
    for _ in range(max_doublings):
        z_fine, err_fine = quad.integrate(2 * n_inner)
        n_inner *= 2
        change = np.abs(z_fine - z)
        # missed slivers (see Limitation) converge erratically: keep the larger of the last two changes
        z, err = z_fine, err_fine + np.maximum(change, previous)
        previous = change
        if np.all(change <= rtol * np.maximum(z, 1e-6 * z.max()) + err_fine):
            converged = True
            break
    total = z.sum()
    if not total > 0:
        raise ValueError("the Gibbs weight exp(-U/T) vanishes on every quadrature node: check bounds and "
                         "temperature")
    p = z / total
    p_err = (err * (1 - p) + p * (err.sum() - err)) / total
    with np.errstate(divide="ignore"):
        log_z = np.log(z) - quad.u_ref / t
        rel = np.where(z > 0, err / np.where(z > 0, z, 1.0), np.inf)
    details = {"reference_loss": quad.u_ref, "n_inner_panels": n_inner, "n_evaluations": quad.n_evaluations,
               "n_label_calls": quad.n_label_calls, "converged": converged,
               "n_unassigned": getattr(label_fn, "n_unassigned", 0)}
    return ExactOccupancy(p, p_err, log_z, rel, details)


def _positions(minima, d):
    items = list(minima)
    if not items:
        raise ValueError("minima must hold at least one minimum, got an empty sequence")
    pos = [getattr(m, "position", m) for m in items]
    arr = as_finite_array(pos, "minima (positions)", ndim=2)
    if arr.shape[1] != d:
        raise ValueError(f"minima positions must have {d} coordinates, got shape {arr.shape}")
    return arr


class _AttractionPartition:
    """Basin of attraction of gradient descent: points descend until they enter a capture ball."""

    def __init__(self, landscape, centers, *, max_steps=2000):
        self.landscape = landscape
        self.centers = centers
        lam = max(float(np.linalg.eigvalsh(np.atleast_2d(landscape.hessian(c))).max()) for c in centers)
        if not lam > 0:
            raise ValueError("partition='attraction': the Hessians at the minima have no positive eigenvalue")
        self.step = 1.0 / lam
        if len(centers) > 1:
            gaps = np.linalg.norm(centers[:, None, :] - centers[None, :, :], axis=2)
            self.radius = 0.1 * gaps[np.triu_indices(len(centers), 1)].min()
        else:
            self.radius = np.inf
        if not self.radius > 0:
            raise ValueError("partition='attraction': two of the minima coincide")
        self.max_steps = max_steps
        self.n_unassigned = 0

    def __call__(self, x):
        x = np.array(x, dtype=float)
        labels = np.full(len(x), -1)
        active = np.arange(len(x))
        for _ in range(self.max_steps):
            dist = np.linalg.norm(x[active, None, :] - self.centers[None], axis=2)
            near = dist.min(axis=1) < self.radius
            labels[active[near]] = np.argmin(dist[near], axis=1)
            active = active[~near]
            if active.size == 0:
                break
            move = -self.step * np.asarray(self.landscape.grad(x[active])).reshape(active.size, -1)
            norm = np.linalg.norm(move, axis=1, keepdims=True)
            limit = 0.5 * self.radius
            x[active] += move * np.minimum(1.0, limit / np.maximum(norm, 1e-300))
        if active.size:
            self.n_unassigned += int(active.size)
            dist = np.linalg.norm(x[active, None, :] - self.centers[None], axis=2)
            labels[active] = np.argmin(dist, axis=1)
        return labels


class _BoxQuadrature:
    """Composite Gauss-Legendre quadrature of exp(-(U - U_ref)/T) per basin over a box (see exact_occupancy)."""

    max_depth = 40
    chunk = 1 << 17          # points per landscape call

    def __init__(self, landscape, t, box, label_fn, k, n_nodes, rtol):
        self.landscape, self.t, self.box, self.label_fn = landscape, t, box, label_fn
        self.k, self.rtol, self.d = k, rtol, box.shape[0]
        self.nodes, self.weights = np.polynomial.legendre.leggauss(n_nodes)
        self.n_evaluations = 0
        self.n_label_calls = 0
        self.u_ref = None

    # -- landscape and partition, validated --
    def values(self, pts):
        out = np.empty(len(pts))
        for s in range(0, len(pts), self.chunk):
            out[s:s + self.chunk] = self.landscape.value(pts[s:s + self.chunk])
        self.n_evaluations += len(pts)
        if np.isnan(out).any():
            raise ValueError(f"the landscape's value is NaN at x={pts[np.argmax(np.isnan(out))].tolist()}")
        return out

    def labels(self, pts):
        self.n_label_calls += 1
        raw = self.label_fn(pts)
        arr = np.asarray(raw)
        if arr.shape != (len(pts),):
            raise ValueError(f"partition must return one basin index per point, shape ({len(pts)},); got shape "
                             f"{arr.shape}")
        if arr.dtype == bool:
            arr = arr.astype(np.int64)
        elif arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        elif arr.dtype.kind not in "iu":
            bad = arr[np.argmax(~np.isfinite(arr) | (arr != np.round(arr)))] if arr.dtype.kind == "f" else arr[0]
            raise ValueError(f"partition must return integer basin indices, got {plain(bad)} "
                             f"(dtype {arr.dtype})")
        if arr.size:
            low, high = int(arr.min()), int(arr.max())
            if low < 0 or (self.k is not None and high >= self.k):
                bad = low if low < 0 else high
                allowed = f"0..{self.k - 1}" if self.k is not None else ">= 0"
                raise ValueError(f"partition returned basin index {bad}; allowed: {allowed} "
                                 f"(K is len(minima) or n_basins)")
        return arr

    def prepare(self, n_panels, centers):
        """U_ref (grid minimum, polished) and, if not given, K from the labels on a probe grid."""
        m = max(4, min(n_panels * self.nodes.size, int(round(2.0 ** (18 / self.d)))))
        axes = [np.linspace(lo, hi, m + 2)[1:-1] for lo, hi in self.box]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.d)
        u = self.values(grid)
        best = grid[np.argmin(u)]
        u_ref = float(u.min())
        if centers is not None:
            u_ref = min(u_ref, float(np.min(self.values(centers))))
        res = scipy.optimize.minimize(lambda x: float(self.landscape.value(x)), best, method="L-BFGS-B",
                                      bounds=self.box.tolist())
        if np.isfinite(res.fun):
            u_ref = min(u_ref, float(res.fun))
        if not np.isfinite(u_ref):
            raise ValueError("the landscape's value is not finite anywhere on the probe grid of the box")
        self.u_ref = u_ref
        self._n_outer = n_panels
        if self.k is None:
            self.k = int(self.labels(grid).max()) + 1

    # -- integration --
    def integrate(self, n_inner):
        """(Z (K,), error (K,)): Z relative to exp(-U_ref/T)."""
        prefix = np.zeros((1, 0))
        z, err = self._integrate(prefix, self.d - 1, n_inner)
        return z[0], err[0]

    def _integrate(self, prefix, axis, n_inner):
        """Integrals over axes 0..axis for each prefix (values of axes axis+1..d-1): (P, K) values, errors."""
        if axis == 0:
            return self._lines(prefix, n_inner), np.zeros((len(prefix), self.k))
        lo, hi = self.box[axis]
        n_prefix = len(prefix)

        def panels(a, b):
            """(P, n_panels, K) integrals and inner error estimates over [a_j, b_j]."""
            half = 0.5 * (b - a)
            t = (0.5 * (a + b))[:, None] + half[:, None] * self.nodes            # (J, n)
            w = half[:, None] * self.weights
            new = np.concatenate([np.repeat(t.reshape(-1, 1), n_prefix, axis=0),
                                  np.tile(prefix, (t.size, 1))], axis=1)            # row = node * P + p
            v, e = self._integrate(new, axis - 1, n_inner)
            v = v.reshape(t.shape + (n_prefix, self.k))
            e = e.reshape(t.shape + (n_prefix, self.k))
            return (np.einsum("jn,jnpk->pjk", w, v), np.einsum("jn,jnpk->pjk", w, e))

        edges = np.linspace(lo, hi, self._n_outer + 1)
        a, b = edges[:-1], edges[1:]
        coarse, coarse_err = panels(a, b)
        scale = coarse.sum(axis=1).max(axis=0)                                     # (K,)
        tol = self.rtol * np.maximum(scale, 1e-6 * scale.max())
        total = np.zeros((n_prefix, self.k))
        error = np.zeros((n_prefix, self.k))
        depth = 0
        while a.size:
            mid = 0.5 * (a + b)
            left, left_err = panels(a, mid)
            right, right_err = panels(mid, b)
            fine = left + right
            diff = np.abs(fine - coarse)
            # each panel may err by its share of tol, and at least 2^-12 tol: a jump or kink is then
            # bisected about 12 + log2(jump / tol) times, not until max_depth
            allowed = tol * np.maximum((b - a) / (hi - lo), 2.0 ** -12)[:, None]
            ok = np.all(diff <= allowed[None], axis=(0, 2)) | (depth >= self.max_depth)
            total += fine[:, ok].sum(axis=1)
            error += (diff + left_err + right_err)[:, ok].sum(axis=1)
            keep = ~ok
            a, b = np.concatenate([a[keep], mid[keep]]), np.concatenate([mid[keep], b[keep]])
            coarse = np.concatenate([left[:, keep], right[:, keep]], axis=1)
            depth += 1
        return total, error

    def _lines(self, prefix, n_inner):
        """Integrals along axis 0 for each prefix (values of axes 1..d-1): (P, K)."""
        n = self.nodes.size
        per_line = n_inner * n + 2
        batch = max(1, self.chunk // per_line)
        out = np.zeros((len(prefix), self.k))
        for s in range(0, len(prefix), batch):
            out[s:s + batch] = self._line_batch(prefix[s:s + batch], n_inner)
        return out

    def _points(self, x0, rest):
        return np.concatenate([x0.reshape(-1, 1), rest], axis=1)

    def _line_batch(self, prefix, n_inner):
        lo, hi = self.box[0]
        n_lines = len(prefix)
        edges = np.linspace(lo, hi, n_inner + 1)
        half = 0.5 * (edges[1] - edges[0])
        centre = 0.5 * (edges[:-1] + edges[1:])
        samples = np.concatenate([[lo], (centre[:, None] + half * self.nodes).ravel(), [hi]])
        s = samples.size
        labels = self.labels(self._points(np.tile(samples, n_lines), np.repeat(prefix, s, axis=0)))
        labels = labels.reshape(n_lines, s)
        line_id, j = np.nonzero(labels[:, 1:] != labels[:, :-1])
        crossings = self._bisect(prefix[line_id], samples[j], samples[j + 1], labels[line_id, j])
        # pieces: every line's panel edges and crossings, sorted
        ids = np.concatenate([np.repeat(np.arange(n_lines), edges.size), line_id])
        pos = np.concatenate([np.tile(edges, n_lines), crossings])
        order = np.lexsort((pos, ids))
        ids, pos = ids[order], pos[order]
        same = ids[1:] == ids[:-1]
        pa, pb, pid = pos[:-1][same], pos[1:][same], ids[:-1][same]
        good = pb > pa
        pa, pb, pid = pa[good], pb[good], pid[good]
        piece_labels = self.labels(self._points(0.5 * (pa + pb), prefix[pid]))
        ph = 0.5 * (pb - pa)
        x0 = (0.5 * (pa + pb))[:, None] + ph[:, None] * self.nodes
        u = self.values(self._points(x0.ravel(), np.repeat(prefix[pid], self.nodes.size, axis=0))).reshape(x0.shape)
        expo = -(u - self.u_ref) / self.t
        if expo.max(initial=-np.inf) > 700:
            raise ValueError("exp(-(U - U_ref)/T) overflows: the landscape goes far below the probe grid's "
                             "minimum; refine n_panels or pass minima=")
        contrib = np.exp(expo) @ self.weights * ph
        out = np.zeros((n_lines, self.k))
        np.add.at(out, (pid, piece_labels), contrib)
        return out

    def _bisect(self, rest, xa, xb, label_a, n_split=15):
        """Where the label changes between xa and xb on each line: (n_split + 1)-ary search, vectorised.

        Each partition call shrinks every bracket 16-fold, so 11 calls reach 1e-13 of the box width
        (45 for bisection): that matters when a call is expensive ("attraction" runs a descent).
        """
        xa, xb = xa.copy(), xb.copy()
        if xa.size == 0:
            return xa
        width = 1e-13 * (self.box[0, 1] - self.box[0, 0])
        frac = np.arange(1, n_split + 1) / (n_split + 1)
        rows = np.arange(xa.size)
        while np.max(xb - xa) > width:
            probe = xa[:, None] + (xb - xa)[:, None] * frac                       # (m, n_split)
            same = self.labels(self._points(probe.ravel(), np.repeat(rest, n_split, axis=0)))
            same = same.reshape(probe.shape) == label_a[:, None]
            first = np.where(same.all(axis=1), n_split, np.argmin(same, axis=1))   # first probe that differs
            grid = np.concatenate([xa[:, None], probe, xb[:, None]], axis=1)
            xa, xb = grid[rows, first], grid[rows, first + 1]
        return 0.5 * (xa + xb)
