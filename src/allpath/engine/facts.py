"""From a validated patient record to the flat facts the knowledge base reasons about.

An absent input stays absent (``None``): nothing here invents a value. The only values filled in are
those the record contract defines as event lists or statements of known conditions (relapses,
refractory disease, predisposition syndromes), whose absence means "none reported", and testicular
involvement in a girl, which cannot exist.
"""

from __future__ import annotations

from allpath.domain.record_model import PatientRecord
from allpath.domain.results import FactValue
from allpath.knowledge.conditions import Fact
from allpath.knowledge.loader import KnowledgeBase


def build_facts(record: PatientRecord) -> dict[str, Fact]:
    """The input facts of one record (derived facts are added by the engine as it goes)."""
    response = record.response
    relapses = record.relapses or ()
    latest = relapses[-1] if relapses else None
    testicular = record.testicular_involvement
    if testicular is None and record.sex == "female":
        testicular = False
    genetics = None
    if record.genetics is not None:
        genetics = frozenset(t for t in record.genetics if t != "none_detected")
    age = record.age_years
    facts: dict[str, Fact] = {
        "age_years": age,
        "sex": record.sex,
        "wbc_per_ul": record.wbc_per_ul,
        "immunophenotype": record.immunophenotype,
        "genetics": genetics,
        "cns_status": record.cns_status,
        "testicular_involvement": testicular,
        "down_syndrome": record.down_syndrome,
        "steroid_pretreatment": record.steroid_pretreatment,
        "predisposition_syndromes": frozenset(record.predisposition_syndromes or ()),
        "day8_blood_mrd_pct": response.day8_blood_mrd_pct if response else None,
        "end_of_induction_marrow_mrd_pct": response.end_of_induction_marrow_mrd_pct if response else None,
        "end_of_induction_remission": response.end_of_induction_remission if response else None,
        "end_of_consolidation_mrd_pct": response.end_of_consolidation_mrd_pct if response else None,
        "refractory": bool(record.refractory),
        "relapses": len(relapses),
        "relapse_number": len(relapses),
        "relapse_sites": frozenset(latest.sites) if latest and latest.sites is not None else None,
        "relapse_months_from_diagnosis": latest.months_from_diagnosis if latest else None,
        "end_of_block1_mrd_pct": latest.end_of_block1_mrd_pct if latest else None,
        "weight_kg": record.weight_kg,
        "age_at_latest_event_years": _age_at_latest_event(age, latest.months_from_diagnosis if latest else 0.0),
    }
    return facts


def _age_at_latest_event(age: float | None, months_after_diagnosis: float | None) -> float | None:
    """The age at the latest relapse (or at diagnosis): unknown when either the age or the relapse time is."""
    if age is None or months_after_diagnosis is None:
        return None
    return age + months_after_diagnosis / 12


def record_field(kb: KnowledgeBase, fact: str, record: PatientRecord) -> str | None:
    """The patient-record path of an input fact, or None for a derived fact."""
    spec = kb.inputs.get(fact)
    if spec is None:
        return None
    if spec.field.startswith("relapses[]"):
        index = max(len(record.relapses or ()) - 1, 0)
        return spec.field.replace("relapses[]", f"relapses[{index}]")
    return spec.field


def shown(value: object) -> FactValue:
    """A known fact value as it appears in JSON output (sets become sorted lists)."""
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"a fact value is a number, a word, a yes/no or a set, not {type(value).__name__}")
