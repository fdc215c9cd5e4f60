"""Cross-checks of the therapy knowledge (regimens.yaml, survivorship.yaml) against clinical-facts.md.

clinical-facts §8 "Anthracycline totals (computed, for §10): SR doxorubicin 75 mg/m²; HR daunorubicin 100 +
doxorubicin 75 mg/m² (one DI)". The totals computed from the regimens' drug lines (doses x number of doses)
must equal that line, so that the survivorship plan of a planned regimen rests on the same figures as the
facts file.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from allpath.knowledge.loader import KnowledgeBase
from tests.conftest import require_shared

SR = "b_all_standard_risk"
HR = "b_all_high_risk"
# clinical-facts §8 "Anthracycline totals (computed)", mg/m2
FACTS_8_TOTALS = {SR: {"doxorubicin": 75.0}, HR: {"daunorubicin": 100.0, "doxorubicin": 75.0}}


def anthracyclines(kb: KnowledgeBase) -> set[str]:
    spec = kb.therapy.survivorship.anthracyclines
    return {e.drug for e in spec.equivalence} | set(spec.not_covered)


def totals(kb: KnowledgeBase) -> dict[str, dict[str, float]]:
    """Cumulative anthracycline dose per regimen (mg/m2), from the drug lines of every phase."""
    out: dict[str, dict[str, float]] = {}
    drugs = anthracyclines(kb)
    for regimen in kb.therapy.regimens.regimens:
        found: dict[str, float] = defaultdict(float)
        for phase in regimen.phases:
            for line in phase.drugs:
                if line.drug in drugs:
                    assert line.count is not None, f"{regimen.id}/{phase.id}/{line.drug}: number of doses not given"
                    assert line.dose.per_m2 is not None, f"{regimen.id}/{phase.id}/{line.drug}: not per m2"
                    found[line.drug] += line.count * line.dose.per_m2
        out[regimen.id] = dict(found)
    return out


def test_anthracycline_totals_equal_clinical_facts_8(kb: KnowledgeBase) -> None:
    assert totals(kb) == FACTS_8_TOTALS


def test_anthracycline_totals_line_of_clinical_facts_8() -> None:
    """The expected totals above are the numbers printed in clinical-facts §8, read from the file."""
    text = (require_shared() / "clinical-facts.md").read_text(encoding="utf-8")
    section = text.split("## 8. Dose facts and caps", 1)[1].split("\n## ", 1)[0]
    [line] = [x for x in section.splitlines() if "Anthracycline totals" in x]
    sr = re.search(r"SR doxorubicin (\d+(?:\.\d+)?) mg/m²", line)
    hr = re.search(r"HR daunorubicin (\d+(?:\.\d+)?) \+ doxorubicin (\d+(?:\.\d+)?) mg/m²", line)
    assert sr and hr, line
    assert FACTS_8_TOTALS[SR] == {"doxorubicin": float(sr.group(1))}
    assert FACTS_8_TOTALS[HR] == {"daunorubicin": float(hr.group(1)), "doxorubicin": float(hr.group(2))}


@pytest.mark.parametrize(("regimen", "equivalent"), [(SR, 75.0), (HR, 135.0)])
def test_doxorubicin_equivalent_of_the_totals(kb: KnowledgeBase, regimen: str, equivalent: float) -> None:
    # clinical-facts §10: IGHG expert panel "daunorubicin ×0.6"; doxorubicin is the reference (factor 1).
    factors = {e.drug: e.factor for e in kb.therapy.survivorship.anthracyclines.equivalence}
    assert factors["doxorubicin"] == 1 and factors["daunorubicin"] == 0.6
    total = sum(amount * factors[drug] for drug, amount in totals(kb)[regimen].items())
    assert total == pytest.approx(equivalent)


def test_every_regimen_anthracycline_has_a_doxorubicin_factor(kb: KnowledgeBase) -> None:
    """A planned regimen never leaves its cumulative heart dose unknown for want of a factor."""
    factors = {e.drug for e in kb.therapy.survivorship.anthracyclines.equivalence}
    for regimen, found in totals(kb).items():
        assert set(found) <= factors, regimen
