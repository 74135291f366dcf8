"""The BM25 delta (``storage/bm25.py``): rebuilt after every write, splitting only new chunks."""

from __future__ import annotations

from qa_service.storage.bm25 import Bm25Part, LexicalIndex, _tokenize

TEXTS = {
    1: "The U.N. envoy met rebel leaders in Geneva.",
    2: "Floods closed the harbour for three days.",
    3: "Rebels took the city of Hama overnight.",
}


def test_the_delta_splits_only_new_chunks_and_forgets_removed_ones():
    index, fetched = LexicalIndex(), []

    def texts_of(ids: list[int]) -> dict[int, str]:
        fetched.append(list(ids))
        return {i: TEXTS[i] for i in ids}

    index.note_write([], [1, 2])
    index.rebuild_delta(texts_of)
    index.note_write([], [3])
    index.rebuild_delta(texts_of)
    assert fetched == [[1, 2], [3]]
    # the same scores as an index built over all three at once
    fresh = Bm25Part.build(sorted(TEXTS.items()), index.stemmer)
    for query in ("UN envoy", "rebels Hama", "harbour floods"):
        tokens = _tokenize([query], index.stemmer)
        assert index.search(query, 3) == fresh.search(tokens, 3, set(), None)
    index.note_write([3], [])
    index.rebuild_delta(texts_of)
    assert len(fetched) == 2  # nothing new to split
    assert [cid for cid, _ in index.search("Hama rebels", 3)] == [1]
    assert "hama" not in index.delta.df and index.size == 2
