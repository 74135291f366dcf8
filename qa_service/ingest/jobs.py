"""Asynchronous ingestion jobs for large batches, persisted in SQLite so they survive restarts.

A job stores its documents when it is accepted (``POST /documents?async=true`` answers 202 at
once); one background thread ingests them in batches. Each batch's documents and the job's
progress are committed in the same transaction, so after a crash the job resumes from exactly
what was stored. (On Milvus the progress row follows the Milvus writes in the local SQLite file:
a batch cut off between the two runs again, and its documents come back ``unchanged``.) A
document that fails (too long, say) is recorded with its reason and the job goes on.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import uuid
from typing import Any

from ..errors import QAServiceError
from ..schemas import DocumentIn, IngestResult
from ..storage.types import TxHook
from .pipeline import IngestPipeline

log = logging.getLogger(__name__)


class JobRunner:
    """Runs queued jobs one after another on a daemon thread."""

    BATCH = 32
    #: A job a worker stopped renewing for this long is taken over by another worker.
    LEASE_S = 30.0

    def __init__(self, pipeline: IngestPipeline) -> None:
        self.pipeline = pipeline
        self.jobs = pipeline.store.jobs
        #: This process: a job it leased before a restart in the same process is resumed at once.
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="qa-jobs", daemon=True)
        self._thread.start()

    def submit(self, docs: list[DocumentIn]) -> dict[str, Any]:
        """Store a job (validated documents) and return its status; work starts at once."""
        job_id = f"job-{uuid.uuid4().hex[:16]}"
        payload = json.dumps([d.model_dump(mode="json") for d in docs], ensure_ascii=False)
        self.jobs.create(job_id, payload, len(docs))
        self._wake.set()
        job = self.jobs.get(job_id)
        assert job is not None
        return job

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.jobs.claim_next(self.owner, self.LEASE_S)
            except sqlite3.ProgrammingError:  # the store was closed: its service is gone
                return
            except sqlite3.Error:
                log.exception("cannot read jobs")
                job = None
            if job is None:
                self._wake.wait(timeout=5)
                self._wake.clear()
                continue
            try:
                self._run(job)
            except Exception:
                log.exception("job %s stopped; it resumes on the next start", job["id"])
                self._stop.wait(5)

    def _progress(
        self, job: dict[str, Any], results: list[IngestResult], failures: list[dict[str, Any]]
    ) -> TxHook:
        """The progress update for one batch, run last in the batch's own transaction; the
        in-memory copy changes only once the SQL has run."""
        new = dict(job)
        new["done"] += len(results) + len(failures)
        for r in results:
            new[r.status] += 1
        new["failed"] += len(failures)
        new["failures"] = job["failures"] + failures
        new["status"] = "done" if new["done"] >= new["total"] else "running"
        write = self.jobs.progress(new, self.LEASE_S)

        def hook(c: sqlite3.Connection) -> None:
            write(c)
            job.update(new)

        return hook

    def _run(self, job: dict[str, Any]) -> None:
        docs = [DocumentIn.model_validate(d) for d in json.loads(job["payload"])]
        if job["status"] == "queued":
            self.jobs.in_transaction(self.jobs.mark_running(job["id"]))
        log.info(
            "job %s: %d of %d documents to go", job["id"], job["total"] - job["done"], len(docs)
        )
        while job["done"] < len(docs) and not self._stop.is_set():
            start = job["done"]
            batch = docs[start : start + self.BATCH]
            try:
                self.pipeline.ingest(
                    batch,
                    lambda results: self._progress(job, results, []),
                    max_documents=len(batch),
                )
            except QAServiceError:
                self._one_by_one(job, batch, start)
        if job["done"] >= len(docs):
            log.info("job %s done: %d failed", job["id"], job["failed"])

    def _one_by_one(self, job: dict[str, Any], batch: list[DocumentIn], start: int) -> None:
        """A batch failed as a whole: find the documents at fault, keep the rest."""
        for i, doc in enumerate(batch, start=start):
            try:
                self.pipeline.ingest([doc], lambda results: self._progress(job, results, []))
            except QAServiceError as e:
                failure = {"index": i, "id": doc.id, "reason": e.detail}
                self.jobs.in_transaction(self._progress(job, [], [failure]))
