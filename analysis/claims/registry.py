"""The registry of claims and the loop that runs their checks.

A claim is registered with :func:`claim`; its check is a function
``check(seed, size) -> list[Verdict]``, where ``seed`` is a non-negative int
and ``size`` is one of :data:`SIZES`:

- ``"smoke"``: the smallest run that goes through every step of the check
  (seconds; the test suite runs every registered claim at this size);
- ``"quick"``: the default of ``sandbox verify`` (about a minute in all);
- ``"full"``: larger samples and dimensions.

:data:`REGISTRY` keeps the claims in registration order, and
:func:`iter_claims` runs them in that order. Every row a check returns is
labelled with the id its check was registered under.

Users register their own claims in their own module::

    # mypkg/myclaims.py
    import numpy as np

    from analysis.claims import Verdict, claim, claim_seeds

    @claim("MY1", "The mean of N(0, 1) is 0.")
    def check_my1(seed, size):
        x = np.random.default_rng(claim_seeds(seed, 1)[0]).normal(size=1000)
        return [Verdict("MY1", "mean", 0.0, x.mean(), x.std(ddof=1) / np.sqrt(x.size), "n=1000")]

and run them with ``sandbox verify --module mypkg.myclaims`` (a path to a
``.py`` file works too).

A row whose data refute the prediction is a result (``agrees=False``), not an
error; ``sandbox verify`` fails only when a check raises.
"""
import importlib
import importlib.util
import re
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from analysis.verdict import Verdict
from models.validation import check_choice

__all__ = ["Claim", "ClaimResult", "REGISTRY", "SIZES", "claim", "claim_seeds", "iter_claims", "run_claims",
           "load_claims"]

#: The run sizes a check accepts, smallest first.
SIZES = ("smoke", "quick", "full")

#: Claims by id, in registration order.
REGISTRY = {}

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Claim:
    """A registered claim: id, statement, check and the module that registered it."""

    id: str
    statement: str
    check: object = field(repr=False)
    module: str = ""


@dataclass(frozen=True)
class ClaimResult:
    """What one claim's check produced: its rows, or the traceback of the error it raised.

    ``seconds`` is the wall time of the check, ``cpu_seconds`` the CPU time
    of the process meanwhile (all threads, numba compilation included).
    """

    claim: Claim
    verdicts: tuple
    error: str | None
    seconds: float
    cpu_seconds: float = 0.0


def claim(claim_id, statement):
    """Decorator registering ``check(seed, size) -> list[Verdict]`` as claim ``claim_id``.

    Parameters
    ----------
    claim_id : str
        Letters, digits, ``_``, ``.`` and ``-`` (it names the claim's figure file).
    statement : str
        The claim in one or a few sentences, as the report shows it.

    Raises
    ------
    ValueError
        If ``claim_id`` is malformed or already registered, or the statement is empty.
    """
    if not isinstance(claim_id, str) or not _ID.fullmatch(claim_id):
        raise ValueError(f"claim_id must be letters, digits, '_', '.' or '-' (starting with a letter or digit), "
                         f"got {claim_id!r}")
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError(f"statement of claim {claim_id!r} must be a non-empty string, got {statement!r}")

    def register(check):
        if claim_id in REGISTRY:
            raise ValueError(f"claim {claim_id!r} is registered twice (first in {REGISTRY[claim_id].module})")
        REGISTRY[claim_id] = Claim(claim_id, statement, check, getattr(check, "__module__", ""))
        return check

    return register


def claim_seeds(seed, n):
    """``n`` independent seed sequences for a check run with master seed ``seed``.

    The children of ``np.random.SeedSequence([seed, 0x5A4D])``; a check draws
    each of its random inputs from its own child.
    """
    return np.random.SeedSequence([seed, 0x5A4D]).spawn(n)


def load_claims(module):
    """Import ``module`` (a dotted name or a path to a ``.py`` file); return the ids of the claims it registers.

    Importing a module that is already imported registers nothing new; the
    ids returned are then those whose checks live in that module (or in its
    submodules, for a package such as ``analysis.claims``).
    """
    path = Path(module)
    if module.endswith(".py"):
        if not path.is_file():
            raise ValueError(f"module {module!r} is not a file")
        # a name of its own, so that a file called e.g. random.py never shadows a module of that name
        name = "_user_claims_" + re.sub(r"\W", "_", path.stem)
        if name not in sys.modules or getattr(sys.modules[name], "__file__", None) != str(path.resolve()):
            spec = importlib.util.spec_from_file_location(name, path.resolve())
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            try:
                spec.loader.exec_module(mod)
            except BaseException:
                del sys.modules[name]
                raise
    else:
        name = module
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                raise ValueError(f"module {module!r} cannot be imported: {exc}") from None
            raise
    return [c.id for c in REGISTRY.values() if c.module == name or c.module.startswith(name + ".")]


def iter_claims(ids=None, *, size="quick", seed=0):
    """Run claim checks one by one, yielding a :class:`ClaimResult` as each finishes.

    Parameters
    ----------
    ids : sequence of str, optional
        Claims to run, in this order; default all registered, in registration order.
    size : {"smoke", "quick", "full"}
    seed : int
        Master seed handed to every check.

    Raises
    ------
    ValueError
        Unknown ids or size (before any check runs).
    """
    check_choice(size, "size", SIZES)
    ids = list(REGISTRY) if not ids else list(dict.fromkeys(ids))
    unknown = [i for i in ids if i not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown claim id(s) {', '.join(map(str, unknown))}; registered: {', '.join(REGISTRY)}")
    for claim_id in ids:
        entry = REGISTRY[claim_id]
        t0, cpu0 = time.perf_counter(), time.process_time()
        try:
            rows = list(entry.check(seed, size))
            bad = [type(r).__name__ for r in rows if not isinstance(r, Verdict)]
            if bad:
                raise TypeError(f"check of claim {claim_id} returned {', '.join(bad)} rows; expected Verdict")
            rows = tuple(r if r.claim == claim_id else replace(r, claim=claim_id) for r in rows)
            error = None
        except Exception:  # a failing check is reported, the others still run
            rows, error = (), traceback.format_exc()
        yield ClaimResult(entry, rows, error, time.perf_counter() - t0, time.process_time() - cpu0)


def run_claims(ids=None, *, size="quick", seed=0):
    """Run claim checks; return ``(verdicts, errors)``.

    ``verdicts`` is the list of all rows in the order the claims ran;
    ``errors`` maps claim id to the formatted traceback of a check that
    raised (an error, as opposed to a refutation). Arguments as in
    :func:`iter_claims`.
    """
    verdicts, errors = [], {}
    for result in iter_claims(ids, size=size, seed=seed):
        verdicts.extend(result.verdicts)
        if result.error is not None:
            errors[result.claim.id] = result.error
    return verdicts, errors
