"""Tests of the SQRA spectral gap (analysis.fokker_planck) against exact spectra and exact passage times.

Independent truths: the Neumann Laplacian of a box (discrete and continuum
eigenvalues in closed form), the Ornstein–Uhlenbeck spectrum k1 lam1 + k2 lam2,
the exact 1-D mean first-passage time (analysis.escape, itself checked against
closed forms and mpmath), and Eyring–Kramers asymptotics.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.critical import CriticalPoint
from analysis.escape import eyring_kramers_rate, mean_first_passage_time_1d
from analysis.fokker_planck import SpectralGap, spectral_gap
from models import Quadratic, Symbolic
from models.library import double_well, entropic_double_well, symmetric_double_well

WELLS_BOX = ([-2.0, -2.5], [2.0, 2.5])


def quartic(x):
    return (x * x - 1.0) ** 2


def point(loss, eigenvalues):
    return CriticalPoint(None, loss, np.array(eigenvalues, dtype=float), int(np.sum(np.less(eigenvalues, 0))))


# --- exact spectra --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("temperature, length, n", [(0.7, 3.0, 8), (2.0, 1.0, 5), (0.1, 10.0, 16)])
def test_free_diffusion_grid_values_are_the_discrete_neumann_eigenvalues(temperature, length, n):
    # U = 0: SQRA is the cell-centred Neumann Laplacian, whose gap is (4T/h^2) sin^2(pi h / (2L)) exactly,
    # and whose limit is T pi^2 / L^2.
    gap = spectral_gap(Quadratic([0.0]), temperature, bounds=(0.0, length), n_grid=n)
    h = length / (n * np.array([1, 2, 4]))
    np.testing.assert_allclose(gap.grid_values, 4 * temperature / h**2 * np.sin(np.pi * h / (2 * length)) ** 2,
                               rtol=1e-12)
    exact = temperature * math.pi**2 / length**2
    assert abs(gap.value - exact) <= gap.error < 1e-5 * exact
    np.testing.assert_allclose(gap.spacings, h[:, None])
    assert gap.next_value == pytest.approx(4 * exact, rel=1e-2)   # the next mode, (2 pi / L)^2 T, finest grid


def test_free_diffusion_in_a_rectangle_has_the_gap_of_its_longer_side():
    gap = spectral_gap(Quadratic([0.0, 0.0]), 0.5, bounds=([0.0, -1.0], [2.0, 2.0]), n_grid=(6, 9))
    exact = 0.5 * math.pi**2 / 3.0**2
    assert abs(gap.value - exact) <= gap.error < 1e-5 * exact


@pytest.mark.parametrize("lam", [0.3, 1.0, 7.0])
@pytest.mark.parametrize("temperature", [0.05, 1.0])
def test_ornstein_uhlenbeck_gap_is_its_curvature_at_any_temperature(lam, temperature):
    box = 7.0 * math.sqrt(temperature / lam)
    gap = spectral_gap(Quadratic([lam]), temperature, bounds=(-box, box), n_grid=32)
    assert abs(gap.value - lam) <= gap.error < 1e-5 * lam
    assert gap.next_value == pytest.approx(2 * lam, rel=1e-2)


@pytest.mark.parametrize("lams, temperature", [([1.5, 4.0], 0.5), ([3.0, 0.7], 0.1), ([2.0, 2.0], 1.0)])
def test_two_independent_ornstein_uhlenbeck_directions_have_gap_min_lam(lams, temperature):
    # The 1-D OU process embedded in d = 2 beside a second harmonic direction: spectrum k1 lam1 + k2 lam2.
    box = 7.0 * math.sqrt(temperature / min(lams))
    gap = spectral_gap(Quadratic(lams), temperature, bounds=(-box, box))
    assert abs(gap.value - min(lams)) <= gap.error < 1e-5 * min(lams)


def test_rotated_harmonic_well_off_the_grid_axes_has_gap_min_lam():
    angle = 0.4
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    gap = spectral_gap(Quadratic([1.0, 3.0], rotation=rotation), 0.3, bounds=(-4.0, 4.0))
    assert abs(gap.value - 1.0) <= gap.error < 1e-5


def test_grid_values_converge_at_second_order():
    gap = spectral_gap(Quadratic([1.5, 4.0]), 0.5, bounds=(-5.0, 5.0), n_grid=16)
    first, second, third = gap.grid_values
    assert (first - second) / (second - third) == pytest.approx(4.0, abs=0.3)


# --- double wells: the gap is the sum of the two rates ------------------------------------------------------------

@pytest.mark.parametrize("temperature", [0.25, 0.125, 0.1, 0.0625])
def test_double_well_gap_is_twice_the_inverse_mean_transition_time(temperature):
    # Symmetric 1-D well: lambda_1 = k_LR + k_RL = 2 / tau(-1 -> 1) up to a relative O(lambda_1 / lambda_2)
    # (measured: about 5 lambda_1 / lambda_2, i.e. 3e-2 at T = 0.25 down to 2e-7 at T = 0.0625).
    gap = spectral_gap(double_well(), temperature, bounds=(-2.5, 2.5), n_grid=100)
    tau = mean_first_passage_time_1d(quartic, -1.0, 1.0, temperature)
    tolerance = 10.0 * gap.value / gap.next_value + 5.0 * gap.error / gap.value
    assert gap.value * tau / 2.0 == pytest.approx(1.0, abs=tolerance)
    assert tolerance < {0.25: 0.1, 0.125: 2e-3, 0.1: 3e-4, 0.0625: 2e-5}[temperature]   # shrinks with T
    # The mean first-passage time to the barrier top is half of tau: lambda_1 tau(-1 -> 0) -> 1.
    to_top = mean_first_passage_time_1d(quartic, -1.0, 0.0, temperature)
    assert gap.value * to_top == pytest.approx(1.0, abs=tolerance + {0.25: 0.05, 0.125: 1e-3}.get(temperature, 1e-4))


@pytest.mark.parametrize("landscape, minima", [
    (symmetric_double_well(), ([8.0, 2.0], [8.0, 2.0])),                          # docstring Hessians
    (entropic_double_well(), ([8.0, math.exp(-math.log(2))], [8.0, 2.0])),
], ids=["symmetric", "entropic"])
def test_eyring_kramers_sum_of_rates_approaches_the_gap_with_error_shrinking_like_t(landscape, minima):
    saddle = point(1.0, [-4.0, 1.0])
    errors = []
    for temperature in (0.2, 0.1, 0.05):
        gap = spectral_gap(landscape, temperature, bounds=WELLS_BOX)
        assert gap.error < 1e-3 * gap.value and gap.boundary_mass < 1e-4
        rates = sum(eyring_kramers_rate(point(0.0, m), saddle, temperature) for m in minima)
        errors.append(rates / gap.value - 1.0)
        # Not one rate: k_LR alone is off by a factor of 2 or more.
        assert abs(eyring_kramers_rate(point(0.0, minima[0]), saddle, temperature) / gap.value - 1) > 0.3
    errors = np.array(errors)
    assert np.all(np.abs(errors) < 1.0 * np.array([0.2, 0.1, 0.05]))           # |relative error| < T
    ratios = errors[:-1] / errors[1:]
    assert np.all((ratios > 1.7) & (ratios < 2.4)), errors                     # halves when T halves


# --- properties ---------------------------------------------------------------------------------------------------

SHIFTED = Symbolic("(x**2 - 1)**2 + 0.3*x + c", ["x"], parameters={"c": 0.0})


@settings(max_examples=8, deadline=None)
@given(st.floats(min_value=-50.0, max_value=50.0), st.floats(min_value=0.1, max_value=1.0))
def test_gap_is_invariant_under_shifting_the_loss(shift, temperature):
    base = spectral_gap(SHIFTED, temperature, bounds=(-2.5, 2.5), n_grid=24)
    moved = spectral_gap(SHIFTED.with_parameters(c=shift), temperature, bounds=(-2.5, 2.5), n_grid=24)
    np.testing.assert_allclose(moved.grid_values, base.grid_values, rtol=1e-9)


def test_gap_of_a_mirrored_landscape_is_the_same():
    tilted = spectral_gap(Symbolic("(x**2 - 1)**2 + 0.3*x", ["x"]), 0.2, bounds=(-2.5, 2.0), n_grid=40)
    mirrored = spectral_gap(Symbolic("(x**2 - 1)**2 - 0.3*x", ["x"]), 0.2, bounds=(-2.0, 2.5), n_grid=40)
    np.testing.assert_allclose(mirrored.grid_values, tilted.grid_values, rtol=1e-9)


def test_boundary_mass_reports_a_box_that_cuts_the_wells():
    inside = spectral_gap(symmetric_double_well(), 0.2, bounds=WELLS_BOX, n_grid=16)
    cut = spectral_gap(symmetric_double_well(), 0.2, bounds=([-1.0, -2.5], [1.0, 2.5]), n_grid=16)
    assert inside.boundary_mass < 1e-6 and cut.boundary_mass > 0.01


def test_without_richardson_the_finer_of_two_grids_is_reported():
    gap = spectral_gap(Quadratic([2.0]), 0.5, bounds=(-4.0, 4.0), n_grid=40, richardson=False)
    assert isinstance(gap, SpectralGap) and gap.grid_values.shape == (2,)
    assert gap.value == gap.grid_values[-1]
    assert abs(gap.value - 2.0) <= 1.5 * gap.error       # the h^2 estimate of the finest grid's error
    assert gap.error < 0.02


# --- bad input ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("landscape, temperature, kwargs, match", [
    (Quadratic([1.0, 1.0, 1.0]), 1.0, {"bounds": (-3.0, 3.0)}, "dimension 1 or 2"),
    ("x**2", 1.0, {"bounds": (-3.0, 3.0)}, "landscape"),
    (Quadratic([1.0]), 0.0, {"bounds": (-3.0, 3.0)}, "temperature"),
    (Quadratic([1.0]), -1.0, {"bounds": (-3.0, 3.0)}, "temperature"),
    (Quadratic([1.0]), 1.0, {"bounds": (3.0, -3.0)}, "bounds"),
    (Quadratic([1.0]), 1.0, {"bounds": 3.0}, "bounds"),
    (Quadratic([1.0, 1.0]), 1.0, {"bounds": ([-1.0, -1.0, -1.0], 1.0)}, "bounds"),
    (Quadratic([1.0]), 1.0, {"bounds": (-np.inf, 3.0)}, "bounds"),
    (Quadratic([1.0]), 1.0, {"bounds": (-3.0, 3.0), "n_grid": 3}, "n_grid"),
    (Quadratic([1.0]), 1.0, {"bounds": (-3.0, 3.0), "n_grid": 8.5}, "n_grid"),
    (Quadratic([1.0, 1.0]), 1.0, {"bounds": (-3.0, 3.0), "n_grid": (8, 8, 8)}, "n_grid"),
    (Quadratic([1.0, 1.0]), 1.0, {"bounds": (-3.0, 3.0), "n_grid": 1000}, "n_grid"),
    (Quadratic([1.0]), 1.0, {"bounds": (-3.0, 3.0), "richardson": "yes"}, "richardson"),
    (Symbolic("log(x)", ["x"]), 1.0, {"bounds": (-1.0, 1.0), "n_grid": 8}, "finite"),
])
def test_spectral_gap_rejects_bad_input_naming_the_parameter(landscape, temperature, kwargs, match):
    with pytest.raises(ValueError, match=match):
        spectral_gap(landscape, temperature, **kwargs)
