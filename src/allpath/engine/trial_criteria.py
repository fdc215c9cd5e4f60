"""The criteria of the trial matching that need no compiled vocabulary: the child as the matching sees it, the
verdict, subgroups, one age limit, and the risk group of newly diagnosed ALL (``trials.yaml`` ``risk_groups``).

Pure: each function compares what a child's data says with what a study's reading says and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from allpath.domain.results.common import DiseaseState
from allpath.domain.results.trials import CriterionName, Outcome, TrialCriterion, Verdict
from allpath.domain.trials import AgeLimit
from allpath.engine.trial_age import AgeOnSearch, LimitOutcome
from allpath.engine.trial_reading import StudyReading, also_key, negated_key, subgroup_key, wider_key
from allpath.knowledge.trials_schema import RiskGroups, RiskRule, Subgroup

_BEST_FIRST: dict[Outcome, int] = {"met": 0, "unknown": 1, "not_met": 2}


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
    # The source summary's risk group (risk_groups.yaml) and its words; None when the assessment gives none.
    risk_group: str | None = None
    risk_group_label: str | None = None
    # The sites of the latest relapse (record vocabulary: bone_marrow, cns, testis, other); None when not known.
    relapse_sites: frozenset[str] | None = None


def criterion(
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


# ---- subgroups ------------------------------------------------------------------------------------------------


def member(subgroup: Subgroup, patient: TrialPatient) -> bool | None:
    """Whether the child is in the subgroup; None when the record does not say."""
    side = subgroup.patient
    if side.genetics is not None:
        if patient.genetics is None:
            return None
        # A finding that needs its own test (Ph-like) is known only when the record names it.
        return True if side.genetics in patient.genetics else None if side.absent_unknown else False
    if side.field is not None:
        return patient.down_syndrome
    if side.needs is not None and side.needs not in patient.known_inputs:
        return None
    return side.population in patient.populations


def subgroup_criterion(subgroup: Subgroup, seen: StudyReading, is_member: bool | None) -> TrialCriterion | None:
    key = subgroup_key(subgroup.id)
    label = subgroup.label
    mine = None if is_member is None else label if is_member else f"not {label}"
    if seen.named(negated_key(key), subgroup.named_in) and not seen.named(key, subgroup.named_in):
        return _without(label, mine, is_member)
    only = subgroup.required_in and not seen.named(wider_key(subgroup.id), subgroup.required_in)
    if only and seen.named(key, subgroup.required_in):
        study = f"only {label}"
        if is_member:
            return criterion(
                "subgroup", mine, study, "met", f"The study is for children with {label}. {subgroup.reason}"
            )
        also = subgroup.also_accepts
        if also is not None and seen.named(also_key(subgroup.id), subgroup.required_in):
            study = f"{label}, or {also.label}"
            why = f"The study also takes {also.label}, which the record does not say."
            if is_member is None:
                why = f"The record does not say whether the child has {label}; the study is for it or {also.label}."
            return criterion("subgroup", mine, study, "unknown", why)
        if is_member is None:
            return criterion(
                "subgroup", None, study, "unknown", f"The study is for children with {label}; the record does not say."
            )
        return criterion("subgroup", mine, study, "not_met", f"The study is only for children with {label}.")
    if not is_member:
        return None
    if seen.named(key, subgroup.named_in):
        return criterion(
            "subgroup", mine, f"names {label}", "met", f"The study names children with {label} among those it takes."
        )
    return criterion(
        "subgroup",
        mine,
        None,
        "unknown",
        f"The registry entry does not say whether children with {label} can join; its eligibility text does.",
    )


def _without(label: str, mine: str | None, is_member: bool | None) -> TrialCriterion:
    """A study that names the subgroup only as excluded ("Non-Down Syndrome", "KMT2A-germline")."""
    study = f"without {label}"
    if is_member is None:
        why = f"The study's entry names children without {label}; the record does not say whether the child has it."
        return criterion("subgroup", None, study, "unknown", why)
    if is_member:
        return criterion("subgroup", mine, study, "not_met", f"The study's entry names children without {label}.")
    return criterion("subgroup", mine, study, "met", f"The study's entry names children without {label}.")


# ---- age ------------------------------------------------------------------------------------------------------


def age_limit(
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


# ---- risk group -----------------------------------------------------------------------------------------------


class RiskCriterion:
    """The study's risk group of newly diagnosed ALL against the child's (``trials.yaml`` ``risk_groups``)."""

    def __init__(self, groups: RiskGroups, subgroups: Iterable[Subgroup]) -> None:
        self._order = tuple(w.value for w in groups.words)
        self._labels = {w.value: w.label for w in groups.words}
        self._rules = {(r.patient, r.study): r for r in groups.rules}
        self._ways_in = {g.id: g for g in subgroups if g.id in groups.other_ways_in}
        self._read_when = groups.read_when
        self._lineages = frozenset(groups.compared_for)
        self._other_lineage = groups.other_lineage_reason

    def __call__(
        self, seen: StudyReading, patient: TrialPatient, members: Mapping[str, bool | None]
    ) -> TrialCriterion | None:
        """None when the study names no risk group of newly diagnosed ALL: it is not limited by one."""
        if not seen.risk_groups:
            return None
        wanted = " or ".join(self._labels[v] for v in self._order if v in seen.risk_groups) + " ALL at diagnosis"
        ways = [self._ways_in[g] for g in sorted(seen.risk_ways_in)]
        study = wanted + "".join(f", or {g.label}" for g in ways)
        mine = patient.risk_group_label
        for way in ways:
            if members.get(way.id):
                why = f"The study is for {wanted} or for children with {way.label}; the child has {way.label}."
                return criterion("risk_group", mine, study, "met", why)
        if patient.risk_group is None:
            return criterion("risk_group", None, study, "unknown", self._no_group(patient, wanted))
        if patient.lineage is not None and patient.lineage not in self._lineages:
            why = f"The study is for {wanted}; the child's risk group is {mine}. {self._other_lineage}"
            return criterion("risk_group", mine, study, "unknown", why)
        rules = [self._rules.get((patient.risk_group, v)) for v in self._order if v in seen.risk_groups]
        known = [r for r in rules if r is not None]
        if not known:
            why = f"The study is for {wanted}; allpath does not compare the child's group ({mine}) with it."
            return criterion("risk_group", mine, study, "unknown", why)
        best: RiskRule = min(known, key=lambda r: _BEST_FIRST[r.outcome])
        why = f"The study is for {wanted}; the child's risk group is {mine}. {best.reason}"
        if best.outcome == "not_met":
            open_ways = [w for w in ways if members.get(w.id) is None]
            if open_ways:
                label = open_ways[0].label
                why += f" The study also takes children with {label}; the record does not say if the child has it."
                return criterion("risk_group", mine, study, "unknown", why)
        return criterion("risk_group", mine, study, best.outcome, why)

    def _no_group(self, patient: TrialPatient, wanted: str) -> str:
        if patient.disease_state != self._read_when:
            return (
                f"The study is for {wanted}; allpath works out the risk group at diagnosis only for newly "
                "diagnosed leukemia."
            )
        return f"The study is for {wanted}; the record lacks the age or the white count that decide the risk group."
