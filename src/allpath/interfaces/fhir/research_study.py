"""The trials to ask about in a stored patient's second-opinion package (issue 13): one R4 ``ResearchStudy`` per
study of the trial search that may fit the child (verdict ``eligible`` or ``possibly``), and a ``List`` titled
"Trials to ask about" whose entries reference them, best first.

Choices, each for a reason (the codes and their sources are in ``fhir_codes.yaml`` under ``research_study``):

- **A List references the studies.** R4 has no element of the Patient, Condition or CarePlan that names a
  study a patient might join (``ResearchSubject`` would say the child is enrolled, which is false). A
  ``List`` (status current, mode snapshot, subject the Patient) may reference any resource; each entry's
  ``flag`` says in words how the study may fit, and the List's note says that only the care team, with the
  study team, can confirm whether the child can join. When the registry holds studies but none may fit, the
  List is written without entries and says so (``emptyReason`` is not used: its only fitting code,
  ``nilknown``, is a clinical user's statement, not a computer's); when the registry is empty there is neither
  a List nor a study.
- **Identifier:** the NCT number under the HL7 Terminology identifier system for ClinicalTrials.gov; the
  sponsor's own protocol id (e.g. AALL1731) as a secondary identifier without a system (the sponsor's
  namespace has none).
- **Status** (required in R4): the registry's overall status mapped to the closest R4 code; the registry's own
  words are kept in a note. A study whose status has no R4 code that would not mislead (AVAILABLE, WITHHELD,
  UNKNOWN) or gives none is left out, and the List says how many were left out.
- **Phase:** written only for a registry phase list the mapping names (one phase, or phases 1+2 or 2+3).
- **Condition:** the registry's conditions as text only: a code would be a guess.
- **Sites:** left out. The package's search is made without a place, so there is no nearest site, and a study
  lists up to hundreds of sites: the registry page (``relatedArtifact``) lists them, and the note says how many.
- **Registry date:** every ResearchStudy and the List carry a note dated with the registry's snapshot date
  (``Annotation.time``; ``meta.lastUpdated`` would need a time of day the snapshot date does not have).

Pure: no I/O, nothing logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from html import escape

from allpath.domain.results.trials import TrialResult, TrialSearch
from allpath.interfaces.fhir.bundle import entry_url, patient_references
from allpath.interfaces.fhir.elements import Resource
from allpath.interfaces.fhir.narrative import XHTML
from allpath.knowledge.fhir_codes_schema import ResearchStudySpec
from allpath.knowledge.loader import load_knowledge

LIST_TITLE = "Trials to ask about"
REGISTRY = "ClinicalTrials.gov"
CONFIRM = "Only the care team, with the study team, can confirm whether the child can join."
_FIT_WORDS = {
    "eligible": "May fit: nothing in the record rules it out.",
    "possibly": "May fit: some facts could not be checked from the record.",
}
_FLAG_WORDS = {"eligible": "May fit", "possibly": "May fit; some facts could not be checked"}


@cache
def _spec() -> ResearchStudySpec:
    return load_knowledge().fhir_codes.research_study


def r4_status(overall_status: str | None) -> str | None:
    """The R4 ResearchStudy.status of a registry overall status, or None when it has no R4 code that would not
    mislead (the study is then left out of the package)."""
    mapped = _spec().statuses.get(overall_status or "")
    return mapped.code if mapped is not None else None


def r4_phase(phases: list[str]) -> Resource | None:
    """The R4 ResearchStudy.phase of a study's registry phases, or None when the mapping does not name them."""
    spec = _spec()
    for entry in spec.phases:
        if sorted(entry.registry) == sorted(phases):
            coding = {"system": spec.phase_system, "code": entry.code, "display": entry.display}
            return {"coding": [coding], "text": entry.display}
    return None


def _narrative(*sentences: str) -> Resource:
    words = " ".join(s for s in sentences if s)
    return {"status": "generated", "div": f'<div xmlns="{XHTML}"><p>{escape(words, quote=False)}</p></div>'}


def _registry_words(result: TrialResult) -> str:
    status = next((c["study_value"] for c in result["criteria"] if c["criterion"] == "status"), None)
    said = [f"Registry status: {status or 'not given'}."]
    if result["last_update"]:
        outdated = " and may be out of date" if result["possibly_outdated"] else ""
        said.append(f"The registry entry was last updated on {result['last_update']}{outdated}.")
    else:
        said.append("The registry entry gives no update date and may be out of date.")
    sites = result["sites"]
    if sites:
        said.append(f"The registry lists {sites} site{'s' if sites != 1 else ''}; its page gives the addresses.")
    return " ".join(said)


def _child_words(result: TrialResult) -> str:
    unknown = [c["explanation"] for c in result["criteria"] if c["outcome"] == "unknown"]
    said = [_FIT_WORDS.get(result["verdict"], ""), *unknown, CONFIRM]
    return " ".join(s for s in said if s)


def _note(text: str, snapshot_date: str | None) -> Resource:
    return {"time": snapshot_date, "text": text} if snapshot_date else {"text": text}


def research_study(result: TrialResult, status: str, snapshot_date: str | None) -> Resource:
    """One study of the search as an R4 ResearchStudy (``status``: its R4 status, see ``r4_status``)."""
    nct_id = str(result["nct_id"])
    identifiers: list[Resource] = [{"use": "official", "system": _spec().nct_identifier.system, "value": nct_id}]
    if result["org_study_id"]:
        identifiers.append({"use": "secondary", "value": result["org_study_id"]})
    title = result["title"] or nct_id
    registry_note = f"From the {REGISTRY} registry as allpath held it on {snapshot_date or 'an unknown date'}."
    study: Resource = {
        "resourceType": "ResearchStudy",
        "text": _narrative(f"{title} ({nct_id}).", registry_note, _registry_words(result), _child_words(result)),
        "identifier": identifiers,
        "title": title,
        "status": status,
    }
    phase = r4_phase(result["phases"])
    if phase is not None:
        study["phase"] = phase
    conditions = result.get("conditions") or []
    if conditions:
        study["condition"] = [{"text": condition} for condition in conditions]
    if result["registry_url"]:
        study["relatedArtifact"] = [{"type": "documentation", "label": REGISTRY, "url": result["registry_url"]}]
    if result["brief_summary"]:
        study["description"] = result["brief_summary"]
    study["note"] = [
        _note(f"{registry_note} {_registry_words(result)}", snapshot_date),
        _note(f"For this child on the search date: {_child_words(result)}", snapshot_date),
    ]
    return study


def _list(record: Mapping[str, object], search: TrialSearch, entries: list[Resource], left_out: int) -> Resource:
    snapshot_date = search["registry"]["snapshot_date"]
    said = [
        f"Studies of the {REGISTRY} registry as allpath held it on {snapshot_date or 'an unknown date'} that may "
        f"fit this child on {search['searched_on']}, best first."
    ]
    if not entries:
        said.append("No study of the registry may fit.")
    if left_out:
        said.append(
            f"{left_out} more may fit but {'has' if left_out == 1 else 'have'} a registry status with no FHIR R4 "
            "counterpart; the trial search shows them."
        )
    said.append(CONFIRM)
    text = " ".join(said)
    resource: Resource = {
        "resourceType": "List",
        "text": _narrative(f"{LIST_TITLE}.", text),
        "status": "current",
        "mode": "snapshot",
        "title": LIST_TITLE,
        "subject": {"reference": patient_references(record)[0]},
        "date": search["searched_on"],
        "note": [_note(text, snapshot_date)],
    }
    if entries:
        resource["entry"] = entries
    return resource


def trial_entries(record: Mapping[str, object], search: TrialSearch) -> list[Resource]:
    """The Bundle entries of the trials to ask about: one ResearchStudy per study that may fit, then the List
    that references them; none when the registry holds no study."""
    if not search["registry"]["studies"]:
        return []
    snapshot_date = search["registry"]["snapshot_date"]
    studies: list[Resource] = []
    references: list[Resource] = []
    left_out = 0
    for result in search["results"]:
        if result["verdict"] == "not_eligible":
            continue
        status = r4_status(result["overall_status"])
        if status is None or not result["nct_id"]:
            left_out += 1
            continue
        url = entry_url(record, f"trial/{result['nct_id']}")
        studies.append({"fullUrl": url, "resource": research_study(result, status, snapshot_date)})
        flag = {"text": _FLAG_WORDS[result["verdict"]]}
        references.append({"flag": flag, "item": {"reference": url, "display": result["title"] or result["nct_id"]}})
    listing = _list(record, search, references, left_out)
    return [*studies, {"fullUrl": entry_url(record, "trials-to-ask-about"), "resource": listing}]
