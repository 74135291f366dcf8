"""Metrics (Prometheus), request ids, and JSON logs.

Every request gets an id (the caller's ``X-Request-ID`` when it is sane, else a new one), returned
in ``X-Request-ID`` and attached to every log line written while it is served. Metrics are
process-wide (``prometheus_client``'s default registry) and served at ``/metrics``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: Which process answered (host and pid): tells replicas apart behind a load balancer.
_SERVED_BY = f"{socket.gethostname()}:{os.getpid()}".encode()

HTTP_REQUESTS = Counter(
    "qa_http_requests_total", "HTTP requests by route and status.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "qa_http_request_duration_seconds",
    "HTTP request latency by route (streams: until the last byte).",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
INGESTED = Counter("qa_documents_ingested_total", "Documents ingested, by outcome.", ["status"])
MODEL_LATENCY = Histogram(
    "qa_model_seconds",
    "Time spent in model calls: embed (per batch), retrieve/generate (per answer), summarize.",
    ["op"],
    buckets=_LATENCY_BUCKETS,
)
BATCH_ITEMS = Histogram(
    "qa_batch_items",
    "Items per forward pass of a batched model (embed: texts; reader: sentences), across "
    "concurrent requests.",
    ["model"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
INDEX_CHUNKS = Gauge("qa_index_chunks", "Chunks in the vector index.")
INDEX_DOCUMENTS = Gauge("qa_index_documents", "Documents stored.")

access_log = logging.getLogger("qa_service.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    _SKIP = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        entry.update({k: v for k, v in record.__dict__.items() if k not in self._SKIP})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str, fmt: str) -> None:
    """Root logging for the server and CLI: JSON lines or plain text on stderr."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("bm25s").setLevel(logging.WARNING)


class RequestContextMiddleware:
    """Request id in and out, access log line, and the HTTP metrics, for every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _REQUEST_ID_RE.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", rid.encode()))
                headers.append((b"x-served-by", _SERVED_BY))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], path).observe(elapsed)
            access_log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={"status": status, "duration_ms": round(elapsed * 1000, 1), "route": path},
            )
            request_id.reset(token)
