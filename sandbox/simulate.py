"""``simulate``: run many chains of GD, SGD, ULA or MALA on a landscape.

Conventions (docs/conventions.md):

- ``"gd"``:   x <- x - eta grad L(x)
- ``"sgd"``:  x <- x - eta (grad L(x) + xi), xi ~ N(0, C); C = sigma^2 I,
  a fixed matrix, or sigma^2 H(x) ("Hessian-shaped"). Isotropic C = sigma^2 I
  corresponds to temperature T = eta sigma^2 / 2. With ``label_noise`` the
  noise comes instead (or as well) from the loss itself: named parameters of
  the loss, its labels, are redrawn at every step, y = y0 + sigma_y xi.
- ``"ula"``:  x <- x - h grad L(x) + sqrt(2 h T) z, the Euler–Maruyama
  discretisation of dX = -grad L dt + sqrt(2T) dW (biased at finite h).
- ``"mala"``: ULA proposal plus a Metropolis–Hastings correction; exact Gibbs
  stationary law exp(-L/T)/Z.
"""
import warnings
from dataclasses import dataclass

import numpy as np

from models.landscape import FIRST_ORDER, Landscape
from models.validation import (as_finite_array, check_choice, check_memory, check_nonnegative,
                               check_positive, check_positive_int, covariance_factor, plain)
from sandbox import dynamics
from sandbox.progress import progress_chunks
from sandbox.streams import chain_states, seed_sequence

__all__ = ["simulate", "Run", "DivergenceError", "METHODS"]

METHODS = ("gd", "sgd", "ula", "mala")

#: Rows per BLAS call in the batched dense-quadratic path (see dynamics.affine_chains).
_AFFINE_BLOCK = 16
#: Below this dimension a per-chain matrix-vector product beats one BLAS call per
#: block and step (the choice depends on d only, so determinism is unaffected).
_AFFINE_MIN_DIM = 32


class DivergenceError(FloatingPointError):
    """Raised by ``simulate(..., on_divergence="raise")`` and ``Run.check()``."""


@dataclass(frozen=True)
class Run:
    """Result of :func:`simulate`: the chains' states, traces and everything needed to continue them.

    Attributes
    ----------
    x : ndarray (n_chains, d)
        Final states. A diverged chain holds its last state whose loss was finite.
    loss : ndarray (n_records, n_chains) or None
        L(x) at steps ``record_steps`` (NaN after a chain diverged; the record
        at which the loss first overflowed holds that inf).
    positions : ndarray (n_records, n_chains, d) or None
        Recorded states when ``record_positions=True``.
    record_steps : ndarray (n_records,)
        Step numbers of the records, counted from the start of the first run
        (1-based): a continued run numbers on.
    divergence_step : ndarray (n_chains,) of int
        The step whose state or loss was first not finite, or in which a
        landscape function raised; -1 for chains that did not diverge.
    divergence_cause : ndarray (n_chains,) of int
        0, or a code of ``sandbox.dynamics.CAUSES`` (``divergence_causes``
        gives the words).
    acceptance_rate : ndarray (n_chains,) or None
        MALA acceptance rate per chain over this call's steps.
    method, step_size, temperature, noise, label_noise
        The run's regime.
    n_steps : int
        Steps taken since the start of the first run (this call's and those
        of the runs it continues).
    chain_offset : int
        Index of the first chain.
    seed_entropy, seed_spawn_key
        Reproduce the run with ``seed=np.random.SeedSequence(seed_entropy,
        spawn_key=seed_spawn_key)``.
    stream_states : ndarray (n_chains, 4) of uint64
        Each chain's random-stream state after the last step: a continued run
        draws exactly the numbers an uninterrupted one would.
    landscape, record_every, record_positions
        What :meth:`extend` needs to continue the run.
    """

    x: np.ndarray
    loss: object
    positions: object
    record_steps: np.ndarray
    divergence_step: np.ndarray
    acceptance_rate: object
    method: str
    step_size: float
    temperature: float
    n_steps: int
    chain_offset: int
    seed_entropy: object
    seed_spawn_key: tuple = ()
    divergence_cause: np.ndarray = None
    stream_states: np.ndarray = None
    noise: object = None
    landscape: object = None
    record_every: int = 0
    record_positions: bool = False
    label_noise: object = None

    def __repr__(self):
        n, d = self.x.shape
        records = 0 if self.loss is None else self.loss.shape[0]
        return (f"Run(method={self.method!r}, n_chains={n}, d={d}, n_steps={self.n_steps}, "
                f"step_size={plain(self.step_size)}, temperature={plain(self.temperature)}, records={records}, "
                f"diverged={self.n_diverged})")

    @property
    def diverged(self):
        """Boolean mask (n_chains,) of chains that diverged."""
        return self.divergence_step >= 0

    @property
    def n_diverged(self):
        return int(np.count_nonzero(self.diverged))

    @property
    def divergence_causes(self):
        """Per chain: why it stopped ("" for chains that did not diverge)."""
        causes = np.zeros(self.x.shape[0], dtype=int) if self.divergence_cause is None else self.divergence_cause
        return [dynamics.CAUSES.get(int(c), "") for c in causes]

    def divergence_message(self):
        causes = np.zeros(self.x.shape[0], dtype=int) if self.divergence_cause is None else self.divergence_cause
        shown = dynamics.divergence_summary(self.divergence_step, causes, chain_offset=self.chain_offset)
        return (f"{self.n_diverged} of {self.x.shape[0]} chains diverged ({shown}) "
                f"with method={self.method!r}, step_size={plain(self.step_size)}, "
                f"temperature={plain(self.temperature)}")

    def check(self):
        """Raise :class:`DivergenceError` if any chain diverged; return self otherwise."""
        if self.n_diverged:
            raise DivergenceError(self.divergence_message())
        return self

    def extend(self, n_steps, *, on_divergence="warn"):
        """Continue every chain for ``n_steps`` more steps with the same settings.

        ``run.extend(100)`` after a 100-step run gives bit for bit the state of
        one 200-step run; the returned :class:`Run` holds the new steps'
        records (numbered on) and ``n_steps`` counts all steps since the start.
        """
        return simulate(self.landscape, self.method, n_chains=self.x.shape[0], n_steps=n_steps,
                        step_size=self.step_size, temperature=self.temperature, noise=self.noise,
                        label_noise=self.label_noise, record_every=self.record_every, record_positions=self.record_positions,
                        on_divergence=on_divergence, resume=self)


def _label_noise_spec(label_noise, method, landscape):
    """``label_noise`` -> (indices into the parameter vector, the std of each), empty when None."""
    if label_noise is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    if method != "sgd":
        raise ValueError(f"label_noise is an option of method 'sgd', got method={method!r}")
    if not hasattr(label_noise, "items") or not label_noise:
        raise ValueError(f"label_noise must be a non-empty mapping {{parameter: sigma}}, got {label_noise!r}")
    index, sigma = [], []
    for key, value in label_noise.items():
        positions = landscape.parameter_index(key)
        index += positions
        sigma += [check_nonnegative(value, f"label_noise[{key!r}]")] * len(positions)
    if len(set(index)) != len(index):
        raise ValueError(f"label_noise names a parameter twice: {label_noise!r}")
    return np.array(index, dtype=np.int64), np.array(sigma, dtype=np.float64)


def _noise_spec(method, noise, temperature, step, landscape, label_noise=False):
    """Translate method/noise/temperature into (noise_kind, noise_scale, factor)."""
    d = landscape.dim
    none = np.zeros((1, 1))
    if method == "gd":
        if noise is not None or temperature != 0:
            raise ValueError("method 'gd' is noiseless: noise must be None and temperature 0 (use 'sgd' or 'ula')")
        return dynamics.NOISE_NONE, 0.0, none
    if method in ("ula", "mala"):
        if noise is not None:
            raise ValueError(f"noise is for method 'sgd'; method {method!r} takes temperature instead")
        if method == "mala" and temperature == 0:
            raise ValueError("temperature must be > 0 for method 'mala', got 0")
        if temperature == 0:
            return dynamics.NOISE_NONE, 0.0, none
        return dynamics.NOISE_ISOTROPIC, float(np.sqrt(2.0 * step * temperature)), none
    # sgd
    if temperature != 0:
        raise ValueError("method 'sgd' takes its noise from `noise`; temperature must be 0 "
                         "(isotropic noise sigma^2 corresponds to T = step_size * sigma^2 / 2)")
    if noise is None and label_noise:
        return dynamics.NOISE_NONE, 0.0, none
    if noise is None:
        raise ValueError("noise is required for method 'sgd' (unless label_noise is given): sigma^2 (float), a (d, d) covariance, "
                         "or ('hessian', sigma^2)")
    if isinstance(noise, tuple):
        if len(noise) != 2 or noise[0] != "hessian":
            raise ValueError(f"noise tuple must be ('hessian', sigma^2), got {noise!r}")
        sigma2 = check_nonnegative(noise[1], "noise")
        if not landscape.hessian_is_psd:
            raise ValueError("noise ('hessian', sigma^2) needs a positive semi-definite Hessian everywhere; "
                             f"{landscape!r} does not declare hessian_is_psd=True")
        if not (landscape.has_kernel("hessian_sqrt") or landscape.has_kernel("hessian")):
            raise ValueError("noise ('hessian', sigma^2) needs the landscape's Hessian: "
                             f"{landscape!r} has neither a hessian nor a hessian_sqrt kernel")
        return dynamics.NOISE_HESSIAN, step * float(np.sqrt(sigma2)), none
    cov = as_finite_array(noise, "noise", ndim=(0, 2))
    if cov.ndim == 0:
        sigma2 = check_nonnegative(float(cov), "noise")
        kind = dynamics.NOISE_ISOTROPIC if sigma2 > 0 else dynamics.NOISE_NONE
        return kind, step * float(np.sqrt(sigma2)), none
    if cov.shape != (d, d):
        raise ValueError(f"noise covariance must have shape ({d}, {d}), got {cov.shape}")
    return dynamics.NOISE_FACTOR, step, covariance_factor(cov, "noise covariance")


def simulate(landscape, method, *, n_chains, n_steps, step_size, temperature=0.0, noise=None,
             label_noise=None, x0=None, seed=None, record_every=0, record_positions=False, chain_offset=0,
             on_divergence="warn", resume=None, progress=False):
    """Run ``n_chains`` independent chains of a first-order method on ``landscape``.

    Parameters
    ----------
    landscape : models.Landscape
        Any landscape: built-in, ``models.Symbolic`` or ``models.Custom``.
    method : {"gd", "sgd", "ula", "mala"}
        Update rule (module docstring).
    n_chains, n_steps : int >= 1
    step_size : float > 0
        eta for GD/SGD, h for ULA/MALA. Where the landscape knows its
        curvature (``curvature_bound()``), a step past the stability limit
        2 / lambda_max of GD, SGD and ULA gives a warning that names it.
    temperature : float >= 0
        T for ULA/MALA (must be > 0 for MALA, 0 for GD/SGD).
    noise : float, (d, d) array or ("hessian", float), optional
        SGD gradient-noise covariance: sigma^2 (C = sigma^2 I), a fixed PSD
        matrix C, or ("hessian", sigma^2) for C = sigma^2 H(x) (needs
        ``landscape.hessian_is_psd`` and a Hessian or Hessian-square-root kernel).
        Optional for 'sgd' when ``label_noise`` is given.
    label_noise : mapping, optional
        Label-noise SGD (method 'sgd' only): ``{key: sigma}`` redraws the
        runtime parameter ``key`` of the loss at every step as
        ``p_key + sigma xi``, xi ~ N(0, 1) independent per chain, step and
        entry, so the step is x <- x - eta grad_x L(x; y0 + sigma xi). ``key``
        is a parameter name of a ``models.Symbolic`` (e.g. ``{"y": 0.5}`` for
        ``models.two_layer_scalar``) or an index or tuple of indices into a
        ``models.Custom``'s parameter vector (e.g. the labels of a
        dataset stored there). Recorded losses are those at the nominal
        parameters. Example: ``simulate(two_layer_scalar(), "sgd",
        label_noise={"y": 0.5}, ...)`` drifts along u v = 1 towards u = v
        (``analysis.manifold.label_noise_drift``).
    x0 : array_like (d,) or (n_chains, d), optional
        Initial states (default: the origin); the loss must be finite there.
    seed : int, SeedSequence, Generator or None
        Chain c uses a stream that is a pure function of (seed, chain_offset + c).
    record_every : int >= 0
        Record L(x) every this many steps (0: no trace).
    record_positions : bool
        Also record positions at those steps.
    chain_offset : int >= 0
        Index of the first chain, so that a study can be split into chunks
        that reproduce one big run bit for bit (also the way to run more
        chains than fit in memory at once).
    on_divergence : {"warn", "raise", "ignore"}
        What to do when a chain's state or loss becomes non-finite or a
        landscape function raises (always recorded in ``Run.divergence_step``
        and ``Run.divergence_cause``). "ignore" also silences the
        stability-limit warning: divergence is then expected.
    resume : Run, optional
        Continue this run: its final states and random streams, its step
        count and record numbering, its diverged chains (not advanced). Then
        ``x0`` and ``seed`` must be None, and ``n_chains`` and
        ``chain_offset`` those of the run. ``Run.extend`` is the short form.
    progress : bool
        Show a progress bar over the steps when stderr is a terminal (the
        run is cut into at most 100 chunks, each a kernel call: the same
        numbers bit for bit, at well under 1% of the cost).

    Returns
    -------
    Run

    Examples
    --------
    >>> from models import Quadratic
    >>> run = simulate(Quadratic([1.0, 2.0]), "ula", n_chains=4, n_steps=100,
    ...                step_size=0.01, temperature=0.5, seed=1)
    >>> run.x.shape
    (4, 2)
    >>> again = run.extend(100)                  # same as one run of 200 steps
    >>> again.n_steps
    200
    """
    if not isinstance(landscape, Landscape):
        raise ValueError(f"landscape must be a models.Landscape, got {type(landscape).__name__}")
    check_choice(method, "method", METHODS)
    n_chains = check_positive_int(n_chains, "n_chains")
    n_steps = check_positive_int(n_steps, "n_steps")
    step = check_positive(step_size, "step_size")
    temperature = check_nonnegative(temperature, "temperature")
    record_every = check_positive_int(record_every, "record_every", minimum=0)
    chain_offset = check_positive_int(chain_offset, "chain_offset", minimum=0)
    check_choice(on_divergence, "on_divergence", ("warn", "raise", "ignore"))
    d = landscape.dim
    noise_kind, noise_scale, factor = _noise_spec(method, noise, temperature, step, landscape,
                                                  label_noise is not None)
    redraw_index, redraw_sigma = _label_noise_spec(label_noise, method, landscape)
    if on_divergence != "ignore":
        _warn_if_unstable(landscape, method, step)

    step_offset = 0 if resume is None else _check_resume(resume, landscape, n_chains, chain_offset, x0, seed)
    first_record = step_offset // record_every if record_every else 0
    n_records = (step_offset + n_steps) // record_every - first_record if record_every else 0
    _check_memory(n_chains, d, n_records, record_positions, method)

    if resume is not None:
        x = np.array(resume.x, dtype=float, order="C")
        seq = np.random.SeedSequence(resume.seed_entropy, spawn_key=resume.seed_spawn_key)
        chain_offset = resume.chain_offset
        states = np.array(resume.stream_states, dtype=np.uint64, order="C")
        divergence_step = np.array(resume.divergence_step, dtype=np.int64)
        divergence_cause = np.array(resume.divergence_cause, dtype=np.int64)
    else:
        x = _initial_states(landscape, x0, n_chains)
        seq = seed_sequence(seed)
        states = chain_states(seq, n_chains, first_chain=chain_offset)
        divergence_step = np.full(n_chains, -1, dtype=np.int64)
        divergence_cause = np.zeros(n_chains, dtype=np.int64)
    loss = np.full((n_records, n_chains), np.nan)
    positions = np.full((n_records if record_positions else 0, n_chains, d), np.nan)
    slots = FIRST_ORDER + (("hessian_sqrt", "hessian") if noise_kind == dynamics.NOISE_HESSIAN else ())
    kernel = landscape.compiled(slots)

    accepted = np.zeros(n_chains, dtype=np.int64)
    for start, stop in progress_chunks(n_steps, progress=progress, desc=method, min_chunk=max(record_every, 1)):
        offset = step_offset + start
        rows = slice((offset // record_every - first_record) if record_every else 0,
                     ((step_offset + stop) // record_every - first_record) if record_every else 0)
        _run_kernel(landscape, kernel, method, noise_kind, noise_scale, factor, (redraw_index, redraw_sigma), x,
                    states, offset, stop - start, step, temperature, record_every, loss[rows], positions[rows] if record_positions else positions,
                    accepted, divergence_step, divergence_cause)
    acceptance = accepted / n_steps if method == "mala" else None

    run = Run(
        x=x,
        loss=loss if record_every else None,
        positions=positions if record_positions and record_every else None,
        record_steps=(np.arange(first_record + 1, first_record + n_records + 1) * record_every if record_every
                      else np.zeros(0, dtype=int)),
        divergence_step=divergence_step,
        acceptance_rate=acceptance,
        method=method,
        step_size=step,
        temperature=temperature,
        n_steps=step_offset + n_steps,
        chain_offset=chain_offset,
        seed_entropy=seq.entropy,
        seed_spawn_key=tuple(seq.spawn_key),
        divergence_cause=divergence_cause,
        stream_states=states,
        noise=noise,
        label_noise=None if label_noise is None else dict(label_noise),
        landscape=landscape,
        record_every=record_every,
        record_positions=bool(record_positions),
    )
    newly = run.n_diverged - (0 if resume is None else resume.n_diverged)
    if newly and on_divergence == "raise":
        raise DivergenceError(run.divergence_message())
    if newly and on_divergence == "warn":
        warnings.warn(run.divergence_message(), RuntimeWarning, stacklevel=2)
    return run


def _run_kernel(landscape, kernel, method, noise_kind, noise_scale, factor, redraw, x, states, offset, n_steps,
                step, temperature, record_every, loss, positions, accepted, divergence_step, divergence_cause):
    """Advance every chain by ``n_steps`` steps from step ``offset`` with the kernel of ``method``."""
    d = landscape.dim
    if method == "mala":
        chunk = np.zeros_like(accepted)
        dynamics.mala_chains(kernel.addresses, kernel.params, x, states, offset, n_steps, step, temperature,
                             record_every, loss, positions, chunk, divergence_step, divergence_cause)
        accepted += chunk
    elif (landscape.affine_gradient is not None and d >= _AFFINE_MIN_DIM and redraw[0].size == 0
          and noise_kind in (dynamics.NOISE_NONE, dynamics.NOISE_ISOTROPIC)):
        hessian, center = landscape.affine_gradient
        dynamics.affine_chains(np.ascontiguousarray(hessian), np.ascontiguousarray(center), x, states, offset,
                               n_steps, step, noise_scale, record_every, loss, positions, divergence_step,
                               divergence_cause, _AFFINE_BLOCK)
    else:
        dynamics.first_order_chains(kernel.addresses, kernel.params, x, states, offset, n_steps, step,
                                    noise_scale, noise_kind, factor, redraw[0], redraw[1], record_every, loss, positions,
                                    divergence_step, divergence_cause)


def _initial_states(landscape, x0, n_chains):
    d = landscape.dim
    if x0 is None:
        x = np.zeros((n_chains, d))
    else:
        start = as_finite_array(x0, "x0", ndim=(1, 2))
        if start.shape not in ((d,), (n_chains, d)):
            raise ValueError(f"x0 must have shape ({d},) or ({n_chains}, {d}), got {start.shape}")
        x = np.array(np.broadcast_to(start, (n_chains, d)), dtype=float, order="C")
    start_loss = landscape.value(x if x0 is None or np.ndim(x0) == 2 else x[:1])
    bad = np.flatnonzero(~np.isfinite(np.atleast_1d(start_loss)))
    if bad.size:
        with np.printoptions(precision=6, threshold=8):
            raise ValueError(f"x0 must be a point where the loss is finite; L(x0) = {start_loss[bad[0]]} at "
                             f"x0 = {x[bad[0]]} (chain {bad[0]})")
    return x


def _check_resume(run, landscape, n_chains, chain_offset, x0, seed):
    """Validate ``resume=run``; return its step count (the new run's step offset)."""
    if not isinstance(run, Run) or run.stream_states is None:
        raise ValueError(f"resume must be a Run returned by simulate, got {type(run).__name__}")
    if x0 is not None or seed is not None:
        raise ValueError("x0 and seed must be None with resume: a continued run starts from the run's "
                         "final states and continues its random streams")
    if n_chains != run.x.shape[0]:
        raise ValueError(f"n_chains must be the resumed run's {run.x.shape[0]}, got {n_chains}")
    if chain_offset not in (0, run.chain_offset):
        raise ValueError(f"chain_offset must be the resumed run's {run.chain_offset}, got {chain_offset}")
    if run.x.shape[1] != landscape.dim:
        raise ValueError(f"the resumed run has dimension {run.x.shape[1]}, the landscape {landscape.dim}")
    return run.n_steps


def _warn_if_unstable(landscape, method, step):
    """Warn when step_size is past 2 / lambda_max, the linear stability limit of GD, SGD and ULA."""
    if method == "mala":
        return
    lam_max = landscape.curvature_bound()
    if lam_max is not None and lam_max > 0 and step > 2.0 / lam_max:
        warnings.warn(f"step_size={plain(step)} is past the stability limit 2/lambda_max = {2.0 / lam_max:.6g} "
                      f"of method {method!r} on this landscape (lambda_max = {lam_max:.6g}): the chains grow "
                      "geometrically instead of settling", RuntimeWarning, stacklevel=3)


def _check_memory(n_chains, d, n_records, record_positions, method):
    """Refuse, before allocating, a run whose arrays do not fit in memory."""
    per_chain = 8 * (4 * d + 8) + 8 * n_records * (1 + (d if record_positions else 0))
    check_memory(n_chains * per_chain, f"simulate with n_chains={n_chains}, d={d}, {n_records} records",
                 "run the chains in chunks with chain_offset (chain c's trajectory does not depend on the "
                 "chunking: simulate(..., n_chains=m, chain_offset=k*m) for k = 0, 1, ...), or as a "
                 "sandbox.study over chunks")
