"""Request-body limits, enforced before the app reads a byte too many."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import problem


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
