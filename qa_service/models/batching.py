"""Dynamic batching: model calls of concurrent requests run as one forward pass, one at a time.

Each request used to run its own small forward passes (one question embedding, the reader over
16 sentences) on its own thread. On a small CPU eight of them at once meant eight thread teams
fighting over two cores. Here a worker thread per model takes what callers have queued. It waits
at most ``max_wait_ms`` for more when the queue holds little. It runs one call on all of it and
hands each caller its rows. A compute lock shared by the workers lets one forward pass run at a
time, each with all intra-op threads. Throughput then grows with concurrency instead of queueing
behind oversubscribed cores.

Why our own queue and not the ``batched`` package: ``batched`` polls (it sleeps ``timeout_ms``
in a loop even when idle, and before every batch). It also splits a caller's items by heap order
and has no bulk lane. Ingestion must not hold up a question's single embedding.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..observability import BATCH_ITEMS
from .embedding import Embedder, Vectors
from .reader import BatchReader, Reading, ReadRequest

T = TypeVar("T")
R = TypeVar("R")


@dataclass(slots=True)
class _Job(Generic[T, R]):
    items: list[T]
    #: What the items weigh against ``max_items`` (reader requests: their sentences).
    size: int
    future: Future[list[R]] = field(default_factory=Future)


class Batcher(Generic[T, R]):
    """Runs ``fn(items) -> results`` (one result per item, in order) on the items of concurrent
    callers, gathered into batches of at most ``max_items`` (a larger job runs alone; ``weight``
    says how much one item counts, 1 by default).

    Two lanes: *interactive* jobs (a question's embedding, a reader call) always go before
    *bulk* jobs (ingestion's embeddings), which are taken one at a time. Thread-safe; the worker
    starts with the first call. When a merged call fails, each job is run again on its own, so
    one bad input cannot fail its neighbours.
    """

    def __init__(
        self,
        fn: Callable[[list[T]], list[R]],
        *,
        name: str,
        max_items: int = 64,
        max_wait_ms: float = 2.0,
        compute_lock: threading.Lock | None = None,
        weight: Callable[[T], int] | None = None,
    ) -> None:
        self.fn = fn
        self.weight = weight
        self.name = name
        self.max_items = max(1, max_items)
        self.max_wait_s = max(0.0, max_wait_ms) / 1000
        self.compute_lock = compute_lock or threading.Lock()
        self._interactive: deque[_Job[T, R]] = deque()
        self._bulk: deque[_Job[T, R]] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        #: Forward passes run and items they held (for tests and the benchmarks).
        self.batches = 0
        self.items = 0

    def __call__(self, items: Sequence[T], *, bulk: bool = False) -> list[R]:
        """Results for ``items``, in order; blocks until the batch holding them has run."""
        if not items:
            return []
        size = sum(map(self.weight, items)) if self.weight else len(items)
        job: _Job[T, R] = _Job(list(items), size)
        with self._cond:
            if self._closed:
                raise RuntimeError(f"the {self.name} batcher is closed")
            (self._bulk if bulk else self._interactive).append(job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name=f"batch-{self.name}", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return job.future.result()

    def close(self) -> None:
        """Stop the worker after the jobs already queued."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    # --- the worker ---------------------------------------------------------------------------
    def _take(self) -> list[_Job[T, R]] | None:
        """The next batch: queued interactive jobs up to ``max_items`` (waiting up to
        ``max_wait_ms`` for more while there is room), else one bulk job; None once closed."""
        with self._cond:
            while not self._interactive and not self._bulk:
                if self._closed:
                    return None
                self._cond.wait()
            if not self._interactive:
                return [self._bulk.popleft()]
            deadline = time.monotonic() + self.max_wait_s
            while (
                sum(j.size for j in self._interactive) < self.max_items
                and (left := deadline - time.monotonic()) > 0
                and not self._closed
            ):
                self._cond.wait(left)
            jobs = [self._interactive.popleft()]
            size = jobs[0].size
            while self._interactive and size + self._interactive[0].size <= self.max_items:
                size += self._interactive[0].size
                jobs.append(self._interactive.popleft())
            return jobs

    def _work(self) -> None:
        while (jobs := self._take()) is not None:
            self._run(jobs)

    def _run(self, jobs: list[_Job[T, R]]) -> None:
        flat = [item for job in jobs for item in job.items]
        try:
            with self.compute_lock:
                results = self.fn(flat)
            if len(results) != len(flat):
                raise RuntimeError(f"{self.name}: {len(results)} results for {len(flat)} items")
        except BaseException as e:  # handed to the callers, never lost in the worker
            if len(jobs) > 1:
                for job in jobs:
                    self._run([job])
                return
            jobs[0].future.set_exception(e)
            return
        self.batches += 1
        self.items += len(flat)
        BATCH_ITEMS.labels(self.name).observe(sum(job.size for job in jobs))
        at = 0
        for job in jobs:
            job.future.set_result(results[at : at + len(job.items)])
            at += len(job.items)


class BatchedEmbedder:
    """An Embedder whose small calls (questions, a few sentences) are batched across requests
    and whose large calls (ingestion) are queued in pieces behind them, one forward at a time.

    A piece is ``piece`` texts (8): a question waits behind at most one, about a quarter of a
    second for 200-token chunks on two cores (32 held it up to a second under load), and
    ingestion loses nothing measurable (``scripts/bench/ingest.py``).
    """

    def __init__(
        self,
        inner: Embedder,
        *,
        compute_lock: threading.Lock,
        max_wait_ms: float,
        piece: int = 8,
        small: int = 8,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_tokens = inner.max_tokens
        self.piece = max(1, piece)
        self.small = small
        self.batcher: Batcher[str, Vectors] = Batcher(
            self._embed_rows,
            name="embed",
            max_items=self.piece,
            max_wait_ms=max_wait_ms,
            compute_lock=compute_lock,
        )

    def _embed_rows(self, texts: list[str]) -> list[Vectors]:
        return list(self.inner.embed(texts))

    def embed(self, texts: Sequence[str]) -> Vectors:
        import numpy as np

        if not texts:
            return self.inner.embed([])
        if len(texts) <= self.small:
            return np.stack(self.batcher(texts))
        # longest first, as sentence-transformers orders one large call: each piece pads to
        # texts of about its own length
        order = sorted(range(len(texts)), key=lambda k: -len(texts[k]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(order), self.piece):
            idx = order[i : i + self.piece]
            out[idx] = np.stack(self.batcher([texts[k] for k in idx], bulk=True))
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def close(self) -> None:
        self.batcher.close()


class BatchedReader:
    """A Reader whose calls from concurrent requests run as one ``read_batch``: one request's
    sentences stay together, and the reader decides which of them share a forward pass."""

    def __init__(
        self,
        inner: BatchReader,
        *,
        compute_lock: threading.Lock,
        max_wait_ms: float,
        max_pairs: int,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.threshold = inner.threshold
        self.batcher: Batcher[ReadRequest, list[Reading]] = Batcher(
            inner.read_batch,
            name="reader",
            max_items=max_pairs,
            max_wait_ms=max_wait_ms,
            compute_lock=compute_lock,
            weight=lambda request: len(request.sentences),
        )

    def read(
        self, question: str, sentences: Sequence[str], contexts: Sequence[str] | None = None
    ) -> list[Reading]:
        if not sentences:
            return []
        (readings,) = self.batcher([ReadRequest(question, sentences, contexts)])
        return readings

    def close(self) -> None:
        self.batcher.close()
