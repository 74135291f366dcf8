"""The FastAPI application: lifespan (model loading), error mapping, request limits."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..config import Settings, get_settings
from ..errors import QAServiceError
from ..models.loading import Models, load_models
from ..observability import RequestContextMiddleware
from ..schemas import Problem
from ..service import QAService
from .routes import ask, documents, feeds, health, jobs, openai, search, summaries
from .routes.openai import openai_error_body

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-input", "Invalid input"),
    429: ("too-many-requests", "Too many requests"),
    503: ("service-unavailable", "Service unavailable"),
}


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem response: the one error shape of the API."""
    default_slug, default_title = _STATUS_SLUGS.get(status, ("error", "Error"))
    body: dict[str, Any] = {
        "type": f"/problems/{slug or default_slug}",
        "title": title or default_title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    """Validation errors without the offending input (it may be megabytes of article text)."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"loc": loc, "msg": err.get("msg", ""), "type": err.get("type", "")})
    return out


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(p for p in err["loc"] if p != "body") or "body"
        parts.append(f"{where}: {err['msg']}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def _is_openai(request: Request) -> bool:
    """OpenAI-compatible routes answer errors in OpenAI's shape, which the SDKs parse."""
    return request.url.path.startswith("/v1/")


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to a problem response, here and nowhere else."""

    @app.exception_handler(QAServiceError)
    async def _service_error(request: Request, exc: QAServiceError) -> JSONResponse:
        if exc.status >= 500 and exc.status != 503:
            log.error("%s: %s", type(exc).__name__, exc.detail)
        headers = {"Retry-After": "5"} if exc.status == 503 else None
        if exc.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        if _is_openai(request):
            status = 400 if exc.status == 422 else exc.status
            body = openai_error_body(
                status, exc.detail, exc.extra.get("param"), exc.extra.get("code", exc.slug)
            )
            return JSONResponse(body, status_code=status, headers=headers)
        return problem(
            exc.status,
            exc.detail,
            slug=exc.slug,
            title=exc.title,
            instance=request.url.path,
            headers=headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_errors(exc.errors())
        if _is_openai(request):
            param = ".".join(p for p in errors[0]["loc"][1:]) if errors else None
            body = openai_error_body(400, _describe(errors), param or None, "invalid_value")
            return JSONResponse(body, status_code=400)
        return problem(
            422, _describe(errors), slug="invalid-input", instance=request.url.path, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route for {request.method} {request.url.path}."
        elif exc.status_code == 400 and "parsing the body" in detail:
            detail = "The request body could not be parsed as JSON."
        if _is_openai(request):
            body = openai_error_body(exc.status_code, detail, None, None)
            return JSONResponse(body, status_code=exc.status_code)
        return problem(
            exc.status_code,
            detail,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "An unexpected error occurred; it has been logged.",
            slug="internal-error",
            title="Internal error",
            instance=request.url.path,
        )


class BodyLimitMiddleware:
    """Reject bodies over ``max_bytes`` with 413 (also chunked ones) and JSON that isn't UTF-8.

    The body is read here, up to the limit, and replayed to the app: an oversized upload is cut
    off without being buffered whole, and nothing downstream sees a partial body.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        too_large = problem(
            413,
            f"The request body is larger than the limit of {self.max_bytes} bytes.",
            limit=self.max_bytes,
        )
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await too_large(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        data = b"".join(chunks)
        if data and "json" in headers.get("content-type", ""):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as e:
                response = problem(
                    400,
                    f"The request body is not valid UTF-8 (byte {e.start}); send UTF-8 JSON.",
                    slug="invalid-encoding",
                    title="Invalid encoding",
                )
                await response(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


_ERROR_CODES = {
    "400": "Bad request (body not UTF-8 / not JSON)",
    "401": "Missing or unknown API key",
    "403": "Read-only API key",
    "404": "Not found",
    "413": "Request body too large",
    "422": "Invalid input",
    "503": "Not ready or overloaded (see Retry-After)",
}


def _install_openapi(app: FastAPI) -> None:
    """Document every error response with the body it really has: RFC 9457 problems
    (``application/problem+json``), or OpenAI's error object under ``/v1``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components["OpenAIError"] = {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "message": {"type": "string"},
                        "type": {"type": "string"},
                        "param": {"type": ["string", "null"]},
                        "code": {"type": ["string", "null"]},
                    },
                    "required": ["message", "type"],
                }
            },
            "required": ["error"],
        }
        for path, operations in schema.get("paths", {}).items():
            if path.startswith("/v1/"):
                content = {
                    "application/json": {"schema": {"$ref": "#/components/schemas/OpenAIError"}}
                }
            else:
                content = {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }
            for op in operations.values():
                responses = op.setdefault("responses", {})
                for code, description in _ERROR_CODES.items():
                    responses[code] = {"description": description, "content": content}
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    settings: Settings | None = None,
    *,
    models: Models | None = None,
    load_before_start: bool = False,
) -> FastAPI:
    """Build the application.

    Args:
        settings: defaults to the ``QA_*`` environment.
        models: already loaded models (tests share them); when omitted they load in the
            background after start-up, and ``/ready`` answers 503 until they are in.
        load_before_start: load the models before the app accepts requests (start-up fails if
            they fail). Ray Serve needs this: it routes to a replica as soon as its start-up
            ends, so a replica still loading in the background would answer 503.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.service = None
        app.state.load_error = None

        def start() -> QAService:
            service = QAService(settings, models or load_models(settings))
            service.news.start_polling()  # the server follows feeds; CLI commands do not
            return service

        async def load() -> None:
            try:
                app.state.service = await asyncio.to_thread(start)
                log.info("qa-service ready")
            except QAServiceError as e:  # e.g. a store that cannot be opened: say why, once
                log.error("qa-service failed to start: %s", e.detail)
                app.state.load_error = e
            except Exception as e:
                log.exception("qa-service failed to start")
                app.state.load_error = e

        if models is not None or load_before_start:
            app.state.service = await asyncio.to_thread(start)
            log.info("qa-service ready")
            task = None
        else:
            task = asyncio.create_task(load())
        try:
            yield
        finally:
            if task is not None:
                await task
            if app.state.service is not None:
                await asyncio.to_thread(app.state.service.close)
                app.state.service = None

    app = FastAPI(
        title="qa-service",
        version=__version__,
        description=(
            "Question answering and summaries over news articles, grounded in exact citations, "
            "on local models. Errors use RFC 9457 problem details."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    _install_openapi(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestContextMiddleware)  # outermost: ids and metrics for everything
    app.include_router(health.router)
    app.include_router(documents.router)
    app.include_router(jobs.router)
    app.include_router(feeds.router)
    app.include_router(search.router)
    app.include_router(ask.router)
    app.include_router(summaries.router)
    app.include_router(openai.router)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        """The built-in web page; the policy forbids anything but our own files."""
        return FileResponse(STATIC_DIR / "index.html", headers={"Content-Security-Policy": _CSP})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
