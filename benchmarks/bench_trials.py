"""Trial matching: one child against 10,000 registry studies in process, against a parsing baseline.

The studies are generated here in the ClinicalTrials.gov API v2 shape (``{"studies": [{"protocolSection":
...}]}``), seeded and varied: titles with and without disease-state words (newly diagnosed, relapsed,
refractory, first relapse), lineages, subgroup words (Ph+, Ph-like, infants, KMT2A, Down syndrome), NCI-style
condition lists with other leukemias, keywords, every recruitment status, age limits in years, months, weeks
and days or "N/A" or missing, sex limits, a free-text eligibility paragraph and 0-40 sites. The child is a
12-year-old in first relapse of B-ALL, built as a record and assessed with the real ``assess`` (untimed).

Timed with ``time.perf_counter_ns``, each over all studies, repeated (``--repeat``, median reported):

* baseline: ``parse_studies`` of the page (the JSON already loaded): reading the registry's shape into
  ``Study`` objects;
* ``match``: the first search of a new ``TrialMatcher`` (built untimed): ``match`` of the child against every
  parsed study, each study's words read (no text seen before);
* ``match_warm``: a second search with the same matcher, which keeps the concepts of each text it has read
  (a server's second search);
* ``match_read``: ``match`` with each study's reading given, to show what the reading costs.

Target (issue 13): ``match`` <= 200 ms for 10,000 studies.

Usage::

    python benchmarks/bench_trials.py [--n 10000] [--seed 20261201] [--repeat 7] [--quick] [--check]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import Any

from allpath.domain.record import parse_record
from allpath.domain.trials import parse_studies
from allpath.engine.assess import assess
from allpath.engine.trials import TrialMatcher, trial_patient
from allpath.knowledge.loader import load_knowledge
from common import RESULTS_DIR, machine, verdict, write_json

TARGET_MS = 200.0
DEFAULT_N = 10_000
QUICK_N = 2_000
DEFAULT_SEED = 20261201
SEARCH_DAY = date(2026, 12, 1)

STATUSES = (
    ("RECRUITING", 30),
    ("ACTIVE_NOT_RECRUITING", 25),
    ("COMPLETED", 25),
    ("NOT_YET_RECRUITING", 5),
    ("ENROLLING_BY_INVITATION", 3),
    ("TERMINATED", 5),
    ("WITHDRAWN", 2),
    ("SUSPENDED", 2),
    ("UNKNOWN", 3),
)
STATES = ("Newly Diagnosed", "Relapsed", "Relapsed or Refractory", "Refractory", "First Relapse of", "")
LINEAGES = ("B-Cell", "T-Cell", "B", "T", "Precursor B", "")
SUBGROUPS = ("", "", "", "Philadelphia Chromosome Positive", "Ph+ or Ph-Like", "Down Syndrome and", "Infants With")
DRUGS = (
    "Blinatumomab",
    "Inotuzumab Ozogamicin",
    "Dasatinib",
    "Imatinib",
    "Nelarabine",
    "Bortezomib",
    "Tisagenlecleucel",
)
OTHER_CONDITIONS = (
    "Recurrent Childhood Acute Myeloid Leukemia",
    "Untreated Childhood Acute Myeloid Leukemia",
    "Mixed Phenotype Acute Leukemia",
    "B Lymphoblastic Lymphoma",
    "Ann Arbor Stage III Childhood Lymphoblastic Lymphoma",
    "Neutropenia",
    "Philadelphia Chromosome Positive",
    "Down Syndrome",
)
KEYWORDS = (
    "newly diagnosed",
    "relapsed",
    "refractory",
    "first relapse",
    "CD19",
    "CD22",
    "MRD",
    "CAR-T",
    "infant",
    "KMT2A rearrangement",
    "Ph-like",
    "supportive care",
    "standard risk",
    "high risk",
)
CITIES = (
    ("Omaha", "Nebraska", "United States", 41.2565, -95.9345),
    ("New York", "New York", "United States", 40.7128, -74.006),
    ("Dallas", "Texas", "United States", 32.7767, -96.797),
    ("Toronto", "Ontario", "Canada", 43.6532, -79.3832),
    ("London", None, "United Kingdom", 51.5072, -0.1276),
    ("Oslo", None, "Norway", 59.9139, 10.7522),
    ("Sydney", "New South Wales", "Australia", -33.8688, 151.2093),
)


def _age(rng: Random, kind: str) -> str | None:
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.2:
        return "N/A"
    if kind == "min":
        return rng.choice(("0 Days", "1 Year", "1 Year", "6 Months", "4 Weeks", "3 Years", "18 Years"))
    return rng.choice(("365 Days", "18 Years", "21 Years", "25 Years", "30 Years", "31 Years", "45 Years", "24 Months"))


def _study(rng: Random, index: int) -> dict[str, Any]:
    state, lineage, subgroup, drug = rng.choice(STATES), rng.choice(LINEAGES), rng.choice(SUBGROUPS), rng.choice(DRUGS)
    disease = rng.choice(("Acute Lymphoblastic Leukemia", "ALL", "Lymphoblastic Leukemia", "Acute Leukemia"))
    title = " ".join(w for w in (drug, "in", subgroup, state, lineage, disease) if w)
    conditions = [f"{lineage} Acute Lymphoblastic Leukemia".strip()] + rng.sample(OTHER_CONDITIONS, rng.randint(0, 4))
    if state.startswith("Relapsed") and rng.random() < 0.5:
        conditions.append(f"Recurrent {lineage} Acute Lymphoblastic Leukemia".replace("  ", " "))
    eligibility: dict[str, Any] = {
        "eligibilityCriteria": "Inclusion Criteria:\n* "
        + title
        + "\n* Adequate organ function\n\nExclusion Criteria:\n* "
        + rng.choice(("Prior therapy", "Down syndrome", "Relapsed ALL", "Pregnancy")),
        "sex": rng.choices(("ALL", "FEMALE", "MALE", None), weights=(90, 3, 3, 4))[0],
        "healthyVolunteers": False,
    }
    for key, kind in (("minimumAge", "min"), ("maximumAge", "max")):
        value = _age(rng, kind)
        if value is not None:
            eligibility[key] = value
    sites = []
    for _ in range(rng.randint(0, 40)):
        city, state_name, country, lat, lon = rng.choice(CITIES)
        site: dict[str, Any] = {
            "facility": f"Children's Hospital {rng.randint(1, 500)}",
            "city": city,
            "country": country,
        }
        if state_name:
            site["state"] = state_name
        if rng.random() < 0.9:
            site["geoPoint"] = {"lat": lat + rng.uniform(-0.5, 0.5), "lon": lon + rng.uniform(-0.5, 0.5)}
        sites.append(site)
    updated = date(2015, 1, 1) + timedelta(days=rng.randint(0, 4000))
    return {
        "protocolSection": {
            "identificationModule": {
                "nctId": f"NCT{10_000_000 + index:08d}",
                "orgStudyIdInfo": {"id": f"GEN{index}"},
                "briefTitle": title,
                "officialTitle": f"A Phase {rng.randint(1, 3)} Study of {title}",
            },
            "statusModule": {
                "overallStatus": rng.choices([s for s, _ in STATUSES], weights=[w for _, w in STATUSES])[0],
                "lastUpdatePostDateStruct": {"date": updated.isoformat()},
            },
            "conditionsModule": {"conditions": conditions, "keywords": rng.sample(KEYWORDS, rng.randint(0, 5))},
            "designModule": {
                "studyType": "INTERVENTIONAL",
                "phases": [f"PHASE{rng.randint(1, 3)}"],
                "designInfo": {"primaryPurpose": rng.choices(("TREATMENT", "SUPPORTIVE_CARE"), weights=(9, 1))[0]},
            },
            "armsInterventionsModule": {"interventions": [{"type": "DRUG", "name": drug}]},
            "eligibilityModule": eligibility,
            "contactsLocationsModule": {"locations": sites},
        }
    }


def generate(n: int, seed: int) -> dict[str, Any]:
    """A page of ``n`` generated studies in the API v2 shape."""
    rng = Random(seed)
    return {"studies": [_study(rng, i) for i in range(n)]}


def _timed_ms(action: Any, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        action()
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times


def run(n: int, seed: int, repeat: int) -> dict[str, Any]:
    kb = load_knowledge()
    page = generate(n, seed)
    studies = parse_studies(page)
    matcher = TrialMatcher(kb.trials)
    record = parse_record(
        {
            "sex": "female",
            "birth_date": "2014-06-01",
            "diagnosis_date": "2020-01-10",
            "immunophenotype": "B",
            "wbc_per_ul": 12_000,
            "genetics": ["none_detected"],
            "relapses": [{"months_from_diagnosis": 70, "sites": ["bone_marrow"]}],
        }
    )
    child = trial_patient(record, assess(record, kb), SEARCH_DAY)
    parse_ms = _timed_ms(lambda: parse_studies(page), repeat)
    cold_ms: list[float] = []
    warm_ms: list[float] = []
    read_ms: list[float] = []
    for _ in range(repeat):
        # A new matcher (built untimed) knows no study's words yet: the first search reads every study.
        matcher = TrialMatcher(kb.trials)
        cold_ms += _timed_ms(lambda m=matcher: [m.match(s, child, "any") for s in studies], 1)
        warm_ms += _timed_ms(lambda m=matcher: [m.match(s, child, "any") for s in studies], 1)
        readings = [matcher.read(s) for s in studies]
        read_ms += _timed_ms(
            lambda m=matcher, r=readings: [m.match(s, child, "any", x) for s, x in zip(studies, r, strict=True)], 1
        )
    verdicts = Counter(TrialMatcher(kb.trials).match(s, child, "any")["verdict"] for s in studies)
    figures = (("parse", parse_ms), ("match", cold_ms), ("match_warm", warm_ms), ("match_read", read_ms))
    median = {name: statistics.median(values) for name, values in figures}
    target = TARGET_MS * n / DEFAULT_N
    return {
        "studies": n,
        "seed": seed,
        "repeat": repeat,
        "median_ms": median,
        "all_ms": dict(figures),
        "ratio_to_parse": {k: median[k] / median["parse"] for k in ("match", "match_warm", "match_read")},
        "verdicts": dict(verdicts),
        "target_ms": target,
        "passed": {"match": median["match"] <= target},
    }


def report(result: dict[str, Any]) -> str:
    median, ratio = result["median_ms"], result["ratio_to_parse"]
    n, seed, repeat = result["studies"], result["seed"], result["repeat"]
    return "\n".join(
        [
            f"trial matching, {n:,} generated studies (seed {seed}), median of {repeat}",
            f"  baseline parse_studies: {median['parse']:.1f} ms",
            f"  first search of a new matcher (reads every study): {median['match']:.1f} ms = "
            f"{ratio['match']:.2f}x the parse "
            f"(target <= {result['target_ms']:.0f} ms: {verdict(result['passed']['match'])})",
            f"  second search, same matcher: {median['match_warm']:.1f} ms = {ratio['match_warm']:.2f}x the parse",
            f"  with the readings given: {median['match_read']:.1f} ms = {ratio['match_read']:.2f}x the parse",
            f"  verdicts: {', '.join(f'{k} {v:,}' for k, v in sorted(result['verdicts'].items()))}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help=f"studies (default {DEFAULT_N:,})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N:,} studies, target scaled")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--json", default=str(RESULTS_DIR / "trials.json"), help="result file")
    args = parser.parse_args(argv)
    result = run(args.n or (QUICK_N if args.quick else DEFAULT_N), args.seed, args.repeat)
    print(report(result))
    write_json(Path(args.json), {"machine": machine(), "trials": result})
    return 1 if args.check and not all(result["passed"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
