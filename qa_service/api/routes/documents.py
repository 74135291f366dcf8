"""Ingest, list, read and delete documents."""

from __future__ import annotations

from fastapi import APIRouter, File, Query, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from ...schemas import (
    DocumentDetail,
    DocumentList,
    IngestRequest,
    IngestResponse,
    JobInfo,
    UploadResponse,
    UrlIngestRequest,
    UrlIngestResponse,
)
from ..deps import AdminAccess, ReadAccess, ServiceDep

router = APIRouter(prefix="/documents", tags=["documents"])


@router.post(
    "",
    response_model=IngestResponse | JobInfo,
    dependencies=[AdminAccess],
    responses={202: {"model": JobInfo, "description": "With `?async=true`: the job accepted."}},
)
def ingest_documents(
    body: IngestRequest,
    service: ServiceDep,
    response: Response,
    run_async: bool = Query(
        False,
        alias="async",
        description="Queue the batch as a job (202; follow GET /jobs/{id}) instead of waiting.",
    ),
) -> IngestResponse | JobInfo:
    """Create or update documents; unchanged ones cost nothing. Searchable when this returns."""
    if run_async:
        job = service.submit_job(body.documents)
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"/jobs/{job.id}"
        return job
    return IngestResponse(documents=service.ingest(body.documents))


@router.post("/files", response_model=UploadResponse, dependencies=[AdminAccess])
async def upload_documents(
    service: ServiceDep,
    files: list[UploadFile] = File(..., description=".txt .md .html .json .jsonl files"),
) -> UploadResponse:
    """Ingest uploaded files like `qa-service ingest`; a bad file is reported, not fatal."""
    contents = [(f.filename or "upload", await f.read()) for f in files]
    return await run_in_threadpool(service.ingest_files, contents)


@router.post("/urls", response_model=UrlIngestResponse, dependencies=[AdminAccess])
def ingest_urls(body: UrlIngestRequest, service: ServiceDep) -> UrlIngestResponse:
    """Fetch article pages, extract each article and ingest it. Each URL gets its own result
    (created, updated, unchanged, or failed with a reason); one bad URL never fails the rest."""
    return UrlIngestResponse(results=service.news.ingest_urls(body.urls))


@router.get("", response_model=DocumentList, dependencies=[ReadAccess])
def list_documents(
    service: ServiceDep,
    limit: int = Query(20, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=2**53),
) -> DocumentList:
    """Documents in ingestion order, without their text."""
    return service.list_documents(limit, offset)


@router.get("/{doc_id}", response_model=DocumentDetail, dependencies=[ReadAccess])
def get_document(doc_id: str, service: ServiceDep) -> DocumentDetail:
    """One document with its full text."""
    return service.get_document(doc_id)


@router.delete("/{doc_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[AdminAccess])
def delete_document(doc_id: str, service: ServiceDep) -> Response:
    """Delete a document; it never appears in results again."""
    service.delete_document(doc_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
