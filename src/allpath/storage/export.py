"""The de-identified export for researchers: current records and risk groups without names, ids or dates."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from allpath.domain.record import parse_record
from allpath.storage import tables as t
from allpath.storage.patients import current_version, latest_assessment

# Calendar dates identify a person (with a diagnosis they narrow a registry to a few children): the export
# keeps ages and intervals, never dates. Exposures keep what was given, not when.
_IDENTIFYING = ("id", "birth_date", "diagnosis_date", "treatment_start_date", "end_of_therapy_date")


class DeidentifiedRow(TypedDict):
    """One patient of the export: a pseudonym stable within this export only, the record without names,
    ids or dates, and the groups of its stored assessment."""

    pseudonym: str
    record: dict[str, object]
    disease_state: str
    risk_group: str | None
    cog_risk_group: str | None
    provisional: bool
    populations: list[str]
    knowledge_version: str


def _without_dates(record: Mapping[str, object]) -> dict[str, object]:
    kept = {k: v for k, v in record.items() if k not in _IDENTIFYING}
    exposures = kept.get("exposures")
    if isinstance(exposures, dict):
        kept["exposures"] = {
            kind: [{k: v for k, v in item.items() if k != "date"} for item in items]
            if isinstance(items, list)
            else items
            for kind, items in exposures.items()
        }
    return kept


def deidentified_export(s: Session, team_ids: Collection[int]) -> list[DeidentifiedRow]:
    """The current record and assessment summary of every patient of ``team_ids`` (the teams that granted the
    researcher their data) without names, ids or dates.

    Each patient gets a pseudonym that is stable within one export only (a random salt per export), so
    rows cannot be linked back to the registry or across exports.
    """
    salt = secrets.token_hex(16)
    rows: list[DeidentifiedRow] = []
    chosen = select(t.Patient).where(t.Patient.team_id.in_(list(team_ids))).order_by(t.Patient.created_at)
    for patient in s.scalars(chosen):
        version = current_version(s, patient)
        assessment = latest_assessment(s, patient)
        record = _without_dates(version.record)
        if "age_years" not in record and assessment.result.get("factors") is not None:
            age = parse_record(version.record).age_years
            if age is not None:
                record["age_years"] = round(age, 1)
        rows.append(
            {
                "pseudonym": hashlib.sha256((salt + patient.id).encode()).hexdigest()[:16],
                "record": record,
                "disease_state": assessment.disease_state,
                "risk_group": assessment.risk_group,
                "cog_risk_group": assessment.cog_risk_group,
                "provisional": assessment.provisional,
                "populations": _populations(assessment.result),
                "knowledge_version": assessment.knowledge_version,
            }
        )
    return rows


def _populations(result: Mapping[str, object]) -> list[str]:
    """The populations of a stored assessment (a list of tokens; none when an older result lacks the key)."""
    populations = result.get("populations")
    return [str(token) for token in populations] if isinstance(populations, list) else []
