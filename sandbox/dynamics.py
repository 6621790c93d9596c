"""numba kernels of the first-order dynamics: GD, SGD, ULA, MALA.

Every kernel takes a batch of chains ``x`` (n_chains, d), updated in place,
and their xoshiro states ``states`` (n_chains, 4) from
:func:`sandbox.streams.chain_states`. Chains are independent iterations of
a ``prange`` loop and each draws only from its own stream, so chain c's
trajectory does not depend on the thread count or on the other chains.

The update shared by GD, SGD and ULA is

    x <- x - step * grad L(x) + noise_scale * w,

with w = 0 (``NOISE_NONE``), w = z (``NOISE_ISOTROPIC``), w = F z for a fixed
factor F (``NOISE_FACTOR``, covariance F F^T) or w = H(x)^{1/2} z
(``NOISE_HESSIAN``), z ~ N(0, I). A state that becomes non-finite is not
stored: the chain stops, keeps its last finite state and reports the step.
"""
import math

import numba as nb
import numpy as np

from models.kernels import gradient, hessian_sqrt_apply, value
from sandbox.streams import standard_normals, uniforms

__all__ = ["NOISE_NONE", "NOISE_ISOTROPIC", "NOISE_FACTOR", "NOISE_HESSIAN",
           "first_order_chains", "affine_chains", "mala_chains"]

NOISE_NONE = 0
NOISE_ISOTROPIC = 1
NOISE_FACTOR = 2
NOISE_HESSIAN = 3


@nb.njit(cache=True, parallel=True)
def first_order_chains(kind, fp, ip, x, states, n_steps, step, noise_scale, noise_kind, factor,
                       record_every, loss_trace, pos_trace, divergence_step):
    """Generic per-chain loop for any landscape kernel (see module docstring).

    ``loss_trace`` (n_records, n_chains) and ``pos_trace`` (n_records or 0,
    n_chains, d) must be pre-filled with NaN; rows after a divergence stay NaN.
    """
    n, d = x.shape
    record_positions = pos_trace.shape[0] > 0
    for c in nb.prange(n):
        cur = x[c].copy()
        new = np.empty(d)
        g = np.empty(d)
        z = np.empty(d)
        w = np.empty(d)
        st = states[c]
        r = 0
        for t in range(1, n_steps + 1):
            gradient(kind, fp, ip, cur, g)
            s = 0.0
            if noise_kind == NOISE_NONE:
                for i in range(d):
                    new[i] = cur[i] - step * g[i]
                    s += new[i]
            else:
                standard_normals(st, z)
                if noise_kind == NOISE_ISOTROPIC:
                    for i in range(d):
                        new[i] = cur[i] - step * g[i] + noise_scale * z[i]
                        s += new[i]
                else:
                    if noise_kind == NOISE_FACTOR:
                        for i in range(d):
                            acc = 0.0
                            for j in range(d):
                                acc += factor[i, j] * z[j]
                            w[i] = acc
                    else:
                        hessian_sqrt_apply(kind, fp, ip, cur, z, w)
                    for i in range(d):
                        new[i] = cur[i] - step * g[i] + noise_scale * w[i]
                        s += new[i]
            if not math.isfinite(s):
                divergence_step[c] = t
                break
            cur, new = new, cur
            if record_every > 0 and t % record_every == 0:
                loss_trace[r, c] = value(kind, fp, ip, cur)
                if record_positions:
                    pos_trace[r, c, :] = cur
                r += 1
        x[c, :] = cur


@nb.njit(cache=True, parallel=True)
def affine_chains(kind, fp, ip, hessian, center, x, states, n_steps, step, noise_scale,
                  record_every, loss_trace, pos_trace, divergence_step, block):
    """GD/SGD/ULA with isotropic (or no) noise on grad L = H (x - c), H dense.

    Chains are grouped in fixed blocks of ``block`` rows (chain c sits in row
    c % block of block c // block, whatever n_chains is) and each block's
    gradients are one BLAS product (block, d) x (d, d) per step, so row c is
    computed by the same call shape in every run: the per-chain results do
    not depend on how many chains run beside it.
    """
    n, d = x.shape
    n_blocks = (n + block - 1) // block
    u = np.zeros((n_blocks, block, d))
    grads = np.zeros((n_blocks, block, d))
    for c in range(n):
        for i in range(d):
            u[c // block, c % block, i] = x[c, i] - center[i]
    record_positions = pos_trace.shape[0] > 0
    noisy = noise_scale != 0.0
    r = 0
    for t in range(1, n_steps + 1):
        record = record_every > 0 and t % record_every == 0
        for b in nb.prange(n_blocks):
            np.dot(u[b], hessian, grads[b])
            z = np.zeros(d)
            new = np.empty(d)
            for row in range(block):
                c = b * block + row
                if c >= n or divergence_step[c] >= 0:
                    continue
                if noisy:
                    standard_normals(states[c], z)
                s = 0.0
                for i in range(d):
                    new[i] = u[b, row, i] - step * grads[b, row, i] + noise_scale * z[i]
                    s += new[i]
                if not math.isfinite(s):
                    divergence_step[c] = t
                    continue
                u[b, row, :] = new
                if record:
                    for i in range(d):
                        new[i] += center[i]
                    loss_trace[r, c] = value(kind, fp, ip, new)
                    if record_positions:
                        pos_trace[r, c, :] = new
        if record:
            r += 1
        alive = False
        for c in range(n):
            if divergence_step[c] < 0:
                alive = True
                break
        if not alive:
            break
    for c in range(n):
        for i in range(d):
            x[c, i] = u[c // block, c % block, i] + center[i]


@nb.njit(cache=True, parallel=True)
def mala_chains(kind, fp, ip, x, states, n_steps, step, temperature,
                record_every, loss_trace, pos_trace, n_accepted):
    """Metropolis-adjusted Langevin (Roberts & Tweedie 1996, Bernoulli 2:341).

    Proposal y = x - h grad L(x) + sqrt(2 h T) z, accepted with probability
    min(1, exp(-(L(y) - L(x))/T) q(x|y) / q(y|x)), q(y|x) ∝
    exp(-|y - x + h grad L(x)|^2 / (4 h T)). A non-finite proposal is
    rejected, so chains never diverge; the stationary law is exactly
    exp(-L/T)/Z.
    """
    n, d = x.shape
    record_positions = pos_trace.shape[0] > 0
    scale = math.sqrt(2.0 * step * temperature)
    for c in nb.prange(n):
        cur = x[c].copy()
        prop = np.empty(d)
        g_cur = np.empty(d)
        g_prop = np.empty(d)
        z = np.empty(d)
        u = np.empty(1)
        st = states[c]
        l_cur = value(kind, fp, ip, cur)
        gradient(kind, fp, ip, cur, g_cur)
        accepted = 0
        r = 0
        for t in range(1, n_steps + 1):
            standard_normals(st, z)
            uniforms(st, u)
            forward = 0.0
            for i in range(d):
                prop[i] = cur[i] - step * g_cur[i] + scale * z[i]
                forward += z[i] * z[i]
            l_prop = value(kind, fp, ip, prop)
            gradient(kind, fp, ip, prop, g_prop)
            backward = 0.0
            for i in range(d):
                e = cur[i] - prop[i] + step * g_prop[i]
                backward += e * e
            # forward residual is scale * z, so |.|^2 / (4hT) = |z|^2 / 2
            log_alpha = -(l_prop - l_cur) / temperature - backward / (4.0 * step * temperature) + 0.5 * forward
            if math.isfinite(log_alpha) and math.log(u[0]) < log_alpha:
                cur, prop = prop, cur
                g_cur, g_prop = g_prop, g_cur
                l_cur = l_prop
                accepted += 1
            if record_every > 0 and t % record_every == 0:
                loss_trace[r, c] = l_cur
                if record_positions:
                    pos_trace[r, c, :] = cur
                r += 1
        x[c, :] = cur
        n_accepted[c] = accepted
