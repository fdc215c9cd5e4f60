"""The CDS Hooks 2.0 endpoints: discovery, the three services and their feedback endpoint.

``GET /cds-services`` is open (it holds no patient data). Every other call must carry a JWT of a trusted CDS
client (``auth.py``) whose audience is the endpoint's URL under ``ALLPATH_CDS_BASE_URL``; failures are 401 with
an OperationOutcome. With trusted issuers but no base URL, the calls answer 503 (the audience would otherwise
have to come from the request's Host header, which the caller chooses). The body is parsed only after the
token is accepted, and its shape is checked (``envelope.py``: 400 naming the place; a ``fhirServer`` off the
issuer's allowlist 403, never contacted). A service call is written to the audit log (``cds_service``: the
service, the client's issuer and the number of cards, never patient data), and so is each feedback item
(``cds_feedback``: the card uuid, the outcome, the override reason's code and the accepted suggestions; never
the user's comment).

The FHIR server of a CDS client and a ``jku`` JWK Set are reached through ``httpx``; tests set
``app.state.cds_fhir_transport`` and ``app.state.cds_jwks_transport`` to ``httpx`` transports of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from allpath.domain.record import parse_record
from allpath.interfaces.cds.auth import Authenticator, CdsAuthError, CdsClient, JwksCache
from allpath.interfaces.cds.cards import Cards
from allpath.interfaces.cds.config import check_base_url
from allpath.interfaces.cds.data import PatientData, gather
from allpath.interfaces.cds.envelope import RequestRefused, check_shape, fhir_access, parse_body
from allpath.interfaces.cds.order_reading import checked_orders, drug_of
from allpath.interfaces.cds.orders import BODY_FIELDS, OrderCheck
from allpath.interfaces.cds.patient_view import patient_view_cards
from allpath.interfaces.cds.services import ORDER_SELECT, PATIENT_VIEW, SERVICES, Service, discovery
from allpath.interfaces.http.deps import DB, KB, audit_refusal
from allpath.knowledge.loader import KnowledgeBase
from allpath.settings import Settings
from allpath.storage import audit as audit_store

MAX_FEEDBACK = 100
_SAFE = re.compile(r"^[A-Za-z0-9._:/#|@+\-]{1,200}$")
_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


def outcome(status: int, code: str, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answer with an OperationOutcome body, as the specification recommends."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "details": {"text": text}}],
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/fhir+json")


def _safe(value: Any) -> str:
    return value if isinstance(value, str) and _SAFE.match(value) else "(not stored)"


def answer(work: Any, request: Request, s: Session, *args: Any) -> Response:
    """``work(request, *args)``, with refusals as OperationOutcomes, each audited (the route and the status,
    never the request)."""
    try:
        result: Response = work(request, *args)
        return result
    except CdsAuthError as error:
        audit_refusal(s, None, request, "unauthenticated")
        return outcome(401, "login", str(error), {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    except RequestRefused as refused:
        audit_refusal(s, None, request, f"refused_{refused.status}")
        return outcome(refused.status, refused.code, refused.text)


def cds_router(settings: Settings) -> APIRouter:
    """The CDS Hooks endpoints, with the trusted issuers of ``settings`` (checked now: a bad key fails here)."""
    authenticator = Authenticator(
        settings.cds_trusted_issuers,
        max_lifetime_s=settings.cds_max_token_lifetime_s,
        jwks=JwksCache(settings.cds_jwks_cache_s),
    )
    check_base_url(settings.cds_base_url)
    base_url = settings.cds_base_url
    router = APIRouter(prefix="/cds-services", tags=["cds-hooks"], include_in_schema=False)

    def authenticate(request: Request, *paths: str) -> CdsClient:
        """The CDS client; ``CdsAuthError`` (401), or ``RequestRefused`` (503) when no base URL is configured."""
        if authenticator.issuers and base_url is None:
            raise RequestRefused(
                503,
                "not-supported",
                "the CDS service is not configured: ALLPATH_CDS_BASE_URL (this service's public URL, the JWT "
                "audience) is not set",
            )
        audiences = [f"{base_url}{path}" for path in paths]
        audiences += [url + "/" for url in audiences]
        transport = getattr(request.app.state, "cds_jwks_transport", None)
        return authenticator.verify(request.headers.get("authorization"), audiences, transport)

    def serve(request: Request, service: Service, raw: bytes, s: Session, kb: KnowledgeBase) -> JSONResponse:
        client = authenticate(request, f"/cds-services/{service.id}")
        body = parse_body(raw)
        check_shape(body)
        hook = body.get("hook")
        if hook is not None and hook != service.hook:
            raise RequestRefused(400, "invalid", f"this service answers the {service.hook} hook, not another")
        access = fhir_access(body, client.config)
        context: dict[str, Any] = body["context"]
        patient_id = context.get("patientId")
        cards = Cards(kb, base_url)
        transport = getattr(request.app.state, "cds_fhir_transport", None)
        today = date.today()
        call = _Call(body, service, patient_id, access, transport)
        if service.id == PATIENT_VIEW:
            result = _patient_view(kb, cards, call, today)
        else:
            result = _order_check(kb, cards, call, context, today)
        instance = body.get("hookInstance")
        audit_store.record(
            s,
            None,
            "cds_service",
            f"cds:{service.id}",
            resource_id=instance if isinstance(instance, str) and _ID.match(instance) else None,
            detail=f"client={_safe(client.issuer)}; cards={len(result)}",
        )
        s.commit()
        return JSONResponse({"cards": result})

    def record_feedback(request: Request, service_id: str, raw: bytes, s: Session) -> Response:
        client = authenticate(request, f"/cds-services/{service_id}/feedback", f"/cds-services/{service_id}")
        body = parse_body(raw)
        for item in _feedback_items(body):
            parts = _feedback_detail(item, client)
            audit_store.record(
                s,
                None,
                "cds_feedback",
                f"cds:{service_id}",
                resource_id=item["card"],
                outcome=item["outcome"],
                detail="; ".join(parts),
            )
        s.commit()
        return Response(status_code=200)

    @router.get("")
    async def services() -> JSONResponse:
        """Discovery: the services allpath offers, their hooks and the data each asks to be prefetched."""
        return JSONResponse(discovery())

    # The handlers take the raw body: it is parsed only after the token is accepted (``serve``), in a worker
    # thread, as the token check may fetch a jku key set and the cards take CPU time.
    @router.post("/{service_id}")
    async def call(service_id: str, request: Request, s: DB, kb: KB) -> Response:
        service = SERVICES.get(service_id)
        if service is None:
            return outcome(404, "not-found", "no such CDS service; see GET /cds-services")
        raw = await request.body()
        return await run_in_threadpool(answer, serve, request, s, service, raw, s, kb)

    @router.post("/{service_id}/feedback")
    async def feedback(service_id: str, request: Request, s: DB) -> Response:
        if service_id not in SERVICES:
            return outcome(404, "not-found", "no such CDS service; see GET /cds-services")
        raw = await request.body()
        return await run_in_threadpool(answer, record_feedback, request, s, service_id, raw, s)

    return router


@dataclass(frozen=True)
class _Call:
    """What a service call gives for gathering the patient's data."""

    body: dict[str, Any]
    service: Service
    patient_id: Any
    access: Any
    transport: Any


def _patient_view(kb: KnowledgeBase, cards: Cards, call: _Call, today: date) -> list[dict[str, Any]]:
    """The patient-view cards; 400 without a patient, 412 without the data the service requires."""
    if not call.patient_id:
        raise RequestRefused(400, "required", "patient-view needs context.patientId")
    data = gather(call.body, call.service.prefetch, call.patient_id, call.access, call.transport)
    missing = [key for key in call.service.required if key in data.unsatisfied]
    if missing:
        why = "; ".join(f"{key}: {data.unsatisfied[key]}" for key in missing)
        raise RequestRefused(
            412,
            "processing",
            f"allpath needs the prefetch keys {', '.join(missing)} or access to the FHIR server ({why})",
        )
    return patient_view_cards(kb, cards, data, today)


def _order_check(
    kb: KnowledgeBase, cards: Cards, call: _Call, context: dict[str, Any], today: date
) -> list[dict[str, Any]]:
    """The dose-check cards of the draft orders (the patient's data is gathered only when an order is checked)."""
    orders = checked_orders(context, only_selected=call.service.id == ORDER_SELECT)
    if not orders or not any(drug_of(order, kb) for order in orders):
        return []
    if call.patient_id:
        data = gather(call.body, call.service.prefetch, call.patient_id, call.access, call.transport)
    else:
        data = PatientData()
        data.unsatisfied = dict.fromkeys(call.service.prefetch, "no context.patientId")
    imported = data.imported()
    rejected = [item["reason"] for item in imported.ignored if item.get("field") in BODY_FIELDS]
    record = parse_record(imported.record)
    check = OrderCheck(kb, cards, record, data.measured, today, rejected, data.unsatisfied)
    return [card for order in orders for card in check.cards_for(order)]


def _feedback_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The feedback items of a body, each following the specification (else 400 naming the first wrong one)."""
    items = body.get("feedback")
    if not isinstance(items, list) or not items or len(items) > MAX_FEEDBACK:
        raise RequestRefused(400, "invalid", f"feedback must be a list of 1 to {MAX_FEEDBACK} items")
    for index, item in enumerate(items):
        problem = _feedback_problem(item)
        if problem:
            raise RequestRefused(400, "invalid", f"feedback[{index}]: {problem}")
    return items


def _feedback_detail(item: dict[str, Any], client: CdsClient) -> list[str]:
    """What the audit keeps of a feedback item: codes and ids only, never the user's comment."""
    parts = [f"outcome={item['outcome']}", f"at={_safe(item['outcomeTimestamp'])}"]
    reason = (item.get("overrideReason") or {}).get("reason")
    if isinstance(reason, dict):
        parts.append(f"reason={_safe(reason.get('system'))}|{_safe(reason.get('code'))}")
    accepted = [_safe(x.get("id")) for x in item.get("acceptedSuggestions") or []]
    if accepted:
        parts.append(f"suggestions={','.join(accepted)}")
    parts.append(f"client={_safe(client.issuer)}")
    return parts


def _feedback_problem(item: Any) -> str | None:
    """Why a feedback item does not follow the specification (None when it does)."""
    if not isinstance(item, dict):
        return "not an object"
    if not isinstance(item.get("card"), str) or not _ID.match(item["card"]):
        return "card must be the uuid of a card"
    if item.get("outcome") not in ("accepted", "overridden"):
        return "outcome must be accepted or overridden"
    if not isinstance(item.get("outcomeTimestamp"), str) or not item["outcomeTimestamp"]:
        return "outcomeTimestamp is required"
    accepted = item.get("acceptedSuggestions")
    if item["outcome"] == "accepted":
        if not isinstance(accepted, list) or not accepted:
            return "an accepted outcome needs acceptedSuggestions"
    if accepted is not None and (
        not isinstance(accepted, list)
        or not all(isinstance(x, dict) and isinstance(x.get("id"), str) for x in accepted)
    ):
        return "acceptedSuggestions must be a list of {id}"
    override = item.get("overrideReason")
    if override is not None:
        if not isinstance(override, dict):
            return "overrideReason must be an object"
        reason = override.get("reason")
        if reason is not None and not (
            isinstance(reason, dict) and isinstance(reason.get("code"), str) and isinstance(reason.get("system"), str)
        ):
            return "overrideReason.reason must be a Coding with system and code"
        if "userComment" in override and not isinstance(override["userComment"], str):
            return "overrideReason.userComment must be a string"
    return None
