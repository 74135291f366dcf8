"""The FastAPI application factory: lifespan (model loading), routers, middleware, the web page."""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..config import Settings, get_settings
from ..errors import QAServiceError
from ..models.loading import Models, load_models
from ..observability import RequestContextMiddleware
from ..service import QAService
from .errors import install_error_handlers
from .middleware import BodyLimitMiddleware
from .openapi import install_openapi
from .routes import ask, documents, feeds, health, jobs, openai, search, stories, summaries

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


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
    install_openapi(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestContextMiddleware)  # outermost: ids and metrics for everything
    app.include_router(health.router)
    app.include_router(documents.router)
    app.include_router(jobs.router)
    app.include_router(feeds.router)
    app.include_router(search.router)
    app.include_router(ask.router)
    app.include_router(summaries.router)
    app.include_router(stories.router)
    app.include_router(openai.router)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        """The built-in web page; the policy forbids anything but our own files."""
        return FileResponse(STATIC_DIR / "index.html", headers={"Content-Security-Policy": _CSP})

    # The page's ES modules load only when served as JavaScript; the type StaticFiles guesses
    # comes from the host (a Windows registry can say text/plain), so it is set here.
    mimetypes.add_type("text/javascript", ".js")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
