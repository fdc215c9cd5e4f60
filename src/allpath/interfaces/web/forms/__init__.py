"""The patient record form: every field of patient record v1, to and from HTML form values.

The form adds nothing of its own to the record. An empty input is an absent field (never a default), a
number that does not read as a number is passed on as the text that was typed so that
``parse_record`` rejects it with the same message the JSON API gives, and each ``FieldProblem`` is
shown beside the input whose name is its record path (``wbc_per_ul``, ``response.day8_blood_mrd_pct``,
``relapses[0].sites``, ``exposures.courses[0].date``). Lists of objects (relapses, the courses and radiation
given) are rows of inputs that the page adds one at a time; empty rows are dropped.
"""

from __future__ import annotations

from allpath.interfaces.web.forms.checks import display_name_problem, record_problems, text_problems
from allpath.interfaces.web.forms.fields import (
    COURSES,
    DISPLAY_NAME,
    EXPOSURE_LISTS,
    RADIATION,
    RELAPSES,
    ROW_LISTS,
    FormField,
    RowList,
    Section,
    dom_id,
    record_sections,
    relapse_fields,
)
from allpath.interfaces.web.forms.local import (
    local_field,
    local_fields,
    local_rows,
    local_sections,
    problem_message,
)
from allpath.interfaces.web.forms.reading import (
    display_name_from,
    in_form_rows,
    record_from_form,
    relapse_rows_used,
    rows_on_screen,
    rows_used,
)
from allpath.interfaces.web.forms.showing import (
    Problem,
    field_names,
    form_values,
    list_rows,
    place_problems,
    relapse_rows,
    shown_number,
)

__all__ = [
    "COURSES",
    "DISPLAY_NAME",
    "EXPOSURE_LISTS",
    "RADIATION",
    "RELAPSES",
    "ROW_LISTS",
    "FormField",
    "Problem",
    "RowList",
    "Section",
    "display_name_from",
    "display_name_problem",
    "dom_id",
    "field_names",
    "form_values",
    "in_form_rows",
    "list_rows",
    "local_field",
    "local_fields",
    "local_rows",
    "local_sections",
    "place_problems",
    "problem_message",
    "record_from_form",
    "record_problems",
    "record_sections",
    "relapse_fields",
    "relapse_rows",
    "relapse_rows_used",
    "rows_on_screen",
    "rows_used",
    "shown_number",
    "text_problems",
]
