"""Liveness: the service answers (no data, no sign-in)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from allpath import __version__
from allpath.interfaces.http.deps import KB

router = APIRouter(prefix="/api", tags=["service"])


class HealthOut(BaseModel):
    status: str
    version: str
    knowledge_version: str


@router.get("/health", response_model=HealthOut)
async def health(kb: KB) -> JSONResponse:
    """Liveness: the service answers (no data)."""
    return JSONResponse({"status": "ok", "version": __version__, "knowledge_version": kb.version})
