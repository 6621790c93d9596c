"""The ledger of theory claims (../shared/CLAIMS.md) and their numerical checks.

A claim is registered with :func:`claim`; its check is a function
``check(rng_seed, size) -> list[Verdict]`` where ``size`` is ``"quick"`` or
``"full"``. Each :class:`Verdict` row sets one prediction beside one
measurement with its standard error, the z-score, whether they agree, and the
regime (d, T, eta, eps, ...) in which the comparison was made.

A row whose data refute the prediction is a result (``agrees=False``), not an
error; ``sandbox verify`` fails only when a check raises.
"""
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Verdict", "Claim", "REGISTRY", "claim", "run_claims", "Z_THRESHOLD"]

#: |z| below which a measurement is said to agree with a prediction.
Z_THRESHOLD = 4.0


@dataclass(frozen=True)
class Verdict:
    """One comparison of theory with simulation.

    Attributes
    ----------
    claim : str
        Claim id, e.g. ``"C3"``.
    quantity : str
        What is compared, e.g. ``"log V, d=3, eps=0.5"``.
    predicted, measured, stderr : float
        Prediction, measurement and the measurement's standard error.
    regime : str
        Where the comparison holds, e.g. ``"d=2, eta=0.05, T=0.1"``.
    expect_agreement : bool
        True when theory predicts agreement; False for rows that test a
        prediction the claim says should fail (e.g. Gibbs covariance under
        Hessian-shaped SGD noise).
    note : str
        Free text shown in the report.
    """

    claim: str
    quantity: str
    predicted: float
    measured: float
    stderr: float
    regime: str
    expect_agreement: bool = True
    note: str = ""
    z_threshold: float = Z_THRESHOLD

    @property
    def z(self):
        if self.stderr == 0:
            return 0.0 if self.measured == self.predicted else float(np.sign(self.measured - self.predicted) * np.inf)
        return float((self.measured - self.predicted) / self.stderr)

    @property
    def agrees(self):
        """|z| < threshold: the measurement is consistent with the prediction."""
        return abs(self.z) < self.z_threshold

    @property
    def verdict(self):
        """``"confirmed"``/``"refuted"`` for what theory expects; ``"as expected"`` marks a
        prediction the claim itself says must fail and that did fail."""
        if self.z_threshold == float("inf"):
            return "reported (no test)"
        if self.expect_agreement:
            return "confirmed" if self.agrees else "refuted"
        return "as expected (disagrees)" if not self.agrees else "unexpectedly agrees"


@dataclass(frozen=True)
class Claim:
    """A registered claim: id, statement and check."""

    id: str
    statement: str
    check: object = field(repr=False)


#: Claims by id, in registration order.
REGISTRY = {}


def claim(claim_id, statement):
    """Decorator registering ``check(seed, size) -> list[Verdict]`` as claim ``claim_id``."""

    def register(check):
        if claim_id in REGISTRY:
            raise ValueError(f"claim {claim_id!r} is registered twice")
        REGISTRY[claim_id] = Claim(claim_id, statement, check)
        return check

    return register


def run_claims(ids=None, *, size="quick", seed=0):
    """Run claim checks; return ``(verdicts, errors)``.

    ``ids`` selects claims (default: all registered, in order); ``size`` is
    ``"quick"`` or ``"full"``. ``errors`` maps claim id to the formatted
    traceback of a check that raised (an error, as opposed to a refutation).
    """
    import traceback

    from analysis import checks  # noqa: F401  (registers the claims)

    if size not in ("quick", "full"):
        raise ValueError(f"size must be 'quick' or 'full', got {size!r}")
    ids = sorted(REGISTRY, key=lambda c: (len(c), c)) if not ids else list(ids)
    unknown = [i for i in ids if i not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown claim id(s) {unknown}; registered: {', '.join(REGISTRY)}")
    verdicts, errors = [], {}
    for claim_id in ids:
        try:
            verdicts.extend(REGISTRY[claim_id].check(seed, size))
        except Exception:  # a failing check is reported, the others still run
            errors[claim_id] = traceback.format_exc()
    return verdicts, errors
