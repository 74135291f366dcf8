"""Stories (the articles about one event, with their timeline) and the digest of what is new."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from ...schemas import DigestRequest, DigestResponse, StoryDetail, StoryList
from ..deps import ReadAccess, ServiceDep

router = APIRouter(dependencies=[ReadAccess], tags=["stories"])


@router.get("/stories", response_model=StoryList)
def list_stories(
    service: ServiceDep,
    since: datetime | None = Query(None, description="Stories with an article from then on."),
    until: datetime | None = Query(None, description="Stories that began by then."),
    source: str | None = Query(None, max_length=200, description="With an article of it."),
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=2**53),
) -> StoryList:
    """Stories by their latest article, newest first, with every outlet's copy listed."""
    return service.story_desk.page(
        since=since, until=until, source=source, limit=limit, offset=offset
    )


@router.get("/stories/{story_id}", response_model=StoryDetail)
def get_story(story_id: str, service: ServiceDep) -> StoryDetail:
    """One story with its timeline: each development quoted from the article that added it."""
    return service.story_desk.detail(story_id)


@router.post("/digest", response_model=DigestResponse)
def digest(body: DigestRequest, service: ServiceDep) -> DigestResponse:
    """The stories that gained articles since a time, each with what is new since then."""
    return service.story_desk.digest(body)
