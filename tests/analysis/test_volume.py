"""Tests of analysis.volume against elementary formulas, quadrature and mpmath."""
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from analysis.strategies import spectra
from analysis.volume import (
    log_ball_fraction_of_cube,
    log_sublevel_volume,
    log_unit_ball_volume,
    log_volume_ratio,
)

positive = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive_spectra = spectra(st.integers(1, 30), low=1e-6, high=1e6).map(np.ndarray.tolist)
# two spectra of the same length
spectrum_pairs = st.integers(1, 30).flatmap(lambda d: st.tuples(spectra(d, low=1e-6, high=1e6),
                                                                 spectra(d, low=1e-6, high=1e6)))
FAST = settings(max_examples=40, deadline=None)


# --- unit ball --------------------------------------------------------------

@pytest.mark.parametrize(
    "d, volume",
    [(1, 2.0), (2, math.pi), (3, 4 / 3 * math.pi), (4, math.pi**2 / 2), (5, 8 * math.pi**2 / 15)],
)
def test_unit_ball_volume_matches_elementary_formulas(d, volume):
    assert log_unit_ball_volume(d) == pytest.approx(math.log(volume), rel=1e-14, abs=1e-14)


@pytest.mark.parametrize("d", [2, 3, 6, 9])
def test_unit_ball_volume_matches_slice_quadrature(d):
    # V_d = int_{-1}^{1} V_{d-1} (1 - x^2)^{(d-1)/2} dx  (slicing along one axis)
    integral, _ = quad(lambda x: (1 - x * x) ** ((d - 1) / 2), -1, 1, epsabs=1e-14, epsrel=1e-13)
    assert log_unit_ball_volume(d) == pytest.approx(log_unit_ball_volume(d - 1) + math.log(integral), rel=1e-11)


@FAST
@given(st.integers(min_value=3, max_value=10**6))
def test_unit_ball_volume_obeys_recursion_two_pi_over_d(d):
    assert log_unit_ball_volume(d) - log_unit_ball_volume(d - 2) == pytest.approx(
        math.log(2 * math.pi / d), abs=1e-9 * max(1.0, abs(log_unit_ball_volume(d)))
    )


def test_unit_ball_volume_accepts_integer_arrays():
    d = np.array([1, 2, 3], dtype=np.int64)
    np.testing.assert_allclose(log_unit_ball_volume(d), np.log([2.0, math.pi, 4 / 3 * math.pi]), rtol=1e-14)
    assert log_unit_ball_volume(np.int32(3)) == pytest.approx(math.log(4 / 3 * math.pi), rel=1e-14)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "3", np.array([1, 0]), np.array([1.0, 2.0])])
def test_unit_ball_volume_rejects_bad_dimension_naming_d(bad):
    with pytest.raises(ValueError, match=r"\bd\b"):
        log_unit_ball_volume(bad)


# --- sublevel sets: elementary cases and quadrature -------------------------

@FAST
@given(positive, positive)
def test_sublevel_volume_d1_is_interval_length(lam, eps):
    assert log_sublevel_volume([lam], eps) == pytest.approx(math.log(2 * math.sqrt(2 * eps / lam)), abs=1e-12)


@FAST
@given(positive, positive, positive)
def test_sublevel_volume_d2_is_ellipse_area(l1, l2, eps):
    area = math.pi * 2 * eps / math.sqrt(l1 * l2)
    assert log_sublevel_volume([l1, l2], eps) == pytest.approx(math.log(area), abs=1e-12)


@FAST
@given(positive, positive, positive, positive)
def test_sublevel_volume_d3_is_ellipsoid_volume(l1, l2, l3, eps):
    volume = 4 / 3 * math.pi * math.prod(math.sqrt(2 * eps / lam) for lam in (l1, l2, l3))
    assert log_sublevel_volume([l1, l2, l3], eps) == pytest.approx(math.log(volume), abs=1e-12)


def test_sublevel_volume_d2_matches_quadrature_of_indicator():
    l1, l2, eps = 0.3, 7.0, 0.8
    x_max = math.sqrt(2 * eps / l1)
    # width in y of {l1 x^2 + l2 y^2 <= 2 eps} at abscissa x
    area, _ = quad(lambda x: 2 * math.sqrt(max(2 * eps - l1 * x * x, 0.0) / l2), -x_max, x_max, epsrel=1e-12)
    assert log_sublevel_volume([l1, l2], eps) == pytest.approx(math.log(area), rel=1e-9)


def _mp_log_sublevel_volume(eigenvalues, eps):
    mpmath.mp.dps = 40
    d = mpmath.mpf(len(eigenvalues))
    values, counts = np.unique(eigenvalues, return_counts=True)
    log_det = mpmath.fsum(int(k) * mpmath.log(mpmath.mpf(float(v))) for v, k in zip(values, counts))
    return d / 2 * mpmath.log(2 * mpmath.pi * mpmath.mpf(eps)) - mpmath.loggamma(d / 2 + 1) - log_det / 2


def test_sublevel_volume_exact_to_float_precision_at_d_1e5():
    rng = np.random.default_rng(20240601)
    eigenvalues = rng.permutation(np.tile(np.logspace(-12, 12, 1000), 100))  # d = 1e5
    eps = 0.37
    exact = float(_mp_log_sublevel_volume(eigenvalues, eps))
    assert abs(log_sublevel_volume(eigenvalues, eps) - exact) <= 4 * np.spacing(abs(exact))


def test_unit_ball_and_cube_fraction_exact_to_float_precision_at_d_1e5():
    mpmath.mp.dps = 40
    d = 100_000
    ball = mpmath.mpf(d) / 2 * mpmath.log(mpmath.pi) - mpmath.loggamma(mpmath.mpf(d) / 2 + 1)
    fraction = ball - d * mpmath.log(2)
    assert abs(log_unit_ball_volume(d) - float(ball)) <= 4 * np.spacing(abs(float(ball)))
    assert abs(log_ball_fraction_of_cube(d) - float(fraction)) <= 4 * np.spacing(abs(float(fraction)))


# --- properties of the formula ----------------------------------------------

@FAST
@given(positive_spectra, positive, st.floats(min_value=1e-3, max_value=1e3))
def test_log_volume_scales_as_half_d_log_eps(eigenvalues, eps, c):
    d = len(eigenvalues)
    shift = log_sublevel_volume(eigenvalues, c * eps) - log_sublevel_volume(eigenvalues, eps)
    assert shift == pytest.approx(d / 2 * math.log(c), abs=1e-12 * (1 + abs(log_sublevel_volume(eigenvalues, eps))))


@FAST
@given(positive_spectra, positive, st.floats(min_value=1e-3, max_value=1e3))
def test_scaling_eigenvalues_by_s_shifts_log_volume_by_minus_half_d_log_s(eigenvalues, eps, s):
    d = len(eigenvalues)
    scaled = [s * lam for lam in eigenvalues]
    shift = log_sublevel_volume(scaled, eps) - log_sublevel_volume(eigenvalues, eps)
    assert shift == pytest.approx(-d / 2 * math.log(s), abs=1e-12 * (1 + abs(log_sublevel_volume(eigenvalues, eps))))


@FAST
@given(positive_spectra, positive, st.randoms(use_true_random=False))
def test_log_volume_invariant_under_permutation_of_eigenvalues(eigenvalues, eps, rnd):
    shuffled = list(eigenvalues)
    rnd.shuffle(shuffled)
    # fsum makes the sum of logs exactly rounded, hence order independent
    assert log_sublevel_volume(shuffled, eps) == log_sublevel_volume(eigenvalues, eps)


@FAST
@given(spectrum_pairs)
def test_log_volume_ratio_is_antisymmetric(pair):
    a, b = pair
    assert log_volume_ratio(a, b) == -log_volume_ratio(b, a)
    assert log_volume_ratio(a, a) == 0.0


@FAST
@given(spectrum_pairs, positive)
def test_log_volume_ratio_equals_difference_of_log_volumes_at_any_eps(pair, eps):
    a, b = pair
    difference = log_sublevel_volume(a, eps) - log_sublevel_volume(b, eps)
    scale = 1 + abs(log_sublevel_volume(a, eps)) + abs(log_sublevel_volume(b, eps))
    assert log_volume_ratio(a, b) == pytest.approx(difference, abs=1e-12 * scale)


@FAST
@given(st.integers(1, 10**5), positive, positive)
def test_log_volume_ratio_of_isotropic_minima_is_half_d_log_lambda_ratio(d, lam_a, lam_b):
    ratio = log_volume_ratio(np.full(d, lam_a), np.full(d, lam_b))
    assert ratio == pytest.approx(d / 2 * math.log(lam_b / lam_a), rel=1e-12, abs=1e-9)


# --- the ball in the cube ---------------------------------------------------

@pytest.mark.parametrize("d, fraction", [(1, 1.0), (2, math.pi / 4), (3, math.pi / 6), (4, math.pi**2 / 32)])
def test_ball_fraction_of_cube_matches_elementary_formulas(d, fraction):
    assert log_ball_fraction_of_cube(d) == pytest.approx(math.log(fraction), abs=1e-14)


def test_ball_fraction_of_cube_decays_super_exponentially():
    d = np.arange(1, 10**5 + 1)
    log_fraction = log_ball_fraction_of_cube(d)
    assert np.all(np.diff(log_fraction) < 0)
    per_dimension = log_fraction / d
    assert np.all(np.diff(per_dimension[1:]) < 0)  # faster than any exponential c^d
    # Stirling: log f = -(d/2) log(d/(2 pi e)) - d log 2 - (1/2) log(pi d) + O(1/d)
    stirling = -(d / 2) * np.log(d / (2 * np.pi * np.e)) - d * np.log(2) - 0.5 * np.log(np.pi * d)
    assert abs(log_fraction[-1] - stirling[-1]) < 1e-5


# --- bad input --------------------------------------------------------------

bad_eps = st.one_of(st.floats(max_value=0.0), st.just(math.nan), st.just(math.inf))


@FAST
@given(positive_spectra, bad_eps)
def test_sublevel_volume_rejects_nonpositive_or_nonfinite_eps_naming_eps(eigenvalues, eps):
    with pytest.raises(ValueError, match="eps"):
        log_sublevel_volume(eigenvalues, eps)


@FAST
@given(positive_spectra, st.floats(max_value=0.0, allow_nan=False, allow_infinity=False), st.data())
def test_sublevel_volume_rejects_nonpositive_eigenvalue_as_not_spd(eigenvalues, bad, data):
    i = data.draw(st.integers(0, len(eigenvalues)))
    with pytest.raises(ValueError, match="eigenvalues.*SPD"):
        log_sublevel_volume(eigenvalues[:i] + [bad] + eigenvalues[i:], 1.0)


@FAST
@given(positive_spectra, st.sampled_from([math.nan, math.inf, -math.inf]), st.data())
def test_sublevel_volume_rejects_nonfinite_eigenvalue_naming_eigenvalues(eigenvalues, bad, data):
    i = data.draw(st.integers(0, len(eigenvalues)))
    with pytest.raises(ValueError, match="eigenvalues"):
        log_sublevel_volume(eigenvalues[:i] + [bad] + eigenvalues[i:], 1.0)


@pytest.mark.parametrize("bad", [[], np.ones((2, 2)), 3.0, ["a"]])
def test_sublevel_volume_rejects_empty_or_non_1d_eigenvalues(bad):
    with pytest.raises(ValueError, match="eigenvalues"):
        log_sublevel_volume(bad, 1.0)


def test_log_volume_ratio_rejects_different_dimensions():
    with pytest.raises(ValueError, match="same length"):
        log_volume_ratio([1.0, 2.0], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("which", ["eigenvalues_a", "eigenvalues_b"])
def test_log_volume_ratio_rejects_non_spd_naming_the_argument(which):
    good, bad = [1.0, 2.0], [1.0, -2.0]
    args = (bad, good) if which == "eigenvalues_a" else (good, bad)
    with pytest.raises(ValueError, match=which):
        log_volume_ratio(*args)
