"""The one exception tree of qa-service; ``api/errors.py`` maps it to HTTP in one place.

::

    QAServiceError                      500  internal-error
    ├── InvalidInput                    422  invalid-input
    │   ├── InvalidDocument             422  invalid-document
    │   └── FetchFailed                 422  fetch-failed
    ├── NotFound                        404  not-found
    │   ├── DocumentNotFound            404  document-not-found
    │   └── StoryNotFound               404  story-not-found
    ├── PayloadTooLarge                 413  payload-too-large
    ├── LimitExceeded                   422  limit-exceeded
    ├── Unauthorized                    401  unauthorized
    ├── Forbidden                       403  forbidden
    ├── ServiceUnavailable              503  service-unavailable
    │   ├── NotReady                    503  not-ready
    │   ├── Overloaded                  503  overloaded
    │   └── GeneratorUnavailable        503  generator-unavailable
    ├── ModelError                      500  model-error
    └── StorageError                    500  storage-error

Each class carries its HTTP status, a stable slug (the problem ``type``) and a short title, so a
route never decides a status code itself. ``STATUS_PROBLEMS`` (at the end) gives each status its
default slug and title, for errors that name no finer one; the API derives its own from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, NamedTuple

__all__ = [
    "STATUS_PROBLEMS",
    "DocumentNotFound",
    "FetchFailed",
    "Forbidden",
    "GeneratorUnavailable",
    "HttpProblem",
    "InvalidDocument",
    "InvalidInput",
    "LimitExceeded",
    "ModelError",
    "NotFound",
    "NotReady",
    "Overloaded",
    "PayloadTooLarge",
    "QAServiceError",
    "ServiceUnavailable",
    "StorageError",
    "StoryNotFound",
    "Unauthorized",
]


class QAServiceError(Exception):
    """Base of every error the service raises on purpose."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        #: Extra members for the problem body (e.g. ``limit``), never secrets.
        self.extra = extra


class InvalidInput(QAServiceError):
    status = 422
    slug = "invalid-input"
    title = "Invalid input"


class InvalidDocument(InvalidInput):
    slug = "invalid-document"
    title = "Invalid document"


class FetchFailed(InvalidInput):
    """A URL given to the service (a feed to follow) could not be fetched or read."""

    slug = "fetch-failed"
    title = "Fetch failed"


class NotFound(QAServiceError):
    status = 404
    slug = "not-found"
    title = "Not found"


class DocumentNotFound(NotFound):
    slug = "document-not-found"
    title = "Document not found"

    def __init__(self, doc_id: str) -> None:
        super().__init__(f"No document with id {doc_id!r}.", doc_id=doc_id)


class StoryNotFound(NotFound):
    slug = "story-not-found"
    title = "Story not found"

    def __init__(self, story_id: str) -> None:
        super().__init__(f"No story with id {story_id!r}.", story_id=story_id)


class PayloadTooLarge(QAServiceError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class LimitExceeded(QAServiceError):
    status = 422
    slug = "limit-exceeded"
    title = "Limit exceeded"


class Unauthorized(QAServiceError):
    status = 401
    slug = "unauthorized"
    title = "Unauthorized"


class Forbidden(QAServiceError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class ServiceUnavailable(QAServiceError):
    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"


class NotReady(ServiceUnavailable):
    slug = "not-ready"
    title = "Not ready"


class Overloaded(ServiceUnavailable):
    slug = "overloaded"
    title = "Overloaded"


class GeneratorUnavailable(ServiceUnavailable):
    """A generator server (``QA_GENERATOR=openai``) is unreachable, timed out or refused the
    request: answers fall back to the extractive ones rather than failing."""

    slug = "generator-unavailable"
    title = "Generator unavailable"


class ModelError(QAServiceError):
    slug = "model-error"
    title = "Model error"


class StorageError(QAServiceError):
    slug = "storage-error"
    title = "Storage error"


class HttpProblem(NamedTuple):
    """The problem ``type`` slug and the title an HTTP status has by default."""

    slug: str
    title: str


#: The one table of status -> default slug and title: the class above that stands for each
#: status, and the statuses only the web framework answers (a body that is not JSON, an unknown
#: method, a wrong media type). Errors that name no finer kind (an ``HTTPException``, a problem
#: built from a bare status) take theirs from here.
STATUS_PROBLEMS: Final[Mapping[int, HttpProblem]] = {
    400: HttpProblem("bad-request", "Bad request"),
    405: HttpProblem("method-not-allowed", "Method not allowed"),
    406: HttpProblem("not-acceptable", "Not acceptable"),
    415: HttpProblem("unsupported-media-type", "Unsupported media type"),
    429: HttpProblem("too-many-requests", "Too many requests"),
    **{
        error.status: HttpProblem(error.slug, error.title)
        for error in (
            InvalidInput,
            NotFound,
            PayloadTooLarge,
            Unauthorized,
            Forbidden,
            ServiceUnavailable,
            QAServiceError,
        )
    },
}
