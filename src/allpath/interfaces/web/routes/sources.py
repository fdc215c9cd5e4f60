"""The registered sources and their sections: the pages every citation links to.

A citation ``{document, section}`` links to ``/sources/<source id>#<slug of the section>``. The pages hold
no patient data, so they are open without signing in.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from allpath.interfaces.http.deps import KB
from allpath.interfaces.http.unit_of_work import KernelRoute
from allpath.interfaces.web.pages import MaybePageUser, PageError, page

router = APIRouter(route_class=KernelRoute)


@router.get("/sources")
def sources(request: Request, kb: KB, principal: MaybePageUser) -> Response:
    """Every registered source."""
    return page(request, "sources.html", {"sources": list(kb.sources.items())}, principal)


@router.get("/sources/{source_id}")
def source(request: Request, source_id: str, kb: KB, principal: MaybePageUser) -> Response:
    """One source: title, publisher, revision date, address, and each registered section with its anchor."""
    spec = kb.sources.get(source_id)
    if spec is None:
        raise PageError(404, "No such source", "allpath cites no source with this name.")
    return page(request, "source.html", {"source_id": source_id, "source": spec}, principal)
