"""C11: the unit ball vanishes in the cube.

The inscribed unit ball holds the fraction pi^(d/2) / (Gamma(d/2 + 1) 2^d) of
the cube [-1, 1]^d, which decays super-exponentially in d. The check counts
uniform points of the cube that fall in the ball.
"""
import numpy as np

from analysis.claims.registry import claim, claim_seeds
from analysis.verdict import Verdict
from analysis.volume import log_ball_fraction_of_cube
from models import Quadratic
from sandbox.hit_or_miss import hit_or_miss_volume

N_SAMPLES = {"smoke": 20_000, "quick": 400_000, "full": 4_000_000}


@claim("C11", "The unit ball vanishes in the cube: its volume fraction pi^{d/2} / (Gamma(d/2+1) 2^d) "
              "decays super-exponentially.")
def check_c11(seed, size):
    n = N_SAMPLES[size]
    rows = []
    seeds = claim_seeds(seed, 10)
    for k, d in enumerate((2, 3, 5, 8, 10)):
        ball = Quadratic(np.ones(d))  # {1/2 |x|^2 <= 1/2} is the unit ball
        est = hit_or_miss_volume(ball, 0.5, bounds=(-1.0, 1.0), n_samples=n, seed=seeds[k]).log_volume
        rows.append(Verdict("C11", "log(ball volume / cube volume)", log_ball_fraction_of_cube(d),
                            float(est.value - d * np.log(2.0)), float(est.stderr), f"d={d}, n={n} hit-or-miss",
                            note=f"closed form at d=1000: {log_ball_fraction_of_cube(1000):.1f} nats",
                            x=d, x_label="d"))
    return rows
