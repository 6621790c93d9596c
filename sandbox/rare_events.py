r"""Rare-event probabilities of random Hessians: how often is H positive definite?

Scope: estimate :math:`\log P(\lambda_{\min}(H) > 0)` for a random-matrix
ensemble (``models.spectra``) with an honest standard error, from P ~ 1 down
to P ~ 1e-100 and beyond, by plain Monte Carlo (``"direct"``) or by subset
simulation in the ensemble's underlying Gaussian space (``"subset"``).
This is the simulation side of claim C1 (docs/claims.md); the closed forms it is
compared with live in ``analysis.minima``.

Every ensemble is a deterministic map ``z -> H(z)`` from a vector of
``n_gaussian`` i.i.d. standard normals (``Ensemble.from_gaussian``), so

.. math:: P = P_{z \sim N(0, I)}\big(g(z) > 0\big), \qquad
          g(z) = \lambda_{\min}(H(z)).

Subset simulation (Au & Beck 2001) writes P as a product of conditional
probabilities over increasing levels :math:`b_1 < b_2 < \dots < b_m = 0`,

.. math:: P = P(g > b_1) \prod_{i=2}^{m} P(g > b_i \mid g > b_{i-1}),

with levels chosen adaptively so that each factor is about ``p0``, and the
conditional samples produced by Markov chains that leave the Gaussian
restricted to :math:`\{g > b_{i-1}\}` invariant (preconditioned
Crank–Nicolson moves, Cotter, Roberts, Stuart & White 2013, plus radial
moves). Measured with the defaults, GOE d = 30 (log P = -258.86, P ~ 1e-112):
-260.4 +- 1.0 in about 150 s on two busy cores.
"""
import concurrent.futures
import dataclasses
import math
import os
import warnings

import numba as nb
import numpy as np
import scipy.stats

from models.spectra import GOE, Ensemble
from models.validation import check_choice, check_positive, check_positive_int
from models.estimate import Estimate
from sandbox.streams import chain_states, seed_sequence, standard_normals

__all__ = [
    "RareEventResult",
    "log_p_positive_definite",
    "CostToPrecision",
    "subset_cost_to_precision",
    "direct_samples_to_precision",
]

METHODS = ("auto", "direct", "subset")

#: Defaults (documented in :func:`log_p_positive_definite`).
DEFAULT_DIRECT_SAMPLES = 10_000
DEFAULT_SUBSET_SAMPLES = 100
DEFAULT_MIN_SUCCESSES = 100

# Matrices per batch in direct sampling: bounds memory at n_gaussian + d^2
# doubles per matrix (about 11 MB per 1000 matrices at d = 30).
_DIRECT_CHUNK = 4096
# Step-size bounds of the moves (beta of Crank–Nicolson, sigma of the radial move).
_BETA_MIN, _BETA_MAX, _BETA_START = 1e-4, 1.0, 0.5
# Initial step of the radial move, in log of the scale factor.
_SIGMA_START = 0.1


# --------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RareEventResult:
    r"""Estimate of a log-probability with its standard error and diagnostics.

    ``value`` and ``stderr`` behave as in :class:`sandbox.estimate.Estimate`
    (``result.estimate`` is that Estimate; ``z`` and ``interval`` delegate).

    Attributes
    ----------
    value : float
        Estimate of log P (natural log).
    stderr : float
        Its standard error (one standard deviation).
    method : str
        ``"direct"`` or ``"subset"`` (the method actually used; ``"auto"``
        resolves to one of them).
    n_evaluations : int
        Number of matrices whose positivity was tested, counting the pilot of
        ``method="auto"``. Each costs one factorisation: an eigendecomposition
        (``np.linalg.eigvalsh``) or, for a Metropolis acceptance test
        :math:`H - bI \succ 0`, a Cholesky factorisation. Direct sampling to
        the same precision costs :func:`direct_samples_to_precision`
        matrices, each also one factorisation.
    n_eigendecompositions : int
        How many of ``n_evaluations`` were full eigendecompositions.
    n_samples : int
        Direct: matrices sampled. Subset: particles per level in each replica.
    n_successes : int or None
        Direct: positive-definite samples. Subset: None.
    n_levels : tuple of int
        Subset: number of conditional factors (levels, the last at 0) in each
        replica. Direct: ``()``.
    levels : tuple of tuple of float
        Subset: the intermediate levels :math:`b_1 < \dots < b_{m-1} < 0` of
        each replica. Direct: ``()``.
    replica_values : tuple of float
        Subset: each replica's estimate of log P. Direct: ``(value,)``.
    replica_stderrs : tuple of float
        Subset: each replica's within-run standard error. Direct: ``(stderr,)``.
    spread_ratio : float
        Subset with >= 2 replicas: sample variance of ``replica_values``
        divided by the mean within-run variance. About 1 when the Markov
        chains mix well; well above 1 (a warning is issued) when they do not.
        NaN otherwise.
    acceptance_rate : float
        Subset: mean acceptance rate of the Crank–Nicolson steps. NaN for direct.
    """

    value: float
    stderr: float
    method: str
    n_evaluations: int
    n_eigendecompositions: int
    n_samples: int
    n_successes: object = None
    n_levels: tuple = ()
    levels: tuple = ()
    replica_values: tuple = ()
    replica_stderrs: tuple = ()
    spread_ratio: float = math.nan
    acceptance_rate: float = math.nan

    @property
    def estimate(self):
        """The :class:`~sandbox.estimate.Estimate` ``(value, stderr)``."""
        return Estimate(self.value, self.stderr)

    def z(self, predicted):
        """z-score ``(value - predicted) / stderr``."""
        return self.estimate.z(predicted)

    def interval(self, n_sigma=1.96):
        """Normal-approximation interval ``value -+ n_sigma * stderr``."""
        return self.estimate.interval(n_sigma)

    def __repr__(self):
        return (
            f"RareEventResult({self.method}: log P = {self.value:.6g} +- {self.stderr:.2g}, "
            f"n_evaluations={self.n_evaluations})"
        )


# --------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------


def log_p_positive_definite(ensemble, *, method="auto", n_samples=None, seed=None, p0=0.5,
                            n_moves=None, n_replicas=4, target_acceptance=0.3,
                            min_successes=DEFAULT_MIN_SUCCESSES, pilot_samples=DEFAULT_DIRECT_SAMPLES,
                            max_levels=100_000, n_workers=None):
    r"""Log-probability that a random matrix of ``ensemble`` is positive definite.

    Estimates :math:`\log P(\lambda_{\min}(H) > 0)` (natural log) for
    :math:`H = ` ``ensemble.from_gaussian(z)``, :math:`z \sim N(0, I)`, with
    the eigenvalues of ``ensemble.eigenvalues_from_gaussian``.

    **direct** — plain Monte Carlo: n matrices, k of them positive definite,

    .. math:: \widehat{\log P} = \log(k/n), \qquad
              \mathrm{SE} = \sqrt{(1 - \hat p)/k}

    (delta method on the binomial proportion; the relative error is
    1/sqrt(k)). At k = n the delta method gives 0; the SE is then
    :math:`-\log(\mathrm{lo})/1.96 \approx 1.96/n`, lo the lower end of the
    95% Wilson interval. At k = 0 a ValueError is raised: the probability is
    too small for direct sampling with this n; use ``method="subset"``.

    **subset** — subset simulation / adaptive multilevel splitting (Au & Beck
    2001; Cérou & Guyader 2007; Botev & Kroese 2012) on z, with performance
    function :math:`g(z) = \lambda_{\min}(H(z))`. Each of ``n_replicas``
    independent replicas (own child seed) runs:

    1. Draw N = ``n_samples`` i.i.d. z; evaluate g.
    2. Level :math:`b_i`: the (1 - p0) sample quantile of g, placed between
       the order statistics :math:`g_{(N-k)} \le b_i < g_{(N-k+1)}`,
       k = round(p0 N), so that exactly k particles lie above it (weight:
       see Notes). If :math:`b_i \ge 0`, stop: the last factor is
       :math:`\hat p_m = \#\{g > 0\}/N`. Otherwise :math:`\hat p_i = k/N`.
    3. Resample: each survivor is cloned about 1/p0 times (N in all).
    4. Move every particle ``n_moves`` times, each time by

       * a preconditioned Crank–Nicolson step,
         :math:`z' = \sqrt{1 - \beta^2}\, z + \beta \xi`, :math:`\xi \sim N(0, I)`,
         accepted iff :math:`g(z') > b_i`: the proposal is reversible with
         respect to N(0, I), so this leaves the Gaussian restricted to
         :math:`\{g > b_i\}` invariant (Cotter et al. 2013);
       * a radial step :math:`z' = s z`, :math:`\log s \sim N(0, \sigma^2)`,
         accepted with probability
         :math:`\min(1, s^{n} e^{-(s^2 - 1)|z|^2/2})\,1[g(z') > b_i]`
         (n = ``n_gaussian``; Metropolis–Hastings with the Jacobian
         :math:`s^n` of the scaling, Liu & Sabatti 2000). It moves the overall
         scale :math:`|z|^2` (for the GOE, :math:`\operatorname{tr} H^2`),
         which small Crank–Nicolson steps change only slowly.

       The test :math:`g(z') > b_i` is a Cholesky factorisation of
       :math:`H(z') - b_i I` when the ensemble uses plain ``eigvalsh`` for its
       spectrum, an eigendecomposition otherwise. :math:`\beta` and
       :math:`\sigma` are adapted after every step,
       :math:`\beta \leftarrow \beta \exp(a - a^*)` (a the population's
       acceptance rate, :math:`a^*` = ``target_acceptance``), as in the
       adaptive conditional sampling of Papaioannou et al. (2015).
    5. Go to 2 with :math:`i \leftarrow i + 1`.

    The replica's estimate is :math:`\log\hat P_r = \sum_i \log\hat p_i`.
    Its within-run variance uses, at each level, the between-family variance
    of the indicator (a family: the clones of one seed), which accounts for
    the correlation that Au & Beck's factor :math:`\gamma_i` describes:

    .. math:: \widehat{\mathrm{Var}}(\log\hat P_r) = \sum_i
              \frac{\sum_f (S_{if} - n_f \hat p_i)^2}{N^2 \hat p_i^2},

    :math:`S_{if}` the number of family f's :math:`n_f` members above
    :math:`b_i` (at the first level each particle is its own family, giving
    :math:`(1 - \hat p_1)/(N \hat p_1)`). Like Au & Beck's formula it ignores
    correlations across levels, so it can underestimate. The result is the
    mean of the R replica values, with

    .. math:: \mathrm{SE}^2 = \max\big(s^2, \overline{\widehat{\mathrm{Var}}}\big) / R,

    :math:`s^2` the sample variance of the replica values (independent runs,
    so honest whatever the mixing) and the mean within-run variance guarding
    against a small :math:`s^2` by chance when R is small. When :math:`s^2`
    exceeds the within-run variance by more than chance allows (chi-square
    test at the 0.1% level) a RuntimeWarning says the chains mix too slowly:
    increase ``n_moves`` (and ``n_samples``).

    **auto** — a direct pilot of ``pilot_samples`` matrices; with at least
    ``min_successes`` successes the direct estimate is returned (continued
    to ``n_samples`` matrices if that is larger), else subset simulation is
    run with ``n_samples`` particles per replica.

    Parameters
    ----------
    ensemble : models.spectra.Ensemble
        The random-matrix ensemble.
    method : {"auto", "direct", "subset"}, optional
        Default "auto".
    n_samples : int, optional
        Direct: number of matrices (default 10_000). Subset: particles per
        level in each replica (default 100). >= 1; subset also needs
        1 <= round(p0 n_samples) < n_samples.
    seed : int, SeedSequence, Generator or None, optional
        numpy conventions. The direct stream and replica r's stream are
        children ``(0,)`` and ``(1, r)`` of ``SeedSequence(seed)``, so the same
        seed gives the same result, and ``auto`` that picks direct gives the
        direct result for the same seed.
    p0 : float, optional
        Conditional probability per level, in (0, 1) (default 0.5). Au &
        Beck's p0 = 0.1 clones each seed ten times, and for GOE Hessians the
        clones do not decorrelate: at d = 30 it gave log P 26 nats too low,
        with replicas disagreeing 30 times beyond their errors (see Notes).
    n_moves : int, optional
        Move pairs (Crank–Nicolson + radial) per particle per level, >= 1.
        Default ``2 d``.
    n_replicas : int, optional
        Independent replicas R, >= 1 (default 4).
    target_acceptance : float, optional
        Target acceptance rate of the moves, in (0, 1) (default 0.3).
    min_successes : int, optional
        ``auto`` uses direct sampling when its pilot has at least this many
        successes (default 100, a relative error of about 10%).
    pilot_samples : int, optional
        Size of the direct pilot of ``auto``, >= 1 (default 10_000).
    max_levels : int, optional
        Safety bound on the number of levels per replica (default 100_000).
    n_workers : int, optional
        Threads running replicas at once (default: min(n_replicas, CPU
        count)). The compiled kernels release the GIL; the result is the
        same, bit for bit, for any number of workers.

    Returns
    -------
    RareEventResult
        ``value``, ``stderr`` (log P and its standard error) and diagnostics,
        ``n_evaluations`` among them.

    Raises
    ------
    ValueError
        For bad input (the message names the parameter), or, for direct
        sampling, when no sample was positive definite.
    RuntimeError
        When subset simulation cannot progress: g has an atom (ties) that no
        level can split, e.g. exact zero eigenvalues, so P is 0 or the
        levels stall.

    Notes
    -----
    *Level placement.* In the exponential scale
    :math:`Y = -\log P(g > y \mid g > b_{i-1})` the particles are i.i.d.
    Exp(1) (ideal sampling); the j-th smallest of N has mean
    :math:`H_N - H_{N-j}` (harmonic numbers). The level is put a fraction
    :math:`w = k(\log(N/k) - H_N + H_k) \approx (1 - p_0)/2` of the way from
    :math:`g_{(N-k)}` to :math:`g_{(N-k+1)}`, which makes the mean increment
    of Y per level equal to the :math:`\log(N/k)` the estimator counts, so
    :math:`\log\hat P` has no O(1/N) bias per level. (At w = 0 the bias is
    :math:`-|\log P|(1 - p_0)/(2 N p_0 \log(1/p_0))`, at w = 1/2 and
    p0 = 1/2 the same with a plus sign; both were measured, e.g. +0.27 +- 0.06
    nats for GOE d = 8 with N = 50, and vanish with this w.)

    *Cost.* The variance of subset simulation grows like
    :math:`|\log P|(1 - p_0)(1 + \gamma)/(N p_0 \log(1/p_0))` (Au & Beck
    2001, eq. 20 summed over levels), so the cost to a fixed error in
    log P grows like :math:`(\log P)^2` (times the moves per level)
    rather than 1/P. For the GOE, :math:`\log P \approx -\ln(3) d^2/4`
    (Dean & Majumdar 2006).

    *Mixing.* For GOE Hessians the constrained set is sharp in every
    direction of z (the gradient of :math:`\lambda_{\min}` has unit norm),
    so accepted Crank–Nicolson steps are small (:math:`\beta \approx 0.05`
    at d = 20) and collective modes of the spectrum decorrelate over tens of
    moves. Too few moves show up as replicas that disagree beyond their
    errors (the warning above) and as a negative bias of log P, about half
    the excess variance (:math:`\hat P` stays unbiased, its log does not).
    ``n_moves = 2 d`` keeps both within the reported errors in tests up to
    d = 20 and gives a few nats at d = 30.

    References
    ----------
    S.-K. Au and J. L. Beck (2001), "Estimation of small failure probabilities
    in high dimensions by subset simulation", Probabilistic Engineering
    Mechanics 16(4):263-277.
    F. Cérou and A. Guyader (2007), "Adaptive multilevel splitting for rare
    event analysis", Stochastic Analysis and Applications 25(2):417-443.
    F. Cérou, P. Del Moral, T. Furon and A. Guyader (2012), "Sequential Monte
    Carlo for rare event estimation", Statistics and Computing 22:795-808.
    J. S. Liu and C. Sabatti (2000), "Generalised Gibbs sampler and multigrid
    Monte Carlo for Bayesian computation", Biometrika 87(2):353-369.
    Z. I. Botev and D. P. Kroese (2012), "Efficient Monte Carlo simulation via
    the generalized splitting method", Statistics and Computing 22:1-16.
    S. L. Cotter, G. O. Roberts, A. M. Stuart and D. White (2013), "MCMC
    methods for functions: modifying old algorithms to make them faster",
    Statistical Science 28(3):424-446.
    I. Papaioannou, W. Betz, K. Zwirglmaier and D. Straub (2015), "MCMC
    algorithms for subset simulation", Probabilistic Engineering Mechanics
    41:89-103.

    Examples
    --------
    >>> from models.spectra import GOE
    >>> r = log_p_positive_definite(GOE(2), method="direct", n_samples=20_000, seed=1)
    >>> bool(abs(r.value - (-1.9211)) < 5 * r.stderr)   # exact: log((2 - sqrt 2)/4)
    True
    """
    if not isinstance(ensemble, Ensemble):
        raise ValueError(
            f"ensemble must be a models.spectra.Ensemble (GOE, Wishart, ...), got {type(ensemble).__name__}"
        )
    method = check_choice(method, "method", METHODS)
    if n_samples is not None:
        n_samples = check_positive_int(n_samples, "n_samples")
    p0 = _check_open_unit(p0, "p0")
    n_moves = 2 * ensemble.dim if n_moves is None else check_positive_int(n_moves, "n_moves")
    n_replicas = check_positive_int(n_replicas, "n_replicas")
    target_acceptance = _check_open_unit(target_acceptance, "target_acceptance")
    min_successes = check_positive_int(min_successes, "min_successes")
    pilot_samples = check_positive_int(pilot_samples, "pilot_samples")
    max_levels = check_positive_int(max_levels, "max_levels")
    if n_workers is None:
        n_workers = min(n_replicas, os.cpu_count() or 1)
    n_workers = check_positive_int(n_workers, "n_workers")
    root = seed_sequence(seed)
    subset_options = dict(p0=p0, n_moves=n_moves, n_replicas=n_replicas,
                          target_acceptance=target_acceptance, max_levels=max_levels, n_workers=n_workers)
    if method != "direct":
        n_sub = DEFAULT_SUBSET_SAMPLES if n_samples is None else n_samples
        _check_survivors(n_sub, p0)

    if method == "direct":
        sampler = _DirectSampler(ensemble, _child(root, 0))
        sampler.draw(DEFAULT_DIRECT_SAMPLES if n_samples is None else n_samples)
        return sampler.result()
    if method == "subset":
        return _subset(ensemble, root, n_sub, **subset_options)

    sampler = _DirectSampler(ensemble, _child(root, 0))
    sampler.draw(pilot_samples)
    if sampler.successes >= min_successes:
        if n_samples is not None and n_samples > pilot_samples:
            sampler.draw(n_samples - pilot_samples)
        return sampler.result()
    result = _subset(ensemble, root, n_sub, **subset_options)
    return dataclasses.replace(result, n_evaluations=result.n_evaluations + sampler.n,
                               n_eigendecompositions=result.n_eigendecompositions + sampler.n_eig)


def direct_samples_to_precision(log_p, target_stderr):
    r"""Matrices direct sampling needs for a standard error ``target_stderr`` in log P.

    From :math:`\mathrm{SE}(\log\hat p) = \sqrt{(1 - p)/(n p)}`:

    .. math:: n = \frac{1 - p}{p\, \sigma^2}, \qquad p = e^{\log P}.

    Returned as a float (at log P = -258.9 it is about 1e112 / sigma^2);
    ``inf`` beyond the float range.

    Parameters
    ----------
    log_p : float
        log P, <= 0.
    target_stderr : float
        sigma, > 0.

    Examples
    --------
    >>> round(direct_samples_to_precision(math.log(0.01), 0.1))
    9900
    """
    log_p = float(log_p)
    if not (math.isfinite(log_p) and log_p <= 0):
        raise ValueError(f"log_p must be a finite number <= 0, got {log_p!r}")
    target_stderr = check_positive(target_stderr, "target_stderr")
    if log_p == 0:
        return 0.0
    log_n = math.log(-math.expm1(log_p)) - log_p - 2.0 * math.log(target_stderr)
    return math.exp(log_n) if log_n < 709.0 else math.inf


@dataclasses.dataclass(frozen=True)
class CostToPrecision:
    """Result of :func:`subset_cost_to_precision`.

    Attributes
    ----------
    result : RareEventResult
        The final subset-simulation run.
    target_stderr : float
        The requested standard error of log P.
    subset_evaluations : int
        Matrices tested in all runs (pilot included).
    direct_evaluations : float
        Matrices direct sampling would need for the same standard error, from
        :func:`direct_samples_to_precision` at the estimated log P.
    speedup : float
        ``direct_evaluations / subset_evaluations``.
    """

    result: RareEventResult
    target_stderr: float
    subset_evaluations: int
    direct_evaluations: float
    speedup: float


def subset_cost_to_precision(ensemble, *, target_stderr=0.5, seed=None, pilot_n_samples=100,
                             max_rounds=3, **options):
    r"""Subset simulation run until log P has standard error <= ``target_stderr``.

    A pilot with ``pilot_n_samples`` particles gives a standard error
    :math:`s_0`; since the variance falls like 1/N, the next run uses
    :math:`N = \lceil 1.1\, N_0 (s_0/\sigma)^2 \rceil` particles (10% margin),
    repeated (at most ``max_rounds`` runs in all) until the target is met.
    The cost is compared with that of direct sampling,
    :func:`direct_samples_to_precision`, which is the benchmark of claim C1:
    for GOE d = 20, P ~ 1e-51.

    Parameters
    ----------
    ensemble : models.spectra.Ensemble
    target_stderr : float, optional
        Required standard error of log P, > 0 (default 0.5 nats).
    seed : int, SeedSequence, Generator or None, optional
        Run k uses child ``(2, k)`` of ``SeedSequence(seed)``.
    pilot_n_samples : int, optional
        Particles per replica of the pilot run (default 100).
    max_rounds : int, optional
        Runs at most, >= 1 (default 3).
    **options
        Passed to :func:`log_p_positive_definite` (``p0``, ``n_moves``,
        ``n_replicas``, ...); ``method`` is "subset".

    Returns
    -------
    CostToPrecision
        Whether the target was met is ``result.stderr <= target_stderr``.
    """
    target_stderr = check_positive(target_stderr, "target_stderr")
    n = check_positive_int(pilot_n_samples, "pilot_n_samples")
    max_rounds = check_positive_int(max_rounds, "max_rounds")
    if "method" in options or "n_samples" in options:
        raise ValueError("options must not contain 'method' or 'n_samples': they are set here")
    root = seed_sequence(seed)
    total = 0
    for k in range(max_rounds):
        result = log_p_positive_definite(ensemble, method="subset", n_samples=n, seed=_child(root, 2, k),
                                         **options)
        total += result.n_evaluations
        if result.stderr <= target_stderr:
            break
        n = math.ceil(1.1 * n * (result.stderr / target_stderr) ** 2)
    direct = direct_samples_to_precision(min(result.value, 0.0), target_stderr)
    return CostToPrecision(result, target_stderr, total, direct, direct / total)


# --------------------------------------------------------------------------
# Direct sampling
# --------------------------------------------------------------------------


class _DirectSampler:
    """Plain Monte Carlo in chunks from one Generator, so that a run can be continued."""

    def __init__(self, ensemble, seed):
        self.ensemble = ensemble
        self.rng = np.random.default_rng(seed)
        self.tester = _PositivityTester(ensemble)
        self.n = self.successes = self.n_eig = 0

    def draw(self, n):
        while n > 0:
            m = min(n, _DIRECT_CHUNK)
            z = self.rng.standard_normal((m, self.ensemble.n_gaussian))
            above, n_eig = self.tester.above(z, 0.0)
            self.successes += int(above.sum())
            self.n += m
            self.n_eig += n_eig
            n -= m

    def result(self):
        k, n = self.successes, self.n
        if k == 0:
            # Wilson (1927) upper bound, z = 1.96: p < z^2 / (n + z^2).
            upper = 1.96**2 / (n + 1.96**2)
            raise ValueError(
                f"n_samples={n}: no positive-definite matrix among {n} direct samples (95% upper bound "
                f"P < {upper:.3g}, log P < {math.log(upper):.4g}); direct sampling cannot resolve so small "
                "a probability: use method='subset' (or 'auto'), or more samples"
            )
        p = k / n
        value, stderr = math.log(p), math.sqrt((1.0 - p) / k)
        if k == n:
            stderr = _all_successes_stderr(n)
        return RareEventResult(
            value=value, stderr=stderr, method="direct", n_evaluations=n, n_eigendecompositions=self.n_eig,
            n_samples=n, n_successes=k, replica_values=(value,), replica_stderrs=(stderr,),
        )


# --------------------------------------------------------------------------
# Subset simulation
# --------------------------------------------------------------------------


def _subset(ensemble, root, n_samples, *, p0, n_moves, n_replicas, target_acceptance, max_levels, n_workers):
    tester = _PositivityTester(ensemble)

    def run(r):
        return _subset_replica(tester, np.random.default_rng(_child(root, 1, r)), n_samples, p0=p0,
                               n_moves=n_moves, target_acceptance=target_acceptance, max_levels=max_levels)

    if n_workers == 1:
        runs = [run(r) for r in range(n_replicas)]
    else:
        with concurrent.futures.ThreadPoolExecutor(n_workers) as pool:
            runs = list(pool.map(run, range(n_replicas)))
    values = np.array([run.log_p for run in runs])
    variances = np.array([run.variance for run in runs])
    mean_var = float(variances.mean())
    if n_replicas >= 2:
        spread = float(values.var(ddof=1))
        ratio = spread / mean_var if mean_var > 0 else math.inf
        threshold = scipy.stats.chi2.ppf(0.999, n_replicas - 1) / (n_replicas - 1)
        if ratio > threshold:
            warnings.warn(
                f"subset simulation: the {n_replicas} replicas of log P spread {math.sqrt(ratio):.2g} times "
                "more than their within-run standard errors; the Markov chains mix too slowly for this "
                f"ensemble ({ensemble!r}); the reported stderr uses the spread, but increase n_moves",
                RuntimeWarning, stacklevel=3,
            )
    else:
        spread, ratio = mean_var, math.nan
    stderr = math.sqrt(max(spread, mean_var) / n_replicas)
    return RareEventResult(
        value=float(values.mean()),
        stderr=stderr,
        method="subset",
        n_evaluations=sum(run.n_evaluations for run in runs),
        n_eigendecompositions=sum(run.n_eig for run in runs),
        n_samples=n_samples,
        n_levels=tuple(len(run.levels) + 1 for run in runs),
        levels=tuple(run.levels for run in runs),
        replica_values=tuple(float(v) for v in values),
        replica_stderrs=tuple(math.sqrt(v) for v in variances),
        spread_ratio=ratio,
        acceptance_rate=float(np.mean([run.acceptance for run in runs])),
    )


class _Replica:
    __slots__ = ("log_p", "variance", "levels", "n_evaluations", "n_eig", "acceptance")


def _subset_replica(tester, rng, n, *, p0, n_moves, target_acceptance, max_levels):
    """One subset-simulation run: log P_hat, its within-run variance and diagnostics."""
    out = _Replica()
    n_gauss = tester.ensemble.n_gaussian
    n_keep = round(p0 * n)
    weight = _level_weight(n, n_keep)
    z = rng.standard_normal((n, n_gauss))
    proposal = np.empty_like(z)
    # The moves' normals come from a xoshiro256++ stream (sandbox.streams,
    # about twice as fast as numpy's), keyed by this replica's generator.
    stream = chain_states(rng, 1)[0]
    g = tester.lambda_min(z)
    n_eval = n_eig = n
    family = np.arange(n)
    beta = _BETA_START
    sigma = _SIGMA_START
    log_p = variance = 0.0
    levels = []
    accepted = proposed = 0
    previous = -math.inf
    while True:
        order = np.sort(g)
        level = order[n - n_keep - 1] + weight * (order[n - n_keep] - order[n - n_keep - 1])
        final = level >= 0.0
        if final:
            level = 0.0
        above = g > level
        k = int(above.sum())
        if k == 0 or (not final and not level > previous):
            raise RuntimeError(
                f"subset simulation stalled at level {level:.6g} with {k} of {n} particles above it: "
                f"lambda_min of {tester.ensemble!r} has an atom (tied values, e.g. exact zero eigenvalues) "
                "that the levels cannot split; P(positive definite) may be 0"
            )
        p_hat = k / n
        if k == n:
            variance += _all_successes_stderr(n) ** 2
        # Between-family (cluster) variance of the fraction above the level.
        hits = np.bincount(family, weights=above, minlength=n)
        sizes = np.bincount(family, minlength=n)
        variance += float(np.sum((hits - sizes * p_hat) ** 2)) / (n * n * p_hat * p_hat)
        log_p += math.log(p_hat)
        if final:
            break
        if len(levels) + 1 >= max_levels:
            raise RuntimeError(f"subset simulation reached max_levels={max_levels} before level 0")
        levels.append(float(level))
        previous = level
        # Resample: every survivor is cloned n // k times, n % k of them once more.
        seeds = np.flatnonzero(above)
        copies = np.full(k, n // k)
        copies[rng.choice(k, n - k * (n // k), replace=False)] += 1
        parents = np.repeat(seeds, copies)
        z = z[parents]
        family = np.repeat(np.arange(k), copies)
        # Moves within {g > level}: Crank–Nicolson, then a radial (scale) move.
        for _ in range(n_moves):
            ok, n_e = tester.crank_nicolson(z, beta, stream, level, proposal)
            rate = float(ok.mean())
            accepted += int(ok.sum())
            proposed += n
            beta = _adapt(beta, rate, target_acceptance)
            log_s = sigma * rng.standard_normal(n)
            scale = np.exp(log_s)
            log_ratio = n_gauss * log_s - 0.5 * (scale * scale - 1.0) * np.einsum("ij,ij->i", z, z)
            # Metropolis factor first: only proposals that pass it are tested.
            candidates = np.flatnonzero(np.log(rng.random(n)) < log_ratio)
            scaled = z[candidates] * scale[candidates, None]
            ok2, n_e2 = tester.above(scaled, level)
            z[candidates[ok2]] = scaled[ok2]
            sigma = _adapt(sigma, int(ok2.sum()) / n, target_acceptance)
            n_eval += n + candidates.size
            n_eig += n_e + n_e2
        g = tester.lambda_min(z)
        n_eval += n
        n_eig += n
    out.log_p, out.variance, out.levels = log_p, variance, tuple(levels)
    out.n_evaluations, out.n_eig = n_eval, n_eig
    out.acceptance = accepted / proposed if proposed else math.nan
    return out


# --------------------------------------------------------------------------
# Positivity tests: eigenvalues, or Cholesky where that is equivalent
# --------------------------------------------------------------------------


class _PositivityTester:
    """lambda_min(H(z)), the test lambda_min(H(z)) > level and the Crank–Nicolson step, batched.

    Three paths, all giving the same accept/reject decisions:

    * ``"eigen"``: an ensemble that overrides ``eigenvalues_from_gaussian``
      (e.g. the exact zeros of ``BulkZerosOutliers``) is tested with its own
      spectrum;
    * ``"cholesky"``: otherwise H = ``from_gaussian(z)`` is built by numpy and
      H - level I is tested by a Cholesky factorisation, several times cheaper
      than an eigendecomposition and equivalent up to rounding;
    * ``"goe"``: for :class:`~models.spectra.GOE` the compiled kernel builds
      H from z itself (its documented layout: diagonal ``z[:d]``, upper
      triangle row by row ``z[d:] / sqrt(2)``), fused with the proposal, so
      that a move touches each particle once. It reproduces the
      ``"cholesky"`` path bit for bit (the tests check this).
    """

    def __init__(self, ensemble, *, path=None):
        self.ensemble = ensemble
        if path is None:
            if type(ensemble).eigenvalues_from_gaussian is not Ensemble.eigenvalues_from_gaussian:
                path = "eigen"
            else:
                path = "goe" if type(ensemble) is GOE else "cholesky"
        self.path = path

    def lambda_min(self, z):
        return self.ensemble.eigenvalues_from_gaussian(z)[..., 0]

    def above(self, z, level):
        """Boolean array lambda_min(H(z)) > level and the number of eigendecompositions used."""
        n = z.shape[0]
        if n == 0:
            return np.zeros(0, dtype=bool), 0
        if self.path == "eigen":
            return self.lambda_min(z) > level, n
        out = np.empty(n, dtype=np.bool_)
        if self.path == "goe":
            _goe_positive(np.ascontiguousarray(z, dtype=np.float64), float(level), out)
        else:
            h = np.ascontiguousarray(self.ensemble.from_gaussian(z), dtype=np.float64)
            _cholesky_positive(h, float(level), out)
        return out, 0

    def crank_nicolson(self, z, beta, state, level, proposal):
        """One Crank–Nicolson step of every particle in place; returns (accepted, eigendecompositions)."""
        if self.path == "goe":
            ok = np.empty(z.shape[0], dtype=np.bool_)
            _goe_crank_nicolson(z, beta, state, float(level), ok, proposal[0], np.empty((self.ensemble.dim,) * 2))
            return ok, 0
        _crank_nicolson(z, beta, state, proposal)
        ok, n_eig = self.above(proposal, level)
        z[ok] = proposal[ok]
        return ok, n_eig


@nb.njit(cache=True, nogil=True)
def _crank_nicolson(z, beta, state, out):
    """out = sqrt(1 - beta^2) z + beta xi, xi ~ N(0, I) from ``state`` (advanced in place)."""
    flat = out.reshape(-1)
    standard_normals(state, flat)
    c = math.sqrt(1.0 - beta * beta)
    zf = z.reshape(-1)
    for i in range(flat.size):
        flat[i] = c * zf[i] + beta * flat[i]


@nb.njit(cache=True, nogil=True, inline="always")
def _cholesky_ok(a, level):
    """Whether a - level I is positive definite; in-place Cholesky of the lower triangle of ``a``.

    Stops at the first non-positive pivot; ``not s > 0`` also rejects NaN.
    """
    d = a.shape[0]
    for j in range(d):
        s = a[j, j] - level
        for k in range(j):
            s -= a[j, k] * a[j, k]
        if not s > 0.0:
            return False
        ljj = math.sqrt(s)
        a[j, j] = ljj
        for i in range(j + 1, d):
            t = a[i, j]
            for k in range(j):
                t -= a[i, k] * a[j, k]
            a[i, j] = t / ljj
    return True


@nb.njit(cache=True, nogil=True)
def _cholesky_positive(h, level, out):
    """out[p] = (h[p] - level I is positive definite); h is overwritten.

    Serial on purpose: one call factorises a few hundred matrices of size
    <= 30 in about a millisecond, less than the cost of waking a thread team
    (``parallel=True`` measured 10-20 times slower on two busy cores);
    replicas run in threads instead (the kernels release the GIL).
    """
    for p in range(h.shape[0]):
        out[p] = _cholesky_ok(h[p], level)


@nb.njit(cache=True, nogil=True, inline="always")
def _goe_lower(zp, a):
    """Lower triangle of the GOE matrix of ``zp`` into ``a`` (models.spectra.GOE layout)."""
    d = a.shape[0]
    root2 = math.sqrt(2.0)
    k = d
    for i in range(d):
        a[i, i] = zp[i]
        for j in range(i + 1, d):
            a[j, i] = zp[k] / root2
            k += 1


@nb.njit(cache=True, nogil=True)
def _goe_positive(z, level, out):
    """out[p] = (GOE(z[p]) - level I is positive definite)."""
    d = int(round((math.sqrt(8.0 * z.shape[1] + 1.0) - 1.0) / 2.0))
    a = np.empty((d, d))
    for p in range(z.shape[0]):
        _goe_lower(z[p], a)
        out[p] = _cholesky_ok(a, level)


@nb.njit(cache=True, nogil=True)
def _goe_crank_nicolson(z, beta, state, level, ok, zp, a):
    """Crank–Nicolson step of every row of z, accepted iff GOE(z') - level I is positive definite.

    Draws the normals row by row from ``state``, the same sequence as
    :func:`_crank_nicolson` on the whole array.
    """
    c = math.sqrt(1.0 - beta * beta)
    m = z.shape[1]
    for p in range(z.shape[0]):
        standard_normals(state, zp)
        for i in range(m):
            zp[i] = c * z[p, i] + beta * zp[i]
        _goe_lower(zp, a)
        ok[p] = _cholesky_ok(a, level)
        if ok[p]:
            for i in range(m):
                z[p, i] = zp[i]


# --------------------------------------------------------------------------
# Small private helpers
# --------------------------------------------------------------------------


def _child(root, *key):
    """Child ``key`` of a SeedSequence, a pure function of (root, key) (unlike ``spawn``)."""
    return np.random.SeedSequence(entropy=root.entropy, spawn_key=tuple(root.spawn_key) + tuple(key),
                                  pool_size=root.pool_size)


def _all_successes_stderr(n):
    """SE of log p_hat when all n trials succeed: -log(Wilson 95% lower bound) / 1.96."""
    z = 1.96
    return math.log1p(z * z / n) / z


def _adapt(step, rate, target):
    """Robbins–Monro-style step update: larger if the acceptance rate is above target."""
    return min(_BETA_MAX, max(_BETA_MIN, step * math.exp(rate - target)))


def _level_weight(n, k):
    """Interpolation weight w of the level between the order statistics around the (1 - k/n) quantile.

    In exponential scale Y = -log P(g > y | current level) the i-th smallest
    of n i.i.d. values has mean H_n - H_(n-i); a level w of the way from the
    (n-k)-th to the (n-k+1)-th smallest has mean increment
    H_n - H_k + w / k, equal to log(n / k) (what the estimator counts) for
    w = k (log(n / k) - H_n + H_k), about (1 - k/n) / 2.
    """
    return k * (math.log(n / k) - float(np.sum(1.0 / np.arange(k + 1, n + 1))))


def _check_open_unit(value, name):
    x = check_positive(value, name)
    if not x < 1:
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    return x


def _check_survivors(n, p0):
    k = round(p0 * n)
    if not 1 <= k < n:
        raise ValueError(
            f"n_samples must make round(p0 * n_samples) between 1 and n_samples - 1 for subset simulation, "
            f"got n_samples={n}, p0={p0}"
        )
