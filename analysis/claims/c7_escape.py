"""C7: leaving a basin is exponentially unlikely, at the Eyring–Kramers rate.

k = |lambda_s| / (2 pi) sqrt(det H_min / |det H_s|) exp(-dU / T) for the
overdamped Langevin dynamics dX = -grad U dt + sqrt(2T) dW. Rates are
measured as transitions between core sets (balls around the minima), so that
recrossings of the saddle do not count. The references:

- the spectral gap lambda_1 of the Fokker–Planck generator, by SQRA on a
  grid with Richardson extrapolation (``analysis.fokker_planck``): on a
  double well lambda_1 = k_LR + k_RL up to relative O(lambda_1 / lambda_2);
- the exact 1-D mean first-passage time (double integral);
- Eyring–Kramers itself, whose relative error shrinks like T;
- detailed balance, k_flat->sharp / k_sharp->flat = exp(-(U_sharp - U_flat)/T)
  sqrt(det H_flat / det H_sharp): leaving the flat well is the rarer event.
"""
import math

import numpy as np

from analysis.claims.registry import claim, claim_seeds
from analysis.critical import find_critical_points
from analysis.escape import eyring_kramers_rate, mean_first_passage_time_1d
from analysis.fokker_planck import spectral_gap
from analysis.occupancy import exact_occupancy
from analysis.verdict import Verdict
from models import double_well, entropic_double_well, symmetric_double_well
from sandbox.passage import mean_first_passage_time
from sandbox.transitions import transitions

N_CHAINS = {"smoke": 100, "quick": 1000, "full": 4000}
TEMPERATURES = {"smoke": (0.3,), "quick": (0.25, 0.2), "full": (0.3, 0.25, 0.2, 0.15)}
#: Transitions asked for (about), by size: the rates' relative SE is about 1 / sqrt of it.
DWELLS = {"smoke": 20, "quick": 500, "full": 2000}
CORE_RADIUS = 0.3
BOX = [[-2.0, 2.0], [-2.5, 2.5]]
SPLITTING = {"smoke": dict(n_replicas=20, n_runs=4), "quick": dict(n_replicas=100, n_runs=8),
             "full": dict(n_replicas=200, n_runs=20)}


def _side(x):
    """0 left of the saddle (x < 0), 1 right of it."""
    return (np.asarray(x)[:, 0] >= 0).astype(int)


def _rate_ratio_se(a, sa, b, sb):
    return abs(a / b) * math.sqrt((sa / a) ** 2 + (sb / b) ** 2)


@claim("C7", "Leaving the large flat region is exponentially unlikely: escape rates follow Eyring-Kramers, "
             "k = |lambda_s| / (2 pi) sqrt(det H_min / |det H_s|) exp(-dU / T), and detailed balance makes "
             "flat -> sharp transitions rarer than sharp -> flat.")
def check_c7(seed, size):
    n = N_CHAINS[size]
    seeds = iter(claim_seeds(seed, 24))
    rows = []
    h = 0.002
    for name, well in (("symmetric", symmetric_double_well()), ("entropic a=ln 2", entropic_double_well())):
        found = find_critical_points(well, bounds=BOX, n_starts=40, seed=next(seeds), min_minima=2, min_saddles=1)
        left, right = sorted(found.minima, key=lambda m: m.position[0])
        saddle = found.saddles[0]
        cores = [(left.position, CORE_RADIUS), (right.position, CORE_RADIUS)]
        for temp in TEMPERATURES[size]:
            k_ek = np.array([eyring_kramers_rate(left, saddle, temp), eyring_kramers_rate(right, saddle, temp)])
            gap = spectral_gap(well, temp, bounds=([b[0] for b in BOX], [b[1] for b in BOX]))
            n_steps = int(DWELLS[size] / k_ek.min() / h * 2 / n) + 1
            run = transitions(well, cores, method="ula", temperature=temp, step_size=h, n_chains=n, n_steps=n_steps,
                              seed=next(seeds))
            k = run.rates
            regime = (f"{name} double well, T={temp}, ULA h={h}, cores radius {CORE_RADIUS}, {n} chains x "
                      f"{n_steps} steps, {int(run.counts.sum())} transitions")
            total, total_se = k.value[0, 1] + k.value[1, 0], math.hypot(k.stderr[0, 1], k.stderr[1, 0])
            rows.append(Verdict("C7", f"k_LR + k_RL vs spectral gap ({name})", gap.value, float(total),
                                float(total_se), regime, x=temp, x_label="T",
                                note=f"SQRA + Richardson, error {gap.error:.1e}; lambda_1/lambda_2 = "
                                     f"{gap.value / gap.next_value:.3f} (relative size of the neglected terms)"))
            # Eyring-Kramers' relative error, measured against the exact one implied by the gap.
            ek_total = k_ek.sum()
            rows.append(Verdict("C7", f"(k_LR + k_RL) / Eyring-Kramers - 1 ({name})", gap.value / ek_total - 1,
                                float(total / ek_total - 1), float(total_se / ek_total), regime, x=temp, x_label="T",
                                note=f"shrinks like T: (exact ratio - 1) / T = {(gap.value / ek_total - 1) / temp:.3f}"))
            if name.startswith("entropic"):
                # Left well: det H = 8 exp(-a) (flat); right: 8 exp(a) (sharp). Equal depths.
                ratio = k.value[0, 1] / k.value[1, 0]
                se = _rate_ratio_se(k.value[0, 1], k.stderr[0, 1], k.value[1, 0], k.stderr[1, 0])
                predicted = math.exp(-(right.loss - left.loss) / temp) * math.sqrt(
                    np.prod(left.eigenvalues) / np.prod(right.eigenvalues))
                occupancy = exact_occupancy(well, temp, bounds=BOX, partition=_side).probabilities
                rows.append(Verdict("C7", "detailed balance: k_flat->sharp / k_sharp->flat vs Laplace", predicted,
                                    float(ratio), float(se), regime, x=temp, x_label="T",
                                    note="flat -> sharp is the rarer transition; Laplace's relative error is O(T)"))
                rows.append(Verdict("C7", "detailed balance: k_flat->sharp / k_sharp->flat vs P_sharp / P_flat "
                                          "(quadrature)", float(occupancy[1] / occupancy[0]), float(ratio),
                                    float(se), regime, x=temp, x_label="T",
                                    note="in equilibrium every L -> R transition is followed by one R -> L"))

    # 1-D: direct simulation and splitting against the exact mean first-passage time.
    well = double_well()
    potential = lambda x: (np.asarray(x) ** 2 - 1.0) ** 2  # noqa: E731 -- the same U, as a plain function
    target = (np.array([1.0]), 0.1)
    temp = 0.25
    exact = mean_first_passage_time_1d(potential, -1.0, 0.9, temp)
    direct = mean_first_passage_time(well, [-1.0], target, temperature=temp, step_size=h, n_chains=4 * n,
                                     max_steps=int(6 * exact / h), seed=next(seeds))
    rows.append(Verdict("C7", "1-D MFPT, direct simulation vs exact double integral", exact, direct.value,
                        direct.stderr, f"U=(x^2-1)^2, T={temp}, -1 -> [0.9, 1.1], ULA h={h}, {4 * n} chains, "
                                       f"{direct.n_censored} censored (Kaplan-Meier + exponential tail)"))
    temp = 0.05
    exact = mean_first_passage_time_1d(potential, -1.0, 0.9, temp)
    rare = mean_first_passage_time(well, [-1.0], target, temperature=temp, step_size=4e-3, method="splitting",
                                   seed=next(seeds), **SPLITTING[size])
    rows.append(Verdict("C7", "log 1-D MFPT, adaptive multilevel splitting vs exact double integral",
                        math.log(exact), rare.log_value, rare.log_stderr,
                        f"U=(x^2-1)^2, T={temp}, -1 -> [0.9, 1.1], ULA h=0.004, {SPLITTING[size]}",
                        note=f"exact {exact:.4g}, estimate {rare.value:.4g} +- {rare.stderr:.2g}; direct "
                             "simulation would need about MFPT / h = 5e11 steps per passage"))
    return rows
