"""Page furniture: the lines of a news page that are not sentences of the story.

Bylines ("By JOHN SMITH"), "PUBLISHED: ... | UPDATED: ..." stamps, photo captions ("Pictured:
...", "Sterling (right) was pictured ...", "This is the moment ..."), "Scroll down for video",
"Click here ..." and share prompts are never evidence nor summary sentences: they describe
the page, not the news, and a caption restates a photo rather than report. Datelines ("(CNN)",
"LONDON (Reuters) -") are trimmed from the sentence they open, so a citation starts at the story.

Daily Mail text as distributed in CNN/Daily Mail keeps its captions inline as sentences ending in
" ." (a space before the full stop); prose never does, so that ending marks a caption too.
"""

from __future__ import annotations

import re

_FURNITURE_RE = re.compile(
    r"^(?:by\s+[.\s]*[A-Z][\w.'\u2019-]*(?:\s+[A-Z][\w.'\u2019-]*){0,3}"
    r"(?:\s*(?:,|and|for|in|\|)\s*[A-Z][\w.'\u2019-]*(?:\s+[A-Z][\w.'\u2019-]*){0,3})*[\s.]*$"
    r"|by\s+(?:daily\s+mail|mailonline|associated\s+press|press\s+association|reuters)\b"
    r"|(?:published|updated|last\s+updated|posted|created)\s*:?\s*[.|]?\s*\d"
    r"|.*\|\s*\.?\s*updated\s*:"
    r"|(?:pictured|picture|photo|image|video|watch|above|below|left|right|inset|top|bottom|"
    r"file\s+photo|credit)\s*:"
    r"|scroll\s+down\b|click\s+here\b|share\s+this\s+article|follow\s+@|for\s+more\s+videos"
    r"|this\s+is\s+the\s+moment\b"
    r"|(?:see|read|watch)\s+more\b)",
    re.IGNORECASE,
)
#: A caption's own words: "(pictured)", "(left)", "(centre)" about someone in a photo.
_CAPTION_RE = re.compile(
    r"\((?:pictured|left|right|centre|center|above|below|inset|top|bottom|second\s+left|"
    r"second\s+right|far\s+left|far\s+right|front|back|top\s+left|top\s+right|bottom\s+left|"
    r"bottom\s+right)\b[^)]*\)|\bpictured\s+(?:above|below|left|right|here|with|at|in|during|"
    r"on|after|before|outside|inside|leaving|arriving|smoking|holding)\b",
    re.IGNORECASE,
)
_DATELINE_RE = re.compile(
    r"^(?:\((?:CNN|AP|AFP|Reuters|EW\.com|CNN Money|CNNMoney)\)\s*(?:[-\u2013\u2014]+\s*)?"
    r"|[A-Z][A-Z.'\u2019-]+(?:[ ,]+[A-Z][A-Za-z.'\u2019-]+){0,4}\s*"
    r"(?:\((?:CNN|AP|AFP|Reuters)\)\s*)?(?:--|[\u2013\u2014]|-(?=\s))\s*)"
)

#: A dateline the sentence splitter cut off the sentence it opens ("LONDON (Reuters)"), and the
#: dash left at the start of that sentence ("- The harbour ...").
_DATELINE_ONLY_RE = re.compile(
    r"^[A-Z][A-Z.'\u2019-]+(?:[ ,]+[A-Z][A-Za-z.'\u2019-]+){0,4}\s*\((?:CNN|AP|AFP|Reuters)\)$"
)
_LEADING_DASH_RE = re.compile(r"^(?:--|[\u2013\u2014]|-)\s+")


def is_furniture(sentence: str) -> bool:
    """Whether a sentence is page furniture (byline, time stamp, caption, video prompt)."""
    text = sentence.strip()
    if not text:
        return True
    if text.endswith(" .") or _FURNITURE_RE.match(text) or _DATELINE_ONLY_RE.match(text):
        return True
    return bool(_CAPTION_RE.search(text))


def story_start(sentence: str) -> int | None:
    """Where the story part of a sentence starts (after a dateline), or None for furniture:
    the one test evidence and summaries both apply."""
    return None if is_furniture(sentence) else dateline_length(sentence)


def dateline_length(sentence: str) -> int:
    """How many characters of a dateline open the sentence ("(CNN)" -> 5), 0 if none."""
    m = _DATELINE_RE.match(sentence) or _LEADING_DASH_RE.match(sentence)
    if not m or m.end() >= len(sentence):
        return 0
    rest = sentence[m.end() :]
    return m.end() if rest[:1].isalnum() or rest[:1] in "\"'\u201c\u2018" else 0
