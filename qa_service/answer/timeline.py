"""A story's timeline: what each article added, in date order, each an exact quote.

News puts what is new at the top, so an article's developments are the first sentences of its
lead (``LEAD_SENTENCES``) that do not repeat what an earlier article (or an earlier sentence of
the same one) already said. A sentence repeats an earlier one when most of its content words
are in it and it brings no number the earlier one lacks and no name the story has not named:
"The toll rose to 60" is new after "45 people died", a wire copy's lead is not. No model is
involved, so a timeline is cheap and the same every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..text.grounding import CALENDAR_NAMES, Terms
from ..text.quotable import story_sentences

#: Sentences of an article's lead that may be developments.
LEAD_SENTENCES = 5
#: Developments kept per article.
PER_ARTICLE = 2
#: Share of a sentence's content words an earlier sentence must hold for it to be a repetition.
REPEAT_OVERLAP = 0.6


@dataclass(frozen=True, slots=True)
class StoryArticle:
    """An article of a story, as the timeline reads it (``at``: published, else ingested)."""

    doc_id: str
    at: str
    text: str


@dataclass(frozen=True, slots=True)
class Development:
    """A new fact of a story: an exact span ``text[start:end]`` of article ``doc_id``."""

    doc_id: str
    at: str
    start: int
    end: int
    quote: str


def _repeats(terms: Terms, earlier: Terms, names: set[str]) -> bool:
    """Whether ``terms`` tell ``earlier`` again (``names``: those the story named so far)."""
    if not terms.content:
        return True
    shared = len(terms.content & earlier.content) / len(terms.content)
    return (
        shared >= REPEAT_OVERLAP
        and terms.numbers <= earlier.numbers
        and terms.names - CALENDAR_NAMES <= names | earlier.names
    )


def timeline(
    articles: Sequence[StoryArticle],
    *,
    per_article: int = PER_ARTICLE,
    lead_sentences: int = LEAD_SENTENCES,
) -> list[Development]:
    """The developments of ``articles`` (given in date order), earliest first; later
    repetitions of an earlier fact are left out."""
    known: list[Terms] = []
    names: set[str] = set()
    out: list[Development] = []
    for article in articles:
        sentences = story_sentences(article.text)
        kept = 0
        mine: list[Terms] = []
        for i, s in enumerate(sentences):
            terms = Terms.of(s.text)
            if (
                kept < per_article
                and i < lead_sentences
                and not any(_repeats(terms, e, names) for e in known)
                and not any(_repeats(terms, e, names) for e in mine)
            ):
                out.append(Development(article.doc_id, article.at, s.start, s.end, s.text))
                kept += 1
            mine.append(terms)
        known.extend(mine)  # every sentence of the article is known from now on
        names.update(n for t in mine for n in t.names)
    return out
