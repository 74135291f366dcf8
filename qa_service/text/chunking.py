"""Sentence-aware chunking that keeps exact character offsets into the source text.

Pure text processing, no ML imports: the token counter is passed in (the embedding model's
tokenizer in the service, a word counter in tests).

Sentences come from ``syntok``: it is pure Python (so it installs on any platform), returns token
offsets into the original string (so spans slice back exactly), handles abbreviations such as
"U.S." and "Dr." well, and segments news text about 40x faster than pysbd.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from syntok import segmenter as _syntok

log = logging.getLogger(__name__)

#: Counts tokens for a batch of texts (special tokens excluded).
TokenCounter = Callable[[Sequence[str]], list[int]]

# A "line" is a maximal run of characters without a line break (str.splitlines' breaks).
_LINE_RE = re.compile(r"[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")
_WORD_RE = re.compile(r"\S+")
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_SENTENCE_END = tuple(".!?\u2026:;\"'\u201d\u2019\u00bb)]")
_HEADING_MAX_WORDS = 14


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence span ``[start, end)`` of the source, without surrounding whitespace."""

    start: int
    end: int
    #: A line of its own without sentence-final punctuation: a headline or subhead.
    heading: bool = False


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of whole sentences; ``text == source[start:end]``."""

    index: int
    start: int
    end: int
    text: str


def count_words(texts: Sequence[str]) -> list[int]:
    """A tokenizer-free counter (words and punctuation marks), for tests and tools."""
    return [len(_TOKEN_RE.findall(t)) for t in texts]


def _strip(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _sentence_starts(line: str) -> list[int]:
    """Offsets in ``line`` where syntok starts a new sentence (always begins with 0)."""
    starts = [0]
    try:
        sentences = [s for para in _syntok.analyze(line) for s in para if s]
        starts.extend(s[0].offset for s in sentences[1:])
    except Exception:  # syntok is robust, but text is user input: never fail ingestion on it
        log.debug("syntok failed on a line; keeping it as one sentence", exc_info=True)
        return [0]
    return sorted({s for s in starts if 0 <= s < len(line)})


def _is_heading(text: str) -> bool:
    return not text.endswith(_SENTENCE_END) and len(text.split()) <= _HEADING_MAX_WORDS


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences, never across a line break (headlines stay on their own)."""
    out: list[Sentence] = []
    for match in _LINE_RE.finditer(text):
        base = match.start()
        starts = _sentence_starts(match.group())
        bounds = [*starts, len(match.group())]
        spans = [
            span
            for a, b in itertools.pairwise(bounds)
            if (span := _strip(text, base + a, base + b)) is not None
        ]
        if len(spans) == 1:
            s, e = spans[0]
            out.append(Sentence(s, e, heading=_is_heading(text[s:e])))
        else:
            out.extend(Sentence(s, e) for s, e in spans)
    return out


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int
    end: int
    tokens: int
    heading: bool = False


def _split_long(
    text: str, start: int, end: int, max_tokens: int, count_tokens: TokenCounter
) -> list[_Unit]:
    """Split an over-long sentence at word boundaries (and over-long words by characters)."""
    words = [(m.start(), m.end()) for m in _WORD_RE.finditer(text, start, end)]
    counts = count_tokens([text[a:b] for a, b in words])
    pieces: list[_Unit] = []
    for (a, b), n in zip(words, counts, strict=True):
        if n <= max_tokens:
            pieces.append(_Unit(a, b, n))
            continue
        step = max(1, max_tokens // 4)  # no tokenizer makes more than 4 tokens of one character
        windows = [(w, min(w + step, b)) for w in range(a, b, step)]
        sub_counts = count_tokens([text[x:y] for x, y in windows])
        pieces.extend(_Unit(x, y, c) for (x, y), c in zip(windows, sub_counts, strict=True))
    units: list[_Unit] = []
    for piece in pieces:
        last = units[-1] if units else None
        if last is not None and last.tokens + piece.tokens <= max_tokens:
            units[-1] = _Unit(last.start, piece.end, last.tokens + piece.tokens)
        else:
            units.append(piece)
    return units


def chunk_text(
    text: str,
    *,
    max_tokens: int,
    overlap_tokens: int = 0,
    count_tokens: TokenCounter = count_words,
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_tokens`` tokens.

    Consecutive chunks share up to ``overlap_tokens`` tokens of whole sentences, so a fact that
    straddles a boundary is still found. A chunk never ends on a headline when text follows it:
    the headline moves to the next chunk, which it introduces.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    sentences = split_sentences(text)
    counts = count_tokens([text[s.start : s.end] for s in sentences])
    units: list[_Unit] = []
    for sent, n in zip(sentences, counts, strict=True):
        if n <= max_tokens:
            units.append(_Unit(sent.start, sent.end, n, sent.heading))
        else:
            units.extend(_split_long(text, sent.start, sent.end, max_tokens, count_tokens))

    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + units[j].tokens <= max_tokens):
            total += units[j].tokens
            j += 1
        while j - 1 > i and j < len(units) and units[j - 1].heading:
            j -= 1
        start, end = units[i].start, units[j - 1].end
        chunks.append(Chunk(len(chunks), start, end, text[start:end]))
        if j >= len(units):
            break
        k, overlap = j, 0
        while k - 1 > i and overlap + units[k - 1].tokens <= overlap_tokens:
            k -= 1
            overlap += units[k].tokens
        i = k
    return chunks
