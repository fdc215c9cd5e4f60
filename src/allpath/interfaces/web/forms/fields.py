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
from allpath.interfaces.i18n import marked
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
    "neurofibromatosis_1": marked("neurofibromatosis type 1"),
    "bloom": marked("Bloom syndrome"),
    "fanconi_anemia": marked("Fanconi anemia"),
    "ataxia_telangiectasia": marked("ataxia-telangiectasia"),
    "li_fraumeni": marked("Li-Fraumeni syndrome (TP53)"),
    "cmmrd": marked("constitutional mismatch repair deficiency (CMMRD)"),
}
_PHENOTYPE_LABELS = {
    "normal": marked("normal metabolizer"),
    "intermediate": marked("intermediate metabolizer"),
    "possible_intermediate": marked("possible intermediate metabolizer"),
    "poor": marked("poor metabolizer"),
    "indeterminate": marked("indeterminate"),
}
_RADIATION_LABELS = {
    "cranial": marked("cranial (brain)"),
    "craniospinal": marked("craniospinal (brain and spine)"),
    "chest": marked("chest (including the heart)"),
    "testicular": marked("testicular"),
    "total_body": marked("total body"),
}
_SITE_LABELS = {
    "bone_marrow": marked("bone marrow"),
    "cns": marked("brain and spinal cord (CNS)"),
    "testis": marked("testis"),
    "other": marked("other"),
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
    # A number's plausible range and the words after it: the hint is "Expected <range>. <note>", and a page in
    # another language writes it again from these (forms.local).
    limit: limits.Limit | None = None
    note: str = ""

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
    return FormField(
        name, label, "yesno", hint, (("", marked("not recorded")), ("true", marked("yes")), ("false", marked("no")))
    )


def _phenotype(name: str, label: str) -> FormField:
    choices = (("", marked("not recorded")), *((p, _PHENOTYPE_LABELS.get(p, p.replace("_", " "))) for p in PHENOTYPES))
    return FormField(name, label, "choice", marked("As the laboratory reports it (CPIC terms)."), choices)


def _limit_hint(limit: limits.Limit, extra: str = "") -> str:
    text = "Expected " + limit.describe() + "."
    return f"{text} {extra}".strip()


def _measured(name: str, label: str, limit: limits.Limit, note: str = "") -> FormField:
    """A number input with its plausible range as its hint."""
    return FormField(name, label, "number", _limit_hint(limit, note), limit=limit, note=note)


def record_sections(kb: KnowledgeBase) -> tuple[Section, ...]:
    """The sections of the record form, in the order a diagnosis unfolds."""
    genetics_labels = {t.id: t.label for t in kb.genetics.tokens}
    mrd_note = marked("Leave empty until the result is in.")
    return (
        Section(
            marked("Patient"),
            marked("Leave a field empty when it is not known: an empty field is listed as missing, never guessed."),
            (
                FormField(
                    DISPLAY_NAME,
                    marked("Name shown in allpath"),
                    "text",
                    marked("Shown to the care team and family."),
                    (),
                    True,
                ),
                FormField(
                    "id", marked("Record identifier (optional)"), "text", marked("Your own identifier for this record.")
                ),
                FormField(
                    "sex",
                    marked("Sex"),
                    "choice",
                    "",
                    (("", marked("not recorded")), ("female", marked("female")), ("male", marked("male"))),
                ),
                _measured("age_years", marked("Age at diagnosis (years)"), limits.AGE_YEARS),
                FormField(
                    "birth_date",
                    marked("Date of birth"),
                    "date",
                    marked(
                        "Instead of the age: with the date of diagnosis it gives the age. "
                        "Removed from research exports."
                    ),
                ),
                FormField(
                    "diagnosis_date",
                    marked("Date of diagnosis"),
                    "date",
                    marked("With the date of birth it gives the age at diagnosis."),
                ),
                _measured("weight_kg", marked("Weight (kg)"), limits.WEIGHT_KG),
                _measured("height_cm", marked("Height (cm)"), limits.HEIGHT_CM),
                _yesno("down_syndrome", marked("Down syndrome")),
                FormField(
                    "predisposition_syndromes",
                    marked("Inherited conditions that raise the risk of ALL"),
                    "tokens",
                    marked("Tick none when none is known: for this field no entry means none reported."),
                    tuple((t, _PREDISPOSITION_LABELS.get(t, t.replace("_", " "))) for t in PREDISPOSITION_TOKENS),
                ),
            ),
        ),
        Section(
            marked("Diagnosis"),
            marked("Results of the diagnostic work-up."),
            (
                FormField(
                    "immunophenotype",
                    marked("Lineage (immunophenotype)"),
                    "choice",
                    "",
                    (("", marked("not recorded")), ("B", marked("B cell")), ("T", marked("T cell"))),
                ),
                _measured(
                    "wbc_per_ul",
                    marked("White blood cell count at diagnosis (cells per microliter)"),
                    limits.WBC_PER_UL,
                    marked("For 12.5 x 10^9/L enter 12500."),
                ),
                FormField(
                    "genetics",
                    marked("Genetic changes of the leukemia cells"),
                    "tokens",
                    marked(
                        "Tick none while the results are pending; tick \u201cno recurrent change found\u201d when the "
                        "tests found none."
                    ),
                    tuple((t, genetics_labels.get(t, t)) for t in GENETIC_TOKENS),
                ),
                FormField(
                    "cns_status",
                    marked("CNS status (diagnostic lumbar puncture)"),
                    "choice",
                    "",
                    (("", marked("not recorded")), ("CNS1", "CNS1"), ("CNS2", "CNS2"), ("CNS3", "CNS3")),
                ),
                _yesno(
                    "testicular_involvement", marked("Testicular involvement at diagnosis"), marked("Not for girls.")
                ),
                _yesno("steroid_pretreatment", marked("Steroids given before the diagnostic work-up")),
            ),
        ),
        Section(
            marked("Treatment"),
            marked(
                "The dates place the phases, response tests and end of treatment on a calendar; the TPMT and NUDT15 "
                "results set the starting doses of mercaptopurine and thioguanine."
            ),
            (
                FormField(
                    "treatment_start_date",
                    marked("Treatment start date"),
                    "date",
                    marked("The first day of induction. Without it the roadmap has no dates."),
                ),
                FormField(
                    "end_of_therapy_date",
                    marked("End-of-therapy date"),
                    "date",
                    marked(
                        "The last day of treatment, once it is known; the follow-up after treatment counts from it."
                    ),
                ),
                _phenotype("pharmacogenomics.tpmt", marked("TPMT phenotype")),
                _phenotype("pharmacogenomics.nudt15", marked("NUDT15 phenotype")),
            ),
        ),
        Section(
            marked("Response to treatment"),
            marked("Minimal residual disease (MRD) in percent of cells."),
            (
                _measured("response.day8_blood_mrd_pct", marked("Day 8 blood MRD (%)"), limits.MRD_PCT, mrd_note),
                _measured(
                    "response.end_of_induction_marrow_mrd_pct",
                    marked("End-of-induction bone marrow MRD (%)"),
                    limits.MRD_PCT,
                    mrd_note,
                ),
                _yesno("response.end_of_induction_remission", marked("Remission at the end of induction")),
                _measured(
                    "response.end_of_consolidation_mrd_pct",
                    marked("End-of-consolidation MRD (%)"),
                    limits.MRD_PCT,
                    mrd_note,
                ),
            ),
        ),
        Section(
            marked("Refractory disease"),
            "",
            (_yesno("refractory", marked("Refractory (no response to the first treatment)")),),
        ),
    )


def relapse_fields(index: int) -> tuple[FormField, ...]:
    """The inputs of relapse number ``index + 1`` (relapses are listed oldest first)."""
    prefix = f"relapses[{index}]"
    return (
        _measured(f"{prefix}.months_from_diagnosis", marked("Months from diagnosis"), limits.RELAPSE_MONTHS),
        FormField(
            f"{prefix}.sites",
            marked("Sites"),
            "tokens",
            marked("At least one."),
            tuple((s, _SITE_LABELS.get(s, s)) for s in RELAPSE_SITES),
        ),
        _measured(
            f"{prefix}.end_of_block1_mrd_pct",
            marked("MRD after the first block of relapse treatment (%)"),
            limits.MRD_PCT,
            marked("Optional."),
        ),
    )


def course_fields(index: int) -> tuple[FormField, ...]:
    """The inputs of administered course number ``index + 1`` (``exposures.courses[index]``)."""
    prefix = f"exposures.courses[{index}]"
    return (
        FormField(
            f"{prefix}.drug",
            marked("Drug"),
            "choice",
            "",
            (("", marked("choose a drug")), *((d, d) for d in EXPOSURE_DRUGS)),
        ),
        FormField(f"{prefix}.date", marked("Date given"), "date"),
        _measured(
            f"{prefix}.dose_mg_per_m2",
            marked("Dose (mg/m2)"),
            limits.COURSE_DOSE_MG_PER_M2,
            marked("Needed for anthracyclines (the heart follow-up)."),
        ),
        _measured(f"{prefix}.dose_mg", marked("Dose (mg)"), limits.COURSE_DOSE_MG, marked("Optional.")),
        FormField(
            f"{prefix}.route",
            marked("Route"),
            "choice",
            "",
            (("", marked("not recorded")), *((r, r) for r in ROUTES)),
        ),
    )


def radiation_fields(index: int) -> tuple[FormField, ...]:
    """The inputs of radiation course number ``index + 1`` (``exposures.radiation[index]``)."""
    prefix = f"exposures.radiation[{index}]"
    return (
        FormField(
            f"{prefix}.site",
            marked("Site"),
            "choice",
            "",
            (("", marked("choose a site")), *((r, _RADIATION_LABELS.get(r, r)) for r in RADIATION_SITES)),
        ),
        _measured(f"{prefix}.dose_gy", marked("Total dose (Gy)"), limits.RADIATION_GY),
        FormField(f"{prefix}.date", marked("Date it ended"), "date", marked("Optional.")),
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


RELAPSES = RowList("relapse", "relapses", marked("Relapse"), marked("Add another relapse"), relapse_fields)
COURSES = RowList("course", "exposures.courses", marked("Course"), marked("Add a course"), course_fields)
RADIATION = RowList("radiation", "exposures.radiation", marked("Radiation"), marked("Add radiation"), radiation_fields)
EXPOSURE_LISTS = (COURSES, RADIATION)
ROW_LISTS = {r.kind: r for r in (RELAPSES, *EXPOSURE_LISTS)}
