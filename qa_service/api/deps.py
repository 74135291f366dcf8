"""FastAPI dependencies, declared once as ``Annotated`` aliases."""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import SecretStr

from ..config import Settings
from ..errors import Forbidden, NotReady, ServiceUnavailable, Unauthorized
from ..service import QAService


def get_service(request: Request) -> QAService:
    """The service on ``app.state``; 503 while models are still loading (or failed to)."""
    service: QAService | None = getattr(request.app.state, "service", None)
    if service is None:
        error = getattr(request.app.state, "load_error", None)
        if error is not None:
            raise ServiceUnavailable(f"The service failed to start: {error}")
        raise NotReady("The service is still loading its models; retry in a few seconds.")
    return service


ServiceDep = Annotated[QAService, Depends(get_service)]


def presented_key(request: Request) -> str | None:
    """The key sent as ``Authorization: Bearer <key>`` (what OpenAI SDKs send) or ``X-API-Key``."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


def _matches(key: str, keys: list[SecretStr]) -> bool:
    # Compare against every key, in constant time each, so timing reveals neither key nor match.
    found = False
    for k in keys:
        found |= hmac.compare_digest(key.encode(), k.get_secret_value().encode())
    return found


def access_level(request: Request) -> Literal["admin", "read"]:
    """Who is calling: raises 401 for a missing or unknown key when keys are configured."""
    settings: Settings = request.app.state.settings
    if not settings.auth_enabled:
        return "admin"
    key = presented_key(request)
    if key is None:
        raise Unauthorized("An API key is required: send `Authorization: Bearer <key>`.")
    if _matches(key, settings.api_keys):
        return "admin"
    if _matches(key, settings.read_api_keys):
        return "read"
    raise Unauthorized("The API key is not valid.")


def require_read(request: Request) -> None:
    access_level(request)


def require_admin(request: Request) -> None:
    if access_level(request) != "admin":
        raise Forbidden("This key is read-only; ingesting and deleting need an admin key.")


ReadAccess = Depends(require_read)
AdminAccess = Depends(require_admin)
