"""The record form covers patient record v1: every example record survives a trip through the form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import FormData, UploadFile

from allpath.domain.record import parse_record
from allpath.domain.record_model import FIELD_NAMES, Course, Pharmacogenomics, Radiation, Relapse, Response
from allpath.engine.diff import changed_fields
from allpath.errors import FieldProblem
from allpath.interfaces.web import forms
from allpath.knowledge.loader import KnowledgeBase
from tests.conftest import EXAMPLES

RECORDS = sorted(p for p in EXAMPLES.glob("*.json") if p.name != "all.json")


def _submitted(values: dict[str, Any]) -> FormData:
    """The form a browser submits for these input values (a checkbox list: one entry per ticked box)."""
    items: list[tuple[str, str | UploadFile]] = []
    for name, value in values.items():
        if isinstance(value, list):
            items.extend((name, v) for v in value)
        else:
            items.append((name, value))
    return FormData(items)


def test_the_form_has_an_input_for_every_record_field(kb: KnowledgeBase) -> None:
    names = forms.field_names(kb, 1)
    top = set(FIELD_NAMES) - {"response", "relapses", "pharmacogenomics", "exposures"}
    assert top <= names
    assert {f"response.{f}" for f in Response.model_fields} <= names
    assert {f"relapses[0].{f}" for f in Relapse.model_fields} <= names
    assert {f"pharmacogenomics.{f}" for f in Pharmacogenomics.model_fields} <= names
    assert {f"exposures.courses[0].{f}" for f in Course.model_fields} <= names
    assert {f"exposures.radiation[0].{f}" for f in Radiation.model_fields} <= names


TREATMENT = {
    "sex": "male",
    "age_years": 4.2,
    "treatment_start_date": "2026-01-05",
    "end_of_therapy_date": "2028-03-01",
    "pharmacogenomics": {"tpmt": "intermediate", "nudt15": "normal"},
    "exposures": {
        "courses": [
            {
                "drug": "doxorubicin",
                "date": "2026-04-27",
                "dose_mg_per_m2": 25,
                "dose_mg": 17.5,
                "route": "intravenous",
            },
            {"drug": "vincristine", "date": "2026-04-27", "dose_mg": 1.05},
        ],
        "radiation": [{"site": "testicular", "dose_gy": 24, "date": "2026-05-01"}, {"site": "chest"}],
    },
}


def test_treatment_fields_survive_the_form(kb: KnowledgeBase) -> None:
    parse_record(TREATMENT)
    values = forms.form_values(kb, TREATMENT)
    assert values["pharmacogenomics.tpmt"] == "intermediate"
    assert values["exposures.courses[1].dose_mg"] == "1.05"
    assert values["exposures.radiation[1].site"] == "chest"
    again = forms.record_from_form(kb, _submitted(values), TREATMENT)
    assert changed_fields(TREATMENT, again) == []
    assert again == TREATMENT


def test_unused_course_rows_are_dropped_and_problems_go_to_their_row(kb: KnowledgeBase) -> None:
    submitted = _submitted(
        {
            "exposures.courses[0].drug": "",
            "exposures.courses[1].drug": "daunorubicin",
            "exposures.courses[1].dose_mg_per_m2": "25",
            "exposures.radiation[0].site": "",
        }
    )
    record = forms.record_from_form(kb, submitted)
    assert record == {"exposures": {"courses": [{"drug": "daunorubicin", "dose_mg_per_m2": 25}]}}
    used = forms.rows_used(submitted, forms.COURSES)
    assert used == [1]
    moved = forms.in_form_rows(
        [FieldProblem("exposures.courses[0].date", None, "a date"), FieldProblem("relapses[0].sites", [], "x")],
        used,
        "exposures.courses",
    )
    assert [p.field for p in moved] == ["exposures.courses[1].date", "relapses[0].sites"]


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_every_example_survives_the_form(kb: KnowledgeBase, path: Path) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    values = forms.form_values(kb, record, "A name")
    again = forms.record_from_form(kb, _submitted(values), record)
    assert changed_fields(record, again) == []
    assert set(again) == {k for k, v in record.items() if v is not None}
    assert forms.display_name_from(_submitted(values)) == "A name"


def test_empty_inputs_are_absent_never_defaults(kb: KnowledgeBase) -> None:
    values = forms.form_values(kb, {})
    assert forms.record_from_form(kb, _submitted(values)) == {}


def test_numbers_as_typed(kb: KnowledgeBase) -> None:
    submitted = _submitted(
        {"wbc_per_ul": " 12500 ", "age_years": "4.5", "response.day8_blood_mrd_pct": "1e-05", "weight_kg": "12,5"}
    )
    record = forms.record_from_form(kb, submitted)
    assert record["wbc_per_ul"] == 12500 and isinstance(record["wbc_per_ul"], int)
    assert record["age_years"] == 4.5
    assert record["response"] == {"day8_blood_mrd_pct": 1e-05}
    assert record["weight_kg"] == "12,5"  # passed on as typed: the validator names the field
    assert forms.shown_number(1e-05) == "0.00001"
    assert forms.shown_number(8500.0) == "8500"


def test_unused_relapse_rows_are_dropped_and_rows_close_up(kb: KnowledgeBase) -> None:
    submitted = _submitted(
        {
            "relapses[0].months_from_diagnosis": "",
            "relapses[1].months_from_diagnosis": "40",
            "relapses[1].sites": ["bone_marrow", "cns"],
            "relapses[2].months_from_diagnosis": "",
        }
    )
    record = forms.record_from_form(kb, submitted)
    assert record["relapses"] == [{"months_from_diagnosis": 40, "sites": ["bone_marrow", "cns"]}]


def test_problems_are_placed_under_their_input(kb: KnowledgeBase) -> None:
    names = forms.field_names(kb, 2)
    by_field, summary = forms.place_problems(
        [
            FieldProblem("genetics[1]", "x", "a token"),
            FieldProblem("relapses[1].sites[0]", "x", "a site"),
            FieldProblem("record", 1, "an object"),
        ],
        names,
    )
    assert set(by_field) == {"genetics", "relapses[1].sites"}
    assert [p.anchor for p in summary] == ["f-genetics", "f-relapses-1-sites", "record-errors"]


def test_control_characters_are_refused(kb: KnowledgeBase) -> None:
    assert forms.display_name_problem("a\x00b") is not None
    assert forms.display_name_problem("Ana") is None
    assert [p.field for p in forms.text_problems({"id": "a\x00", "response": {"x": "ok"}})] == ["id"]


def test_live_messages_go_to_the_rows_on_the_screen(kb: KnowledgeBase) -> None:
    submitted = _submitted({"relapses[0].months_from_diagnosis": "", "relapses[1].months_from_diagnosis": "-1"})
    used = forms.relapse_rows_used(submitted)
    assert used == [1]
    moved = forms.in_form_rows([FieldProblem("relapses[0].months_from_diagnosis", -1, "x")], used)
    assert moved[0].field == "relapses[1].months_from_diagnosis"


def test_one_word_in_a_number_box_does_not_hide_the_other_problems(kb: KnowledgeBase) -> None:
    form = _submitted(
        {"age_years": "four", "wbc_per_ul": "-5", "response.day8_blood_mrd_pct": "101", "immunophenotype": "B"}
    )
    problems = forms.record_problems(forms.record_from_form(kb, form))
    assert [p.field for p in problems] == ["age_years", "wbc_per_ul", "response.day8_blood_mrd_pct"]


def test_a_wrong_relapse_row_does_not_hide_a_value_out_of_range(kb: KnowledgeBase) -> None:
    form = _submitted(
        {
            "relapses[0].sites": ["bone_marrow"],
            "relapses[0].months_from_diagnosis": "soon",
            "wbc_per_ul": "3000000",
        }
    )
    fields = [p.field for p in forms.record_problems(forms.record_from_form(kb, form))]
    assert fields == ["relapses[0].months_from_diagnosis", "wbc_per_ul"]


def test_values_at_the_limits_are_no_problem_and_one_past_is(kb: KnowledgeBase) -> None:
    at_limits = _submitted({"wbc_per_ul": "2000000", "response.day8_blood_mrd_pct": "100", "age_years": "x"})
    assert [p.field for p in forms.record_problems(forms.record_from_form(kb, at_limits))] == ["age_years"]
    past = _submitted({"wbc_per_ul": "2000001", "response.day8_blood_mrd_pct": "100.01", "age_years": "x"})
    assert [p.field for p in forms.record_problems(forms.record_from_form(kb, past))] == [
        "age_years",
        "wbc_per_ul",
        "response.day8_blood_mrd_pct",
    ]


def test_a_valid_form_has_no_problems(kb: KnowledgeBase) -> None:
    form = _submitted({"age_years": "4", "wbc_per_ul": "8500", "immunophenotype": "B"})
    assert forms.record_problems(forms.record_from_form(kb, form)) == []
