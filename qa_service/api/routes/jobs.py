"""Asynchronous ingestion jobs."""

from __future__ import annotations

from fastapi import APIRouter, Query

from ...schemas import JobInfo, JobList
from ..deps import ReadAccess, ServiceDep

router = APIRouter(prefix="/jobs", dependencies=[ReadAccess], tags=["documents"])


@router.get("", response_model=JobList)
def list_jobs(
    service: ServiceDep,
    limit: int = Query(20, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=2**53),
) -> JobList:
    """Jobs, newest first."""
    return service.list_jobs(limit, offset)


@router.get("/{job_id}", response_model=JobInfo)
def get_job(job_id: str, service: ServiceDep) -> JobInfo:
    """Progress of a job: done of total, counts by outcome, failures with reasons."""
    return service.get_job(job_id)
