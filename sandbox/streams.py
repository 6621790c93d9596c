"""Per-chain random streams for the numba kernels.

Chain ``c`` owns a xoshiro256++ generator (Blackman & Vigna 2021, "Scrambled
linear pseudorandom number generators", ACM TOMS 47:36) whose 256-bit state
is a pure function of ``(seed, c)``:

    key0, key1 = SeedSequence(seed).generate_state(2, uint64)
    z          = key0 XOR mix64(key1 + c)          (mix64: splitmix64 finaliser)
    state      = next four outputs of splitmix64 started at z

``mix64`` is a bijection, so distinct chains get distinct splitmix64 seeds and
hence statistically independent xoshiro states (period 2^256 - 1; overlap of
two streams of 2^64 draws has probability below 2^-128). Because a chain's
stream depends on nothing but ``(seed, c)``, its trajectory is bitwise the
same whatever the thread count, the chains run beside it, or the executor.
numba's global ``np.random`` state is per thread and cannot give that.

Standard normals use the 256-layer ziggurat of Marsaglia & Tsang (2000, J.
Stat. Softw. 5(8)) in the 52-bit form numpy uses (``random_standard_normal``):
tables are computed below from r = 3.6541528853610088 and the layer area
v = 4.92867323399e-3.
"""
import math

import numba as nb
import numpy as np

__all__ = ["seed_sequence", "chain_states", "standard_normals", "uniforms"]

_U64 = np.uint64
_MASK52 = _U64((1 << 52) - 1)
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_TWO_M53 = 1.0 / 9007199254740992.0


def _ziggurat_tables(n_layers=256, r=3.6541528853610088, v=4.92867323399e-3):
    """Marsaglia–Tsang tables (k, w, f) with 52-bit integer thresholds."""
    m = 2.0**52
    k = np.zeros(n_layers, dtype=np.uint64)
    w = np.zeros(n_layers)
    f = np.zeros(n_layers)
    fr = math.exp(-0.5 * r * r)
    q = v / fr
    k[0] = np.uint64(int(r / q * m))
    w[0] = q / m
    f[0] = 1.0
    w[-1] = r / m
    f[-1] = fr
    x_prev = r
    for i in range(n_layers - 2, 0, -1):
        x = math.sqrt(-2.0 * math.log(v / x_prev + math.exp(-0.5 * x_prev * x_prev)))
        k[i + 1] = np.uint64(int(x / x_prev * m))
        f[i] = math.exp(-0.5 * x * x)
        w[i] = x / m
        x_prev = x
    k[1] = 0
    return k, w, f, r


_ZK, _ZW, _ZF, _ZR = _ziggurat_tables()
_ZINV_R = 1.0 / _ZR


def seed_sequence(seed):
    """Turn a user seed (int, SeedSequence, Generator or None) into a SeedSequence.

    A Generator is advanced: four 63-bit words are drawn from it as entropy,
    so two calls with the same Generator give different (reproducible) streams.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist())
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        return np.random.SeedSequence(None if seed is None else int(seed))
    raise ValueError(
        f"seed must be a non-negative int, a numpy SeedSequence, a numpy Generator or None; got {seed!r}"
    )


@nb.njit(cache=True, inline="always")
def _mix64(z):
    z = (z ^ (z >> _U64(30))) * _M1
    z = (z ^ (z >> _U64(27))) * _M2
    return z ^ (z >> _U64(31))


@nb.njit(cache=True)
def _fill_chain_states(key0, key1, chain_indices, out):
    for j in range(chain_indices.size):
        z = key0 ^ _mix64(key1 + _U64(chain_indices[j]))
        for w in range(4):
            z += _GOLDEN
            out[j, w] = _mix64(z)


def chain_states(seed, n_chains, *, first_chain=0):
    """xoshiro256++ states, shape ``(n_chains, 4)`` uint64, for chains
    ``first_chain, ..., first_chain + n_chains - 1`` of ``seed``."""
    key0, key1 = seed_sequence(seed).generate_state(2, np.uint64)
    idx = np.arange(first_chain, first_chain + n_chains, dtype=np.uint64)
    out = np.empty((n_chains, 4), dtype=np.uint64)
    _fill_chain_states(_U64(key0), _U64(key1), idx, out)
    return out


@nb.njit(cache=True, inline="always")
def _next(s0, s1, s2, s3):
    """One xoshiro256++ output and the advanced state."""
    t = s0 + s3
    result = ((t << _U64(23)) | (t >> _U64(41))) + s0
    t = s1 << _U64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << _U64(45)) | (s3 >> _U64(19))
    return result, s0, s1, s2, s3


@nb.njit(cache=True)
def _normal_slow(idx, x, rabs, s0, s1, s2, s3):
    """Ziggurat rejection branch (about 1.2% of draws): tail or wedge."""
    while True:
        if idx == 0:
            while True:
                r1, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
                r2, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
                xx = -_ZINV_R * math.log1p(-((r1 >> _U64(11)) * _TWO_M53))
                yy = -math.log1p(-((r2 >> _U64(11)) * _TWO_M53))
                if yy + yy > xx * xx:
                    if (rabs >> _U64(8)) & _U64(1):
                        return -(_ZR + xx), s0, s1, s2, s3
                    return _ZR + xx, s0, s1, s2, s3
        r1, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
        u = (r1 >> _U64(11)) * _TWO_M53
        if (_ZF[idx - 1] - _ZF[idx]) * u + _ZF[idx] < math.exp(-0.5 * x * x):
            return x, s0, s1, s2, s3
        # rejected: draw a fresh candidate
        r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
        idx = r & _U64(0xFF)
        r >>= _U64(8)
        rabs = (r >> _U64(1)) & _MASK52
        x = rabs * _ZW[idx]
        if r & _U64(1):
            x = -x
        if rabs < _ZK[idx]:
            return x, s0, s1, s2, s3


@nb.njit(cache=True)
def standard_normals(state, out):
    """Fill ``out`` (1-d float64) with N(0,1) draws from one chain's ``state`` (advanced in place)."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for i in range(out.size):
        r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
        idx = r & _U64(0xFF)
        r >>= _U64(8)
        rabs = (r >> _U64(1)) & _MASK52
        x = rabs * _ZW[idx]
        if r & _U64(1):
            x = -x
        if rabs >= _ZK[idx]:
            x, s0, s1, s2, s3 = _normal_slow(idx, x, rabs, s0, s1, s2, s3)
        out[i] = x
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3


@nb.njit(cache=True)
def uniforms(state, out):
    """Fill ``out`` with U[0, 1) draws (53-bit) from one chain's ``state``."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for i in range(out.size):
        r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
        out[i] = (r >> _U64(11)) * _TWO_M53
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
