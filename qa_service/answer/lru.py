"""cachetools' LRU cache behind one lock, shared by the answer and summary caches.

``cachetools.LRUCache`` keeps the order (a read or a write makes an entry the newest, a write past
``maxsize`` drops the oldest) but is not thread-safe, and even a read reorders it; the routes run
in a thread pool, so every access here takes the lock. ``get_many`` and ``update`` take it once
for a whole batch of sentences.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

import cachetools

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    """At most ``maxsize`` entries, the least recently used dropped first; safe between threads."""

    def __init__(self, maxsize: int) -> None:
        self._data: cachetools.LRUCache[K, V] = cachetools.LRUCache(maxsize)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def get(self, key: K) -> V | None:
        with self._lock:
            return self._data.get(key)

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The entries of ``keys`` that are cached."""
        with self._lock:
            return {k: self._data[k] for k in keys if k in self._data}

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value

    def update(self, entries: Mapping[K, V]) -> None:
        with self._lock:
            self._data.update(entries)
