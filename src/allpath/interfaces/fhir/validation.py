"""Validation of FHIR R4 resources with the ``fhir.resources`` R4B models (which read R4 payloads), cached by
shape: exported Bundles repeat the same resources for many records, and each shape is validated once.

``fhir.resources`` is imported here only, on first use.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fhir_core.fhirabstractmodel import FHIRAbstractModel

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _model(resource_type: str) -> type[FHIRAbstractModel]:
    """The R4B model class of a resource type (imported on first use: fhir.resources is slow to import)."""
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def _is_plain_reference(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"reference"} and isinstance(value["reference"], str)


def _shape_key(resource: Mapping[str, object]) -> bytes | None:
    """A cache key that leaves out what cannot change validity: the id and plain subject references (checked
    here). Exported Bundles repeat the same resources for many records; each shape is validated once."""
    shape = dict(resource)
    if "id" in shape:
        if not (isinstance(shape["id"], str) and _FHIR_ID.match(shape["id"])):
            return None
        shape["id"] = "x"
    for name in ("subject", "patient"):
        if name in shape:
            value = shape[name]
            if not _is_plain_reference(value) or not isinstance(value, dict) or not value["reference"]:
                return None
            shape[name] = None
    try:
        return marshal.dumps(shape)  # plain JSON values only; several times faster than repr or json.dumps
    except ValueError:
        return None


_SHAPES: dict[tuple[str, bytes], str | None] = {}
_SHAPES_MAX = 20_000


def _problem(resource_type: str, resource: Mapping[str, object]) -> str | None:
    """None when the resource is valid FHIR (R4B models), else a short description of the first problem."""
    try:
        _model(resource_type).model_validate(resource)
    except Exception as error:  # pydantic ValidationError, or anything a malformed payload provokes
        errors = getattr(error, "errors", None)
        if callable(errors):
            try:
                first = errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()))
                return (
                    f"not valid FHIR R4 ({len(errors())} problem(s); first at {where or 'the top'}: {first.get('msg')})"
                )
            except Exception:  # noqa: BLE001 - describing the error must not fail
                pass
        return f"not valid FHIR R4 ({type(error).__name__})"
    return None


def validation_problem(resource: Mapping[str, object]) -> str | None:
    """Validate one resource with the R4B model of its type (cached by shape for repeated resources)."""
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return "no resourceType"
    key = _shape_key(resource)
    if key is None:
        return _problem(resource_type, resource)
    cache_key = (resource_type, key)
    if cache_key in _SHAPES:
        return _SHAPES[cache_key]
    problem = _problem(resource_type, resource)
    if len(_SHAPES) >= _SHAPES_MAX:
        _SHAPES.clear()
    _SHAPES[cache_key] = problem
    return problem
