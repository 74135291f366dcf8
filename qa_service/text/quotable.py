"""The sentences of an article that may be quoted as its story: what summaries and story
timelines pick from."""

from __future__ import annotations

from dataclasses import dataclass

from .chunking import split_sentences
from .furniture import story_start
from .grounding import in_spans, instruction_paragraphs

#: A shorter "sentence" is a label, a caption fragment or a heading.
MIN_WORDS = 4


@dataclass(frozen=True, slots=True)
class Quotable:
    """A sentence of the story: ``text == source[start:end]`` (a dateline trimmed off)."""

    start: int
    end: int
    text: str


def story_sentences(text: str) -> list[Quotable]:
    """The story's sentences in order: no headings, no page furniture (bylines, captions,
    "Scroll down for video"), nothing of a paragraph addressed to a model, no dateline."""
    out: list[Quotable] = []
    addressed_to_model = instruction_paragraphs(text)
    for s in split_sentences(text):
        sentence = text[s.start : s.end]
        if s.heading or len(sentence.split()) < MIN_WORDS or in_spans(s.start, addressed_to_model):
            continue
        skip = story_start(sentence)
        if skip is None:
            continue
        out.append(Quotable(s.start + skip, s.end, sentence[skip:]))
    return out
