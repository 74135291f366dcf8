"""Evidence: the candidate sentences of the retrieved chunks, and the reader's verdict on them.

Every candidate is an exact span of a stored document (``start``/``end`` in document offsets),
so whatever is finally cited can be checked against the stored text. Headlines and paragraphs
that address a model ("ignore previous instructions") and page furniture (bylines, captions,
"Scroll down for video": ``text.furniture``) never become evidence; a dateline ("(CNN)") is
trimmed off the sentence it opens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ..models.reader import Reader, reader_context
from ..storage.types import Hit
from ..text.answer_types import AnswerType, holds
from ..text.chunking import Sentence, split_sentences
from ..text.furniture import story_start
from ..text.grounding import Terms, in_spans, instruction_paragraphs, overlap, vocabulary_of
from ..text.variants import align_question, unknown_names


@dataclass(slots=True)
class Evidence:
    """One candidate sentence: an exact span of a stored document."""

    doc_id: str
    title: str | None
    url: str | None
    start: int
    end: int
    quote: str
    chunk_text: str
    #: What the reader reads beside the sentence: title and previous sentence.
    context: str = ""
    #: The article's publication time (ISO 8601, UTC) and outlet, when known.
    published_at: str | None = None
    source: str | None = None
    dense: float = 0.0
    lexical: float = 0.0
    score: float = 0.0
    #: The reader's short answer: ``(start, end)`` inside ``quote``.
    span: tuple[int, int] | None = None
    #: Whether the sentence holds the kind of thing the question asks for (a name, a
    #: quantity, a time, a place: ``text.answer_types``); True when it asks for no kind.
    fits: bool = True
    #: Names of the question that the sentence's document (title and retrieved chunks) never
    #: mentions in any form (``text.variants.unknown_names``); set by ``mark_names``.
    unknown: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Question:
    """A question as every step of an answer reads it, worked out once per request: its words
    (``Terms``) and their weights in the keyword index (idf, read under the index's lock)."""

    text: str
    terms: Terms
    idf: dict[str, float]

    @classmethod
    def of(cls, text: str, idf: Callable[[frozenset[str]], dict[str, float]]) -> Question:
        """``text`` with its terms, weighted by ``idf`` (a ``Searcher.idf``)."""
        terms = Terms.of(text)
        return cls(text, terms, idf(terms.content))


@lru_cache(maxsize=4096)
def chunk_sentences(text: str) -> tuple[Sentence, ...]:
    """A chunk's sentences, cached: the same chunks come back question after question, and
    splitting them was a tenth of an answer's time."""
    return tuple(split_sentences(text))


#: Characters between two consecutive chunks (the whitespace that separates their sentences).
_GAP = 2


def _addressed_to_model(hits: Sequence[Hit]) -> dict[str, list[tuple[int, int]]]:
    """The paragraphs addressed to a model, in document offsets, found in any retrieved chunk of
    each document: a chunk may start inside such a paragraph, whose telling first sentence only
    another chunk holds. A paragraph that runs to its chunk's end is taken to go on to the end of
    the first line of the chunks that carry on from there (the whitespace between two chunks is
    in neither, so a line break there cannot be seen: when in doubt, leave it out)."""
    chunks: dict[str, list[tuple[int, str]]] = {}
    for hit in hits:
        chunks.setdefault(hit.chunk.doc_id, []).append((hit.chunk.start, hit.chunk.text))
    out: dict[str, list[tuple[int, int]]] = {}
    for doc_id, parts in chunks.items():
        parts.sort()
        spans = []
        for at, text in parts:
            for a, b in instruction_paragraphs(text):
                start, end = at + a, at + b
                open_end = b == len(text)  # it runs to its chunk's end: it may go on
                for other, rest in parts:  # in order: each may carry it on a little further
                    if not open_end or other > end + _GAP or other + len(rest) <= end:
                        continue
                    line_end = rest.find("\n", max(0, end - other))
                    if line_end >= 0:
                        end, open_end = other + line_end, False
                    else:
                        end = other + len(rest)
                spans.append((start, end))
        out[doc_id] = spans
    return out


def candidates(q_terms: Terms, hits: Sequence[Hit], idf: dict[str, float]) -> list[Evidence]:
    """The sentences of the hits, best first by word overlap with the question (ties broken by
    their chunk's rank); each sentence once, however many chunks carry it."""
    seen: set[tuple[str, int]] = set()
    ranked: list[tuple[float, Evidence]] = []
    addressed_to_model = _addressed_to_model(hits)
    for rank, hit in enumerate(hits):
        chunk = hit.chunk
        previous: str | None = None
        for s in chunk_sentences(chunk.text):
            start, end = chunk.start + s.start, chunk.start + s.end
            quote = chunk.text[s.start : s.end]
            before, previous = previous, quote
            if (chunk.doc_id, start) in seen:
                continue
            seen.add((chunk.doc_id, start))
            skip = story_start(quote)
            if s.heading or in_spans(start, addressed_to_model[chunk.doc_id]) or skip is None:
                continue  # never evidence: a headline, furniture, or text addressed to a model
            start, quote = start + skip, quote[skip:]
            if skip and (chunk.doc_id, start) in seen:
                continue  # another chunk split it after its dateline: that sentence is in
            seen.add((chunk.doc_id, start))
            e = Evidence(
                doc_id=chunk.doc_id,
                title=chunk.title,
                url=chunk.url,
                start=start,
                end=end,
                quote=quote,
                chunk_text=chunk.text,
                context=reader_context(chunk.title, before),
                published_at=chunk.published_at,
                source=chunk.source,
                lexical=overlap(q_terms, Terms.of(quote), idf),
            )
            ranked.append((e.lexical - 0.1 * rank, e))
    ranked.sort(key=lambda c: -c[0])
    return [e for _, e in ranked]


def read_sentences(
    reader: Reader,
    question: str,
    evidence: list[Evidence],
    timings: dict[str, float] | None = None,
    wanted: AnswerType | None = None,
    q_terms: Terms | None = None,
) -> list[Evidence]:
    """Score each sentence with the reader (its score and short answer span); best first.

    The reader reads the question with its names in the forms the evidence uses ("UN" ->
    "U.N.": ``text.variants.align_question``). With ``wanted`` (the kind of answer the question
    asks for), sentences that hold one come before those that do not. ``timings["read"]``
    gets the reader's time in milliseconds.
    """
    t0 = time.perf_counter()
    aligned = align_question(question, [e.quote for e in evidence])
    readings = reader.read(aligned, [e.quote for e in evidence], [e.context for e in evidence])
    if timings is not None:
        timings["read"] = (time.perf_counter() - t0) * 1000
    asked = q_terms or Terms.of(question)
    for e, r in zip(evidence, readings, strict=True):
        e.score, e.span = r.score, r.span
        if wanted is not None:
            e.fits = holds(wanted, e.quote, asked)
    return sorted(evidence, key=lambda e: (not e.fits, -e.score))


def mark_names(question: str, q_terms: Terms, evidence: list[Evidence]) -> None:
    """Set ``Evidence.unknown``: the question's names that the sentence's document never
    mentions, judged on the document's title and all its retrieved chunks (a chunk that says
    "the full back" belongs to an article that names him two paragraphs up)."""
    if not q_terms.names:
        return
    texts: dict[str, dict[str, None]] = {}
    for e in evidence:
        texts.setdefault(e.doc_id, {e.title or "": None})[e.chunk_text] = None
    missing: dict[str, list[str]] = {}
    for doc_id, parts in texts.items():
        passage = "\n".join(parts)
        missing[doc_id] = unknown_names(question, q_terms.names, passage, vocabulary_of(passage))
    for e in evidence:
        e.unknown = missing[e.doc_id]
