"""Ingest, list, read and delete documents."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from ...schemas import DocumentDetail, DocumentList, IngestRequest, IngestResponse
from ..deps import ServiceDep

router = APIRouter(prefix="/documents", tags=["documents"])


@router.post("", response_model=IngestResponse)
def ingest_documents(body: IngestRequest, service: ServiceDep) -> IngestResponse:
    """Create or update documents; unchanged ones cost nothing. Searchable when this returns."""
    return IngestResponse(documents=service.ingest(body.documents))


@router.get("", response_model=DocumentList)
def list_documents(
    service: ServiceDep,
    limit: int = Query(20, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> DocumentList:
    """Documents in ingestion order, without their text."""
    return service.list_documents(limit, offset)


@router.get("/{doc_id}", response_model=DocumentDetail)
def get_document(doc_id: str, service: ServiceDep) -> DocumentDetail:
    """One document with its full text."""
    return service.get_document(doc_id)


@router.delete("/{doc_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(doc_id: str, service: ServiceDep) -> Response:
    """Delete a document; it never appears in results again."""
    service.delete_document(doc_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
