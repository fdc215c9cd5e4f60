"""What a registry study says it is for, read with the vocabulary of ``trials.yaml``.

Each term is looked for on its own, as whole words, so terms that overlap are all found: "B Acute Lymphoblastic
Leukemia" names both B lineage ("B acute lymphoblastic") and ALL ("acute lymphoblastic leukemia"). A text is
split into words once and only the terms that start with one of its words are looked for.

A condition is read for what it says about ALL only: its state words count when the condition itself names ALL
(NCI entries list "Recurrent Childhood Acute Myeloid Leukemia" beside ALL conditions).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from allpath.domain.trials import Study
from allpath.knowledge.trials_schema import StudyPart, TrialsFile

ALL = "all"
_SEEN_TEXTS = 50_000  # texts whose concepts are kept; the memory of a large registry's distinct conditions


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


def risk_key(value: str) -> str:
    return f"risk:{value}"


@dataclass(frozen=True, slots=True)
class StudyReading:
    """The vocabulary concepts a study names, by where it names them."""

    titles: frozenset[str]
    keywords: frozenset[str]
    conditions: frozenset[str]  # in any condition
    anywhere: frozenset[str]  # titles, keywords or any condition
    about_all: frozenset[str]  # titles, keywords, or the conditions that name ALL (where a state word speaks of ALL)
    about_disease: frozenset[str]  # titles, keywords, or the conditions that name ALL or a related condition
    # The risk groups of newly diagnosed ALL the study names (trials.yaml `risk_groups`), and the subgroups its
    # titles name beside them as another way in ("Standard Risk or Down Syndrome"); empty when it names none.
    risk_groups: frozenset[str] = frozenset()
    risk_ways_in: frozenset[str] = frozenset()
    # What each word criterion reads (disease, lineage, disease state with the primary purpose, risk group,
    # subgroups), each as a number: two studies of the same kind for a criterion get the same criterion, so a
    # search works each out once per kind. Numbered by the reader that read them: compare kinds of one reader only.
    kinds: tuple[int, int, int, int, int] = (-1, -1, -1, -1, -1)
    kind: int = -1  # the number of ``kinds`` as a whole
    numbered_by: object = None  # the numbering of the reader that read the study (kinds of another mean nothing)

    def named(self, key: str, parts: Iterable[StudyPart]) -> bool:
        for part in parts:
            found = self.titles if part == "titles" else self.keywords if part == "keywords" else self.conditions
            if key in found:
                return True
        return False


# Punctuation that separates words; "+" is kept (Ph+, CD22+), a hyphen separates ("B-cell" has the word "b").
_SEPARATORS = str.maketrans(dict.fromkeys("()[]{},;:/|\"'.-!?*&\n\t", " "))


@dataclass(frozen=True, slots=True)
class _Term:
    text: str
    pattern: re.Pattern[str]  # the term as a whole word (a term ending in "+" ends anywhere), not after its guards
    keys: frozenset[str]


def _pattern(text: str, not_after: Iterable[str]) -> re.Pattern[str]:
    # "very" before "high risk" makes it another term: a word of ``not_after`` and a space or hyphen may not precede.
    guards = "".join(rf"(?<!\b{re.escape(word)} )(?<!\b{re.escape(word)}-)" for word in not_after)
    end = r"(?!\w)" if text[-1].isalnum() else ""
    return re.compile(guards + r"(?<!\w)" + re.escape(text) + end)


def _first_word(term: str) -> str:
    words = term.translate(_SEPARATORS).split()
    return words[0] if words else term


class _Scanner:
    """Finds the concepts named in a text. A text's words are split once; only the terms whose first word is
    among them are looked for, and a term found is checked to stand as whole words ("relapse" is not found in
    "relapses", "ALL" not in "SMALL"). Terms of ``folded`` are found in any case, those of ``exact`` as written;
    a term of ``guarded`` is not found right after one of its words ("high risk" in "very high risk")."""

    def __init__(
        self, folded: dict[str, set[str]], exact: dict[str, set[str]], guarded: dict[str, tuple[str, ...]]
    ) -> None:
        guards = {term.casefold(): tuple(word.casefold() for word in words) for term, words in guarded.items()}
        self._folded = self._index({term.casefold(): keys for term, keys in folded.items()}, guards)
        self._exact = self._index(exact, {})
        self._exact_terms = tuple(exact)
        self._seen: dict[str, frozenset[str]] = {}

    @staticmethod
    def _index(terms: dict[str, set[str]], guards: dict[str, tuple[str, ...]]) -> dict[str, tuple[_Term, ...]]:
        by_word: dict[str, list[_Term]] = {}
        for text, keys in terms.items():
            term = _Term(text, _pattern(text, guards.get(text, ())), frozenset(keys))
            by_word.setdefault(_first_word(text), []).append(term)
        return {word: tuple(found) for word, found in by_word.items()}

    def concepts(self, text: str) -> frozenset[str]:
        """The concepts of a text, read once per matcher (conditions and keywords repeat across a registry)."""
        known = self._seen.get(text)
        if known is not None:
            return known
        if len(self._seen) >= _SEEN_TEXTS:
            self._seen.clear()
        result = self._seen[text] = self.read_once(text)
        return result

    def read_once(self, text: str) -> frozenset[str]:
        """The concepts of a text, read now and not kept."""
        found: set[str] = set()
        folded = text.casefold()
        sources = [(folded, self._folded)]
        if any(term in text for term in self._exact_terms):
            sources.append((text, self._exact))
        for source, index in sources:
            words = source.translate(_SEPARATORS).split()
            for word in index.keys() & set(words):
                for term in index[word]:
                    if term.text in source and term.pattern.search(source):
                        found |= term.keys
        return frozenset(found)


class StudyReader:
    """Reads studies with one compiled vocabulary (build it once per knowledge base)."""

    def __init__(self, vocabulary: TrialsFile) -> None:
        folded: dict[str, set[str]] = {}
        exact: dict[str, set[str]] = {}
        guarded: dict[str, tuple[str, ...]] = {}

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
        risks = vocabulary.risk_groups
        for words in risks.words:
            add(words.terms, risk_key(words.value), folded)
            guarded.update(dict.fromkeys(words.terms, words.not_after))
        self._scanner = _Scanner(folded, exact, guarded)
        self._kinds: dict[tuple[int, object], int] = {}
        self.numbering: object = self._kinds
        self._kinds_lock = threading.Lock()
        self._risk_keys = {risk_key(w.value): w.value for w in risks.words}
        self._risk_state = state_key(risks.read_when)
        self._ways_in = tuple((subgroup_key(g), g) for g in risks.other_ways_in)
        self._related_keys = frozenset(related_key(r.id) for r in disease.related)
        self._anywhere_keys = self._related_keys | {ALL}
        self._disease_keys = frozenset(lineage_key(lin.value) for lin in vocabulary.lineage)
        self._state_keys = frozenset(state_key(s.value) for s in vocabulary.disease_state)
        self._all_keys = self._state_keys | frozenset(relapse_number_key(n.number) for n in vocabulary.relapse_number)
        self._subgroups = tuple(
            (subgroup_key(g.id), also_key(g.id), g.required_in, g.named_in) for g in vocabulary.subgroups
        )

    def read(self, study: Study) -> StudyReading:
        concepts = self._scanner.concepts
        # Titles are kept too: a server's next search of the same registry then reads no text again.
        titles = concepts(" | ".join(t for t in (study.brief_title, study.official_title) if t))
        keywords = frozenset().union(*(concepts(keyword) for keyword in study.keywords))
        any_condition: set[str] = set()
        all_conditions: set[str] = set()
        disease_conditions: set[str] = set()
        for condition in study.conditions:
            found = concepts(condition)
            any_condition |= found
            if ALL in found:
                all_conditions |= found
            if ALL in found or found & self._related_keys:
                disease_conditions |= found
        said = titles | keywords
        conditions = frozenset(any_condition)
        anywhere, about_all, about_disease = said | conditions, said | all_conditions, said | disease_conditions
        parts = {"titles": titles, "keywords": keywords, "conditions": conditions}
        flags: list[bool] = []
        for key, also, required_in, named_in in self._subgroups:
            flags.append(any(key in parts[part] for part in required_in))
            flags.append(any(also in parts[part] for part in required_in))
            flags.append(any(key in parts[part] for part in named_in))
        risks, ways_in = self._risks(about_all, titles)
        kinds, kind = self._numbered(
            anywhere & self._anywhere_keys,
            about_disease & self._disease_keys,
            (about_all & self._all_keys, study.primary_purpose),
            (risks, ways_in),
            tuple(flags),
        )
        return StudyReading(
            titles=titles,
            keywords=keywords,
            conditions=conditions,
            anywhere=anywhere,
            about_all=about_all,
            about_disease=about_disease,
            risk_groups=risks,
            risk_ways_in=ways_in,
            kinds=kinds,
            kind=kind,
            numbered_by=self.numbering,
        )

    def _numbered(self, *signatures: object) -> tuple[tuple[int, int, int, int, int], int]:
        """The number of each criterion's signature, and of all of them together."""
        with self._kinds_lock:  # two threads reading new kinds at once must not both take the same number
            disease, lineage, state, risk, subgroups = (
                self._kinds.setdefault((part, signature), len(self._kinds)) for part, signature in enumerate(signatures)
            )
            kinds = (disease, lineage, state, risk, subgroups)
            return kinds, self._kinds.setdefault((-1, kinds), len(self._kinds))

    def _risks(self, about_all: frozenset[str], titles: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
        """The risk groups of newly diagnosed ALL a study names: read only when the study names that state and no
        other (a relapse study's "high risk" is a relapse risk group)."""
        if about_all & self._state_keys != {self._risk_state}:
            return frozenset(), frozenset()
        risks = frozenset(value for key, value in self._risk_keys.items() if key in about_all)
        if not risks:
            return risks, frozenset()
        return risks, frozenset(subgroup for key, subgroup in self._ways_in if key in titles)
