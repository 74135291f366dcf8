"""FastAPI dependencies, declared once as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..config import Settings
from ..errors import NotReady, ServiceUnavailable
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


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ServiceDep = Annotated[QAService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
