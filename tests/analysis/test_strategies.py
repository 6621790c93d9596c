"""Tests of analysis.strategies: what they draw is valid, in range, and shrinks to simple values.

Each strategy is drawn from with its own parameters drawn too (``st.data()``),
and every value is checked against the constructor it is meant for and against
the requested ranges. The maps from hypothesis's floats to laws are checked
against independent constructions (numpy's Gaussians, ``random_rotation``).
"""
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

import analysis.strategies as strategies
from analysis.strategies import (
    ENSEMBLE_KINDS,
    ensembles,
    multiwells,
    normal_crossing_exponents,
    quadratics,
    rotations,
    spd_matrices,
    spectra,
    standard_normals,
)
from models import MultiWell, NormalCrossing, Quadratic, random_rotation
from models.normal_crossing import as_exponents
from models.spectra import BulkZerosOutliers, marchenko_pastur, semicircle

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240917"))
EPS = np.finfo(float).eps
ROUNDING = 1e-13  # relative rounding of values formed as 10**e, s * kappa**t (a few ulps of e up to |e| = 12)
# find() the minimal example; the explain phase (100 extra calls) tells nothing here
FIND = settings(database=None, derandomize=True, max_examples=2000, phases=[Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck))

log_uniform_ranges = st.tuples(st.floats(-6.0, 6.0), st.floats(0.0, 6.0)).map(
    lambda p: (10.0 ** p[0], 10.0 ** (p[0] + p[1])))


def nonzero_condition(lam):
    mags = np.abs(lam[lam != 0])
    return mags.max() / mags.min()


# --- spectra ----------------------------------------------------------------------------------

@given(st.data(), log_uniform_ranges, st.integers(1, 12), st.integers(0, 12), st.integers(0, 12), st.booleans())
def test_spectra_have_the_requested_length_zeros_negatives_and_range(data, bounds, d, zeros, negatives, sort):
    low, high = bounds
    lam = data.draw(spectra(d, low=low, high=high, zeros=zeros, negatives=negatives, sort=sort))
    assert lam.shape == (d,) and lam.dtype == np.float64
    assert np.all(np.diff(lam) >= 0) or not sort
    n_zero = min(zeros, d)
    assert np.sum(lam == 0) == n_zero
    assert np.sum(lam < 0) == min(negatives, d - n_zero)
    mags = np.abs(lam[lam != 0])
    assert np.all((low <= mags) & (mags <= high))
    Quadratic(lam)  # the constructor accepts it


@given(st.data(), log_uniform_ranges, st.integers(1, 10), st.integers(0, 3), st.integers(0, 3))
def test_spectra_condition_number_lies_in_the_requested_range(data, bounds, d, zeros, negatives):
    low, high = bounds
    top = high / low
    c_min = data.draw(st.floats(1.0, top))
    c_max = data.draw(st.floats(c_min, max(c_min, 10 * top)))
    if d < 2 and c_min > 1:
        with pytest.raises(ValueError, match=r"^d must be >= 2"):
            spectra(d, low=low, high=high, condition=(c_min, c_max))
        return
    lam = data.draw(spectra(d, low=low, high=high, condition=(c_min, c_max), zeros=zeros, negatives=negatives))
    mags = np.abs(lam[lam != 0])
    assert mags.size >= (2 if c_min > 1 else 0) and mags.size == d - np.sum(lam == 0)
    assert np.all((low <= mags) & (mags <= high))
    kappa = nonzero_condition(lam) if mags.size else 1.0
    assert c_min * (1 - ROUNDING) <= kappa <= c_max * (1 + ROUNDING)


@given(st.integers(2, 6).flatmap(lambda d: spectra(d, low=1.0, high=1e6, condition=(10.0, 10.0), negatives=1)))
def test_spectra_condition_counts_magnitudes_of_negative_values(lam):
    assert nonzero_condition(lam) == pytest.approx(10.0, rel=ROUNDING)
    assert np.sum(lam < 0) == 1


@given(st.data(), st.floats(0.05, 5.0), st.floats(0.1, 10.0), st.integers(1, 20))
def test_marchenko_pastur_spectra_lie_in_the_support_with_zeros_only_in_the_atom(data, ratio, variance, d):
    mp = marchenko_pastur(ratio, variance)
    lam = data.draw(spectra(d, law=mp))
    assert lam.shape == (d,)
    # ppf forms x = variance ((1 + ratio) - 2 sqrt(ratio) cos theta), so it rounds by about eps variance (1 + ratio)
    inside = (mp.lower - 4 * EPS * variance * (1 + ratio) <= lam) & (lam <= mp.upper) & (lam >= 0)
    assert np.all(inside | ((lam == 0) & (mp.atom > 0)))
    Quadratic(lam)


@given(spectra(8, law=semicircle(2.0), zeros=2))
def test_spectra_take_any_frozen_law_with_a_ppf(lam):
    assert np.sum(lam == 0) >= 2 and np.all(np.abs(lam) <= 2.0)


@given(spectra(6, law=marchenko_pastur(3.0), negatives=3))
def test_negated_law_values_are_negative_except_the_zeros_of_the_atom(lam):
    assert np.sum(lam < 0) + np.sum(lam == 0) >= 3 and np.sum(lam < 0) <= 3
    assert not np.any(np.signbit(lam[lam == 0]))  # no -0.0


@given(spectra(5, law=scipy.stats.norm(loc=3.0)))
def test_spectra_of_a_law_with_unbounded_support_are_finite(lam):
    assert np.all(np.isfinite(lam)) and np.all(np.abs(lam - 3.0) < 8.3)


def test_law_quantiles_are_the_inverse_cdf_of_the_drawn_uniforms():
    # u = 0 (where hypothesis starts) is clipped to 2**-53: the lower edge of the law, to 1e-9 here
    mp = marchenko_pastur(0.5, 2.0)
    lam = find(spectra(3, law=mp), lambda v: True, settings=FIND)
    assert np.array_equal(lam, np.full(3, mp.ppf(2.0**-53)))
    assert lam == pytest.approx(np.full(3, mp.lower), rel=1e-9)
    assert np.all(find(spectra(3, law=marchenko_pastur(2.0)), lambda v: True, settings=FIND) == 0.0)


# --- Gaussians, rotations, SPD matrices -------------------------------------------------------

def test_standard_normal_map_turns_uniforms_into_standard_normals():
    v = 2.0 * np.random.default_rng(SEED).random(20_000) - 1.0
    z = strategies._normal_quantile(v)
    np.testing.assert_allclose(z, scipy.stats.norm.ppf((1.0 + v) / 2.0), rtol=1e-12, atol=1e-14)
    assert scipy.stats.kstest(z, "norm").pvalue > 1e-4
    assert abs(strategies._normal_quantile(1.0 - 2.0**-53)) < 8.3  # the largest entry hypothesis can reach


@given(st.data(), st.lists(st.integers(0, 5), max_size=3))
def test_standard_normals_have_the_requested_shape_and_are_finite(data, shape):
    z = data.draw(standard_normals(tuple(shape)))
    assert z.shape == tuple(shape) and np.all(np.isfinite(z))


@pytest.mark.parametrize("d", [1, 2, 5, 12])
def test_rotation_from_gaussian_is_the_haar_construction_of_random_rotation(d):
    g = np.random.default_rng(SEED + d).standard_normal((d, d))
    np.testing.assert_array_equal(strategies._rotation_from_gaussian(g), random_rotation(d, seed=SEED + d))


@given(st.integers(1, 10).flatmap(lambda d: st.tuples(st.just(d), rotations(d), rotations(d, proper=True))))
def test_rotations_are_orthogonal_to_1e_10_and_proper_ones_have_det_one(case):
    d, q, p = case
    for m in (q, p):
        assert m.shape == (d, d)
        assert np.abs(m.T @ m - np.eye(d)).max() < 1e-10
        assert np.abs(m @ m.T - np.eye(d)).max() < 1e-10
        Quadratic(np.ones(d), rotation=m)
    assert abs(abs(np.linalg.det(q)) - 1) < 1e-10
    assert abs(np.linalg.det(p) - 1) < 1e-10


@given(st.data(), log_uniform_ranges, st.integers(1, 8))
def test_spd_matrices_are_symmetric_with_eigenvalues_and_condition_in_range(data, bounds, d):
    low, high = bounds
    c_min = data.draw(st.floats(1.0, high / low)) if d > 1 else 1.0
    c_max = data.draw(st.floats(c_min, high / low))
    h = data.draw(spd_matrices(d, low=low, high=high, condition=(c_min, c_max)))
    assert h.shape == (d, d) and np.array_equal(h, h.T)
    lam = np.linalg.eigvalsh(h)
    # eigvalsh and forming Q diag(lam) Q^T each err by about d eps lam_max in absolute terms
    slack = 8 * d * EPS * high
    assert low - slack <= lam[0] and lam[-1] <= high + slack
    kappa, tol = lam[-1] / lam[0], ROUNDING + 16 * d * EPS * c_max
    assert c_min * (1 - tol) <= kappa <= c_max * (1 + tol)
    np.linalg.cholesky(h)
    assert MultiWell(np.zeros((1, d)), h[None]).hessian_is_psd


# --- landscapes -------------------------------------------------------------------------------

@given(st.data(), st.sampled_from([None, True, False]), st.sampled_from([None, True, False]),
       st.floats(1e-3, 1e3))
def test_quadratics_are_built_from_the_drawn_spectrum_rotation_and_center(data, rotated, centered, scale):
    eigenvalues = spectra(st.integers(1, 6), zeros=st.integers(0, 2), negatives=st.integers(0, 2))
    q = data.draw(quadratics(eigenvalues, rotated=rotated, centered=centered, center_scale=scale))
    assert isinstance(q, Quadratic)
    assert (q.rotation is not None) == rotated or rotated is None
    if centered is False:
        assert np.all(q.center == 0)
    assert np.all(np.abs(q.center) <= scale)
    if q.rotation is not None:
        assert np.abs(q.rotation.T @ q.rotation - np.eye(q.dim)).max() < 1e-10
    assert q.hessian_is_psd == bool(np.all(q.eigenvalues >= 0))
    Quadratic(q.eigenvalues, rotation=q.rotation, center=q.center)


@given(quadratics([2.0, 0.5]))
def test_quadratics_take_a_fixed_spectrum(q):
    assert q.eigenvalues.tolist() == [2.0, 0.5]


@given(st.data(), st.integers(1, 4), st.integers(1, 4), st.floats(0.1, 10.0), st.floats(-5.0, 5.0),
       st.floats(0.0, 5.0))
def test_multiwells_have_spd_wells_centers_and_depths_in_range(data, d, k, spread, depth_low, depth_width):
    depths = (depth_low, depth_low + depth_width)
    w = data.draw(multiwells(d, k, low=0.5, high=20.0, condition=(1.0, 10.0), spread=spread, depths=depths))
    assert isinstance(w, MultiWell) and (w.n_wells, w.dim) == (k, d)
    assert w.hessian_is_psd
    lam = np.linalg.eigvalsh(w.hessians)
    slack = 8 * d * EPS * 20.0
    assert np.all((0.5 - slack <= lam) & (lam <= 20.0 + slack))
    assert np.all(lam[:, -1] / lam[:, 0] <= 10.0 * (1 + ROUNDING + 16 * d * EPS * 10.0))
    assert np.all(np.abs(w.centers) <= spread)
    assert np.all((depths[0] <= w.depths) & (w.depths <= depths[1]))
    MultiWell(w.centers, w.hessians, depths=w.depths)


@given(multiwells(st.integers(1, 3), 2, condition=(5.0, 5.0)))
def test_multiwells_with_a_condition_above_one_skip_d_one(w):
    assert w.dim >= 2


@given(st.data(), st.integers(1, 6), st.integers(1, 9))
def test_normal_crossing_exponents_are_what_as_exponents_accepts(data, d, top):
    k = data.draw(normal_crossing_exponents(d, max_exponent=top))
    assert len(k) == d and all(isinstance(e, int) and 1 <= e <= top for e in k)
    assert as_exponents(k).tolist() == k
    NormalCrossing(k)


# --- ensembles --------------------------------------------------------------------------------

@given(ensembles().flatmap(lambda e: st.tuples(st.just(e), standard_normals(e.n_gaussian))))
def test_ensembles_are_valid_and_their_matrices_symmetric_and_finite(case):
    ens, z = case
    assert isinstance(ens, ENSEMBLE_KINDS)
    h = ens.from_gaussian(z)
    assert h.shape == (ens.dim, ens.dim) and np.array_equal(h, h.T) and np.all(np.isfinite(h))
    assert np.all(np.isfinite(ens.eigenvalues_from_gaussian(z)))
    if isinstance(ens, BulkZerosOutliers):
        assert np.sum(ens.eigenvalues_from_gaussian(z) == 0) >= ens.n_zero  # z = 0 makes a zero bulk too
        assert ens.n_zero <= ens.dim - 1 and ens.n_outliers <= ens.dim - ens.n_zero


@pytest.mark.parametrize("kind", ENSEMBLE_KINDS, ids=lambda k: k.__name__)
def test_every_ensemble_kind_is_drawn_and_can_be_restricted_to(kind):
    found = find(ensembles(), lambda e: type(e) is kind, settings=FIND)
    assert type(found) is kind and found.dim == 1
    only = find(ensembles(st.integers(2, 3), kinds=[kind]), lambda e: True, settings=FIND)
    assert type(only) is kind and only.dim == 2


# --- shrinking --------------------------------------------------------------------------------

def test_strategies_shrink_to_the_simplest_values():
    assert np.array_equal(find(rotations(4), lambda q: True, settings=FIND), np.eye(4))
    assert find(spectra(3, low=1e-3, high=1e3), lambda v: True, settings=FIND).tolist() == [1.0, 1.0, 1.0]
    assert find(normal_crossing_exponents(), lambda k: True, settings=FIND) == [1]
    q = find(quadratics(), lambda q: True, settings=FIND)
    assert (q.dim, q.rotation, q.eigenvalues.tolist(), q.center.tolist()) == (1, None, [1.0], [0.0])
    w = find(multiwells(), lambda w: True, settings=FIND)
    assert (w.dim, w.n_wells, w.hessians.tolist(), w.depths.tolist()) == (1, 1, [[[1.0]]], [0.0])
    assert np.array_equal(find(spd_matrices(3), lambda h: True, settings=FIND), np.eye(3))


def test_unsorted_spectra_shrink_to_ascending_order_and_any_order_is_drawn():
    assert find(spectra(4, negatives=1, zeros=1), lambda v: True, settings=FIND).tolist() == [-1.0, 0.0, 1.0, 1.0]
    lam = find(spectra(4, negatives=1, zeros=1), lambda v: v[0] > 0 and v[-1] < 0, settings=FIND)
    assert sorted(lam.tolist()) == [-1.0, 0.0, 1.0, 1.0]


def test_failing_spectra_shrink_to_powers_of_ten():
    lam = find(spectra(5, low=1e-3, high=1e3), lambda v: v.max() / v.min() > 50, settings=FIND)
    assert np.array_equal(lam, 10.0 ** np.round(np.log10(lam)))
    lam = find(spectra(5, low=1e-3, high=1e3, condition=(20.0, 1e4)), lambda v: True, settings=FIND)
    assert lam.tolist() == [1.0, 1.0, 1.0, 1.0, 100.0]  # the simplest power of ten in the condition range


@given(st.integers(1, 6).flatmap(lambda d: standard_normals((d, d))))
def test_rotation_of_an_upper_triangular_matrix_with_nonnegative_diagonal_is_the_identity(g):
    # the Gaussian matrix shrinks entry by entry towards 0; once its lower part is 0 and its diagonal >= 0, Q = I
    d = g.shape[0]
    upper = np.triu(g)
    upper[np.diag_indices(d)] = np.abs(np.diag(g))
    assert np.array_equal(strategies._rotation_from_gaussian(upper), np.eye(d))
    # with signs on the diagonal, G = D (D G) is the QR decomposition with R's diagonal > 0, so Q = D
    signs = np.where(np.diag(g) < 0, -1.0, 1.0)
    assert np.array_equal(strategies._rotation_from_gaussian(np.triu(g)), np.diag(signs))


# --- bad arguments ----------------------------------------------------------------------------

@pytest.mark.parametrize("build, name", [
    (lambda: spectra(0), "d"),
    (lambda: spectra(2.5), "d"),
    (lambda: spectra(3, low=0.0), "low"),
    (lambda: spectra(3, high=math.nan), "high"),
    (lambda: spectra(3, low=2.0, high=1.0), "high"),
    (lambda: spectra(3, condition=(0.5, 2.0)), "condition"),
    (lambda: spectra(3, condition=(3.0, 2.0)), "condition"),
    (lambda: spectra(3, condition=(1.0, math.inf)), "condition"),
    (lambda: spectra(3, low=1.0, high=10.0, condition=(20.0, 30.0)), "condition"),
    (lambda: spectra(3, condition=(1.0, 2.0, 3.0)), "condition"),
    (lambda: spectra(1, condition=(2.0, 3.0)), "d"),
    (lambda: spectra(3, zeros=-1), "zeros"),
    (lambda: spectra(3, negatives=1.5), "negatives"),
    (lambda: spectra(3, law=marchenko_pastur(0.5), low=1.0), "low, high and condition"),
    (lambda: spectra(3, law=object()), "law"),
    (lambda: spd_matrices(3, low=1e-8, high=1e8), "condition"),
    (lambda: spd_matrices(3, low=1e-8, high=1e8, condition=(1.0, 1e13)), "condition"),
    (lambda: rotations(0), "d"),
    (lambda: standard_normals((2, -1)), "shape"),
    (lambda: quadratics(rotated="yes"), "rotated"),
    (lambda: quadratics(centered=1), "centered"),
    (lambda: quadratics(center_scale=0.0), "center_scale"),
    (lambda: quadratics([1.0, math.nan]), "eigenvalues"),
    (lambda: multiwells(0), "d"),
    (lambda: multiwells(2, 0), "n_wells"),
    (lambda: multiwells(spread=-1.0), "spread"),
    (lambda: multiwells(depths=(1.0, 0.0)), "depths"),
    (lambda: multiwells(1, condition=(2.0, 3.0)), "d"),
    (lambda: multiwells(low=1e-7, high=1e7), "condition"),
    (lambda: normal_crossing_exponents(0), "d"),
    (lambda: normal_crossing_exponents(max_exponent=0), "max_exponent"),
    (lambda: normal_crossing_exponents(max_exponent=2**31), "max_exponent"),
    (lambda: ensembles(0), "d"),
    (lambda: ensembles(n=0), "n"),
    (lambda: ensembles(kinds=[]), "kinds"),
    (lambda: ensembles(kinds=[Quadratic]), "kinds"),
    (lambda: ensembles(kinds=3), "kinds"),
])
def test_bad_arguments_raise_value_error_naming_the_parameter_when_the_strategy_is_built(build, name):
    with pytest.raises(ValueError, match=rf"^{re.escape(name)}\b"):
        build()


def test_law_with_non_finite_quantiles_is_reported_naming_law():
    class Broken:
        def ppf(self, u):
            return np.full(np.shape(u), np.nan)

    with pytest.raises(ValueError, match=r"^law\.ppf must be finite"):
        find(spectra(2, law=Broken()), lambda v: True, settings=FIND)


# --- packaging and documentation --------------------------------------------------------------

def _run_python(code, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_import_without_hypothesis_says_it_is_a_test_dependency():
    blocked = "import sys; sys.modules['hypothesis'] = None\n"
    out = _run_python(blocked + "import analysis, models\nimport analysis.strategies")
    assert out.returncode != 0
    assert "ImportError: analysis.strategies needs hypothesis" in out.stderr
    assert 'pip install "landscape-sandbox[test]"' in out.stderr


def test_readme_property_test_example_runs_and_passes():
    readme = (REPO_ROOT / "README.md").read_text()
    # the first python block after the section's heading
    code = re.search(r"## Property tests of your own formulas\n.*?```python\n(.*?)```", readme, re.S).group(1)
    assert "from analysis.strategies import" in code
    out = _run_python(code)
    assert out.returncode == 0, out.stderr


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(strategies, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 9 and result.failed == 0
