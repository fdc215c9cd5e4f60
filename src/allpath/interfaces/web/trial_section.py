"""The "Trials to ask about" section of a child's pages (issue 13): the small search form read from the page's
address, the trial search of the service (``allpath.service.trial_search``, which audits it with counts only),
and its answer split into the studies that may fit and those that do not.

A form value that cannot be used (a place the gazetteers do not know, a distance that is not a number, an
unknown status) is a plain message naming the field, and the studies are then shown without the place: the
page never fails because of what someone typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import field as default_of
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode

from babel.numbers import format_decimal

from allpath.domain.results.trials import StatusFilter, TrialResult, TrialSearch
from allpath.errors import InputError
from allpath.interfaces.i18n import DEFAULT_LOCALE, current_locale, gettext, local_number, marked
from allpath.interfaces.report.trials import KM_PER_MILE, place_note
from allpath.service.trial_search import TrialSearchOptions, search_trials

if TYPE_CHECKING:
    from starlette.requests import Request

    from allpath.domain.record_model import PatientRecord
    from allpath.domain.results.assessment import Assessment
    from allpath.knowledge.loader import KnowledgeBase
    from allpath.service.patients import Latest
    from allpath.service.unit_of_work import UnitOfWork
    from allpath.settings import Settings

STATUS_CHOICES: Final[tuple[tuple[StatusFilter, str], ...]] = (
    ("open", marked("Open or about to open")),
    ("recruiting", marked("Recruiting now")),
    ("any", marked("Any status, closed ones too")),
)
# The words are translated where the page shows them (``|translated``).
FIELD_LABELS: Final = {"near": marked("Place"), "radius_km": marked("Distance"), "status": marked("Which studies")}
_STATUSES: Final[dict[str, StatusFilter]] = {value: value for value, _ in STATUS_CHOICES}
_LONGEST_PLACE = 100  # characters: longer than any city name with its state and country
_LONGEST_NUMBER = 20
_SERVICE_CHECKS = frozenset({"near", "radius_km"})  # the service audits its own refusals of these


@dataclass(frozen=True)
class TrialForm:
    """The search form as typed (text, so that the page shows back exactly what was given)."""

    near: str = ""
    radius_km: str = ""
    status: str = "open"

    @classmethod
    def of(cls, query: Mapping[str, str]) -> TrialForm:
        return cls(
            near=" ".join(query.get("near", "").split())[:_LONGEST_PLACE],
            radius_km=query.get("radius_km", "").strip()[:_LONGEST_NUMBER],
            status=query.get("status", "").strip()[:_LONGEST_NUMBER] or "open",
        )

    def options(self, outdated_after_days: int) -> TrialSearchOptions:
        """The service's options; ``InputError`` names the field a value of which cannot be used here (the
        service checks the place and the radius's range itself)."""
        status = _STATUSES.get(self.status)
        if status is None:
            raise InputError("status", marked("Choose open, recruiting now, or any status."))
        radius: float | None = None
        if self.radius_km:
            if not self.near:
                raise InputError(
                    "radius_km", marked("A distance needs a place to measure from. Give a ZIP code or a city.")
                )
            try:
                radius = float(self.radius_km)
            except ValueError:
                raise InputError("radius_km", marked("The distance is a number of kilometres, such as 500.")) from None
        return TrialSearchOptions(
            near=self.near or None, radius_km=radius, status=status, outdated_after_days=outdated_after_days
        )

    @property
    def query(self) -> str:
        """The form as the query of an address (empty when nothing differs from the defaults)."""
        given = {"near": self.near, "radius_km": self.radius_km, "status": "" if self.status == "open" else self.status}
        pairs = {name: value for name, value in given.items() if value}
        return urlencode(pairs)


@dataclass(frozen=True)
class TrialProblem:
    """A form value that could not be used: the field, its label on the page, and why in plain words: the
    message's template and its values (the service's words, such as an unknown place, included), written in
    the page's language when the page reads ``message``."""

    field: str
    label: str
    template: str
    params: Mapping[str, str] = default_of(default_factory=dict)

    @property
    def message(self) -> str:
        values = {name: _local_value(name, value) for name, value in self.params.items()}
        return _sentence(gettext(self.template) % values)


@dataclass(frozen=True)
class TrialSection:
    """What the section shows: the form as given, the search's answer, and the problem of the form, if any."""

    form: TrialForm
    search: TrialSearch
    problem: TrialProblem | None
    status_labels: Mapping[str, str]  # the registry's statuses in words (trials.yaml)

    @property
    def registry_empty(self) -> bool:
        return self.search["registry"]["studies"] == 0

    @property
    def fitting(self) -> list[TrialResult]:
        """The studies that may fit, best first (no criterion excludes the child)."""
        return [r for r in self.search["results"] if r["verdict"] != "not_eligible"]

    @property
    def not_fitting(self) -> list[TrialResult]:
        return [r for r in self.search["results"] if r["verdict"] == "not_eligible"]

    @property
    def status_choices(self) -> tuple[tuple[str, str], ...]:
        return STATUS_CHOICES

    @property
    def place_note(self) -> str:
        """Which of several places of the typed name the search measured from, in the page's language."""
        return place_note(self.search["place"])

    @staticmethod
    def distance(km: float) -> str:
        """A distance in kilometres and miles, whole units from 10 on, in the page's language (Spanish writes
        9,5 km and 6.808 km, Babel's way: an English 6,808 would read as 6.8)."""
        miles = km / KM_PER_MILE
        if current_locale() == DEFAULT_LOCALE:
            if km < 10:
                return f"{km:.1f} km ({miles:.1f} miles)"
            return f"{km:,.0f} km ({miles:,.0f} miles)"
        digits = 1 if km < 10 else 0
        shown = {"km": _local(km, digits), "miles": _local(miles, digits)}
        return gettext("%(km)s km (%(miles)s miles)") % shown


def trial_section(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    record: PatientRecord,
    assessment: Assessment,
    form: TrialForm,
    *,
    outdated_after_days: int,
    patient_id: str,
) -> TrialSection:
    """The section for one child: the search the form asks for, or (when a value of the form cannot be used)
    the search without the place, with the problem named. Every search is audited by the service."""
    today = datetime.now(UTC).date()
    labels = kb.trials.statuses.labels
    try:
        options = form.options(outdated_after_days)
    except InputError as error:
        uow.audit("search", "trials", patient_id, outcome="invalid", detail=error.field)
        problem = TrialProblem(error.field, FIELD_LABELS[error.field], error.template, error.params)
    else:
        try:
            search = search_trials(uow, kb, record, assessment, options, today, resource_id=patient_id)
            return TrialSection(form, search, None, labels)
        except InputError as error:
            if error.field not in _SERVICE_CHECKS:
                raise
            problem = TrialProblem(error.field, FIELD_LABELS[error.field], error.template, error.params)
    plain = replace(form, near="", radius_km="", status=form.status if form.status in _STATUSES else "open")
    search = search_trials(
        uow, kb, record, assessment, plain.options(outdated_after_days), today, resource_id=patient_id
    )
    return TrialSection(form, search, problem, labels)


def page_trials(request: Request, uow: UnitOfWork, kb: KnowledgeBase, now: Latest) -> TrialSection:
    """The section of a stored patient's latest record as the page's address asks for it (``near``,
    ``radius_km``, ``status``), with the settings' threshold for possibly outdated entries."""
    settings: Settings = request.app.state.settings
    return trial_section(
        uow,
        kb,
        now.record,
        now.assessment,
        TrialForm.of(request.query_params),
        outdated_after_days=settings.trials_outdated_days,
        patient_id=now.patient.id,
    )


def _local(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals, written the current locale's way."""
    return format_decimal(
        round(value, digits), format="#,##0" + ("." + "0" * digits if digits else ""), locale=current_locale()
    )


def _local_value(name: str, value: str) -> str:
    """A value of a problem's message in the page's language: the accepted forms of a place (words of the
    catalog) and a distance in kilometres (a number); what a person typed stays as typed."""
    if name == "forms":
        return gettext(value)
    return local_number(value) if name == "km" else value


def _sentence(message: str) -> str:
    """A message of the service as a sentence of the page (capital first, full stop last)."""
    text = message.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")
