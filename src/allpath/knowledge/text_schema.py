"""Schema of ``text.yaml``: the disclaimers and the plain-language pieces of the family report."""

from __future__ import annotations

from pydantic import BaseModel

from allpath.knowledge.cite import FROZEN as _FROZEN
from allpath.knowledge.cite import Cite


class CitedList(BaseModel):
    model_config = _FROZEN
    cite: Cite
    items: list[str]


class CitedText(BaseModel):
    model_config = _FROZEN
    cite: Cite
    text: str


class CitedBox(CitedList):
    """A box of instructions with its own title (the fever box of the family report)."""

    title: str


class GlossaryItem(BaseModel):
    model_config = _FROZEN
    term: str
    meaning: str


class CitedMeanings(BaseModel):
    """Plain sentences keyed by a code (a COG group, a genetic finding), with the source they rest on."""

    model_config = _FROZEN
    cite: Cite
    meanings: dict[str, str]


class TreatmentLength(BaseModel):
    """How long treatment lasts, in the family report: ``with_regimen`` is filled with ``{total}`` (the
    whole length in words), ``{first_weeks}`` and ``{years}``; ``without_regimen`` when no regimen applies."""

    model_config = _FROZEN
    cite: Cite
    with_regimen: str
    without_regimen: str


class RelapseWords(BaseModel):
    """The relapse group said plainly (``{group}`` is filled in) and the chemotherapy of relapse named."""

    model_config = _FROZEN
    cite: Cite
    group_sentence: str
    group_words: dict[str, str]
    group_unknown: str
    chemotherapy: str
    tests: list[str]


class TextFile(BaseModel):
    model_config = _FROZEN
    disclaimer: str
    family_disclaimer: str
    risk_group_meaning: dict[str, str]
    relapse_risk_meaning: dict[str, str]
    relapse_site_labels: dict[str, str]
    disease_state_meaning: dict[str, str]
    fever_during_treatment: CitedBox
    symptoms_to_report: CitedList
    care_team: CitedList
    support: CitedText
    questions_to_ask: list[str]
    glossary: list[GlossaryItem]
    scheme_comparison_id: str  # the id of the factor that explains a difference between the two schemes
    scheme_correspondence: dict[str, str]
    cog_risk_group_meaning: CitedMeanings
    genetic_results: CitedMeanings
    treatment_length: TreatmentLength
    relapse: RelapseWords
