"""Asynchronous ingestion jobs: accepted at once, progress visible, resumed after a restart."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.ingest.jobs import JobRunner


def wait_done(client: TestClient, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] == "done":
            return job
        time.sleep(0.2)
    raise AssertionError(f"job not done: {job}")


def test_job_ingests_reports_failures_and_counts(settings, models):
    tight = settings.model_copy(update={"max_text_chars": 200})
    docs = [
        {"id": f"j{i}", "text": f"Report number {i} about the harbour works."} for i in range(40)
    ]
    docs[7] = {"id": "toolong", "text": "word " * 100}
    with TestClient(create_app(tight, models=models)) as c:
        r = c.post("/documents?async=true", json={"documents": docs})
        assert r.status_code == 202 and r.headers["location"] == f"/jobs/{r.json()['id']}"
        job = wait_done(c, r.json()["id"])
        assert (job["total"], job["done"], job["created"], job["failed"]) == (40, 40, 39, 1)
        assert job["failures"][0]["index"] == 7 and "limit" in job["failures"][0]["reason"]
        assert c.get("/documents/j39").status_code == 200
        assert c.get("/documents/toolong").status_code == 404
        assert c.get("/jobs").json()["total"] == 1
        assert c.get("/jobs/nope").status_code == 404


def test_interrupted_job_resumes_after_restart(settings, models, monkeypatch):
    docs = [{"id": f"r{i}", "text": f"Dispatch {i} on the ferry strike."} for i in range(10)]
    monkeypatch.setattr(JobRunner, "BATCH", 4)
    original = JobRunner._progress

    def die_after_first_batch(self, job, results, failures):
        hook = original(self, job, results, failures)

        def commit_then_stop(c):
            hook(c)
            self._stop.set()  # the worker "dies" right after its first commit

        return commit_then_stop

    monkeypatch.setattr(JobRunner, "_progress", die_after_first_batch)
    with TestClient(create_app(settings, models=models)) as c:
        job_id = c.post("/documents?async=true", json={"documents": docs}).json()["id"]
        deadline = time.monotonic() + 30
        while c.get(f"/jobs/{job_id}").json()["done"] < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        partial = c.get(f"/jobs/{job_id}").json()
        assert partial["status"] == "running" and partial["done"] == 4
        assert c.get("/documents").json()["total"] == 4  # exactly what the job says is stored
    monkeypatch.setattr(JobRunner, "_progress", original)
    with TestClient(create_app(settings, models=models)) as c:
        job = wait_done(c, job_id)
        assert job["done"] == 10 and job["created"] == 10 and job["failed"] == 0
        assert c.get("/documents").json()["total"] == 10


def test_job_limits(settings, models):
    tight = settings.model_copy(update={"max_job_documents": 3})
    with TestClient(create_app(tight, models=models)) as c:
        r = c.post(
            "/documents?async=true", json={"documents": [{"text": f"t{i}"} for i in range(4)]}
        )
        assert r.status_code == 422 and r.json()["limit"] == 3
