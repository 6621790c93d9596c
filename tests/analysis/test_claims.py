"""The claims ledger and the ``sandbox verify`` command."""
import csv
import math

import pytest

import analysis.checks  # noqa: F401  (registers the claims)
from analysis.claims import REGISTRY, Claim, Verdict, claim, run_claims
from sandbox.cli import main


def test_verdict_z_and_agreement_follow_the_threshold():
    v = Verdict("CX", "q", predicted=1.0, measured=1.3, stderr=0.1, regime="r")
    assert v.z == pytest.approx(3.0)
    assert v.agrees and v.verdict == "confirmed"
    far = Verdict("CX", "q", predicted=1.0, measured=2.0, stderr=0.1, regime="r")
    assert not far.agrees and far.verdict == "refuted"
    expected_failure = Verdict("CX", "q", 1.0, 2.0, 0.1, "r", expect_agreement=False)
    assert expected_failure.verdict == "as expected (disagrees)"


def test_exact_rows_with_zero_stderr_agree_only_on_equality():
    assert Verdict("CX", "q", 0.0, 0.0, 0.0, "r").z == 0.0
    assert math.isinf(Verdict("CX", "q", 0.0, 1.0, 0.0, "r").z)


def test_every_issue_claim_is_registered_with_its_statement():
    for claim_id in ("C2", "C3", "C9", "C10", "C11"):
        assert claim_id in REGISTRY and len(REGISTRY[claim_id].statement) > 20


def test_registering_an_id_twice_is_refused():
    with pytest.raises(ValueError, match="C3"):
        claim("C3", "again")(lambda seed, size: [])


def test_unknown_claim_id_and_size_are_value_errors():
    with pytest.raises(ValueError, match="C999"):
        run_claims(["C999"])
    with pytest.raises(ValueError, match="size"):
        run_claims(["C11"], size="huge")


@pytest.fixture
def broken_claim():
    def check(seed, size):
        raise ZeroDivisionError("boom")

    REGISTRY["CBROKEN"] = Claim("CBROKEN", "a check that errors", check)
    yield "CBROKEN"
    del REGISTRY["CBROKEN"]


def test_a_check_that_raises_is_an_error_and_the_others_still_run(broken_claim):
    verdicts, errors = run_claims([broken_claim, "C11"])
    assert set(errors) == {broken_claim} and "ZeroDivisionError" in errors[broken_claim]
    assert verdicts and all(v.claim == "C11" for v in verdicts)


def test_verify_writes_report_and_csv_and_exits_zero(tmp_path, capsys):
    assert main(["verify", "--quick", "--claim", "C11", "--out", str(tmp_path), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "C11" in out and "measured +- SE" in out
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    assert len(rows) == 5 and all(r["verdict"] == "confirmed" for r in rows)
    assert "| C11 |" in (tmp_path / "report.md").read_text()


def test_verify_exits_non_zero_when_a_check_errors(tmp_path, broken_claim):
    assert main(["verify", "--claim", broken_claim, "--out", str(tmp_path)]) == 1
    assert "ZeroDivisionError" in (tmp_path / "report.md").read_text()


def test_verify_rejects_unknown_claims(tmp_path):
    assert main(["verify", "--claim", "C999", "--out", str(tmp_path)]) == 2
