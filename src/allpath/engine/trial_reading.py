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
from allpath.knowledge.trials_schema import StudyPart, Terms, TrialsFile

ALL = "all"
GENERAL = "general"  # leukemia or cancer in general, read only in a text that names no disease of its own
AFTER_TREATMENT = "after_treatment"
_SEEN_TEXTS = 50_000  # texts whose concepts are kept; the memory of a large registry's distinct conditions


def related_key(condition_id: str) -> str:
    return f"related:{condition_id}"


def lineage_key(value: str) -> str:
    return f"lineage:{value}"


def state_key(value: str) -> str:
    return f"state:{value}"


def relapse_number_key(number: int, or_later: bool = False) -> str:
    return f"relapse_number:{number}{'+' if or_later else ''}"


def relapse_site_key(site_id: str) -> str:
    return f"relapse_site:{site_id}"


def other_key(disease_id: str) -> str:
    return f"other:{disease_id}"


def negated_key(key: str) -> str:
    """The key of a term named as excluded ("non-Down syndrome")."""
    return f"not:{key}"


def wider_key(subgroup_id: str) -> str:
    return f"wider:{subgroup_id}"


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


_ALL_PARTS: tuple[StudyPart, ...] = ("titles", "keywords", "conditions")

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
    a term of ``guarded`` is not found right after one of its words ("high risk" in "very high risk").

    A term found only where ``negation`` makes it an exclusion ("non-Down syndrome") gives its keys as
    ``negated_key``; ``GENERAL`` is looked for only in a text that names none of ``diseases``. Exact-case terms
    that are bare words are not read in a text written all in capitals ("ALL AGES" is not a leukemia)."""

    def __init__(
        self,
        folded: dict[str, set[str]],
        exact: dict[str, set[str]],
        guarded: dict[str, tuple[str, ...]],
        negation: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = ((), (), ()),
        diseases: frozenset[str] = frozenset(),
        general: Iterable[str] = (),
    ) -> None:
        guards = {term.casefold(): tuple(word.casefold() for word in words) for term, words in guarded.items()}
        self._folded = self._index({term.casefold(): keys for term, keys in folded.items()}, guards)
        self._exact = self._index(exact, {})
        self._exact_hint = re.compile("|".join(re.escape(term) for term in exact)) if exact else None
        # In a text written all in capitals a bare word ("ALL", "AML") may be an English word or an abbreviation;
        # only the exact terms with a sign in them ("B-ALL", "Ph+ ALL") are read there.
        self._shouted = self._index({term: keys for term, keys in exact.items() if not term.isalpha()}, {})
        # Words for leukemia in general are looked for only in a text that names no disease (most name ALL).
        self._general = self._index({term.casefold(): {GENERAL} for term in general}, {})
        self._seen: dict[str, frozenset[str]] = {}
        before, after = (
            "|".join(re.escape(word.casefold()).replace(r"\ ", r"[\s-]+") for word in words) for words in negation[:2]
        )
        # "With or Without Down Syndrome" names both: a negation word right after one of these is no negation.
        unless = "".join(rf"(?<!{re.escape(words.casefold())})" for words in negation[2])
        # A negation word, an optional article, then the term; or the term, then a negation word.
        self._negated_before = (
            re.compile(rf"{unless}(?<!\w)(?:{before})(?:[\s-]+(?:a|an|the))?[\s-]+$", re.IGNORECASE) if before else None
        )
        self._negated_after = re.compile(rf"[\s-]+(?:{after})(?!\w)", re.IGNORECASE) if after else None
        # Most texts hold no negation word at all: then no term found needs a look around it.
        self._negation_words = frozenset(_first_word(word.casefold()) for words in negation[:2] for word in words)
        self._diseases = diseases

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
        words = set(folded.translate(_SEPARATORS).split())
        negations = not words.isdisjoint(self._negation_words)
        self._scan(folded, words, self._folded, negations, found)
        hint = self._exact_hint
        if hint is not None and hint.search(text):
            index = self._shouted if text.isupper() and len(words) > 3 else self._exact
            self._scan(text, set(text.translate(_SEPARATORS).split()), index, negations, found)
        if found.isdisjoint(self._diseases):
            self._scan(folded, words, self._general, negations, found)
        return frozenset(found)

    def _scan(
        self, source: str, words: set[str], index: dict[str, tuple[_Term, ...]], negations: bool, found: set[str]
    ) -> None:
        for word in index.keys() & words:
            for term in index[word]:
                if term.text not in source:
                    continue
                if negations:
                    found |= self._found(term, source)
                elif term.pattern.search(source):
                    found |= term.keys

    def _found(self, term: _Term, source: str) -> frozenset[str]:
        """The term's keys where it stands plainly at least once; its negated keys where it stands only negated."""
        negated = False
        for hit in term.pattern.finditer(source):
            if not self._is_negated(source, hit.start(), hit.end()):
                return term.keys
            negated = True
        return frozenset(negated_key(key) for key in term.keys) if negated else frozenset()

    def _is_negated(self, source: str, start: int, end: int) -> bool:
        before, after = self._negated_before, self._negated_after
        return bool(
            (before is not None and before.search(source, max(0, start - 40), start))
            or (after is not None and after.match(source, end, end + 40))
        )


class StudyReader:
    """Reads studies with one compiled vocabulary (build it once per knowledge base)."""

    def __init__(self, vocabulary: TrialsFile) -> None:
        folded: dict[str, set[str]] = {}
        exact: dict[str, set[str]] = {}
        guarded: dict[str, tuple[str, ...]] = {}

        def add(terms: Iterable[str], key: str, table: dict[str, set[str]]) -> None:
            for term in terms:
                table.setdefault(term, set()).add(key)

        def guard(entry: Terms) -> None:  # a term listed in several entries keeps the guards of each
            for term in entry.terms:
                guarded[term] = tuple(dict.fromkeys((*guarded.get(term, ()), *entry.not_after)))

        disease = vocabulary.disease
        add(disease.all_terms.terms, ALL, folded)
        add(disease.all_terms.exact_case, ALL, exact)
        for related in disease.related:
            add(related.terms, related_key(related.id), folded)
            add(related.exact_case, related_key(related.id), exact)
        for other in disease.other:
            add(other.terms, other_key(other.id), folded)
            add(other.exact_case, other_key(other.id), exact)
        if vocabulary.after_treatment is not None:
            add(vocabulary.after_treatment.terms, AFTER_TREATMENT, folded)
            guard(vocabulary.after_treatment)
        for lineage in vocabulary.lineage:
            add(lineage.terms, lineage_key(lineage.value), folded)
            add(lineage.exact_case, lineage_key(lineage.value), exact)
        for state in vocabulary.disease_state:
            add(state.terms, state_key(state.value), folded)
            guard(state)
        for number in vocabulary.relapse_number:
            add(number.terms, relapse_number_key(number.number, number.or_later), folded)
            guard(number)
        for site in vocabulary.relapse_sites:
            add(site.terms, relapse_site_key(site.id), folded)
        for subgroup in vocabulary.subgroups:
            add(subgroup.terms, subgroup_key(subgroup.id), folded)
            add(subgroup.exact_case, subgroup_key(subgroup.id), exact)
            add(subgroup.negated_terms, negated_key(subgroup_key(subgroup.id)), folded)
            add(subgroup.not_only_with, wider_key(subgroup.id), folded)
            if subgroup.also_accepts is not None:
                add(subgroup.also_accepts.terms, also_key(subgroup.id), folded)
        risks = vocabulary.risk_groups
        for words in risks.words:
            add(words.terms, risk_key(words.value), folded)
            guard(words)
        negation = vocabulary.negation
        self._related_keys = frozenset(related_key(r.id) for r in disease.related)
        self._other_keys = frozenset(other_key(o.id) for o in disease.other)
        self._scanner = _Scanner(
            folded,
            exact,
            guarded,
            (negation.before, negation.after, negation.not_after) if negation is not None else ((), (), ()),
            self._related_keys | self._other_keys | {ALL},
            disease.general.terms if disease.general is not None else (),
        )
        self._kinds: dict[tuple[int, object], int] = {}
        self.numbering: object = self._kinds
        self._kinds_lock = threading.Lock()
        self._risk_keys = {risk_key(w.value): w.value for w in risks.words}
        self._risk_state = state_key(risks.read_when)
        self._ways_in = tuple((subgroup_key(g), g) for g in risks.other_ways_in)
        self._anywhere_keys = self._related_keys | self._other_keys | {ALL, GENERAL}
        self._disease_keys = frozenset(lineage_key(lin.value) for lin in vocabulary.lineage)
        self._state_keys = frozenset(state_key(s.value) for s in vocabulary.disease_state)
        self._all_keys = (
            self._state_keys
            | frozenset(relapse_number_key(n.number, n.or_later) for n in vocabulary.relapse_number)
            | frozenset(relapse_site_key(site.id) for site in vocabulary.relapse_sites)
            | {AFTER_TREATMENT}
        )
        self._subgroups = tuple(
            (
                subgroup_key(g.id),
                also_key(g.id),
                g.required_in,
                g.named_in,
                wider_key(g.id),
                negated_key(subgroup_key(g.id)),
            )
            for g in vocabulary.subgroups
        )
        self._subgroup_parts = frozenset(where for g in vocabulary.subgroups for where in (g.required_in, g.named_in))

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
        # The concepts of each combination of parts the subgroups read (a few combinations, many subgroups).
        within = {(): frozenset(), ("titles",): titles, ("titles", "keywords"): said, _ALL_PARTS: anywhere}
        parts = {"titles": titles, "keywords": keywords, "conditions": conditions}
        for where in self._subgroup_parts - within.keys():
            within[where] = frozenset().union(*(parts[part] for part in where))
        flags: list[bool] = []
        for key, also, required_in, named_in, wider, negated in self._subgroups:
            required, named = within[required_in], within[named_in]
            # Only what the subgroup criterion reads, so that studies that read alike share one kind.
            only = key in required and wider not in required
            flags += (only, only and also in required, key in named, negated in named and key not in named)
        risks, ways_in = self._risks(about_all, titles)
        kinds, kind = self._numbered(
            self._disease_signature(anywhere, titles),
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

    def _disease_signature(self, anywhere: frozenset[str], titles: frozenset[str]) -> object:
        """What the disease criterion reads: once ALL is named, other diseases and general words change nothing."""
        if ALL in anywhere:
            return anywhere & self._related_keys | {ALL}
        return anywhere & self._anywhere_keys, not titles.isdisjoint(self._other_keys)

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
