"""Hybrid search over chunks."""

from __future__ import annotations

from fastapi import APIRouter

from ...schemas import SearchRequest, SearchResponse
from ..deps import ReadAccess, ServiceDep

router = APIRouter(dependencies=[ReadAccess], tags=["search"])


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, service: ServiceDep) -> SearchResponse:
    """The chunks that best match the query (dense + BM25); each slices back to its document."""
    return SearchResponse(results=service.search(body.query, body.top_k, body.filters, body.mode))
