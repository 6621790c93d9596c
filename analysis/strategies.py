r"""Hypothesis strategies for property tests of landscape formulas.

Scope: strategies that draw the inputs of this package's formulas and
constructors (spectra, SPD matrices, rotations, :class:`~models.Quadratic` and
:class:`~models.MultiWell` landscapes, normal-crossing exponents, random-matrix
ensembles), so that a user's property test states the property and not the
generator. Everything drawn is accepted by the constructor it is meant for.

Hypothesis is a test dependency, not a runtime one: it comes with
``pip install "landscape-sandbox[test]"``, and importing this module without it
raises an ``ImportError`` that says so. Nothing else in the package imports
this module.

How the strategies shrink. Every strategy is a deterministic map of plain
floats and integers that hypothesis draws: eigenvalues are ``10**e`` with the
exponent ``e`` a drawn float, law-distributed values are quantiles
``law.ppf(u)`` of a drawn ``u``, Gaussian entries are ``sqrt(2) erfinv(v)`` of a
drawn ``v`` in (-1, 1), and rotations are the Q factor of a matrix of such
Gaussians. Hypothesis shrinks floats towards 0 and towards integers, so a
failing example shrinks towards eigenvalues that are powers of ten, the lower
edge of a law, zero Gaussians and the identity rotation, small dimensions,
ascending order, no zeros or negative eigenvalues, diagonal and uncentred
landscapes, and the first of the listed ensembles. If hypothesis's ``u`` and ``v`` were uniform,
the values would follow the named law exactly (inverse-CDF sampling) and the
rotations would be Haar (Mezzadri 2007); hypothesis favours edge cases, so
read "log-uniform", "Marchenko–Pastur" and "Haar" as the law of the map, not
as a promise about the frequencies hypothesis produces.

Bad arguments raise ``ValueError`` naming the parameter when the strategy is
built, not when it is drawn from.

Examples
--------
>>> import math
>>> from hypothesis import given, strategies as st
>>> from analysis.volume import log_sublevel_volume
>>> @given(spectra(d=st.integers(1, 20), low=1e-3, high=1e3))
... def test_log_volume_falls_by_half_d_log_s_when_the_spectrum_is_scaled_by_s(lam):
...     shift = log_sublevel_volume(10.0 * lam, 1.0) - log_sublevel_volume(lam, 1.0)
...     assert math.isclose(shift, -lam.size / 2 * math.log(10.0), rel_tol=1e-12)
>>> test_log_volume_falls_by_half_d_log_s_when_the_spectrum_is_scaled_by_s()
"""
import math
import numbers

import numpy as np
import scipy.special

try:
    import hypothesis.extra.numpy as hnp
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - checked in a subprocess by the tests
    raise ImportError(
        "analysis.strategies needs hypothesis, which is a test dependency of landscape-sandbox, "
        "not a runtime one: pip install \"landscape-sandbox[test]\" (or pip install hypothesis)"
    ) from exc

from models.multiwell import MultiWell
from models.normal_crossing import as_exponents
from models.quadratic import Quadratic
from models.spectra import GOE, BulkZerosOutliers, ShiftedWishart, Wishart, WishartPlusWigner
from models.validation import as_finite_array, check_positive, check_positive_int

__all__ = [
    "spectra",
    "spd_matrices",
    "standard_normals",
    "rotations",
    "quadratics",
    "multiwells",
    "normal_crossing_exponents",
    "symbolic_expressions",
    "SYMBOLIC_FORMS",
    "ENSEMBLE_KINDS",
    "ensembles",
    "MAX_SPD_CONDITION",
]

#: The ensembles of :mod:`models.spectra` that :func:`ensembles` can build, simplest first.
ENSEMBLE_KINDS = (GOE, Wishart, ShiftedWishart, WishartPlusWigner, BulkZerosOutliers)

#: Largest condition number :func:`spd_matrices` and :func:`multiwells` accept: the
#: matrix formed in floating point keeps its smallest eigenvalue to about d 2^-52 kappa.
MAX_SPD_CONDITION = 1e12

_QUANTILE_EDGE = 2.0**-53  # quantiles u are clipped to [edge, 1 - edge], so ppf stays finite


# --------------------------------------------------------------------------
# Spectra
# --------------------------------------------------------------------------


def spectra(d=st.integers(1, 6), *, low=None, high=None, condition=None, law=None, zeros=0, negatives=0,
            sort=False):
    r"""Eigenvalue vectors: log-uniform in a range, or quantiles of a law, with zeros and negatives.

    A spectrum of length d holds ``z`` exact zeros, ``m`` negative values and
    ``d - z - m`` positive ones. The ``d - z`` nonzero
    values come from one of two laws:

    * ``law=None`` (default): magnitudes log-uniform in [``low``, ``high``],
      :math:`|\lambda| = 10^{e}` with the exponent e a float drawn in
      :math:`[\log_{10} low, \log_{10} high]` (shrinking towards powers of
      ten). With ``condition=(c_min, c_max)`` the ratio of the largest to the
      smallest nonzero magnitude lies in [c_min, c_max]: the smallest is
      :math:`s = 10^a`, the largest :math:`s\kappa` with
      :math:`\kappa = 10^c \in [c_{min}, c_{max}]`, the others
      :math:`s\kappa^{t_i}`, :math:`t_i \in [0, 1]`.
    * ``law`` a frozen distribution with a vectorised ``ppf`` (for instance
      :func:`models.spectra.marchenko_pastur` or :func:`models.spectra.semicircle`,
      or any ``scipy.stats`` frozen law): values ``law.ppf(u)`` with u drawn
      in [0, 1] (clipped to [2^-53, 1 - 2^-53] so that ppf stays finite),
      which is inverse-CDF sampling when u is uniform. A Marchenko–Pastur law
      with ratio > 1 gives exact zeros for the quantiles inside its atom.

    The ``m`` negative values are values above with their sign flipped (with
    a ``law`` that has mass at or below 0, a flipped value may be 0 or
    positive). Drawn counts are capped at what d leaves: ``z <= d`` (``z <= d -
    2`` when the condition range excludes 1, which needs two nonzero values)
    and ``m <= d - z``. Unless ``sort=True`` the values come in an order that
    hypothesis draws (a permutation of the ascending order, shrinking
    towards it), so that a formula which assumes sorted input is caught.

    Parameters
    ----------
    d : int or strategy of int, optional
        Length of the spectrum, >= 1 (default ``st.integers(1, 6)``). When
        ``condition`` excludes 1, d = 1 is not drawn (an int d must be >= 2).
    low, high : float, optional
        Range of the nonzero magnitudes for the log-uniform law,
        0 < low <= high (default 1e-2 and 1e2). Not allowed with ``law``.
    condition : (float, float), optional
        Range [c_min, c_max] of max |lambda| / min |lambda| over the nonzero
        values, 1 <= c_min <= c_max and c_min <= high / low. Not allowed with
        ``law``. Default: no constraint beyond [low, high].
    law : frozen distribution, optional
        Any object with a vectorised ``ppf`` whose values are finite on
        [2^-53, 1 - 2^-53].
    zeros, negatives : int or strategy of int, optional
        Number of exact zeros and of negative values, >= 0 (default 0).
    sort : bool, optional
        Ascending order (default False: a drawn order).

    Returns
    -------
    strategy of ndarray, shape (d,)
        Float64 eigenvalues, finite.

    References
    ----------
    Inverse-CDF sampling: Devroye, *Non-Uniform Random Variate Generation*
    (1986), sec. II.2.

    Examples
    --------
    Saddles with one or two descending directions and a flat one:

    >>> from hypothesis import given, strategies as st
    >>> @given(spectra(d=st.integers(3, 8), negatives=st.integers(1, 2), zeros=1))
    ... def test_index(lam):
    ...     assert 1 <= np.sum(lam < 0) <= 2 and np.sum(lam == 0) == 1
    >>> test_index()

    Marchenko–Pastur spectra:

    >>> from models.spectra import marchenko_pastur
    >>> mp = marchenko_pastur(0.5)
    >>> @given(spectra(d=10, law=mp))
    ... def test_in_support(lam):
    ...     assert np.all((mp.lower <= lam) & (lam <= mp.upper))
    >>> test_in_support()
    """
    dims = _size_strategy(d, "d", minimum=1)
    zeros = _size_strategy(zeros, "zeros", minimum=0)
    negatives = _size_strategy(negatives, "negatives", minimum=0)
    if law is not None:
        if low is not None or high is not None or condition is not None:
            raise ValueError("low, high and condition apply to the log-uniform law; "
                             f"leave them out when law is given (law={law!r})")
        if not callable(getattr(law, "ppf", None)):
            raise ValueError(f"law must be a frozen distribution with a ppf method, got {law!r}")
        return _spectra(dims, zeros, negatives, None, law, 0, bool(sort))
    magnitudes = _magnitude_range(low, high, condition)
    need = _nonzero_needed(magnitudes[2])
    return _spectra(_at_least(d, dims, need, condition), zeros, negatives, magnitudes, None, need, bool(sort))


@st.composite
def _spectra(draw, dims, zeros, negatives, magnitudes, law, need, sort):
    n = draw(dims)
    n_zero = min(draw(zeros), n - need)
    k = n - n_zero
    n_negative = min(draw(negatives), k)
    if law is None:
        values = _draw_magnitudes(draw, k, *magnitudes)
    else:
        u = draw(hnp.arrays(np.float64, k, elements=st.floats(0.0, 1.0)))
        values = np.array(law.ppf(np.clip(u, _QUANTILE_EDGE, 1.0 - _QUANTILE_EDGE)), dtype=float).reshape(k)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"law.ppf must be finite on [2**-53, 1 - 2**-53]; {law!r} gave {values.tolist()}")
    values[:n_negative] *= -1.0
    ascending = np.sort(np.concatenate([values, np.zeros(n_zero)])) + 0.0  # + 0.0 turns -0.0 into 0.0
    return ascending if sort else ascending[draw(st.permutations(range(n)))]


def _magnitude_range(low, high, condition):
    """Validated (low, high, condition or None) of the log-uniform law."""
    low = 1e-2 if low is None else check_positive(low, "low")
    high = 1e2 if high is None else check_positive(high, "high")
    if not low <= high:
        raise ValueError(f"high must be >= low, got low={low} and high={high}")
    if condition is None:
        return low, high, None
    c = as_finite_array(condition, "condition", shape=(2,))
    c_min, c_max = float(c[0]), float(c[1])
    if not 1.0 <= c_min <= c_max:
        raise ValueError(f"condition must be a range (c_min, c_max) with 1 <= c_min <= c_max, got {c.tolist()}")
    if c_min > high / low:
        raise ValueError(f"condition's lower end must be <= high / low = {high / low:.6g} "
                         f"(low={low}, high={high}), got {c_min}")
    return low, high, (c_min, c_max)


def _nonzero_needed(condition):
    """Nonzero values a spectrum needs: 2 when the condition range excludes 1, else 0."""
    return 2 if condition is not None and condition[0] > 1 else 0


def _at_least(d, dims, need, condition):
    """``dims`` without sizes below ``need`` (filtered if drawn, refused if given)."""
    if not need:
        return dims
    if isinstance(d, st.SearchStrategy):
        return dims.filter(lambda n: n >= need)
    if d < need:
        raise ValueError(f"d must be >= {need} when condition excludes 1, got d={d} and condition={condition!r}")
    return dims


def _draw_magnitudes(draw, k, low, high, condition):
    """k magnitudes in [low, high], log-uniform, with max/min in the condition range."""
    la, lb = math.log10(low), math.log10(high)
    if condition is None or k < 2:  # k < 2 only when the range holds 1 (see spectra)
        e = draw(hnp.arrays(np.float64, k, elements=st.floats(la, lb)))
        return np.clip(10.0**e, low, high)
    c_min, c_max = condition
    lc_min, lc_max = math.log10(c_min), math.log10(c_max)
    a = draw(st.floats(la, max(la, lb - lc_min)))
    c = draw(st.floats(lc_min, max(lc_min, min(lc_max, lb - a))))
    smallest = min(max(10.0**a, low), high)
    kappa = min(max(10.0**c, c_min), c_max)
    largest = min(smallest * kappa, high)
    t = draw(hnp.arrays(np.float64, k - 2, elements=st.floats(0.0, 1.0)))
    inner = np.clip(smallest * kappa**t, smallest, largest)
    values = np.concatenate([[smallest, largest], inner])
    return values[draw(st.permutations(range(k)))]  # so that negatives can fall on any of them


# --------------------------------------------------------------------------
# Gaussians and rotations
# --------------------------------------------------------------------------


def standard_normals(shape):
    r"""Arrays of standard-normal values that shrink towards 0.

    Each entry is :math:`\sqrt2\,\operatorname{erfinv}(v)` with v a float
    drawn in the open interval (-1, 1): the inverse CDF of N(0, 1) at
    (1 + v) / 2, so the entries are i.i.d. N(0, 1) when v is uniform. Every
    entry is finite (absolute value below 8.3). This is the input of
    :meth:`models.spectra.Ensemble.from_gaussian`.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the array.

    Returns
    -------
    strategy of ndarray of float64

    Examples
    --------
    >>> from hypothesis import given
    >>> from models.spectra import GOE
    >>> @given(standard_normals(GOE(4).n_gaussian))
    ... def test_goe_is_symmetric(z):
    ...     h = GOE(4).from_gaussian(z)
    ...     assert np.array_equal(h, h.T)
    >>> test_goe_is_symmetric()
    """
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    for s in shape:
        check_positive_int(s, "shape", minimum=0)
    return hnp.arrays(np.float64, shape, elements=st.floats(-1.0, 1.0, exclude_min=True, exclude_max=True)).map(
        _normal_quantile)


def _normal_quantile(v):
    return math.sqrt(2.0) * scipy.special.erfinv(v)


def rotations(d=st.integers(1, 6), *, proper=False):
    r"""Orthogonal d x d matrices: the Q factor of a Gaussian matrix, with Mezzadri's sign fix.

    :math:`G = QR` with G drawn by :func:`standard_normals`, and the columns
    of Q multiplied by sign(diag R) (a zero diagonal entry counts as +), so
    that Q is Haar-distributed on O(d) when G is Gaussian (Mezzadri 2007,
    "How to generate random matrices from the classical compact groups",
    Notices AMS 54:592). The zero matrix, to which G shrinks, gives the
    identity, and so does any upper-triangular G with a diagonal >= 0 (with
    negative diagonal entries Q is the diagonal matrix of their signs).
    ``proper=True`` flips the last column when det Q = -1, which maps Haar on
    O(d) to Haar on SO(d). Q is orthogonal to rounding (the entries of
    Q^T Q - I are about 1e-15), well inside the tolerance of
    :class:`models.Quadratic`.

    Parameters
    ----------
    d : int or strategy of int, optional
        Size, >= 1 (default ``st.integers(1, 6)``).
    proper : bool, optional
        Only rotations with det +1 (default False: all of O(d), like
        :func:`models.random_rotation`).

    Returns
    -------
    strategy of ndarray, shape (d, d)

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(rotations(3, proper=True))
    ... def test_det(q):
    ...     assert abs(np.linalg.det(q) - 1.0) < 1e-12
    >>> test_det()
    """
    return _rotations(_size_strategy(d, "d", minimum=1), bool(proper))


@st.composite
def _rotations(draw, dims, proper):
    n = draw(dims)
    q = _rotation_from_gaussian(draw(standard_normals((n, n))))
    if proper and np.linalg.det(q) < 0:
        q[:, -1] *= -1.0
    return q


def _rotation_from_gaussian(g):
    q, r = np.linalg.qr(g)
    return q * np.where(np.diag(r) < 0, -1.0, 1.0) + 0.0  # + 0.0 turns -0.0 into 0.0


def spd_matrices(d=st.integers(1, 6), *, low=1e-2, high=1e2, condition=None):
    r"""Symmetric positive definite matrices :math:`Q\operatorname{diag}(\lambda)Q^T` with bounded spectrum.

    :math:`\lambda` is drawn by :func:`spectra` (log-uniform in [low, high],
    condition number max/min in ``condition``) and Q by :func:`rotations`;
    the result is symmetrised exactly. The eigenvalues and condition number
    of the matrix as formed in floating point match the drawn ones to a
    relative error of about :math:`d\,2^{-52}\kappa`, which is why condition
    numbers above ``MAX_SPD_CONDITION`` (1e12) are refused.

    Parameters
    ----------
    d : int or strategy of int, optional
        Size, >= 1 (default ``st.integers(1, 6)``).
    low, high : float, optional
        Range of the eigenvalues, 0 < low <= high (default 1e-2, 1e2).
    condition : (float, float), optional
        Range of the condition number lambda_max / lambda_min (see
        :func:`spectra`); default: anything in [1, high / low].

    Returns
    -------
    strategy of ndarray, shape (d, d)

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(spd_matrices(4, condition=(10.0, 100.0)))
    ... def test_condition(h):
    ...     assert 10.0 * (1 - 1e-9) <= np.linalg.cond(h) <= 100.0 * (1 + 1e-9)
    >>> test_condition()
    """
    eigenvalues = spectra(d, low=low, high=high, condition=condition, sort=True)
    _check_spd_condition(*_magnitude_range(low, high, condition))
    return _spd_matrices(eigenvalues)


def _check_spd_condition(low, high, condition):
    top = high / low
    if condition is not None:
        top = min(top, float(condition[1]))
    if top > MAX_SPD_CONDITION:
        raise ValueError(f"condition numbers up to {top:.6g} were asked for (low={low}, high={high}, "
                         f"condition={condition!r}); at most {MAX_SPD_CONDITION:.0e} is allowed")


@st.composite
def _spd_matrices(draw, eigenvalues):
    lam = draw(eigenvalues)
    q = draw(rotations(lam.size))
    h = (q * lam) @ q.T
    return 0.5 * (h + h.T)


# --------------------------------------------------------------------------
# Landscapes
# --------------------------------------------------------------------------


def quadratics(eigenvalues=None, *, rotated=None, centered=None, center_scale=1.0):
    r"""Quadratic landscapes :math:`L(x) = \frac12 (x-c)^T Q\operatorname{diag}(\lambda)Q^T(x-c)`.

    Parameters
    ----------
    eigenvalues : strategy of 1-d arrays, or array_like, optional
        The spectrum (its length is d). Default :func:`spectra` with its
        defaults: positive, d in 1..6, so a minimum; pass
        ``spectra(negatives=...)`` for saddles, ``spectra(zeros=...)`` for flat
        directions.
    rotated : bool, optional
        True: Q from :func:`rotations`; False: diagonal (Q = I, stored as
        None); None (default): either, shrinking to diagonal.
    centered : bool, optional
        True: center c with entries drawn in [-center_scale, center_scale];
        False: c = 0; None (default): either, shrinking to c = 0.
    center_scale : float, optional
        Bound on the entries of c, > 0 (default 1).

    Returns
    -------
    strategy of :class:`models.Quadratic`

    Examples
    --------
    >>> from hypothesis import given, strategies as st
    >>> @given(quadratics(rotated=True), st.floats(-3.0, 3.0))
    ... def test_value_along_an_eigenvector(q, t):
    ...     x = q.center + t * q.rotation[:, 0]
    ...     assert np.isclose(q.value(x), 0.5 * q.eigenvalues[0] * t * t, rtol=1e-9, atol=1e-12)
    >>> test_value_along_an_eigenvector()
    """
    if eigenvalues is None:
        eigenvalues = spectra()
    elif not isinstance(eigenvalues, st.SearchStrategy):
        eigenvalues = st.just(Quadratic(eigenvalues).eigenvalues)
    return _quadratics(eigenvalues, _flag_strategy(rotated, "rotated"), _flag_strategy(centered, "centered"),
                       check_positive(center_scale, "center_scale"))


@st.composite
def _quadratics(draw, eigenvalues, rotated, centered, center_scale):
    lam = np.asarray(draw(eigenvalues), dtype=float)
    rotation = draw(rotations(lam.size)) if draw(rotated) else None
    center = draw(_box_points(lam.size, -center_scale, center_scale)) if draw(centered) else None
    return Quadratic(lam, rotation=rotation, center=center)


def multiwells(d=st.integers(1, 4), n_wells=st.integers(1, 4), *, low=1e-1, high=1e1, condition=None,
               spread=3.0, depths=(-1.0, 1.0)):
    r"""Multi-well landscapes :math:`L(x) = \min_k [\,\mathrm{depth}_k + \frac12 (x-c_k)^T H_k (x-c_k)]`.

    Each well Hessian is drawn by :func:`spd_matrices` (so every well is a
    minimum), each center has entries in [-spread, spread] and each depth lies
    in ``depths``. Centers may coincide (they shrink towards 0); the
    landscape is valid all the same.

    Parameters
    ----------
    d : int or strategy of int, optional
        Dimension, >= 1 (default ``st.integers(1, 4)``).
    n_wells : int or strategy of int, optional
        Number of wells K, >= 1 (default ``st.integers(1, 4)``).
    low, high, condition : optional
        Eigenvalue and condition-number ranges of each H_k, as in
        :func:`spd_matrices` (default eigenvalues in [0.1, 10]).
    spread : float, optional
        Bound on the center coordinates, > 0 (default 3).
    depths : (float, float), optional
        Range of the depths, finite, low <= high (default (-1, 1)).

    Returns
    -------
    strategy of :class:`models.MultiWell`

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(multiwells())
    ... def test_lowest_minimum(w):
    ...     assert np.isclose(w.value(w.centers).min(), w.depths.min(), rtol=0, atol=1e-12)
    >>> test_lowest_minimum()
    """
    dims = _size_strategy(d, "d", minimum=1)
    wells = _size_strategy(n_wells, "n_wells", minimum=1)
    checked = _magnitude_range(low, high, condition)
    _check_spd_condition(*checked)
    dims = _at_least(d, dims, _nonzero_needed(checked[2]), condition)
    spread = check_positive(spread, "spread")
    r = as_finite_array(depths, "depths", shape=(2,))
    if not r[0] <= r[1]:
        raise ValueError(f"depths must be a range (low, high) with low <= high, got {r.tolist()}")
    return _multiwells(dims, wells, dict(low=low, high=high, condition=condition), spread, (float(r[0]), float(r[1])))


@st.composite
def _multiwells(draw, dims, wells, spd_options, spread, depth_range):
    n = draw(dims)
    k = draw(wells)
    hessians = np.stack([draw(spd_matrices(n, **spd_options)) for _ in range(k)])
    centers = draw(_box_points((k, n), -spread, spread))
    depths = draw(_box_points(k, *depth_range))
    return MultiWell(centers, hessians, depths=depths)


def normal_crossing_exponents(d=st.integers(1, 4), *, max_exponent=4):
    r"""Exponent lists :math:`(k_1, \dots, k_d)` of a normal crossing :math:`\prod_i w_i^{2k_i}`.

    Integers in [1, ``max_exponent``], as :func:`models.normal_crossing.as_exponents`
    and :class:`models.NormalCrossing` accept; they shrink towards [1], the
    regular minimum w^2.

    Parameters
    ----------
    d : int or strategy of int, optional
        Number of exponents, >= 1 (default ``st.integers(1, 4)``).
    max_exponent : int, optional
        Largest exponent, 1 <= max_exponent <= 2**30 (default 4).

    Returns
    -------
    strategy of list of int

    Examples
    --------
    >>> from hypothesis import given
    >>> from analysis.volume import normal_crossing_rlct
    >>> @given(normal_crossing_exponents())
    ... def test_rlct_at_most_one_half(k):
    ...     assert normal_crossing_rlct(k).lam <= 0.5
    >>> test_rlct_at_most_one_half()
    """
    dims = _size_strategy(d, "d", minimum=1)
    top = check_positive_int(max_exponent, "max_exponent")
    as_exponents([top], "max_exponent")
    return dims.flatmap(lambda n: st.lists(st.integers(1, top), min_size=n, max_size=n))


#: Forms f(u) of a linear form u that are real and smooth-enough for every real u (Abs: a kink at 0).
SYMBOLIC_FORMS = ("({u})**{k}", "exp({u})", "sin({u})", "cos({u})", "tanh({u})", "atan({u})", "erf({u})",
                  "log(1 + ({u})**2)", "sqrt(1 + ({u})**2)", "1/(1 + ({u})**2)", "cosh({u})", "Abs({u})")


def symbolic_expressions(variables=("x", "y"), parameters=(), *, max_terms=4, max_factors=2, forms=SYMBOLIC_FORMS):
    r"""Loss strings in given variables that the whitelist parser of :class:`models.Symbolic` accepts.

    Each string is a sum of 1 to ``max_terms`` terms ``c * f_1(u_1) * ... * f_m(u_m)``
    (m <= ``max_factors``): c is a small number or one of ``parameters``,
    each f is one of ``forms`` (powers ``u**k`` with k = 1..4, exp, sin, cos,
    tanh, atan, erf, log(1 + u^2), sqrt(1 + u^2), 1/(1 + u^2), cosh, Abs),
    and each u = a . x + b a linear form with integer coefficients in
    [-2, 2] over one or two variables. Every form is real for every real u,
    so the loss is real everywhere and finite for |x_i| up to about 10
    (exp(u) and cosh(u) of |u| <= 50). Strings shrink towards one term
    ``1.0*(x)**1``.

    Parameters
    ----------
    variables, parameters : sequence of str
        Declared names (identifiers), as passed to ``models.Symbolic``.
    max_terms, max_factors : int
        Size limits (>= 1).
    forms : sequence of str
        Templates with ``{u}`` (and ``{k}`` for the power), a subset of
        :data:`SYMBOLIC_FORMS` or the user's own whitelisted ones.

    Returns
    -------
    strategy of str

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from models.expression import parse_expression
    >>> @settings(max_examples=20)
    ... @given(symbolic_expressions(["x", "y"], ["a"]))
    ... def test_parses(text):
    ...     assert parse_expression(text, ["x", "y"], ["a"]).free_symbols
    >>> test_parses()
    """
    variables, parameters = list(variables), list(parameters)
    if not variables:
        raise ValueError("variables must name at least one variable")
    from models.expression import check_names

    check_names(variables, parameters)
    max_terms = check_positive_int(max_terms, "max_terms")
    max_factors = check_positive_int(max_factors, "max_factors")
    forms = list(forms)
    if not forms or not all(isinstance(f, str) and "{u}" in f for f in forms):
        raise ValueError(f"forms must be templates containing '{{u}}', got {forms!r}")
    coefficient = st.sampled_from(["1.0", "2.0", "0.5", "-1.0", "3.0", "-0.25"] + parameters)
    linear = st.lists(st.tuples(st.sampled_from(variables), st.integers(-2, 2).filter(bool)), min_size=1,
                      max_size=min(2, len(variables)), unique_by=lambda t: t[0])
    factor = st.tuples(st.sampled_from(forms), linear, st.sampled_from(["", " + 1", " - 0.5"]), st.integers(1, 4))
    term = st.tuples(coefficient, st.lists(factor, min_size=1, max_size=max_factors))
    return st.lists(term, min_size=1, max_size=max_terms).map(_format_expression)


def _format_expression(terms):
    parts = []
    for c, factors in terms:
        printed = []
        for form, linear, shift, k in factors:
            u = " + ".join(f"{a}*{name}" if a != 1 else name for name, a in linear) + shift
            printed.append(form.format(u=u, k=k))
        parts.append(f"{c}*" + "*".join(printed))
    return " + ".join(parts)


# --------------------------------------------------------------------------
# Random-matrix ensembles
# --------------------------------------------------------------------------


def ensembles(d=st.integers(1, 6), *, n=st.integers(1, 12), kinds=ENSEMBLE_KINDS):
    r"""Random-matrix ensembles of :mod:`models.spectra` with valid parameters.

    The kind is drawn from ``kinds`` (shrinking to the first), d from ``d``,
    the number of rows of the Wishart part from ``n``; variances, the
    Wigner scale and the outlier scale are log-uniform (variance and Wigner
    scale in [0.1, 10], outlier scale in [0.1, 100]), shifts lie in [-2, 2],
    and for :class:`~models.spectra.BulkZerosOutliers` the number of zeros
    ``n_zero`` in [0, d - 1] (``zero_fraction = n_zero / d``), the number of
    outliers in [0, d - n_zero] and the bulk ratio log-uniform in [0.01, 1].
    A matrix of the ensemble is ``ens.from_gaussian(z)`` with ``z`` from
    :func:`standard_normals` (``ens.n_gaussian`` values).

    Parameters
    ----------
    d : int or strategy of int, optional
        Matrix size, >= 1 (default ``st.integers(1, 6)``).
    n : int or strategy of int, optional
        Rows of X in the Wishart-based kinds, >= 1 (default ``st.integers(1, 12)``).
    kinds : sequence of classes, optional
        A non-empty subset of ``ENSEMBLE_KINDS`` (default all of them).

    Returns
    -------
    strategy of :class:`models.spectra.Ensemble`

    Examples
    --------
    >>> from hypothesis import given, strategies as st
    >>> @given(ensembles().flatmap(lambda e: st.tuples(st.just(e), standard_normals(e.n_gaussian))))
    ... def test_symmetric(case):
    ...     ens, z = case
    ...     h = ens.from_gaussian(z)
    ...     assert h.shape == (ens.dim, ens.dim) and np.array_equal(h, h.T)
    >>> test_symmetric()
    """
    dims = _size_strategy(d, "d", minimum=1)
    rows = _size_strategy(n, "n", minimum=1)
    try:
        kinds = tuple(kinds)
    except TypeError:
        raise ValueError(f"kinds must be a sequence of ensemble classes, got {kinds!r}") from None
    unknown = [k for k in kinds if k not in ENSEMBLE_KINDS]
    if not kinds or unknown:
        names = ", ".join(k.__name__ for k in ENSEMBLE_KINDS)
        raise ValueError(f"kinds must be a non-empty subset of ({names}), got {kinds!r}")
    return _ensembles(dims, rows, kinds)


@st.composite
def _ensembles(draw, dims, rows, kinds):
    kind = draw(st.sampled_from(kinds))
    d = draw(dims)
    if kind is GOE:
        return GOE(d)
    if kind is BulkZerosOutliers:
        n_zero = draw(st.integers(0, d - 1))
        return BulkZerosOutliers(
            d, zero_fraction=n_zero / d, n_outliers=draw(st.integers(0, d - n_zero)),
            outlier_scale=draw(_log_uniform(0.1, 100.0)), bulk_ratio=draw(_log_uniform(0.01, 1.0)),
            bulk_variance=draw(_log_uniform(0.1, 10.0)),
        )
    n = draw(rows)
    variance = draw(_log_uniform(0.1, 10.0))
    if kind is Wishart:
        return Wishart(n, d, variance=variance)
    shift = draw(st.floats(-2.0, 2.0))
    if kind is ShiftedWishart:
        return ShiftedWishart(n, d, shift, variance=variance)
    return WishartPlusWigner(n, d, variance=variance, wigner_scale=draw(_log_uniform(0.1, 10.0)), shift=shift)


# --------------------------------------------------------------------------
# Small private helpers
# --------------------------------------------------------------------------


def _size_strategy(value, name, *, minimum):
    """A strategy of ints: ``value`` itself if it is one, else ``st.just`` of the validated int."""
    if isinstance(value, st.SearchStrategy):
        return value
    return st.just(check_positive_int(value, name, minimum=minimum))


def _flag_strategy(value, name):
    if value is None:
        return st.booleans()
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True, False or None, got {value!r}")
    return st.just(bool(value))


def _log_uniform(low, high):
    """Floats 10**e, e drawn in [log10 low, log10 high]: shrink towards powers of ten."""
    return st.floats(math.log10(low), math.log10(high)).map(lambda e: min(max(10.0**e, low), high))


def _box_points(shape, low, high):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high))
