"""The hot route's request, dispatched without FastAPI's dependency machinery (``LeanRoute``, issue 11).

For ``POST /api/assess`` FastAPI's work per request -- reading the body, solving the dependency tree,
validating the body against ``dict[str, object]``, calling the endpoint with its telemetry -- cost more CPU
than the checks it runs. A request whose body is a JSON object sent as ``application/json`` (what every
client of the assessment sends) is handled here instead, doing exactly what FastAPI would do for it:

1. the body read and parsed as FastAPI does (``Request.json``: the same parser, cached on the request);
2. the route's one dependency awaited (``admitting``: text that cannot be stored, then the principal, its
   refusals audited and durable before they are answered);
3. the route's endpoint (``committing``: the unit of work ended, durable before the answer) called with the
   object, the request and the work; its ``Response`` is the answer.

Everything else -- another content type, no body, a body that is not JSON or not an object, a dependency
overridden (tests), a route of another shape -- goes to FastAPI's own handler, which answers it as before
(a malformed body is refused before authentication, as FastAPI orders it). One implementation of the checks:
the dependency is the route's own, found in its declaration.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Collection, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi import routing as fastapi_routing
from fastapi.routing import APIRoute

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
JSON = "application/json"


def _effective(route: APIRoute) -> Any:
    """The route as included in its application (FastAPI's per-inclusion context: the router's dependencies
    and overrides added), or the route itself."""
    context_var = getattr(fastapi_routing, "_effective_route_context_var", None)
    context = context_var.get() if context_var is not None else None
    if context is not None and getattr(context, "original_route", None) is route:
        return context
    return route


def _shape(dependant: Any, admitting: Collection[Callable[..., Any]]) -> tuple[str, str, str, Any] | None:
    """The names of the body, request and work parameters and the ``admitting`` dependency of a route shaped
    for the lean path; None for any other shape."""
    if dependant is None or dependant.request_param_name is None or len(dependant.dependencies) != 1:
        return None
    others = (
        dependant.path_params,
        dependant.query_params,
        dependant.header_params,
        dependant.cookie_params,
        dependant.response_param_name,
        dependant.background_tasks_param_name,
        dependant.websocket_param_name,
        dependant.http_connection_param_name,
        dependant.security_scopes_param_name,
    )
    if any(others) or len(dependant.body_params) != 1:
        return None
    work, body = dependant.dependencies[0], dependant.body_params[0]
    if work.call not in admitting or work.dependencies or work.name is None:
        return None
    if typing.get_origin(body.field_info.annotation) is not dict or typing.get_args(body.field_info.annotation) != (
        str,
        object,
    ):
        return None
    return body.name, dependant.request_param_name, work.name, work.call


def lean_handler(route: APIRoute, general: Handler, admitting: Collection[Callable[..., Any]]) -> Handler | None:
    """The handler of ``route`` that dispatches its ordinary requests itself and the rest to ``general``
    (FastAPI's handler of the route); None when the route is not of the lean shape."""
    effective = _effective(route)
    shape = _shape(getattr(effective, "dependant", None), admitting)
    if shape is None or effective.dependant.call is None:
        return None
    body_name, request_name, work_name, admit = shape
    endpoint = effective.dependant.call
    overrides_provider = effective.dependency_overrides_provider

    async def handle(request: Request) -> Response:
        if request.headers.get("content-type") != JSON or getattr(overrides_provider, "dependency_overrides", None):
            return await general(request)
        try:
            record = await request.json()
        except Exception:  # noqa: BLE001 - no body, not JSON, a client gone: FastAPI's handler answers it
            return await general(request)
        if type(record) is not dict:
            return await general(request)  # not an object: refused by FastAPI (after the dependency, as before)
        work = await admit(request)
        answer = await endpoint(**{body_name: record, request_name: request, work_name: work})
        if not isinstance(answer, Response):
            raise TypeError("a lean route answers with a Response")
        return answer

    return handle
