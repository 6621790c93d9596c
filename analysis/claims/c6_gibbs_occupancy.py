"""C6: Langevin dynamics samples exp(-L/T), so time spent in a basin follows its Gibbs weight.

The Gibbs occupancy of basin i is P_i = Z_i / sum_j Z_j, Z_i the integral of
exp(-L/T) over the basin, which this check computes by quadrature
(``analysis.occupancy.exact_occupancy``): the independent truth. Laplace's
formula P_i proportional to exp(-L_i/T) det(H_i)^(-1/2) is its T -> 0
limit; for wells of equal depth it is the volume ratio of claim C3. ULA at a
small step and MALA must reproduce the quadrature; ULA at a large step must
not (its stationary law is biased, claim C10).
"""
import numpy as np

from analysis.claims.registry import claim, claim_seeds
from analysis.critical import find_critical_points
from analysis.occupancy import exact_occupancy, laplace_occupancy
from analysis.stats import proportion_estimate
from analysis.verdict import Verdict
from models import MultiWell, entropic_double_well
from sandbox.simulate import simulate

N_CHAINS = {"smoke": 400, "quick": 4000, "full": 20_000}
#: Temperatures of the entropic double well; the ULA runs last >= 4 relaxation times 1 / (k_LR + k_RL).
TEMPERATURES = {"smoke": (0.5,), "quick": (1.0, 0.5, 0.3), "full": (1.0, 0.5, 0.3, 0.25)}
RUN_TIME = {1.0: 20.0, 0.5: 30.0, 0.3: 60.0, 0.25: 120.0}


def _side(x):
    """Basin index of the entropic double well: 0 for x < 0 (the wide well), 1 otherwise."""
    return (np.asarray(x)[:, 0] >= 0).astype(int)


def _occupancy_row(quantity, landscape, method, step, temperature, x0, basin_of, k, exact, regime, seed, n_steps,
                   **verdict):
    run = simulate(landscape, method, n_chains=len(x0), n_steps=n_steps, step_size=step, temperature=temperature,
                   x0=x0, seed=seed).check()
    share = proportion_estimate(int(np.count_nonzero(basin_of(run.x) == k)), len(x0))
    return Verdict("C6", quantity, float(exact), share.value, share.stderr, regime, x=temperature, x_label="T",
                   **verdict)


def _start(minima_positions, laplace, n):
    """n starting points at the minima, in Laplace's proportions (close to stationary: short burn-in)."""
    counts = np.floor(np.asarray(laplace) * n).astype(int)
    counts[0] += n - counts.sum()
    return np.repeat(np.asarray(minima_positions), counts, axis=0)


@claim("C6", "Langevin dynamics samples exp(-L/T), so the time spent in a basin is its Gibbs weight; for two "
             "wells of equal depth the occupancy ratio tends to sqrt(det H2 / det H1) as T -> 0 (Laplace).")
def check_c6(seed, size):
    n = N_CHAINS[size]
    seeds = iter(claim_seeds(seed, 16))
    rows = []

    # Entropic double well: equal depths, the left well twice as wide (Laplace: P_left = 2/3).
    well = entropic_double_well()
    box = [[-2.5, 2.5], [-12.0, 12.0]]
    found = find_critical_points(well, bounds=box, n_starts=40, seed=next(seeds))
    minima = sorted(found.minima, key=lambda m: m.position[0])
    side = _side
    for temp in TEMPERATURES[size]:
        exact = exact_occupancy(well, temp, bounds=box, partition=side)
        laplace = laplace_occupancy(minima, temp)
        corrected = laplace_occupancy(minima, temp, correction=True, landscape=well)
        x0 = _start([m.position for m in minima], laplace, n)
        h = 0.005
        n_steps = int(RUN_TIME[temp] / h)
        regime = f"entropic double well a=ln 2, T={temp}, ULA h={h}, {n} chains x {n_steps} steps"
        rows.append(_occupancy_row("P(wide well): ULA small h vs exact quadrature", well, "ula", h, temp, x0, side, 0,
                                   exact.probabilities[0], regime, next(seeds), n_steps,
                                   note=f"Laplace {laplace[0]:.4f}, with 1st T-correction {corrected[0]:.4f}, "
                                        f"quadrature error {exact.error[0]:.1e}"))
        rows.append(Verdict("C6", "P(wide well): Laplace's T -> 0 limit vs ULA", float(laplace[0]),
                            rows[-1].measured, rows[-1].stderr, regime, z_threshold=np.inf, x=temp, x_label="T",
                            note=f"exact {exact.probabilities[0]:.4f}: Laplace's error shrinks like T; with its first "
                                 f"correction {corrected[0]:.4f}"))

    # Step-size bias: ULA at a large step is biased, MALA at the same step is exact.
    temp, h, n_steps = 0.3, 0.1, 600
    exact = exact_occupancy(well, temp, bounds=box, partition=side)
    x0 = _start([m.position for m in minima], laplace_occupancy(minima, temp), 5 * n)
    for method, agree in (("ula", False), ("mala", True)):
        regime = f"entropic double well a=ln 2, T={temp}, {method.upper()} h={h}, {5 * n} chains x {n_steps} steps"
        row = _occupancy_row(f"P(wide well) at a large step: {method.upper()} vs exact quadrature", well, method, h,
                             temp, x0, side, 0, exact.probabilities[0], regime, next(seeds), n_steps,
                             expect_agreement=agree,
                             note="ULA's stationary law is exp(-L/T) only as h -> 0" if not agree else
                                  "Metropolis correction: exact stationary law at any h")
        rows.append(row)

    # A MultiWell pair with det ratio 4 (Laplace: P_flat / P_sharp = 2), equal depths, a ridge between.
    pair = MultiWell([[-1.5, 0.0], [1.5, 0.0]], [np.eye(2), 2.0 * np.eye(2)])
    pair_box = [[-8.0, 8.0], [-8.0, 8.0]]
    for temp in (0.5, 0.25):
        exact = exact_occupancy(pair, temp, bounds=pair_box, partition=pair.basin_of, n_basins=2)
        laplace = laplace_occupancy([(0.0, pair.hessians[0]), (0.0, pair.hessians[1])], temp)
        x0 = _start(pair.centers, laplace, n)
        h, n_steps = 0.1, 1500
        regime = f"MultiWell H=(I, 2I) in d=2, equal depths, T={temp}, MALA h={h}, {n} chains x {n_steps} steps"
        rows.append(_occupancy_row("P(flat well): MALA vs exact quadrature", pair, "mala", h, temp, x0,
                                   pair.basin_of, 0, exact.probabilities[0], regime, next(seeds), n_steps,
                                   note=f"Laplace {laplace[0]:.4f} (= 2/3: det ratio 4)"))
    return rows
