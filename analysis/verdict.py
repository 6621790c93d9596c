"""One row of the claims ledger: a prediction set beside a measurement.

A :class:`Verdict` holds what theory predicts, what the simulation measured
with its standard error, the z-score, whether they agree, and the regime
(d, T, eta, eps, ...) in which the comparison was made.
"""
import math
from dataclasses import dataclass

__all__ = ["Verdict", "Z_THRESHOLD"]

#: |z| below which a measurement is said to agree with a prediction.
Z_THRESHOLD = 4.0


@dataclass(frozen=True)
class Verdict:
    r"""One comparison of theory with simulation.

    The z-score is :math:`z = (\text{measured} - \text{predicted}) / \text{stderr}`;
    the row agrees when :math:`|z| <` ``z_threshold``.

    Attributes
    ----------
    claim : str
        Id of the claim the row belongs to, e.g. ``"C3"``. The ledger sets it
        to the id under which the check was registered, whatever the check
        wrote here.
    quantity : str
        What is compared, e.g. ``"log V(eps), flat rotated ellipsoid"``.
    predicted, measured, stderr : float
        Prediction, measurement and the measurement's standard error.
    regime : str
        Where the comparison holds, e.g. ``"d=2, eta=0.05, T=0.1"``.
    expect_agreement : bool
        True when theory predicts agreement; False for rows that test a
        prediction the claim says should fail (e.g. the Gibbs covariance under
        Hessian-shaped SGD noise).
    note : str
        Free text shown in the report.
    z_threshold : float
        |z| below which the row agrees; ``inf`` marks a row that is reported
        but is not a test.
    x, x_label : float or None, str
        Optional swept parameter: rows of one claim with the same
        ``quantity`` and ``x_label`` form a series that :mod:`analysis.plots`
        draws against ``x`` (e.g. ``x=d, x_label="d"``).

    Examples
    --------
    >>> v = Verdict("C11", "log(ball / cube)", predicted=-0.2416, measured=-0.2409,
    ...             stderr=0.0005, regime="d=2")
    >>> round(v.z, 2), v.verdict
    (1.4, 'confirmed')
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
    x: float | None = None
    x_label: str = ""

    @property
    def z(self):
        """``(measured - predicted) / stderr``; 0 or +-inf when ``stderr`` is 0 (exact comparisons)."""
        if self.stderr == 0:
            if self.measured == self.predicted:
                return 0.0
            return math.copysign(math.inf, self.measured - self.predicted)
        return float((self.measured - self.predicted) / self.stderr)

    @property
    def agrees(self):
        """|z| < threshold: the measurement is consistent with the prediction."""
        return abs(self.z) < self.z_threshold

    @property
    def is_test(self):
        """False for rows reported without a test (``z_threshold`` infinite)."""
        return self.z_threshold != math.inf

    @property
    def verdict(self):
        """``"confirmed"``/``"refuted"`` for what theory expects; ``"as expected (disagrees)"``
        marks a prediction the claim itself says must fail and that did fail."""
        if not self.is_test:
            return "reported (no test)"
        if self.expect_agreement:
            return "confirmed" if self.agrees else "refuted"
        return "as expected (disagrees)" if not self.agrees else "unexpectedly agrees"

    @property
    def surprising(self):
        """True when the data go against what the claim expects (``refuted`` or ``unexpectedly agrees``)."""
        return self.is_test and self.agrees != self.expect_agreement
