"""Tests of sandbox.streams: the per-chain xoshiro256++ streams and their normals.

The generator is checked against the published xoshiro256++ and splitmix64
test vectors and a pure-Python transcription of the module docstring; the
ziggurat normals against N(0, 1) (KS, moments, a chi-square over the
ziggurat's own layer boundaries, the tail branch beyond r). Random tests use a
fixed seed that ``SANDBOX_TEST_SEED`` overrides; z-scores pass below 5, KS and
chi-square tests at p > 1e-4, each paired with a check of its power.
"""
import math
import os

import numpy as np
import pytest
import scipy.stats

from sandbox import streams
from sandbox.streams import chain_states, seed_sequence, standard_normals, uniforms

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "20240601"))
SIG = 5.0
P_MIN = 1e-4
ZIGGURAT_R = 3.6541528853610088
MASK64 = (1 << 64) - 1


# --- reference implementations (pure Python, from the papers) -----------------

def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK64


def xoshiro256pp(state, n):
    """Blackman & Vigna's reference ``next()`` for xoshiro256++, n outputs."""
    s = [int(w) for w in state]
    out = []
    for _ in range(n):
        result = (_rotl((s[0] + s[3]) & MASK64, 23) + s[0]) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        out.append(result)
    return out


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def splitmix64(z, n):
    out = []
    for _ in range(n):
        z = (z + 0x9E3779B97F4A7C15) & MASK64
        out.append(mix64(z))
    return out


def normals(seed, n_chains, n, first_chain=0):
    states = chain_states(seed, n_chains, first_chain=first_chain)
    out = np.empty((n_chains, n))
    for c in range(n_chains):
        standard_normals(states[c], out[c])
    return out


def uniform_draws(seed, n_chains, n):
    states = chain_states(seed, n_chains)
    out = np.empty((n_chains, n))
    for c in range(n_chains):
        uniforms(states[c], out[c])
    return out


@pytest.fixture(scope="module")
def many_normals():
    """4 chains x 10^6 normals (flattened)."""
    return normals(SEED, 4, 1_000_000).ravel()


def layer_edges(sub=1):
    """Edges 0 < x_1 < ... < x_255 = r < inf of the ziggurat's layers, each layer
    [x_{i-1}, x_i) split into ``sub`` bins of equal normal probability."""
    x = np.concatenate([[0.0], np.sort(streams._ZW[1:] * 2.0**52)])
    cdf = scipy.stats.norm.cdf(x)
    fine = (cdf[:-1, None] + np.arange(sub) / sub * np.diff(cdf)[:, None]).ravel()
    return np.concatenate([scipy.stats.norm.ppf(fine), [ZIGGURAT_R, np.inf]])


FINE_EDGES = layer_edges(sub=4)


@pytest.fixture(scope="module")
def big_sample():
    """From 2 x 10^7 normals of 4 chains (another seed than many_normals), made in
    chunks to keep memory small: (n, histogram of |x| on FINE_EDGES, draws with |x| > r)."""
    states = chain_states(SEED + 7, 4)
    chunk = np.empty(1_000_000)
    counts = np.zeros(FINE_EDGES.size - 1, dtype=np.int64)
    kept = []
    for _ in range(5):
        for c in range(4):
            standard_normals(states[c], chunk)
            a = np.abs(chunk)
            counts += np.bincount(np.searchsorted(FINE_EDGES, a, side="right") - 1, minlength=counts.size)
            kept.append(chunk[a > ZIGGURAT_R])
    return 20_000_000, counts, np.concatenate(kept)


# --- the generator is xoshiro256++ seeded as documented -----------------------

def test_reference_xoshiro256pp_and_splitmix64_reproduce_published_vectors():
    """Vectors from the reference C code (also the rand_xoshiro crate's tests)."""
    assert xoshiro256pp([1, 2, 3, 4], 5) == [41943041, 58720359, 3588806011781223, 3591011842654386,
                                              9228616714210784205]
    assert splitmix64(1234567, 3) == [6457827717110365317, 3203168211198807973, 9817491932198370423]


def test_uniforms_are_top_53_bits_of_xoshiro256pp_outputs():
    state = np.array([1, 2, 3, 4], dtype=np.uint64)
    out = np.empty(10)
    uniforms(state, out)
    expected = [(r >> 11) * 2.0**-53 for r in xoshiro256pp([1, 2, 3, 4], 10)]
    assert out.tolist() == expected


def test_chain_states_follow_the_documented_seeding():
    """key0, key1 = SeedSequence(seed).generate_state(2); state = splitmix64(key0 ^ mix64(key1 + c))."""
    key0, key1 = (int(k) for k in np.random.SeedSequence(SEED).generate_state(2, np.uint64))
    got = chain_states(SEED, 5, first_chain=7)
    assert got.dtype == np.uint64 and got.shape == (5, 4)
    for j in range(5):
        z = key0 ^ mix64((key1 + 7 + j) & MASK64)
        assert [int(w) for w in got[j]] == splitmix64(z, 4)


# --- seeds ----------------------------------------------------------------------

def test_chain_states_with_first_chain_are_rows_of_a_bigger_call():
    big = chain_states(SEED, 100)
    np.testing.assert_array_equal(chain_states(SEED, 30, first_chain=40), big[40:70])
    np.testing.assert_array_equal(chain_states(SEED, 1, first_chain=99), big[99:])


def test_same_seed_gives_same_states_and_numbers_different_seeds_differ():
    np.testing.assert_array_equal(chain_states(SEED, 8), chain_states(SEED, 8))
    np.testing.assert_array_equal(normals(SEED, 3, 1000), normals(SEED, 3, 1000))
    np.testing.assert_array_equal(chain_states(np.random.SeedSequence(SEED), 8), chain_states(SEED, 8))
    np.testing.assert_array_equal(chain_states(np.int64(SEED), 8), chain_states(SEED, 8))
    other = chain_states(SEED + 1, 8)
    assert not np.any(other == chain_states(SEED, 8))
    assert len({tuple(row) for row in chain_states(SEED, 1000)}) == 1000


def test_seed_sequence_accepts_int_seedsequence_generator_and_none():
    assert seed_sequence(SEED).entropy == SEED
    assert seed_sequence(0).entropy == 0
    ss = np.random.SeedSequence(SEED)
    assert seed_sequence(ss) is ss
    # a Generator is advanced: reproducible from equal generators, different on reuse
    g1, g2 = np.random.default_rng(SEED), np.random.default_rng(SEED)
    a, b = seed_sequence(g1), seed_sequence(g2)
    assert isinstance(a, np.random.SeedSequence)
    np.testing.assert_array_equal(a.generate_state(4), b.generate_state(4))
    assert not np.array_equal(seed_sequence(g1).generate_state(4), a.generate_state(4))
    # None draws fresh OS entropy
    assert isinstance(seed_sequence(None), np.random.SeedSequence)
    assert not np.array_equal(chain_states(None, 2), chain_states(None, 2))


@pytest.mark.parametrize("bad", [-1, np.int64(-5), "123", 1.5, True, [1, 2], object()])
def test_seed_sequence_rejects_negative_ints_and_non_seeds_with_value_error(bad):
    with pytest.raises(ValueError, match=r"\bseed\b"):
        seed_sequence(bad)
    with pytest.raises(ValueError, match=r"\bseed\b"):
        chain_states(bad, 2)


# --- streams are consumed in order ------------------------------------------------

def test_drawing_in_pieces_continues_the_same_stream():
    whole_state, piece_state = chain_states(SEED, 1)[0], chain_states(SEED, 1)[0]
    whole, a, b = np.empty(1000), np.empty(600), np.empty(400)
    standard_normals(whole_state, whole)
    standard_normals(piece_state, a)
    standard_normals(piece_state, b)
    np.testing.assert_array_equal(whole, np.concatenate([a, b]))
    np.testing.assert_array_equal(whole_state, piece_state)
    u_whole, u_a, u_b = np.empty(50), np.empty(20), np.empty(30)
    uniforms(whole_state, u_whole)
    uniforms(piece_state, u_a)
    uniforms(piece_state, u_b)
    np.testing.assert_array_equal(u_whole, np.concatenate([u_a, u_b]))


# --- ziggurat normals ---------------------------------------------------------------

def test_normals_pass_ks_test_against_standard_normal(many_normals):
    x = many_normals[:1_000_000]
    assert scipy.stats.kstest(x, scipy.stats.norm.cdf).pvalue > P_MIN
    # power: the same draws reject a 2% wider normal
    assert scipy.stats.kstest(x, scipy.stats.norm(scale=1.02).cdf, method="asymp").pvalue < P_MIN


def test_normal_moments_have_small_z_scores(many_normals):
    """Raw moments with known truth: E x = 0, E x^2 = 1, E x^3 = 0, E x^4 = 3,
    standard errors sqrt(Var(x^k) / n) from the normal's moments 1, 2, 15, 96."""
    x = many_normals
    n = x.size
    x2 = x * x
    for moment, truth, var in ((x, 0.0, 1.0), (x2, 1.0, 2.0), (x2 * x, 0.0, 15.0), (x2 * x2, 3.0, 96.0)):
        z = (moment.mean() - truth) / math.sqrt(var / n)
        assert abs(z) < SIG, (truth, z)
    positive = np.count_nonzero(x > 0)
    assert abs(positive - n / 2) < SIG * math.sqrt(n / 4)


def _bin_probabilities(edges, scale=1.0):
    prob = 2.0 * np.diff(scipy.stats.norm(scale=scale).cdf(edges))
    prob[-1] = 2.0 * scipy.stats.norm(scale=scale).sf(edges[-2])
    return prob / prob.sum()


def test_normals_fill_every_ziggurat_layer_with_normal_probability(many_normals):
    """Chi-square of |x| binned at the layer edges x_1 < ... < x_255 = r (+ the tail)."""
    edges = layer_edges()
    assert edges.size == 257 and edges[-2] == pytest.approx(ZIGGURAT_R, rel=1e-15)
    observed = np.histogram(np.abs(many_normals), bins=edges)[0]
    n = many_normals.size
    assert scipy.stats.chisquare(observed, _bin_probabilities(edges) * n).pvalue > P_MIN
    # power: the same counts reject a 1% wider normal
    assert scipy.stats.chisquare(observed, _bin_probabilities(edges, 1.01) * n).pvalue < P_MIN


def test_normals_have_normal_shape_inside_each_ziggurat_layer(big_sample):
    """Chi-square on 4 equal-probability bins per layer, 2 x 10^7 draws: sees the
    wedges (the rejection step at the curved edge of each layer) when they are
    grossly wrong (a wedge test 30% off is rejected)."""
    n, counts, _ = big_sample
    prob = _bin_probabilities(FINE_EDGES)
    assert counts.sum() == n
    assert scipy.stats.chisquare(counts, prob * n).pvalue > P_MIN
    assert scipy.stats.chisquare(counts, _bin_probabilities(FINE_EDGES, 1.003) * n).pvalue < P_MIN  # power


def test_tail_frequency_and_shape_beyond_ziggurat_r_match_normal(big_sample):
    """The tail branch (|x| > r) is drawn with Marsaglia's exponential rejection:
    its frequency is 2 Phi(-r), the excess is a truncated normal, signs are fair."""
    n, _, tail = big_sample
    for cut in (ZIGGURAT_R, 4.0, 4.5):
        p = 2.0 * scipy.stats.norm.sf(cut)
        k = np.count_nonzero(np.abs(tail) > cut)
        assert abs(k - n * p) < SIG * math.sqrt(n * p * (1 - p)), (cut, k, n * p)
    a = np.abs(tail)
    assert scipy.stats.kstest(a, scipy.stats.truncnorm(ZIGGURAT_R, np.inf).cdf).pvalue > P_MIN
    excess = a - ZIGGURAT_R
    mean_excess = scipy.stats.truncnorm(ZIGGURAT_R, np.inf).mean() - ZIGGURAT_R
    assert abs(excess.mean() - mean_excess) < SIG * excess.std() / math.sqrt(a.size)
    positive = np.count_nonzero(tail > 0)
    assert abs(positive - a.size / 2) < SIG * math.sqrt(a.size / 4)
    # power: the same tail draws reject a tail 5% too heavy
    heavy = scipy.stats.truncnorm(ZIGGURAT_R / 1.05, np.inf, scale=1.05)
    assert scipy.stats.kstest(a, heavy.cdf, method="asymp").pvalue < P_MIN


# --- uniforms ---------------------------------------------------------------------

def test_uniforms_are_53_bit_values_in_unit_interval_and_pass_ks_test():
    u = uniform_draws(SEED, 2, 500_000).ravel()
    assert u.min() >= 0.0 and u.max() < 1.0
    np.testing.assert_array_equal(u * 2.0**53, np.floor(u * 2.0**53))
    assert scipy.stats.kstest(u, "uniform").pvalue > P_MIN
    assert scipy.stats.kstest(u**1.01, "uniform", method="asymp").pvalue < P_MIN  # power
    n = u.size
    assert abs(u.mean() - 0.5) < SIG * math.sqrt(1 / 12 / n)
    assert abs(((u - 0.5) ** 2).mean() - 1 / 12) < SIG * math.sqrt((1 / 80 - 1 / 144) / n)


# --- independence between chains and seeds ------------------------------------------

def _pair_z_scores(x):
    """z = r sqrt(n) for every pair of rows of x (n_rows, n): ~N(0, 1) if independent."""
    c = np.corrcoef(x)
    iu = np.triu_indices(x.shape[0], k=1)
    return c[iu] * math.sqrt(x.shape[1])


def test_different_chains_streams_are_uncorrelated():
    x = normals(SEED, 64, 4096)
    z = _pair_z_scores(x)
    assert np.max(np.abs(z)) < 6.0  # 2016 pairs: P(max > 6) ~ 4e-6 under independence
    assert scipy.stats.chi2.sf(np.sum(z * z), z.size) > P_MIN
    # lag-1 autocorrelation within each chain
    lag = np.array([np.corrcoef(row[:-1], row[1:])[0, 1] for row in x]) * math.sqrt(x.shape[1] - 1)
    assert scipy.stats.chi2.sf(np.sum(lag * lag), lag.size) > P_MIN
    # power: the maximum sees a correlation of 0.15 between two chains ...
    pair = x.copy()
    pair[1] = 0.15 * x[0] + math.sqrt(1 - 0.15**2) * x[1]
    assert np.max(np.abs(_pair_z_scores(pair))) > 6.0
    # ... and the chi-square a common component of correlation 0.03 between all
    common = math.sqrt(0.03) * x[0] + math.sqrt(1 - 0.03) * x[1:]
    zc = _pair_z_scores(common)
    assert scipy.stats.chi2.sf(np.sum(zc * zc), zc.size) < P_MIN


def test_streams_of_consecutive_seeds_are_uncorrelated_and_do_not_overlap():
    a, b = normals(SEED, 16, 4096), normals(SEED + 1, 16, 4096)
    z = _pair_z_scores(np.vstack([a, b]))
    assert np.max(np.abs(z)) < 6.0
    # no stream is a shifted copy of another: 64 streams x 2000 53-bit uniforms are all distinct
    # (probability of a chance collision ~ 1e-6)
    u = np.vstack([uniform_draws(SEED, 32, 2000), uniform_draws(SEED + 1, 32, 2000)])
    assert np.unique(u).size == u.size
