"""C5: random initialisation lands in flat minima more often -- only where their basins of attraction are larger.

The naive claim: optimisation from a random start ends in a minimum with
probability proportional to the minimum's volume (its sublevel set, or
Laplace's det(H)^(-1/2)). Gradient descent, though, ends in the minimum whose
basin of attraction holds the start: the landing frequency is the initial
law's mass of that basin, whatever the curvature. On
``models.skewed_double_well`` (equal depths, curvatures 2 and 32, the barrier
at x* = 0.3527) with starts uniform on [-1.25, 2.75], the sharp minimum's
basin of attraction (x*, inf) holds 60% of the starts, so GD lands there
more often while the volume prediction says the flat one wins 4 : 1. Noise changes the answer:
ULA long enough to equilibrate lands in each basin with its Gibbs weight,
which at low T favours the flat minimum (claim C6).
"""
import numpy as np

from analysis.claims.registry import claim, claim_seeds
from analysis.critical import find_critical_points
from analysis.occupancy import exact_occupancy, laplace_occupancy
from analysis.verdict import Verdict
from models import skewed_double_well
from sandbox.basins import basin_statistics

N_CHAINS = {"smoke": 400, "quick": 4000, "full": 40_000}
BOX = (-1.25, 2.75)


@claim("C5", "Random initialisation lands in flat minima more often: the chance that optimisation from a random "
             "start ends in a minimum is proportional to that minimum's volume.")
def check_c5(seed, size):
    n = N_CHAINS[size]
    seeds = iter(claim_seeds(seed, 8))
    well = skewed_double_well()
    found = find_critical_points(well, bounds=[[BOX[0] - 0.5, BOX[1]]], n_starts=30, seed=next(seeds),
                                 min_minima=2, min_saddles=1)
    flat, sharp = sorted(found.minima, key=lambda m: m.eigenvalues[0])
    barrier = found.saddles[0].position[0]
    attraction = np.array([barrier - BOX[0], BOX[1] - barrier]) / (BOX[1] - BOX[0])  # flat, sharp
    volume = laplace_occupancy([flat, sharp], 1.0)  # equal depths: det(H)^(-1/2) shares, T-free
    regime = (f"skewed double well (curvatures {flat.eigenvalues[0]:.3g}, {sharp.eigenvalues[0]:.3g}, barrier at "
              f"x*={barrier:.4f}), start uniform on [{BOX[0]}, {BOX[1]}], {n} chains")
    rows = []

    # steps of 1e-3: the curvature reaches about 500 at the right end of the box
    gd = basin_statistics(well, [flat, sharp], method="gd", init=("uniform", [BOX]), n_chains=n, n_steps=4000,
                          step_size=1e-3, seed=next(seeds))
    share = gd.fractions[1]
    se = np.sqrt(share * (1 - share) / n)
    rows.append(Verdict("C5", "GD landing share of the sharp minimum vs its basin-of-attraction share",
                        float(attraction[1]), float(share), float(se), regime + ", GD eta=0.001, 4000 steps + quench",
                        note=f"sublevel-volume (naive) share {volume[1]:.3f}", x=0.0, x_label="T"))
    rows.append(Verdict("C5", "GD landing share of the sharp minimum vs the naive volume share",
                        float(volume[1]), float(share), float(se), regime + ", GD eta=0.001, 4000 steps + quench",
                        expect_agreement=False,
                        note="basins of attraction are not sublevel sets: the naive claim fails here"))

    # Noise: ULA, then quench. At low T and short times the chains stay in their basin of attraction;
    # long enough at higher T they reach the Gibbs occupancy, which favours the flat minimum.
    h = 1e-3
    for temp, run_time in ((0.02, 4.0), (0.5, 50.0)):
        n_steps = int(run_time / h)
        ula = basin_statistics(well, [flat, sharp], method="ula", init=("uniform", [BOX]), n_chains=n,
                               n_steps=n_steps, step_size=h, temperature=temp, seed=next(seeds))
        share = ula.fractions[1]
        se = np.sqrt(share * (1 - share) / n)
        gibbs = exact_occupancy(well, temp, bounds=[[-4.0, 4.0]],
                                partition=lambda x: (np.asarray(x)[:, 0] > barrier).astype(int)).probabilities[1]
        equilibrated = temp >= 0.5
        ula_regime = regime + f", ULA h={h}, T={temp}, time {run_time:g} ({n_steps} steps), then a GD quench"
        rows.append(Verdict("C5", "ULA landing share of the sharp minimum vs the Gibbs (quadrature) share",
                            float(gibbs), float(share), float(se), ula_regime, expect_agreement=equilibrated,
                            x=temp, x_label="T",
                            note=(f"run long enough to equilibrate; basin-of-attraction share {attraction[1]:.3f}"
                                  if equilibrated else
                                  f"too cold to cross the barrier in this time: the chains keep the "
                                  f"basin-of-attraction share {attraction[1]:.3f}")))
        if not equilibrated:
            rows.append(Verdict("C5", "ULA landing share of the sharp minimum vs its basin-of-attraction share",
                                float(attraction[1]), float(share), float(se), ula_regime, x=temp, x_label="T"))
    return rows
