"""Seeded generator of varied, valid patient records (record contract v1, /work/shared/design.md).

Plain Python (``random.Random(seed)``), no hypothesis and no import of allpath, so the same records can be
written to a file for the command line benchmark. The same ``(n, seed)`` always gives the same records.

Each record is drawn from a *kind* (a clinical profile: standard-risk B-ALL, infant, AYA, T-cell, Down
syndrome, Ph-positive, CNS/testicular disease, predisposition, steroid pretreatment, sparse, relapsed,
refractory, refractory-then-relapsed, poor responder), then fields are dropped or set to JSON ``null`` so
that the engine sees provisional assessments and missing inputs too. Boundary values of the decision
thresholds (age 1, 10, 13, 15; 50,000 white cells per microliter; MRD 0.01 % and 0.1 %) occur on purpose.

Usage::

    python benchmarks/records.py 100 --seed 7 -o /tmp/records.json
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from random import Random
from typing import Any

GENETICS = (
    "ETV6::RUNX1",
    "high_hyperdiploidy",
    "trisomy_4_10",
    "BCR::ABL1",
    "KMT2A_rearranged",
    "hypodiploidy_lt44",
    "iAMP21",
    "ph_like",
    "TCF3::PBX1",
    "TCF3::HLF",
)
# Rough relative frequencies in childhood ALL, so that a random draw is not mostly very-high-risk genetics.
GENETICS_WEIGHTS = (25, 25, 10, 3, 3, 1, 2, 10, 5, 1)
FAVORABLE = ("ETV6::RUNX1", "high_hyperdiploidy", "trisomy_4_10")
VERY_HIGH = ("BCR::ABL1", "KMT2A_rearranged", "hypodiploidy_lt44", "TCF3::PBX1", "TCF3::HLF")
PREDISPOSITIONS = ("neurofibromatosis_1", "bloom", "fanconi_anemia", "ataxia_telangiectasia", "li_fraumeni", "cmmrd")
SITES = ("bone_marrow", "cns", "testis", "other")

# kind -> weight. Newly diagnosed kinds dominate, as in practice, but every kind appears in any N >= ~200.
KINDS: dict[str, int] = {
    "standard": 16,
    "nci_high": 12,
    "poor_response": 6,
    "infant": 5,
    "aya": 6,
    "t_cell": 7,
    "down_syndrome": 4,
    "ph_positive": 4,
    "cns_testicular": 5,
    "predisposition": 3,
    "steroid": 3,
    "sparse": 10,
    "relapsed": 12,
    "refractory": 4,
    "refractory_relapsed": 3,
}
AGE_BOUNDARIES = (1.0, 10.0, 13.0, 15.0)
MRD_VALUES = (0.0, 0.001, 0.005, 0.009, 0.01, 0.05, 0.099, 0.1, 0.5, 1.0, 5.0, 25.0)


def _pick_kind(rng: Random) -> str:
    return rng.choices(tuple(KINDS), weights=tuple(KINDS.values()))[0]


def _age(rng: Random, kind: str) -> float:
    if kind == "infant":
        return round(rng.uniform(0.02, 0.99), 2)
    if kind == "aya":
        return round(rng.uniform(15.0, 39.9), 2)
    if kind == "standard":
        return 1.0 if rng.random() < 0.1 else round(rng.uniform(1.0, 9.99), 2)
    if rng.random() < 0.12:
        return rng.choice(AGE_BOUNDARIES)
    if kind == "nci_high":
        return round(rng.uniform(1.0, 18.0), 2)
    # Mostly young children, as in childhood ALL; some infants, adolescents and young adults.
    low, high = rng.choices(((0.1, 0.99), (1.0, 9.99), (10.0, 14.99), (15.0, 25.0)), weights=(4, 62, 20, 14))[0]
    return round(rng.uniform(low, high), 2)


def _wbc(rng: Random, kind: str) -> float:
    roll = rng.random()
    if roll < 0.08:
        return rng.choice((49_999.0, 50_000.0, 50_001.0))
    if kind == "standard":
        return float(rng.randint(500, 49_999))
    if kind in ("nci_high", "t_cell", "infant") and roll < 0.7:
        return float(rng.randint(50_000, 600_000))
    # Log-uniform between 300 and 900,000 cells per microliter, sometimes with a fraction.
    value = 10 ** rng.uniform(2.5, 5.95)
    return round(value, 1) if rng.random() < 0.2 else float(int(value))


def _genetics(rng: Random, kind: str) -> list[str]:
    if kind == "ph_positive":
        extra = rng.sample(("ph_like", "iAMP21", "high_hyperdiploidy"), rng.randint(0, 1))
        return ["BCR::ABL1", *extra]
    if kind == "standard":
        roll = rng.random()
        if roll < 0.15:
            return ["none_detected"]
        return rng.sample(FAVORABLE, rng.randint(1, 2))
    if kind in ("poor_response", "refractory", "refractory_relapsed") and rng.random() < 0.5:
        return [rng.choice(VERY_HIGH)]
    if kind == "infant" and rng.random() < 0.6:
        return ["KMT2A_rearranged"]
    roll = rng.random()
    if roll < 0.2:
        return ["none_detected"]
    return _weighted_sample(rng, GENETICS, GENETICS_WEIGHTS, rng.choice((1, 1, 1, 2, 3)))


def _weighted_sample(rng: Random, items: tuple[str, ...], weights: tuple[int, ...], k: int) -> list[str]:
    """``k`` distinct items, drawn with the given relative weights."""
    pool = list(zip(items, weights, strict=True))
    out = []
    for _ in range(k):
        item = rng.choices([p[0] for p in pool], weights=[p[1] for p in pool])[0]
        out.append(item)
        pool = [p for p in pool if p[0] != item]
    return out


def _response(rng: Random, kind: str) -> dict[str, Any]:
    """MRD by timepoint; later timepoints only when the earlier ones are known (as data arrive)."""
    poor = kind in ("poor_response", "refractory", "refractory_relapsed")
    reached = rng.choice((1, 2, 2, 3, 3)) if not poor else rng.choice((2, 3))
    response: dict[str, Any] = {}
    good = MRD_VALUES[:5]
    response["day8_blood_mrd_pct"] = rng.choice(MRD_VALUES[4:] if poor else MRD_VALUES)
    if reached >= 2:
        if kind in ("refractory", "refractory_relapsed"):
            response["end_of_induction_marrow_mrd_pct"] = round(rng.uniform(5.0, 80.0), 2)
            response["end_of_induction_remission"] = False
        elif poor:
            response["end_of_induction_marrow_mrd_pct"] = rng.choice(MRD_VALUES[4:])
            response["end_of_induction_remission"] = rng.random() < 0.7
        else:
            response["end_of_induction_marrow_mrd_pct"] = rng.choice(good if rng.random() < 0.8 else MRD_VALUES)
            response["end_of_induction_remission"] = True
    if reached >= 3:
        response["end_of_consolidation_mrd_pct"] = rng.choice(good if not poor else MRD_VALUES[3:])
    return response


def _relapses(rng: Random, sex: str | None, kind: str) -> list[dict[str, Any]]:
    count = rng.choices((1, 2, 3), weights=(7, 2, 1))[0]
    sites_allowed = SITES if sex == "male" else tuple(s for s in SITES if s != "testis")
    months = 0.0
    out = []
    for i in range(count):
        if i == 0:
            months = rng.choice((18.0, 36.0)) if rng.random() < 0.1 else round(rng.uniform(1.0, 96.0), 1)
        else:
            months = round(months + rng.uniform(3.0, 48.0), 1)
        roll = rng.random()
        if roll < 0.55:
            sites = ["bone_marrow"]
        elif roll < 0.8:
            sites = rng.sample(sites_allowed, rng.randint(2, len(sites_allowed)))
            if "bone_marrow" not in sites:
                sites.append("bone_marrow")
        else:
            sites = [rng.choice(tuple(s for s in sites_allowed if s != "bone_marrow"))]
        relapse: dict[str, Any] = {"months_from_diagnosis": months, "sites": sites}
        if rng.random() < 0.6:
            relapse["end_of_block1_mrd_pct"] = rng.choice(MRD_VALUES)
        out.append(relapse)
    return out


def _size(rng: Random, age: float) -> tuple[float, float]:
    """A plausible (weight kg, height cm) for the age."""
    if age < 1:
        height = 50 + age * 25
    elif age < 15:
        height = 75 + (age - 1) * 6.3
    else:
        height = 165
    height = round(height * rng.uniform(0.9, 1.1), 1)
    weight = round(max(2.0, 15.5 * (height / 100) ** 2.2 * rng.uniform(0.8, 1.35)), 1)
    return weight, height


def _dates(rng: Random, age: float) -> tuple[str, str]:
    """Birth and diagnosis dates that give ``age`` (to within a few days)."""
    diagnosis = date(2015, 1, 1) + timedelta(days=rng.randint(0, 3650))
    birth = diagnosis - timedelta(days=round(age * 365.2425))
    return birth.isoformat(), diagnosis.isoformat()


# Fields a kind may lose (relapses and refractory define the kind and are never dropped).
_DROPPABLE = (
    "id",
    "sex",
    "age_years",
    "weight_kg",
    "height_cm",
    "immunophenotype",
    "wbc_per_ul",
    "genetics",
    "cns_status",
    "testicular_involvement",
    "down_syndrome",
    "predisposition_syndromes",
    "steroid_pretreatment",
    "response",
)


def make_record(rng: Random, index: int, seed: int, kind: str | None = None) -> tuple[str, dict[str, Any]]:
    """One valid record of ``kind`` (drawn at random when None); returns (kind, record)."""
    kind = kind or _pick_kind(rng)
    age = _age(rng, kind)
    sex = rng.choice(("female", "male"))
    weight, height = _size(rng, age)
    record: dict[str, Any] = {
        "id": f"bench-{seed}-{index:06d}",
        "sex": sex,
        "age_years": age,
        "weight_kg": weight,
        "height_cm": height,
        "immunophenotype": "T" if kind == "t_cell" else ("B" if rng.random() < 0.9 else "T"),
        "wbc_per_ul": _wbc(rng, kind),
        "genetics": _genetics(rng, kind),
        "cns_status": rng.choices(("CNS1", "CNS2", "CNS3"), weights=(85, 10, 5))[0],
        "testicular_involvement": False,
        "down_syndrome": kind == "down_syndrome",
        "predisposition_syndromes": [],
        "steroid_pretreatment": kind == "steroid" or rng.random() < 0.03,
        "response": _response(rng, kind),
    }
    if kind == "standard":
        record["immunophenotype"] = "B"
        record["cns_status"] = "CNS1"
    if kind == "cns_testicular":
        record["cns_status"] = rng.choice(("CNS2", "CNS3", "CNS3"))
        record["testicular_involvement"] = sex == "male" and rng.random() < 0.6
    elif sex == "male" and rng.random() < 0.02:
        record["testicular_involvement"] = True
    if kind == "predisposition" or rng.random() < 0.02:
        record["predisposition_syndromes"] = rng.sample(PREDISPOSITIONS, rng.randint(1, 2))
    if kind in ("relapsed", "refractory_relapsed"):
        record["relapses"] = _relapses(rng, sex, kind)
    if kind in ("refractory", "refractory_relapsed"):
        record["refractory"] = True
    elif rng.random() < 0.1:
        record["refractory"] = False

    # How age is given: age_years only (most), dates only, or both (agreeing).
    roll = rng.random()
    if roll < 0.12:
        record["birth_date"], record["diagnosis_date"] = _dates(rng, age)
        del record["age_years"]
    elif roll < 0.18:
        record["birth_date"], record["diagnosis_date"] = _dates(rng, age)

    # Missing data: sparse records keep a few fields, the others lose one now and then; an absent field
    # is sometimes a JSON null instead of a missing key, and a response object may lose a timepoint.
    drop_chance = 0.65 if kind == "sparse" else 0.06
    for name in _DROPPABLE:
        if name in record and rng.random() < drop_chance:
            if rng.random() < 0.3:
                record[name] = None
            else:
                del record[name]
    response = record.get("response")
    if isinstance(response, dict):
        for key in list(response):
            if rng.random() < drop_chance / 2:
                if rng.random() < 0.3:
                    response[key] = None
                else:
                    del response[key]
    if kind == "sparse" and rng.random() < 0.05:
        record = {} if rng.random() < 0.5 else {"id": f"bench-{seed}-{index:06d}"}
    return kind, record


def generate_tagged(n: int, seed: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """``n`` records as (kind, record) pairs, deterministic for ``seed``."""
    rng = Random(seed)
    return [make_record(rng, i, seed) for i in range(n)]


def generate(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` varied, valid patient records, deterministic for ``seed``."""
    return [record for _, record in generate_tagged(n, seed)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write N generated patient records as a JSON array.")
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    text = json.dumps(generate(args.n, args.seed), indent=1) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
