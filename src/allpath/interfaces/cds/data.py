"""The patient's FHIR data for a CDS call: from the request's prefetch, else from the CDS client's FHIR server.

A prefetch key holds a resource, a Bundle (a searchset), or ``null`` ("no data"). A key that is absent, or
holds an OperationOutcome, or a Bundle with a ``next`` page, is not satisfied: when the request names a FHIR
server that the caller has checked against the issuer's allowlist (``envelope.fhir_access``) and a bearer
token, the service runs the key's query itself (short timeout, answers of at most ``MAX_PAGE_BYTES``, no
redirects, pages followed on the same server and under its base path only); otherwise the key stays
unsatisfied and the caller decides (412 for data a service cannot do without).

The request's shape was checked (``envelope.check_shape``); what the FHIR server answers was not, so every
value read here is checked for its type before it is used.

Only resources about ``context.patientId`` are kept. Body weight and height keep their latest measurement (the
dose calculator needs today's values; earlier ones would be read as conflicting). The resources go to the FHIR
importer (``allpath.interfaces.fhir.import_bundle``) as one collection Bundle.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

import httpx

from allpath.interfaces.cds.envelope import FhirAccess, HookRequest
from allpath.interfaces.cds.remote import RemoteError, get_json
from allpath.interfaces.fhir import ImportResult, import_bundle
from allpath.interfaces.fhir import codes as c

Resource = dict[str, object]
"""A FHIR resource as JSON (from the request or the FHIR server: every value is read with isinstance checks)."""

FETCH_TIMEOUT_S = 5.0
MAX_PAGES = 20
MAX_PAGE_BYTES = 16 * 1024 * 1024
_FINAL = {"final", "amended", "corrected"}
_LATEST_ONLY = ("body_weight", "body_height")


class FetchError(Exception):
    """The FHIR server could not give a key's data."""


@dataclass
class PatientData:
    """What the CDS service could learn about the patient."""

    resources: list[Resource] = field(default_factory=list)
    unsatisfied: dict[str, str] = field(default_factory=dict)  # prefetch key -> why its data is missing
    fetched: list[str] = field(default_factory=list)  # keys read from the FHIR server
    dropped: int = 0  # resources about another patient
    measured: dict[str, str] = field(default_factory=dict)  # body_weight/body_height -> date of the value used

    def bundle(self) -> dict[str, object]:
        return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in self.resources]}

    def imported(self) -> ImportResult:
        return import_bundle(self.bundle())


def as_dict(value: object) -> dict[str, object]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[object]:
    """``value`` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def text_of(value: object) -> str | None:
    """``value`` when it is a string (a FHIR code), else None: a list or object never matches a code."""
    return value if isinstance(value, str) else None


def fill(template: str, context: Mapping[str, object]) -> str:
    """A prefetch template with its ``{{context.x}}`` tokens replaced (URL-quoted)."""
    out = template
    for key, value in context.items():
        if isinstance(value, str):
            out = out.replace("{{context." + key + "}}", quote(value, safe=""))
    return out


def _is_patient_ref(reference: object, patient_id: str) -> bool | None:
    """True/False when ``reference`` names a Patient (this one or another); None when it names no Patient."""
    ref = as_dict(reference).get("reference")
    if not isinstance(ref, str) or "Patient/" not in ref:
        return None
    return bool(ref == f"Patient/{patient_id}" or ref.endswith(f"/Patient/{patient_id}"))


def _resources(value: object) -> Iterator[Resource]:
    if not isinstance(value, dict):
        return
    if value.get("resourceType") == "Bundle":
        for entry in as_list(value.get("entry")):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") != "OperationOutcome":
                yield resource
    elif isinstance(value.get("resourceType"), str):
        yield value


def _next_link(value: object) -> str | None:
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        for link in as_list(value.get("link")):
            if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
                return str(link["url"])
    return None


def _problem(value: object) -> str | None:
    """Why a prefetch value cannot be used as complete data (None when it can)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        return "not a FHIR resource"
    if value["resourceType"] == "OperationOutcome":
        return "the CDS client reported an error (OperationOutcome)"
    if _next_link(value):
        return "a paged Bundle whose further pages could not be read"
    return None


class FhirReader:
    """Reads prefetch queries from the CDS client's FHIR server with its bearer token."""

    def __init__(self, server: str, token: str, transport: httpx.BaseTransport | None = None) -> None:
        self.base = server.rstrip("/")
        self._origin = httpx.URL(self.base)
        self.client = httpx.Client(
            headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"},
            timeout=FETCH_TIMEOUT_S,
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def _on_server(self, url: str) -> bool:
        """Whether ``url`` is under the FHIR base URL: same scheme, host and port, path below the base path, no
        ``..`` segments, no user name (a page link of the server's answer must not lead the token elsewhere)."""
        if not url.startswith(self.base + "/") or "\\" in url or any(ord(ch) <= 32 for ch in url):
            return False
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError, TypeError):
            return False
        segments = parsed.path.split("/")
        return (
            (parsed.scheme, parsed.host, parsed.port) == (self._origin.scheme, self._origin.host, self._origin.port)
            and not parsed.userinfo
            and parsed.path.startswith(self._origin.path.rstrip("/") + "/")
            and ".." not in segments
            and "." not in segments
        )

    def _get(self, url: str) -> object:
        if not self._on_server(url):
            raise FetchError("a page link points outside the FHIR server")
        try:
            status, body = get_json(self.client, url, MAX_PAGE_BYTES)
        except RemoteError as error:
            raise FetchError(f"the FHIR server {error}") from None
        if status == 404:
            return None
        if status != 200:
            raise FetchError(f"the FHIR server answered {status}")
        return body

    def query(self, relative: str) -> object:
        return self.pages(self._get(f"{self.base}/{relative.lstrip('/')}"))

    def pages(self, value: object) -> object:
        """The value with the entries of every further page added (at most ``MAX_PAGES``)."""
        link = _next_link(value)
        if link is None or not isinstance(value, dict):  # a value with a next link is a Bundle (a JSON object)
            return value
        merged = copy.copy(value)
        entries = list(as_list(value.get("entry")))
        for _ in range(MAX_PAGES):
            if link is None:
                break
            page = self._get(link)
            entries += as_list(as_dict(page).get("entry"))
            link = _next_link(page)
        if link is not None:
            raise FetchError(f"more than {MAX_PAGES} pages")
        merged["entry"] = entries
        merged["link"] = [x for x in as_list(value.get("link")) if isinstance(x, dict) and x.get("relation") != "next"]
        return merged


def gather(
    request: HookRequest,
    templates: Mapping[str, str],
    patient_id: str,
    access: FhirAccess | None = None,
    transport: httpx.BaseTransport | None = None,
) -> PatientData:
    """The patient's resources for ``templates`` (prefetch key -> query) from the request or, for the keys it
    does not satisfy, from the allowlisted FHIR server of ``access``."""
    prefetch, context = request.prefetch, request.context
    reader = FhirReader(access.server, access.token, transport) if access and access.token else None
    data = PatientData()
    values: list[object] = []
    try:
        for key, template in templates.items():
            problem = _problem(prefetch[key]) if key in prefetch else "not prefetched"
            if problem is None:
                values.append(prefetch[key])
                continue
            if reader is not None:
                value = _read(reader, prefetch.get(key), fill(template, context))
                if not isinstance(value, FetchError):
                    values.append(value)
                    data.fetched.append(key)
                    continue
                problem = str(value)
            data.unsatisfied[key] = problem
    finally:
        if reader is not None:
            reader.close()
    seen: set[tuple[str, str]] = set()
    for value in values:
        for resource in _resources(value):
            kept = _about_patient(resource, patient_id)
            if kept is None:
                data.dropped += 1
                continue
            identity = (str(kept.get("resourceType")), str(kept.get("id", "")))
            if identity[1] and identity in seen:
                continue  # the same resource from two queries
            seen.add(identity)
            data.resources.append(kept)
    data.resources = _latest_measurements(data)
    return data


def _read(reader: FhirReader, prefetched: object, query: str) -> object:
    """The further pages of a prefetched page; failing that (or without one), the whole query."""
    if _next_link(prefetched) is not None:
        try:
            return reader.pages(prefetched)
        except FetchError:
            pass
    try:
        return reader.query(query)
    except FetchError as error:
        return error


def _about_patient(resource: Resource, patient_id: str) -> Resource | None:
    if resource.get("resourceType") == "Patient":
        if "id" not in resource:
            return {**resource, "id": patient_id}  # the answer to Patient/{{context.patientId}}
        return resource if resource.get("id") == patient_id else None
    for name in ("subject", "patient"):
        about = _is_patient_ref(resource.get(name), patient_id)
        if about is not None:
            return resource if about else None
    return resource


def _when(resource: Resource) -> datetime | None:
    period = as_dict(resource.get("effectivePeriod"))
    for value in (resource.get("effectiveDateTime"), period.get("end"), period.get("start"), resource.get("issued")):
        if isinstance(value, str) and value:
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return moment if moment.tzinfo else moment.replace(tzinfo=datetime.now().astimezone().tzinfo)
    return None


def _latest_measurements(data: PatientData) -> list[Resource]:
    """Keep only the latest final body weight and height (all of them when none is dated)."""
    lookup = c.lookup()
    groups: dict[str, list[tuple[datetime | None, Resource]]] = {}
    others: list[Resource] = []
    for resource in data.resources:
        concept = None
        if resource.get("resourceType") == "Observation" and text_of(resource.get("status")) in _FINAL:
            concept = lookup.concept_of(as_list(as_dict(resource.get("code")).get("coding")))
        if concept in _LATEST_ONLY:
            groups.setdefault(str(concept), []).append((_when(resource), resource))
        else:
            others.append(resource)
    for concept, found in groups.items():
        dated = [(moment, r) for moment, r in found if moment is not None]
        if not dated:
            others += [r for _, r in found]
            continue
        latest = max(moment for moment, _ in dated)
        others += [r for moment, r in dated if moment == latest]
        data.measured[concept] = latest.date().isoformat()
    return others
