"""The local trial registry: studies of ClinicalTrials.gov (API v2 study objects) and the refreshes that
filled it.

A study is stored once per NCT number. Storing it again with the same or an older ``lastUpdatePostDate``
changes nothing (not even its import time), so that importing the same studies twice leaves the registry as it
was; a newer date replaces the stored study and its import time. A study without a last-update date (a
hand-made file may lack it) is replaced by any copy with a date, and by a different copy without one (then
the order of the imports is the only order known: the latest import is taken as the newest copy).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allpath.storage import tables as t

Outcome = Literal["added", "updated", "unchanged"]


def store_study(s: Session, nct_id: str, last_update: date | None, study: dict[str, object], at: datetime) -> Outcome:
    """Add the study, replace the stored one when this copy is newer, or leave it (see above)."""
    stored = s.get(t.TrialStudy, nct_id)
    if stored is None:
        s.add(t.TrialStudy(nct_id=nct_id, last_update=last_update, imported_at=at, study=study))
        return "added"
    if not _newer(last_update, study, stored):
        return "unchanged"
    stored.last_update = last_update
    stored.imported_at = at
    stored.study = study
    return "updated"


def record_refresh(
    s: Session, *, at: datetime, source: str, detail: str, added: int, updated: int, unchanged: int, refused: int
) -> None:
    """Note one refresh of the registry (its newest refresh is the registry's snapshot date)."""
    s.add(
        t.TrialRegistryRefresh(
            at=at,
            source=source,
            detail=detail,
            added=added,
            updated=updated,
            unchanged=unchanged,
            refused=refused,
        )
    )


def last_refresh(s: Session) -> t.TrialRegistryRefresh | None:
    """The newest refresh, or None when the registry was never filled."""
    return s.scalars(
        select(t.TrialRegistryRefresh).order_by(t.TrialRegistryRefresh.at.desc(), t.TrialRegistryRefresh.id.desc())
    ).first()


def study_count(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(t.TrialStudy)) or 0


def all_studies(s: Session) -> list[t.TrialStudy]:
    """Every stored study, by NCT number."""
    return list(s.scalars(select(t.TrialStudy).order_by(t.TrialStudy.nct_id)))


def study_stamps(s: Session) -> list[tuple[str, datetime]]:
    """Each stored study's NCT number and import time, by NCT number: a study stored again with a newer copy
    has a new import time, so a reader that kept the studies it read knows which ones to read again."""
    stamps = select(t.TrialStudy.nct_id, t.TrialStudy.imported_at).order_by(t.TrialStudy.nct_id)
    return [(nct_id, at) for nct_id, at in s.execute(stamps)]


def study_documents(s: Session, nct_ids: Sequence[str] | None) -> list[tuple[str, datetime, dict[str, object]]]:
    """The NCT number, import time and API v2 object of the given studies (all when ``None``), by NCT number."""
    columns = select(t.TrialStudy.nct_id, t.TrialStudy.imported_at, t.TrialStudy.study).order_by(t.TrialStudy.nct_id)
    if nct_ids is None:
        return [(nct_id, at, study) for nct_id, at, study in s.execute(columns)]
    found: list[tuple[str, datetime, dict[str, object]]] = []
    for start in range(0, len(nct_ids), _IDS_PER_QUERY):
        chunk = nct_ids[start : start + _IDS_PER_QUERY]
        found += [(nct_id, at, study) for nct_id, at, study in s.execute(columns.where(t.TrialStudy.nct_id.in_(chunk)))]
    return found


_IDS_PER_QUERY = 500  # below the bound-parameter limits of SQLite and PostgreSQL


def _newer(last_update: date | None, study: dict[str, object], stored: t.TrialStudy) -> bool:
    if last_update is None:
        return stored.last_update is None and study != stored.study
    return stored.last_update is None or last_update > stored.last_update
