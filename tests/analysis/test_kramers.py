"""Tests of the Eyring–Kramers rate and the exact 1-D mean first-passage time (analysis.escape).

Independent truths: closed forms of the passage time (free diffusion, a linear
potential), a 30-digit mpmath quadrature, nested scipy quadrature, the backward
equation by finite differences, and the second-order Laplace expansion of the
double integral, which fixes the T-correction of Kramers' formula.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from analysis.critical import CriticalPoint
from analysis.escape import (eyring_kramers_rate, eyring_kramers_transition_time, log_eyring_kramers_rate,
                             log_mean_first_passage_time_1d, mean_first_passage_time_1d)
from models import Quadratic
from models.library import double_well
from sandbox.core_sets import CoreSet

FAST = settings(max_examples=30, deadline=None)

positives = st.floats(min_value=1e-2, max_value=1e2)
temperatures = st.floats(min_value=1e-2, max_value=10.0)
levels = st.floats(min_value=-10.0, max_value=10.0)


def quartic(x):
    return (x * x - 1.0) ** 2


def point(loss, eigenvalues):
    eigenvalues = np.sort(np.asarray(eigenvalues, dtype=float))
    return CriticalPoint(np.zeros(eigenvalues.size), float(loss), eigenvalues, int(np.sum(eigenvalues < 0)))


WELL = point(0.0, [8.0])            # (x^2 - 1)^2 at x = -1
TOP = point(1.0, [-4.0])            # and at x = 0


# --- Eyring–Kramers -----------------------------------------------------------------------------------------------

def test_eyring_kramers_rate_of_quartic_double_well_is_the_textbook_formula():
    for temperature in (1.0, 0.1, 0.03):
        expected = math.sqrt(8.0 * 4.0) / (2 * math.pi) * math.exp(-1.0 / temperature)
        assert eyring_kramers_rate(WELL, TOP, temperature) == pytest.approx(expected, rel=1e-14)
        assert log_eyring_kramers_rate(WELL, TOP, temperature) == pytest.approx(math.log(expected), rel=1e-14)
        assert eyring_kramers_transition_time(WELL, TOP, temperature) == pytest.approx(1 / expected, rel=1e-14)


def test_eyring_kramers_prefactor_of_symmetric_double_well_is_twice_the_1d_one():
    # symmetric_double_well: minima diag(8, 2), saddle diag(-4, 1): sqrt(16 / 4) = 2 (its docstring).
    minimum, saddle = point(0.0, [8.0, 2.0]), point(1.0, [-4.0, 1.0])
    k = eyring_kramers_rate(minimum, saddle, 0.1)
    assert k == pytest.approx(4.0 / (2 * math.pi) * 2.0 * math.exp(-10.0), rel=1e-14)


def test_log_rate_stays_finite_where_the_rate_underflows():
    log_k = log_eyring_kramers_rate(WELL, TOP, 1e-4)
    assert log_k == pytest.approx(0.5 * math.log(32.0) - math.log(2 * math.pi) - 1e4, rel=1e-14)
    assert eyring_kramers_rate(WELL, TOP, 1e-4) == 0.0
    assert eyring_kramers_transition_time(WELL, TOP, 1e-4) == math.inf


@FAST
@given(st.lists(positives, min_size=1, max_size=4), st.lists(positives, min_size=1, max_size=4),
       positives, levels, st.floats(min_value=0.05, max_value=5.0), temperatures)
def test_eyring_kramers_rate_is_invariant_under_shifting_the_loss(min_eigs, saddle_eigs, mu, base, barrier,
                                                                  temperature):
    d = min(len(min_eigs), len(saddle_eigs))
    minimum = point(base, min_eigs[:d])
    saddle = point(base + barrier, [-mu] + saddle_eigs[:d - 1])
    shifted = [point(p.loss + 123.25, p.eigenvalues) for p in (minimum, saddle)]
    assert log_eyring_kramers_rate(*shifted, temperature) == pytest.approx(
        log_eyring_kramers_rate(minimum, saddle, temperature), rel=1e-10, abs=1e-10)


@FAST
@given(st.lists(positives, min_size=2, max_size=2), st.lists(positives, min_size=2, max_size=2),
       st.floats(min_value=-1.0, max_value=1.0), st.floats(min_value=0.05, max_value=0.5), temperatures)
def test_detailed_balance_rate_ratio_is_laplace_occupancy_ratio(eigs1, eigs2, u2, saddle_height, temperature):
    # Two minima sharing a saddle: k_12 / k_21 = P_2 / P_1 with P_i ∝ exp(-U_i/T) det(H_i)^(-1/2) (Laplace).
    u1 = 0.0
    saddle = point(max(u1, u2) + saddle_height, [-3.0, 1.5])
    m1, m2 = point(u1, eigs1), point(u2, eigs2)
    log_ratio = log_eyring_kramers_rate(m1, saddle, temperature) - log_eyring_kramers_rate(m2, saddle, temperature)
    log_p1 = -u1 / temperature - 0.5 * math.log(eigs1[0] * eigs1[1])
    log_p2 = -u2 / temperature - 0.5 * math.log(eigs2[0] * eigs2[1])
    assert log_ratio == pytest.approx(log_p2 - log_p1, rel=1e-10, abs=1e-10)


def test_eyring_kramers_accepts_duck_typed_critical_points():
    class Point:
        loss = 0.0
        eigenvalues = [8.0]

    class Saddle:
        loss = 1.0
        eigenvalues = (-4.0,)

    assert eyring_kramers_rate(Point(), Saddle(), 0.2) == eyring_kramers_rate(WELL, TOP, 0.2)


# --- exact 1-D mean first-passage time: closed forms ---------------------------------------------------------------

@FAST
@given(st.floats(min_value=0.0, max_value=0.99), st.floats(min_value=0.1, max_value=10.0), temperatures)
def test_free_diffusion_from_reflecting_wall_takes_b2_minus_x02_over_2t(fraction, b, temperature):
    # U = 0, wall at 0: tau = (1/T) int_x0^b y dy = (b^2 - x0^2) / (2T).
    x0 = fraction * b
    tau = mean_first_passage_time_1d(lambda x: 0.0 * x, x0, b, temperature, reflect=0.0)
    assert tau == pytest.approx((b * b - x0 * x0) / (2 * temperature), rel=1e-11)


@FAST
@given(st.floats(min_value=-5.0, max_value=5.0), st.floats(min_value=0.0, max_value=3.0),
       st.floats(min_value=0.1, max_value=3.0), st.floats(min_value=0.05, max_value=5.0))
def test_linear_potential_matches_closed_form(force, gap_to_wall, distance, temperature):
    # U = F x, wall at a, from x0 to b:
    # tau = (1/F) [ (T/F) (exp(F (b - a)/T) - exp(F (x0 - a)/T)) - (b - x0) ], by direct integration.
    a, x0 = -gap_to_wall, 0.0
    b = x0 + distance
    if abs(force) * distance / temperature < 1e-3:
        return  # the closed form cancels; covered by the free-diffusion test
    s = force / temperature
    expected = (1 / force) * ((1 / s) * (math.exp(s * (b - a)) - math.exp(s * (x0 - a))) - (b - x0))
    tau = mean_first_passage_time_1d(lambda x: force * x, x0, b, temperature, reflect=a)
    assert tau == pytest.approx(expected, rel=1e-10)


def test_quartic_double_well_at_t_005_matches_30_digit_quadrature():
    # mpmath (dps = 30): (1/T) quad(exp(U(y)/T) quad(exp(-U(z)/T), [-inf, ..., y]), [-1, -0.5, 0, 0.5, 1])
    # = 549661100.352072219047759986504 (44 s; run once and recorded here).
    tau = mean_first_passage_time_1d(quartic, -1.0, 1.0, 0.05)
    assert tau == pytest.approx(549661100.352072219047759986504, rel=1e-11)


@pytest.mark.parametrize("temperature, x0, b, reflect", [(0.3, -1.0, 1.0, None), (0.5, -1.5, 0.2, None),
                                                         (0.2, -0.5, 1.3, -1.2), (1.0, 0.3, 2.0, None)])
def test_quartic_double_well_matches_nested_scipy_quadrature(temperature, x0, b, reflect):
    lo = -4.0 if reflect is None else reflect   # U(-4)/T > 600: the truncated tail is below e^-600

    def inner(y):
        points = [p for p in (-1.0, 0.0) if lo < p < y]
        return quad(lambda z: math.exp(-quartic(z) / temperature), lo, y, points=points or None,
                    epsabs=0.0, epsrel=1e-13, limit=200)[0]

    outer = quad(lambda y: math.exp(quartic(y) / temperature) * inner(y), x0, b,
                 points=[p for p in (-1.0, 0.0, 1.0) if x0 < p < b] or None, epsabs=0.0, epsrel=1e-12, limit=200)[0]
    tau = mean_first_passage_time_1d(quartic, x0, b, temperature, reflect=reflect)
    assert tau == pytest.approx(outer / temperature, rel=1e-10)


@pytest.mark.parametrize("temperature", [0.5, 0.1])
def test_passage_time_solves_the_backward_equation(temperature):
    # T tau'' - U' tau' = -1 in the start point x, by fourth-order central differences.
    b, h = 1.2, 1e-3

    def tau(x):
        return mean_first_passage_time_1d(quartic, x, b, temperature)

    for x in (-1.3, -0.6, 0.0, 0.5):
        u = [tau(x + j * h) for j in (-2, -1, 0, 1, 2)]
        d1 = (u[0] - 8 * u[1] + 8 * u[3] - u[4]) / (12 * h)
        d2 = (-u[0] + 16 * u[1] - 30 * u[2] + 16 * u[3] - u[4]) / (12 * h * h)
        slope = 4 * x * (x * x - 1)
        assert (temperature * d2 - slope * d1) == pytest.approx(-1.0, abs=1e-4)


# --- against Kramers at decreasing temperature -----------------------------------------------------------------------

def test_passage_time_tends_to_kramers_with_relative_correction_three_eighths_t():
    # Second-order Laplace on both integrals: tau = (1/k) (1 + 3T/8 + O(T^2)) for (x^2 - 1)^2 from -1 to 1
    # (5 U'''^2 / (24 U''^3) - U'''' / (8 U''^2) = 3/16 at the minimum, 3/16 at the top).
    previous = math.inf
    for temperature in (0.1, 0.05, 0.025, 0.0125, 0.00625):
        k = eyring_kramers_rate(WELL, TOP, temperature)
        relative_error = mean_first_passage_time_1d(quartic, -1.0, 1.0, temperature) * k - 1.0
        assert 0 < relative_error < previous            # shrinks ...
        assert relative_error / temperature == pytest.approx(0.375, abs=0.6 * temperature)   # ... like 3T/8
        previous = relative_error


def test_passage_time_to_the_barrier_top_is_half_the_transition_time():
    for temperature, tolerance in ((0.2, 1e-2), (0.1, 1e-4), (0.05, 1e-8)):
        to_top = mean_first_passage_time_1d(quartic, -1.0, 0.0, temperature)
        across = mean_first_passage_time_1d(quartic, -1.0, 1.0, temperature)
        assert to_top / across == pytest.approx(0.5, abs=tolerance)


def test_rare_event_benchmark_value_is_about_5e8_and_log_form_reaches_t_1e_3():
    assert mean_first_passage_time_1d(quartic, -1.0, 1.0, 0.05) == pytest.approx(5.4966e8, rel=1e-4)
    temperature = 1e-3
    log_tau = log_mean_first_passage_time_1d(quartic, -1.0, 1.0, temperature)
    kramers = -log_eyring_kramers_rate(WELL, TOP, temperature) + math.log1p(0.375 * temperature)
    assert log_tau == pytest.approx(kramers, abs=1e-6)   # O(T^2) = 1e-6
    assert mean_first_passage_time_1d(quartic, -1.0, 1.0, temperature) == math.inf


# --- properties -----------------------------------------------------------------------------------------------------

@FAST
@given(st.floats(min_value=-1.8, max_value=1.8), st.floats(min_value=0.05, max_value=1.5),
       st.floats(min_value=0.05, max_value=1.5), st.floats(min_value=0.1, max_value=2.0))
def test_passage_times_add_over_an_intermediate_point(x0, d1, d2, temperature):
    # Continuous paths pass c before b: tau(x0 -> b) = tau(x0 -> c) + tau(c -> b) (strong Markov property).
    c, b = x0 + d1, x0 + d1 + d2
    whole = mean_first_passage_time_1d(quartic, x0, b, temperature)
    parts = mean_first_passage_time_1d(quartic, x0, c, temperature) + mean_first_passage_time_1d(quartic, c, b,
                                                                                                 temperature)
    assert whole == pytest.approx(parts, rel=1e-10)


@FAST
@given(st.floats(min_value=-2.0, max_value=2.0), st.floats(min_value=-2.0, max_value=2.0),
       st.floats(min_value=0.1, max_value=2.0))
def test_target_to_the_left_is_the_mirror_image(x0, b, temperature):
    def tilted(x):
        return quartic(x) + 0.3 * x

    def mirrored(x):
        return tilted(-x)

    assert mean_first_passage_time_1d(tilted, x0, b, temperature) == pytest.approx(
        mean_first_passage_time_1d(mirrored, -x0, -b, temperature), rel=1e-12, abs=1e-300)


def test_landscape_and_core_set_targets():
    landscape = double_well()
    tau = mean_first_passage_time_1d(quartic, -1.0, 0.8, 0.2)
    assert mean_first_passage_time_1d(landscape, -1.0, 0.8, 0.2) == pytest.approx(tau, rel=1e-12)
    # A core set is reached at its near edge, from either side.
    assert mean_first_passage_time_1d(quartic, -1.0, CoreSet(np.array([1.0]), 0.2), 0.2) == tau
    assert mean_first_passage_time_1d(quartic, 1.0, CoreSet(np.array([-1.0]), 0.2), 0.2) == pytest.approx(tau,
                                                                                                          rel=1e-12)
    assert mean_first_passage_time_1d(quartic, 0.5, 0.5, 0.2) == 0.0


def test_harmonic_well_with_wall_at_start_matches_quadrature_of_error_function():
    # U = lam x^2 / 2, wall at 0, from 0 to b: inner integral sqrt(pi T / (2 lam)) erf(y sqrt(lam / (2T))).
    from scipy.special import erf
    lam, temperature, b = 2.0, 0.3, 1.5
    s = math.sqrt(lam / (2 * temperature))
    expected = quad(lambda y: math.exp(s * s * y * y) * math.sqrt(math.pi) / (2 * s) * erf(s * y), 0.0, b,
                    epsabs=0.0, epsrel=1e-13)[0] / temperature
    assert mean_first_passage_time_1d(Quadratic([lam]), 0.0, b, temperature, reflect=0.0) == pytest.approx(
        expected, rel=1e-11)


# --- bad input ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("minimum, saddle, temperature, match", [
    (WELL, TOP, 0.0, "temperature"),
    (WELL, TOP, -1.0, "temperature"),
    (WELL, TOP, math.nan, "temperature"),
    (point(0.0, [8.0, -1.0]), point(1.0, [-4.0, 1.0]), 0.1, "minimum"),
    (point(0.0, [8.0, 0.0]), point(1.0, [-4.0, 1.0]), 0.1, "minimum"),
    (point(0.0, [8.0, 2.0]), point(1.0, [-4.0, -1.0]), 0.1, "saddle"),
    (point(0.0, [8.0, 2.0]), point(1.0, [4.0, 1.0]), 0.1, "saddle"),
    (point(0.0, [8.0, 2.0]), point(1.0, [-4.0, 0.0]), 0.1, "saddle"),
    (point(0.0, [8.0, 2.0]), point(1.0, [-4.0]), 0.1, "saddle"),
    (point(1.0, [8.0]), point(1.0, [-4.0]), 0.1, "saddle must lie above minimum"),
    (point(2.0, [8.0]), point(1.0, [-4.0]), 0.1, "saddle must lie above minimum"),
    (CriticalPoint(None, math.nan, np.array([8.0]), 0), TOP, 0.1, "minimum.loss"),
    (CriticalPoint(None, 0.0, np.array([np.inf]), 0), TOP, 0.1, "minimum.eigenvalues"),
    ("not a point", TOP, 0.1, "minimum"),
])
def test_eyring_kramers_rejects_bad_input_naming_the_parameter(minimum, saddle, temperature, match):
    for function in (eyring_kramers_rate, log_eyring_kramers_rate, eyring_kramers_transition_time):
        with pytest.raises(ValueError, match=match):
            function(minimum, saddle, temperature)


def test_eyring_kramers_messages_show_plain_numbers():
    with pytest.raises(ValueError) as info:
        eyring_kramers_rate(point(0.0, [np.float64(8.0), np.float64(-1.0)]), point(1.0, [-4.0, 1.0]), 0.1)
    assert "np.float64" not in str(info.value) and "-1.0" in str(info.value)


@pytest.mark.parametrize("args, kwargs, match", [
    ((quartic, -1.0, 1.0, 0.0), {}, "temperature"),
    ((quartic, -1.0, 1.0, -0.5), {}, "temperature"),
    ((quartic, math.nan, 1.0, 0.1), {}, "start"),
    ((quartic, -1.0, math.inf, 0.1), {}, "target"),
    ((quartic, -1.0, 1.0, 0.1), {"reflect": 0.0}, "reflect"),      # wall between start and target
    ((quartic, 1.0, -1.0, 0.1), {"reflect": 0.0}, "reflect"),
    ((quartic, -1.0, 1.0, 0.1), {"reflect": math.inf}, "reflect"),
    ((quartic, -1.0, 1.0, 0.1), {"reflect": "wall"}, "reflect"),
    ((lambda x: 0.0 * x, -1.0, 1.0, 0.1), {}, "confine"),          # free diffusion on the half-line: tau = inf
    ((lambda x: x, -1.0, 1.0, 0.1), {}, "confine"),
    ((lambda x: 1.0, -1.0, 1.0, 0.1), {}, "vectorised"),
    ((lambda x: np.where(x < -1.3, np.inf, x * x), -1.0, 1.0, 0.1), {"reflect": -1.6}, "finite"),
    (("(x**2 - 1)**2", -1.0, 1.0, 0.1), {}, "potential"),
    ((Quadratic([1.0, 2.0]), -1.0, 1.0, 0.1), {}, "dimension 1"),
    ((quartic, 1.0, CoreSet(np.array([1.1]), 0.2), 0.1), {}, "lies in the target core set"),
    ((quartic, -1.0, CoreSet(np.array([1.0, 0.0]), 0.2), 0.1), {}, "1-dimensional"),
])
def test_passage_time_rejects_bad_input_naming_the_parameter(args, kwargs, match):
    for function in (mean_first_passage_time_1d, log_mean_first_passage_time_1d):
        with pytest.raises(ValueError, match=match):
            function(*args, **kwargs)


def test_target_as_a_center_radius_pair_ends_at_its_near_edge():
    def quartic(x):
        return (np.asarray(x) ** 2 - 1.0) ** 2

    edge = mean_first_passage_time_1d(quartic, -1.0, 0.9, 0.2)
    assert mean_first_passage_time_1d(quartic, -1.0, ([1.0], 0.1), 0.2) == edge
    mirrored = mean_first_passage_time_1d(quartic, 1.0, -0.9, 0.2)
    assert mean_first_passage_time_1d(quartic, 1.0, (-1.0, 0.1), 0.2) == mirrored
