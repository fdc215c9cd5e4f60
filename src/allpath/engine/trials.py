"""Which registry studies a child may join: one study against one child's record and assessment on one date.

Criterion by criterion (disease, lineage, disease state, subgroups, age on the search date, sex, overall status)
the child's data is compared with what the study's registry entry says, read with ``trials.yaml``. A criterion
the data cannot decide is ``unknown`` and says why; it is never guessed. The verdict is ``not_eligible`` when a
criterion is not met, ``possibly`` when none excludes but one is unknown, ``eligible`` otherwise. The study's
free-text eligibility criteria are returned as written, for the care team to read: "eligible" means that
nothing allpath can check stands in the way, not that the child fulfils every criterion of the study.

Pure: no clock, no registry, no network. The caller gives the date of the search.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from allpath.domain.record_model import PatientRecord
from allpath.domain.results.assessment import Assessment
from allpath.domain.results.common import DiseaseState
from allpath.domain.results.trials import CriterionName, Outcome, StatusFilter, TrialCriterion, TrialMatch, Verdict
from allpath.domain.trials import AgeLimit, Study
from allpath.engine.trial_age import AgeOnSearch, LimitOutcome, age_on, compare_maximum, compare_minimum
from allpath.engine.trial_reading import (
    ALL,
    StudyReader,
    StudyReading,
    also_key,
    lineage_key,
    relapse_number_key,
    related_key,
    state_key,
    subgroup_key,
)
from allpath.knowledge.trials_schema import Subgroup, TrialsFile

_DONE_KEPT = 20_000  # criteria kept per child: the distinct kinds of study of a large registry
_LINEAGE_WORDS = {"B": "B-cell ALL", "T": "T-cell ALL"}


@dataclass(frozen=True, slots=True)
class TrialPatient:
    """What the matching needs of a child, taken from the record and its assessment on the search date."""

    age: AgeOnSearch | None
    sex: str | None
    lineage: str | None
    disease_state: DiseaseState
    relapse_number: int | None
    genetics: frozenset[str] | None
    down_syndrome: bool | None
    populations: frozenset[str]
    known_inputs: frozenset[str]


def trial_patient(record: PatientRecord, assessment: Assessment, on: date) -> TrialPatient:
    """The child as the matching sees it on ``on``: the age on that date, the state and groups of the assessment."""
    relapse = assessment["relapse"]
    return TrialPatient(
        age=age_on(
            on, birth_date=record.birth_date, age_at_diagnosis=record.age_years, diagnosis_date=record.diagnosis_date
        ),
        sex=record.sex,
        lineage=record.immunophenotype,
        disease_state=assessment["disease_state"],
        relapse_number=relapse["number"] if relapse is not None else None,
        genetics=frozenset(record.genetics) if record.genetics is not None else None,
        down_syndrome=record.down_syndrome,
        populations=frozenset(assessment["populations"]),
        known_inputs=frozenset(name for name in ("age_years",) if getattr(record, name) is not None),
    )


def _criterion(
    name: CriterionName, patient: str | None, study: str | None, outcome: Outcome, explanation: str
) -> TrialCriterion:
    return {
        "criterion": name,
        "patient_value": patient,
        "study_value": study,
        "outcome": outcome,
        "explanation": explanation,
    }


def verdict_of(criteria: Iterable[TrialCriterion]) -> Verdict:
    outcomes = {c["outcome"] for c in criteria}
    if "not_met" in outcomes:
        return "not_eligible"
    if "unknown" in outcomes:
        return "possibly"
    return "eligible"


class TrialMatcher:
    """Matches children against studies with one knowledge base's trial vocabulary (build it once)."""

    def __init__(self, vocabulary: TrialsFile) -> None:
        self._vocabulary = vocabulary
        self._reader = StudyReader(vocabulary)
        self._state_labels = {s.value: s.label for s in vocabulary.disease_state}
        self._rules = {(r.patient, r.study): r for r in vocabulary.state_rules}
        # The keys of the vocabulary, worked out once: a search reads thousands of studies.
        self._related = tuple((related_key(r.id), r.label) for r in vocabulary.disease.related)
        self._lineages = tuple((lineage_key(lin.value), lin.value) for lin in vocabulary.lineage)
        self._states = tuple((state_key(s.value), s.value) for s in vocabulary.disease_state)
        self._relapse_limits = tuple((relapse_number_key(n.number), n) for n in vocabulary.relapse_number)
        self._last: tuple[TrialPatient, tuple[bool | None, ...]] | None = None
        self._done_patient: TrialPatient | None = None
        self._done: dict[tuple[object, ...], tuple[TrialCriterion, ...]] = {}

    def read(self, study: Study) -> StudyReading:
        return self._reader.read(study)

    def match(
        self, study: Study, patient: TrialPatient, status: StatusFilter, reading: StudyReading | None = None
    ) -> TrialMatch:
        """The verdict of ``study`` for ``patient``; ``reading`` may be given when the study was read before.

        The criterion dicts are shared between the results of one child's search (studies with the same age
        limits get the same age criterion): read them, do not change them."""
        seen = reading if reading is not None else self._reader.read(study)
        eligibility = study.eligibility
        # Each criterion depends on the child and a few values of the study only, and those values repeat across a
        # registry (the same age limits, statuses, condition words): each is worked out once per child.
        done = self._done_for(patient)
        words_key = (1, seen.signature, study.primary_purpose)
        words = done.get(words_key)
        if words is None:
            words = done[words_key] = (
                self._disease(seen),
                self._lineage(seen, patient),
                self._state(study, seen, patient),
                *self._subgroups(seen, self._memberships(patient)),
            )
        age_key = (2, eligibility.minimum_age_text, eligibility.maximum_age_text)
        age = done.get(age_key)
        if age is None:
            age = done[age_key] = (self._age(study, patient),)
        rest_key = (3, eligibility.sex, study.overall_status, status)
        rest = done.get(rest_key)
        if rest is None:
            rest = done[rest_key] = (self._sex(study, patient), self._status(study, status))
        criteria = [*words, *age, *rest]
        return {
            "nct_id": study.nct_id,
            "org_study_id": study.org_study_id,
            "title": study.title,
            "overall_status": study.overall_status,
            "verdict": verdict_of(criteria),
            "criteria": criteria,
            "eligibility_text": eligibility.criteria_text,
        }

    def _done_for(self, patient: TrialPatient) -> dict[tuple[object, ...], tuple[TrialCriterion, ...]]:
        if self._done_patient is not patient or len(self._done) > _DONE_KEPT:
            self._done_patient = patient
            self._done = {}
        return self._done

    # ---- criteria -------------------------------------------------------------------------------------------

    def _disease(self, seen: StudyReading) -> TrialCriterion:
        related = [label for key, label in self._related if key in seen.anywhere]
        also = f" (it also takes {', '.join(related)})" if related else ""
        if ALL in seen.anywhere:
            return _criterion(
                "disease", "ALL", "ALL" + also, "met", "The study names acute lymphoblastic leukemia" + also + "."
            )
        if related:
            return _criterion(
                "disease", "ALL", ", ".join(related), "not_met", f"The study is for {', '.join(related)}, not for ALL."
            )
        return _criterion(
            "disease",
            "ALL",
            None,
            "unknown",
            "The registry entry does not name ALL; its eligibility text says whom it takes.",
        )

    def _lineage(self, seen: StudyReading, patient: TrialPatient) -> TrialCriterion:
        named = [value for key, value in self._lineages if key in seen.about_disease]
        words = _LINEAGE_WORDS.get(patient.lineage or "")
        if len(named) != 1:
            study = "B-cell and T-cell ALL" if named else None
            why = "The study names both B-cell and T-cell ALL." if named else "The study names no lineage."
            return _criterion("lineage", words, study, "met", why)
        wanted = named[0]
        if patient.lineage is None:
            return _criterion(
                "lineage",
                None,
                _LINEAGE_WORDS[wanted],
                "unknown",
                f"The study is for {_LINEAGE_WORDS[wanted]}; the record does not say the lineage.",
            )
        if patient.lineage == wanted:
            return _criterion(
                "lineage", words, _LINEAGE_WORDS[wanted], "met", f"The study is for {_LINEAGE_WORDS[wanted]}."
            )
        return _criterion(
            "lineage",
            words,
            _LINEAGE_WORDS[wanted],
            "not_met",
            f"The study is for {_LINEAGE_WORDS[wanted]}, and the child has {words}.",
        )

    def _state(self, study: Study, seen: StudyReading, patient: TrialPatient) -> TrialCriterion:
        states = [value for key, value in self._states if key in seen.about_all]
        mine = self._state_labels.get(patient.disease_state, patient.disease_state)
        if not states:
            purposes = self._vocabulary.any_state_purposes
            if study.primary_purpose in purposes.purposes:
                return _criterion("disease_state", mine, "any (supportive care)", "met", purposes.reason)
            return _criterion(
                "disease_state",
                mine,
                None,
                "unknown",
                "The registry entry names no disease state; its eligibility text says which children it takes.",
            )
        words = " or ".join(self._state_labels[s] for s in states)
        if patient.disease_state in states:
            return self._relapse_number(seen, patient, mine, words)
        rules = [self._rules.get((patient.disease_state, s)) for s in states]
        unknown = [r for r in rules if r is not None and r.outcome == "unknown"]
        if unknown:
            return _criterion("disease_state", mine, words, "unknown", unknown[0].reason)
        reasons = [r.reason for r in rules if r is not None]
        why = reasons[0] if reasons else f"The study is for {words} ALL."
        return _criterion("disease_state", mine, words, "not_met", why)

    def _relapse_number(self, seen: StudyReading, patient: TrialPatient, mine: str, words: str) -> TrialCriterion:
        rule = self._rules.get((patient.disease_state, patient.disease_state))
        met_reason = rule.reason if rule is not None else f"The study is for {words} ALL."
        if patient.disease_state != "relapsed":
            return _criterion("disease_state", mine, words, "met", met_reason)
        for key, limit in self._relapse_limits:
            if key not in seen.about_all:
                continue
            study_words = f"{words} (relapse number {limit.number} only)"
            if patient.relapse_number is None:
                return _criterion(
                    "disease_state",
                    mine,
                    study_words,
                    "unknown",
                    f"{limit.reason} The record does not say which relapse this is.",
                )
            if patient.relapse_number != limit.number:
                return _criterion(
                    "disease_state", f"{mine} (relapse {patient.relapse_number})", study_words, "not_met", limit.reason
                )
            return _criterion(
                "disease_state", f"{mine} (relapse {patient.relapse_number})", study_words, "met", limit.reason
            )
        return _criterion("disease_state", mine, words, "met", met_reason)

    def _memberships(self, patient: TrialPatient) -> tuple[bool | None, ...]:
        # Worked out once per child: the same child is matched against every study of a search.
        if self._last is None or self._last[0] is not patient:
            self._last = (patient, tuple(_member(subgroup, patient) for subgroup in self._vocabulary.subgroups))
        return self._last[1]

    def _subgroups(self, seen: StudyReading, members: tuple[bool | None, ...]) -> list[TrialCriterion]:
        found: list[TrialCriterion] = []
        for subgroup, member in zip(self._vocabulary.subgroups, members, strict=True):
            criterion = _subgroup(subgroup, seen, member)
            if criterion is not None:
                found.append(criterion)
        return found

    def _age(self, study: Study, patient: TrialPatient) -> TrialCriterion:
        eligibility = study.eligibility
        limits = f"{eligibility.minimum_age_text or 'no minimum'} to {eligibility.maximum_age_text or 'no maximum'}"
        checks: list[tuple[str, LimitOutcome]] = []
        for text, limit, compare, word in (
            (eligibility.minimum_age_text, eligibility.minimum_age, compare_minimum, "minimum"),
            (eligibility.maximum_age_text, eligibility.maximum_age, compare_maximum, "maximum"),
        ):
            checks.append(_age_limit(word, text, limit, patient.age, compare))
        outcomes = {outcome for _, outcome in checks}
        outcome: Outcome = "not_met" if "not_met" in outcomes else "unknown" if "unknown" in outcomes else "met"
        why = " ".join(text for text, _ in checks)
        return _criterion("age", patient.age.in_words() if patient.age else None, limits, outcome, why)

    def _sex(self, study: Study, patient: TrialPatient) -> TrialCriterion:
        wanted = study.eligibility.sex
        if wanted is None or wanted == "ALL":
            said = "all" if wanted == "ALL" else None
            return _criterion("sex", patient.sex, said, "met", "The study has no limit on sex.")
        if patient.sex is None:
            return _criterion(
                "sex",
                None,
                wanted.lower(),
                "unknown",
                f"The study takes only {wanted.lower()} participants; the record does not say the sex.",
            )
        outcome: Outcome = "met" if patient.sex == wanted.lower() else "not_met"
        return _criterion(
            "sex", patient.sex, wanted.lower(), outcome, f"The study takes only {wanted.lower()} participants."
        )

    def _status(self, study: Study, status: StatusFilter) -> TrialCriterion:
        statuses = self._vocabulary.statuses
        current = study.overall_status
        said = statuses.labels.get(current, current.lower().replace("_", " ")) if current else None
        if status == "any":
            return _criterion("status", None, said, "met", "Studies of every status were asked for.")
        if current is None:
            return _criterion("status", None, None, "unknown", "The registry entry gives no recruitment status.")
        allowed = statuses.recruiting if status == "recruiting" else statuses.open
        wanted = " or ".join(statuses.labels[s] for s in allowed)
        if current in allowed:
            return _criterion("status", None, said, "met", f"The study is {said}.")
        return _criterion(
            "status", None, said, "not_met", f"The study is {said}; the search asked for studies {wanted}."
        )


def _member(subgroup: Subgroup, patient: TrialPatient) -> bool | None:
    side = subgroup.patient
    if side.genetics is not None:
        return side.genetics in patient.genetics if patient.genetics is not None else None
    if side.field is not None:
        return patient.down_syndrome
    if side.needs is not None and side.needs not in patient.known_inputs:
        return None
    return side.population in patient.populations


def _subgroup(subgroup: Subgroup, seen: StudyReading, member: bool | None) -> TrialCriterion | None:
    key = subgroup_key(subgroup.id)
    label = subgroup.label
    mine = None if member is None else label if member else f"not {label}"
    if subgroup.required_in and seen.named(key, subgroup.required_in):
        study = f"only {label}"
        if member:
            return _criterion(
                "subgroup", mine, study, "met", f"The study is for children with {label}. {subgroup.reason}"
            )
        also = subgroup.also_accepts
        if also is not None and seen.named(also_key(subgroup.id), subgroup.required_in):
            study = f"{label}, or {also.label}"
            why = f"The study also takes {also.label}, which the record does not say."
            if member is None:
                why = f"The record does not say whether the child has {label}; the study is for it or {also.label}."
            return _criterion("subgroup", mine, study, "unknown", why)
        if member is None:
            return _criterion(
                "subgroup", None, study, "unknown", f"The study is for children with {label}; the record does not say."
            )
        return _criterion("subgroup", mine, study, "not_met", f"The study is only for children with {label}.")
    if not member:
        return None
    if seen.named(key, subgroup.named_in):
        return _criterion(
            "subgroup", mine, f"names {label}", "met", f"The study names children with {label} among those it takes."
        )
    return _criterion(
        "subgroup",
        mine,
        None,
        "unknown",
        f"The registry entry does not say whether children with {label} can join; its eligibility text does.",
    )


def _age_limit(
    word: str,
    text: str | None,
    limit: AgeLimit | None,
    age: AgeOnSearch | None,
    compare: Callable[[AgeOnSearch, AgeLimit], LimitOutcome],
) -> tuple[str, LimitOutcome]:
    if limit is None:
        if text is None or text.upper() == "N/A":
            return f"No {word} age.", "met"
        return f"The {word} age '{text}' could not be read.", "unknown"
    if age is None:
        return f"The {word} age is {limit.text}; the record has neither the birth date nor the age.", "unknown"
    outcome = compare(age, limit)
    if outcome == "met":
        return f"Within the {word} age of {limit.text}.", "met"
    if outcome == "not_met":
        side = "younger than" if word == "minimum" else "older than"
        return f"The child is {side} the {word} age of {limit.text}.", "not_met"
    return f"The child's age is too uncertain to compare with the {word} age of {limit.text}.", "unknown"
