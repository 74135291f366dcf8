"""The OpenAPI document, with every error response described by the body it really has."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from ..errors import STATUS_PROBLEMS
from ..schemas import OpenAIError, Problem

_REF = "#/components/schemas/{model}"
_PROBLEM = {"application/problem+json": {"schema": {"$ref": _REF.format(model="Problem")}}}
_OPENAI = {"application/json": {"schema": {"$ref": _REF.format(model="OpenAIError")}}}

#: Why each error status is answered (its title comes from ``errors.STATUS_PROBLEMS``).
_WHY = {
    400: "the JSON body is not UTF-8",
    401: "missing or unknown API key",
    403: "read-only API key",
    404: "no such resource",
    413: "request body over the size limit",
    422: "the request does not validate, or is over a limit",
    503: "not ready or overloaded (see Retry-After)",
}
#: Under /v1 invalid input is a 400, as OpenAI answers it: there is no 422.
_WHY_V1 = {s: why for s, why in _WHY.items() if s != 422} | {
    400: "invalid input, a body that is not JSON, or JSON that is not UTF-8"
}
#: Statuses only an operation that asks for an API key answers.
_AUTH = {401, 403}
_HEADERS = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    503: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}


def _error_response(status: int, why: str, content: dict[str, Any]) -> dict[str, Any]:
    response = {"description": f"{STATUS_PROBLEMS[status].title}: {why}", "content": content}
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def _content(path: str, status: int) -> dict[str, Any]:
    """The body an error really has: OpenAI's under /v1, except where the body-size middleware
    answers (before any route) with a problem."""
    if not path.startswith("/v1/") or status == 413:
        return _PROBLEM
    if status == 400:
        return {**_OPENAI, **_PROBLEM}  # not UTF-8: the middleware's problem
    return _OPENAI


def install_openapi(app: FastAPI) -> None:
    """Document every error response with the body it really has: RFC 9457 problems
    (``application/problem+json``), or OpenAI's error object under ``/v1``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        _, error_schemas = models_json_schema(
            [(Problem, "serialization"), (OpenAIError, "serialization")], ref_template=_REF
        )
        components.update(error_schemas["$defs"])
        for path, operations in schema.get("paths", {}).items():
            whys = _WHY_V1 if path.startswith("/v1/") else _WHY
            for op in operations.values():
                responses = op.setdefault("responses", {})
                if 422 not in whys:
                    responses.pop("422", None)  # FastAPI's default
                for status, why in whys.items():
                    if status in _AUTH and "security" not in op:
                        continue
                    responses[str(status)] = _error_response(status, why, _content(path, status))
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
