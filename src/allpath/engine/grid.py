"""The exhaustive risk grid: every combination of boundary values of the risk inputs -> risk groups.

The numeric probes are read from the knowledge base itself: for every threshold that a risk rule
compares an input with, the grid takes the threshold and the value one resolution step below it (age
9.99 and 10.0, white count 49,999 and 50,000, MRD 0.0099 % and 0.01 %). Categorical inputs take every
value of the record contract. So a knowledge change that moves a boundary or adds a rule changes the
grid, and the committed copy under ``tests/golden/`` shows the clinical effect as a diff.

The complete grid has every risk input present. The absent grid takes a few anchor records and removes
every subset of the risk inputs, to show how missing data keep a group null or provisional.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from typing import TypeAlias

from allpath.domain.record import parse_record
from allpath.domain.vocabulary import GENETIC_TOKENS
from allpath.engine.assess import classify
from allpath.knowledge.conditions import All, AnyOf, Compare, Condition, Not
from allpath.knowledge.loader import KnowledgeBase

GridValue: TypeAlias = float | str | bool
"""A probe value of one risk input (numbers, tokens, booleans)."""
PatientJson: TypeAlias = dict[str, object]
"""A patient record as decoded JSON, before validation."""

CATEGORICAL: dict[str, tuple[GridValue, ...]] = {
    "immunophenotype": ("B", "T"),
    "genetics": GENETIC_TOKENS,
    "cns_status": ("CNS1", "CNS2", "CNS3"),
    "testicular_involvement": (False, True),
    "steroid_pretreatment": (False, True),
    "end_of_induction_remission": (True, False),
}
RESPONSE_FIELDS = (
    "day8_blood_mrd_pct",
    "end_of_induction_marrow_mrd_pct",
    "end_of_induction_remission",
    "end_of_consolidation_mrd_pct",
)
COLUMNS = (
    "age_years",
    "wbc_per_ul",
    "immunophenotype",
    "genetics",
    "cns_status",
    "testicular_involvement",
    "steroid_pretreatment",
    "day8_blood_mrd_pct",
    "end_of_induction_marrow_mrd_pct",
    "end_of_induction_remission",
    "end_of_consolidation_mrd_pct",
)
ANCHOR_AGE_INDEXES = (0, 1, -2)  # an infant, the youngest non-infant, and an older child


def _thresholds(condition: Condition, found: dict[str, set[float]]) -> None:
    if isinstance(condition, Compare):
        found.setdefault(condition.fact, set()).add(condition.threshold)
    elif isinstance(condition, All | AnyOf):
        for part in condition.parts:
            _thresholds(part, found)
    elif isinstance(condition, Not):
        _thresholds(condition.part, found)


def boundary_values(kb: KnowledgeBase) -> dict[str, tuple[GridValue, ...]]:
    """Probe values for every risk input, numeric ones derived from the rules' thresholds."""
    found: dict[str, set[float]] = {}
    for scheme in (kb.risk_group, kb.cog_risk_group):
        _thresholds(scheme.applies, found)
        for rule in scheme.rules:
            _thresholds(rule.condition, found)
    values: dict[str, tuple[GridValue, ...]] = {}
    for name in COLUMNS:
        if name in CATEGORICAL:
            values[name] = CATEGORICAL[name]
            continue
        step = kb.inputs[name].resolution
        assert step is not None, f"inputs.yaml: {name} needs a resolution for the grid"
        probes = {round(t - step, 10) for t in found.get(name, set())} | found.get(name, set())
        values[name] = tuple(sorted(p for p in probes if p >= 0))
    return values


def _record(row: dict[str, GridValue | None]) -> PatientJson:
    record: PatientJson = {"sex": "male", "down_syndrome": False}
    response: dict[str, GridValue] = {}
    for name, value in row.items():
        if value is None:
            continue
        if name == "genetics":
            record["genetics"] = [value]
        elif name in RESPONSE_FIELDS:
            response[name] = value
        else:
            record[name] = value
    if response:
        record["response"] = response
    return record


def _cell(value: GridValue | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        return format(value, ".10g")
    return str(value)


def _groups(kb: KnowledgeBase, row: dict[str, GridValue | None]) -> tuple[str, str, list[str]]:
    risk, cog, missing = classify(parse_record(_record(row)), kb)
    return risk.group or "-", cog.group or "-", missing


SCENARIO_COLUMNS = tuple(c for c in COLUMNS if c != "genetics")


def complete_grid_records(kb: KnowledgeBase) -> Iterator[PatientJson]:
    """Every record of the complete grid, as patient-record dicts."""
    values = boundary_values(kb)
    for combo in itertools.product(*(values[c] for c in COLUMNS)):
        yield _record(dict(zip(COLUMNS, combo, strict=True)))


def complete_grid_csv(kb: KnowledgeBase) -> str:
    """Every combination of boundary values, one row per scenario and one column per genetic finding.

    A cell reads ``risk_group/cog_risk_group``; ``-`` stands for null (for example no COG group for
    T-ALL or infants).
    """
    values = boundary_values(kb)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*SCENARIO_COLUMNS, *values["genetics"]])
    for combo in itertools.product(*(values[c] for c in SCENARIO_COLUMNS)):
        scenario = dict(zip(SCENARIO_COLUMNS, combo, strict=True))
        cells = []
        for token in values["genetics"]:
            risk, cog, _ = _groups(kb, {**scenario, "genetics": token})
            cells.append(f"{risk}/{cog}")
        writer.writerow([*(_cell(v) for v in combo), *cells])
    return buffer.getvalue()


def absent_grid_csv(kb: KnowledgeBase) -> str:
    """Anchor records with every subset of the risk inputs removed: groups, provisional, missing."""
    values = boundary_values(kb)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*COLUMNS, "risk_group", "cog_risk_group", "provisional", "missing"])
    ages = values["age_years"]
    for index in ANCHOR_AGE_INDEXES:
        anchor = {c: values[c][0] for c in COLUMNS}
        anchor["age_years"] = ages[index]
        for size in range(len(COLUMNS) + 1):
            for removed in itertools.combinations(COLUMNS, size):
                row = {c: (None if c in removed else anchor[c]) for c in COLUMNS}
                risk, cog, missing = _groups(kb, row)
                writer.writerow(
                    [
                        *(_cell(row[c]) for c in COLUMNS),
                        risk,
                        cog,
                        "true" if missing else "false",
                        ";".join(missing),
                    ]
                )
    return buffer.getvalue()
