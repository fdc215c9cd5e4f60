"""The trial search use case (``allpath.service.trial_search``) on the 20-study snapshot
(``/work/shared/trials/studies.json``) imported through the registry's use case into a throwaway SQLite
database: the issue 13 acceptance cases with a place and a status filter, the radius filter (studies of unknown
distance kept), the possibly-outdated mark at its threshold and one day past, the registry's snapshot date in
every answer, refusals of a place or radius, and audit rows that hold counts only.

"Finds" means a verdict of ``eligible`` or ``possibly`` (nothing excludes the child). Every child has a birth
date and a diagnosis date, so its age on the search date is known.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from allpath.domain.geo import HALF_CIRCUMFERENCE_KM
from allpath.domain.record import parse_record
from allpath.domain.results.trials import TrialResult, TrialSearch
from allpath.errors import InputError
from allpath.knowledge.loader import load_knowledge
from allpath.service import unit_of_work
from allpath.service.records import stamped_assessment
from allpath.service.trial_search import TrialSearchOptions, search_trials
from allpath.service.trials import Study, import_studies, registry_state
from allpath.storage import tables as t
from allpath.storage.db import make_engine, migrate, session_factory
from tests.builders import record
from tests.conftest import require_shared

SEARCH_DAY = date(2026, 12, 1)
FRONTLINE = ("AALL1731", "AALL1732", "AALL0932", "AALL1131", "TOT17", "NCT06289673", "NCT04307576", "AALL1631")
RELAPSE = ("AALL1331", "AALL1821", "AALL1621", "CCTL019B2202", "CTL019B2205J")
INFANT = ("AALL15P1", "NCT05327894")
FIVE_YEAR_OLD = {"age_years": None, "birth_date": "2021-08-14", "diagnosis_date": "2026-11-20"}
INFANT_KMT2A = {
    "age_years": None,
    "birth_date": "2026-06-10",
    "diagnosis_date": "2026-11-25",
    "genetics": ["KMT2A_rearranged"],
}
TWELVE_IN_FIRST_RELAPSE = {
    "age_years": None,
    "birth_date": "2014-06-01",
    "diagnosis_date": "2020-01-10",
    "relapses": [{"months_from_diagnosis": 70, "sites": ["bone_marrow"]}],
}
TWENTY_SIX = {"age_years": None, "birth_date": "2000-11-01", "diagnosis_date": "2026-11-20"}


def _snapshot() -> list[dict[str, Any]]:
    studies: list[dict[str, Any]] = json.loads((require_shared() / "trials" / "studies.json").read_text())["studies"]
    return studies


def _registry(folder: Path, studies: list[dict[str, Any]]) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{folder / 'allpath.db'}")
    migrate(engine)
    factory = session_factory(engine)
    with unit_of_work(factory, None) as work:
        import_studies(work, [Study(f"study {i + 1}", s) for i, s in enumerate(studies)], detail="studies.json")
    yield factory
    engine.dispose()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    """The snapshot imported once for the module (the searches only read it)."""
    yield from _registry(tmp_path_factory.mktemp("registry"), _snapshot())


def _search(
    factory: sessionmaker[Session], changes: Mapping[str, object], options: TrialSearchOptions, today: date = SEARCH_DAY
) -> TrialSearch:
    kb = load_knowledge()
    child = parse_record(record(**changes))
    with unit_of_work(factory, None) as work:
        return search_trials(work, kb, child, stamped_assessment(child, kb), options, today)


def _name(result: TrialResult) -> str:
    return result["org_study_id"] or result["nct_id"] or ""


def _found(search: TrialSearch) -> list[str]:
    return [_name(r) for r in search["results"] if r["verdict"] != "not_eligible"]


def _by_name(search: TrialSearch) -> dict[str, TrialResult]:
    return {_name(r): r for r in search["results"]}


def _audits(factory: sessionmaker[Session]) -> list[t.AuditEntry]:
    with factory() as s:
        return list(s.scalars(select(t.AuditEntry).order_by(t.AuditEntry.id)))


# ---- the acceptance cases ----------------------------------------------------------------------------------------


def test_five_year_old_with_standard_risk_b_all_near_omaha_finds_aall1731_nearest(
    registry: sessionmaker[Session],
) -> None:
    search = _search(registry, FIVE_YEAR_OLD, TrialSearchOptions(near="Omaha, NE", status="any"))
    found = _found(search)
    # Whatever other criteria the engine adds, AALL1731 (a site in Omaha) is the nearest study that may fit.
    assert found[0] == "AALL1731"
    first = search["results"][0]
    assert first["nct_id"] == "NCT03914625" and first["verdict"] in ("eligible", "possibly")
    site = first["nearest_site"]
    assert site is not None and site["city"] == "Omaha" and site["distance_km"] is not None
    assert site["distance_km"] < 5
    assert not set(found) & set(RELAPSE + INFANT)
    assert search["place"] is not None and search["place"]["name"] == "Omaha, Nebraska, United States"
    # Ranked best first: every study that may fit before every one that does not.
    verdicts = [r["verdict"] == "not_eligible" for r in search["results"]]
    assert verdicts == sorted(verdicts)
    assert len(search["results"]) == 20


def test_infant_with_kmt2a_rearranged_all_finds_the_infant_studies_and_not_aall1731(
    registry: sessionmaker[Session],
) -> None:
    search = _search(registry, INFANT_KMT2A, TrialSearchOptions(near="68102", status="any"))
    found = _found(search)
    assert set(INFANT) <= set(found)
    assert "AALL1731" not in found
    assert _by_name(search)["AALL1731"]["verdict"] == "not_eligible"


def test_twelve_year_old_in_first_relapse_finds_the_relapse_studies_and_not_the_frontline_ones(
    registry: sessionmaker[Session],
) -> None:
    search = _search(registry, TWELVE_IN_FIRST_RELAPSE, TrialSearchOptions(status="any"))
    found = set(_found(search))
    assert {"AALL1331", "AALL1821", "AALL1621"} <= found
    assert not found & set(FRONTLINE)
    assert search["place"] is None
    assert all(r["nearest_site"] is None and r["within_radius"] is None for r in search["results"])


def _maximum_years(result: TrialResult) -> int | None:
    limits = next(c["study_value"] or "" for c in result["criteria"] if c["criterion"] == "age")
    found = re.search(r"to (\d+) Years?$", limits)
    return int(found.group(1)) if found else None


def test_twenty_six_year_old_finds_no_study_with_a_maximum_age_of_25(registry: sessionmaker[Session]) -> None:
    search = _search(registry, TWENTY_SIX, TrialSearchOptions(status="any"))
    capped = [r for r in search["results"] if (_maximum_years(r) or math.inf) <= 25]
    assert len(capped) >= 8
    for result in capped:
        assert result["verdict"] == "not_eligible", _name(result)
        assert {c["outcome"] for c in result["criteria"] if c["criterion"] == "age"} == {"not_met"}
    found = [r for r in search["results"] if r["verdict"] != "not_eligible"]
    assert found  # ALLTogether1 (0 to 45 years) is still open to a 26-year-old
    assert all((_maximum_years(r) or math.inf) > 25 for r in found)


def test_status_recruiting_drops_closed_studies(registry: sessionmaker[Session]) -> None:
    every = _search(registry, FIVE_YEAR_OLD, TrialSearchOptions(status="any"))
    recruiting = _search(registry, FIVE_YEAR_OLD, TrialSearchOptions(status="recruiting"))
    assert recruiting["status"] == "recruiting"
    for result in recruiting["results"]:
        if result["overall_status"] != "RECRUITING":
            assert result["verdict"] == "not_eligible", _name(result)
    assert "AALL1731" in _found(every) and "AALL1731" not in _found(recruiting)  # active, not recruiting
    assert {"NCT06289673", "NCT04307576"} <= set(_found(recruiting))
    # The default is "open": the snapshot has no status that is open but not recruiting.
    default = _search(registry, FIVE_YEAR_OLD, TrialSearchOptions())
    assert default["status"] == "open" and _found(default) == _found(recruiting)


@pytest.mark.parametrize("limit", ["N/A", None, "45 Years"])
def test_a_study_without_age_limits_is_not_excluded_on_age(tmp_path: Path, limit: str | None) -> None:
    # ALLTogether1 takes 0 to 45 years; a 48-year-old (diagnosed at 38, searched ten years later) is past it,
    # and is not excluded on age when the limits are "N/A" or absent.
    raw = copy.deepcopy(
        next(s for s in _snapshot() if s["protocolSection"]["identificationModule"]["nctId"] == "NCT04307576")
    )
    eligibility = raw["protocolSection"]["eligibilityModule"]
    for key in ("minimumAge", "maximumAge"):
        if limit is None:
            eligibility.pop(key)
        elif limit == "N/A":
            eligibility[key] = limit
    for factory in _registry(tmp_path, [raw]):
        adult = {"age_years": None, "birth_date": "1988-01-01", "diagnosis_date": "2026-11-20"}
        search = _search(factory, adult, TrialSearchOptions(status="any"), date(2036, 1, 1))
        (result,) = search["results"]
        age = next(c for c in result["criteria"] if c["criterion"] == "age")
        if limit == "45 Years":
            assert age["outcome"] == "not_met" and result["verdict"] == "not_eligible"
        else:
            assert age["outcome"] == "met"
            assert result["verdict"] != "not_eligible"


# ---- radius, freshness, snapshot date -----------------------------------------------------------------------------


def test_the_radius_keeps_the_studies_within_it_and_those_of_unknown_distance(registry: sessionmaker[Session]) -> None:
    search = _search(registry, FIVE_YEAR_OLD, TrialSearchOptions(near="Omaha, NE", radius_km=10, status="any"))
    within = {_name(r): r["within_radius"] for r in search["results"]}
    # AALL1731 has a site in Omaha; ELIANA (CCTL019B2202) lists sites without coordinates only near here: kept.
    assert within == {"AALL1731": "within", "CCTL019B2202": "distance unknown"}
    assert search["radius_km"] == 10
    eliana = _by_name(search)["CCTL019B2202"]
    assert eliana["nearest_site"] is None and eliana["sites_without_coordinates"] == eliana["sites"] > 0
    closer = _search(registry, FIVE_YEAR_OLD, TrialSearchOptions(near="Omaha, NE", radius_km=0.1, status="any"))
    assert [_name(r) for r in closer["results"]] == ["CCTL019B2202"]  # AALL1731's site is 0.5 km away


def test_no_radius_keeps_every_study(registry: sessionmaker[Session]) -> None:
    search = _search(registry, FIVE_YEAR_OLD, TrialSearchOptions(near="Omaha, NE", status="any"))
    assert len(search["results"]) == 20
    assert all(r["within_radius"] is None for r in search["results"])


@pytest.mark.parametrize(
    ("today", "outdated"),
    [(date(2026, 11, 17), False), (date(2026, 11, 18), True)],
    ids=["threshold day", "one day past"],
)
def test_possibly_outdated_after_the_threshold_not_on_it(
    registry: sessionmaker[Session], today: date, outdated: bool
) -> None:
    # AALL1731's entry was last updated on 2025-11-17: 365 days before 2026-11-17.
    search = _search(registry, FIVE_YEAR_OLD, TrialSearchOptions(status="any", outdated_after_days=365), today)
    aall1731 = _by_name(search)["AALL1731"]
    assert aall1731["last_update"] == "2025-11-17"
    assert aall1731["possibly_outdated"] is outdated
    assert search["registry"]["outdated_after_days"] == 365
    # An entry that gives no last-update date is always possibly outdated.
    assert _by_name(search)["TOT17"]["last_update"] is None and _by_name(search)["TOT17"]["possibly_outdated"]


def test_the_threshold_comes_from_the_options(registry: sessionmaker[Session]) -> None:
    # CCTL019G2201J: last updated 2026-01-21, 314 days before the search day.
    search = _search(registry, FIVE_YEAR_OLD, TrialSearchOptions(status="any", outdated_after_days=313))
    assert _by_name(search)["CCTL019G2201J"]["possibly_outdated"] is True
    search = _search(registry, FIVE_YEAR_OLD, TrialSearchOptions(status="any", outdated_after_days=314))
    assert _by_name(search)["CCTL019G2201J"]["possibly_outdated"] is False
    assert search["registry"]["outdated_after_days"] == 314


def test_every_answer_names_the_registry_snapshot_date(registry: sessionmaker[Session]) -> None:
    with unit_of_work(registry, None) as work:
        state = registry_state(work)
    assert state.refreshed_at is not None
    search = _search(registry, FIVE_YEAR_OLD, TrialSearchOptions())
    assert search["registry"] == {
        "snapshot_date": state.refreshed_at.date().isoformat(),
        "source": "imported from a file",
        "studies": 20,
        "outdated_after_days": 365,
    }
    assert search["searched_on"] == "2026-12-01"
    assert search["disclaimer"] == load_knowledge().text.disclaimer


# ---- refusals and the audit -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (TrialSearchOptions(near="Atlantis, Nowhere"), "near"),
        (TrialSearchOptions(near="00000"), "near"),
        (TrialSearchOptions(near="68102", radius_km=-0.1), "radius_km"),
        (TrialSearchOptions(near="68102", radius_km=HALF_CIRCUMFERENCE_KM + 0.1), "radius_km"),
        (TrialSearchOptions(near="68102", radius_km=math.nan), "radius_km"),
        (TrialSearchOptions(radius_km=100), "radius_km"),  # a distance from nowhere
    ],
)
def test_a_place_or_radius_that_cannot_be_used_is_refused_and_audited(
    tmp_path: Path, options: TrialSearchOptions, field: str
) -> None:
    for factory in _registry(tmp_path, _snapshot()[:2]):
        with pytest.raises(InputError) as refused:
            _search(factory, FIVE_YEAR_OLD, options)
        assert refused.value.field == field
        assert refused.value.message and "Traceback" not in refused.value.message
        last = _audits(factory)[-1]
        assert (last.action, last.resource, last.outcome, last.detail) == ("search", "trials", "invalid", field)


@pytest.mark.parametrize("radius", [0.0, HALF_CIRCUMFERENCE_KM])
def test_the_radius_limits_are_accepted(registry: sessionmaker[Session], radius: float) -> None:
    search = _search(registry, FIVE_YEAR_OLD, TrialSearchOptions(near="68102", radius_km=radius, status="any"))
    assert search["radius_km"] == radius
    expected = {"CCTL019B2202"} if radius == 0 else {_name(r) for r in search["results"]}
    assert {_name(r) for r in search["results"]} == expected
    if radius:
        assert len(search["results"]) == 20


def test_the_audit_holds_counts_only(tmp_path: Path) -> None:
    for factory in _registry(tmp_path, _snapshot()):
        child = {**FIVE_YEAR_OLD, "id": "child-omaha-7"}
        search = _search(factory, child, TrialSearchOptions(near="Omaha, NE", status="any"))
        fitting = len(_found(search))
        entries = [e for e in _audits(factory) if e.resource == "trials"]
        assert [(e.action, e.outcome, e.resource_id, e.detail) for e in entries] == [
            ("search", "ok", None, f"20 studies, {fitting} may fit")
        ]
        for entry in _audits(factory):
            assert "Omaha" not in entry.detail and "68102" not in entry.detail
            assert "child-omaha-7" not in f"{entry.detail} {entry.resource_id}"
