"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from ... import __version__
from ...observability import INDEX_CHUNKS, INDEX_DOCUMENTS
from ...schemas import Health, Readiness
from ..deps import ReadAccess

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    """The process is up (models may still be loading)."""
    return Health(status="ok", version=__version__)


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(request: Request) -> JSONResponse:
    """Models loaded and index open: 200. Otherwise 503 with the reason: "starting" (with
    Retry-After), or "failed" (start-up ended with an error that waiting will not cure)."""
    service = getattr(request.app.state, "service", None)
    if service is None:
        error = getattr(request.app.state, "load_error", None)
        if error is not None:
            failed = Readiness(status="failed", detail=str(error))
            return JSONResponse(failed.model_dump(), status_code=503)
        body = Readiness(status="starting", detail="loading models")
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    info = service.status()
    body = Readiness(
        status="ready",
        documents=info["documents"],
        chunks=info["chunks"],
        index=info["index"],
        models=info["models"],
        generator=info.get("generator"),
    )
    return JSONResponse(body.model_dump())


@router.get(
    "/metrics",
    dependencies=[ReadAccess],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latency per route, ingest counts, model time, index size."""
    service = getattr(request.app.state, "service", None)
    if service is not None:
        info = await run_in_threadpool(service.status)
        INDEX_CHUNKS.set(info["index"]["vectors"])
        INDEX_DOCUMENTS.set(info["documents"])
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
