"""Time-aware answers: the newest article of a story for questions about the latest state, and
a figure that changed between articles of a story given as an update.

Both read the evidence sentences of the best one's story (``same_story``: stories come from a
``StoryLookup``, else a document is its own story) and the articles' ``published_at``:

* **Latest questions** ("How many have died so far?": ``text.recency.asks_latest``) lead with
  the sentence of the newest article of the story that the reader accepts (``accepted``,
  ``newest_first``); the story's older sentences are then not quoted beside it.
* **Figure updates** (``find_update``): when the answer's lead states a figure (a number in the
  reader's short answer, or any when the question asks for a quantity) and another article of
  the story gives a different figure for the same thing (``text.measures.same_thing``), the
  answer quotes the newest and gives the earlier with its date and citation (``compose``):
  "The death toll rose to 60 [1]. That is up from 45 reported on 2 December [2]." The other
  sentence must be one the reader accepts too, unless its figure counts an event of the
  lexicon (a toll, the injured, the missing...): the reader, trained on SQuAD, scores "The death
  toll rose to 60" low for "How many people have died?" (0.08 against a threshold of 0.20),
  while the lexicon and the story already say it counts the same thing.

Pure functions over ``Evidence``; no model is involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from ..text.answer_types import expected_type
from ..text.grounding import numbers_in
from ..text.measures import Figure, asked_kinds, figures_in, same_thing
from ..text.recency import day_text, parse_time
from .citing import _trim, _with_marker
from .evidence import Evidence


class StoryLookup(Protocol):
    """Which story each article belongs to (``ingest.stories.StoryBook`` is one)."""

    def story_of(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """The story of each document.

        Args:
            doc_ids: document ids, in any order, repeats allowed.

        Returns:
            doc id -> story id; a document without a story (or unknown) is absent.
        """
        ...


@dataclass(frozen=True, slots=True)
class Update:
    """A figure of the story that changed: ``newest`` gives it now, ``earlier`` before."""

    newest: Evidence
    newest_figure: Figure
    earlier: Evidence
    earlier_figure: Figure

    @property
    def reason(self) -> str:
        """Why the answer quotes the update instead of a generated one."""
        new, old = _when(self.newest), _when(self.earlier)
        assert new is not None and old is not None
        return (
            f"articles of the story give different figures ({self.newest_figure.text} on "
            f"{day_text(new)}, {self.earlier_figure.text} on {day_text(old)}): the update is "
            "quoted, not generated"
        )


def _when(e: Evidence) -> datetime | None:
    """When the sentence's article was published (UTC), if known."""
    t = parse_time(e.published_at)
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def accepted(e: Evidence, floor: float) -> bool:
    """Whether the reader accepts the sentence as an answer (score, kind of answer, names)."""
    return e.score >= floor and e.fits and not e.unknown


def same_story(evidence: list[Evidence], stories: StoryLookup | None) -> list[Evidence]:
    """The best sentence (``evidence[0]``), then the other sentences of its story that hold the
    kind of answer asked for and know the question's names, in evidence order. Without
    ``stories``, only sentences of the same document."""
    best = evidence[0]
    others = [e for e in evidence[1:] if e.fits and not e.unknown]
    doc_ids = list(dict.fromkeys([best.doc_id, *(e.doc_id for e in others)]))
    story = {}
    if stories is not None and len(doc_ids) > 1:
        story = stories.story_of(doc_ids)
    mine = story.get(best.doc_id)
    return [best] + [
        e
        for e in others
        if e.doc_id == best.doc_id or (mine is not None and story.get(e.doc_id) == mine)
    ]


def led_by(evidence: list[Evidence], lead: Evidence) -> list[Evidence]:
    """``evidence`` with ``lead`` first, the rest in their order."""
    return [lead, *(e for e in evidence if e is not lead)]


def newest_first(
    evidence: list[Evidence], story: list[Evidence], floor: float
) -> tuple[list[Evidence], list[Evidence]]:
    """For a latest question: ``evidence`` led by the sentence the reader accepts (score
    ``floor``) from the newest article of the ``story`` (``same_story``) when that is newer than
    the best sentence's, and the accepted sentences of the story it supersedes (older or
    undated), which are not to be quoted beside it. Unchanged (nothing superseded) otherwise."""
    peers = [story[0], *(e for e in story[1:] if accepted(e, floor))]
    best_at = _when(peers[0])
    if best_at is None:
        return evidence, []
    newer = [(at, e) for e in peers[1:] if (at := _when(e)) is not None and at > best_at]
    if not newer:
        return evidence, []
    at, lead = max(newer, key=lambda c: c[0])  # the first (best scored) of the newest
    superseded = [e for e in peers if (t := _when(e)) is None or t < at]
    return led_by(evidence, lead), superseded


def lead_figure(question: str, lead: Evidence) -> Figure | None:
    """The figure the lead sentence answers with: the one in the reader's short answer, or
    (for a question asking for a quantity) the sentence's only one of the kind asked for."""
    found = figures_in(lead.quote)
    if lead.span is not None:
        a, b = lead.span
        inside = [f for f in found if f.start < b and f.end > a]
        if inside:
            found = inside
        elif expected_type(question) != "quantity":
            return None
    elif expected_type(question) != "quantity":
        return None
    kinds = asked_kinds(question)
    if kinds:
        found = [f for f in found if f.kind in kinds]
    if len({f.kind for f in found}) != 1 or len({f.value for f in found}) != 1:
        return None  # none, or several things or values: no telling which is meant
    return found[0]


def _figure_for(lead: Figure, lead_quote: str, e: Evidence) -> Figure | None:
    """The sentence's figure for the same thing as ``lead``, when it gives exactly one value."""
    same = [f for f in figures_in(e.quote) if same_thing(lead, lead_quote, f, e.quote)]
    return same[0] if same and len({f.value for f in same}) == 1 else None


def find_update(question: str, story: list[Evidence], floor: float) -> Update | None:
    """The newest figure of the story for what the lead (``story[0]``) counts, and the latest
    earlier, different one, from sentences the reader accepts (score ``floor``) or that count an
    event of the lexicon; None unless both articles are dated, the newer is strictly newer, no
    sentence as new gives another value and the newest sentence does not already say the
    earlier figure ("rose to 60 from 45")."""
    lead = story[0]
    figure = lead_figure(question, lead)
    lead_at = _when(lead)
    if figure is None or lead_at is None:
        return None
    said = [(lead_at, lead, figure)]
    for e in story[1:]:
        f = _figure_for(figure, lead.quote, e)
        at = _when(e)
        if f is not None and at is not None and (f.is_event or accepted(e, floor)):
            said.append((at, e, f))
    newest_at = max(at for at, _, _ in said)
    newest = [(e, f) for at, e, f in said if at == newest_at]
    if len({f.value for _, f in newest}) != 1:
        return None  # the newest articles disagree
    new, new_figure = newest[0]
    older = [(at, e, f) for at, e, f in said if at < newest_at and f.value != new_figure.value]
    if not older:
        return None
    _, old, old_figure = max(older, key=lambda c: c[0])
    if numbers_in(old_figure.text) & numbers_in(new.quote):
        return None  # the newest sentence already gives the earlier figure
    return Update(new, new_figure, old, old_figure)


def compose(update: Update) -> tuple[str, list[tuple[int, Evidence]]]:
    """The update as an answer: the newest sentence [1], then "That is up (down) from <earlier
    figure> reported on <its date> [2]." (the year only when it is not the newest's)."""
    new_at, old_at = _when(update.newest), _when(update.earlier)
    assert new_at is not None and old_at is not None
    direction = "up" if update.newest_figure.value > update.earlier_figure.value else "down"
    figure = update.earlier_figure.text
    if figure[:1].isalpha():
        figure = figure.lower()  # "Forty-five people died" -> "up from forty-five"
    answer = (
        f"{_with_marker(_trim(update.newest.quote), '[1]')} That is {direction} from {figure} "
        f"reported on {day_text(old_at, new_at)} [2]."
    )
    return answer, [(1, update.newest), (2, update.earlier)]
