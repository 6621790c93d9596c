"""The numerical checks behind the claims in ../shared/CLAIMS.md.

Each check reads like its claim: set up the landscape, run the simulation,
compute the prediction, compare with a tolerance from the standard error,
and return :class:`analysis.claims.Verdict` rows stating the regime.
"""
import numpy as np

from analysis.claims import Verdict, claim
from analysis.stats import variance_estimate
from analysis.thermo import gd_critical_step, gibbs_covariance, sgd_stationary_covariance, ula_stationary_variance
from analysis.volume import log_ball_fraction_of_cube, log_sublevel_volume, log_volume_ratio
from models import Quadratic, random_rotation
from sandbox.hit_or_miss import hit_or_miss_volume
from sandbox.simulate import simulate

SIZES = {"quick": 1, "full": 10}


def _seeds(seed, n):
    return np.random.SeedSequence([seed, 0x5A4D]).spawn(n)


@claim("C3", "Flat minima have exponentially larger volume: log V(eps) of {1/2 x^T H x <= eps} is "
             "(d/2) log(2 pi eps) - log Gamma(d/2+1) - 1/2 sum log lambda_i.")
def check_c3(seed, size):
    n = 200_000 * SIZES[size]
    rows = []
    seeds = _seeds(seed, 9)
    estimates = {}
    for k, d in enumerate((2, 4, 6)):
        for j, (label, lam) in enumerate( (("flat", np.geomspace(0.1, 1.0, d)), ("sharp", np.geomspace(1.0, 10.0, d)))):
            q = Quadratic(lam, rotation=random_rotation(d, seed=seeds[k]))
            eps = 0.5
            # bounding box of the rotated ellipsoid: half-widths sqrt(2 eps (H^-1)_ii)
            half = np.sqrt(2 * eps * np.diag(np.linalg.inv(q.matrix)))
            est = hit_or_miss_volume(q, eps, bounds=(-half, half), n_samples=n, seed=seeds[3 + 2 * k + j]).log_volume
            estimates[(d, label)] = (est, lam)
            rows.append(Verdict("C3", f"log V(eps), {label} rotated ellipsoid", log_sublevel_volume(lam, eps),
                                float(est.value), float(est.stderr), f"d={d}, eps={eps}, n={n} hit-or-miss"))
        (flat, lam_f), (sharp, lam_s) = estimates[(d, "flat")], estimates[(d, "sharp")]
        rows.append(Verdict("C3", "log(V_flat / V_sharp)", log_volume_ratio(lam_f, lam_s),
                            float(flat.value - sharp.value), float(np.hypot(flat.stderr, sharp.stderr)),
                            f"d={d}, eigenvalues x10 apart", note="ratio = prod sqrt(lambda_sharp/lambda_flat)"))
    return rows


@claim("C9", "SGD behaves like Langevin: its stationary covariance solves Sigma = (I - eta H) Sigma "
             "(I - eta H)^T + eta^2 C; isotropic noise gives the Gibbs covariance T H^-1, Hessian-shaped "
             "noise C = c H gives Sigma ~ (eta c / 2) I, which does not favour flat directions.")
def check_c9(seed, size):
    n_chains = 20_000 * SIZES[size]
    lam = np.array([1.0, 4.0])
    q_rot = random_rotation(2, seed=_seeds(seed, 1)[0])
    q = Quadratic(lam, rotation=q_rot)
    rows = []
    cases = (
        ("isotropic", 1.0, 0.005, 1000),
        ("hessian-shaped", ("hessian", 1.0), 0.005, 1000),
    )
    for k, (label, noise, eta, n_steps) in enumerate(cases):
        run = simulate(q, "sgd", n_chains=n_chains, n_steps=n_steps, step_size=eta, noise=noise,
                       seed=_seeds(seed, 3)[k + 1]).check()
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


@claim("C10", "Conditioning decides whether SGD works: GD diverges iff eta > 2/lambda_max; ULA's stationary "
              "variance on lam x^2/2 is T/(lam (1 - h lam/2)), not T/lam.")
def check_c10(seed, size):
    rows = []
    lam = np.array([0.5, 1.0, 2.0])
    q = Quadratic(lam, rotation=random_rotation(3, seed=_seeds(seed, 1)[0]))
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

    n_chains = 20_000 * SIZES[size]
    lam1, h, temp = 1.0, 0.5, 1.0
    one = Quadratic([lam1])
    seeds = _seeds(seed, 3)
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
                        float(var.stderr), regime.replace("ULA", "MALA"),
                        note=f"Metropolis correction removes the bias (acceptance {mala.acceptance_rate.mean():.2f})"))
    return rows


@claim("C11", "The unit ball vanishes in the cube: its volume fraction pi^{d/2} / (Gamma(d/2+1) 2^d) "
              "decays super-exponentially.")
def check_c11(seed, size):
    n = 400_000 * SIZES[size]
    rows = []
    seeds = _seeds(seed, 10)
    for k, d in enumerate((2, 3, 5, 8, 10)):
        ball = Quadratic(np.ones(d))  # {1/2 |x|^2 <= 1/2} is the unit ball
        est = hit_or_miss_volume(ball, 0.5, bounds=(-1.0, 1.0), n_samples=n, seed=seeds[k]).log_volume
        rows.append(Verdict("C11", "log(ball volume / cube volume)", log_ball_fraction_of_cube(d),
                            float(est.value - d * np.log(2.0)), float(est.stderr), f"d={d}, n={n} hit-or-miss",
                            note=f"closed form at d=1000: {log_ball_fraction_of_cube(1000):.1f} nats"))
    return rows


@claim("C2", "Saddles are escaped easily with noise: near a strict saddle with curvature -mu, noisy GD / "
             "Langevin leaves a neighbourhood of size r in time about (1/mu) log(r / noise scale); "
             "without noise, from the stable manifold, never.")
def check_c2(seed, size):
    from analysis.escape import saddle_exit_time_small_t, saddle_mean_exit_time
    from sandbox.escape import exit_times

    n_chains = 4000 * SIZES[size]
    mu, r, h = 1.0, 1.0, 1e-3
    seeds = _seeds(seed, 5)
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
                                regime, note=f"small-T asymptote {small_t:.4f}"))
    still = exit_times(Quadratic([-mu] + [1.0] * (d - 1)), radius=r, n_chains=16, step_size=h, temperature=0.0,
                       max_steps=100_000)
    rows.append(Verdict("C2", "fraction leaving without noise, started on the saddle", 0.0,
                        still.fraction_exited, 0.0, f"d={d}, T=0, 100000 steps of GD, h={h}",
                        note="deterministic: exact match"))
    return rows
