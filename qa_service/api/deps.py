"""FastAPI dependencies, declared once as ``Annotated`` aliases."""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
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


#: The two ways to send a key; ``auto_error=False`` leaves the 401 (and its body) to us. As
#: dependencies they put the schemes in the OpenAPI document, either one accepted.
bearer_key = HTTPBearer(
    scheme_name="BearerAuth",
    description="`Authorization: Bearer <key>` (what OpenAI SDKs send), with a key from "
    "QA_API_KEYS (admin) or QA_READ_API_KEYS (read-only); needed only when keys are set.",
    auto_error=False,
)
header_key = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKeyAuth",
    description="The same key as `X-API-Key: <key>`; a Bearer key wins if both are sent.",
    auto_error=False,
)


def presented_key(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_key)],
    header: Annotated[str | None, Depends(header_key)],
) -> str | None:
    """The key sent as ``Authorization: Bearer <key>``, else as ``X-API-Key``."""
    return bearer.credentials if bearer is not None else header


def _matches(key: str, keys: list[SecretStr]) -> bool:
    # Compare against every key, in constant time each, so timing reveals neither key nor match.
    found = False
    for k in keys:
        found |= hmac.compare_digest(key.encode(), k.get_secret_value().encode())
    return found


def access_level(
    request: Request, key: Annotated[str | None, Depends(presented_key)]
) -> Literal["admin", "read"]:
    """Who is calling: raises 401 for a missing or unknown key when keys are configured."""
    settings: Settings = request.app.state.settings
    if not settings.auth_enabled:
        return "admin"
    if key is None:
        raise Unauthorized("An API key is required: send `Authorization: Bearer <key>`.")
    if _matches(key, settings.api_keys):
        return "admin"
    if _matches(key, settings.read_api_keys):
        return "read"
    raise Unauthorized("The API key is not valid.")


Access = Annotated[Literal["admin", "read"], Depends(access_level)]


def require_read(access: Access) -> None:
    """Any valid key (``access_level`` raises for the others)."""


def require_admin(access: Access) -> None:
    if access != "admin":
        raise Forbidden("This key is read-only; ingesting and deleting need an admin key.")


ReadAccess = Depends(require_read)
AdminAccess = Depends(require_admin)
