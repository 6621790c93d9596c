"""The documentation a newcomer meets: README and docs/ describe every claim and link only inside the repository."""
import re
import sys
from pathlib import Path

import pytest

from analysis.claims import REGISTRY, load_claims, run_claims

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BUILT_IN = [c.id for c in REGISTRY.values() if c.module.startswith("analysis.claims.")]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_points_at_a_file_in_the_repository(doc):
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text())
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue
        target = (doc.parent / link).resolve()
        assert target.is_relative_to(ROOT) and target.exists(), f"{doc.name}: {link}"


def test_readme_lists_every_claim_id_that_verify_knows():
    text = (ROOT / "README.md").read_text()
    assert BUILT_IN and all(f"\n| {claim_id} |" in text for claim_id in BUILT_IN)


def test_docs_state_every_claim_and_mark_the_checked_ones():
    text = (ROOT / "docs" / "claims.md").read_text()
    for k in range(1, 16):
        assert re.search(rf"^### C{k} — ", text, re.M), f"C{k}"
    status = dict(re.findall(r"^\| (C\d+) \| [^|]+ \| ([^|]+) \|$", text, re.M))
    assert sorted(status, key=lambda c: int(c[1:])) == [f"C{k}" for k in range(1, 16)]
    checked = {claim_id.split("-")[0] for claim_id in BUILT_IN}
    for claim_id, state in status.items():
        assert state.startswith("checked") == (claim_id in checked), claim_id


def test_the_readme_example_of_a_users_claim_runs(tmp_path):
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Your own claims"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "readme_claims.py").write_text(code)
    try:
        assert load_claims(str(tmp_path / "readme_claims.py")) == ["MY-ULA"]
        verdicts, errors = run_claims(["MY-ULA"], size="smoke")
        assert not errors and len(verdicts) == 3 and all(v.verdict == "confirmed" for v in verdicts)
    finally:
        REGISTRY.pop("MY-ULA", None)
        sys.modules.pop("_user_claims_readme_claims", None)
