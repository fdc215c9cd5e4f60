"""The treatment roadmap: which regimen of the knowledge base fits the child, its phases with their lengths,
the response checkpoints, the end of therapy, and, from a start date, a dated calendar.

Dates assume that every phase starts on time. Where the sources give no length for a phase, that phase and
every later one stay undated (the end of therapy can still be dated by the total-duration rule); where they
give no schedule for the child's group, there is no roadmap and the answer says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from allpath.domain.record_model import PatientRecord
from allpath.domain.results import Assessment, Checkpoint, ConfidenceWord, Roadmap, RoadmapNote, RoadmapPhase
from allpath.engine.explain import CONFIDENCE_WORDS, evidence_of, source_of
from allpath.knowledge import therapy_schema as ts
from allpath.knowledge.loader import KnowledgeBase

WEEK_DAYS = 7


@dataclass(frozen=True)
class Selection:
    """The regimen for a child, or why there is none; ``provisional`` when the choice may still change."""

    regimen: ts.RegimenSpec | None
    not_covered: tuple[str, ...]
    provisional: bool
    missing: tuple[str, ...]


def select_regimen(record: PatientRecord, assessment: Assessment, kb: KnowledgeBase) -> Selection:
    selection = kb.therapy.regimens.selection
    reasons: list[str] = []
    state = assessment["disease_state"]
    if state != "newly_diagnosed":
        reasons.append(selection.not_covered[state])
    if record.immunophenotype == "T":
        reasons.append(selection.not_covered["t_cell"])
    reasons += [selection.not_covered[p] for p in selection.excluded_populations if p in assessment["populations"]]
    if reasons:
        return Selection(None, tuple(dict.fromkeys(reasons)), False, ())
    missing = tuple(assessment["missing"])
    if record.immunophenotype is None:
        return Selection(None, (selection.not_covered["not_b_cell"],), True, ("immunophenotype", *missing))
    group = assessment["risk_group"]
    if group is None:
        return Selection(None, (), True, missing)
    for regimen in kb.therapy.regimens.regimens:
        if group in regimen.risk_groups:
            # A provisional risk group (for example before the end-of-induction MRD) can still rise, and a
            # child whose populations are not all known may still turn out to be outside every regimen.
            return Selection(regimen, (), bool(assessment["provisional"]), missing)
    return Selection(None, (selection.not_covered.get(group, ""),), bool(assessment["provisional"]), missing)


def add_years(day: date, years: float) -> date:
    """The same calendar day ``years`` later (whole years; 29 February becomes 28 February)."""
    whole = int(years)
    if whole != years:
        return day + timedelta(days=round(years * 365.25))
    try:
        return day.replace(year=day.year + whole)
    except ValueError:
        return day.replace(year=day.year + whole, day=28)


def _phase_days(phase: ts.PhaseSpec) -> int | None:
    return round(phase.weeks * WEEK_DAYS) if phase.weeks is not None else None


def _confidence(phase: ts.PhaseSpec) -> ConfidenceWord:
    if phase.confidence is not None:
        return CONFIDENCE_WORDS[phase.confidence]
    return CONFIDENCE_WORDS["M" if any(e.confidence == "M" for e in phase.evidence) else "H"]


def build_roadmap(
    record: PatientRecord, assessment: Assessment, kb: KnowledgeBase, start: date | None = None
) -> Roadmap:
    """The roadmap for ``record`` (already assessed as ``assessment``); dated from ``start`` or the record's
    ``treatment_start_date``, undated when neither is known."""
    chosen = select_regimen(record, assessment, kb)
    start = start or record.treatment_start_date
    regimens = kb.therapy.regimens
    notes: list[RoadmapNote] = [
        {
            "id": note.id,
            "text": note.text,
            "confidence": CONFIDENCE_WORDS[note.confidence],
            "evidence": evidence_of(kb, note.evidence),
        }
        for note in regimens.selection.notes
        if kb.therapy.note_applies(note, assessment["populations"])
    ]
    result: Roadmap = {
        "regimen": None,
        "not_covered": list(chosen.not_covered),
        "provisional": chosen.provisional,
        "missing": list(chosen.missing),
        "start_date": start.isoformat() if start else None,
        "phases": [],
        "checkpoints": [],
        "end_of_therapy": None,
        "notes": notes,
        "disclaimer": kb.text.disclaimer,
    }
    regimen = chosen.regimen
    if regimen is None:
        return result
    if start is None:
        result["missing"].append("treatment_start_date")
    result["regimen"] = {
        "id": regimen.id,
        "label": regimen.label,
        "source": source_of(kb, regimen.cite),
        "evidence": evidence_of(kb, regimen.evidence),
    }
    phases, starts = _phases(kb, regimen, start)
    duration = regimens.total_duration
    anchor = starts.get(duration.phase)
    # The treatment lasts N years from the anchor phase's first day: its last day is the day before the
    # anniversary (the same meaning as the record's end_of_therapy_date, the last day of treatment).
    end_of_therapy = add_years(anchor, duration.years_from_phase_start) - timedelta(days=1) if anchor else None
    for phase in phases:
        if phase["until"] == "total_duration" and end_of_therapy:
            last = end_of_therapy
            phase["end"] = last.isoformat()
            if phase["cycle_weeks"] and phase["start"]:
                days = (last - date.fromisoformat(phase["start"])).days + 1
                phase["cycles"] = math.ceil(days / (phase["cycle_weeks"] * WEEK_DAYS))
    result["phases"] = phases
    result["end_of_therapy"] = {
        "date": end_of_therapy.isoformat() if end_of_therapy else None,
        "rule": duration.explanation,
        "evidence": evidence_of(kb, duration.evidence),
    }
    result["checkpoints"] = _checkpoints(kb, record, phases)
    return result


def _phases(
    kb: KnowledgeBase, regimen: ts.RegimenSpec, start: date | None
) -> tuple[list[RoadmapPhase], dict[str, date]]:
    out: list[RoadmapPhase] = []
    starts: dict[str, date] = {}
    cursor = start
    for phase in regimen.phases:
        days = _phase_days(phase)
        begin = cursor
        end = begin + timedelta(days=days - 1) if begin is not None and days is not None else None
        if begin is not None:
            starts[phase.id] = begin
        out.append(
            {
                "id": phase.id,
                "label": phase.label,
                "source_phase": phase.source_phase,
                "weeks": phase.weeks,
                "cycle_weeks": phase.cycle_weeks,
                "until": phase.until,
                "length_basis": phase.length_basis,
                "length_known": days is not None or phase.until is not None,
                "start": begin.isoformat() if begin else None,
                "end": end.isoformat() if end else None,
                "confidence": _confidence(phase),
                "drugs": [{"drug": line.drug, "route": line.route, "schedule": line.schedule} for line in phase.drugs],
                "evidence": evidence_of(kb, phase.evidence),
            }
        )
        cursor = end + timedelta(days=1) if end is not None else None
    return out, starts


def _checkpoints(kb: KnowledgeBase, record: PatientRecord, phases: list[RoadmapPhase]) -> list[Checkpoint]:
    by_id = {p["id"]: p for p in phases}
    response = record.response
    out: list[Checkpoint] = []
    for checkpoint in kb.therapy.regimens.checkpoints:
        phase = by_id[checkpoint.phase]
        when: date | None = None
        if checkpoint.day == "end":
            if phase["end"]:
                when = date.fromisoformat(phase["end"]) + timedelta(days=1)
        elif phase["start"]:
            when = date.fromisoformat(phase["start"]) + timedelta(days=checkpoint.day - 1)
        value = getattr(response, checkpoint.input, None) if response else None
        out.append(
            {
                "id": checkpoint.id,
                "label": checkpoint.label,
                "phase": checkpoint.phase,
                "day": checkpoint.day,
                "date": when.isoformat() if when else None,
                "input": f"response.{checkpoint.input}",
                "result_known": value is not None,
                "purpose": checkpoint.purpose,
                "evidence": evidence_of(kb, checkpoint.evidence),
            }
        )
    return out
