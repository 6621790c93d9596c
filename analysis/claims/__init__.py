"""The claims ledger: each claim about loss landscapes with its numerical check.

Each built-in claim lives in its own module (``c3_flat_minima_volume`` holds
C3, ...); importing this package registers them, in the order C1, C2, C3,
C3-highd, C4, C5, C6, C6-manifold, C7, C8, C9, C10, C11. The statements and the literature behind
them are in ``docs/claims.md``. :mod:`analysis.claims.registry` explains how a
check is written and how users register their own claims.

Examples
--------
>>> from analysis.claims import REGISTRY, run_claims
>>> list(REGISTRY)[:3]
['C1', 'C2', 'C3']
>>> verdicts, errors = run_claims(["C11"], size="smoke")
>>> [v.claim for v in verdicts] == ["C11"] * 5 and not errors
True
"""
import importlib

from analysis.claims.registry import (REGISTRY, SIZES, Claim, ClaimResult, claim, claim_seeds, iter_claims,
                                      load_claims, run_claims)
from analysis.verdict import Z_THRESHOLD, Verdict

#: Modules of the built-in claims, imported (and so registered) in this order.
BUILT_IN_MODULES = ("c1_rare_minima", "c2_saddle_escape", "c3_flat_minima_volume", "c3_highd_nested_volume",
                    "c4_random_volume_ratios", "c5_basins", "c6_gibbs_occupancy", "c6_manifold",
                    "c7_escape", "c8_singular_volume", "c9_sgd_vs_langevin", "c10_conditioning",
                    "c11_ball_in_cube")
for _module in BUILT_IN_MODULES:
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["Verdict", "Claim", "ClaimResult", "REGISTRY", "SIZES", "Z_THRESHOLD", "claim", "claim_seeds",
           "iter_claims", "run_claims", "load_claims", "BUILT_IN_MODULES"]
