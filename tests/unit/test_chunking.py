"""Chunking properties (Hypothesis) and behaviour on real text."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from qa_service.text.chunking import chunk_text, count_words, split_sentences

# Arbitrary unicode, with sentence punctuation and line breaks over-represented.
texts = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8"), max_size=12),
        st.sampled_from(list(" .!?\n\r\t\u2028\"'”—")),
        st.sampled_from(["Dr.", "U.S.", "Mr.", "3.5", "...", "The", "word", "  ", "\n\n"]),
    ),
    max_size=80,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=texts, max_tokens=st.integers(1, 60), overlap=st.integers(0, 30))
def test_chunks_slice_back_cover_and_respect_the_bound(text: str, max_tokens: int, overlap: int):
    chunks = chunk_text(text, max_tokens=max_tokens, overlap_tokens=overlap)
    covered = [False] * len(text)
    for i, c in enumerate(chunks):
        assert c.index == i
        assert text[c.start : c.end] == c.text
        assert c.text and not c.text[0].isspace() and not c.text[-1].isspace()
        assert count_words([c.text])[0] <= max_tokens
        for j in range(c.start, c.end):
            covered[j] = True
    # every non-whitespace character is in some chunk
    assert all(covered[j] for j, ch in enumerate(text) if not ch.isspace())
    # chunks advance through the text
    assert all(a.start < b.start for a, b in itertools.pairwise(chunks))


@settings(max_examples=200, deadline=None)
@given(text=texts)
def test_sentences_are_exact_stripped_ordered_spans(text: str):
    sents = split_sentences(text)
    for s in sents:
        piece = text[s.start : s.end]
        assert piece.strip() == piece and piece
    assert all(a.end <= b.start for a, b in itertools.pairwise(sents))


def test_headlines_stay_apart_from_the_next_paragraph(seed_text: str):
    sents = [seed_text[s.start : s.end] for s in split_sentences(seed_text)]
    assert "Insurgency Claims Key Captures" in sents
    headings = [seed_text[s.start : s.end] for s in split_sentences(seed_text) if s.heading]
    assert "UN Special Envoy Warns of Growing Crisis" in headings
    # no chunk ends on a headline that has text after it
    for c in chunk_text(seed_text, max_tokens=80, overlap_tokens=20):
        last_line = c.text.splitlines()[-1]
        assert last_line not in headings or c.end == len(seed_text.rstrip())


def test_abbreviations_do_not_split_sentences():
    text = "Dr. Smith met U.S. officials in Washington on Jan. 5. They agreed."
    sents = [text[s.start : s.end] for s in split_sentences(text)]
    assert sents == ["Dr. Smith met U.S. officials in Washington on Jan. 5.", "They agreed."]


def test_overlap_repeats_whole_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(20))
    chunks = chunk_text(text, max_tokens=20, overlap_tokens=6)
    assert len(chunks) > 2
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end  # overlapping
        assert text[b.start : a.end].startswith("Sentence")


def test_long_sentence_without_punctuation_is_split_at_words():
    text = " ".join(["word"] * 500)
    chunks = chunk_text(text, max_tokens=50)
    assert all(count_words([c.text])[0] <= 50 for c in chunks)
    assert all(c.text.startswith("word") and c.text.endswith("word") for c in chunks)


def test_real_tokenizer_bound(models, seed_text: str):
    embedder = models.embedder
    chunks = chunk_text(
        seed_text, max_tokens=64, overlap_tokens=16, count_tokens=embedder.count_tokens
    )
    assert len(chunks) > 3
    assert max(embedder.count_tokens([c.text for c in chunks])) <= 64
