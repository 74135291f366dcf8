"""Types every resource shares: ids, non-blank text, time stamps, models, error bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

DOC_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@~+-]{0,199}$"


def to_utc_iso(value: datetime) -> str:
    """ISO 8601 in UTC with seconds; naive times are taken as UTC. Sorts as text."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or whitespace only")
    return value


NonBlank = Annotated[str, AfterValidator(_not_blank)]
DocId = Annotated[str, Field(pattern=DOC_ID_PATTERN, examples=["syria-hama-counteroffensive"])]


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every error response."""

    type: str = Field(examples=["/problems/document-not-found"])
    title: str = Field(examples=["Document not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["No document with id 'x'."])
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(
        None, description="Per-field validation errors, when the request body was invalid."
    )

    model_config = ConfigDict(extra="allow")


class OpenAIErrorDetail(BaseModel):
    """What went wrong, in the members OpenAI's SDKs read."""

    message: str = Field(examples=["The API key is not valid."])
    type: Literal["invalid_request_error", "server_error"] = Field(
        description="`server_error` for a 5xx status, else `invalid_request_error`."
    )
    param: str | None = Field(
        description="The request field at fault, for invalid input.", examples=["messages"]
    )
    code: str | None = Field(
        description="`invalid_api_key` on 401; else e.g. `model_not_found`, `invalid_value` "
        "or the problem slug (`not-ready`).",
        examples=["invalid_api_key"],
    )


class OpenAIError(BaseModel):
    """OpenAI's error object: the body of every error response under ``/v1``."""

    error: OpenAIErrorDetail


class ModelInfo(BaseModel):
    embedding: str
    generator: str | None
    reader: str | None = Field(None, description="Scores which sentence answers, if any does.")
    auto_mode: Literal["generative", "extractive"] = Field(
        "extractive",
        description="What mode=auto does with this generator: only an instruction-tuned "
        "(chat) model phrases answers; with a base model auto answers extractively.",
    )
