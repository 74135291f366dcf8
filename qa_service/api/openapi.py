"""The OpenAPI document, with every error response described by the body it really has."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ..schemas import Problem

_ERROR_CODES = {
    "400": "Bad request (body not UTF-8 / not JSON)",
    "401": "Missing or unknown API key",
    "403": "Read-only API key",
    "404": "Not found",
    "413": "Request body too large",
    "422": "Invalid input",
    "503": "Not ready or overloaded (see Retry-After)",
}


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
