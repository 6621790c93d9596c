"""Named analytic landscapes: thin constructors over :class:`models.symbolic.Symbolic`.

Each docstring lists the landscape's critical points with their Hessians,
the reference values that closed forms (Laplace occupancy, Eyring–Kramers
rates, barrier heights) are computed from. Named constants are runtime
parameters, so ``landscape.with_parameters(...)`` never recompiles.
"""
from models.symbolic import Symbolic
from models.validation import check_positive_int

__all__ = ["double_well", "skewed_double_well", "entropic_double_well", "symmetric_double_well", "mueller_brown", "two_layer_scalar",
           "deep_scalar", "rosenbrock"]


def double_well(a=1.0, c=0.0):
    """The 1-d double well U(x) = (x^2 - a^2)^2 + c x.

    With c = 0: minima x = -a, a with U = 0 and U'' = 8 a^2; a saddle (local
    maximum) at x = 0 with U = a^4 and U'' = -4 a^2. A tilt c != 0 makes the
    wells unequal (for small c the minima move to about -+a - c / (8 a^2) and
    their depths to -+ c a); the stationary law exp(-U/T)/Z is then the usual
    test of a sampler's occupancy of the two wells.

    Parameters
    ----------
    a, c : float
        Half the distance between the minima, and the tilt (runtime parameters).

    Examples
    --------
    >>> w = double_well()
    >>> w.value([0.0]), w.value([1.0])
    (1.0, 0.0)
    """
    return Symbolic("(x**2 - a**2)**2 + c*x", ["x"], parameters={"a": a, "c": c}, name="double_well")


def skewed_double_well(b=1.8202534122391687):
    """U(x) = (x^2 - 1)^2 exp(b tanh x): equal depths, unequal curvatures, an off-centre barrier.

    Minima x = -1 and x = 1 with U = 0 and U'' = 8 exp(-+b tanh 1): the
    default b = ln(16) / (2 tanh 1) makes them 2 (flat, left) and 32 (sharp,
    right), so Laplace's occupancy ratio is flat : sharp = sqrt(32 / 2) = 4.
    The barrier is the root x* of 4 x + b (x^2 - 1) sech^2 x = 0 in (0, 1),
    x* = 0.352717 with U(x*) = 1.420427 for the default b. The basins of
    attraction of gradient flow are (-inf, x*) and (x*, inf); from starts
    uniform on [-1.25, 2.75] the sharp minimum's basin holds the share
    (2.75 - x*) / 4 = 0.599, against its Laplace (volume) share
    1 / (1 + 4) = 0.2 (claim C5). For 0 < b < 4 these are the only
    critical points, and U grows like x^4 (curvature about 500 at x = 2.75:
    keep steps below 2 / 500 there).

    Examples
    --------
    >>> w = skewed_double_well()
    >>> [round(float(w.hessian([s])[0, 0]), 9) for s in (-1.0, 1.0)]
    [2.0, 32.0]
    """
    return Symbolic("(x**2 - 1)**2*exp(b*tanh(x))", ["x"], parameters={"b": b}, name="skewed_double_well")


def entropic_double_well(a=0.6931471805599453):
    """U(x, y) = (x^2 - 1)^2 + exp(a x) y^2 / 2: two wells of equal depth and unequal width.

    Minima (-1, 0) and (1, 0), U = 0, Hessians diag(8, exp(-a)) and
    diag(8, exp(a)): the left well is wider in y by sqrt(exp(a) / exp(-a))
    = exp(a) and, at low temperature, holds exp(a) times the probability of
    the right one (Laplace: P_i proportional to det(H_i)^(-1/2)). Saddle
    (0, 0), U = 1, Hessian diag(-4, 1). The default a = ln 2 gives the
    ratio 2.

    Examples
    --------
    >>> entropic_double_well().hessian([1.0, 0.0]).round(12).tolist()
    [[8.0, 0.0], [0.0, 2.0]]
    """
    return Symbolic("(x**2 - 1)**2 + exp(a*x)*y**2/2", ["x", "y"], parameters={"a": a},
                    name="entropic_double_well")


def symmetric_double_well():
    """U(x, y) = (x^2 - 1)^2 + (1 + x^2) y^2 / 2.

    Minima (-1, 0) and (1, 0), U = 0, Hessian diag(8, 2) at both; saddle
    (0, 0), U = 1, Hessian diag(-4, 1). By symmetry the two wells are equally
    occupied and the rates both ways are equal; the transverse curvature
    differs between minima (2) and saddle (1), which the Eyring–Kramers
    prefactor sqrt(det H_min / |det H_saddle|) = sqrt(16 / 4) = 2 sees.
    """
    return Symbolic("(x**2 - 1)**2 + (1 + x**2)*y**2/2", ["x", "y"], name="symmetric_double_well")


_MB = {"A": (-200.0, -100.0, -170.0, 15.0), "a": (-1.0, -1.0, -6.5, 0.7), "b": (0.0, 0.0, 11.0, 0.6),
       "c": (-10.0, -10.0, -6.5, 0.7), "x0": (1.0, 0.0, -0.5, -1.0), "y0": (0.0, 0.5, 1.5, 1.0)}


def mueller_brown(scale=1.0):
    """The Müller–Brown potential (Müller & Brown 1979, Theor. Chim. Acta 53:75), times ``scale``.

    V(x, y) = scale sum_{k=1}^4 A_k exp(a_k (x - x0_k)^2 + b_k (x - x0_k)(y - y0_k) + c_k (y - y0_k)^2)

    with A = (-200, -100, -170, 15), a = (-1, -1, -6.5, 0.7),
    b = (0, 0, 11, 0.6), c = (-10, -10, -6.5, 0.7), x0 = (1, 0, -0.5, -1),
    y0 = (0, 0.5, 1.5, 1). Critical points (scale = 1):

    ===================  ==================  =========
    kind                 (x, y)              V
    ===================  ==================  =========
    minimum A            (-0.5582, 1.4417)   -146.6995
    minimum B            (0.6235, 0.0280)    -108.1667
    minimum C            (-0.0500, 0.4667)   -80.7678
    saddle A-C           (-0.8220, 0.6243)   -40.6648
    saddle C-B           (0.2125, 0.2930)    -72.2489
    ===================  ==================  =========

    Examples
    --------
    >>> round(mueller_brown().value([-0.558224, 1.441726]), 3)
    -146.7
    """
    terms = []
    for k in range(4):
        A, a, b, c, x0, y0 = (_MB[n][k] for n in ("A", "a", "b", "c", "x0", "y0"))
        u, v = f"(x - ({x0}))", f"(y - ({y0}))"
        terms.append(f"({A})*exp(({a})*{u}**2 + ({b})*{u}*{v} + ({c})*{v}**2)")
    return Symbolic(f"scale*({' + '.join(terms)})", ["x", "y"], parameters={"scale": scale}, name="mueller_brown")


def two_layer_scalar(y=1.0):
    """The scalar two-layer linear model L(u, v) = 1/2 (u v - y)^2.

    The minima form the hyperbola u v = y (a manifold of minima, not isolated
    points); along it the Hessian is [[v^2, u v], [u v, u^2]] with eigenvalues
    0 and u^2 + v^2, so the sharpness tr H = u^2 + v^2 is smallest, 2|y|, at
    |u| = |v|. The origin is a saddle with L = y^2/2 and eigenvalues -+y.
    Gradient flow conserves u^2 - v^2.

    Examples
    --------
    >>> two_layer_scalar().value([2.0, 0.5])
    0.0
    """
    return Symbolic("(u*v - y)**2/2", ["u", "v"], parameters={"y": y}, name="two_layer_scalar")


def deep_scalar(depth=3, y=1.0):
    """The depth-k scalar linear network L(w) = 1/2 (w_1 w_2 ... w_k - y)^2.

    Minima: the hypersurface prod_i w_i = y; the origin is a critical point
    with L = y^2 / 2 that is degenerate of order k - 2 for k >= 3 (its Hessian
    vanishes there). Gradient flow conserves w_i^2 - w_j^2 for every pair.

    Examples
    --------
    >>> deep_scalar(3).value([1.0, 2.0, 0.5])
    0.0
    """
    depth = check_positive_int(depth, "depth", minimum=2)
    names = [f"w{i + 1}" for i in range(depth)]
    return Symbolic(f"({'*'.join(names)} - y)**2/2", names, parameters={"y": y}, name=f"deep_scalar({depth})")


def rosenbrock(dim=2, a=1.0, b=100.0):
    """Rosenbrock's function sum_{i<d} [b (x_{i+1} - x_i^2)^2 + (a - x_i)^2] (Rosenbrock 1960).

    Global minimum L = 0 at (a, a^2) for d = 2 and at (1, ..., 1) for a = 1
    in any d (for d > 2 and a != 1 there is no point with L = 0); at (1, 1) with b = 100 the
    Hessian is [[802, -400], [-400, 200]] (condition number about 2500), the
    curved narrow valley that makes GD slow. For 4 <= d <= 7 there is also a
    local minimum near (-1, 1, ..., 1).

    Examples
    --------
    >>> rosenbrock().value([1.0, 1.0])
    0.0
    """
    dim = check_positive_int(dim, "dim", minimum=2)
    names = [f"x{i}" for i in range(dim)]
    terms = [f"b*({names[i + 1]} - {names[i]}**2)**2 + (a - {names[i]})**2" for i in range(dim - 1)]
    return Symbolic(" + ".join(terms), names, parameters={"a": a, "b": b}, name=f"rosenbrock(d={dim})")
