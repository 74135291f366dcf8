"""Followed RSS and Atom feeds."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from starlette.concurrency import run_in_threadpool

from ...schemas import FeedIn, FeedInfo, FeedList
from ..deps import AdminAccess, ReadAccess, ServiceDep

router = APIRouter(prefix="/feeds", tags=["feeds"])


@router.post(
    "",
    response_model=FeedInfo,
    status_code=status.HTTP_201_CREATED,
    dependencies=[AdminAccess],
    responses={200: {"model": FeedInfo, "description": "Already followed (interval updated)."}},
)
async def add_feed(body: FeedIn, service: ServiceDep, response: Response) -> FeedInfo:
    """Follow an RSS or Atom feed: checked now, polled in the background from then on."""
    feed, created = await run_in_threadpool(service.news.registry.add, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/feeds/{feed.id}"
    return feed


@router.get("", response_model=FeedList, dependencies=[ReadAccess])
def list_feeds(service: ServiceDep) -> FeedList:
    """Followed feeds with what their polls found."""
    return service.news.registry.list()


@router.get("/{feed_id}", response_model=FeedInfo, dependencies=[ReadAccess])
def get_feed(feed_id: str, service: ServiceDep) -> FeedInfo:
    """One feed: last fetch, status, entries seen, ingested, duplicate and failed."""
    return service.news.registry.get(feed_id)


@router.delete("/{feed_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[AdminAccess])
def remove_feed(feed_id: str, service: ServiceDep) -> Response:
    """Stop following a feed; the articles it brought stay."""
    service.news.registry.remove(feed_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{feed_id}/refresh", response_model=FeedInfo, dependencies=[AdminAccess])
def refresh_feed(feed_id: str, service: ServiceDep) -> FeedInfo:
    """Poll the feed now (new entries are ingested before this returns)."""
    return service.news.refresh_feed(feed_id)
