"""Dynamic batching (``models/batching.py``): concurrent calls share forward passes, each caller
gets its own rows, a failing input fails only its caller, ingestion waits behind questions."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from qa_service.models.batching import BatchedEmbedder, BatchedReader, Batcher
from qa_service.models.reader import Reading, ReadRequest, length_buckets, sigmoid


class Gated:
    """A batch function that records its batches and holds the first one until released, so
    the calls made meanwhile queue up behind it."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.started = threading.Event()

    def __call__(self, items: list[str]) -> list[str]:
        self.batches.append(list(items))
        self.started.set()
        self.release.wait(10)
        if "bad" in items:
            raise ValueError("bad input")
        return [s.upper() for s in items]


def _queue_behind_first(batcher: Batcher[str, str], fn: Gated, calls: list[list[str]]):
    """Run ``calls`` concurrently while the worker is busy with a first call; their results."""
    pool = ThreadPoolExecutor(len(calls) + 1)
    first = pool.submit(batcher, ["first"])
    assert fn.started.wait(10)
    futures = [pool.submit(batcher, c) for c in calls]
    deadline = time.monotonic() + 10
    while len(batcher._interactive) < len(calls) and time.monotonic() < deadline:
        time.sleep(0.001)
    fn.release.set()
    assert first.result(10) == ["FIRST"]
    return futures


def test_calls_that_meet_run_as_one_batch_and_each_caller_gets_its_rows():
    fn = Gated()
    batcher: Batcher[str, str] = Batcher(fn, name="t", max_items=64, max_wait_ms=0)
    calls = [[f"q{i}-a", f"q{i}-b"] for i in range(6)]
    futures = _queue_behind_first(batcher, fn, calls)
    for call, fut in zip(calls, futures, strict=True):
        assert fut.result(10) == [s.upper() for s in call]
    assert len(fn.batches) == 2 and sorted(fn.batches[1]) == sorted(s for c in calls for s in c)
    assert (batcher.batches, batcher.items) == (2, 13)


def test_batches_hold_at_most_max_items_by_weight_and_a_large_job_runs_alone():
    fn = Gated()
    batcher: Batcher[str, str] = Batcher(
        fn, name="t", max_items=5, max_wait_ms=0, weight=lambda s: len(s)
    )
    futures = _queue_behind_first(batcher, fn, [["aa"], ["bb"], ["cc"], ["dddddddd"]])
    assert [f.result(10) for f in futures] == [["AA"], ["BB"], ["CC"], ["DDDDDDDD"]]
    assert fn.batches[1:] == [["aa", "bb"], ["cc"], ["dddddddd"]]


def test_a_failing_input_fails_only_its_caller():
    fn = Gated()
    batcher: Batcher[str, str] = Batcher(fn, name="t", max_items=64, max_wait_ms=0)
    good, bad, other = _queue_behind_first(batcher, fn, [["x"], ["bad"], ["y"]])
    assert good.result(10) == ["X"] and other.result(10) == ["Y"]
    with pytest.raises(ValueError, match="bad input"):
        bad.result(10)


def test_bulk_jobs_wait_behind_interactive_ones_and_run_one_at_a_time():
    fn = Gated()
    batcher: Batcher[str, str] = Batcher(fn, name="t", max_items=64, max_wait_ms=0)
    pool = ThreadPoolExecutor(4)
    first = pool.submit(batcher, ["first"])
    assert fn.started.wait(10)
    bulk = [pool.submit(batcher, [f"chunk{i}"], bulk=True) for i in range(2)]
    while len(batcher._bulk) < 2:
        time.sleep(0.001)
    question = pool.submit(batcher, ["question"])
    while not batcher._interactive:
        time.sleep(0.001)
    fn.release.set()
    assert first.result(10) == ["FIRST"] and question.result(10) == ["QUESTION"]
    assert [b.result(10) for b in bulk] == [["CHUNK0"], ["CHUNK1"]]
    assert fn.batches[1:] == [["question"], ["chunk0"], ["chunk1"]]


def test_a_lone_call_waits_at_most_max_wait_and_a_closed_batcher_says_so():
    batcher: Batcher[int, int] = Batcher(lambda xs: [x * 2 for x in xs], name="t", max_wait_ms=1)
    t0 = time.perf_counter()
    assert batcher([1, 2, 3]) == [2, 4, 6]
    assert time.perf_counter() - t0 < 1.0
    assert batcher([]) == []
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher([1])


def test_forward_passes_of_different_models_never_overlap():
    lock = threading.Lock()
    running, overlaps = [0], [0]

    def slow(xs: list[int]) -> list[int]:
        running[0] += 1
        overlaps[0] = max(overlaps[0], running[0])
        time.sleep(0.01)
        running[0] -= 1
        return xs

    a: Batcher[int, int] = Batcher(slow, name="a", max_items=1, max_wait_ms=0, compute_lock=lock)
    b: Batcher[int, int] = Batcher(slow, name="b", max_items=1, max_wait_ms=0, compute_lock=lock)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: (a if i % 2 else b)([i]), range(16)))
    assert results == [[i] for i in range(16)] and overlaps[0] == 1


class FakeEmbedder:
    name, dim, max_tokens = "fake", 3, 100

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32).reshape(-1, 3)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


def test_batched_embedder_gives_the_same_vectors_and_feeds_ingestion_in_pieces():
    inner = FakeEmbedder()
    emb = BatchedEmbedder(inner, compute_lock=threading.Lock(), max_wait_ms=0, piece=4)
    texts = [f"text {'x' * i}" for i in range(10)]
    assert np.array_equal(emb.embed(texts), inner.embed(texts))
    assert inner.calls[:3] == [4, 4, 2]  # ingestion: pieces of `piece`, longest texts first
    assert emb.embed(["one question"]).shape == (1, 3)
    assert emb.embed([]).shape == (0, 3)
    assert emb.count_tokens(["a b c"]) == [3] and (emb.name, emb.dim) == ("fake", 3)
    emb.close()


class FakeReader:
    name = "fake-reader"
    threshold: float | None = 0.3

    def __init__(self) -> None:
        self.batches: list[int] = []

    def read(self, question, sentences, contexts=None):
        return self.read_batch([ReadRequest(question, sentences, contexts)])[0]

    def read_batch(self, requests):
        self.batches.append(len(requests))
        return [[Reading(len(r.question) / 100 + i / 1000) for i, _ in enumerate(r.sentences)]
                for r in requests]  # fmt: skip


def test_batched_reader_hands_each_request_its_own_readings():
    inner = FakeReader()
    reader = BatchedReader(inner, compute_lock=threading.Lock(), max_wait_ms=20, max_pairs=64)
    questions = [f"question {'?' * i}" for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda q: reader.read(q, ["s1", "s2", "s3"]), questions))
    for q, readings in zip(questions, got, strict=True):
        assert readings == inner.read(q, ["s1", "s2", "s3"])
    assert reader.read("q", []) == [] and reader.threshold == 0.3
    assert max(inner.batches) > 1  # eight callers within 20 ms shared forward passes
    reader.close()


def test_length_buckets_cover_every_input_once_and_keep_similar_lengths_together():
    lengths = [40, 12, 13, 90, 14, 15, 41, 42, 43, 44, 88, 12]
    buckets = length_buckets(lengths, max_batch=4)
    assert sorted(k for b in buckets for k in b) == list(range(len(lengths)))
    assert all(len(b) <= 4 for b in buckets)
    # shortest first; fewer than four inputs never make a forward pass of their own
    assert [[lengths[k] for k in b] for b in buckets] == [
        [12, 12, 13, 14], [15, 40, 41, 42], [43, 44, 88, 90],
    ]  # fmt: skip
    # a bucket of four or more closes at the first input 1.3x longer than its first
    assert length_buckets([10] * 5 + [13] + [14] * 3, max_batch=32) == [
        [0, 1, 2, 3, 4, 5],
        [6, 7, 8],
    ]
    assert length_buckets([], 8) == []


def test_sigmoid_never_overflows():
    assert sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist() == [0.0, 0.5, 1.0]
