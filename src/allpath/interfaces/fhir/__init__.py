"""FHIR R4 import and export of patient records and assessments (see README, "FHIR").

Dependencies point one way: this package reads domain, knowledge and engine; only the CLI, the API and the web
app may import it. ``package.second_opinion`` builds the whole second-opinion Bundle of a record.
``fhir.resources`` (its R4B models, which read R4 payloads) is imported only by the importer (``validation``).
"""

from __future__ import annotations

from allpath.interfaces.fhir.exporter import (
    care_plan,
    patient_references,
    record_to_bundle,
    risk_observation,
    roadmap_care_plan,
    second_opinion_bundle,
    survivorship_care_plan,
)
from allpath.interfaces.fhir.importer import ImportResult, import_bundle

__all__ = [
    "ImportResult",
    "care_plan",
    "import_bundle",
    "patient_references",
    "record_to_bundle",
    "risk_observation",
    "roadmap_care_plan",
    "second_opinion_bundle",
    "survivorship_care_plan",
]
