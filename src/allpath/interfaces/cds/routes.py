"""The CDS Hooks 2.0 endpoints: discovery, the three services and their feedback endpoint.

``GET /cds-services`` is open (it holds no patient data). Every other call must carry a JWT of a trusted CDS
client (``auth.py``) whose audience is the endpoint's URL under ``ALLPATH_CDS_BASE_URL``; failures are 401 with
an OperationOutcome. With trusted issuers but no base URL, the calls answer 503 (the audience would otherwise
have to come from the request's Host header, which the caller chooses). The body is parsed only after the
token is accepted, and its shape is checked (``envelope.py``: 400 naming the place; a ``fhirServer`` off the
issuer's allowlist 403, never contacted). A service call is written to the audit log (``cds_service``: the
service, the client's issuer and the number of cards, never patient data), and so is each feedback item,
once ``feedback.py`` has checked it against the specification (``cds_feedback``: the card uuid, the outcome,
the override reason's code and the accepted suggestions; never the user's comment). The audit entries are
written in the request's unit of work, which the HTTP kernel makes and commits (``KernelRoute``): the routes
neither commit nor call the audit store.

**When the store of used tokens fails** (the database down, locked past its busy timeout, out of connections:
``ReplayStoreUnavailable``), whether the token was used before is unknown, so the call is refused, fail-safe:
503 with ``Retry-After`` and an OperationOutcome (``transient``), never a card, and the CDS CORS headers like
every answer under ``/cds-services`` (``cors.py``). CDS Hooks 2.0, "CDS Service Response", HTTP Status Codes:
200 and 412 are named, and "CDS Services MAY return other HTTP statuses, specifically 4xx and 5xx HTTP error
codes"; 503 with ``Retry-After`` is HTTP's own word for a condition that should pass (RFC 9110, 15.6.4 and
10.2.3). A retry needs a new JWT, as every call does ("Trusting CDS Clients"). The refusal is audited in a unit
of work of its own, which the kernel makes and waits for (``audit_refusal_apart``): stored when the audit store
answers, and when it fails too (the same database, most often) the 503 is answered all the same, with a warning
in the log that names nothing of the request (a refusal left in the request's work would turn a failed audit
write into a 500).

The FHIR server of a CDS client and a ``jku`` JWK Set are reached through ``httpx``; tests set
``app.state.cds_fhir_transport`` and ``app.state.cds_jwks_transport`` to ``httpx`` transports of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from allpath.interfaces.cds.auth import Authenticator, CdsAuthError, CdsClient, JwksCache
from allpath.interfaces.cds.cards import Card, Cards
from allpath.interfaces.cds.config import check_base_url
from allpath.interfaces.cds.data import PatientData, gather
from allpath.interfaces.cds.envelope import (
    FhirAccess,
    HookRequest,
    RequestRefused,
    check_shape,
    fhir_access,
    parse_body,
)
from allpath.interfaces.cds.feedback import CARD_ID, feedback_items, safe
from allpath.interfaces.cds.order_reading import checked_orders, drug_of
from allpath.interfaces.cds.orders import BODY_FIELDS, OrderCheck
from allpath.interfaces.cds.patient_view import patient_view_cards
from allpath.interfaces.cds.services import ORDER_SELECT, PATIENT_VIEW, SERVICES, Service, discovery
from allpath.interfaces.http.deps import KB, route_of
from allpath.interfaces.http.unit_of_work import AnonymousWork, KernelRoute, Work, audit_refusal_apart
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cds_tokens import ReplayStoreUnavailable, token_first_use
from allpath.service.order_checks import check_orders
from allpath.service.unit_of_work import UnitOfWork
from allpath.settings import Settings

RETRY_AFTER_S = 10  # how long a CDS client is asked to wait when the store of used tokens has failed


def outcome(status: int, code: str, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answer with an OperationOutcome body, as the specification recommends."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "details": {"text": text}}],
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/fhir+json")


async def raw_body(request: Request) -> bytes:
    """The request's body unparsed: it is parsed only after the token is accepted (``parse_body``)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def answer(handle: Callable[[], Response], request: Request, work: Work) -> Response:
    """``handle()``, with refusals as OperationOutcomes, each audited in the request's work (the route and the
    status, never the request)."""
    try:
        return handle()
    except CdsAuthError as error:
        _audit_refusal(work, request, "unauthenticated")
        return outcome(401, "login", str(error), {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    except RequestRefused as refused:
        _audit_refusal(work, request, f"refused_{refused.status}")
        return outcome(refused.status, refused.code, refused.text)
    except ReplayStoreUnavailable:
        audit_refusal_apart(request, "unavailable_503")
        return outcome(
            503,
            "transient",
            "allpath could not check that this JWT was not used before (its store of used tokens is "
            "unavailable); no decision support was given: call again later with a new token",
            {"Retry-After": str(RETRY_AFTER_S)},
        )


def _audit_refusal(work: UnitOfWork, request: Request, outcome: str) -> None:
    """The audit entry of a refused call: the route template and the outcome, as for every refused route."""
    work.audit("access", "route", outcome=outcome, detail=route_of(request))


def cds_router(settings: Settings) -> APIRouter:
    """The CDS Hooks endpoints, with the trusted issuers of ``settings`` (checked now: a bad key fails here)."""
    authenticator = Authenticator(
        settings.cds_trusted_issuers,
        max_lifetime_s=settings.cds_max_token_lifetime_s,
        jwks=JwksCache(settings.cds_jwks_cache_s),
    )
    check_base_url(settings.cds_base_url)
    base_url = settings.cds_base_url
    router = APIRouter(prefix="/cds-services", tags=["cds-hooks"], include_in_schema=False, route_class=KernelRoute)

    def authenticate(request: Request, work: Work, *paths: str) -> CdsClient:
        """The CDS client; ``CdsAuthError`` (401), or ``RequestRefused`` (503) when no base URL is configured.
        The token's ``jti`` is recorded in the database (``token_first_use``): no process accepts it again."""
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
        return authenticator.verify(
            request.headers.get("authorization"),
            audiences,
            transport,
            lambda issuer, jti, expires: token_first_use(work, issuer, jti, expires),
        )

    def serve(request: Request, service: Service, raw: bytes, work: Work, kb: KnowledgeBase) -> JSONResponse:
        client = authenticate(request, work, f"/cds-services/{service.id}")
        body = check_shape(parse_body(raw), service.hook, service.prefetch)
        access = fhir_access(body.body, client.config)
        cards = Cards(kb, base_url)
        transport = getattr(request.app.state, "cds_fhir_transport", None)
        today = date.today()
        call = _Call(body, service, body.patient_id, access, transport)
        if service.id == PATIENT_VIEW:
            result = _patient_view(kb, cards, call, today)
        else:
            result = _order_check(kb, cards, call, today)
        work.audit(
            "cds_service",
            f"cds:{service.id}",
            body.hook_instance if CARD_ID.match(body.hook_instance) else None,
            detail=f"client={safe(client.issuer)}; cards={len(result)}",
        )
        return JSONResponse({"cards": result})

    def record_feedback(request: Request, service_id: str, raw: bytes, work: Work) -> Response:
        client = authenticate(request, work, f"/cds-services/{service_id}/feedback", f"/cds-services/{service_id}")
        body = parse_body(raw)
        for item in feedback_items(body):
            work.audit(
                "cds_feedback",
                f"cds:{service_id}",
                item.card,
                outcome=item.outcome,
                detail=item.detail(client),
            )
        return Response(status_code=200)

    @router.get("")
    async def services() -> JSONResponse:
        """Discovery: the services allpath offers, their hooks and the data each asks to be prefetched."""
        return JSONResponse(discovery())

    # The handlers take the raw body: it is parsed only after the token is accepted (``serve``). They are plain
    # functions, run in a worker thread (the token check may fetch a jku key set and the cards take CPU time),
    # and the kernel commits their work in that same trip (``KernelRoute``).
    @router.post("/{service_id}")
    def call(service_id: str, request: Request, raw: RawBody, work: AnonymousWork, kb: KB) -> Response:
        service = SERVICES.get(service_id)
        if service is None:
            return outcome(404, "not-found", "no such CDS service; see GET /cds-services")
        return answer(lambda: serve(request, service, raw, work, kb), request, work)

    @router.post("/{service_id}/feedback")
    def feedback(service_id: str, request: Request, raw: RawBody, work: AnonymousWork) -> Response:
        if service_id not in SERVICES:
            return outcome(404, "not-found", "no such CDS service; see GET /cds-services")
        return answer(lambda: record_feedback(request, service_id, raw, work), request, work)

    return router


@dataclass(frozen=True)
class _Call:
    """What a service call gives for gathering the patient's data."""

    body: HookRequest
    service: Service
    patient_id: str | None
    access: FhirAccess | None
    transport: httpx.BaseTransport | None


def _patient_view(kb: KnowledgeBase, cards: Cards, call: _Call, today: date) -> list[Card]:
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


def _order_check(kb: KnowledgeBase, cards: Cards, call: _Call, today: date) -> list[Card]:
    """The dose-check cards of the draft orders (the patient's data is gathered only when an order is checked)."""
    orders = checked_orders(call.body.context, only_selected=call.service.id == ORDER_SELECT)
    if not orders or not any(drug_of(order, kb) for order in orders):
        return []
    if call.patient_id:
        data = gather(call.body, call.service.prefetch, call.patient_id, call.access, call.transport)
    else:
        data = PatientData()
        data.unsatisfied = dict.fromkeys(call.service.prefetch, "no context.patientId")
    imported = data.imported()
    rejected = [item["reason"] for item in imported.ignored if item.get("field") in BODY_FIELDS]
    checks = check_orders(kb, imported.record, today)
    check = OrderCheck(cards, checks, data.measured, rejected, data.unsatisfied)
    return [card for order in orders for card in check.cards_for(order)]
