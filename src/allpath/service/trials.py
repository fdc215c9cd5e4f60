"""The local trial registry's use cases: import studies read from files, and sync them from ClinicalTrials.gov.

Both take study objects in the ClinicalTrials.gov API v2 format (the interfaces read the files and fetch the
pages) and store each under its NCT number with its ``lastUpdatePostDate``: a study already stored with the
same or a newer date is left as it was, a newer date replaces it (``allpath.storage.trials``). Each call notes
one refresh of the registry (when, from what, what it did) and is audited as ``import trial_registry`` or
``sync trial_registry`` with its counts only.

A study is refused, with the field and what is allowed, when it is not an object, has no NCT number of the
form NCT followed by eight digits, or a last-update date that is not a calendar date written YYYY-MM-DD (or
YYYY-MM, read as the month's first day, as ``allpath.domain.trials`` reads registry dates); the other studies
are stored. A study without a last-update date is stored (the registry always gives one, a hand-made file may
not) and said to be of unknown date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from allpath.domain.trials import Study as TrialStudy
from allpath.domain.trials import parse_registry_date, parse_study

if TYPE_CHECKING:
    from allpath.service.unit_of_work import UnitOfWork

NCT_ID = re.compile(r"NCT\d{8}")
NCT_FIELD = "protocolSection.identificationModule.nctId"
LAST_UPDATE_FIELD = "protocolSection.statusModule.lastUpdatePostDateStruct.date"

Source = Literal["file", "sync"]


@dataclass(frozen=True)
class Refusal:
    """Something not stored: ``where`` names it (a file, a line, a study), ``why`` says why in plain words."""

    where: str
    why: str


@dataclass(frozen=True)
class Study:
    """One study object as it was read, and where it was read from (for a refusal's message)."""

    where: str
    value: object


@dataclass
class RefreshSummary:
    """What one import or sync did to the registry."""

    source: Source
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    studies_held: int = 0
    refreshed_at: datetime | None = None

    def counts(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.refused)} refused"
        )


@dataclass(frozen=True)
class RegistryState:
    """How many studies the registry holds and its last refresh (None when it was never filled)."""

    studies: int
    refreshed_at: datetime | None
    refreshed_from: str
    refreshed_detail: str


def import_studies(
    uow: UnitOfWork, studies: Iterable[Study], *, detail: str, refused: Sequence[Refusal] = ()
) -> RefreshSummary:
    """Store the studies read from files (``detail``: which files); ``refused``: what the files' reader
    refused already (a whole file, a line), counted in the summary."""
    return _refresh(uow, "file", studies, detail, refused)


def sync_studies(uow: UnitOfWork, pages: Iterable[Sequence[object]], *, detail: str) -> RefreshSummary:
    """Store the studies of the pages fetched from the registry's API (``detail``: from where). When fetching
    fails part way, the failure is audited and the error raised: the caller's unit of work then rolls back
    what the pages before it stored, so a sync stores all its pages or none."""
    numbered = (
        Study(f"page {page_number} study {index + 1}", value)
        for page_number, page in enumerate(pages, start=1)
        for index, value in enumerate(page)
    )
    try:
        return _refresh(uow, "sync", numbered, detail, ())
    except Exception:
        uow.audit("sync", "trial_registry", outcome="failed", detail="the registry gave no usable page")
        raise


def registry_state(uow: UnitOfWork) -> RegistryState:
    """The registry's size and last refresh (audited as ``read trial_registry``)."""
    from allpath.storage import trials

    last = trials.last_refresh(uow.session)
    uow.audit("read", "trial_registry")
    return RegistryState(
        studies=trials.study_count(uow.session),
        refreshed_at=last.at if last else None,
        refreshed_from=last.source if last else "",
        refreshed_detail=last.detail if last else "",
    )


def registry_studies(uow: UnitOfWork) -> tuple[RegistryState, list[TrialStudy]]:
    """The registry's state and every stored study read into the domain's model, by NCT number (audited as
    ``read trial_registry``), for the trial search."""
    from allpath.storage import trials

    state = registry_state(uow)
    return state, [parse_study(row.study) for row in trials.all_studies(uow.session)]


def _refresh(
    uow: UnitOfWork, source: Source, studies: Iterable[Study], detail: str, refused: Sequence[Refusal]
) -> RefreshSummary:
    from allpath.storage import trials
    from allpath.storage.clock import now

    at = now()
    summary = RefreshSummary(source=source, refused=list(refused))
    for study in studies:
        identity = study_identity(study.value)
        if isinstance(identity, str):
            summary.refused.append(Refusal(study.where, identity))
            continue
        nct_id, last_update, value = identity
        uow.session.flush()  # a study met twice in one refresh finds its first copy
        outcome = trials.store_study(uow.session, nct_id, last_update, value, at)
        getattr(summary, outcome).append(nct_id)
    counts = {name: len(getattr(summary, name)) for name in ("added", "updated", "unchanged", "refused")}
    trials.record_refresh(uow.session, at=at, source=source, detail=detail, **counts)
    uow.session.flush()
    summary.studies_held = trials.study_count(uow.session)
    summary.refreshed_at = at
    uow.audit("sync" if source == "sync" else "import", "trial_registry", detail=summary.counts())
    return summary


def study_identity(value: object) -> tuple[str, date | None, dict[str, object]] | str:
    """The study's NCT number and last-update date, or why it cannot be stored (plain words, with the field)."""
    if not isinstance(value, dict):
        return "a study must be a JSON object with a protocolSection"
    nct_id = _field(value, NCT_FIELD)
    if not isinstance(nct_id, str) or not NCT_ID.fullmatch(nct_id):
        shown = "missing" if nct_id is None else "not an NCT number"
        return f"{NCT_FIELD} is {shown}; expected NCT followed by eight digits, such as NCT03914625"
    day = _field(value, LAST_UPDATE_FIELD)
    if day is None:
        return nct_id, None, value
    last_update = parse_registry_date(day) if isinstance(day, str) else None
    if last_update is None:
        return f"{nct_id}: {LAST_UPDATE_FIELD} is not a calendar date; expected a date written YYYY-MM-DD"
    return nct_id, last_update, value


def _field(value: dict[str, object], dotted: str) -> object:
    current: object = value
    for name in dotted.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(name)
    return current
