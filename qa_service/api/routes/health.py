"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ... import __version__
from ...schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health() -> Health:
    """The process is up (models may still be loading)."""
    return Health(status="ok", version=__version__)


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
def ready(request: Request) -> JSONResponse:
    """Models loaded and index open: 200; otherwise 503 with the reason."""
    service = getattr(request.app.state, "service", None)
    if service is None:
        error = getattr(request.app.state, "load_error", None)
        body = Readiness(
            status="failed" if error else "starting",
            detail=str(error) if error else "loading models",
        )
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    info = service.status()
    body = Readiness(
        status="ready", documents=info["documents"], chunks=info["chunks"], models=info["models"]
    )
    return JSONResponse(body.model_dump())
