"""Tests of analysis.escape against the backward equation, independent solvers, limits and simulation."""
import math
import os

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad, solve_bvp
from scipy.special import dawsn, erfc

from analysis.escape import saddle_exit_time_small_t, saddle_exit_time_variance, saddle_mean_exit_time
from analysis.stats import mean_estimate, variance_estimate

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240601"))
SIG = 5.0  # tolerance of simulation checks, in standard errors
FAST = settings(max_examples=40, deadline=None)

curvatures = st.floats(min_value=1e-2, max_value=1e2)
radii = st.floats(min_value=1e-2, max_value=1e2)
# mu r^2 / T, the one dimensionless group besides x0 / r, over a range quad handles in all regimes
groups = st.floats(min_value=1e-3, max_value=1e6)
fractions = st.floats(min_value=-0.99, max_value=0.99)  # x0 / r

MODERATE = [  # (mu, r, T, x0) with mu r^2 / (2T) <= 20, where the direct solvers below are accurate
    (1.0, 1.0, 0.1, 0.0),
    (1.0, 1.0, 0.1, 0.5),
    (2.0, 0.5, 0.05, -0.3),
    (0.3, 2.0, 1.0, 1.5),
    (5.0, 1.0, 2.0, 0.0),
    (1.0, 3.0, 0.25, -2.0),
]


def _temperature(mu, r, group):
    return mu * r * r / group


def _bvp_moments(mu, r, temperature, x_eval):
    """Mean and second moment of the exit time by solve_bvp on the coupled backward equations."""
    def rhs(x, y):
        u1, p1, u2, p2 = y
        return np.vstack([p1, (-1.0 - mu * x * p1) / temperature, p2, (-2.0 * u1 - mu * x * p2) / temperature])

    def bc(ya, yb):
        return np.array([ya[0], yb[0], ya[2], yb[2]])

    x = np.linspace(-r, r, 51)
    guess = np.vstack([(r * r - x * x) / (2 * temperature), -x / temperature,
                       (r * r - x * x) ** 2 / (4 * temperature**2), -x * (r * r - x * x) / temperature**2])
    sol = solve_bvp(rhs, bc, x, guess, tol=1e-8, max_nodes=100000)
    assert sol.success, sol.message
    u1, _, u2, _ = sol.sol(x_eval)
    return float(u1), float(u2)


def _green_function_mean(mu, r, temperature, x0):
    """tau(x0) = int G(x0, y) m(y) dy with scale S and speed m (Karlin & Taylor 15.3), no symmetry used."""
    k = math.sqrt(mu / (2 * temperature))
    unit = math.sqrt(math.pi) / (2 * k)

    def above_lower(y):  # S(y) - S(-r), S(x) = int_0^x exp(-mu z^2 / (2T)) dz, written without cancellation
        return unit * (erfc(-k * y) - erfc(k * r))

    def below_upper(y):  # S(r) - S(y)
        return unit * (erfc(k * y) - erfc(k * r))

    def speed(y):
        return math.exp(k * k * y * y) / temperature

    total = above_lower(r)
    left = quad(lambda y: above_lower(y) * speed(y), -r, x0, epsabs=0, epsrel=1e-12, limit=200)[0]
    right = quad(lambda y: below_upper(y) * speed(y), x0, r, epsabs=0, epsrel=1e-12, limit=200)[0]
    return (below_upper(x0) * left + above_lower(x0) * right) / total


# --- the mean exit time solves its boundary value problem ---------------------------------------

@pytest.mark.parametrize("mu, r, temperature", [(1.0, 1.0, 0.1), (0.5, 2.0, 1.0), (3.0, 0.7, 0.01)])
def test_mean_exit_time_satisfies_backward_equation_by_finite_differences(mu, r, temperature):
    h = 1e-3 * r
    for x in np.linspace(-0.9 * r, 0.9 * r, 7):
        u = [saddle_mean_exit_time(mu, r, temperature, x0=x + j * h) for j in (-2, -1, 0, 1, 2)]
        d1 = (u[0] - 8 * u[1] + 8 * u[3] - u[4]) / (12 * h)
        d2 = (-u[0] + 16 * u[1] - 30 * u[2] + 16 * u[3] - u[4]) / (12 * h * h)
        assert temperature * d2 + mu * x * d1 == pytest.approx(-1.0, abs=1e-5)


@pytest.mark.parametrize("mu, r, temperature", [(1.0, 1.0, 0.1), (0.5, 2.0, 1.0), (3.0, 0.7, 0.01)])
def test_mean_exit_time_vanishes_at_the_boundary_with_the_dawson_slope(mu, r, temperature):
    # u(+-(r - h)) = h * |u'(r)| + O(h^2), with u'(r) = -F(a) / (T k), a = k r, k = sqrt(mu / (2T)).
    k = math.sqrt(mu / (2 * temperature))
    slope = dawsn(k * r) / (temperature * k)
    for h in (1e-6 * r, 1e-9 * r):
        for sign in (-1.0, 1.0):
            u = saddle_mean_exit_time(mu, r, temperature, x0=sign * (r - h))
            assert u == pytest.approx(h * slope, rel=10 * h / r * (1 + mu * r * r / temperature))


@pytest.mark.parametrize("mu, r, temperature, x0", MODERATE)
def test_mean_exit_time_matches_bvp_solution(mu, r, temperature, x0):
    u1, _ = _bvp_moments(mu, r, temperature, x0)
    assert saddle_mean_exit_time(mu, r, temperature, x0=x0) == pytest.approx(u1, rel=1e-9)


@pytest.mark.parametrize("mu, r, temperature, x0", MODERATE)
def test_mean_exit_time_matches_green_function_quadrature(mu, r, temperature, x0):
    expected = _green_function_mean(mu, r, temperature, x0)
    assert saddle_mean_exit_time(mu, r, temperature, x0=x0) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("a", [0.1, 1.0, 3.0, 10.0, 40.0])
def test_mean_exit_time_from_saddle_matches_hypergeometric_closed_form(a):
    # tau(0) = (2 / mu) G(a), G(a) = (a^2 / 2) 2F2(1, 1; 3/2, 2; -a^2), a = r sqrt(mu / (2T)).
    mu, r = 1.5, 2.0
    temperature = mu * r * r / (2 * a * a)
    with mpmath.workdps(40):
        expected = float(2 / mpmath.mpf(mu) * a * a / 2 * mpmath.hyp2f2(1, 1, 1.5, 2, -mpmath.mpf(a) ** 2))
    assert saddle_mean_exit_time(mu, r, temperature) == pytest.approx(expected, rel=1e-12)


@FAST
@given(curvatures, radii, groups, fractions)
def test_mean_exit_time_equals_integral_of_dawson_function(mu, r, group, fraction):
    temperature = _temperature(mu, r, group)
    k = math.sqrt(mu / (2 * temperature))
    b, a = k * abs(fraction) * r, k * r
    # F is smooth; split at 1 so that quad sees both the linear and the 1/(2s) regime.
    pieces = [p for p in (b, min(max(b, 1.0), a), a)]
    integral = sum(quad(dawsn, lo, hi, epsabs=0, epsrel=1e-13, limit=200)[0] for lo, hi in zip(pieces, pieces[1:]))
    expected = 2 / mu * integral
    assert saddle_mean_exit_time(mu, r, temperature, x0=fraction * r) == pytest.approx(expected, rel=1e-9)


# --- symmetry, monotonicity and scaling ----------------------------------------------------------

@FAST
@given(curvatures, radii, groups, fractions)
def test_mean_exit_time_is_even_in_x0_and_largest_at_the_saddle(mu, r, group, fraction):
    temperature = _temperature(mu, r, group)
    here = saddle_mean_exit_time(mu, r, temperature, x0=fraction * r)
    assert saddle_mean_exit_time(mu, r, temperature, x0=-fraction * r) == here
    # near x0 = 0 the two evaluations differ only by rounding (different quadrature integrands)
    assert 0 < here <= saddle_mean_exit_time(mu, r, temperature) * (1 + 1e-12)


@FAST
@given(curvatures, radii, groups, fractions, st.floats(min_value=1e-3, max_value=1e3))
def test_mean_exit_time_scales_as_one_over_mu_at_fixed_mu_over_t(mu, r, group, fraction, c):
    temperature = _temperature(mu, r, group)
    base = saddle_mean_exit_time(mu, r, temperature, x0=fraction * r)
    assert saddle_mean_exit_time(c * mu, r, c * temperature, x0=fraction * r) == pytest.approx(base / c, rel=1e-9)


@FAST
@given(curvatures, radii, groups, fractions, st.floats(min_value=1e-3, max_value=1e3))
def test_mean_exit_time_is_invariant_under_diffusive_rescaling(mu, r, group, fraction, s):
    temperature = _temperature(mu, r, group)
    base = saddle_mean_exit_time(mu, r, temperature, x0=fraction * r)
    scaled = saddle_mean_exit_time(mu, s * r, s * s * temperature, x0=fraction * s * r)
    assert scaled == pytest.approx(base, rel=1e-9)


@FAST
@given(curvatures, radii, st.floats(min_value=1e-2, max_value=1e4))
def test_mean_exit_time_from_saddle_decreases_with_temperature(mu, r, group):
    temperature = _temperature(mu, r, group)
    assert saddle_mean_exit_time(mu, r, 1.1 * temperature) < saddle_mean_exit_time(mu, r, temperature)


# --- limits -----------------------------------------------------------------------------------------

@FAST
@given(radii, st.floats(min_value=1e-2, max_value=1e2), fractions)
def test_mean_exit_time_tends_to_diffusion_time_as_mu_vanishes(r, temperature, fraction):
    x0 = fraction * r
    diffusion = (r - x0) * (r + x0) / (2 * temperature)
    for mu_scaled in (1e-6, 1e-10):  # mu r^2 / T; the relative correction is O(mu r^2 / T)
        mu = mu_scaled * temperature / (r * r)
        assert saddle_mean_exit_time(mu, r, temperature, x0=x0) == pytest.approx(diffusion, rel=2 * mu_scaled)


@FAST
@given(curvatures, radii, fractions)
def test_mean_exit_time_approaches_small_t_asymptote_from_below(mu, r, fraction):
    # exact - asymptote = -T / (2 mu^2 r^2) - 3 T^2 / (4 mu^3 r^4) + O(T^3), for every x0.
    # In units of T / (2 mu^2 r^2) = 1 / (2 mu group) the gap is -1 - 1.5 / group - 5 / group^2 - ...;
    # the allowance 1e-11 * group is the quadrature's relative error 1e-12 magnified by that unit.
    for group in (1e2, 1e3, 1e4, 1e5):
        temperature = _temperature(mu, r, group)
        exact = saddle_mean_exit_time(mu, r, temperature, x0=fraction * r)
        asymptote = saddle_exit_time_small_t(mu, r, temperature, x0=fraction * r)
        scaled_gap = (exact - asymptote) * 2 * mu * mu * r * r / temperature
        assert scaled_gap == pytest.approx(-1.0 - 1.5 / group, abs=10 / group**2 + 1e-11 * group)


def test_small_t_asymptote_has_the_log_noise_scale_form_of_claim_c2():
    # tau ~ (1/mu) [log(r / sqrt(T/mu)) + (gamma_E + log 2) / 2]
    mu, r = 2.0, 0.5
    for temperature in (1e-3, 1e-6, 1e-9):
        expected = (math.log(r / math.sqrt(temperature / mu)) + (np.euler_gamma + math.log(2)) / 2) / mu
        assert saddle_exit_time_small_t(mu, r, temperature) == pytest.approx(expected, rel=1e-14)
        gap = saddle_mean_exit_time(mu, r, temperature) - expected
        assert gap == pytest.approx(-temperature / (2 * mu * mu * r * r), rel=2 * temperature / (mu * r * r) + 1e-6)


def test_noiseless_exit_time_is_infinite_from_saddle_and_deterministic_elsewhere():
    mu, r = 1.5, 2.0
    assert saddle_mean_exit_time(mu, r, 0.0) == math.inf
    assert saddle_exit_time_small_t(mu, r, 0.0) == math.inf
    assert saddle_exit_time_variance(mu, r, 0.0) == math.inf
    for x0 in (-1.0, 1e-3, 1.9):
        deterministic = math.log(r / abs(x0)) / mu
        assert saddle_mean_exit_time(mu, r, 0.0, x0=x0) == pytest.approx(deterministic, rel=1e-14)
        assert saddle_exit_time_small_t(mu, r, 0.0, x0=x0) == pytest.approx(deterministic, rel=1e-14)
        assert saddle_exit_time_variance(mu, r, 0.0, x0=x0) == 0.0
        # continuous at T = 0+: the gap is O(T / (mu x0)^2)
        temperature = 1e-10 * mu * x0 * x0
        assert saddle_mean_exit_time(mu, r, temperature, x0=x0) == pytest.approx(deterministic, rel=1e-8, abs=1e-9)


# --- variance ------------------------------------------------------------------------------------

@pytest.mark.parametrize("mu, r, temperature, x0", MODERATE[:4])
def test_variance_matches_bvp_solution_of_second_moment_equation(mu, r, temperature, x0):
    u1, u2 = _bvp_moments(mu, r, temperature, x0)
    assert saddle_exit_time_variance(mu, r, temperature, x0=x0) == pytest.approx(u2 - u1 * u1, rel=1e-8)


@pytest.mark.parametrize("fraction", [0.0, 0.5, -0.9])
def test_variance_tends_to_diffusion_value_as_mu_vanishes(fraction):
    r, temperature = 2.0, 0.7
    x0 = fraction * r
    mu = 1e-9 * temperature / (r * r)
    expected = (r**4 - x0**4) / (6 * temperature**2)
    assert saddle_exit_time_variance(mu, r, temperature, x0=x0) == pytest.approx(expected, rel=1e-7)


def test_variance_from_saddle_tends_to_variance_of_log_abs_normal_at_small_t():
    # tau ~ (1/mu) log(r / |Z|), Z ~ N(0, T/mu): Var -> Var(log|N(0,1)|) / mu^2 = pi^2 / (8 mu^2)
    mu, r = 2.0, 1.5
    gaps = [abs(saddle_exit_time_variance(mu, r, mu * r * r / g) * mu * mu - math.pi**2 / 8) for g in (1e3, 1e5)]
    assert gaps[0] < 1e-2 and gaps[1] < 1e-4


def test_variance_from_off_saddle_start_tends_to_linear_noise_value_at_small_t():
    # tau ~ (1/mu) log(r / |x0 + Z|), Z ~ N(0, (T/mu)(1 - x0^2/r^2)): Var ~ T (r^2 - x0^2) / (mu^3 x0^2 r^2)
    mu, r = 0.5, 2.0
    for x0 in (-1.0, 0.1, 1.98):
        for group in (1e6, 1e10):
            temperature = mu * r * r / group
            linear = temperature * (r * r - x0 * x0) / (mu**3 * x0 * x0 * r * r)
            # relative corrections O(T / (mu x0^2)) and O(T / (mu |x0| (r - |x0|)))
            correction = temperature / (mu * abs(x0)) * (1 / abs(x0) + 1 / (r - abs(x0)))
            assert saddle_exit_time_variance(mu, r, temperature, x0=x0) == pytest.approx(linear, rel=10 * correction)


@FAST
@given(curvatures, radii, groups, fractions, st.floats(min_value=1e-3, max_value=1e3))
def test_variance_scales_as_one_over_mu_squared_at_fixed_mu_over_t(mu, r, group, fraction, c):
    temperature = _temperature(mu, r, group)
    base = saddle_exit_time_variance(mu, r, temperature, x0=fraction * r)
    assert base > 0
    scaled = saddle_exit_time_variance(c * mu, r, c * temperature, x0=fraction * r)
    assert scaled == pytest.approx(base / (c * c), rel=1e-9)


# --- Euler–Maruyama simulation -------------------------------------------------------------------

def _euler_maruyama_exit_times(mu, r, temperature, x0, dt, n_paths, rng, block=1000):
    """First grid time n dt with |x_n| >= r for x_{n+1} = (1 + mu dt) x_n + sqrt(2 T dt) xi_n.

    Blocks of steps are done at once with x_{n+i} = g^i (x_n + sum_{j<i} g^{-(j+1)} eps_{n+j}), g = 1 + mu dt.
    """
    g = 1.0 + mu * dt
    powers = g ** np.arange(1, block + 1)
    noise_weights = math.sqrt(2 * temperature * dt) / powers
    x = np.full(n_paths, float(x0))
    times = np.full(n_paths, np.nan)
    active = np.arange(n_paths)
    steps = 0
    while active.size:
        path = rng.standard_normal((active.size, block))
        path *= noise_weights
        np.cumsum(path, axis=1, out=path)
        path += x[active, None]
        path *= powers
        out = np.abs(path) >= r
        hit = out.any(axis=1)
        times[active[hit]] = (steps + out[hit].argmax(axis=1) + 1) * dt
        x[active] = path[:, -1]
        active = active[~hit]
        steps += block
    return times


@pytest.mark.parametrize("x0", [0.0, 0.25])
def test_mean_and_variance_match_euler_maruyama_simulation(x0):
    # mu r^2 / T = 10: neither small-T nor diffusive. Discrete monitoring delays the exit by about
    # 0.58 sqrt(2 T dt) / (mu r) = 0.004 (Siegmund's overshoot constant, an O(sqrt(dt)) bias) and the
    # Euler drift by O(mu dt) = 2.5e-4 relative; both are well below the standard error of the mean
    # (about 0.017). The small-T asymptote, 0.05 above the exact mean, is about 3 standard errors off.
    mu, r, temperature, dt, n_paths = 1.0, 1.0, 0.1, 2.5e-4, 4000
    rng = np.random.default_rng([SEED, int(x0 * 100)])
    times = _euler_maruyama_exit_times(mu, r, temperature, x0, dt, n_paths, rng)
    mean = mean_estimate(times)
    assert abs(mean.z(saddle_mean_exit_time(mu, r, temperature, x0=x0))) < SIG
    variance = variance_estimate(times)
    assert abs(variance.z(saddle_exit_time_variance(mu, r, temperature, x0=x0))) < SIG


# --- bad input -------------------------------------------------------------------------------------

_FUNCTIONS = [saddle_mean_exit_time, saddle_exit_time_small_t, saddle_exit_time_variance]
_bad_values = st.sampled_from([math.nan, math.inf, -math.inf])


@st.composite
def bad_arguments(draw):
    """Valid (mu, r, T, x0) with exactly one entry made invalid; returns (args, name of that entry)."""
    mu = draw(curvatures)
    r = draw(radii)
    temperature = draw(st.floats(min_value=0.0, max_value=1e2))
    x0 = draw(fractions) * r
    name = draw(st.sampled_from(["mu", "radius", "temperature", "x0"]))
    if name == "mu":
        mu = draw(st.one_of(st.floats(max_value=0.0, allow_nan=False), _bad_values))
    elif name == "radius":
        r = draw(st.one_of(st.floats(max_value=0.0, allow_nan=False), _bad_values))
        x0 = 0.0
    elif name == "temperature":
        temperature = draw(st.one_of(st.floats(max_value=-1e-300, allow_nan=False), _bad_values))
    else:
        outside = r * draw(st.floats(min_value=1.0, max_value=1e6))
        x0 = draw(st.one_of(st.sampled_from([outside, -outside]), _bad_values))
    return (mu, r, temperature, x0), name


@FAST
@given(bad_arguments(), st.sampled_from(_FUNCTIONS))
def test_invalid_arguments_raise_value_error_naming_the_parameter(bad, function):
    (mu, r, temperature, x0), name = bad
    with pytest.raises(ValueError, match=name):
        function(mu, r, temperature, x0=x0)


@pytest.mark.parametrize("function", _FUNCTIONS)
def test_non_scalar_or_non_numeric_x0_is_rejected(function):
    for x0 in ([0.1, 0.2], "a", None, True):
        with pytest.raises(ValueError, match="x0"):
            function(1.0, 1.0, 0.1, x0=x0)
