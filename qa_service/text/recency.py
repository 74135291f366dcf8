"""Time in questions and answers: whether a question asks for the latest state of a story, and
how an article's date reads in an answer ("2 December").

"How many people have died so far?", "What is the latest death toll?", "Is the airport still
closed?" ask for the state of things now, so the newest article of the story should answer
them. The cues are words, not a model; the cues' other senses are left out ("Now that the
talks have failed, ...", "at the latest", "electric current", "so far away", "to date her",
"the now-defunct party"). A false cue costs little: it only prefers, among sentences that
already answer, one from a newer article of the same story.
"""

from __future__ import annotations

import re
from datetime import datetime

_LATEST_RE = re.compile(
    r"\b(?:latest|newest|most\s+recent(?:ly)?|so\s+far|thus\s+far|to\s+date|up\s+to\s+date|"
    r"currently|presently|at\s+present|at\s+the\s+moment|right\s+now|as\s+of\s+now|by\s+now|"
    r"until\s+now|as\s+(?:it|things)\s+stands?|these\s+days|still|yet|now|current|updated)\b",
    re.IGNORECASE,
)
#: The same words in another sense: no question about the latest state.
_NOT_LATEST_RE = re.compile(
    r"\bat\s+the\s+latest\b|"
    r"\bnow\s+(?:that|and\s+(?:then|again))\b|\b(?:from|before)\s+now\b|\bnow[-\u2010\u2011]\w|"
    r"\bso\s+far\s+(?:as|away|from|off|behind|ahead|beyond|back|out|down|up|gone)\b|"
    r"\bto\s+date\s+(?:him|her|them|me|you|us|someone|somebody|anyone|anybody|a|an|the|his|"
    r"their|other|each|men|women)\b|"
    r"\b(?:electric(?:al)?|ocean|rip|strong|sea|river|tidal|alternating|direct)\s+current\b|"
    r"\bcurrent\s+(?:account|affairs)\b|"
    r"\b(?:stand|stood|standing|stands|sit|sat|keep|kept|hold|held|lie|lay|lying|stay|"
    r"stayed)\s+still\b|\bstill\s+(?:life|lifes|water|wine|image|images|photo|photos|born)\b|"
    r"\byet\s+(?:another|again|more)\b|\b(?:and|but|or)\s+yet\b",
    re.IGNORECASE,
)

_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def asks_latest(question: str) -> bool:
    """Whether the question asks for the latest state of things: "latest", "now", "so far",
    "currently", "current", "most recent", "to date", "up to date", "still", "yet"...

    A cue in another sense does not count ("Now that ...", "by Friday at the latest", "the
    ocean current", "so far from home", "Is she willing to date him?", "yet another").
    """
    text = _NOT_LATEST_RE.sub(" ", question)
    return _LATEST_RE.search(text) is not None


def parse_time(value: str | None) -> datetime | None:
    """A stored ISO 8601 time (``published_at``), or None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def day_text(value: datetime, reference: datetime | None = None) -> str:
    """The day as an answer says it: "2 December", with the year when it is not the year of
    ``reference`` (the date it is set beside): "30 December 2023". English month names, whatever
    the locale."""
    day = f"{value.day} {_MONTHS[value.month - 1]}"
    return day if reference is not None and reference.year == value.year else f"{day} {value.year}"
