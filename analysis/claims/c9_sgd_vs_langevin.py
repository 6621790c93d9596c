"""C9: SGD behaves like Langevin only for isotropic gradient noise.

On L = 1/2 x^T H x with gradient noise xi ~ N(0, C), the SGD iterate
x' = (I - eta H) x - eta xi has a stationary covariance that solves the
discrete Lyapunov equation Sigma = (I - eta H) Sigma (I - eta H)^T + eta^2 C.
Isotropic noise C = sigma^2 I gives, for small eta, the Gibbs covariance
T H^-1 with T = eta sigma^2 / 2; Hessian-shaped noise C = c H gives
Sigma ~ (eta c / 2) I, which does not favour flat directions.
"""
import numpy as np

from analysis.claims.registry import claim, claim_seeds
from analysis.thermo import gibbs_covariance, sgd_stationary_covariance
from analysis.verdict import Verdict
from models import Quadratic, random_rotation
from sandbox.simulate import simulate

N_CHAINS = {"smoke": 2_000, "quick": 20_000, "full": 200_000}


@claim("C9", "SGD behaves like Langevin: its stationary covariance solves Sigma = (I - eta H) Sigma "
             "(I - eta H)^T + eta^2 C; isotropic noise gives the Gibbs covariance T H^-1, Hessian-shaped "
             "noise C = c H gives Sigma ~ (eta c / 2) I, which does not favour flat directions.")
def check_c9(seed, size):
    n_chains = N_CHAINS[size]
    lam = np.array([1.0, 4.0])
    q_rot = random_rotation(2, seed=claim_seeds(seed, 1)[0])
    q = Quadratic(lam, rotation=q_rot)
    rows = []
    cases = (
        ("isotropic", 1.0, 0.005, 1000),
        ("hessian-shaped", ("hessian", 1.0), 0.005, 1000),
    )
    for k, (label, noise, eta, n_steps) in enumerate(cases):
        run = simulate(q, "sgd", n_chains=n_chains, n_steps=n_steps, step_size=eta, noise=noise,
                       seed=claim_seeds(seed, 3)[k + 1]).check()
        y = run.x @ q_rot  # coordinates in the eigenbasis: y_0 flat (lambda=1), y_1 sharp (lambda=4)
        cov_noise = np.eye(2) if label == "isotropic" else q.matrix
        exact = q_rot.T @ sgd_stationary_covariance(q.matrix, eta, cov_noise) @ q_rot
        regime = f"d=2, lambda=(1, 4), eta={eta}, noise={label}, {n_chains} chains x {n_steps} steps"
        for i, j in ((0, 0), (1, 1), (0, 1)):
            prod = y[:, i] * y[:, j]
            rows.append(Verdict("C9", f"Sigma[{i}{j}] (eigenbasis) vs discrete Lyapunov", exact[i, j],
                                float(prod.mean()), float(prod.std(ddof=1) / np.sqrt(prod.size)), regime))
        # Gibbs predicts var_flat / var_sharp = lambda_sharp / lambda_flat = 4
        a, b = y[:, 0] ** 2, y[:, 1] ** 2
        ratio = a.mean() / b.mean()
        c = np.cov(a, b) / a.size
        se = ratio * np.sqrt(c[0, 0] / a.mean() ** 2 + c[1, 1] / b.mean() ** 2 - 2 * c[0, 1] / (a.mean() * b.mean()))
        gibbs = gibbs_covariance(lam, eta / 2)  # T = eta sigma^2 / 2 with sigma^2 = 1
        rows.append(Verdict("C9", "var_flat / var_sharp vs Gibbs (T H^-1) prediction", gibbs[0, 0] / gibbs[1, 1],
                            float(ratio), float(se), regime, expect_agreement=(label == "isotropic"),
                            note="Hessian-shaped noise: Sigma ~ (eta c/2) I, flat directions not favoured"
                            if label != "isotropic" else "small eta: O(eta lambda) bias below the SE"))
    return rows
