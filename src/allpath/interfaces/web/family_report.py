"""The family report of one child as an HTML page and as a PDF (WeasyPrint).

Both are rendered from ``allpath.interfaces.report.build_blocks``, the same blocks as the CLI's text and
Markdown reports, so every format says the same thing. The PDF is made from a self-contained HTML
document (no fonts, images or styles fetched from anywhere) with the print style sheet of this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from allpath.interfaces.i18n import DEFAULT_LOCALE, use_locale
from allpath.interfaces.report import Block, build_blocks
from allpath.interfaces.web.pages import STATIC_DIR, templates
from allpath.interfaces.web.trial_section import TrialForm, TrialSection, trial_section
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import UnitOfWork, care_overview, latest
from allpath.service.stored import Patient
from allpath.service.trial_search import DEFAULT_OUTDATED_AFTER_DAYS

PDF_STYLESHEET = STATIC_DIR / "report-print.css"


@dataclass(frozen=True)
class FamilyReport:
    patient_id: str
    display_name: str
    version: int
    assessed_at: datetime
    blocks: list[Block]
    knowledge_version: str
    trials: TrialSection  # the trial search of the report (its form and any problem with it are for the page)
    trials_heading: str  # the heading of the trials section among the blocks
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
    def body_parts(self) -> tuple[list[Block], list[Block], list[Block]]:
        """The body in three: before the trials section, the section (its heading up to the next heading), and
        after it; the page puts the section's search form after its words."""
        body = self.body
        start = next((i for i, b in enumerate(body) if b.kind == "heading" and b.text == self.trials_heading), None)
        if start is None:
            return body, [], []
        end = next((i for i in range(start + 1, len(body)) if body[i].kind == "heading"), len(body))
        return body[:start], body[start:end], body[end:]

    @property
    def filename(self) -> str:
        return f"allpath-family-report-v{self.version}.pdf"


def family_report(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    patient: Patient,
    trials: TrialForm | None = None,
    *,
    outdated_after_days: int = DEFAULT_OUTDATED_AFTER_DAYS,
) -> FamilyReport:
    """The report of the patient's latest record, assessed afresh under the running knowledge base (the rule
    for every view of a stored patient, ``allpath.service``), with the roadmap and the follow-up after
    treatment (never the doses), and the trials to ask about: the search ``trials`` asks for (by default the
    open studies, without a place), audited by the trial search with counts only."""
    now = latest(uow, kb, patient)
    treatment = care_overview(kb, now.record, assessment=now.assessment)
    roadmap = treatment["roadmap"]
    section = trial_section(
        uow,
        kb,
        now.record,
        now.assessment,
        trials or TrialForm(),
        outdated_after_days=outdated_after_days,
        patient_id=patient.id,
    )
    blocks = build_blocks(
        now.assessment, kb, treatment=treatment, child_name=patient.display_name, trials=section.search
    )
    return FamilyReport(
        patient_id=patient.id,
        display_name=patient.display_name,
        version=now.version.version,
        assessed_at=now.stored.created_at,
        blocks=blocks,
        knowledge_version=now.assessment["knowledge_version"],
        trials=section,
        trials_heading=kb.text.trials_section.heading,
        calendar=bool(roadmap["regimen"] and roadmap["start_date"]),
    )


def report_html_document(report: FamilyReport, disclaimer: str, locale: str = DEFAULT_LOCALE) -> str:
    """A complete, self-contained HTML document of the report (the source of the PDF), in ``locale``."""
    with use_locale(locale):
        return templates.get_template("report_document.html").render(report=report, disclaimer=disclaimer, lang=locale)


def report_pdf(report: FamilyReport, disclaimer: str, locale: str = DEFAULT_LOCALE) -> bytes:
    """The report as a tagged PDF (PDF/UA), with the print style sheet."""
    import weasyprint  # type: ignore[import-untyped]  # imported here: loading it takes a moment

    document = weasyprint.HTML(string=report_html_document(report, disclaimer, locale), base_url=str(STATIC_DIR))
    pdf: bytes = document.write_pdf(
        stylesheets=[weasyprint.CSS(filename=str(PDF_STYLESHEET))],
        pdf_variant="pdf/ua-1",
    )
    return pdf
