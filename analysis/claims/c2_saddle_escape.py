"""C2: saddles are escaped easily with noise, and never without it.

Near a strict saddle with negative curvature -mu, Langevin dynamics at
temperature T leaves the slab |x . u| < r (u the unstable direction) in mean
time given exactly by a Dawson-function integral, about
(1/2mu) [ln(mu r^2 / T) + gamma + ln 2] at small T; gradient descent started on
the stable manifold never leaves.
"""
from analysis.claims.registry import claim, claim_seeds
from analysis.escape import saddle_exit_time_small_t, saddle_mean_exit_time
from analysis.verdict import Verdict
from models import Quadratic, random_rotation
from sandbox.escape import exit_times

N_CHAINS = {"smoke": 200, "quick": 4000, "full": 40_000}


@claim("C2", "Saddles are escaped easily with noise: near a strict saddle with curvature -mu, noisy GD / "
             "Langevin leaves a neighbourhood of size r in time about (1/mu) log(r / noise scale); "
             "without noise, from the stable manifold, never.")
def check_c2(seed, size):
    n_chains = N_CHAINS[size]
    mu, r, h = 1.0, 1.0, 1e-3
    seeds = claim_seeds(seed, 5)
    rows = []
    d = 10
    rot = random_rotation(d, seed=seeds[0])
    cases = (
        (1, 0.1, Quadratic([-mu]), None),
        (1, 0.01, Quadratic([-mu]), None),
        (d, 0.01, Quadratic([-mu] + [1.0] * (d - 1), rotation=rot), rot[:, 0]),
        (1, 1e-4, Quadratic([-mu]), None),
    )
    for k, (dim, temp, saddle, direction) in enumerate(cases):
        res = exit_times(saddle, radius=r, n_chains=n_chains, step_size=h, temperature=temp,
                         max_steps=200_000, direction=direction, seed=seeds[k + 1])
        if res.n_censored:
            raise RuntimeError(f"{res.n_censored} chains did not leave within max_steps; raise max_steps")
        regime = (f"d={dim}, mu={mu}, r={r}, T={temp}, ULA h={h} (monitoring-corrected), "
                  f"{n_chains} chains, slab along the unstable direction")
        small_t = saddle_exit_time_small_t(mu, r, temp)
        if temp < 1e-3:
            rows.append(Verdict("C2", "mean exit time vs small-T asymptote (1/2mu)[ln(mu r^2/T) + gamma + ln 2]",
                                small_t, float(res.mean.value), float(res.mean.stderr), regime))
        else:
            rows.append(Verdict("C2", "mean exit time vs exact (Dawson-function) formula",
                                saddle_mean_exit_time(mu, r, temp), float(res.mean.value), float(res.mean.stderr),
                                regime, note=f"small-T asymptote {small_t:.4f}", x=temp, x_label="T"))
    still = exit_times(Quadratic([-mu] + [1.0] * (d - 1)), radius=r, n_chains=16, step_size=h, temperature=0.0,
                       max_steps=100_000)
    rows.append(Verdict("C2", "fraction leaving without noise, started on the saddle", 0.0,
                        still.fraction_exited, 0.0, f"d={d}, T=0, 100000 steps of GD, h={h}",
                        note="deterministic: exact match"))
    return rows
