"""``sandbox bench``: simulator throughput beside a numpy reference and the hardware bound.

Throughput is chain * dim * steps per second. For each case the same run
measures (docs/conventions.md, "Performance"):

- the numba simulator (:func:`sandbox.simulate`);
- a plain numpy vectorised implementation of the same update
  (``np.random.default_rng``, in-place arrays);
- the hardware bound: (a) generating the same number
  of standard normals with numpy's PCG64 ziggurat called from numba code,
  one generator per thread; (b) for the dense case, that combined with the
  (n_chains x d)(d x d) products alone as 1 / (1/gemm + 1/rng);
- beside it, the same two with the simulator's own per-chain xoshiro256++
  streams in place of PCG64 (:func:`own_rng_seconds`): xoshiro is faster,
  so the simulator can exceed the PCG64 bound, and this ratio says how close
  it is to its own floor.

Each timing is the best of ``repeats`` runs after a warm-up that compiles.
The ``spectra`` section times GOE eigenvalue sampling and subset simulation;
the ``dos`` section times nested sampling (:func:`run_dos_benchmarks`) and
compares its loss evaluations per second with a tight numba loop and numpy;
the ``symbolic`` section (:func:`run_symbolic_benchmarks`) sets symbolic
landscapes beside built-in and hand-written kernels and times compilation
and reuse across processes.
The ``transitions`` section (:func:`run_transitions_benchmarks`) counts
transitions between core sets per second against a numpy implementation.
"""
import time
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np

from models import Quadratic, random_rotation
from models.kernels import value
from sandbox.streams import chain_states, standard_normals
from sandbox.simulate import simulate
from sandbox.threads import all_blas_threads

__all__ = ["run_benchmarks", "run_spectra_benchmarks", "run_dos_benchmarks", "run_symbolic_benchmarks", "ula_numpy",
           "rng_bound_seconds", "own_rng_seconds", "evaluation_bound_seconds",
           "run_transitions_benchmarks"]


def _best_time(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def ula_numpy(landscape, *, n_chains, n_steps, step_size, temperature, seed=0):
    """Reference ULA in vectorised numpy: x <- x - h grad L(x) + sqrt(2 h T) z, in place."""
    rng = np.random.default_rng(seed)
    d = landscape.dim
    x = np.zeros((n_chains, d))
    g = np.empty_like(x)
    z = np.empty_like(x)
    scale = np.sqrt(2 * step_size * temperature)
    dense = landscape.affine_gradient is not None
    for _ in range(n_steps):
        if dense:
            np.matmul(x, landscape.matrix, out=g)
        else:
            np.multiply(x, landscape.eigenvalues, out=g)
        g *= -step_size
        x += g
        rng.standard_normal(out=z)
        z *= scale
        x += z
    return x


@nb.njit(nogil=True, cache=True)
def _numpy_normals(gen, out, n_total):
    done = 0
    while done < n_total:
        m = min(out.size, n_total - done)
        for i in range(m):
            out[i] = gen.standard_normal()
        done += m


def rng_bound_seconds(n_normals, *, seed=0, chunk=1 << 20):
    """Seconds for numba threads, one PCG64 Generator each, to draw ``n_normals`` normals.

    This is the benchmark's bound: numpy's fastest generator (PCG64
    ziggurat) called from numba threads.
    """
    n_threads = nb.get_num_threads()
    gens = [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(n_threads)]
    share = [n_normals // n_threads + (i < n_normals % n_threads) for i in range(n_threads)]
    bufs = [np.empty(chunk) for _ in range(n_threads)]
    _numpy_normals(gens[0], bufs[0][:16], 16)  # compile
    with ThreadPoolExecutor(n_threads) as pool:
        t0 = time.perf_counter()
        list(pool.map(_numpy_normals, gens, bufs, share))
        return time.perf_counter() - t0


@nb.njit(cache=True, parallel=True)
def _chain_normals(states, n_steps, d):
    for c in nb.prange(states.shape[0]):
        z = np.empty(d)
        for _ in range(n_steps):
            standard_normals(states[c], z)


def own_rng_seconds(n_chains, d, n_steps, *, seed=0):
    """Seconds to draw the normals ULA needs from the simulator's own streams, and nothing else.

    Same per-chain xoshiro256++ ziggurat as the simulator (:mod:`sandbox.streams`),
    n_steps blocks of d per chain, chains over the numba threads. xoshiro is
    faster than PCG64, so this is the tighter floor for the simulator.
    """
    _chain_normals(chain_states(seed, 2), 1, d)  # compile
    states = chain_states(seed, n_chains)
    t0 = time.perf_counter()
    _chain_normals(states, n_steps, d)
    return time.perf_counter() - t0


def gemm_seconds(n_chains, d, n_steps, *, seed=0):
    """Seconds for ``n_steps`` products (n_chains x d)(d x d) with numpy's BLAS (all threads)."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n_chains, d)), rng.standard_normal((d, d))
    out = np.empty((n_chains, d))
    with all_blas_threads():  # the bound: BLAS on every core, whatever the package's own limit
        t0 = time.perf_counter()
        for _ in range(n_steps):
            np.matmul(a, b, out=out)
        return time.perf_counter() - t0


def run_benchmarks(*, quick=False, repeats=2, print_fn=print):
    """Run the ULA benchmarks; return a list of result dicts (and print a table)."""
    d, n_chains, n_steps = 100, 4096, (200 if quick else 1000)
    h, temp = 0.1, 1.0
    work = n_chains * d * n_steps
    lam = np.geomspace(1e-2, 1.0, d)
    cases = {
        "(a) diagonal quadratic": Quadratic(lam),
        "(b) dense rotated quadratic": Quadratic(lam, rotation=random_rotation(d, seed=1)),
    }
    t_rng = min(rng_bound_seconds(work, seed=k) for k in range(repeats))
    t_own = min(own_rng_seconds(n_chains, d, n_steps, seed=k) for k in range(repeats))
    t_gemm = min(gemm_seconds(n_chains, d, n_steps, seed=k) for k in range(repeats))
    results = []
    print_fn(f"ULA, d={d}, {n_chains} chains x {n_steps} steps, {nb.get_num_threads()} threads; "
             "throughput in chain*dim*steps/s")
    for name, q in cases.items():
        simulate(q, "ula", n_chains=8, n_steps=2, step_size=h, temperature=temp, seed=0)  # compile
        t_sim = _best_time(lambda: simulate(q, "ula", n_chains=n_chains, n_steps=n_steps, step_size=h,
                                            temperature=temp, seed=0), repeats)
        with all_blas_threads():  # plain numpy as a user runs it: BLAS on every core
            t_np = _best_time(lambda: ula_numpy(q, n_chains=n_chains, n_steps=n_steps, step_size=h,
                                                temperature=temp), repeats)
        extra = 0.0 if q.affine_gradient is None else t_gemm
        t_bound, t_own_bound = t_rng + extra, t_own + extra
        row = {
            "case": name,
            "numba_per_s": work / t_sim,
            "numpy_per_s": work / t_np,
            "bound_per_s": work / t_bound,
            "numba_over_bound": t_bound / t_sim,
            "numpy_over_bound": t_bound / t_np,
            "numba_over_numpy": t_np / t_sim,
            "numba_over_own_rng_bound": t_own_bound / t_sim,
        }
        results.append(row)
        bound_name = "rng" if q.affine_gradient is None else "1/(1/gemm + 1/rng)"
        print_fn(f"{name}: numba {row['numba_per_s']:.3g}/s, numpy {row['numpy_per_s']:.3g}/s, "
                 f"bound [{bound_name}] {row['bound_per_s']:.3g}/s -> numba/bound {row['numba_over_bound']:.2f}, "
                 f"numpy/bound {row['numpy_over_bound']:.2f}, numba/numpy {row['numba_over_numpy']:.2f}; "
                 f"numba/bound with its own xoshiro streams {row['numba_over_own_rng_bound']:.2f}")
    print_fn(f"bound parts: rng {work / t_rng:.3g} normals/s (numpy PCG64 ziggurat from numba threads), "
             f"own streams {work / t_own:.3g} normals/s (xoshiro256++), gemm {work / t_gemm:.3g} chain*dim*steps/s")
    return results


def run_spectra_benchmarks(*, quick=False, repeats=2, print_fn=print):
    """Beta-ensemble (tridiagonal) eigenvalues vs dense ``eigvalsh``; subset simulation vs direct cost."""
    from models.spectra import GOE, beta_ensemble_eigenvalues
    from sandbox.rare_events import subset_cost_to_precision

    d = 1000
    goe = GOE(d)
    t_tri = _best_time(lambda: beta_ensemble_eigenvalues(d, 1.0, seed=0), repeats)
    h = goe.sample(seed=0)
    with all_blas_threads():  # the dense reference as numpy runs it: LAPACK on every core
        t_dense = _best_time(lambda: np.linalg.eigvalsh(h), repeats)
    t_sample = _best_time(lambda: goe.sample(seed=0), repeats)
    print_fn(f"GOE eigenvalues, d={d}: tridiagonal beta-ensemble {t_tri * 1e3:.1f} ms; dense eigvalsh "
             f"{t_dense * 1e3:.1f} ms (+ {t_sample * 1e3:.1f} ms to sample the matrix) -> "
             f"{(t_dense + t_sample) / t_tri:.0f}x faster")
    d_rare = 12 if quick else 20
    t0 = time.perf_counter()
    cost = subset_cost_to_precision(GOE(d_rare), target_stderr=0.5, seed=0)
    elapsed = time.perf_counter() - t0
    res = cost.result
    print_fn(f"subset simulation, GOE d={d_rare}: log P = {res.value:.2f} +- {res.stderr:.2f} in {elapsed:.1f} s, "
             f"{cost.subset_evaluations} matrices tested; direct sampling would need "
             f"{cost.direct_evaluations:.3g} (1/P = {np.exp(-res.value):.3g}) -> {cost.speedup:.3g}x fewer")
    return {"tridiagonal_s": t_tri, "dense_eigvalsh_s": t_dense, "subset_s": elapsed,
            "subset_evaluations": cost.subset_evaluations, "direct_evaluations": cost.direct_evaluations,
            "log_p": res.value, "log_p_stderr": res.stderr}


@nb.njit(cache=True, parallel=True)
def _evaluate_rounds(fns, params, x, n_rounds, out):
    n = x.shape[0]
    for i in nb.prange(n):
        s = 0.0
        for r in range(n_rounds):
            s += value(fns, params, x[(i + r) % n])[1]
        out[i] = s


def evaluation_bound_seconds(landscape, x, n_rounds):
    """Seconds for the landscape's numba kernel to evaluate L ``n_rounds`` times per row of ``x``.

    A tight loop over all threads on points that stay in cache, as the
    sampler's do: no sampler can evaluate L faster, so this is the hardware
    bound of an evaluation-dominated sampler.
    """
    kernel = landscape.compiled(("value",))
    out = np.empty(x.shape[0])
    _evaluate_rounds(kernel.addresses, kernel.params, x, 1, out)  # compile
    t0 = time.perf_counter()
    _evaluate_rounds(kernel.addresses, kernel.params, x, n_rounds, out)
    return time.perf_counter() - t0


def run_dos_benchmarks(*, quick=False, repeats=2, print_fn=print):
    """Nested sampling to log V(eps) within 0.5 nats: d = 20 and d = 100, condition number 100.

    Beside the wall time: the sampler's loss evaluations per second against
    evaluations of cached points in a tight numba loop (the bound) and in
    numpy (``landscape.value`` on a batch of 1024), measured in the same run. ``repeats``
    is unused: one nested-sampling run per case.
    """
    from sandbox.nested import benchmark_dos

    cases = [(20, 0.1)] if quick else [(20, 0.1), (100, 0.33)]
    rows = []
    print_fn(f"nested sampling, ellipsoid with lam log-spaced in [1, 100], box [-sqrt 2, sqrt 2]^d, eps = 1, "
             f"{nb.get_num_threads()} threads")
    for d, stderr in cases:
        b = benchmark_dos(d, stderr=stderr)
        q = b.landscape
        x = np.random.default_rng(0).uniform(*b.bounds, size=(1024, d))
        n_rounds = 4096
        t_bound = min(evaluation_bound_seconds(q, x, n_rounds) for _ in range(repeats))
        t_numpy = _best_time(lambda: q.value(x), 20 * repeats)
        sampler_rate = b.n_evaluations / b.wall_time
        bound_rate, numpy_rate = x.shape[0] * n_rounds / t_bound, x.shape[0] / t_numpy
        row = {"d": d, "n_live": b.n_live, "n_steps": b.n_steps, "wall_s": b.wall_time,
               "evaluations": b.n_evaluations, "depth": b.depth, "log_v": b.estimate.value,
               "log_v_stderr": b.estimate.stderr, "exact": b.exact, "error": b.error,
               "sampler_evals_per_s": sampler_rate, "bound_evals_per_s": bound_rate,
               "numpy_evals_per_s": numpy_rate}
        rows.append(row)
        print_fn(f"d={d}: {b.wall_time:.1f} s, {b.n_evaluations:.3g} evaluations (n_live={b.n_live}, "
                 f"{b.n_steps} slice steps, depth {b.depth:.1f} nats): log V = {b.estimate.value:.3f} +- "
                 f"{b.estimate.stderr:.3f}, exact {b.exact:.3f}, error {b.error:+.3f} nats")
        print_fn(f"  evaluations/s: sampler {sampler_rate:.3g}, bound [numba loop] {bound_rate:.3g}, numpy "
                 f"{numpy_rate:.3g} -> sampler/bound {sampler_rate / bound_rate:.2f}, numpy/bound "
                 f"{numpy_rate / bound_rate:.2f}")
    print_fn("  reference (published figures, not measured here): dynesty 3.1, nlive 500, d=20: 90-115 s, 0.5-1.5e6 "
             "evaluations, error 0.15-0.85 nats; reported not to converge near d=150")
    return rows


# --- symbolic landscapes -----------------------------------------------------------------

@nb.njit(cache=True)
def _double_well_value(x, p):
    t = x[0] * x[0] - 1.0
    return t * t + 0.5 * x[1] * x[1]


@nb.njit(cache=True)
def _double_well_gradient(x, p, out):
    out[0] = 4.0 * x[0] * (x[0] * x[0] - 1.0)
    out[1] = x[1]


@nb.njit(cache=True, parallel=True)
def _fused_double_well_ula(x, states, n_steps, step, scale):
    """ULA on (x^2 - 1)^2 + y^2/2 with the gradient written into the loop: no landscape interface at all."""
    for c in nb.prange(x.shape[0]):
        z = np.empty(2)
        st = states[c]
        x0, x1 = x[c, 0], x[c, 1]
        for _ in range(n_steps):
            standard_normals(st, z)
            g0 = 4.0 * x0 * (x0 * x0 - 1.0)
            x0 = x0 - step * g0 + scale * z[0]
            x1 = x1 - step * x1 + scale * z[1]
        x[c, 0], x[c, 1] = x0, x1


_PROCESS_SCRIPT = r"""
import sys, time
t0 = time.perf_counter()
from models import Quadratic, Symbolic
from sandbox import simulate
landscape = Quadratic([1.0, 2.0]) if sys.argv[1] == "builtin" else Symbolic(sys.argv[1], ["x", "y"])
simulate(landscape, "ula", n_chains=64, n_steps=100, step_size=0.01, temperature=0.5, seed=0).check()
print(time.perf_counter() - t0)
"""


def _process_seconds(arg):
    """Wall time of a fresh Python process that imports the package and runs a small ULA on ``arg``."""
    import subprocess
    import sys

    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PROCESS_SCRIPT, arg], capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, float(out.stdout.strip().splitlines()[-1])


def run_symbolic_benchmarks(*, quick=False, repeats=2, print_fn=print):
    """Symbolic landscapes against built-in and hand-written kernels, compile and reuse times, sweeps.

    - ULA throughput (chain*dim*steps/s) of a ``Symbolic`` diagonal quadratic written as a sum
      against the built-in ``Quadratic``, d = 10 and 100, in the same run (target >= 0.8);
    - a ``Symbolic`` 2-d double well against the same loss as hand-written njit functions
      (``Custom``) and against a ULA loop with the gradient written in (no landscape interface);
    - the wall time of a new process that compiles a new expression, of one that reuses it from
      the disk cache, and of one that uses the built-in path (target: reuse adds < 1 s);
    - the compile count of a sweep over 20 ``with_parameters`` values (target 1).
    """
    import uuid

    from models import Custom, Symbolic, kernels
    from models import symbolic as symbolic_module

    n_chains, n_steps = 4096, (200 if quick else 1000)
    h, temp = 0.01, 1.0
    rows = []
    print_fn(f"symbolic landscapes, ULA with {n_chains} chains x {n_steps} steps, {nb.get_num_threads()} threads; "
             "throughput in chain*dim*steps/s")

    def throughput(landscape):
        d = landscape.dim
        simulate(landscape, "ula", n_chains=8, n_steps=2, step_size=h, temperature=temp, seed=0)  # compile
        t = _best_time(lambda: simulate(landscape, "ula", n_chains=n_chains, n_steps=n_steps, step_size=h,
                                        temperature=temp, seed=0), repeats)
        return n_chains * d * n_steps / t

    for d in (10, 100):
        lam = np.geomspace(0.1, 1.0, d)
        text = " + ".join(f"{float(lam[i])!r}*x{i}**2/2" for i in range(d))
        sym, builtin = Symbolic(text, [f"x{i}" for i in range(d)]), Quadratic(lam)
        r_sym, r_builtin = throughput(sym), throughput(builtin)
        rows.append({"case": f"diagonal quadratic d={d}", "symbolic_per_s": r_sym, "reference_per_s": r_builtin,
                     "ratio": r_sym / r_builtin})
        print_fn(f"diagonal quadratic d={d} (sum of {d} terms): Symbolic {r_sym:.3g}/s, built-in Quadratic "
                 f"{r_builtin:.3g}/s -> ratio {r_sym / r_builtin:.2f} (target >= 0.8)")

    well = Symbolic("(x**2 - 1)**2 + y**2/2", ["x", "y"])
    hand = Custom(_double_well_value, _double_well_gradient, dim=2)
    r_sym, r_hand = throughput(well), throughput(hand)
    states = chain_states(0, n_chains)
    x = np.zeros((n_chains, 2))
    scale = float(np.sqrt(2 * h * temp))
    _fused_double_well_ula(x[:2], states[:2], 2, h, scale)  # compile
    t_fused = _best_time(lambda: _fused_double_well_ula(np.zeros((n_chains, 2)), chain_states(0, n_chains), n_steps,
                                                        h, scale), repeats)
    r_fused = n_chains * 2 * n_steps / t_fused
    rows.append({"case": "2-d double well", "symbolic_per_s": r_sym, "reference_per_s": r_hand,
                 "ratio": r_sym / r_hand, "fused_loop_per_s": r_fused})
    print_fn(f"2-d double well: Symbolic {r_sym:.3g}/s, hand-written njit kernel (Custom) {r_hand:.3g}/s -> ratio "
             f"{r_sym / r_hand:.2f} (target >= 0.8); a ULA loop with the gradient written in {r_fused:.3g}/s "
             f"(Symbolic/fused {r_sym / r_fused:.2f}: the cost of the landscape interface at d = 2)")

    token = uuid.uuid4().int % 10**9
    fresh = f"(x**2 - 1)**2 + y**2/2 + {token}e-15*x*y"
    wall_builtin, _ = min(_process_seconds("builtin") for _ in range(repeats))
    wall_cold, _ = _process_seconds(fresh)
    wall_warm, _ = min(_process_seconds(fresh) for _ in range(repeats))
    rows.append({"case": "processes", "builtin_s": wall_builtin, "cold_s": wall_cold, "warm_s": wall_warm,
                 "reuse_overhead_s": wall_warm - wall_builtin})
    print_fn(f"new process, small ULA run: built-in path {wall_builtin:.2f} s; a new expression (generate + compile) "
             f"{wall_cold:.2f} s; the same expression again (disk cache) {wall_warm:.2f} s -> reuse adds "
             f"{wall_warm - wall_builtin:+.2f} s over the built-in path (target < 1 s)")

    sweep = Symbolic(f"(x**2 - a**2)**2 + {token}e-15*x", ["x"], parameters={"a": 1.0})   # new to this process
    before, adapters = symbolic_module.compile_count(), len(kernels._ADAPTERS)
    for a in np.linspace(0.5, 2.0, 20):
        simulate(sweep.with_parameters(a=float(a)), "ula", n_chains=64, n_steps=100, step_size=0.001,
                 temperature=0.5, seed=0)
    builds = symbolic_module.compile_count() - before
    new_adapters = len(kernels._ADAPTERS) - adapters
    rows.append({"case": "with_parameters sweep", "compile_count": builds, "adapter_compilations": new_adapters})
    print_fn(f"sweep of 20 with_parameters values of a new expression: {builds} kernel build(s) and {new_adapters} "
             "adapter compilations in all, both at the first value (target: 1 build)")
    return rows


# --- rare-event splitting -----------------------------------------------------------------

def run_splitting_benchmarks(*, quick=False, repeats=2, print_fn=print):
    """AMS MFPTs of the 1-d double well at tau ~ 1e6 and 1e9 against the exact formula and direct simulation.

    U = (x^2 - 1)^2, from -1 into |x - 1| <= 0.1, ULA with h = 4e-3. T is chosen from the exact MFPT,
    (1/T) int_x0^b e^{U(y)/T} int_-inf^y e^{-U(z)/T} dz dy with b = 0.9 (Simpson's rule, exponents
    shifted). For each case: wall time, relative error against the exact value, relative standard
    error e. Direct simulation to the same e needs 1/e^2 exponential first-passage times of tau/h ULA
    steps each; its cost is that count divided by the steps per second of the direct ULA
    first-passage kernel (:func:`sandbox.escape.exit_times`) measured in the same run. ``repeats`` is
    unused (one AMS run per case).
    """
    from scipy.integrate import cumulative_simpson, simpson
    from scipy.optimize import brentq

    from models import double_well
    from sandbox.escape import exit_times
    from sandbox.splitting import ams_mean_first_passage_time

    def exact_mfpt(temperature, x0=-1.0, b=0.9):
        y = np.linspace(-4.0, b, 200_001)
        u = (y * y - 1.0) ** 2
        outer = y >= x0
        u_max = u[outer].max()
        inner = cumulative_simpson(np.exp(-u / temperature), x=y, initial=0.0)
        integral = simpson(np.exp((u[outer] - u_max) / temperature) * inner[outer], x=y[outer])
        return float(np.exp(u_max / temperature) * integral / temperature)

    h = 4e-3
    n_replicas, n_runs = (200, 20) if quick else (400, 40)
    well = double_well()
    kw = dict(step_size=h, n_replicas=n_replicas, n_runs=n_runs, n_cycles=2, seed=0)
    ams_mean_first_passage_time(well, [-1.0], ([1.0], 0.1), temperature=0.2,
                                **{**kw, "n_replicas": 4, "n_runs": 2})  # compile
    direct = dict(origin=[-50.0], x0=[-1.0], step_size=h, monitoring_correction=False, seed=0)
    exit_times(well, radius=50.9, n_chains=2, max_steps=10, temperature=0.2, **direct)  # compile
    n_direct, direct_steps = 64, (20_000 if quick else 100_000)
    # chains that cannot leave (radius 1e6) at T = 0.05: every one runs all its steps
    t_direct = _best_time(lambda: exit_times(well, radius=1e6, n_chains=n_direct, max_steps=direct_steps,
                                             temperature=0.05, **direct), 2)
    direct_rate = n_direct * direct_steps / t_direct
    print_fn(f"AMS on U = (x^2 - 1)^2 from -1 into |x - 1| <= 0.1, ULA h = {h}, {n_replicas} replicas x {n_runs} "
             f"runs, {nb.get_num_threads()} threads; direct ULA first-passage kernel: {direct_rate:.3g} steps/s")
    rows = []
    for tau_target in (1e6, 1e9):
        temperature = brentq(lambda t: np.log(exact_mfpt(t) / tau_target), 0.03, 0.2, xtol=1e-6)
        exact = exact_mfpt(temperature)
        t0 = time.perf_counter()
        res = ams_mean_first_passage_time(well, [-1.0], ([1.0], 0.1), temperature=temperature, **kw)
        wall = time.perf_counter() - t0
        rel_se = res.stderr / res.value
        direct_steps_needed = exact / h / rel_se ** 2
        direct_s = direct_steps_needed / direct_rate
        row = {"tau_exact": exact, "temperature": temperature, "wall_s": wall, "estimate": res.value,
               "stderr": res.stderr, "relative_error": res.value / exact - 1, "relative_stderr": rel_se,
               "steps": res.details["steps"], "direct_steps": direct_steps_needed, "direct_s": direct_s,
               "speedup": direct_s / wall}
        rows.append(row)
        print_fn(f"tau = {exact:.3g} (T = {temperature:.4f}): AMS {res.value:.4g} +- {res.stderr:.2g} in {wall:.1f} s "
                 f"({res.details['steps']:.3g} steps), error {row['relative_error']:+.1%}, relative SE "
                 f"{rel_se:.1%}; direct to the same SE: {direct_steps_needed:.3g} steps = {direct_s:.3g} s "
                 f"({direct_s / 3.156e7:.3g} years) -> {row['speedup']:.3g}x the AMS wall time")
    return rows


# --- transitions between core sets ---------------------------------------------------------

def _transitions_numpy(n_chains, n_steps, step_size, temperature, a, centers, radius, seed=0):
    """Milestoning counts of ULA on the entropic double well in plain numpy, vectorised over chains.

    The same update and counting as :func:`sandbox.transitions` (gradient written out:
    grad U = (4 x (x^2 - 1) + a exp(a x) y^2 / 2, exp(a x) y)); returns the counts (K, K).
    """
    rng = np.random.default_rng(seed)
    k = centers.shape[0]
    x = np.array(centers[np.arange(n_chains) % k])
    last = np.arange(n_chains) % k
    counts = np.zeros((k, k), dtype=np.int64)
    g, z = np.empty_like(x), np.empty_like(x)
    scale, r2 = np.sqrt(2 * step_size * temperature), radius**2
    for _ in range(n_steps):
        e = np.exp(a * x[:, 0])
        g[:, 0] = 4 * x[:, 0] * (x[:, 0] ** 2 - 1) + 0.5 * a * e * x[:, 1] ** 2
        g[:, 1] = e * x[:, 1]
        rng.standard_normal(out=z)
        x -= step_size * g
        x += scale * z
        inside = ((x[:, None, :] - centers) ** 2).sum(axis=2) <= r2
        core = np.where(inside.any(axis=1), inside.argmax(axis=1), -1)
        moved = (core >= 0) & (core != last)
        np.add.at(counts, (last[moved], core[moved]), 1)
        last[moved] = core[moved]
    return counts


def run_transitions_benchmarks(*, quick=False, repeats=2, print_fn=print):
    """Transitions counted per second by :func:`sandbox.transitions` against plain numpy, same run.

    Entropic double well (a = ln 2) at T = 0.25, ULA with h = 5e-3, cores of radius 0.4 around
    (-1, 0) and (1, 0), chains started at the core centers in turn. Both count with milestoning;
    the rates each one measures are printed beside the throughput as a check that they count the
    same thing.
    """
    from models import entropic_double_well
    from sandbox.transitions import transitions

    n_chains, n_steps = 1024, (4000 if quick else 20_000)
    h, temp, radius, a = 5e-3, 0.25, 0.4, float(np.log(2.0))
    centers = np.array([[-1.0, 0.0], [1.0, 0.0]])
    landscape = entropic_double_well(a)
    basins = [(c, radius) for c in centers]
    kw = dict(temperature=temp, step_size=h, n_chains=n_chains, n_steps=n_steps)
    transitions(landscape, basins, temperature=temp, step_size=h, n_chains=4, n_steps=10, seed=0)  # compile
    t_numba = t_numpy = np.inf
    for k in range(repeats):
        t0 = time.perf_counter()
        res = transitions(landscape, basins, seed=k, **kw)
        t_numba = min(t_numba, time.perf_counter() - t0)
        t0 = time.perf_counter()
        counts_np = _transitions_numpy(n_chains, n_steps, h, temp, a, centers, radius, seed=k)
        t_numpy = min(t_numpy, time.perf_counter() - t0)
    total_time = n_chains * n_steps * h
    n_numba, n_numpy = int(res.counts.sum()), int(counts_np.sum())
    row = {"n_chains": n_chains, "n_steps": n_steps, "numba_s": t_numba, "numpy_s": t_numpy,
           "numba_transitions": n_numba, "numpy_transitions": n_numpy,
           "numba_transitions_per_s": n_numba / t_numba, "numpy_transitions_per_s": n_numpy / t_numpy,
           "numba_chain_steps_per_s": n_chains * n_steps / t_numba,
           "numpy_chain_steps_per_s": n_chains * n_steps / t_numpy, "numba_over_numpy": t_numpy / t_numba,
           "k_lr": res.rates.value[0, 1], "k_lr_stderr": res.rates.stderr[0, 1],
           "k_rl": res.rates.value[1, 0], "k_rl_stderr": res.rates.stderr[1, 0]}
    print_fn(f"transitions, entropic double well (a = ln 2), T = {temp}, ULA h = {h}, cores r = {radius}, "
             f"{n_chains} chains x {n_steps} steps ({total_time:.3g} time units), {nb.get_num_threads()} threads")
    print_fn(f"numba (sandbox.transitions): {n_numba} transitions in {t_numba:.2f} s -> "
             f"{row['numba_transitions_per_s']:.3g} transitions/s, {row['numba_chain_steps_per_s']:.3g} chain*steps/s")
    print_fn(f"numpy (vectorised over chains): {n_numpy} transitions in {t_numpy:.2f} s -> "
             f"{row['numpy_transitions_per_s']:.3g} transitions/s, {row['numpy_chain_steps_per_s']:.3g} chain*steps/s")
    print_fn(f"numba/numpy (same work) {row['numba_over_numpy']:.1f}x; rates measured by numba: k_LR = "
             f"{row['k_lr']:.4g} +- {row['k_lr_stderr']:.2g}, k_RL = {row['k_rl']:.4g} +- {row['k_rl_stderr']:.2g}; "
             f"numpy counted {counts_np[0, 1]} L->R and {counts_np[1, 0]} R->L")
    return row
