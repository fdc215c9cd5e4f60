"""The trial search use case: which studies of the local registry a child may join, nearest first (issue 13).

One child's record and assessment are matched against every stored study on the search date
(``allpath.engine.trials``), the distance from a place to each study's sites is measured
(``allpath.domain.geo``, the place found by ``allpath.service.places``), a radius keeps the studies with a site
inside it or of unknown distance, and each study is marked possibly outdated when the registry entry has not
been updated for ``outdated_after_days`` (or gives no date). The answer names the registry's snapshot date.

Ranking, best first: the verdict (``eligible``, then ``possibly``, then ``not_eligible``); then, when a place
was given, the nearest site (studies of unknown distance after the measured ones); then the status (recruiting,
then about to recruit or by invitation, then the rest); then the newest entry; then the NCT number.

The registry is read into studies and their readings once per refresh and process: a search of a large
registry then costs the matching only. The cache is keyed by the database and the registry's last refresh, so
an import or sync by any process is seen by the next search.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from allpath.domain.geo import HALF_CIRCUMFERENCE_KM, DistancesFrom, RadiusVerdict, StudyDistance
from allpath.domain.results.trials import NearestSite, Place, RegistryInfo, StatusFilter, TrialResult, TrialSearch
from allpath.domain.trials import Study, parse_study
from allpath.engine.trial_reading import StudyReading
from allpath.engine.trials import TrialMatcher, TrialPatient, trial_patient
from allpath.errors import InputError, RecordError
from allpath.service.patients import PatientAnswer, latest
from allpath.service.places import Place as FoundPlace
from allpath.service.places import PlaceNotFound, find_place
from allpath.service.records import RecordInput, checked, stamped_assessment
from allpath.service.trials import registry_state

if TYPE_CHECKING:
    from allpath.domain.record_model import PatientRecord
    from allpath.domain.results.assessment import Assessment
    from allpath.knowledge.loader import KnowledgeBase
    from allpath.service.unit_of_work import UnitOfWork
    from allpath.storage import tables as t

DEFAULT_OUTDATED_AFTER_DAYS = 365
"""An entry not updated for a year is marked possibly outdated: ClinicalTrials.gov asks sponsors of ongoing
studies to confirm their entry at least once a year (its "record verification date"). An operator sets another
with ``ALLPATH_TRIALS_OUTDATED_DAYS`` (``allpath.settings``)."""
REGISTRY_STUDY_URL = "https://clinicaltrials.gov/study/{nct_id}"
_VERDICT_RANK = {"eligible": 0, "possibly": 1, "not_eligible": 2}
_SOURCE_WORDS = {"file": "imported from a file", "sync": "synced from ClinicalTrials.gov"}


@dataclass(frozen=True)
class TrialSearchOptions:
    """What a search asks beyond the child: a place to measure from, a radius, the statuses wanted."""

    near: str | None = None
    radius_km: float | None = None
    status: StatusFilter = "open"
    outdated_after_days: int = DEFAULT_OUTDATED_AFTER_DAYS


@dataclass(frozen=True)
class _Registry:
    """The stored studies read once per refresh, with the matcher that read them."""

    key: tuple[object, ...]
    info: RegistryInfo
    matcher: TrialMatcher
    studies: tuple[Study, ...]
    readings: tuple[StudyReading, ...]
    status_rank: dict[str, int]  # recruiting 0, about to recruit or by invitation 1; any other status after


_cached: _Registry | None = None
_cache_lock = threading.Lock()


def search_trials(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    record: PatientRecord,
    assessment: Assessment,
    options: TrialSearchOptions,
    today: date,
    *,
    resource_id: str | None = None,
) -> TrialSearch:
    """The studies of the registry for this child on ``today``, best first (audited as ``search trials`` with
    counts only). ``InputError`` names ``near`` or ``radius_km`` when the place or radius cannot be used (the
    refusal is audited with that name)."""
    try:
        _check_radius(options.radius_km)
        place = _place(options.near)
    except InputError as error:
        uow.audit("search", "trials", resource_id, outcome="invalid", detail=error.field)
        raise
    registry = _registry(uow, kb)
    patient = trial_patient(record, assessment, today)
    results = _results(registry, patient, place, options, today)
    fitting = sum(r["verdict"] != "not_eligible" for r in results)
    uow.audit("search", "trials", resource_id, detail=f"{len(results)} studies, {fitting} may fit")
    return {
        "registry": {**registry.info, "outdated_after_days": options.outdated_after_days},
        "place": _place_answer(options.near, place),
        "searched_on": today.isoformat(),
        "status": options.status,
        "radius_km": options.radius_km,
        "results": results,
        "disclaimer": kb.text.disclaimer,
    }


def search_record_trials(
    uow: UnitOfWork, kb: KnowledgeBase, record: RecordInput, options: TrialSearchOptions, today: date
) -> TrialSearch:
    """The trial search for a record given by the caller, validated and assessed here, nothing stored (the
    stateless ``POST /api/trials/search``). ``RecordError`` names each field of an invalid record (audited as
    ``invalid``, with no field or value in the log)."""
    try:
        valid = checked(record)
    except RecordError:
        uow.audit("search", "trials", None, outcome="invalid", detail="record")
        raise
    return search_trials(uow, kb, valid, stamped_assessment(valid, kb), options, today)


def search_patient_trials(
    uow: UnitOfWork, kb: KnowledgeBase, patient: t.Patient, options: TrialSearchOptions, today: date
) -> PatientAnswer[TrialSearch]:
    """The trial search for a stored patient's latest record, assessed afresh (audited as ``search trials`` of
    the patient; a stored record that no longer validates is refused as ``invalid``, naming the field)."""
    try:
        now = latest(uow, kb, patient)
    except RecordError:
        uow.audit("search", "trials", patient.id, outcome="invalid", detail="record")
        raise
    return PatientAnswer(
        now, search_trials(uow, kb, now.record, now.assessment, options, today, resource_id=patient.id)
    )


def _check_radius(radius_km: float | None) -> None:
    if radius_km is None:
        return
    if not (0 <= radius_km <= HALF_CIRCUMFERENCE_KM):  # also refuses NaN
        raise InputError(
            "radius_km", f"the radius is a distance from 0 to {HALF_CIRCUMFERENCE_KM:.0f} km (half the Earth's girth)"
        )


def _place(near: str | None) -> FoundPlace | None:
    if near is None:
        return None
    try:
        return find_place(near)
    except PlaceNotFound as error:
        raise InputError("near", str(error)) from None


def _place_answer(near: str | None, place: FoundPlace | None) -> Place | None:
    if near is None or place is None:
        return None
    return {"query": near, "name": place.name, "lat": place.point.lat, "lon": place.point.lon, "note": place.note()}


# ---- the registry, read once per refresh ----------------------------------------------------------------------


def _registry(uow: UnitOfWork, kb: KnowledgeBase) -> _Registry:
    """The registry's studies and readings, read again only when the database, its last refresh or the
    knowledge base has changed since the last search of this process."""
    global _cached
    state = registry_state(uow)  # audited as ``read trial_registry``
    engine = uow.session.get_bind().engine
    key = (str(engine.url), id(engine), state.refreshed_at, state.studies, kb.version, id(kb.trials))
    with _cache_lock:
        if _cached is not None and _cached.key == key:
            return _cached
    from allpath.storage import trials

    matcher = TrialMatcher(kb.trials)
    studies = tuple(parse_study(row.study) for row in trials.all_studies(uow.session))
    statuses = kb.trials.statuses
    loaded = _Registry(
        key=key,
        info={
            "snapshot_date": state.refreshed_at.date().isoformat() if state.refreshed_at else None,
            "source": _SOURCE_WORDS.get(state.refreshed_from, state.refreshed_from) or None,
            "studies": state.studies,
            "outdated_after_days": DEFAULT_OUTDATED_AFTER_DAYS,
        },
        matcher=matcher,
        studies=studies,
        readings=tuple(matcher.read(study) for study in studies),
        status_rank={
            **dict.fromkeys(statuses.open, 1),
            **dict.fromkeys(statuses.recruiting, 0),
        },
    )
    with _cache_lock:
        _cached = loaded
    return loaded


# ---- matching, distance and ranking ---------------------------------------------------------------------------


def _results(
    registry: _Registry, patient: TrialPatient, place: FoundPlace | None, options: TrialSearchOptions, today: date
) -> list[TrialResult]:
    distances = DistancesFrom(place.point) if place is not None else None
    ranked: list[tuple[tuple[object, ...], TrialResult]] = []
    # The search keeps this child's criteria; the shared matcher keeps nothing of it, so searches run side by side.
    search = registry.matcher.search(patient, options.status)
    for study, reading in zip(registry.studies, registry.readings, strict=True):
        measured = distances.study(study.locations) if distances is not None else None
        within = measured.within(options.radius_km) if measured and options.radius_km is not None else None
        if within is RadiusVerdict.BEYOND:
            continue
        match = search.match(study, reading)
        result: TrialResult = {
            **match,
            "nearest_site": _nearest(measured),
            "possibly_outdated": _outdated(study.last_update_post_date, today, options.outdated_after_days),
            "last_update": study.last_update_post_date.isoformat() if study.last_update_post_date else None,
            "brief_summary": study.brief_summary,
            "interventions": [i.name for i in study.interventions if i.name],
            "phases": list(study.phases),
            "sites": len(study.locations),
            "sites_without_coordinates": sum(site.geo_point is None for site in study.locations),
            "within_radius": within.value if within is not None else None,
            "registry_url": REGISTRY_STUDY_URL.format(nct_id=study.nct_id) if study.nct_id else None,
            "conditions": list(study.conditions),
        }
        ranked.append((_rank(result, study, measured, registry), result))
    ranked.sort(key=lambda pair: pair[0])
    return [result for _, result in ranked]


def _nearest(measured: StudyDistance | None) -> NearestSite | None:
    nearest = measured.nearest if measured is not None else None
    if nearest is None:
        return None
    site = nearest.site
    return {
        "facility": site.facility,
        "city": site.city,
        "state": site.state,
        "country": site.country,
        "distance_km": round(nearest.km, 1),
    }


def _outdated(last_update: date | None, today: date, after_days: int) -> bool:
    """Possibly outdated: not updated for longer than ``after_days``, or of unknown date."""
    return last_update is None or (today - last_update).days > after_days


def _rank(result: TrialResult, study: Study, measured: StudyDistance | None, registry: _Registry) -> tuple[object, ...]:
    nearest = measured.nearest if measured is not None else None
    statuses = registry.status_rank.get(study.overall_status or "", 2)
    newest = -study.last_update_post_date.toordinal() if study.last_update_post_date else math.inf
    return (
        _VERDICT_RANK[result["verdict"]],
        nearest.km if nearest is not None else math.inf,
        statuses,
        newest,
        study.nct_id or "",
    )
