"""Exceptions to HTTP, in one place: RFC 9457 problem details, or OpenAI's error object under
``/v1``. The problem body is built by ``problem_body`` alone (responses and SSE error events)."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import STATUS_PROBLEMS, HttpProblem, QAServiceError
from ..schemas import OpenAIError, OpenAIErrorDetail

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_UNLISTED = HttpProblem("error", "Error")  # a status STATUS_PROBLEMS does not know


def problem_body(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An RFC 9457 problem body: the one error shape of the API (responses and SSE events)."""
    default_slug, default_title = STATUS_PROBLEMS.get(status, _UNLISTED)
    body: dict[str, Any] = {
        "type": f"/problems/{slug or default_slug}",
        "title": title or default_title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


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
    """An RFC 9457 problem response."""
    body = problem_body(status, detail, slug=slug, title=title, instance=instance, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def openai_error_body(
    status: int, message: str, param: str | None, code: str | None
) -> dict[str, Any]:
    """OpenAI's error object (``schemas.OpenAIError``, as the OpenAPI document describes it)."""
    error = OpenAIErrorDetail(
        message=message,
        type="invalid_request_error" if status < 500 else "server_error",
        param=param,
        code="invalid_api_key" if status == 401 else code,  # what OpenAI clients look for
    )
    return OpenAIError(error=error).model_dump()


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
            500, "An unexpected error occurred; it has been logged.", instance=request.url.path
        )
