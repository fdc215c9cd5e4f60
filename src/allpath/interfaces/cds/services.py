"""The CDS services allpath offers (the discovery document) and the data each asks the CDS client for."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import TypedDict

from allpath.interfaces.fhir import codes as c

PATIENT_VIEW = "allpath-patient-view"
ORDER_SELECT = "allpath-order-select"
ORDER_SIGN = "allpath-order-sign"

_PATIENT = "{{context.patientId}}"


def _codes(*concepts: str) -> str:
    """A token search over every coding allpath reads for these concepts (``system|code,...``)."""
    return ",".join(f"{coding['system']}|{coding['code']}" for name in concepts for coding in c.concept(name))


def _latest(concept: str) -> str:
    standard = [x for x in c.concept(concept) if x["system"] != c.LOCAL_SYSTEM][0]
    return f"Observation?patient={_PATIENT}&code={standard['system']}|{standard['code']}&_sort=-date&_count=1"


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
    "pharmacogenomics": f"Observation?patient={_PATIENT}&code={_codes('tpmt_phenotype', 'nudt15_phenotype')}",
}
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
                "observations": f"Observation?patient={_PATIENT}",
                "procedures": f"Procedure?patient={_PATIENT}",
                "medications": f"MedicationRequest?patient={_PATIENT}",
            },
            required=("patient", "conditions", "observations"),
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
