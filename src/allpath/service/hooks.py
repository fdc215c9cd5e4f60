"""CDS Hooks use cases: what the ``patient-view`` hook answers from the EHR's data of one child.

The CDS interface turns the EHR's FHIR resources into a patient record (the FHIR importer) and the answer
below into cards. Nothing is stored; the CDS route audits the call with the number of cards it answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from allpath.domain.record_model import PatientRecord
from allpath.domain.results import Assessment
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.records import DosesView, RoadmapView, checked, doses_of, roadmap_of, stamped_assessment


@dataclass(frozen=True)
class PatientViewAnswer:
    """The assessment of the child's record and its roadmap, under one knowledge base."""

    kb: KnowledgeBase
    record: PatientRecord
    assessment: Assessment
    roadmap: RoadmapView

    def doses(self, phase: str, on: date) -> DosesView:
        """The doses of a phase of the child's regimen on a day (``DoseError`` names the missing input)."""
        return doses_of(self.record, self.kb, self.roadmap, phase, on=on)


def hook_patient_view(kb: KnowledgeBase, record: Mapping[str, object]) -> PatientViewAnswer:
    """Assess the record made from the EHR's data and build its roadmap (``RecordError`` if it is invalid)."""
    parsed = checked(record)
    assessment = stamped_assessment(parsed, kb)
    return PatientViewAnswer(kb, parsed, assessment, roadmap_of(parsed, kb, assessment))
