"""C10: conditioning decides whether (S)GD works; ULA is biased at finite step.

GD on a quadratic diverges iff eta > 2 / lambda_max. The unadjusted Langevin
algorithm on L = lam x^2 / 2 has stationary variance T / (lam (1 - h lam / 2)),
not the Gibbs value T / lam; MALA's Metropolis correction removes the bias.
"""
import numpy as np

from analysis.claims.registry import claim, claim_seeds
from analysis.stats import variance_estimate
from analysis.thermo import gd_critical_step, ula_stationary_variance
from analysis.verdict import Verdict
from models import Quadratic, random_rotation
from sandbox.simulate import simulate

N_CHAINS = {"smoke": 2_000, "quick": 20_000, "full": 200_000}


@claim("C10", "Conditioning decides whether SGD works: GD diverges iff eta > 2/lambda_max; ULA's stationary "
              "variance on lam x^2/2 is T/(lam (1 - h lam/2)), not T/lam.")
def check_c10(seed, size):
    rows = []
    lam = np.array([0.5, 1.0, 2.0])
    q = Quadratic(lam, rotation=random_rotation(3, seed=claim_seeds(seed, 1)[0]))
    eta_c = gd_critical_step(lam)
    for factor in (0.98, 1.02):
        run = simulate(q, "gd", n_chains=4, n_steps=50_000, step_size=factor * eta_c, x0=np.ones(3),
                       on_divergence="ignore")
        rows.append(Verdict("C10", f"fraction of GD chains diverged at eta = {factor} x 2/lambda_max",
                            float(factor > 1), run.n_diverged / 4, 0.0,
                            "d=3, lambda=(0.5,1,2), 50000 steps, x0=(1,1,1)", note="deterministic: exact match"))
    # locate the threshold by bisection on "loss after n steps exceeds the initial loss"
    n_steps, x0 = 2000, np.ones(3)
    lo, hi = 0.5 * eta_c, 1.5 * eta_c
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        run = simulate(q, "gd", n_chains=1, n_steps=n_steps, step_size=mid, x0=x0, record_every=n_steps,
                       on_divergence="ignore")
        grew = run.n_diverged or run.loss[-1, 0] > q.value(x0)
        lo, hi = (lo, mid) if grew else (mid, hi)
    # above eta_c the top mode grows by |1 - eta lam_max|^(2n); it overtakes L(x0) once
    # (1 + delta)^(2n) > L(x0) / L_top(x0): the threshold found sits at most this far above 2/lam_max
    top = (x0 @ q.rotation[:, 2]) ** 2 * lam[2] / 2
    resolution = np.log(q.value(x0) / top) / (2 * n_steps * lam[2]) + (hi - lo)
    rows.append(Verdict("C10", "GD critical step (bisection) vs 2/lambda_max", eta_c, 0.5 * (lo + hi),
                        float(resolution), f"d=3, n={n_steps} steps",
                        note="stderr = deterministic resolution of the bisection criterion"))

    n_chains = N_CHAINS[size]
    lam1, h, temp = 1.0, 0.5, 1.0
    one = Quadratic([lam1])
    seeds = claim_seeds(seed, 3)
    regime = f"d=1, lam={lam1}, h={h}, T={temp}, {n_chains} chains x 200 steps"
    ula = simulate(one, "ula", n_chains=n_chains, n_steps=200, step_size=h, temperature=temp, seed=seeds[1]).check()
    var = variance_estimate(ula.x[:, 0])
    rows.append(Verdict("C10", "ULA stationary variance vs T/(lam (1 - h lam/2))",
                        ula_stationary_variance(lam1, h, temp), float(var.value), float(var.stderr), regime))
    rows.append(Verdict("C10", "ULA stationary variance vs the Gibbs value T/lam", temp / lam1,
                        float(var.value), float(var.stderr), regime, expect_agreement=False,
                        note="step-size bias of the unadjusted algorithm"))
    mala = simulate(one, "mala", n_chains=n_chains, n_steps=200, step_size=h, temperature=temp, seed=seeds[2])
    var = variance_estimate(mala.x[:, 0])
    rows.append(Verdict("C10", "MALA stationary variance vs T/lam", temp / lam1, float(var.value),
                        float(var.stderr), regime,
                        note=f"Metropolis correction removes the bias (acceptance {mala.acceptance_rate.mean():.2f})"))
    return rows
