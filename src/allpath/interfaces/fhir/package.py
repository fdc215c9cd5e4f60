"""The second-opinion package of one patient record as a FHIR Bundle: the translation of the data the
application layer gathers (``allpath.service.record_package`` for a record given by the caller,
``allpath.service.patient_package`` for a stored patient's latest record) into one collection Bundle.
Pure: no I/O, nothing logged.
"""

from __future__ import annotations

from collections.abc import Mapping

from allpath.interfaces.fhir.elements import Resource
from allpath.interfaces.fhir.exporter import second_opinion_bundle
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import PackageData, record_package

MEDIA_TYPE = "application/fhir+json"


def package_bundle(package: PackageData) -> Resource:
    """The record, risk assessment, plan, roadmap (when the child has a regimen) and survivorship plan (when
    there is treatment to follow up) as one collection Bundle."""
    return second_opinion_bundle(
        package.record, package.assessment, survivorship=package.survivorship, roadmap=package.roadmap
    )


def second_opinion(record: Mapping[str, object], kb: KnowledgeBase) -> Resource:
    """The second-opinion Bundle of a record given as JSON (``RecordError`` if it is invalid)."""
    return package_bundle(record_package(kb, record))
