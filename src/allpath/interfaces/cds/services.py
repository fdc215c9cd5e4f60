"""The CDS services allpath offers (the discovery document) and the data each asks the CDS client for.

The prefetch templates ask for what the FHIR importer reads and nothing else ("services SHALL only receive
the data they requested in their prefetch", CDS Hooks 2.0): the Observations by the codes of every concept
the importer has an Observation reader for (``fhir_codes.yaml``: its standard codes, the codes it accepts, and
allpath's local code, each as ``system|code``), so that a code added there is prefetched too. A template longer
than ``MAX_TEMPLATE_URL`` once filled in and percent-encoded is split into several keys (``observations``,
``observations-2``, ...): the specification lets a service ask for any number of prefetch keys.

Conditions are asked for without a code: the importer reads ICD-10 codes written without their dot and
system URIs in their OID form, and a relapse from ``clinicalStatus`` of any leukemia Condition, which a
``system|code`` token search would not match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from typing_extensions import TypedDict

from allpath.interfaces.fhir import codes as c

# The importer's table of Observation readers (concept -> reader): what it reads is what is prefetched.
from allpath.interfaces.fhir.read_observations import _HANDLERS as OBSERVATION_READERS
from allpath.interfaces.fhir.read_observations import PHARMACOGENOMICS_CONCEPTS

PATIENT_VIEW = "allpath-patient-view"
ORDER_SELECT = "allpath-order-select"
ORDER_SIGN = "allpath-order-sign"

_PATIENT = "{{context.patientId}}"
MAX_TEMPLATE_URL = 1900
"""Characters of a filled-in template, percent-encoded as a strict client writes it, with the longest FHIR id
(64 characters): with the FHIR base URL it stays under the 2,048 characters that old servers and proxies
accept in a URL."""

OBSERVATION_CONCEPTS: tuple[str, ...] = tuple(OBSERVATION_READERS)


def concept_codes(*concepts: str) -> list[str]:
    """Every ``system|code`` the importer reads as one of ``concepts`` (standard, accepted, local)."""
    wanted = set(concepts)
    return [f"{system}|{code}" for (system, code), concept in c.lookup().concepts.items() if concept in wanted]


def filled_length(template: str) -> int:
    """The length of ``template`` filled in with the longest FHIR id and percent-encoded in its query."""
    path, _, query = template.replace(_PATIENT, "x" * 64).partition("?")
    return len(path) + 1 + len(quote(query, safe="=&"))


def split_search(key: str, base: str, codes: Iterable[str], suffix: str = "") -> dict[str, str]:
    """``{key: base&code=...}`` with every code, in as few keys as keep each template within
    ``MAX_TEMPLATE_URL`` (``key``, ``key-2``, ...)."""
    templates: list[list[str]] = [[]]
    for code in codes:
        trial = templates[-1] + [code]
        if templates[-1] and filled_length(f"{base}&code={','.join(trial)}{suffix}") > MAX_TEMPLATE_URL:
            templates.append([code])
        else:
            templates[-1] = trial
    return {
        key if index == 0 else f"{key}-{index + 1}": f"{base}&code={','.join(group)}{suffix}"
        for index, group in enumerate(templates)
    }


def _latest(concept: str) -> str:
    codes = ",".join(concept_codes(concept))
    return f"Observation?patient={_PATIENT}&code={codes}&_sort=-date&_count=1"


class ServiceEntry(TypedDict):
    """A service of the discovery document (CDS Hooks 2.0, "Discovery")."""

    hook: str
    title: str
    description: str
    id: str
    prefetch: dict[str, str]
    usageRequirements: str


class Discovery(TypedDict):
    services: list[ServiceEntry]


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str]
    required: tuple[str, ...]  # prefetch keys without which the service answers 412

    def discovery(self) -> ServiceEntry:
        return {
            "hook": self.hook,
            "title": self.title,
            "description": self.description,
            "id": self.id,
            "prefetch": dict(self.prefetch),
            "usageRequirements": (
                "Calls must carry a JWT signed by a CDS client that the allpath operator trusts "
                "(ALLPATH_CDS_TRUSTED_ISSUERS). Decision support for the care team, not a prescription."
            ),
        }


_ORDER_PREFETCH = {
    "patient": f"Patient/{_PATIENT}",
    "weight": _latest("body_weight"),
    "height": _latest("body_height"),
    **split_search("pharmacogenomics", f"Observation?patient={_PATIENT}", concept_codes(*PHARMACOGENOMICS_CONCEPTS)),
}
_OBSERVATIONS = split_search("observations", f"Observation?patient={_PATIENT}", concept_codes(*OBSERVATION_CONCEPTS))
_ORDER_CHECKS = (
    "Checks draft orders of vincristine, mercaptopurine and thioguanine: the vincristine cap per dose, and the "
    "thiopurine dose against the starting dose adjusted for the TPMT and NUDT15 phenotypes (CPIC), from the "
    "body surface area (latest weight and height). Other orders get no card."
)

SERVICES: dict[str, Service] = {
    s.id: s
    for s in (
        Service(
            id=PATIENT_VIEW,
            hook="patient-view",
            title="allpath: childhood ALL risk group, missing tests and treatment phase",
            description=(
                "For a child with acute lymphoblastic leukemia: the risk group with the rules and citations behind "
                "it (NCI PDQ and cited facts), the tests still missing, and the current treatment phase when the "
                "treatment start date is known."
            ),
            prefetch={
                "patient": f"Patient/{_PATIENT}",
                "conditions": f"Condition?patient={_PATIENT}",
                **_OBSERVATIONS,
                "procedures": f"Procedure?patient={_PATIENT}",
                "medications": f"MedicationRequest?patient={_PATIENT}",
            },
            required=("patient", "conditions", *_OBSERVATIONS),
        ),
        Service(
            id=ORDER_SELECT,
            hook="order-select",
            title="allpath: vincristine and thiopurine dose check (order select)",
            description=_ORDER_CHECKS + " At order-select only the newly selected orders are checked.",
            prefetch=_ORDER_PREFETCH,
            required=(),
        ),
        Service(
            id=ORDER_SIGN,
            hook="order-sign",
            title="allpath: vincristine and thiopurine dose check (order sign)",
            description=_ORDER_CHECKS,
            prefetch=_ORDER_PREFETCH,
            required=(),
        ),
    )
}


def discovery() -> Discovery:
    return {"services": [service.discovery() for service in SERVICES.values()]}
