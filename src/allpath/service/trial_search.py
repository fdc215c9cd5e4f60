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
registry then costs the matching only, and a refresh reads again only the studies it added or replaced. The
cache is keyed by the database and the registry's last refresh, so an import or sync by any process is seen by
the next search.
"""

from __future__ import annotations

import gc
import math
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from allpath.domain.geo import HALF_CIRCUMFERENCE_KM, DistancesFrom, RadiusVerdict, SiteDistance
from allpath.domain.results.trials import NearestSite, Place, RegistryInfo, StatusFilter, TrialResult, TrialSearch
from allpath.domain.trials import Study, parse_study
from allpath.engine.trial_reading import StudyReading
from allpath.engine.trials import TrialMatcher, TrialPatient, trial_patient
from allpath.errors import InputError, RecordError, marked
from allpath.service.patients import PatientAnswer, latest
from allpath.service.places import ACCEPTED_FORMS, PlaceNotFound, find_place
from allpath.service.places import Place as FoundPlace
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
    listings: tuple[_Listing, ...]


@dataclass(frozen=True, slots=True)
class _Listing:
    """What a result shows of a study that no search changes, worked out once per refresh (a search of a large
    registry then builds its answer without walking every study's sites again)."""

    last_update: str | None
    interventions: tuple[str, ...]
    sites: int
    sites_without_coordinates: int
    registry_url: str | None
    # The study's place in the ranking after the verdict and the distance (status: recruiting, then about to
    # recruit or by invitation, then the rest; then the newest entry; then the NCT number), worked out once.
    place: int


@dataclass(frozen=True)
class _Kept:
    """The studies of the last registry read, by NCT number and import time, with the matcher that read them: a
    refresh reads again only the studies it added or replaced (a daily sync replaces a few of thousands)."""

    key: tuple[object, ...]  # the database and the knowledge base
    matcher: TrialMatcher
    studies: dict[tuple[str, datetime], tuple[Study, StudyReading]]


_cached: _Registry | None = None
_kept: _Kept | None = None
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
        _check_radius(options.radius_km, options.near)
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


def _check_radius(radius_km: float | None, near: str | None) -> None:
    if radius_km is None:
        return
    if near is None:  # a radius alone would keep every study and let the reader believe they were filtered
        raise InputError(
            "radius_km", marked("a distance needs a place to measure from: give a ZIP code or a city as well")
        )
    if not (0 <= radius_km <= HALF_CIRCUMFERENCE_KM):  # also refuses NaN
        template = marked("the radius is a distance from 0 to %(km)s km (half the Earth's girth)")
        params = {"km": f"{HALF_CIRCUMFERENCE_KM:.0f}"}
        raise InputError("radius_km", template % params, template=template, params=params)


def _place(near: str | None) -> FoundPlace | None:
    if near is None:
        return None
    try:
        return find_place(near)
    except PlaceNotFound as error:
        params = {**error.params, "forms": ACCEPTED_FORMS}
        raise InputError("near", str(error), template=error.template, params=params) from None


def _place_answer(near: str | None, place: FoundPlace | None) -> Place | None:
    if near is None or place is None:
        return None
    return {"query": near, "name": place.name, "lat": place.point.lat, "lon": place.point.lon, "note": place.note()}


# ---- the registry, read once per refresh ----------------------------------------------------------------------


def warm_registry(uow: UnitOfWork, kb: KnowledgeBase) -> int:
    """Read the registry into studies and readings now (a server's start-up), so that no person's first search
    pays it (about 2 s for 10,000 studies; benchmarks/bench_trials.py). Returns how many studies were read."""
    return len(_registry(uow, kb).studies)


def _registry(uow: UnitOfWork, kb: KnowledgeBase) -> _Registry:
    """The registry's studies and readings, read again only when the database, its last refresh or the
    knowledge base has changed since the last search of this process; after a refresh of the same database, only
    the studies it added or replaced are read again."""
    global _cached, _kept
    state = registry_state(uow)  # audited as ``read trial_registry``
    engine = uow.session.get_bind().engine
    source = (str(engine.url), id(engine), kb.version, id(kb.trials))
    key = (*source, state.refreshed_at, state.studies)
    with _cache_lock:
        if _cached is not None and _cached.key == key:
            return _cached
        kept = _kept if _kept is not None and _kept.key == source else _Kept(source, TrialMatcher(kb.trials), {})
    matcher = kept.matcher
    statuses = kb.trials.statuses
    status_rank = {**dict.fromkeys(statuses.open, 1), **dict.fromkeys(statuses.recruiting, 0)}
    read = _read_registry(uow, matcher, kept.studies)
    studies = tuple(study for study, _ in read.values())
    readings = tuple(reading for _, reading in read.values())
    listings = _listings(studies, status_rank)
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
        readings=readings,
        listings=listings,
    )
    with _cache_lock:
        _cached = loaded
        _kept = _Kept(source, matcher, read)
    return loaded


def _read_registry(
    uow: UnitOfWork, matcher: TrialMatcher, known: dict[tuple[str, datetime], tuple[Study, StudyReading]]
) -> dict[tuple[str, datetime], tuple[Study, StudyReading]]:
    """The stored studies parsed and read, by NCT number and import time, in NCT order; those in ``known`` (read
    by ``matcher`` at an earlier refresh and not stored again since) are taken as they are.

    A large registry is millions of objects that live until the next refresh: the garbage collector is paused
    while they are made (each of its collections would walk all made so far: half of a first search) and they are
    frozen after, so that later collections, during the searches, do not walk them either. Reference counting
    still frees them when a refresh replaces them."""
    from allpath.storage import trials

    stamps = trials.study_stamps(uow.session)
    missing = [nct_id for nct_id, at in stamps if (nct_id, at) not in known]
    collecting = gc.isenabled()
    gc.disable()
    try:
        # Each study as stored when it was read: a copy stored meanwhile comes with its own import time.
        fresh: dict[tuple[str, datetime], tuple[Study, StudyReading]] = {}
        for nct_id, at, document in trials.study_documents(uow.session, missing if known else None):
            study = parse_study(document)
            fresh[(nct_id, at)] = (study, matcher.read(study))
        read = {stamp: found for stamp in stamps if (found := known.get(stamp) or fresh.get(stamp)) is not None}
        read.update((stamp, found) for stamp, found in fresh.items() if stamp not in read)
    finally:
        if collecting:
            gc.enable()
    gc.freeze()
    return dict(sorted(read.items(), key=lambda item: item[0][0]))


def _listings(studies: tuple[Study, ...], status_rank: dict[str, int]) -> tuple[_Listing, ...]:
    order = sorted(range(len(studies)), key=lambda i: _static_rank(studies[i], status_rank))
    places = dict(zip(order, range(len(order)), strict=True))
    return tuple(_listing(study, places[i]) for i, study in enumerate(studies))


def _listing(study: Study, place: int) -> _Listing:
    updated = study.last_update_post_date
    return _Listing(
        last_update=updated.isoformat() if updated else None,
        interventions=tuple(i.name for i in study.interventions if i.name),
        sites=len(study.locations),
        sites_without_coordinates=sum(site.geo_point is None for site in study.locations),
        registry_url=REGISTRY_STUDY_URL.format(nct_id=study.nct_id) if study.nct_id else None,
        place=place,
    )


def _static_rank(study: Study, status_rank: dict[str, int]) -> tuple[int, float, str]:
    """Recruiting 0, about to recruit or by invitation 1, any other status 2; then the newest entry; then the NCT
    number."""
    updated = study.last_update_post_date
    newest = -updated.toordinal() if updated else math.inf
    return status_rank.get(study.overall_status or "", 2), newest, study.nct_id or ""


# ---- matching, distance and ranking ---------------------------------------------------------------------------


def _results(
    registry: _Registry, patient: TrialPatient, place: FoundPlace | None, options: TrialSearchOptions, today: date
) -> list[TrialResult]:
    distances = DistancesFrom(place.point) if place is not None else None
    radius, after_days = options.radius_km, options.outdated_after_days
    ranked: list[tuple[tuple[object, ...], TrialResult]] = []
    # The search keeps this child's criteria; the shared matcher keeps nothing of it, so searches run side by side.
    search = registry.matcher.search(patient, options.status)
    for study, reading, listing in zip(registry.studies, registry.readings, registry.listings, strict=True):
        nearest: SiteDistance | None = None
        within: RadiusVerdict | None = None
        if distances is not None:
            measured = distances.study(study.locations)
            if radius is not None:
                within = measured.within(radius)
                if within is RadiusVerdict.BEYOND:
                    continue
            nearest = measured.nearest
        match = search.match(study, reading)
        result: TrialResult = {
            **match,
            "nearest_site": _nearest(nearest) if nearest is not None else None,
            "possibly_outdated": _outdated(study.last_update_post_date, today, after_days),
            "last_update": listing.last_update,
            "brief_summary": study.brief_summary,
            "interventions": list(listing.interventions),
            "phases": list(study.phases),
            "sites": listing.sites,
            "sites_without_coordinates": listing.sites_without_coordinates,
            "within_radius": within.value if within is not None else None,
            "registry_url": listing.registry_url,
            "conditions": list(study.conditions),
        }
        distance = nearest.km if nearest is not None else math.inf
        ranked.append(((_VERDICT_RANK[match["verdict"]], distance, listing.place), result))
    ranked.sort(key=lambda pair: pair[0])
    return [result for _, result in ranked]


def _nearest(nearest: SiteDistance) -> NearestSite:
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
