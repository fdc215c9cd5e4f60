"""The family report of one child as an HTML page and as a PDF (WeasyPrint).

Both are rendered from ``allpath.interfaces.report.build_blocks``, the same blocks as the CLI's text and
Markdown reports, so every format says the same thing. The PDF is made from a self-contained HTML
document (no fonts, images or styles fetched from anywhere) with the print style sheet of this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from allpath.interfaces.report import Block, build_blocks
from allpath.interfaces.web.pages import STATIC_DIR, templates
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import UnitOfWork, care_overview, latest
from allpath.service.stored import Patient

PDF_STYLESHEET = STATIC_DIR / "report-print.css"


@dataclass(frozen=True)
class FamilyReport:
    patient_id: str
    display_name: str
    version: int
    assessed_at: datetime
    blocks: list[Block]
    knowledge_version: str
    calendar: bool = False  # the roadmap is dated: its calendar (.ics) can be downloaded

    @property
    def title(self) -> str:
        first = self.blocks[0] if self.blocks and self.blocks[0].kind == "title" else None
        return first.text if first else "allpath family report"

    @property
    def body(self) -> list[Block]:
        """The blocks after the title (the title is the page's heading)."""
        return self.blocks[1:] if self.blocks and self.blocks[0].kind == "title" else self.blocks

    @property
    def filename(self) -> str:
        return f"allpath-family-report-v{self.version}.pdf"


def family_report(s: Session, kb: KnowledgeBase, patient: Patient) -> FamilyReport:
    """The report of the patient's latest record, assessed afresh under the running knowledge base (the rule
    for every view of a stored patient, ``allpath.service``), with the roadmap and the follow-up after
    treatment (never the doses)."""
    now = latest(UnitOfWork(s, None), kb, patient)
    treatment = care_overview(kb, now.record, assessment=now.assessment)
    roadmap = treatment["roadmap"]
    return FamilyReport(
        patient_id=patient.id,
        display_name=patient.display_name,
        version=now.version.version,
        assessed_at=now.stored.created_at,
        blocks=build_blocks(now.assessment, kb, treatment=treatment, child_name=patient.display_name),
        knowledge_version=now.assessment["knowledge_version"],
        calendar=bool(roadmap["regimen"] and roadmap["start_date"]),
    )


def report_html_document(report: FamilyReport, disclaimer: str) -> str:
    """A complete, self-contained HTML document of the report (the source of the PDF)."""
    return templates.get_template("report_document.html").render(report=report, disclaimer=disclaimer)


def report_pdf(report: FamilyReport, disclaimer: str) -> bytes:
    """The report as a tagged PDF (PDF/UA), with the print style sheet."""
    import weasyprint  # type: ignore[import-untyped]  # imported here: loading it takes a moment

    document = weasyprint.HTML(string=report_html_document(report, disclaimer), base_url=str(STATIC_DIR))
    pdf: bytes = document.write_pdf(
        stylesheets=[weasyprint.CSS(filename=str(PDF_STYLESHEET))],
        pdf_variant="pdf/ua-1",
    )
    return pdf
