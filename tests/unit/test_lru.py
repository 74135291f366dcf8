"""The LRU map behind the answer and summary caches."""

from qa_service.answer.lru import LRUCache


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
