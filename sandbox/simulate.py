"""``simulate``: run many chains of GD, SGD, ULA or MALA on a landscape.

Conventions (DESIGN.md):

- ``"gd"``:   x <- x - eta grad L(x)
- ``"sgd"``:  x <- x - eta (grad L(x) + xi), xi ~ N(0, C); C = sigma^2 I,
  a fixed matrix, or sigma^2 H(x) ("Hessian-shaped"). Isotropic C = sigma^2 I
  corresponds to temperature T = eta sigma^2 / 2.
- ``"ula"``:  x <- x - h grad L(x) + sqrt(2 h T) z, the Euler–Maruyama
  discretisation of dX = -grad L dt + sqrt(2T) dW (biased at finite h).
- ``"mala"``: ULA proposal plus a Metropolis–Hastings correction; exact Gibbs
  stationary law exp(-L/T)/Z.
"""
import warnings
from dataclasses import dataclass

import numpy as np

from models.landscape import Landscape
from models.validation import (as_finite_array, check_choice, check_nonnegative,
                               check_positive, check_positive_int)
from sandbox import dynamics
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
    """Result of :func:`simulate`.

    Attributes
    ----------
    x : ndarray (n_chains, d)
        Final states. A diverged chain holds its last finite state.
    loss : ndarray (n_records, n_chains) or None
        L(x) at steps ``record_steps`` (NaN after a chain diverged). A state
        can be finite while its loss overflows (|x| ~ 1e154): such records
        are +inf, and the chain is reported diverged once x itself is not finite.
    positions : ndarray (n_records, n_chains, d) or None
        Recorded states when ``record_positions=True``.
    record_steps : ndarray (n_records,)
        Step numbers (1-based) of the records.
    divergence_step : ndarray (n_chains,) of int
        First step whose state was non-finite, -1 for chains that did not diverge.
    acceptance_rate : ndarray (n_chains,) or None
        MALA acceptance rate per chain.
    method, step_size, temperature, n_steps, chain_offset
        The run's regime; ``seed_entropy`` and ``seed_spawn_key`` reproduce it with
        ``seed=np.random.SeedSequence(seed_entropy, spawn_key=seed_spawn_key)``.
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

    @property
    def diverged(self):
        """Boolean mask (n_chains,) of chains that diverged."""
        return self.divergence_step >= 0

    @property
    def n_diverged(self):
        return int(np.count_nonzero(self.diverged))

    def divergence_message(self):
        idx = np.flatnonzero(self.diverged)
        shown = ", ".join(f"chain {self.chain_offset + c} at step {self.divergence_step[c]}" for c in idx[:5])
        more = f" and {idx.size - 5} more" if idx.size > 5 else ""
        return (f"{idx.size} of {self.x.shape[0]} chains diverged ({shown}{more}) "
                f"with method={self.method!r}, step_size={self.step_size}, temperature={self.temperature}")

    def check(self):
        """Raise :class:`DivergenceError` if any chain diverged; return self otherwise."""
        if self.n_diverged:
            raise DivergenceError(self.divergence_message())
        return self


def _noise_spec(method, noise, temperature, step, landscape):
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
    if noise is None:
        raise ValueError("noise is required for method 'sgd': sigma^2 (float), a (d, d) covariance, "
                         "or ('hessian', sigma^2)")
    if isinstance(noise, tuple):
        if len(noise) != 2 or noise[0] != "hessian":
            raise ValueError(f"noise tuple must be ('hessian', sigma^2), got {noise!r}")
        sigma2 = check_nonnegative(noise[1], "noise")
        if not landscape.hessian_is_psd:
            raise ValueError("noise ('hessian', sigma^2) needs a positive semi-definite Hessian everywhere; "
                             f"{landscape!r} has negative curvature")
        return dynamics.NOISE_HESSIAN, step * float(np.sqrt(sigma2)), none
    cov = as_finite_array(noise, "noise", ndim=(0, 2))
    if cov.ndim == 0:
        sigma2 = check_nonnegative(float(cov), "noise")
        kind = dynamics.NOISE_ISOTROPIC if sigma2 > 0 else dynamics.NOISE_NONE
        return kind, step * float(np.sqrt(sigma2)), none
    if cov.shape != (d, d):
        raise ValueError(f"noise covariance must have shape ({d}, {d}), got {cov.shape}")
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12):
        raise ValueError("noise covariance must be symmetric")
    lam, vec = np.linalg.eigh(cov)
    if lam.min() < -1e-10 * max(lam.max(), 1e-300):
        raise ValueError(f"noise covariance must be positive semi-definite, smallest eigenvalue {lam.min():.3g}")
    factor = np.ascontiguousarray((vec * np.sqrt(np.clip(lam, 0.0, None))) @ vec.T)
    return dynamics.NOISE_FACTOR, step, factor


def simulate(landscape, method, *, n_chains, n_steps, step_size, temperature=0.0, noise=None,
             x0=None, seed=None, record_every=0, record_positions=False, chain_offset=0,
             on_divergence="warn"):
    """Run ``n_chains`` independent chains of a first-order method on ``landscape``.

    Parameters
    ----------
    landscape : models.Landscape
    method : {"gd", "sgd", "ula", "mala"}
        Update rule (module docstring).
    n_chains, n_steps : int >= 1
    step_size : float > 0
        eta for GD/SGD, h for ULA/MALA.
    temperature : float >= 0
        T for ULA/MALA (must be > 0 for MALA, 0 for GD/SGD).
    noise : float, (d, d) array or ("hessian", float), optional
        SGD gradient-noise covariance: sigma^2 (C = sigma^2 I), a fixed PSD
        matrix C, or ("hessian", sigma^2) for C = sigma^2 H(x).
    x0 : array_like (d,) or (n_chains, d), optional
        Initial states (default: the origin).
    seed : int, SeedSequence, Generator or None
        Chain c uses a stream that is a pure function of (seed, chain_offset + c).
    record_every : int >= 0
        Record L(x) every this many steps (0: no trace).
    record_positions : bool
        Also record positions at those steps.
    chain_offset : int >= 0
        Index of the first chain, so that a study can be split into chunks
        that reproduce one big run bit for bit.
    on_divergence : {"warn", "raise", "ignore"}
        What to do when a chain's state becomes non-finite (always recorded
        in ``Run.divergence_step``).

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
    noise_kind, noise_scale, factor = _noise_spec(method, noise, temperature, step, landscape)

    if x0 is None:
        x = np.zeros((n_chains, d))
    else:
        start = as_finite_array(x0, "x0", ndim=(1, 2))
        if start.shape not in ((d,), (n_chains, d)):
            raise ValueError(f"x0 must have shape ({d},) or ({n_chains}, {d}), got {start.shape}")
        x = np.array(np.broadcast_to(start, (n_chains, d)), dtype=float, order="C")

    seq = seed_sequence(seed)
    states = chain_states(seq, n_chains, first_chain=chain_offset)
    n_records = n_steps // record_every if record_every else 0
    loss = np.full((n_records, n_chains), np.nan)
    positions = np.full((n_records if record_positions else 0, n_chains, d), np.nan)
    divergence_step = np.full(n_chains, -1, dtype=np.int64)
    kp = landscape.kernel_params()
    acceptance = None

    if method == "mala":
        accepted = np.zeros(n_chains, dtype=np.int64)
        dynamics.mala_chains(kp.kind, kp.fp, kp.ip, x, states, n_steps, step, temperature,
                             record_every, loss, positions, accepted)
        acceptance = accepted / n_steps
    elif landscape.affine_gradient is not None and d >= _AFFINE_MIN_DIM and noise_kind in (dynamics.NOISE_NONE, dynamics.NOISE_ISOTROPIC):
        hessian, center = landscape.affine_gradient
        dynamics.affine_chains(kp.kind, kp.fp, kp.ip, np.ascontiguousarray(hessian), np.ascontiguousarray(center),
                               x, states, n_steps, step, noise_scale, record_every, loss, positions,
                               divergence_step, _AFFINE_BLOCK)
    else:
        dynamics.first_order_chains(kp.kind, kp.fp, kp.ip, x, states, n_steps, step, noise_scale,
                                    noise_kind, factor, record_every, loss, positions, divergence_step)

    run = Run(
        x=x,
        loss=loss if record_every else None,
        positions=positions if record_positions and record_every else None,
        record_steps=np.arange(1, n_records + 1) * record_every if record_every else np.zeros(0, dtype=int),
        divergence_step=divergence_step,
        acceptance_rate=acceptance,
        method=method,
        step_size=step,
        temperature=temperature,
        n_steps=n_steps,
        chain_offset=chain_offset,
        seed_entropy=seq.entropy,
        seed_spawn_key=tuple(seq.spawn_key),
    )
    if run.n_diverged and on_divergence == "raise":
        raise DivergenceError(run.divergence_message())
    if run.n_diverged and on_divergence == "warn":
        warnings.warn(run.divergence_message(), RuntimeWarning, stacklevel=2)
    return run
