"""No rule of the knowledge base rests on a fact marked [L] (not verified) in clinical-facts.md.

Every piece of evidence that cites ``clinical-facts.md`` names, in ``fact``, a short phrase of the line it
rests on. This test finds that line in the cited section and reads the confidence tag that applies to it:
the first tag from the start of the phrase on, on the same line, otherwise the tag of the nearest enclosing line (the
parent bullet, or the caption of a table). The test fails when

* the phrase is missing, or is not found in the cited section;
* the tag that applies is [L];
* the evidence claims more confidence than the tag gives ([M] or an untagged line allow only M);
* a rule states a confidence higher than its weakest evidence.

The parser is deliberately small: clinical-facts.md is Markdown with bullets, tables and ``**[H]**``-style
tags. A test at the end checks the parser itself on lines whose tags are known.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from allpath.knowledge.loader import default_data_dir
from tests.conftest import require_shared

TAG = re.compile(r"\[(H|M|L)\]")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
RANK = {"M": 1, "H": 2}
# Sections whose purpose is to list what is *not* verified: evidence may cite them only to say that
# something is not covered (the test checks that the citing item says so).
GAPS_SECTION = "Not verified / gaps (do not encode without the primary document)"


def _lines() -> list[str]:
    """clinical-facts.md of shared/ (skipped without it; in CI, where shared/ is always there, a failure)."""
    return (require_shared() / "clinical-facts.md").read_text(encoding="utf-8").splitlines()


def _section_range(lines: list[str], title: str) -> range:
    for i, line in enumerate(lines):
        match = HEADING.match(line)
        if match and match.group(2).strip() == title:
            level = len(match.group(1))
            end = len(lines)
            for j in range(i + 1, len(lines)):
                other = HEADING.match(lines[j])
                if other and len(other.group(1)) <= level:
                    end = j
                    break
            return range(i + 1, end)
    raise AssertionError(f"section {title!r} is not a heading of clinical-facts.md")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_bullet(line: str) -> bool:
    return line.lstrip().startswith(("- ", "* ")) or bool(re.match(r"^\s*\d+\.\s", line))


def _is_table(line: str) -> bool:
    return line.lstrip().startswith("|")


def tag_for(lines: list[str], index: int, position: int) -> str | None:
    """The confidence tag that applies to ``lines[index]`` from column ``position`` on."""
    found = TAG.search(lines[index], position)
    if found:
        return found.group(1)
    # A bullet or paragraph wrapped over several lines: its tag may stand on a continuation line.
    for j in range(index + 1, len(lines)):
        following = lines[j]
        if not following.strip() or HEADING.match(following) or _is_bullet(following) or _is_table(following):
            break
        found = TAG.search(following)
        if found:
            return found.group(1)
    current = lines[index]
    # Walk up to the enclosing line: for a bullet, a bullet with less indentation or a paragraph; for a
    # table row, the caption above the table; for a paragraph, the paragraph before it. Siblings and their
    # tags are skipped. An untagged enclosing line passes the question on to its own enclosing line.
    parent_indent = _indent(current) if _is_bullet(current) else None
    in_table = _is_table(current)
    for j in range(index - 1, -1, -1):
        candidate = lines[j]
        if not candidate.strip() or _is_table(candidate):
            continue
        if HEADING.match(candidate):
            return None
        if _is_bullet(candidate) and not in_table:
            if parent_indent is None or _indent(candidate) >= parent_indent:
                continue  # a sibling, or a child of an earlier paragraph
        tag = TAG.search(candidate)
        if tag:
            return tag.group(1)
        in_table = False
        parent_indent = _indent(candidate) if _is_bullet(candidate) else None
    return None


def _evidence(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """Every evidence mapping in a YAML tree, with its path and the rule mapping that holds it."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("evidence") and isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict) and "source" in item:
                        yield f"{where}.{key}[{i}]", item, node
            else:
                yield from _evidence(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            label = item.get("id", i) if isinstance(item, dict) else i
            yield from _evidence(item, f"{where}[{label}]")


def _all_evidence() -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    found = []
    for path in sorted(default_data_dir().glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found += [e for e in _evidence(data, path.name) if e[1]["source"] == "facts"]
    return found


EVIDENCE = _all_evidence()


def test_the_knowledge_base_cites_clinical_facts_widely() -> None:
    assert len(EVIDENCE) >= 100  # the check below cannot pass by finding nothing


def problem_of(lines: list[str], where: str, evidence: dict[str, Any], rule: dict[str, Any] | None) -> str | None:
    """Why this evidence does not rest on a verified fact, or None when it does."""
    phrase = evidence.get("fact")
    if not phrase:
        return f"{where}: evidence from clinical-facts.md must quote its line in `fact`"
    section = _section_range(lines, evidence["section"])
    hits = [(i, lines[i].find(phrase)) for i in section if phrase in lines[i]]
    if not hits:
        return f"{where}: {phrase!r} is not in section {evidence['section']!r}"
    index, position = hits[0]
    if evidence["section"] == GAPS_SECTION:
        text = " ".join(str(v) for v in (rule or {}).values()).lower()
        if (rule or {}).get("not_covered") is True or "not covered" in text or "not verified" in text:
            return None
        return f"{where}: the gaps list may only be cited to say that something is not covered"
    tag = tag_for(lines, index, position)
    if tag == "L":
        return f"{where}: rests on a fact marked [L]: {lines[index].strip()!r}"
    allowed = tag if tag in RANK else "M"
    if RANK[evidence["confidence"]] > RANK[allowed]:
        return (
            f"{where}: claims confidence {evidence['confidence']} but the fact is tagged {tag or 'nothing'}: "
            f"{lines[index].strip()!r}"
        )
    return None


@pytest.mark.parametrize(("where", "evidence", "rule"), EVIDENCE, ids=[e[0] for e in EVIDENCE])
def test_evidence_rests_on_a_verified_fact(where: str, evidence: dict[str, Any], rule: dict[str, Any] | None) -> None:
    assert problem_of(_lines(), where, evidence, rule) is None


@pytest.mark.parametrize(
    ("section", "phrase", "confidence", "expected"),
    [
        ("7. Intrathecal (IT) dosing by age", "COG single-agent IT MTX", "M", "marked [L]"),
        ("9. CPIC thiopurines: TPMT and NUDT15", "**TPMT PM:** 10-fold reduction", "H", "claims confidence H"),
        ("8. Dose facts and caps", "a phrase that is not there", "H", "is not in section"),
        ("8. Dose facts and caps", "", "H", "must quote its line"),
    ],
)
def test_the_check_catches_unverified_or_overclaimed_evidence(
    section: str, phrase: str, confidence: str, expected: str
) -> None:
    evidence = {"source": "facts", "section": section, "reference": "test", "fact": phrase, "confidence": confidence}
    problem = problem_of(_lines(), "test", evidence, {"id": "test.rule"})
    assert problem is not None and expected in problem


def test_no_rule_claims_more_confidence_than_its_evidence() -> None:
    seen = 0
    for _where, evidence, rule in EVIDENCE:
        if rule is None or "confidence" not in rule or not isinstance(rule["confidence"], str):
            continue
        weakest = min(RANK[e["confidence"]] for e in rule.get("evidence", [evidence]) if isinstance(e, dict))
        assert RANK[rule["confidence"]] <= weakest or rule["confidence"] == "M", rule.get("id")
        seen += 1
    assert seen > 0


# ---- the parser itself, on lines whose tags are known --------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("**Vincristine** 1.5 mg/m², **max 2 mg**", "H"),  # tag on the same line
        ("**NUDT15 PM, malignancy:** start **10 mg/m²/d** and adjust", "M"),
        ("The factor printed in COG LTFU v6 itself was", "L"),
        ("COG single-agent IT MTX", "L"),
        ("| Induction (3-drug) | 4 wk |", "H"),  # a table row takes its caption's tag
        ("**TPMT PM:** 10-fold reduction, dosed 3×/week", "M"),  # a bullet takes its block's tag
        ("**Methotrexate (IT/HD):** neurocognitive deficits", "M"),  # the parent's first tag
        ("Specific test schedules were not retrieved", "L"),
        ("carries TP53 alterations in 91% of cases", "H"),  # a wrapped bullet: the tag on its next line
        ("**No cranial radiation under age 1.**", "H"),
    ],
)
def test_the_tag_parser_reads_known_lines(phrase: str, expected: str) -> None:
    lines = _lines()
    index = next(i for i, line in enumerate(lines) if phrase in line)
    assert tag_for(lines, index, lines[index].find(phrase)) == expected
