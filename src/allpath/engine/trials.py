"""Which registry studies a child may join: one study against one child's record and assessment on one date.

Criterion by criterion (disease, lineage, disease state, the risk group of newly diagnosed ALL, subgroups, age on
the search date, sex, overall status) the child's data is compared with what the study's registry entry says,
read with ``trials.yaml``. A criterion the data cannot decide is ``unknown`` and says why; it is never guessed.
The verdict is ``not_eligible`` when a criterion is not met, ``possibly`` when none excludes but one is unknown,
``eligible`` otherwise. The study's free-text eligibility criteria are returned as written, for the care team to
read: "eligible" means that nothing allpath can check (the entry's titles, keywords, conditions, age and sex
limits and status) stands in the way, not that the child fulfils every criterion of the study.

A ``TrialMatcher`` holds one knowledge base's compiled vocabulary and may be shared (one per registry and
process); ``matcher.search(child, status)`` starts one child's search, whose own memo keeps the criteria worked
out for that child. Nothing of a search is kept in the matcher, so searches in several threads need no lock.

Pure: no clock, no registry, no network. The caller gives the date of the search.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from allpath.domain.record_model import PatientRecord
from allpath.domain.results.assessment import Assessment
from allpath.domain.results.trials import Outcome, StatusFilter, TrialCriterion, TrialMatch, Verdict
from allpath.domain.trials import Study
from allpath.engine.trial_age import LimitOutcome, age_on, compare_maximum, compare_minimum
from allpath.engine.trial_criteria import (
    RiskCriterion,
    TrialPatient,
    age_limit,
    criterion,
    member,
    subgroup_criterion,
    verdict_of,
)
from allpath.engine.trial_reading import (
    AFTER_TREATMENT,
    ALL,
    GENERAL,
    StudyReader,
    StudyReading,
    lineage_key,
    other_key,
    relapse_number_key,
    relapse_site_key,
    related_key,
    state_key,
)
from allpath.knowledge.trials_schema import TrialsFile

__all__ = ["ChildSearch", "TrialMatcher", "TrialPatient", "trial_patient", "verdict_of"]

_LINEAGE_WORDS = {"B": "B-cell ALL", "T": "T-cell ALL"}
_RANK: dict[Outcome, int] = {"met": 0, "unknown": 1, "not_met": 2}
_VERDICT_OF_RANK: tuple[Verdict, Verdict, Verdict] = ("eligible", "possibly", "not_eligible")
# Criteria worked out once per search, with the rank of their worst outcome (the verdict is the worst of all).
_Part = tuple[tuple[TrialCriterion, ...], int]


def _part(*criteria: TrialCriterion) -> _Part:
    return criteria, max((_RANK[c["outcome"]] for c in criteria), default=0)


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
        relapse_sites=frozenset(relapse["sites"]) if relapse is not None and relapse["sites"] else None,
        genetics=frozenset(record.genetics) if record.genetics is not None else None,
        down_syndrome=record.down_syndrome,
        populations=frozenset(assessment["populations"]),
        known_inputs=frozenset(name for name in ("age_years",) if getattr(record, name) is not None),
        risk_group=assessment["risk_group"],
        risk_group_label=assessment["risk_group_label"],
    )


class TrialMatcher:
    """Reads studies and starts searches with one knowledge base's trial vocabulary (build it once, share it)."""

    def __init__(self, vocabulary: TrialsFile) -> None:
        self._reader = StudyReader(vocabulary)
        self.criteria = _Criteria(vocabulary)

    def read(self, study: Study) -> StudyReading:
        return self._reader.read(study)

    @property
    def numbering(self) -> object:
        """What the readings of this matcher carry as ``numbered_by``."""
        return self._reader.numbering

    def search(self, patient: TrialPatient, status: StatusFilter) -> ChildSearch:
        """One child's search: match it against each study with ``ChildSearch.match``."""
        return ChildSearch(self, patient, status)

    def match(
        self, study: Study, patient: TrialPatient, status: StatusFilter, reading: StudyReading | None = None
    ) -> TrialMatch:
        """One study alone; a search of many studies is faster through ``search``."""
        return self.search(patient, status).match(study, reading)


class ChildSearch:
    """One child's search against many studies. Each criterion depends on the child and a few values of the study
    only, and those values repeat across a registry (the same age limits, statuses, condition words): each is
    worked out once per search and kept in this search's memo. Use one search in one thread."""

    __slots__ = (
        "_ages",
        "_builders",
        "_criteria",
        "_memos",
        "_numbering",
        "_read",
        "_rests",
        "_words",
        "patient",
        "status",
    )

    def __init__(self, matcher: TrialMatcher, patient: TrialPatient, status: StatusFilter) -> None:
        criteria = self._criteria = matcher.criteria
        self._read = matcher.read
        self._numbering = matcher.numbering
        self.patient = patient
        self.status = status
        members = criteria.memberships(patient)
        # The word criteria, in the order of ``StudyReading.kinds``, each worked out once per kind of study.
        builders: tuple[Callable[[Study, StudyReading], tuple[TrialCriterion, ...]], ...] = (
            lambda study, seen: (criteria.disease(seen),),
            lambda study, seen: (criteria.lineage(seen, patient),),
            lambda study, seen: (criteria.state(study, seen, patient),),
            lambda study, seen: criteria.risk(seen, patient, members),
            lambda study, seen: criteria.subgroups(seen, members),
        )
        self._builders = builders
        self._memos: tuple[dict[int, _Part], ...] = tuple({} for _ in builders)
        self._words: dict[int, _Part] = {}  # the word criteria of a combination of kinds
        self._ages: dict[tuple[str | None, str | None], _Part] = {}
        self._rests: dict[tuple[str | None, str | None], _Part] = {}

    def match(self, study: Study, reading: StudyReading | None = None) -> TrialMatch:
        """The verdict of ``study`` for this child; ``reading`` may be given when the study was read before by
        the same matcher (a reading of another matcher is read again: its numbers of kinds mean nothing here).

        The criterion dicts are shared between the results of one search (studies with the same age limits get
        the same age criterion): read them, do not change them."""
        seen = reading if reading is not None and reading.numbered_by is self._numbering else self._read(study)
        eligibility = study.eligibility
        words = self._words.get(seen.kind)
        if words is None:
            words = self._words[seen.kind] = self._words_of(study, seen)
        age_key = (eligibility.minimum_age_text, eligibility.maximum_age_text)
        age = self._ages.get(age_key)
        if age is None:
            age = self._ages[age_key] = _part(self._criteria.age(study, self.patient))
        rest_key = (eligibility.sex, study.overall_status)
        rest = self._rests.get(rest_key)
        if rest is None:
            rest = self._rests[rest_key] = _part(
                self._criteria.sex(study, self.patient), self._criteria.status(study, self.status)
            )
        return {
            "nct_id": study.nct_id,
            "org_study_id": study.org_study_id,
            "title": study.title,
            "overall_status": study.overall_status,
            "verdict": _VERDICT_OF_RANK[max(words[1], age[1], rest[1])],
            "criteria": [*words[0], *age[0], *rest[0]],
            "eligibility_text": eligibility.criteria_text,
        }

    def _words_of(self, study: Study, seen: StudyReading) -> _Part:
        found: list[TrialCriterion] = []
        worst = 0
        for memo, build, kind in zip(self._memos, self._builders, seen.kinds, strict=True):
            part = memo.get(kind)
            if part is None:
                part = memo[kind] = _part(*build(study, seen))
            found += part[0]
            worst = max(worst, part[1])
        return tuple(found), worst


class _Criteria:
    """The criteria with the vocabulary's keys worked out once: a search reads thousands of studies. Holds
    nothing of a child or a search."""

    def __init__(self, vocabulary: TrialsFile) -> None:
        self._vocabulary = vocabulary
        self._state_labels = {s.value: s.label for s in vocabulary.disease_state}
        self._rules = {(r.patient, r.study): r for r in vocabulary.state_rules}
        self._related = tuple((related_key(r.id), r.label) for r in vocabulary.disease.related)
        self._others = tuple((other_key(o.id), o.label) for o in vocabulary.disease.other)
        self._lineages = tuple((lineage_key(lin.value), lin.value) for lin in vocabulary.lineage)
        self._states = tuple((state_key(s.value), s.value) for s in vocabulary.disease_state)
        self._relapse_limits = tuple((relapse_number_key(n.number, n.or_later), n) for n in vocabulary.relapse_number)
        self._risk = RiskCriterion(vocabulary.risk_groups, vocabulary.subgroups)
        self._relapse_sites = tuple((relapse_site_key(site.id), site) for site in vocabulary.relapse_sites)

    def memberships(self, patient: TrialPatient) -> dict[str, bool | None]:
        """The child's membership of each subgroup, worked out once per search."""
        return {subgroup.id: member(subgroup, patient) for subgroup in self._vocabulary.subgroups}

    def risk(
        self, seen: StudyReading, patient: TrialPatient, members: dict[str, bool | None]
    ) -> tuple[TrialCriterion, ...]:
        """The risk group of newly diagnosed ALL; none when the study names none."""
        found = self._risk(seen, patient, members)
        return (found,) if found is not None else ()

    def subgroups(self, seen: StudyReading, members: dict[str, bool | None]) -> tuple[TrialCriterion, ...]:
        found = (subgroup_criterion(g, seen, members[g.id]) for g in self._vocabulary.subgroups)
        return tuple(one for one in found if one is not None)

    def disease(self, seen: StudyReading) -> TrialCriterion:
        related = [label for key, label in self._related if key in seen.anywhere]
        also = f" (it also takes {', '.join(related)})" if related else ""
        if ALL in seen.anywhere:
            return criterion(
                "disease", "ALL", "ALL" + also, "met", "The study names acute lymphoblastic leukemia" + also + "."
            )
        if related:
            return criterion(
                "disease", "ALL", ", ".join(related), "not_met", f"The study is for {', '.join(related)}, not for ALL."
            )
        others = [label for key, label in self._others if key in seen.anywhere]
        # Another disease in the titles is what the study is for, whatever general words its conditions add.
        if others and (GENERAL not in seen.anywhere or any(key in seen.titles for key, _ in self._others)):
            named = ", ".join(others)
            return criterion("disease", "ALL", named, "not_met", f"The study is for {named}, not for ALL.")
        if others:
            named = ", ".join(others)
            why = f"The study names {named} and leukemia or cancer in general, not ALL; its eligibility text says more."
            return criterion("disease", "ALL", named, "unknown", why)
        return criterion(
            "disease",
            "ALL",
            None,
            "unknown",
            "The registry entry does not name ALL; its eligibility text says whom it takes.",
        )

    def lineage(self, seen: StudyReading, patient: TrialPatient) -> TrialCriterion:
        named = [value for key, value in self._lineages if key in seen.about_disease]
        words = _LINEAGE_WORDS.get(patient.lineage or "")
        if len(named) != 1:
            study = "B-cell and T-cell ALL" if named else None
            why = "The study names both B-cell and T-cell ALL." if named else "The study names no lineage."
            return criterion("lineage", words, study, "met", why)
        wanted = _LINEAGE_WORDS[named[0]]
        if patient.lineage is None:
            return criterion(
                "lineage", None, wanted, "unknown", f"The study is for {wanted}; the record does not say the lineage."
            )
        if patient.lineage == named[0]:
            return criterion("lineage", words, wanted, "met", f"The study is for {wanted}.")
        return criterion("lineage", words, wanted, "not_met", f"The study is for {wanted}, and the child has {words}.")

    def state(self, study: Study, seen: StudyReading, patient: TrialPatient) -> TrialCriterion:
        states = [value for key, value in self._states if key in seen.about_all]
        mine = self._state_labels.get(patient.disease_state, patient.disease_state)
        after = self._vocabulary.after_treatment
        if after is not None and AFTER_TREATMENT in seen.about_all and not set(after.unless_states) & set(states):
            return criterion("disease_state", mine, "after treatment (survivors)", "not_met", after.reason)
        if not states:
            purposes = self._vocabulary.any_state_purposes
            if study.primary_purpose in purposes.purposes:
                return criterion("disease_state", mine, "any (supportive care)", "met", purposes.reason)
            return criterion(
                "disease_state",
                mine,
                None,
                "unknown",
                "The registry entry names no disease state; its eligibility text says which children it takes.",
            )
        words = " or ".join(self._state_labels[s] for s in states)
        if patient.disease_state in states:
            return self._relapse_site(seen, patient, self._relapse_number(seen, patient, mine, words))
        rules = [self._rules.get((patient.disease_state, s)) for s in states]
        unknown = [r for r in rules if r is not None and r.outcome == "unknown"]
        if unknown:
            return criterion("disease_state", mine, words, "unknown", unknown[0].reason)
        reasons = [r.reason for r in rules if r is not None]
        why = reasons[0] if reasons else f"The study is for {words} ALL."
        return criterion("disease_state", mine, words, "not_met", why)

    def _relapse_number(self, seen: StudyReading, patient: TrialPatient, mine: str, words: str) -> TrialCriterion:
        rule = self._rules.get((patient.disease_state, patient.disease_state))
        met_reason = rule.reason if rule is not None else f"The study is for {words} ALL."
        if patient.disease_state != "relapsed":
            return criterion("disease_state", mine, words, "met", met_reason)
        limits = [limit for key, limit in self._relapse_limits if key in seen.about_all]
        if limits:
            said = " or ".join(f"{n.number}{' or later' if n.or_later else ''}" for n in limits)
            study_words = f"{words} (relapse number {said} only)"
            reasons = " ".join(dict.fromkeys(n.reason for n in limits))
            number = patient.relapse_number
            if number is None:
                why = f"{reasons} The record does not say which relapse this is."
                return criterion("disease_state", mine, study_words, "unknown", why)
            taken = any(number == n.number or (n.or_later and number > n.number) for n in limits)
            outcome: Outcome = "met" if taken else "not_met"
            return criterion("disease_state", f"{mine} (relapse {number})", study_words, outcome, reasons)
        # Matched on the structured data only: the free text may still take only a later relapse (ELIANA).
        unnamed = self._vocabulary.relapse_number_unnamed.reason
        return criterion("disease_state", mine, words, "met", f"{met_reason} {unnamed}")

    def _relapse_site(self, seen: StudyReading, patient: TrialPatient, found: TrialCriterion) -> TrialCriterion:
        """The relapse number's criterion, narrowed by where the study says the relapse is."""
        sites = [site for key, site in self._relapse_sites if key in seen.about_all]
        if patient.disease_state != "relapsed" or not sites:
            return found
        mine = patient.relapse_sites
        wanted = " or ".join(site.label for site in sites)
        reasons = " ".join(site.reason for site in sites)
        outcome: Outcome
        if mine is None:
            outcome, why = "unknown", f"{reasons} The record does not say where the relapse was."
        else:
            fits = any(mine <= set(s.sites) if s.only else bool(mine & set(s.sites)) for s in sites)
            outcome, why = ("met" if fits else "not_met"), reasons
        worst = max(found["outcome"], outcome, key=_RANK.__getitem__)
        return criterion(
            "disease_state",
            found["patient_value"],
            f"{found['study_value']}, {wanted}",
            worst,
            f"{found['explanation']} {why}",
        )

    def age(self, study: Study, patient: TrialPatient) -> TrialCriterion:
        eligibility = study.eligibility
        limits = f"{eligibility.minimum_age_text or 'no minimum'} to {eligibility.maximum_age_text or 'no maximum'}"
        checks: list[tuple[str, LimitOutcome]] = [
            age_limit("minimum", eligibility.minimum_age_text, eligibility.minimum_age, patient.age, compare_minimum),
            age_limit("maximum", eligibility.maximum_age_text, eligibility.maximum_age, patient.age, compare_maximum),
        ]
        outcomes = {outcome for _, outcome in checks}
        outcome: Outcome = "not_met" if "not_met" in outcomes else "unknown" if "unknown" in outcomes else "met"
        why = " ".join(text for text, _ in checks)
        return criterion("age", patient.age.in_words() if patient.age else None, limits, outcome, why)

    def sex(self, study: Study, patient: TrialPatient) -> TrialCriterion:
        wanted = study.eligibility.sex
        if wanted is None or wanted == "ALL":
            said = "all" if wanted == "ALL" else None
            return criterion("sex", patient.sex, said, "met", "The study has no limit on sex.")
        if patient.sex is None:
            return criterion(
                "sex",
                None,
                wanted.lower(),
                "unknown",
                f"The study takes only {wanted.lower()} participants; the record does not say the sex.",
            )
        outcome: Outcome = "met" if patient.sex == wanted.lower() else "not_met"
        return criterion(
            "sex", patient.sex, wanted.lower(), outcome, f"The study takes only {wanted.lower()} participants."
        )

    def status(self, study: Study, status: StatusFilter) -> TrialCriterion:
        statuses = self._vocabulary.statuses
        current = study.overall_status
        said = statuses.labels.get(current, current.lower().replace("_", " ")) if current else None
        if status == "any":
            return criterion("status", None, said, "met", "Studies of every status were asked for.")
        if current is None:
            return criterion("status", None, None, "unknown", "The registry entry gives no recruitment status.")
        allowed = statuses.recruiting if status == "recruiting" else statuses.open
        wanted = " or ".join(statuses.labels[s] for s in allowed)
        if current in allowed:
            return criterion("status", None, said, "met", f"The study is {said}.")
        why = f"The study is {said}; the search asked for studies {wanted}."
        return criterion("status", None, said, "not_met", why)
