"""Schema of ``text.yaml``: the disclaimers and the plain-language pieces of the family report."""

from __future__ import annotations

from pydantic import BaseModel, model_validator

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
    whole length in words), ``{first_weeks}`` and ``{more_years}`` (the years after the first parts, in words:
    "2 more years", "1 more year"); ``without_regimen`` when no regimen applies."""

    model_config = _FROZEN
    cite: Cite
    with_regimen: str
    without_regimen: str


class SurvivorshipStart(BaseModel):
    """When a check-up after treatment starts, in words: ``after_exposure`` is filled with ``{years}`` (after the
    last anthracycline or chest radiation), ``between_ages`` with ``{earliest}`` and ``{latest}`` (ages in
    years); the survivorship engine writes them from survivorship.yaml's numbers."""

    model_config = _FROZEN
    after_exposure: str
    between_ages: str


class RelapseWords(BaseModel):
    """The relapse group said plainly (``{group}`` is filled in) and the chemotherapy of relapse named."""

    model_config = _FROZEN
    cite: Cite
    group_sentence: str
    group_words: dict[str, str]
    group_unknown: str
    chemotherapy: str
    tests: list[str]


class TrialStatusMeaning(BaseModel):
    """What a study's recruitment status means for a family, by the status filter's groups (trials.yaml)."""

    model_config = _FROZEN
    recruiting: str
    open: str
    closed: str
    unknown: str


class TrialSection(BaseModel):
    """The "Trials to ask about" section (``interfaces/report/trials.py``); ``{...}`` is filled in.
    ``fits_points`` and ``unknown_points`` are keyed by a trial criterion's name; a criterion with no entry is
    left out of "why it may fit" and said as ``unknown_points["other"]`` when it is still to check."""

    model_config = _FROZEN
    heading: str
    intro: str
    place: str
    no_place: str
    radius: str
    study: str
    summary: str
    site: str
    no_site_near: str
    status: str
    status_meaning: TrialStatusMeaning
    updated: str
    outdated_no_date: str
    fits: str
    fits_points: dict[str, str]
    unknown: str
    unknown_points: dict[str, str]
    link: str
    nothing_fits: str
    nothing_fits_ask: str
    registry_empty: str
    how_to_ask: str
    confirm: str

    @model_validator(mode="after")
    def _other_point(self) -> TrialSection:
        if "other" not in self.unknown_points:
            raise ValueError("unknown_points needs an 'other' entry for a criterion it does not name")
        return self


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
    survivorship_start: SurvivorshipStart
    relapse: RelapseWords
    trials_section: TrialSection
