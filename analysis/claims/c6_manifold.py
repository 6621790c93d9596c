"""C6 (manifolds of minima): the Gibbs law along a manifold is not uniform, and label noise drifts.

On a connected manifold of minima the essay suggests the stationary law is
uniform along it. As T -> 0 the Gibbs marginal along the manifold is
proportional to arc length times det(H_normal)^(-1/2) instead. On the ellipse
of minima of L = 1/2 (x^2/a^2 + y^2/b^2 - 1)^2 that is ds / |grad g| (here the
law of the polar angle is the same at every T: ``analysis.manifold``); MALA
must reproduce the exact quadrature, and must not follow arc length.

On the hyperbola u v = 1 of L = 1/2 (u v - 1)^2 the Gibbs measure is not
normalisable, so no stationary law is tested there. Instead: gradient descent
stays where it lands (gradient flow conserves D = u^2 - v^2), while SGD with
label noise y = 1 + sigma xi drifts along the manifold towards u = v, the
point of least tr H, at the rate ``analysis.manifold.label_noise_drift``
predicts (Li, Wang & Arora 2022).
"""
import numpy as np

from analysis.claims.registry import claim, claim_seeds
from analysis.manifold import (ellipse_arc_length_bin_probabilities, ellipse_gibbs_bin_probabilities,
                               ellipse_landscape, ellipse_limit_bin_probabilities, gd_balance, label_noise_drift)
from analysis.stats import proportion_estimate
from analysis.verdict import Verdict
from models import two_layer_scalar
from sandbox.simulate import simulate

N_CHAINS = {"smoke": 400, "quick": 4000, "full": 20_000}
TEMPERATURES = {"smoke": (0.1,), "quick": (0.1, 0.03), "full": (0.1, 0.03, 0.01)}
EDGES = np.array([0.0, np.pi / 6, np.pi / 3, np.pi / 2])  # bins of the angle folded into the first quadrant


@claim("C6-manifold", "On a manifold of minima Langevin's stationary law is uniform along the manifold "
                      "(the essay); label-noise SGD instead drifts towards minimal tr H, while gradient flow "
                      "stays where it lands.")
def check_c6_manifold(seed, size):
    n = N_CHAINS[size]
    seeds = iter(claim_seeds(seed, 8))
    rows = []

    a, b = 2.0, 1.0
    ellipse = ellipse_landscape(a, b)
    limit = ellipse_limit_bin_probabilities(EDGES, a, b)
    arc = ellipse_arc_length_bin_probabilities(EDGES, a, b)
    phase = np.random.default_rng(next(seeds)).uniform(0, 2 * np.pi, n)
    x0 = np.column_stack([a * np.cos(phase), b * np.sin(phase)])  # on the ellipse, uniform in its parameter
    h = 0.1
    for temp in TEMPERATURES[size]:
        n_steps = int(round(20.0 / temp / h))  # about 6 times (quarter arc)^2 / (2 T)
        run = simulate(ellipse, "mala", n_chains=n, n_steps=n_steps, step_size=h, temperature=temp, x0=x0,
                       seed=next(seeds)).check()
        folded = np.arctan2(np.abs(run.x[:, 1]), np.abs(run.x[:, 0]))
        counts = np.histogram(folded, bins=EDGES)[0]
        exact = ellipse_gibbs_bin_probabilities(EDGES, a, b, temp).probabilities
        exact = exact / exact.sum()
        regime = f"ellipse a={a}, b={b}, T={temp}, MALA h={h}, {n} chains x {n_steps} steps, polar angle folded"
        for i in (0, 2):
            share = proportion_estimate(int(counts[i]), n)
            label = f"[{EDGES[i]:.3f}, {EDGES[i + 1]:.3f})"
            rows.append(Verdict("C6-manifold", f"P(angle in {label}): MALA vs exact quadrature", float(exact[i]),
                                share.value, share.stderr, regime, x=temp, x_label="T",
                                note=f"T -> 0 law ds/|grad g|: {limit[i]:.4f}"))
            rows.append(Verdict("C6-manifold", f"P(angle in {label}): MALA vs uniform in arc length (the essay)",
                                float(arc[i]), share.value, share.stderr, regime, expect_agreement=False,
                                x=temp, x_label="T", note="the normal curvature |grad g|^2 varies along the ellipse"))

    # The scalar two-layer model: label-noise SGD drifts along u v = 1, gradient descent does not.
    eta, sigma, u0, v0 = 0.05, 0.5, 2.0, 0.5
    n_steps, every = 4000, 1000
    d0 = u0 ** 2 - v0 ** 2
    model = two_layer_scalar()
    sgd = simulate(model, "sgd", n_chains=n, n_steps=n_steps, step_size=eta, label_noise={"y": sigma}, x0=[u0, v0],
                   seed=next(seeds), record_every=every, record_positions=True).check()
    balance = sgd.positions[..., 0] ** 2 - sgd.positions[..., 1] ** 2
    predicted = label_noise_drift(d0, eta, sigma, n_steps)
    leading = label_noise_drift(d0, eta, sigma, n_steps, correction=False)
    regime = (f"L = 1/2 (uv - y)^2, y = 1 + {sigma} xi redrawn every step, SGD eta={eta}, start (u, v) = ({u0}, "
              f"{v0}) on uv = 1, {n} chains")
    for row, k in enumerate(sgd.record_steps):
        d = balance[row]
        rows.append(Verdict("C6-manifold", "E[u^2 - v^2] under label-noise SGD vs the drift equation",
                            float(predicted[k]), float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size)),
                            regime + f", step {k}", x=float(k), x_label="step",
                            note=f"leading order D0 exp(-eta^2 sigma^2 k) = {leading[k]:.4f}"))
    rows.append(Verdict("C6-manifold", "u^2 - v^2 after label-noise SGD vs its start (conserved by gradient flow)",
                        d0, float(balance[-1].mean()), float(balance[-1].std(ddof=1) / np.sqrt(n)),
                        regime + f", step {n_steps}", expect_agreement=False,
                        note="label noise moves the iterate along the manifold towards u = v (least tr H)"))
    u1, v1 = 2.0, 0.8  # off the manifold (uv = 1.6): GD moves onto it and D changes only at O(eta^2)
    d1 = u1 ** 2 - v1 ** 2
    gd = simulate(model, "gd", n_chains=1, n_steps=n_steps, step_size=eta, x0=[u1, v1]).check()
    exact = gd_balance(u1, v1, eta, n_steps)[-1]
    rows.append(Verdict("C6-manifold", "u^2 - v^2 after gradient descent vs the exact discrete balance",
                        float(exact), float(gd.x[0, 0] ** 2 - gd.x[0, 1] ** 2), 1e-10 * d1,
                        f"L = 1/2 (uv - 1)^2, GD eta={eta}, {n_steps} steps, start ({u1}, {v1})",
                        note=f"gradient flow conserves D = {d1:.4g}; GD's product prod (1 - eta^2 r_k^2) is "
                             f"{exact / d1:.6f}; tolerance: rounding"))
    return rows
