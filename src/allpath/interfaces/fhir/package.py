"""The second-opinion package of one patient record as a FHIR Bundle: the translation of the data the
application layer gathers (``allpath.service.record_package`` for a record given by the caller,
``allpath.service.patient_package`` for a stored patient's latest record) into one collection Bundle.
A stored patient's package also holds the trials to ask about when the trial registry holds studies
(``allpath.interfaces.fhir.research_study``). Pure: no I/O, nothing logged.
"""

from __future__ import annotations

from collections.abc import Mapping

from allpath.interfaces.fhir.elements import Resource
from allpath.interfaces.fhir.exporter import second_opinion_bundle
from allpath.interfaces.fhir.research_study import trial_entries
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import PackageData, record_package

MEDIA_TYPE = "application/fhir+json"


def package_bundle(package: PackageData) -> Resource:
    """The record, risk assessment, plan, roadmap (when the child has a regimen) and survivorship plan (when
    there is treatment to follow up) as one collection Bundle; then, when the package holds a trial search of
    a registry with studies, one ResearchStudy per study that may fit and the List "Trials to ask about"."""
    bundle = second_opinion_bundle(
        package.record, package.assessment, survivorship=package.survivorship, roadmap=package.roadmap
    )
    entries = bundle["entry"]
    if package.trials is not None and isinstance(entries, list):
        entries.extend(trial_entries(package.record, package.trials))
    return bundle


def second_opinion(record: Mapping[str, object], kb: KnowledgeBase) -> Resource:
    """The second-opinion Bundle of a record given as JSON (``RecordError`` if it is invalid); no trials: a
    record given by the caller is searched with ``allpath trials search`` or the trial search API."""
    return package_bundle(record_package(kb, record))
