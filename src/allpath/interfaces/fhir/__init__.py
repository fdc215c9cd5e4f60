"""FHIR R4 import and export of patient records and assessments (see README, "FHIR").

Dependencies point one way: this package reads domain, knowledge and engine; only the CLI and the API may
import it. ``fhir.resources`` (its R4B models, which read R4 payloads) is imported only by the importer.
"""

from __future__ import annotations

from allpath.interfaces.fhir.exporter import care_plan, record_to_bundle, risk_observation, second_opinion_bundle
from allpath.interfaces.fhir.importer import ImportResult, import_bundle

__all__ = [
    "ImportResult",
    "care_plan",
    "import_bundle",
    "record_to_bundle",
    "risk_observation",
    "second_opinion_bundle",
]
