"""The answer and summary caches (``answer/lru.py``, cachetools behind a lock): bounded, least
recently used dropped first, safe between the threads the routes run in, and used by both."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

import numpy as np

from qa_service.answer.lru import LRUCache
from qa_service.answer.summarizing import SourceText, Summarizer
from qa_service.models.loading import Models
from qa_service.schemas import DocumentIn
from qa_service.service import QAService
from tests.conftest import FakeEmbedder, make_settings


def test_the_least_recently_used_entry_goes_first():
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the newest
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2


def test_get_many_and_update_keep_the_bound():
    cache: LRUCache[str, int] = LRUCache(3)
    cache.update({"a": 1, "b": 2, "c": 3})
    assert cache.get_many(["a", "x", "c"]) == {"a": 1, "c": 3}  # "b" is now the oldest
    cache.update({"d": 4})
    assert cache.get_many(["a", "b", "c", "d"]) == {"a": 1, "c": 3, "d": 4}
    cache.update({str(i): i for i in range(10)})  # more than fit: the last three stay
    assert cache.get_many(list("0123456789")) == {"7": 7, "8": 8, "9": 9}


def test_threads_share_one_cache():
    """Reads reorder the cache and writes evict from it: without the lock, threads switching
    often enough raise KeyError or see a cache past its bound."""
    cache: LRUCache[int, int] = LRUCache(8)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for i in range(3000):
                keys = [(seed * 7 + i + j) % 20 for j in range(6)]
                got = cache.get_many(keys)
                assert all(got[k] == k for k in got)
                cache.update({k: k for k in keys if k not in got})
                assert len(cache) <= 8
        except BaseException as e:
            errors.append(e)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[0]


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return super().embed(texts)


def test_an_answer_embeds_a_sentence_once(tmp_path):
    embedder = CountingEmbedder()
    svc = QAService(make_settings(tmp_path), Models(embedder=embedder))
    text = (
        "The harbour reopened on Monday after a storm. The port authority said repairs to the "
        "eastern quay would take a month. Ferries to the islands resumed on Tuesday."
    )
    svc.ingest([DocumentIn(id="d1", text=text)])
    question = "When did the harbour reopen?"
    embedder.texts.clear()
    first = svc.ask(question)
    assert len(embedder.texts) > 1  # the question and the evidence sentences
    embedder.texts.clear()
    again = svc.ask(question)
    assert embedder.texts == [question]  # the sentences came from the cache
    assert again.answer == first.answer
    svc.close()


def test_a_summary_is_made_once():
    summarizer = Summarizer(CountingEmbedder(), None)
    text = "The harbour reopened on Monday. Ferries resumed on Tuesday. Repairs take a month."
    sources = [SourceText("d1", text, "hash-1")]
    first = summarizer.summarize(sources, max_sentences=2)
    again = summarizer.summarize(sources, max_sentences=2)
    assert not first.cached and again.cached and again.sentences == first.sentences
