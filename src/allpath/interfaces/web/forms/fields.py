"""The record form's inputs: every field of patient record v1 as a ``FormField`` in its ``Section``, and the
rows of inputs of the record's lists (relapses, the courses and radiation given)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from allpath.domain import limits
from allpath.domain.vocabulary import (
    EXPOSURE_DRUGS,
    GENETIC_TOKENS,
    PHENOTYPES,
    PREDISPOSITION_TOKENS,
    RADIATION_SITES,
    RELAPSE_SITES,
    ROUTES,
)
from allpath.knowledge.loader import KnowledgeBase

Kind = Literal["text", "number", "date", "choice", "yesno", "tokens"]

DISPLAY_NAME = "display_name"
DISPLAY_NAME_MAX = 200
RESPONSE_FIELDS = (
    "day8_blood_mrd_pct",
    "end_of_induction_marrow_mrd_pct",
    "end_of_induction_remission",
    "end_of_consolidation_mrd_pct",
)
_PREDISPOSITION_LABELS = {
    "neurofibromatosis_1": "neurofibromatosis type 1",
    "bloom": "Bloom syndrome",
    "fanconi_anemia": "Fanconi anemia",
    "ataxia_telangiectasia": "ataxia-telangiectasia",
    "li_fraumeni": "Li-Fraumeni syndrome (TP53)",
    "cmmrd": "constitutional mismatch repair deficiency (CMMRD)",
}
_PHENOTYPE_LABELS = {
    "normal": "normal metabolizer",
    "intermediate": "intermediate metabolizer",
    "possible_intermediate": "possible intermediate metabolizer",
    "poor": "poor metabolizer",
    "indeterminate": "indeterminate",
}
_RADIATION_LABELS = {
    "cranial": "cranial (brain)",
    "craniospinal": "craniospinal (brain and spine)",
    "chest": "chest (including the heart)",
    "testicular": "testicular",
    "total_body": "total body",
}
_SITE_LABELS = {
    "bone_marrow": "bone marrow",
    "cns": "brain and spinal cord (CNS)",
    "testis": "testis",
    "other": "other",
}


def dom_id(prefix: str, name: str) -> str:
    """An HTML id for a record path (ids stay usable as CSS selectors: no dots or brackets)."""
    return prefix + "-" + re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-")


@dataclass(frozen=True)
class FormField:
    name: str  # the record path, which is also the input's name and the FieldProblem's field
    label: str
    kind: Kind
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    required: bool = False

    @property
    def input_id(self) -> str:
        return dom_id("f", self.name)

    @property
    def hint_id(self) -> str:
        return dom_id("h", self.name)

    @property
    def error_id(self) -> str:
        return dom_id("e", self.name)


@dataclass(frozen=True)
class Section:
    title: str
    hint: str
    fields: tuple[FormField, ...]


def _yesno(name: str, label: str, hint: str = "") -> FormField:
    return FormField(name, label, "yesno", hint, (("", "not recorded"), ("true", "yes"), ("false", "no")))


def _phenotype(name: str, label: str) -> FormField:
    choices = (("", "not recorded"), *((p, _PHENOTYPE_LABELS.get(p, p.replace("_", " "))) for p in PHENOTYPES))
    return FormField(name, label, "choice", "As the laboratory reports it (CPIC terms).", choices)


def _limit_hint(limit: limits.Limit, extra: str = "") -> str:
    text = "Expected " + limit.describe() + "."
    return f"{text} {extra}".strip()


def record_sections(kb: KnowledgeBase) -> tuple[Section, ...]:
    """The sections of the record form, in the order a diagnosis unfolds."""
    genetics_labels = {t.id: t.label for t in kb.genetics.tokens}
    mrd_hint = _limit_hint(limits.MRD_PCT, "Leave empty until the result is in.")
    return (
        Section(
            "Patient",
            "Leave a field empty when it is not known: an empty field is listed as missing, never guessed.",
            (
                FormField(
                    DISPLAY_NAME, "Name shown in allpath", "text", "Shown to the care team and family.", (), True
                ),
                FormField("id", "Record identifier (optional)", "text", "Your own identifier for this record."),
                FormField("sex", "Sex", "choice", "", (("", "not recorded"), ("female", "female"), ("male", "male"))),
                FormField("age_years", "Age at diagnosis (years)", "number", _limit_hint(limits.AGE_YEARS)),
                FormField(
                    "birth_date",
                    "Date of birth",
                    "date",
                    "Instead of the age: with the date of diagnosis it gives the age. Removed from research exports.",
                ),
                FormField(
                    "diagnosis_date",
                    "Date of diagnosis",
                    "date",
                    "With the date of birth it gives the age at diagnosis.",
                ),
                FormField("weight_kg", "Weight (kg)", "number", _limit_hint(limits.WEIGHT_KG)),
                FormField("height_cm", "Height (cm)", "number", _limit_hint(limits.HEIGHT_CM)),
                _yesno("down_syndrome", "Down syndrome"),
                FormField(
                    "predisposition_syndromes",
                    "Inherited conditions that raise the risk of ALL",
                    "tokens",
                    "Tick none when none is known: for this field no entry means none reported.",
                    tuple((t, _PREDISPOSITION_LABELS.get(t, t.replace("_", " "))) for t in PREDISPOSITION_TOKENS),
                ),
            ),
        ),
        Section(
            "Diagnosis",
            "Results of the diagnostic work-up.",
            (
                FormField(
                    "immunophenotype",
                    "Lineage (immunophenotype)",
                    "choice",
                    "",
                    (("", "not recorded"), ("B", "B cell"), ("T", "T cell")),
                ),
                FormField(
                    "wbc_per_ul",
                    "White blood cell count at diagnosis (cells per microliter)",
                    "number",
                    _limit_hint(limits.WBC_PER_UL, "For 12.5 x 10^9/L enter 12500."),
                ),
                FormField(
                    "genetics",
                    "Genetic changes of the leukemia cells",
                    "tokens",
                    "Tick none while the results are pending; tick \u201cno recurrent change found\u201d when the "
                    "tests found none.",
                    tuple((t, genetics_labels.get(t, t)) for t in GENETIC_TOKENS),
                ),
                FormField(
                    "cns_status",
                    "CNS status (diagnostic lumbar puncture)",
                    "choice",
                    "",
                    (("", "not recorded"), ("CNS1", "CNS1"), ("CNS2", "CNS2"), ("CNS3", "CNS3")),
                ),
                _yesno("testicular_involvement", "Testicular involvement at diagnosis", "Not for girls."),
                _yesno("steroid_pretreatment", "Steroids given before the diagnostic work-up"),
            ),
        ),
        Section(
            "Treatment",
            "The dates place the phases, response tests and end of treatment on a calendar; the TPMT and NUDT15 "
            "results set the starting doses of mercaptopurine and thioguanine.",
            (
                FormField(
                    "treatment_start_date",
                    "Treatment start date",
                    "date",
                    "The first day of induction. Without it the roadmap has no dates.",
                ),
                FormField(
                    "end_of_therapy_date",
                    "End-of-therapy date",
                    "date",
                    "The last day of treatment, once it is known; the follow-up after treatment counts from it.",
                ),
                _phenotype("pharmacogenomics.tpmt", "TPMT phenotype"),
                _phenotype("pharmacogenomics.nudt15", "NUDT15 phenotype"),
            ),
        ),
        Section(
            "Response to treatment",
            "Minimal residual disease (MRD) in percent of cells.",
            (
                FormField("response.day8_blood_mrd_pct", "Day 8 blood MRD (%)", "number", mrd_hint),
                FormField(
                    "response.end_of_induction_marrow_mrd_pct",
                    "End-of-induction bone marrow MRD (%)",
                    "number",
                    mrd_hint,
                ),
                _yesno("response.end_of_induction_remission", "Remission at the end of induction"),
                FormField("response.end_of_consolidation_mrd_pct", "End-of-consolidation MRD (%)", "number", mrd_hint),
            ),
        ),
        Section(
            "Refractory disease",
            "",
            (_yesno("refractory", "Refractory (no response to the first treatment)"),),
        ),
    )


def relapse_fields(index: int) -> tuple[FormField, ...]:
    """The inputs of relapse number ``index + 1`` (relapses are listed oldest first)."""
    prefix = f"relapses[{index}]"
    return (
        FormField(
            f"{prefix}.months_from_diagnosis",
            "Months from diagnosis",
            "number",
            _limit_hint(limits.RELAPSE_MONTHS),
        ),
        FormField(
            f"{prefix}.sites",
            "Sites",
            "tokens",
            "At least one.",
            tuple((s, _SITE_LABELS.get(s, s)) for s in RELAPSE_SITES),
        ),
        FormField(
            f"{prefix}.end_of_block1_mrd_pct",
            "MRD after the first block of relapse treatment (%)",
            "number",
            _limit_hint(limits.MRD_PCT, "Optional."),
        ),
    )


def course_fields(index: int) -> tuple[FormField, ...]:
    """The inputs of administered course number ``index + 1`` (``exposures.courses[index]``)."""
    prefix = f"exposures.courses[{index}]"
    return (
        FormField(
            f"{prefix}.drug",
            "Drug",
            "choice",
            "",
            (("", "choose a drug"), *((d, d) for d in EXPOSURE_DRUGS)),
        ),
        FormField(f"{prefix}.date", "Date given", "date"),
        FormField(
            f"{prefix}.dose_mg_per_m2",
            "Dose (mg/m2)",
            "number",
            _limit_hint(limits.COURSE_DOSE_MG_PER_M2, "Needed for anthracyclines (the heart follow-up)."),
        ),
        FormField(f"{prefix}.dose_mg", "Dose (mg)", "number", _limit_hint(limits.COURSE_DOSE_MG, "Optional.")),
        FormField(
            f"{prefix}.route",
            "Route",
            "choice",
            "",
            (("", "not recorded"), *((r, r) for r in ROUTES)),
        ),
    )


def radiation_fields(index: int) -> tuple[FormField, ...]:
    """The inputs of radiation course number ``index + 1`` (``exposures.radiation[index]``)."""
    prefix = f"exposures.radiation[{index}]"
    return (
        FormField(
            f"{prefix}.site",
            "Site",
            "choice",
            "",
            (("", "choose a site"), *((r, _RADIATION_LABELS.get(r, r)) for r in RADIATION_SITES)),
        ),
        FormField(f"{prefix}.dose_gy", "Total dose (Gy)", "number", _limit_hint(limits.RADIATION_GY)),
        FormField(f"{prefix}.date", "Date it ended", "date", "Optional."),
    )


@dataclass(frozen=True)
class RowList:
    """A repeatable group of inputs, one row per element of a list of the record (added with htmx)."""

    kind: str  # in the URL of the empty-row fragment: /patients/<kind>-row
    path: str  # the record path of the list
    legend: str  # a row's legend: "<legend> <n>"
    add_label: str
    make: Callable[[int], tuple[FormField, ...]]

    def fields(self, index: int) -> tuple[FormField, ...]:
        return self.make(index)

    @property
    def key(self) -> re.Pattern[str]:
        return re.compile(re.escape(self.path) + r"\[(\d+)\]\.(\w+)")


RELAPSES = RowList("relapse", "relapses", "Relapse", "Add another relapse", relapse_fields)
COURSES = RowList("course", "exposures.courses", "Course", "Add a course", course_fields)
RADIATION = RowList("radiation", "exposures.radiation", "Radiation", "Add radiation", radiation_fields)
EXPOSURE_LISTS = (COURSES, RADIATION)
ROW_LISTS = {r.kind: r for r in (RELAPSES, *EXPOSURE_LISTS)}
