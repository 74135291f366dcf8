"""Request and response types of the HTTP API (they are the OpenAPI schema).

One module per resource: ``common`` (ids, time stamps, ModelInfo, the error bodies Problem and
OpenAIError), ``documents``, ``jobs``, ``search``, ``ask``, ``summaries``, ``health`` and ``news``
(URLs and feeds), ``stories``. Every public name is importable from ``qa_service.schemas``.
"""

from .ask import (
    AskMode,
    AskRequest,
    AskResponse,
    Citation,
    RelatedPassage,
    ShortAnswer,
)
from .common import (
    DOC_ID_PATTERN,
    DocId,
    ModelInfo,
    NonBlank,
    OpenAIError,
    OpenAIErrorDetail,
    Problem,
    to_utc_iso,
)
from .documents import (
    DocumentDetail,
    DocumentIn,
    DocumentInfo,
    DocumentList,
    IngestRequest,
    IngestResponse,
    IngestResult,
    UploadFailure,
    UploadResponse,
)
from .health import (
    Health,
    Readiness,
)
from .jobs import (
    JobFailure,
    JobInfo,
    JobList,
)
from .news import (
    FeedIn,
    FeedInfo,
    FeedList,
    UrlIngestRequest,
    UrlIngestResponse,
    UrlResult,
    UrlStatus,
)
from .search import (
    SearchFilters,
    SearchHit,
    SearchMode,
    SearchRequest,
    SearchResponse,
)
from .stories import (
    DigestRequest,
    DigestResponse,
    DigestStory,
    StoryArticle,
    StoryDetail,
    StoryInfo,
    StoryList,
    StorySentence,
)
from .summaries import (
    SummarizeRequest,
    SummarizeResponse,
    SummaryCitation,
    SummaryKind,
    SummaryMode,
    SummarySentenceOut,
)

__all__ = [
    "DOC_ID_PATTERN",
    "AskMode",
    "AskRequest",
    "AskResponse",
    "Citation",
    "DigestRequest",
    "DigestResponse",
    "DigestStory",
    "DocId",
    "DocumentDetail",
    "DocumentIn",
    "DocumentInfo",
    "DocumentList",
    "FeedIn",
    "FeedInfo",
    "FeedList",
    "Health",
    "IngestRequest",
    "IngestResponse",
    "IngestResult",
    "JobFailure",
    "JobInfo",
    "JobList",
    "ModelInfo",
    "NonBlank",
    "OpenAIError",
    "OpenAIErrorDetail",
    "Problem",
    "Readiness",
    "RelatedPassage",
    "SearchFilters",
    "SearchHit",
    "SearchMode",
    "SearchRequest",
    "SearchResponse",
    "ShortAnswer",
    "StoryArticle",
    "StoryDetail",
    "StoryInfo",
    "StoryList",
    "StorySentence",
    "SummarizeRequest",
    "SummarizeResponse",
    "SummaryCitation",
    "SummaryKind",
    "SummaryMode",
    "SummarySentenceOut",
    "UploadFailure",
    "UploadResponse",
    "UrlIngestRequest",
    "UrlIngestResponse",
    "UrlResult",
    "UrlStatus",
    "to_utc_iso",
]
