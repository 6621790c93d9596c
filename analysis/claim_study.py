"""A claim check as a study function, so that a study spec can sweep it (``claim = "C10"``).

``claim_study(point, seed)`` runs the registered check ``point["claim"]`` at
``point["size"]`` with an integer seed drawn from the point's seed; a grid over
``replicate`` repeats it with independent seeds, so the spread of the z-scores
can be compared with N(0, 1). Every verdict row becomes three outputs, named
``"<quantity> | <regime>"``: the measurement with its standard error
(``Estimate``), ``... predicted`` and ``... z``.
"""
import numpy as np

from models.estimate import Estimate
from models.validation import check_choice, check_positive_int
from sandbox.study.registry import REQUIRED, study_function

__all__ = ["claim_study"]


def _registered_claims():
    from analysis import claims  # importing the package registers the built-in claims

    return tuple(claims.REGISTRY)


def _check(point):
    from analysis.claims import SIZES

    check_choice(point["claim"], "claim", _registered_claims())
    check_choice(point["size"], "size", SIZES)
    check_positive_int(point["replicate"], "replicate", minimum=0)


@study_function("claim", parameters={"claim": REQUIRED, "size": "quick", "replicate": 0}, validate=_check)
def claim_study(point, seed):
    """Run one claim check; its rows as outputs (module docstring).

    Examples
    --------
    >>> out = claim_study({"claim": "C11", "size": "quick", "replicate": 0},
    ...                   np.random.SeedSequence(0))                     # doctest: +SKIP
    """
    from analysis.claims import run_claims

    _check(point)
    int_seed = int(seed.generate_state(1, np.uint64)[0] >> np.uint64(1))
    verdicts, errors = run_claims([point["claim"]], size=point["size"], seed=int_seed)
    if errors:
        raise RuntimeError(f"claim check {point['claim']} raised:\n{errors[point['claim']]}")
    out = {}
    for v in verdicts:
        name, k = f"{v.quantity} | {v.regime}", 2
        while name in out:
            name, k = f"{v.quantity} | {v.regime} #{k}", k + 1
        out[name] = Estimate(v.measured, v.stderr)
        out[f"{name} predicted"] = v.predicted
        out[f"{name} z"] = v.z
    return out
