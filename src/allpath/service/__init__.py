"""The application layer of allpath: one function per use case, below every interface.

The CLI, the JSON API, the web app, CDS Hooks and the FHIR translators call these functions and only translate
in and out. Each use case stamps ``knowledge_version`` and ``engine_version`` once, here, and records its own
audit entry through ``UnitOfWork.audit`` (who, what, which resource; never patient data). The HTTP kernel
creates one ``UnitOfWork`` per request and commits it (or rolls it back, keeping the audit entries of the
failed request: ``UnitOfWork.fail``); a command line without a database passes no unit of work and nothing
is written.

**The rule for views of a stored patient.** Every view of a stored patient (the web pages, the API's
roadmap, calendar, doses, survivorship and care overview, the FHIR second-opinion package, the family
report) is made from a *fresh* assessment of the patient's latest record version under the running knowledge
base, labelled with the knowledge and engine versions it used. The stored assessments are the history: what
was concluded, under which knowledge, when each version was stored. When the latest stored assessment was
made under another knowledge version than the running one, the view says so (``Latest.knowledge_changed``,
``Latest.stored_knowledge_version``), so that a reader knows the answer may differ from the one stored. Two
views of one child at one moment therefore always agree, whatever the interface.

Use cases (each documented where it is defined):

* stateless, on a record given by the caller: ``assess_record``, ``record_roadmap``, ``record_doses``,
  ``record_survivorship``, ``care_overview``, ``record_package``;
* storing: ``create_patient``, ``store_version`` (a new record version with its assessment, the change
  explanation and the audit entry);
* views of a stored patient: ``latest``, ``patient_roadmap``, ``patient_calendar``, ``patient_doses``,
  ``patient_survivorship``, ``patient_care_overview``, ``patient_package``;
* CDS Hooks: ``hook_patient_view``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from allpath.service.hooks import PatientViewAnswer, hook_patient_view
    from allpath.service.patients import (
        Latest,
        create_patient,
        latest,
        patient_calendar,
        patient_care_overview,
        patient_doses,
        patient_package,
        patient_roadmap,
        patient_survivorship,
        store_version,
    )
    from allpath.service.records import (
        PackageData,
        assess_record,
        care_overview,
        record_doses,
        record_package,
        record_roadmap,
        record_survivorship,
    )

from allpath.service.unit_of_work import UnitOfWork, unit_of_work

# Each name is imported from its module when it is first used, not here: the command line imports the
# stateless use cases (``records``) and must start fast (benchmarks/bench_cli.py: <= 0.5 s), while the
# stored-patient use cases bring SQLAlchemy (about 0.35 s of imports) with them. (``unit_of_work`` is imported
# here: its name is also its module's, which a lazy look-up would return instead of the function.)
_MODULE_OF = {
    "PatientViewAnswer": "hooks",
    "hook_patient_view": "hooks",
    **dict.fromkeys(
        (
            "Latest",
            "create_patient",
            "latest",
            "patient_calendar",
            "patient_care_overview",
            "patient_doses",
            "patient_package",
            "patient_roadmap",
            "patient_survivorship",
            "store_version",
        ),
        "patients",
    ),
    **dict.fromkeys(
        (
            "PackageData",
            "assess_record",
            "care_overview",
            "record_doses",
            "record_package",
            "record_roadmap",
            "record_survivorship",
        ),
        "records",
    ),
}


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found once: later look-ups (one per POST /api/assess) are the module's own
    return value


__all__ = [
    "Latest",
    "PackageData",
    "PatientViewAnswer",
    "UnitOfWork",
    "assess_record",
    "care_overview",
    "create_patient",
    "hook_patient_view",
    "latest",
    "patient_calendar",
    "patient_care_overview",
    "patient_doses",
    "patient_package",
    "patient_roadmap",
    "patient_survivorship",
    "record_doses",
    "record_package",
    "record_roadmap",
    "record_survivorship",
    "store_version",
    "unit_of_work",
]
