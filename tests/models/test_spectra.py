"""Tests of models.spectra against independent truths.

Random tests use a fixed seed that ``SANDBOX_TEST_SEED`` overrides, so the
suite can be swept over seeds. Statistical thresholds are 4 standard errors
for z-scores and p > 1e-4 for KS tests (each fails with probability < 1e-4
under the null), and tests that rely on a KS test also check that the same
data reject a nearby wrong law, so they have power.
"""
import math
import os

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.strategies import ensembles, standard_normals
from models.spectra import (
    GOE,
    BulkZerosOutliers,
    ShiftedWishart,
    Wishart,
    WishartPlusWigner,
    beta_ensemble_eigenvalues,
    marchenko_pastur,
    semicircle,
    wishart_plus_wigner_density,
    wishart_plus_wigner_negative_fraction,
)

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20170807"))
SIG = 4.0
P_MIN = 1e-4

ENSEMBLES = [
    GOE(5),
    Wishart(7, 4, variance=2.0),
    ShiftedWishart(3, 5, -0.5),
    WishartPlusWigner(6, 4, variance=0.5, wigner_scale=2.0, shift=1.0),
    BulkZerosOutliers(12, zero_fraction=0.5, n_outliers=2, outlier_scale=20.0),
]


def quad(f, a, b, **kw):
    return scipy.integrate.quad(f, a, b, epsabs=1e-13, epsrel=1e-12, limit=400, **kw)[0]


def assert_within_se(value, truth, se, what):
    assert abs(value - truth) < SIG * se, f"{what}: {value} vs {truth} (se {se})"


def mean_and_var_with_se(x):
    """Sample mean and variance of independent x with their standard errors."""
    n, m, v = len(x), x.mean(), x.var(ddof=1)
    m4 = np.mean((x - m) ** 4)
    return m, math.sqrt(v / n), v, math.sqrt((m4 - v**2) / n)


def grid_cdf(density, lower, upper, n=40001):
    """CDF by cumulative trapezoid of a density supported in [lower, upper]."""
    x = np.linspace(lower, upper, n)
    c = scipy.integrate.cumulative_trapezoid(density(x), x, initial=0.0)
    return lambda t: np.interp(t, x, c)


# ---------------------------------------------------------------- laws


@pytest.mark.parametrize("ratio", [0.25, 1.0, 3.0])
def test_marchenko_pastur_pdf_and_atom_integrate_to_one(ratio):
    mp = marchenko_pastur(ratio, 1.7)
    assert mp.atom == pytest.approx(max(0.0, 1 - 1 / ratio), abs=1e-15)
    assert quad(mp.pdf, mp.lower, mp.upper) + mp.atom == pytest.approx(1.0, abs=1e-10)


def test_semicircle_pdf_integrates_to_one_with_variance_radius_squared_over_four():
    law = semicircle(2.5)
    assert quad(law.pdf, -2.5, 2.5) == pytest.approx(1.0, abs=1e-12)
    assert quad(lambda x: x * x * law.pdf(x), -2.5, 2.5) == pytest.approx(2.5**2 / 4, abs=1e-12)
    assert law.support() == (-2.5, 2.5)


@pytest.mark.parametrize("ratio", [0.1, 0.5, 1.0, 2.0, 7.0])
def test_marchenko_pastur_cdf_equals_atom_plus_integrated_pdf(ratio):
    mp = marchenko_pastur(ratio, 0.6)
    for x in np.linspace(mp.lower, mp.upper, 13)[1:-1]:
        assert mp.cdf(x) == pytest.approx(mp.atom + quad(mp.pdf, mp.lower, x), abs=1e-10)
    assert mp.cdf(-1e-300) == 0.0
    assert mp.cdf(0.0) == pytest.approx(mp.atom, abs=1e-15)
    assert mp.cdf(mp.upper) == 1.0
    assert mp.sf(0.5 * (mp.lower + mp.upper)) == pytest.approx(1 - mp.cdf(0.5 * (mp.lower + mp.upper)))


@settings(max_examples=60, deadline=None)
@given(ratio=st.floats(0.02, 50.0), variance=st.floats(0.01, 100.0), u=st.floats(0.0, 1.0))
def test_marchenko_pastur_ppf_inverts_cdf(ratio, variance, u):
    mp = marchenko_pastur(ratio, variance)
    q = mp.atom + u * (1 - mp.atom)
    x = mp.ppf(q)
    assert mp.lower - 1e-12 * variance <= x <= mp.upper or (mp.atom > 0 and x == 0.0)
    if u > 0:
        assert mp.cdf(x) == pytest.approx(q, abs=1e-10)
        assert x == pytest.approx(mp.ppf(mp.cdf(x)), rel=1e-8, abs=1e-10 * variance)
    if mp.atom > 0:
        assert mp.ppf(u * mp.atom) == 0.0
    assert np.isnan(mp.ppf(1.5)) and np.isnan(mp.ppf(-0.1))


@pytest.mark.parametrize("ratio", [0.3, 1.0, 2.5])
def test_marchenko_pastur_moments_equal_integrals_and_closed_forms(ratio):
    variance = 1.3
    mp = marchenko_pastur(ratio, variance)
    for k in range(1, 5):  # the atom at 0 adds nothing to raw moments of order >= 1
        assert mp.moment(k) == pytest.approx(quad(lambda x: x**k * mp.pdf(x), mp.lower, mp.upper), rel=1e-10)
    assert mp.mean() == pytest.approx(variance, rel=1e-14)
    assert mp.var() == pytest.approx(variance**2 * ratio, rel=1e-12)
    assert mp.moment(0) == 1.0
    mean, var, skew, kurt = mp.stats("mvsk")
    assert (mean, var) == (mp.mean(), mp.var())
    # free Poisson: kappa_3 = sigma^6 gamma^2 is also the third central moment
    assert skew * var**1.5 == pytest.approx(variance**3 * ratio**2, rel=1e-10)


def test_marchenko_pastur_rvs_carry_the_atom_and_the_moments():
    ratio, variance, n = 2.5, 0.7, 40000
    mp = marchenko_pastur(ratio, variance)
    x = mp.rvs(size=n, random_state=SEED)
    p = 1 - 1 / ratio
    assert_within_se(np.mean(x == 0.0), p, math.sqrt(p * (1 - p) / n), "atom mass")
    m, m_se, v, v_se = mean_and_var_with_se(x)
    assert_within_se(m, variance, m_se, "mean")
    assert_within_se(v, variance**2 * ratio, v_se, "variance")
    assert np.array_equal(x, mp.rvs(size=n, random_state=np.random.default_rng(SEED)))


# ---------------------------------------------------------------- sampled spectra vs laws


def test_wishart_spectrum_matches_marchenko_pastur():
    # 4 matrices at d = 400: eigenvalues are rigid, so finite-d deviations of the
    # empirical cdf (O(1/d) ~ 0.003) are far below the KS resolution 1/sqrt(1600).
    n, d, variance = 800, 400, 2.0
    eig = Wishart(n, d, variance=variance).eigenvalues(4, seed=SEED).ravel()
    assert scipy.stats.kstest(eig, marchenko_pastur(d / n, variance).cdf).pvalue > P_MIN
    assert scipy.stats.kstest(eig, marchenko_pastur(0.7, variance).cdf).pvalue < P_MIN


def test_wishart_with_ratio_above_one_has_exact_rank_and_marchenko_pastur_bulk():
    n, d = 200, 400
    eig = Wishart(n, d).eigenvalues(4, seed=SEED)
    mp = marchenko_pastur(d / n)
    zero = np.abs(eig) < 1e-9 * mp.upper
    assert np.all(zero.sum(axis=1) == d - n)
    bulk = eig[~zero]

    def conditional_cdf(x):
        return (mp.cdf(x) - mp.atom) / (1 - mp.atom)

    assert scipy.stats.kstest(bulk, conditional_cdf).pvalue > P_MIN
    wrong = marchenko_pastur(1.5)
    assert scipy.stats.kstest(bulk, lambda x: (wrong.cdf(x) - wrong.atom) / (1 - wrong.atom)).pvalue < P_MIN


def test_goe_spectrum_matches_semicircle_of_radius_sqrt_2d():
    d = 400
    eig = GOE(d).eigenvalues(4, seed=SEED).ravel()
    assert scipy.stats.kstest(eig / math.sqrt(2 * d), semicircle(1.0).cdf).pvalue > P_MIN
    # power: the radius 2 sqrt(d) of unit off-diagonal variance is rejected
    assert scipy.stats.kstest(eig / math.sqrt(2 * d), semicircle(math.sqrt(2)).cdf).pvalue < P_MIN


def test_goe_density_is_exp_minus_half_trace_h_squared():
    # The map z -> H is linear with tr H^2 = |z|^2 exactly, so H has density
    # proportional to exp(-tr H^2 / 2): diagonal variance 1, off-diagonal 1/2.
    goe = GOE(6)
    z = np.random.default_rng(SEED).standard_normal((1000, goe.n_gaussian))
    h = goe.from_gaussian(z)
    np.testing.assert_allclose(np.einsum("kij,kji->k", h, h), np.sum(z**2, axis=1), rtol=1e-12)
    np.testing.assert_array_equal(np.diagonal(h, axis1=1, axis2=2), z[:, :6])
    assert h[0, 0, 1] == z[0, 6] / math.sqrt(2) == h[0, 1, 0]


def test_tridiagonal_beta_one_smallest_eigenvalue_matches_dense_goe():
    d, m = 10, 2000
    rng = np.random.default_rng(SEED)
    dense = GOE(d).eigenvalues(m, seed=rng)[:, 0]
    tridiagonal = beta_ensemble_eigenvalues(d, 1.0, size=m, seed=rng)[:, 0]
    assert scipy.stats.ks_2samp(dense, tridiagonal).pvalue > P_MIN
    # power: a 5% scale error is rejected with the same sample sizes
    assert scipy.stats.ks_2samp(dense, 1.05 * tridiagonal).pvalue < P_MIN


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0, 4.0])
def test_beta_ensemble_trace_laws_are_exact(beta):
    # tr T ~ N(0, d) and tr T^2 ~ chi^2 with d + beta d (d - 1) / 2 degrees of freedom
    d, m = 8, 4000
    eig = beta_ensemble_eigenvalues(d, beta, size=m, seed=SEED)
    assert np.all(np.diff(eig, axis=1) >= 0)
    trace, trace2 = eig.sum(axis=1), (eig**2).sum(axis=1)
    nu = d + beta * d * (d - 1) / 2
    for stat, mean, var in [(trace, 0.0, d), (trace2, nu, 2 * nu)]:
        m_hat, m_se, v_hat, v_se = mean_and_var_with_se(stat)
        assert_within_se(m_hat, mean, m_se, "mean")
        assert_within_se(v_hat, var, v_se, "variance")
    assert scipy.stats.kstest(trace2, scipy.stats.chi2(nu).cdf).pvalue > P_MIN
    assert scipy.stats.kstest(trace, scipy.stats.norm(scale=math.sqrt(d)).cdf).pvalue > P_MIN


def test_large_beta_ensemble_follows_semicircle_of_radius_sqrt_2_beta_d():
    d, beta = 1000, 2.5
    eig = beta_ensemble_eigenvalues(d, beta, seed=SEED)
    radius = math.sqrt(2 * beta * d)
    assert scipy.stats.kstest(eig, semicircle(radius).cdf).pvalue > P_MIN
    # power: forgetting the 1/sqrt(2) of the tridiagonal model is rejected
    assert scipy.stats.kstest(eig, semicircle(math.sqrt(2) * radius).cdf).pvalue < P_MIN


# ---------------------------------------------------------------- free convolution

CONVOLUTION_CASES = [
    dict(ratio=0.5, variance=1.0, wigner_scale=1.0, shift=0.0),
    dict(ratio=2.0, variance=0.5, wigner_scale=0.3, shift=0.4),
    dict(ratio=0.1, variance=2.0, wigner_scale=3.0, shift=-1.0),
]


def support_bounds(ratio, variance, wigner_scale, shift):
    low = 0.0 if ratio >= 1 else variance * (1 - math.sqrt(ratio)) ** 2
    return low - shift - wigner_scale, variance * (1 + math.sqrt(ratio)) ** 2 - shift + wigner_scale


@pytest.mark.parametrize("case", CONVOLUTION_CASES)
def test_wishart_plus_wigner_density_has_free_cumulants_of_the_sum(case):
    # Free cumulants add: mean sigma^2 - s, variance sigma^4 gamma + r^2 / 4,
    # third central moment sigma^6 gamma^2 (the semicircle has kappa_3 = 0).
    g, v, r, s = case["ratio"], case["variance"], case["wigner_scale"], case["shift"]
    lo, hi = support_bounds(g, v, r, s)

    mean = v - s

    def integrands(x):  # rho(x) times 1, x, (x - mean)^2, (x - mean)^3
        return float(wishart_plus_wigner_density(x, **case)) * np.array([1.0, x, (x - mean) ** 2, (x - mean) ** 3])

    total, first, second, third = scipy.integrate.quad_vec(integrands, lo, hi, epsabs=1e-12, epsrel=1e-11, limit=400)[0]
    assert total == pytest.approx(1.0, abs=1e-8)
    assert first == pytest.approx(mean, abs=1e-8)
    assert second == pytest.approx(v**2 * g + r**2 / 4, abs=1e-8)
    assert third == pytest.approx(v**3 * g**2, abs=1e-7)
    assert wishart_plus_wigner_density(lo - 1e-3, **case) == 0.0 == wishart_plus_wigner_density(hi + 1e-3, **case)


@pytest.mark.parametrize("ratio", [0.3, 2.0])
def test_wishart_plus_small_wigner_is_marchenko_pastur(ratio):
    mp = marchenko_pastur(ratio, 1.5)
    x = np.linspace(mp.lower, mp.upper, 12)[2:-2]
    rho = wishart_plus_wigner_density(x, ratio=ratio, variance=1.5, wigner_scale=1e-3)
    np.testing.assert_allclose(rho, mp.pdf(x), rtol=1e-3)


def test_small_wishart_plus_wigner_is_semicircle():
    x = np.linspace(-1.8, 1.8, 11)
    rho = wishart_plus_wigner_density(x - 0.7, ratio=0.5, variance=1e-6, wigner_scale=2.0, shift=0.7)
    np.testing.assert_allclose(rho, semicircle(2.0).pdf(x), rtol=1e-3)
    frac = wishart_plus_wigner_negative_fraction(ratio=0.5, variance=1e-6, wigner_scale=2.0)
    assert frac == pytest.approx(0.5, abs=1e-5)


@pytest.mark.parametrize("n,d,shift", [(800, 400, 0.6), (200, 400, 0.0)])
def test_wishart_plus_wigner_sampled_spectrum_matches_density(n, d, shift):
    params = dict(ratio=d / n, variance=1.0, wigner_scale=1.2, shift=shift)
    eig = WishartPlusWigner(n, d, wigner_scale=1.2, shift=shift).eigenvalues(4, seed=SEED).ravel()
    lo, hi = support_bounds(**params)
    cdf = grid_cdf(lambda x: wishart_plus_wigner_density(x, **params), lo, hi)
    assert scipy.stats.kstest(eig, cdf).pvalue > P_MIN
    wrong = grid_cdf(lambda x: wishart_plus_wigner_density(x, **{**params, "wigner_scale": 1.8}), lo - 1, hi + 1)
    assert scipy.stats.kstest(eig, wrong).pvalue < P_MIN
    # index: the binomial standard error bounds the fluctuation of rigid eigenvalues
    predicted = wishart_plus_wigner_negative_fraction(**params)
    assert predicted == pytest.approx(cdf(0.0), abs=1e-5)
    assert_within_se(np.mean(eig < 0), predicted, math.sqrt(predicted * (1 - predicted) / eig.size), "index")


@pytest.mark.parametrize("phi", [0.1, 0.5, 0.8])
def test_index_vanishes_below_pennington_bahri_critical_energy(phi):
    eps_c = (1 - 20 * phi - 8 * phi**2 + (1 + 8 * phi) ** 1.5) / 16

    def index(eps):
        return wishart_plus_wigner_negative_fraction(ratio=phi, wigner_scale=math.sqrt(8 * eps))

    assert index(0.98 * eps_c) == 0.0
    assert index(1.02 * eps_c) > 0.0
    # alpha ~ |eps - eps_c|^{3/2}: the log-log slope tends to 3/2
    slope = math.log(index(1.0004 * eps_c) / index(1.0001 * eps_c)) / math.log(4.0)
    assert slope == pytest.approx(1.5, abs=0.01)


def test_shifted_wishart_index_matches_marchenko_pastur_cdf():
    n, d, shift = 600, 300, 1.0
    eig = ShiftedWishart(n, d, shift).eigenvalues(4, seed=SEED).ravel()
    p = marchenko_pastur(d / n).cdf(shift)
    assert_within_se(np.mean(eig < 0), p, math.sqrt(p * (1 - p) / eig.size), "index")


# ---------------------------------------------------------------- bulk, zeros, outliers


def test_bulk_zeros_outliers_spectrum_has_the_requested_parts():
    ens = BulkZerosOutliers(200, zero_fraction=0.9, n_outliers=3, outlier_scale=15.0, bulk_ratio=0.5)
    assert (ens.n_zero, ens.n_bulk, ens.rank) == (180, 17, 20)
    eig = ens.eigenvalues(3, seed=SEED)
    assert np.all(np.sum(eig == 0.0, axis=1) == 180)
    assert np.all(eig[:, -3:] == 15.0)
    assert np.all((eig[:, 180:-3] > 0) & (eig[:, 180:-3] < 15.0))
    dense = np.linalg.eigvalsh(ens.sample(3, seed=SEED))
    np.testing.assert_allclose(dense, eig, atol=1e-12 * 15.0)


def test_bulk_zeros_outliers_rotation_is_haar():
    # rank one: H = s v v^T with v uniform on the sphere, so H_00 / s ~ Beta(1/2, (d-1)/2)
    d, s = 5, 3.0
    ens = BulkZerosOutliers(d, zero_fraction=0.8, n_outliers=1, outlier_scale=s)
    h = ens.sample(3000, seed=SEED)
    for i in (0, d - 1):
        assert scipy.stats.kstest(h[:, i, i] / s, scipy.stats.beta(0.5, (d - 1) / 2).cdf).pvalue > P_MIN


def test_bulk_of_bulk_zeros_outliers_follows_marchenko_pastur():
    ens = BulkZerosOutliers(4000, zero_fraction=0.9, n_outliers=0, bulk_ratio=0.25, bulk_variance=2.0)
    z = np.random.default_rng(SEED).standard_normal(ens.n_gaussian)
    bulk = ens.eigenvalues_from_gaussian(z)[ens.n_zero:]
    assert scipy.stats.kstest(bulk, marchenko_pastur(0.25, 2.0).cdf).pvalue > P_MIN


# ---------------------------------------------------------------- interface


@pytest.mark.parametrize("ens", ENSEMBLES, ids=repr)
def test_from_gaussian_is_vectorised_symmetric_and_is_the_sampler(ens):
    d, k = ens.dim, ens.n_gaussian
    z = np.random.default_rng(SEED).standard_normal((2, 3, k))
    h = ens.from_gaussian(z)
    assert h.shape == (2, 3, d, d)
    assert np.array_equal(h, np.swapaxes(h, -1, -2))
    np.testing.assert_allclose(h[1, 2], ens.from_gaussian(z[1, 2]), rtol=1e-12, atol=1e-12)
    one = ens.sample(seed=SEED)
    assert one.shape == (d, d)
    np.testing.assert_array_equal(one, ens.from_gaussian(np.random.default_rng(SEED).standard_normal(k)))
    batch = ens.sample(5, seed=SEED)
    np.testing.assert_array_equal(batch, ens.sample(5, seed=np.random.SeedSequence(SEED)))
    np.testing.assert_array_equal(batch, ens.from_gaussian(np.random.default_rng(SEED).standard_normal((5, k))))
    assert not np.array_equal(batch, ens.sample(5, seed=SEED + 1))
    eig = ens.eigenvalues(5, seed=SEED)
    assert eig.shape == (5, d) and np.all(np.diff(eig, axis=1) >= 0)
    np.testing.assert_allclose(eig, np.linalg.eigvalsh(batch), atol=1e-10)
    assert ens.eigenvalues(seed=SEED).shape == (d,)


@settings(max_examples=60, deadline=None)
@given(case=ensembles().flatmap(lambda e: st.tuples(st.just(e), standard_normals((2, e.n_gaussian)))))
def test_from_gaussian_of_any_valid_ensemble_is_vectorised_symmetric_with_matching_eigenvalues(case):
    ens, z = case
    h = ens.from_gaussian(z)
    assert h.shape == (2, ens.dim, ens.dim) and np.array_equal(h, np.swapaxes(h, -1, -2))
    assert np.all(np.isfinite(h))
    scale = 1.0 + np.abs(h).max()
    np.testing.assert_allclose(h[1], ens.from_gaussian(z[1]), rtol=0, atol=1e-13 * scale)
    eig = ens.eigenvalues_from_gaussian(z)
    assert eig.shape == (2, ens.dim) and np.all(np.diff(eig, axis=1) >= 0)
    np.testing.assert_allclose(eig, np.linalg.eigvalsh(h), rtol=0, atol=1e-12 * ens.dim * scale)


def test_n_gaussian_counts_the_generators_inputs():
    assert GOE(5).n_gaussian == 15
    assert Wishart(7, 4).n_gaussian == ShiftedWishart(7, 4, 1.0).n_gaussian == 28
    assert WishartPlusWigner(7, 4).n_gaussian == 28 + 10
    ens = BulkZerosOutliers(10, zero_fraction=0.5, n_outliers=1, bulk_ratio=0.5)
    assert ens.n_gaussian == 10 * 5 + 8 * 4


def test_generator_seed_advances_the_stream():
    rng = np.random.default_rng(SEED)
    a, b = GOE(3).sample(seed=rng), GOE(3).sample(seed=rng)
    assert not np.array_equal(a, b)
    c = beta_ensemble_eigenvalues(6, 2.0, size=2, seed=SEED)
    np.testing.assert_array_equal(c, beta_ensemble_eigenvalues(6, 2.0, size=2, seed=SEED))
    assert beta_ensemble_eigenvalues(1, 2.0, seed=SEED).shape == (1,)


# ---------------------------------------------------------------- bad input

bad_sizes = st.integers(max_value=0) | st.floats(allow_nan=True) | st.none() | st.text(max_size=2)
bad_positive = st.floats(max_value=0.0) | st.just(float("nan")) | st.just(float("inf"))


@settings(max_examples=30, deadline=None)
@given(bad=bad_sizes)
def test_bad_sizes_raise_value_error_naming_the_parameter(bad):
    with pytest.raises(ValueError, match=r"^d must"):
        GOE(bad)
    with pytest.raises(ValueError, match=r"^d must"):
        BulkZerosOutliers(bad)
    with pytest.raises(ValueError, match=r"^d must"):
        beta_ensemble_eigenvalues(bad, 1.0)
    with pytest.raises(ValueError, match=r"^n must"):
        Wishart(bad, 3)
    with pytest.raises(ValueError, match=r"^d must"):
        WishartPlusWigner(3, bad)


@settings(max_examples=30, deadline=None)
@given(bad=bad_positive)
def test_nonpositive_scales_raise_value_error_naming_the_parameter(bad):
    with pytest.raises(ValueError, match=r"^ratio must"):
        marchenko_pastur(bad)
    with pytest.raises(ValueError, match=r"^variance must"):
        marchenko_pastur(0.5, bad)
    with pytest.raises(ValueError, match=r"^variance must"):
        Wishart(5, 3, variance=bad)
    with pytest.raises(ValueError, match=r"^radius must"):
        semicircle(bad)
    with pytest.raises(ValueError, match=r"^beta must"):
        beta_ensemble_eigenvalues(4, bad)
    with pytest.raises(ValueError, match=r"^wigner_scale must"):
        WishartPlusWigner(5, 3, wigner_scale=bad)
    with pytest.raises(ValueError, match=r"^ratio must"):
        wishart_plus_wigner_density(0.0, ratio=bad)
    with pytest.raises(ValueError, match=r"^variance must"):
        wishart_plus_wigner_negative_fraction(ratio=0.5, variance=bad)


@settings(max_examples=30, deadline=None)
@given(bad=st.just(float("nan")) | st.just(float("-inf")) | st.just([1.0, 2.0]))
def test_nonfinite_shift_raises_value_error(bad):
    with pytest.raises(ValueError, match=r"^shift must"):
        ShiftedWishart(5, 3, bad)
    with pytest.raises(ValueError, match=r"^shift must"):
        WishartPlusWigner(5, 3, shift=bad)
    with pytest.raises(ValueError, match=r"^shift must"):
        wishart_plus_wigner_density(0.0, ratio=0.5, shift=bad)


@settings(max_examples=30, deadline=None)
@given(bad=st.floats(max_value=-1e-12) | st.floats(min_value=1.0) | st.just(float("nan")))
def test_zero_fraction_outside_unit_interval_raises(bad):
    with pytest.raises(ValueError, match=r"^zero_fraction must"):
        BulkZerosOutliers(10, zero_fraction=bad)


def test_inconsistent_bulk_parameters_raise():
    with pytest.raises(ValueError, match=r"^n_outliers must"):
        BulkZerosOutliers(10, zero_fraction=0.9, n_outliers=2)
    with pytest.raises(ValueError, match=r"^bulk_ratio must"):
        BulkZerosOutliers(10, bulk_ratio=1.5)


@settings(max_examples=30, deadline=None)
@given(ens=ensembles(), shape=st.lists(st.integers(0, 4), min_size=0, max_size=3))
def test_wrong_z_shape_raises_value_error_naming_z(ens, shape):
    if len(shape) >= 1 and shape[-1] == ens.n_gaussian:
        shape[-1] += 1
    with pytest.raises(ValueError, match=r"^z must"):
        ens.from_gaussian(np.zeros(shape))
    with pytest.raises(ValueError, match=r"^z must"):
        ens.eigenvalues_from_gaussian(np.zeros(shape))


def test_nan_in_z_raises():
    z = np.zeros(GOE(3).n_gaussian)
    z[2] = np.nan
    with pytest.raises(ValueError, match=r"^z must"):
        GOE(3).from_gaussian(z)
