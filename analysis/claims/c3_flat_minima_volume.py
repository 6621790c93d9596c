"""C3: flat minima have exponentially larger volume (hit-or-miss, d <= 6).

For L = 1/2 x^T H x the sublevel set {L <= eps} is an ellipsoid of volume

    log V(eps) = (d/2) log(2 pi eps) - log Gamma(d/2 + 1) - 1/2 sum_i log lambda_i,

so two minima differ in volume by V1/V2 = prod_i sqrt(lambda2_i / lambda1_i).
The check samples rotated ellipsoids uniformly in their bounding box.
"""
import numpy as np

from analysis.claims.registry import claim, claim_seeds
from analysis.verdict import Verdict
from analysis.volume import log_sublevel_volume, log_volume_ratio
from models import Quadratic, random_rotation
from sandbox.hit_or_miss import hit_or_miss_volume

N_SAMPLES = {"smoke": 10_000, "quick": 200_000, "full": 2_000_000}


@claim("C3", "Flat minima have exponentially larger volume: log V(eps) of {1/2 x^T H x <= eps} is "
             "(d/2) log(2 pi eps) - log Gamma(d/2+1) - 1/2 sum log lambda_i.")
def check_c3(seed, size):
    n = N_SAMPLES[size]
    rows = []
    seeds = claim_seeds(seed, 9)
    estimates = {}
    for k, d in enumerate((2, 4, 6)):
        for j, (label, lam) in enumerate((("flat", np.geomspace(0.1, 1.0, d)), ("sharp", np.geomspace(1.0, 10.0, d)))):
            q = Quadratic(lam, rotation=random_rotation(d, seed=seeds[k]))
            eps = 0.5
            # bounding box of the rotated ellipsoid: half-widths sqrt(2 eps (H^-1)_ii)
            half = np.sqrt(2 * eps * np.diag(np.linalg.inv(q.matrix)))
            est = hit_or_miss_volume(q, eps, bounds=(-half, half), n_samples=n, seed=seeds[3 + 2 * k + j]).log_volume
            estimates[(d, label)] = (est, lam)
            rows.append(Verdict("C3", f"log V(eps), {label} rotated ellipsoid", log_sublevel_volume(lam, eps),
                                float(est.value), float(est.stderr), f"d={d}, eps={eps}, n={n} hit-or-miss",
                                x=d, x_label="d"))
        (flat, lam_f), (sharp, lam_s) = estimates[(d, "flat")], estimates[(d, "sharp")]
        rows.append(Verdict("C3", "log(V_flat / V_sharp)", log_volume_ratio(lam_f, lam_s),
                            float(flat.value - sharp.value), float(np.hypot(flat.stderr, sharp.stderr)),
                            f"d={d}, eigenvalues x10 apart", note="ratio = prod sqrt(lambda_sharp/lambda_flat)",
                            x=d, x_label="d"))
    return rows
