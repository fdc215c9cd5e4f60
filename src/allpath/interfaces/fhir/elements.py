"""The FHIR data types the exporter builds from allpath values: quantities, references, citations as
extensions and in words, periods, local codes. Shared by the record Bundle, the risk Observation and the
CarePlans; no resource is built here."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

from allpath.domain.results import EvidenceRef
from allpath.interfaces.fhir import codes as c

Resource = dict[str, object]
"""FHIR JSON as the exporter builds it: a plain dict, written out by ``json.dumps``."""

Reference = str | Mapping[str, object]
"""A reference as the caller gives it: the URL alone, or a Reference element."""

NOT_COVERED_NOTE = "not covered by allpath's sources"
DISCLAIMER = "Decision support for clinicians, not a prescription."


def scaled(value: float, power_of_ten: int) -> float | int:
    """``value`` times 10**power_of_ten, computed in decimal so that scaling back gives the same float."""
    result = Decimal(repr(float(value))).scaleb(power_of_ten)
    as_float = float(result)
    return int(as_float) if as_float.is_integer() and abs(as_float) < 2**53 else as_float


def quantity(value: float, unit: str, code: str | None = None) -> Resource:
    return {"value": value, "unit": unit, "system": c.UCUM, "code": code or unit}


def category(code: str) -> list[Resource]:
    return [{"coding": [{"system": c.SYSTEMS["observation_category"], "code": code}]}]


def component(concept: str, value: Mapping[str, object]) -> Resource:
    return {"code": c.concept_cc(concept), **value}


def reference(ref: Reference) -> Resource:
    return {"reference": ref} if isinstance(ref, str) else dict(ref)


def versions(result: Mapping[str, object]) -> list[Resource]:
    """The knowledge and engine versions that made a result, as extensions (those it carries)."""
    extensions: list[Resource] = []
    for key in ("knowledge_version", "engine_version"):
        if result.get(key):
            extensions.append({"url": c.extension_url(key.replace("_", "-")), "valueString": str(result[key])})
    return extensions


def citation(source: Mapping[str, object] | None) -> str:
    if not source:
        return ""
    return f'{source.get("document", "")}, section "{source.get("section", "")}"'


def citation_extension(source: Mapping[str, object] | None) -> list[Resource]:
    """A citation ``{document, section}`` (and the deeper ``reference`` of an evidence item) as an extension."""
    if not source:
        return []
    parts: list[Resource] = [
        {"url": key, "valueString": str(source[key])} for key in ("document", "section", "reference") if source.get(key)
    ]
    return [{"url": c.extension_url("citation"), "extension": parts}] if parts else []


def absent_extension(code: str) -> Resource:
    """The FHIR R4 data-absent-reason extension: why an element that should be there has no value."""
    return {"url": c.SYSTEMS["data_absent_reason_extension"], "valueCode": code}


def effective(day: object) -> Resource:
    """An Observation's ``effectiveDateTime``: the date it refers to; when the record gives none, the
    data-absent-reason extension (``unknown``) on the element, so that every Observation carries effective[x]
    (the R4 vital-signs profile requires it, mCODE must support it) without inventing a date."""
    if day:
        return {"effectiveDateTime": str(day)}
    return {"_effectiveDateTime": {"extension": [absent_extension("unknown")]}}


def standard_cc(group: str, token: str) -> Resource:
    """A CodeableConcept with the standard codings of a value only (for elements whose binding is required)."""
    return {"coding": [dict(coding) for coding in c.value(group, token)[:-1]]}


_FHIR_STRING_CHAR = re.compile(r"[ \r\n\t\S]")


def record_identifier(ident: str) -> Resource:
    """The record id as an Identifier. A FHIR string needs a character other than most kinds of white space:
    an id without one travels base64-encoded in an extension, an empty id as a flag."""
    if _FHIR_STRING_CHAR.search(ident):
        return {"system": c.RECORD_ID_SYSTEM, "value": ident}
    extension: Resource
    if ident:
        encoded = base64.b64encode(ident.encode("utf-8")).decode("ascii")
        extension = {"url": c.extension_url("encoded-value"), "valueBase64Binary": encoded}
    else:
        extension = {"url": c.extension_url("empty-value"), "valueBoolean": True}
    return {"system": c.RECORD_ID_SYSTEM, "extension": [extension]}


def absent(code: str) -> Resource:
    return {"dataAbsentReason": {"coding": [{"system": c.SYSTEMS["data_absent_reason"], "code": code}]}}


def decimal(value: float) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else number


def words(value: object) -> str:
    return str(value).replace("_", " ")


def sources_text(evidence: Iterable[EvidenceRef] | None) -> str:
    """The distinct citations of evidence items in words, ``;``-separated."""
    cited: list[str] = []
    for item in evidence or []:
        text = citation(item)
        if item.get("reference"):
            text += f" ({item['reference']})"
        if text and text not in cited:
            cited.append(text)
    return "; ".join(cited)


def evidence_extensions(evidence: Iterable[EvidenceRef] | None) -> list[Resource]:
    extensions: list[Resource] = []
    for item in evidence or []:
        for extension in citation_extension(item):
            if extension not in extensions:
                extensions.append(extension)
    return extensions


def local_cc(group: str, token: str, display: str) -> Resource:
    return {
        "coding": [{"system": c.LOCAL_SYSTEM, "code": c.local_code(group, token), "display": display}],
        "text": display,
    }


def period(start: object, end: object) -> dict[str, str]:
    return {k: str(v) for k, v in (("start", start), ("end", end)) if v}
