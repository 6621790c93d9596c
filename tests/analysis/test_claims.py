"""The claims ledger (analysis.claims) and the ``sandbox verify`` command (analysis.cli)."""
import csv
import math
import os
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.claims import REGISTRY, SIZES, Claim, Verdict, claim, iter_claims, load_claims, run_claims
from analysis.cli import SUBCOMMANDS, build_parser, main

SEED = int(os.environ.get("SANDBOX_TEST_SEED", "0"))
SIG = 5.0  # tolerance of the smoke runs, in standard errors

BUILT_IN = ["C1", "C2", "C3", "C3-highd", "C4", "C5", "C6", "C6-manifold", "C7", "C8", "C9", "C10", "C11"]


def test_verdict_z_and_agreement_follow_the_threshold():
    v = Verdict("CX", "q", predicted=1.0, measured=1.3, stderr=0.1, regime="r")
    assert v.z == pytest.approx(3.0)
    assert v.agrees and v.verdict == "confirmed"
    far = Verdict("CX", "q", predicted=1.0, measured=2.0, stderr=0.1, regime="r")
    assert not far.agrees and far.verdict == "refuted" and far.surprising
    expected_failure = Verdict("CX", "q", 1.0, 2.0, 0.1, "r", expect_agreement=False)
    assert expected_failure.verdict == "as expected (disagrees)" and not expected_failure.surprising
    untested = Verdict("CX", "q", 1.0, 2.0, 0.1, "r", z_threshold=math.inf)
    assert untested.verdict == "reported (no test)" and not untested.surprising


@given(predicted=st.floats(-1e6, 1e6), offset=st.floats(-1e3, 1e3), stderr=st.floats(1e-3, 1e3),
       threshold=st.floats(0.5, 10.0))
def test_a_row_agrees_exactly_when_the_gap_is_under_threshold_standard_errors(predicted, offset, stderr, threshold):
    v = Verdict("CX", "q", predicted, predicted + offset, stderr, "r", z_threshold=threshold)
    gap = abs(v.measured - v.predicted)
    if not math.isclose(gap, threshold * stderr, rel_tol=1e-9):
        assert v.agrees == (gap < threshold * stderr)


def test_exact_rows_with_zero_stderr_agree_only_on_equality():
    assert Verdict("CX", "q", 0.0, 0.0, 0.0, "r").z == 0.0
    assert Verdict("CX", "q", 0.0, 1.0, 0.0, "r").z == math.inf
    assert Verdict("CX", "q", 0.0, -1.0, 0.0, "r").z == -math.inf


def test_built_in_claims_are_registered_in_the_documented_order_with_statements():
    assert list(REGISTRY)[:len(BUILT_IN)] == BUILT_IN
    for claim_id in BUILT_IN:
        assert len(REGISTRY[claim_id].statement) > 40
        assert REGISTRY[claim_id].module.startswith("analysis.claims.")


def test_claims_run_in_registration_order_by_default(monkeypatch):
    calls = []
    fake = {}
    for claim_id in ("Z9", "A1", "M5"):
        fake[claim_id] = Claim(claim_id, "s", lambda seed, size, c=claim_id: calls.append(c) or [])
    monkeypatch.setattr("analysis.claims.registry.REGISTRY", fake)
    run_claims(size="smoke")
    assert calls == ["Z9", "A1", "M5"]


def test_registering_an_id_twice_or_a_malformed_id_is_refused():
    with pytest.raises(ValueError, match="C3"):
        claim("C3", "again")(lambda seed, size: [])
    for bad in ("", "has space", "a/b", 3):
        with pytest.raises(ValueError, match="claim_id"):
            claim(bad, "statement")
    with pytest.raises(ValueError, match="statement"):
        claim("CNEW", "  ")


def test_unknown_claim_id_and_size_are_value_errors():
    with pytest.raises(ValueError, match="C999"):
        run_claims(["C999"])
    with pytest.raises(ValueError, match="size must be one of 'smoke', 'quick', 'full'; got 'huge'"):
        run_claims(["C11"], size="huge")


@pytest.fixture
def temporary_claims():
    """Register claims for one test and remove them afterwards."""
    before = dict(REGISTRY)
    yield REGISTRY
    for claim_id in list(REGISTRY):
        if claim_id not in before:
            del REGISTRY[claim_id]


def test_rows_carry_the_id_their_check_was_registered_under(temporary_claims):
    @claim("CX-sub", "a claim whose check labels its rows with another id")
    def check(seed, size):
        return [Verdict("CX", "q", 0.0, 0.0, 1.0, "r")]

    verdicts, errors = run_claims(["CX-sub"], size="smoke")
    assert not errors and [v.claim for v in verdicts] == ["CX-sub"]


def test_a_check_returning_something_else_than_verdicts_is_an_error(temporary_claims):
    claim("CX-bad", "returns floats")(lambda seed, size: [1.0])
    verdicts, errors = run_claims(["CX-bad"], size="smoke")
    assert not verdicts and "TypeError" in errors["CX-bad"] and "Verdict" in errors["CX-bad"]


def test_a_check_that_raises_is_an_error_and_the_others_still_run(temporary_claims):
    @claim("CBROKEN", "a check that errors")
    def check(seed, size):
        raise ZeroDivisionError("boom")

    results = list(iter_claims(["CBROKEN", "C11"], size="smoke"))
    assert [r.claim.id for r in results] == ["CBROKEN", "C11"]
    assert "ZeroDivisionError" in results[0].error and not results[0].verdicts
    assert results[1].error is None and all(v.claim == "C11" for v in results[1].verdicts)


@pytest.mark.parametrize("claim_id", list(REGISTRY))
def test_every_registered_claim_runs_at_smoke_size(claim_id):
    (result,) = iter_claims([claim_id], size="smoke", seed=SEED)
    assert result.error is None, result.error
    assert result.verdicts
    for v in result.verdicts:
        assert v.claim == claim_id
        assert v.quantity and v.regime
        assert math.isfinite(v.predicted) and math.isfinite(v.measured)
        assert math.isfinite(v.stderr) and v.stderr >= 0
        if v.expect_agreement and v.is_test:
            assert abs(v.z) < max(SIG, v.z_threshold), v


def test_sizes_are_smoke_quick_full():
    assert SIZES == ("smoke", "quick", "full")


USER_CLAIMS = '''
import numpy as np
from analysis.claims import Verdict, claim, claim_seeds


@claim("{cid}", "The sample mean of N(0, 1) is 0 within its standard error.")
def check(seed, size):
    n = {{"smoke": 100, "quick": 1000, "full": 10000}}[size]
    x = np.random.default_rng(claim_seeds(seed, 1)[0]).normal(size=n)
    return [Verdict("{cid}", "mean of N(0, 1) | z | test", 0.0, float(x.mean()),
                    float(x.std(ddof=1) / np.sqrt(n)), f"n={{n}}", x=n, x_label="n")]
'''


def test_user_claims_load_from_a_file_and_from_a_dotted_module(tmp_path, monkeypatch, temporary_claims):
    path = tmp_path / "user_file_claims.py"
    path.write_text(USER_CLAIMS.format(cid="U1"))
    assert load_claims(str(path)) == ["U1"]
    assert load_claims(str(path)) == ["U1"]  # loading again registers nothing twice
    package = tmp_path / "userpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "myclaims.py").write_text(USER_CLAIMS.format(cid="U2"))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_claims("userpkg.myclaims") == ["U2"]
    with pytest.raises(ValueError, match="nosuchpkg"):
        load_claims("nosuchpkg.claims")
    with pytest.raises(ValueError, match="not a file"):
        load_claims(str(tmp_path / "missing.py"))
    (tmp_path / "random.py").write_text(USER_CLAIMS.format(cid="U4"))
    import random

    assert load_claims(str(tmp_path / "random.py")) == ["U4"]
    assert sys.modules["random"] is random  # a claims file never shadows a module of the same name
    sys.modules.pop("_user_claims_random", None)
    sys.modules.pop("_user_claims_user_file_claims", None)
    sys.modules.pop("userpkg.myclaims", None)
    sys.modules.pop("userpkg", None)


def test_verify_runs_a_users_module_and_only_its_claims(tmp_path, capsys, temporary_claims):
    path = tmp_path / "verify_user_claims.py"
    path.write_text(USER_CLAIMS.format(cid="U3"))
    out = tmp_path / "report"
    assert main(["verify", "--module", str(path), "--out", str(out), "--no-figures"]) == 0
    printed = capsys.readouterr().out
    assert "1 claims (U3)" in printed and "[1/1] U3 done" in printed
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [r["claim"] for r in rows] == ["U3"]
    sys.modules.pop("_user_claims_verify_user_claims", None)


def test_verify_prints_each_claims_rows_before_the_next_claim_starts(tmp_path, capsys):
    assert main(["verify", "--smoke", "--claim", "C11", "C3", "--out", str(tmp_path), "--no-figures"]) == 0
    out = capsys.readouterr().out
    first_c3_row = out.index("\nC3 ")
    assert out.index("[1/2] C11 running") < out.index("\nC11 ") < out.index("[1/2] C11 done") \
        < out.index("[2/2] C3 running") < first_c3_row < out.index("[2/2] C3 done")


def test_console_table_shows_quantities_in_full(tmp_path, capsys, temporary_claims):
    long = "a quantity whose name is much longer than any fixed column would allow, " * 2

    @claim("CLONG", "rows with a long quantity name")
    def check(seed, size):
        return [Verdict("CLONG", long.strip(), 1.0, 1.0, 0.1, "r")]

    assert main(["verify", "--claim", "CLONG", "--out", str(tmp_path), "--no-figures"]) == 0
    assert long.strip() in capsys.readouterr().out


def test_verify_writes_report_csv_html_and_figures_and_exits_zero(tmp_path, capsys):
    assert main(["verify", "--smoke", "--claim", "C11", "--out", str(tmp_path), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "C11" in out and "measured +- SE" in out
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    assert len(rows) == 5 and all(r["verdict"] == "confirmed" for r in rows)
    assert [float(r["x"]) for r in rows] == [2, 3, 5, 8, 10]
    md = (tmp_path / "report.md").read_text()
    assert "| C11 |" in md and "](claim-C11.png)" in md and "](z-scores.png)" in md
    assert "| seed | 3 |" in md and "| size | smoke |" in md
    assert REGISTRY["C11"].statement in md
    assert (tmp_path / "claim-C11.png").stat().st_size > 1000 and (tmp_path / "report.html").is_file()


def test_verify_exits_non_zero_when_a_check_errors(tmp_path, temporary_claims):
    claim("CBROKEN2", "errors")(lambda seed, size: 1 / 0)
    assert main(["verify", "--claim", "CBROKEN2", "--out", str(tmp_path), "--no-figures"]) == 1
    assert "ZeroDivisionError" in (tmp_path / "report.md").read_text()


def test_verify_rejects_unknown_claims_modules_and_seeds(tmp_path, capsys):
    assert main(["verify", "--claim", "C999", "--out", str(tmp_path)]) == 2
    assert "C999" in capsys.readouterr().err
    assert main(["verify", "--module", "nosuchpkg_xyz", "--out", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        main(["verify", "--seed", "-1"])
    assert "non-negative integer" in capsys.readouterr().err


def test_subcommands_come_from_a_list_of_parser_adders():
    def add_hello_parser(subparsers):
        parser = subparsers.add_parser("hello")
        parser.set_defaults(func=lambda args: 7)
        return parser

    SUBCOMMANDS.append(add_hello_parser)
    try:
        assert main(["hello"]) == 7
    finally:
        SUBCOMMANDS.remove(add_hello_parser)
    names = build_parser()._subparsers._group_actions[0].choices
    assert list(names) == ["verify", "bench", "study"]


def test_console_script_points_at_analysis_cli():
    import importlib.metadata

    (script,) = [e for e in importlib.metadata.entry_points(group="console_scripts") if e.name == "sandbox"]
    assert script.value == "analysis.cli:main"


def test_the_user_claim_example_of_the_registry_docstring_runs(tmp_path, temporary_claims):
    import analysis.claims.registry as registry

    doc = registry.__doc__
    example = textwrap.dedent(doc[doc.index("    # mypkg/myclaims.py"):doc.index("and run them with")])
    (tmp_path / "docstring_claims.py").write_text(example)
    assert load_claims(str(tmp_path / "docstring_claims.py")) == ["MY1"]
    verdicts, errors = run_claims(["MY1"], size="smoke")
    assert not errors and verdicts[0].agrees
    sys.modules.pop("_user_claims_docstring_claims", None)
