"""numba kernels of the first-order dynamics: GD, SGD, ULA, MALA.

Every kernel takes a landscape's slot addresses ``fns`` and parameters ``p``
(:class:`models.kernels.CompiledLandscape`), a batch of chains ``x``
(n_chains, d), updated in place, and their xoshiro states ``states``
(n_chains, 4) from :func:`sandbox.streams.chain_states`, also advanced in
place, so a run can be continued exactly where it stopped. Chains are
independent iterations of a ``prange`` loop and each draws only from its own
stream, so chain c's trajectory does not depend on the thread count or on
the other chains.

The update shared by GD, SGD and ULA is

    x <- x - step * grad L(x) + noise_scale * w,

with w = 0 (``NOISE_NONE``), w = z (``NOISE_ISOTROPIC``), w = F z for a fixed
factor F (``NOISE_FACTOR``, covariance F F^T) or w = H(x)^{1/2} z
(``NOISE_HESSIAN``), z ~ N(0, I). ``first_order_chains`` can also redraw
some parameters of the loss at every step (label noise).

Divergence. L and grad L are evaluated together at every step, so a chain
stops at the first step whose state or loss is not finite, or where a
landscape function raised. ``divergence_step[c]`` is that step (counted from
the start of the first run), ``divergence_cause[c]`` one of the ``CAUSE_*``
codes, and ``x[c]`` the last state whose loss was finite. Chains with
``divergence_step >= 0`` on entry are not advanced (a continued run).
"""
import math

import numba as nb
import numpy as np

from models.kernels import hessian_sqrt_apply, value, value_and_gradient
from sandbox.streams import standard_normals, uniforms

__all__ = ["NOISE_NONE", "NOISE_ISOTROPIC", "NOISE_FACTOR", "NOISE_HESSIAN", "CAUSES",
           "first_order_chains", "affine_chains", "mala_chains", "mala_proposal",
           "divergence_summary"]

NOISE_NONE = 0
NOISE_ISOTROPIC = 1
NOISE_FACTOR = 2
NOISE_HESSIAN = 3

CAUSE_STATE = 1
CAUSE_LOSS = 2
CAUSE_GRADIENT = 3
CAUSE_RAISED = 4
#: Code -> description of why a chain stopped.
CAUSES = {
    CAUSE_STATE: "state not finite",
    CAUSE_LOSS: "loss not finite",
    CAUSE_GRADIENT: "gradient not finite",
    CAUSE_RAISED: "a landscape function raised an exception",
}


def divergence_summary(divergence_step, divergence_cause, *, chain_offset=0, limit=5):
    """``"chain c at step t (cause), ..."`` for the first ``limit`` chains that stopped, and " and k more"."""
    failed = np.flatnonzero(np.asarray(divergence_step) >= 0)
    shown = ", ".join(f"chain {chain_offset + c} at step {divergence_step[c]} "
                      f"({CAUSES.get(int(divergence_cause[c]), '')})" for c in failed[:limit])
    return shown + (f" and {failed.size - limit} more" if failed.size > limit else "")


@nb.njit(cache=True)
def _loss_cause(status, loss):
    """0 if (status, loss) is a good evaluation, else the CAUSE code."""
    if status != 0:
        return CAUSE_RAISED
    if not math.isfinite(loss):
        return CAUSE_LOSS
    return 0


@nb.njit(cache=True)
def _step_cause(g):
    """Cause of a non-finite new state: the gradient's, or the state's own overflow."""
    for i in range(g.size):
        if not math.isfinite(g[i]):
            return CAUSE_GRADIENT
    return CAUSE_STATE


@nb.njit(cache=True, parallel=True)
def first_order_chains(fns, p, x, states, step_offset, n_steps, step, noise_scale, noise_kind, factor,
                       redraw_index, redraw_sigma, record_every, loss_trace, pos_trace, divergence_step,
                       divergence_cause):
    """Generic per-chain loop for any landscape (see module docstring).

    Label noise: before every step the parameters ``p[redraw_index[k]]`` are
    redrawn as ``p[redraw_index[k]] + redraw_sigma[k] * xi`` (xi ~ N(0, 1),
    from the chain's stream, drawn before the step's other noise) in the
    chain's own copy of ``p``; recorded losses are those of the nominal ``p``.

    Steps ``step_offset + 1 .. step_offset + n_steps`` are taken; a record is
    made at every step t with t % record_every == 0. ``loss_trace``
    (n_records, n_chains) and ``pos_trace`` (n_records or 0, n_chains, d) must
    be pre-filled with NaN; rows after a divergence stay NaN. The loss of a
    recorded state is taken from the next step's evaluation.
    """
    n, d = x.shape
    record_positions = pos_trace.shape[0] > 0
    for c in nb.prange(n):
        if divergence_step[c] >= 0:
            continue
        cur = x[c].copy()
        prev = x[c].copy()
        new = np.empty(d)
        g = np.empty(d)
        z = np.empty(d)
        w = np.empty(d)
        work = np.empty((d, d)) if noise_kind == NOISE_HESSIAN else np.empty((0, 0))
        st = states[c]
        n_redraw = redraw_index.size
        pc = p.copy() if n_redraw > 0 else p
        labels = np.empty(n_redraw)
        r = 0
        pending = -1
        for t in range(step_offset + 1, step_offset + n_steps + 1):
            if n_redraw > 0:
                if pending >= 0:
                    loss_trace[pending, c] = value(fns, p, cur)[1]
                    pending = -1
                standard_normals(st, labels)
                for k in range(n_redraw):
                    pc[redraw_index[k]] = p[redraw_index[k]] + redraw_sigma[k] * labels[k]
            status, loss = value_and_gradient(fns, pc, cur, g)
            if pending >= 0:
                loss_trace[pending, c] = loss
                pending = -1
            cause = _loss_cause(status, loss)
            if cause:
                divergence_step[c] = t - 1
                divergence_cause[c] = cause
                cur[:] = prev
                break
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
                    elif hessian_sqrt_apply(fns, p, cur, z, w, work) != 0:
                        divergence_step[c] = t
                        divergence_cause[c] = CAUSE_RAISED
                        break
                    for i in range(d):
                        new[i] = cur[i] - step * g[i] + noise_scale * w[i]
                        s += new[i]
            if not math.isfinite(s):
                divergence_step[c] = t
                divergence_cause[c] = _step_cause(g)
                break
            prev, cur, new = cur, new, prev
            if record_every > 0 and t % record_every == 0:
                if record_positions:
                    pos_trace[r, c, :] = cur
                pending = r
                r += 1
        if divergence_step[c] < 0:
            status, loss = value(fns, p, cur)
            if pending >= 0:
                loss_trace[pending, c] = loss
            cause = _loss_cause(status, loss)
            if cause:
                divergence_step[c] = step_offset + n_steps
                divergence_cause[c] = cause
                cur[:] = prev
        x[c, :] = cur


@nb.njit(cache=True)
def _affine_loss_is_finite(u, g, prev, c, pending, loss_trace, divergence_step, divergence_cause, failed_step):
    """The loss 1/2 u . g of chain c (u = x - c, g = H u) fills its pending record; if it is not
    finite the chain is marked diverged at ``failed_step`` and ``u`` goes back to ``prev``."""
    loss = 0.0
    for i in range(u.size):
        loss += u[i] * g[i]
    loss *= 0.5
    if pending[c] >= 0:
        loss_trace[pending[c], c] = loss
        pending[c] = -1
    if math.isfinite(loss):
        return True
    divergence_step[c] = failed_step
    divergence_cause[c] = CAUSE_LOSS
    u[:] = prev
    return False


@nb.njit(cache=True, parallel=True)
def affine_chains(hessian, center, x, states, step_offset, n_steps, step, noise_scale,
                  record_every, loss_trace, pos_trace, divergence_step, divergence_cause, block):
    """GD/SGD/ULA with isotropic (or no) noise on L = 1/2 (x - c)^T H (x - c), H dense.

    Chains are grouped in fixed blocks of ``block`` rows (chain c sits in row
    c % block of block c // block, whatever n_chains is) and each block's
    gradients are one BLAS product (block, d) x (d, d) per step, so row c is
    computed by the same call shape in every run: the per-chain results do
    not depend on how many chains run beside it. The loss 1/2 u . (H u),
    u = x - c, comes from the same product.
    """
    n, d = x.shape
    n_blocks = (n + block - 1) // block
    u = np.zeros((n_blocks, block, d))
    grads = np.zeros((n_blocks, block, d))
    prev = np.zeros((n, d))
    for c in range(n):
        for i in range(d):
            u[c // block, c % block, i] = x[c, i] - center[i]
            prev[c, i] = x[c, i] - center[i]
    record_positions = pos_trace.shape[0] > 0
    noisy = noise_scale != 0.0
    pending = np.full(n, -1, dtype=np.int64)
    r = 0
    for t in range(step_offset + 1, step_offset + n_steps + 1):
        record = record_every > 0 and t % record_every == 0
        for b in nb.prange(n_blocks):
            np.dot(u[b], hessian, grads[b])
            z = np.zeros(d)
            new = np.empty(d)
            for row in range(block):
                c = b * block + row
                if c >= n or divergence_step[c] >= 0:
                    continue
                if not _affine_loss_is_finite(u[b, row], grads[b, row], prev[c], c, pending, loss_trace,
                                              divergence_step, divergence_cause, t - 1):
                    continue
                if noisy:
                    standard_normals(states[c], z)
                s = 0.0
                for i in range(d):
                    new[i] = u[b, row, i] - step * grads[b, row, i] + noise_scale * z[i]
                    s += new[i]
                if not math.isfinite(s):
                    divergence_step[c] = t
                    divergence_cause[c] = _step_cause(grads[b, row])
                    continue
                prev[c, :] = u[b, row]
                u[b, row, :] = new
                if record:
                    if record_positions:
                        for i in range(d):
                            pos_trace[r, c, i] = new[i] + center[i]
                    pending[c] = r
        if record:
            r += 1
        alive = False
        for c in range(n):
            if divergence_step[c] < 0:
                alive = True
                break
        if not alive:
            break
    for b in nb.prange(n_blocks):
        np.dot(u[b], hessian, grads[b])
        for row in range(block):
            c = b * block + row
            if c >= n or divergence_step[c] >= 0:
                continue
            _affine_loss_is_finite(u[b, row], grads[b, row], prev[c], c, pending, loss_trace, divergence_step,
                                   divergence_cause, step_offset + n_steps)
    for c in range(n):
        for i in range(d):
            x[c, i] = u[c // block, c % block, i] + center[i]


@nb.njit(cache=True)
def mala_proposal(fns, p, cur, g_cur, l_cur, prop, g_prop, z, u, st, step, scale, temperature):
    """Draw a MALA proposal from ``cur`` into ``prop`` (its gradient into ``g_prop``) and decide on it.

    The proposal is cur - h grad L(cur) + scale z with scale = sqrt(2 h T);
    z and the uniform u come from the chain's stream ``st``. Returns
    ``(cause, accept, l_prop)``: cause is 0, or the CAUSE code of a failed
    evaluation at the proposal (then nothing is accepted); on acceptance the
    caller swaps cur/prop and g_cur/g_prop and takes l_prop.
    """
    d = cur.size
    standard_normals(st, z)
    uniforms(st, u)
    forward = 0.0
    for i in range(d):
        prop[i] = cur[i] - step * g_cur[i] + scale * z[i]
        forward += z[i] * z[i]
    status, l_prop = value_and_gradient(fns, p, prop, g_prop)
    backward = 0.0
    for i in range(d):
        e = cur[i] - prop[i] + step * g_prop[i]
        backward += e * e
    if status != 0:
        return CAUSE_RAISED, False, l_prop
    if math.isnan(l_prop):
        return CAUSE_LOSS, False, l_prop
    if math.isnan(backward):
        return CAUSE_GRADIENT, False, l_prop
    # forward residual is scale * z, so |.|^2 / (4hT) = |z|^2 / 2
    log_alpha = -(l_prop - l_cur) / temperature - backward / (4.0 * step * temperature) + 0.5 * forward
    return 0, math.isfinite(log_alpha) and math.log(u[0]) < log_alpha, l_prop


@nb.njit(cache=True, parallel=True)
def mala_chains(fns, p, x, states, step_offset, n_steps, step, temperature,
                record_every, loss_trace, pos_trace, n_accepted, divergence_step, divergence_cause):
    """Metropolis-adjusted Langevin (Roberts & Tweedie 1996, Bernoulli 2:341).

    Proposal y = x - h grad L(x) + sqrt(2 h T) z, accepted with probability
    min(1, exp(-(L(y) - L(x))/T) q(x|y) / q(y|x)), q(y|x) ∝
    exp(-|y - x + h grad L(x)|^2 / (4 h T)). A proposal whose loss is +inf
    (or whose acceptance ratio overflows) is rejected, so the stationary law
    stays exactly exp(-L/T)/Z; a NaN loss or gradient, or a landscape
    function that raised, stops the chain and is reported like a divergence.
    """
    n, d = x.shape
    record_positions = pos_trace.shape[0] > 0
    scale = math.sqrt(2.0 * step * temperature)
    for c in nb.prange(n):
        if divergence_step[c] >= 0:
            continue
        cur = x[c].copy()
        prop = np.empty(d)
        g_cur = np.empty(d)
        g_prop = np.empty(d)
        z = np.empty(d)
        u = np.empty(1)
        st = states[c]
        status, l_cur = value_and_gradient(fns, p, cur, g_cur)
        cause = _loss_cause(status, l_cur)
        if cause:
            divergence_step[c] = step_offset
            divergence_cause[c] = cause
            continue
        accepted = 0
        r = 0
        for t in range(step_offset + 1, step_offset + n_steps + 1):
            cause, accept, l_prop = mala_proposal(fns, p, cur, g_cur, l_cur, prop, g_prop, z, u, st, step, scale,
                                                  temperature)
            if cause:
                divergence_step[c] = t
                divergence_cause[c] = cause
                break
            if accept:
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
