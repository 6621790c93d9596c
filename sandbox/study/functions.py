"""Built-in study functions (registered by name for ``sandbox study run``).

- ``langevin_variance``: the stationary variance of ULA or MALA on the
  one-dimensional quadratic L = lam x^2 / 2, the quantity behind claim C10
  (ULA's step-size bias; MALA has none).
- ``gd_divergence``: whether gradient descent on a quadratic diverges, and its
  per-step growth rate, against the step size (claim C10's 2 / lambda_max).

Each returns :class:`sandbox.estimate.Estimate` values with honest standard
errors (independent chains); the predictions to compare them with live in
``analysis.thermo`` (``ula_stationary_variance``, ``gd_critical_step``).
"""
import numpy as np

from models import Quadratic
from models.estimate import Estimate
from models.validation import check_choice, check_positive, check_positive_int
from sandbox.simulate import simulate
from sandbox.study.registry import REQUIRED, study_function

__all__ = ["langevin_variance", "gd_divergence"]


def _check_langevin(point):
    lam = check_positive(point["lam"], "lam")
    h = check_positive(point["step_size"], "step_size")
    check_positive(point["temperature"], "temperature")
    check_choice(point["method"], "method", ("ula", "mala"))
    check_positive_int(point["n_chains"], "n_chains", minimum=2)
    check_positive_int(point["n_steps"], "n_steps")
    if point["method"] == "ula" and h * lam >= 2:
        raise ValueError(f"ULA has no stationary law for step_size * lam >= 2: got step_size={h} with lam={lam} "
                         f"(step_size must be < {2 / lam})")


@study_function("langevin_variance", validate=_check_langevin,
                parameters={"lam": REQUIRED, "step_size": REQUIRED, "temperature": REQUIRED, "method": "ula",
                            "n_chains": 10_000, "n_steps": 200})
def langevin_variance(point, seed):
    r"""Stationary variance of ULA or MALA on L(x) = lam x^2 / 2, measured over independent chains.

    Chains start from the Gibbs law N(0, T / lam) and run ``n_steps`` steps of
    ``method`` with step size h and temperature T; the measurement is the mean
    of x^2 over chains at the last step (the mean is 0 by symmetry), with
    standard error std(x^2) / sqrt(n_chains). ULA's variance approaches

    .. math:: v_\infty = \frac{T}{\lambda\,(1 - h\lambda/2)}

    (``analysis.thermo.ula_stationary_variance``) with a transient
    (T/lam - v_inf) (1 - h lam)^{2 n}, negligible once n h lam >> 1; MALA's
    stays at the Gibbs value T / lam (Roberts & Tweedie 1996, Bernoulli 2:341).

    Parameters (in ``point``)
    -------------------------
    lam, step_size, temperature : float > 0
        Curvature, step h (h lam < 2 for ULA) and temperature T.
    method : {"ula", "mala"}
    n_chains : int >= 2, n_steps : int >= 1

    Returns
    -------
    dict
        ``variance`` (Estimate); for MALA also ``acceptance`` (mean acceptance rate).

    Examples
    --------
    >>> point = {"lam": 1.0, "step_size": 0.5, "temperature": 1.0, "method": "ula",
    ...          "n_chains": 4000, "n_steps": 100}
    >>> out = langevin_variance(point, np.random.SeedSequence(0))
    >>> bool(abs(out["variance"].z(1 / (1 - 0.25))) < 5)     # T / (lam (1 - h lam / 2))
    True
    """
    _check_langevin(point)
    lam, n = point["lam"], point["n_chains"]
    start_seed, chain_seed = seed.spawn(2)
    x0 = np.random.default_rng(start_seed).normal(0.0, np.sqrt(point["temperature"] / lam), size=(n, 1))
    run = simulate(Quadratic([lam]), point["method"], n_chains=n, n_steps=point["n_steps"],
                   step_size=point["step_size"], temperature=point["temperature"], x0=x0, seed=chain_seed,
                   on_divergence="raise")
    x2 = run.x[:, 0] ** 2
    out = {"variance": Estimate(float(x2.mean()), float(x2.std(ddof=1) / np.sqrt(n)))}
    if run.acceptance_rate is not None:
        out["acceptance"] = float(run.acceptance_rate.mean())
    return out


def _check_gd(point):
    check_positive(point["step_size"], "step_size")
    check_positive(point["lam_max"], "lam_max")
    if not check_positive(point["condition"], "condition") >= 1:
        raise ValueError(f"condition must be >= 1, got {point['condition']}")
    check_positive_int(point["d"], "d")
    check_positive_int(point["n_chains"], "n_chains", minimum=2)
    check_positive_int(point["n_steps"], "n_steps", minimum=2)


@study_function("gd_divergence", validate=_check_gd,
                parameters={"step_size": REQUIRED, "lam_max": 1.0, "condition": 10.0, "d": 2,
                            "n_chains": 100, "n_steps": 200})
def gd_divergence(point, seed):
    r"""Divergence and growth rate of gradient descent on a quadratic, against the step size.

    The landscape is L = 1/2 sum lam_i x_i^2 with ``d`` eigenvalues log-spaced
    from lam_max / condition to lam_max; chains start at independent standard
    normal points. GD multiplies the i-th coordinate by (1 - eta lam_i) each
    step, so the distance to the minimum grows (or shrinks) per step by

    .. math:: \rho = \max_i |1 - \eta\lambda_i|,

    and GD diverges iff rho > 1, i.e. eta > 2 / lam_max (Nesterov 2018,
    ch. 1; ``analysis.thermo.gd_critical_step``). L grows as rho^{2k}, so
    each chain's rate is (log L_k - log L_m) / (2 (k - m)) with m = floor(k/2)
    and k the last step at which both losses are positive and finite; it
    tends to log rho as the other modes fade.

    Parameters (in ``point``)
    -------------------------
    step_size : float > 0
    lam_max : float > 0, condition : float >= 1, d : int >= 1
    n_chains : int >= 2, n_steps : int >= 2

    Returns
    -------
    dict
        ``diverged``: fraction of chains whose state became non-finite
        within ``n_steps`` (Estimate, binomial standard error);
        ``log_growth_rate``: the mean per-chain log rho estimate (Estimate).

    Examples
    --------
    >>> out = gd_divergence({"step_size": 2.5, "lam_max": 1.0, "condition": 10.0, "d": 2,
    ...                      "n_chains": 10, "n_steps": 50}, np.random.SeedSequence(0))
    >>> round(out["log_growth_rate"].value, 6), round(float(np.log(1.5)), 6)
    (0.405465, 0.405465)
    """
    _check_gd(point)
    n, n_steps = point["n_chains"], point["n_steps"]
    lam = np.geomspace(point["lam_max"] / point["condition"], point["lam_max"], point["d"])
    start_seed, _ = seed.spawn(2)
    x0 = np.random.default_rng(start_seed).standard_normal((n, point["d"]))
    run = simulate(Quadratic(lam), "gd", n_chains=n, n_steps=n_steps, step_size=point["step_size"], x0=x0,
                   record_every=1, on_divergence="ignore")
    usable = (run.loss > 0) & np.isfinite(run.loss)  # (n_steps, n_chains)
    # last record k (1-based step) with L_k and L_{k/2} both usable
    steps = np.arange(1, n_steps + 1)
    rates = np.empty(n)
    for c in range(n):
        ok = usable[:, c] & usable[np.maximum(steps // 2, 1) - 1, c]
        k = int(steps[ok][-1]) if ok.any() and steps[ok][-1] >= 2 else 0
        if k == 0:
            raise ValueError(f"chain {c} has no records k >= 2 and k/2 with a positive finite loss, so no growth "
                             f"rate can be measured at step_size={point['step_size']}; lower step_size")
        rates[c] = (np.log(run.loss[k - 1, c]) - np.log(run.loss[k // 2 - 1, c])) / (k - k // 2) / 2
    p = run.n_diverged / n
    return {"diverged": Estimate(p, float(np.sqrt(p * (1 - p) / n))),
            "log_growth_rate": Estimate(float(rates.mean()), float(rates.std(ddof=1) / np.sqrt(n)))}
