"""What a registry study says it is for, read with the vocabulary of ``trials.yaml``.

Every term of the vocabulary is compiled into one pattern per case rule, so a study's titles, keywords and
conditions are each scanned once. The scan looks for a term at every position (a lookahead), so terms that
overlap are all found: "B Acute Lymphoblastic Leukemia" names both B lineage ("B acute lymphoblastic") and ALL
("acute lymphoblastic leukemia").

A condition is read for what it says about ALL only: its state words count when the condition itself names ALL
(NCI entries list "Recurrent Childhood Acute Myeloid Leukemia" beside ALL conditions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from allpath.domain.trials import Study
from allpath.knowledge.trials_schema import StudyPart, TrialsFile

ALL = "all"


def related_key(condition_id: str) -> str:
    return f"related:{condition_id}"


def lineage_key(value: str) -> str:
    return f"lineage:{value}"


def state_key(value: str) -> str:
    return f"state:{value}"


def relapse_number_key(number: int) -> str:
    return f"relapse_number:{number}"


def subgroup_key(subgroup_id: str) -> str:
    return f"subgroup:{subgroup_id}"


def also_key(subgroup_id: str) -> str:
    return f"also:{subgroup_id}"


@dataclass(frozen=True, slots=True)
class StudyReading:
    """The vocabulary concepts a study names, by where it names them."""

    titles: frozenset[str]
    keywords: frozenset[str]
    conditions: frozenset[str]  # in any condition
    all_conditions: frozenset[str]  # in the conditions that name ALL
    disease_conditions: frozenset[str]  # in the conditions that name ALL or a related condition

    def named(self, key: str, parts: Iterable[StudyPart]) -> bool:
        for part in parts:
            found = self.titles if part == "titles" else self.keywords if part == "keywords" else self.conditions
            if key in found:
                return True
        return False

    def about_all(self, key: str) -> bool:
        """Named in the titles, the keywords, or a condition that names ALL (where a state word speaks of ALL)."""
        return key in self.titles or key in self.keywords or key in self.all_conditions

    def about_disease(self, key: str) -> bool:
        """Named in the titles, the keywords, or a condition that names ALL or a related condition."""
        return key in self.titles or key in self.keywords or key in self.disease_conditions


class _Scanner:
    """Finds the concepts named in a text: one lookahead pattern for terms of any case, one for exact case."""

    def __init__(self, folded: dict[str, set[str]], exact: dict[str, set[str]]) -> None:
        self._folded = {term.casefold(): set(keys) for term, keys in folded.items()}
        self._exact = exact
        self._folded_pattern = _pattern(folded, re.IGNORECASE)
        self._exact_pattern = _pattern(exact, 0)

    def concepts(self, text: str) -> set[str]:
        found: set[str] = set()
        if not text:
            return found
        if self._folded_pattern is not None:
            for match in self._folded_pattern.finditer(text):
                found |= self._folded.get(match.group(1).casefold(), set())
        if self._exact_pattern is not None:
            for match in self._exact_pattern.finditer(text):
                found |= self._exact.get(match.group(1), set())
        return found


def _pattern(terms: Iterable[str], flags: int) -> re.Pattern[str] | None:
    # Longest first, so that at one position the fuller term is the one found ("relapsed", not "relapse").
    ordered = sorted(set(terms), key=len, reverse=True)
    if not ordered:
        return None
    alternatives = "|".join(
        (r"\b" if term[0].isalnum() else "") + re.escape(term) + (r"\b" if term[-1].isalnum() else "")
        for term in ordered
    )
    return re.compile(rf"(?=({alternatives}))", flags)


class StudyReader:
    """Reads studies with one compiled vocabulary (build it once per knowledge base)."""

    def __init__(self, vocabulary: TrialsFile) -> None:
        folded: dict[str, set[str]] = {}
        exact: dict[str, set[str]] = {}

        def add(terms: Iterable[str], key: str, table: dict[str, set[str]]) -> None:
            for term in terms:
                table.setdefault(term, set()).add(key)

        disease = vocabulary.disease
        add(disease.all_terms.terms, ALL, folded)
        add(disease.all_terms.exact_case, ALL, exact)
        for related in disease.related:
            add(related.terms, related_key(related.id), folded)
            add(related.exact_case, related_key(related.id), exact)
        for lineage in vocabulary.lineage:
            add(lineage.terms, lineage_key(lineage.value), folded)
            add(lineage.exact_case, lineage_key(lineage.value), exact)
        for state in vocabulary.disease_state:
            add(state.terms, state_key(state.value), folded)
        for number in vocabulary.relapse_number:
            add(number.terms, relapse_number_key(number.number), folded)
        for subgroup in vocabulary.subgroups:
            add(subgroup.terms, subgroup_key(subgroup.id), folded)
            add(subgroup.exact_case, subgroup_key(subgroup.id), exact)
            if subgroup.also_accepts is not None:
                add(subgroup.also_accepts.terms, also_key(subgroup.id), folded)
        self._scanner = _Scanner(folded, exact)
        self._related_keys = frozenset(related_key(r.id) for r in disease.related)

    def read(self, study: Study) -> StudyReading:
        titles = self._scanner.concepts(" | ".join(t for t in (study.brief_title, study.official_title) if t))
        keywords = self._scanner.concepts(" | ".join(study.keywords))
        any_condition: set[str] = set()
        all_conditions: set[str] = set()
        disease_conditions: set[str] = set()
        for condition in study.conditions:
            found = self._scanner.concepts(condition)
            any_condition |= found
            if ALL in found:
                all_conditions |= found
            if ALL in found or found & self._related_keys:
                disease_conditions |= found
        return StudyReading(
            titles=frozenset(titles),
            keywords=frozenset(keywords),
            conditions=frozenset(any_condition),
            all_conditions=frozenset(all_conditions),
            disease_conditions=frozenset(disease_conditions),
        )
