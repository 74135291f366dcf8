"""Figures in news sentences and what they count: "45 people died", "the death toll rose to 60",
"injuring 12", "40 million euros".

A story's figures change as it develops; to say "60 dead, up from 45", two sentences must give
a figure for the *same thing*. That is decided by words, conservatively (a wrong "up from" is
worse than none):

* the **kind** of a figure is an event it counts, from a small lexicon (died, killed, toll ->
  ``dead``; injured, wounded -> ``injured``; missing; arrested; evacuated; displaced; rescued),
  read from the words right after the number ("45 people were killed"), the verb right before
  it ("killing at least 60") or a count noun before it ("the death toll rose to 60"). Money
  and shares are counted in their unit (a currency sign, a percentage), other figures without
  an event in the noun after the number ("40 million *euros*");
* two figures count the same thing when their kinds match and their nouns do not differ ("45
  *soldiers*" is not "60 *civilians*"; "people" goes with "persons" and with no noun at all:
  "the toll rose to 60"); figures whose kind is only a unit need ``SHARED_WORDS`` more content
  words in common between their sentences ("The harbour cost 40 million euros" is not "The
  bridge cost 30 million euros").

Not figures: years, dates and times ("2 December", "in 2019", "10.30pm"), ages and other
compounds ("45-year-old", "five-day"), parts ("one of the victims", "12 of the 40"), ordinals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .grounding import Terms, numbers_in


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Each kind's words: verbs and participles (after the number or right before it) and count
#: nouns (anywhere in the few words before it: "the death toll rose to 60").
_KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "dead": (
        _words("died dead killed killing perished die dying"),
        _words("toll deaths dead fatalities"),
    ),
    "injured": (
        _words("injured injuring wounded wounding hurt"),
        _words("injuries injured wounded"),
    ),
    "missing": (_words("missing unaccounted"), _words("missing")),
    "arrested": (_words("arrested detained"), _words("arrests detentions")),
    "evacuated": (_words("evacuated"), _words("evacuations evacuees")),
    "displaced": (_words("displaced homeless"), _words("displaced")),
    "rescued": (_words("rescued"), _words("rescues")),
}
_KIND_OF_WORD = {w: k for k, (verbs, nouns) in _KINDS.items() for w in verbs | nouns}
#: Words that count people in general: they go with any other figure's noun-less kind.
_GENERIC_NOUNS = _words("people person persons individuals")
#: Words between a verb and its number: "killing at least 60", "injured more than 100".
_QUALIFIERS = _words(
    "at least more than over nearly almost about around some roughly approximately up to an a "
    "estimated total of least"
)
#: Words that end the phrase a number belongs to.
_BREAKS = _words("and but or while as after when including whereas")
_UNIT_SIGNS = {"$": "dollar", "us$": "dollar", "£": "pound", "€": "euro"}
_SCALE_SUFFIX = {"m": " million", "bn": " billion", "k": " thousand"}
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety"
)
_FIGURE_RE = re.compile(
    rf"(?<![\w.,\-\u2010-\u2013])(?P<sign>US\$|[$£€])?\s?"
    rf"(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|(?:{_NUMBER_WORDS})"
    rf"(?:[\s-]+(?:and[\s-]+)?(?:{_NUMBER_WORDS}|hundred|thousand))*(?:\s+hundred)?)"
    r"(?P<scale>\s?(?:million|billion|trillion|thousand)\b|(?:m|bn|k)\b)?"
    r"(?P<pct>\s?(?:%|per\s?cent\b|percent\b))?"
    r"(?![\w\-\u2010-\u2013]|[:.]\d|,\d)",
    re.IGNORECASE,
)
_TOKEN_RE = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*|\d[\d,.]*|[^\w\s]")
_MONTHS = _words(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_TIME_WORDS = _words("am pm gmt bst utc o'clock")
_STOP = _words(
    "the a an of in on at to for from by with and or but as is was were are be been has have "
    "had this that these those its their his her it they who which than more"
)


@dataclass(frozen=True, slots=True)
class Figure:
    """A number a sentence gives for something: ``sentence[start:end] == text``."""

    start: int
    end: int
    #: The number as written, with its sign and scale ("45", "forty-five", "$40 million").
    text: str
    value: float
    #: What it counts: a kind of the lexicon ("dead", "injured", ...) or, failing that, its unit
    #: ("dollar", "percent") or the noun after it ("euros").
    kind: str
    #: The noun right after the number when it is not the kind itself ("people", "soldiers").
    noun: str | None

    @property
    def is_event(self) -> bool:
        """Whether the kind is an event of the lexicon (a death toll), not only a unit."""
        return self.kind in _KINDS


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN_RE.findall(text)]


def _phrase_after(tokens: list[str], limit: int = 4) -> list[str]:
    out = []
    for t in tokens[:limit]:
        if not t[0].isalpha() or t in _BREAKS:
            break
        out.append(t)
    return out


def _phrase_before(tokens: list[str], limit: int = 10) -> list[str]:
    """The words before the number, nearest first, up to a break."""
    out = []
    for t in reversed(tokens[-limit:]):
        if not t[0].isalpha() or t in _BREAKS:
            break
        out.append(t)
    return out


def _value(sign: str, num: str, scale: str) -> float | None:
    scale = scale.strip().lower()
    text = f"{num} {_SCALE_SUFFIX.get(scale, scale)}".strip()
    values = numbers_in(text)
    if len(values) != 1:
        return None  # "one" alone, or words text2num cannot read
    return float(next(iter(values)))


def _kind(after: list[str], before: list[str], noun: str | None) -> str | None:
    """The event a number counts: words after it, then the verb right before it (past the
    qualifiers), then a count noun among the words before it, unless a noun of its own follows
    the number ("the toll road cost 40 million euros" counts euros)."""
    for t in after:
        if t in _KIND_OF_WORD:
            return _KIND_OF_WORD[t]
    verb = next((t for t in before if t not in _QUALIFIERS), None)
    if verb is not None and any(verb in verbs for verbs, _ in _KINDS.values()):
        return _KIND_OF_WORD[verb]
    if noun is not None and noun not in _GENERIC_NOUNS:
        return None
    for t in before:
        for kind, (_, nouns) in _KINDS.items():
            if t in nouns:
                return kind
    return None


def figures_in(sentence: str) -> list[Figure]:
    """The figures of a sentence, in order, each with what it counts; numbers that count
    nothing we can name (years, dates, times, ages, parts) are left out."""
    out = []
    for m in _FIGURE_RE.finditer(sentence):
        sign, num, scale, pct = (m.group(g) or "" for g in ("sign", "num", "scale", "pct"))
        start = m.start("sign") if sign else m.start("num")
        after_all = _tokens(sentence[m.end() :])
        before_all = _tokens(sentence[:start])
        if after_all[:1] and (after_all[0] in _MONTHS or after_all[0] in _TIME_WORDS):
            continue  # "2 December", "10 am"
        if before_all[-1:] and before_all[-1] in _MONTHS:
            continue  # "December 2"
        if after_all[:1] == ["of"] or before_all[-2:] in (["of", "the"], ["out", "of"]):
            continue  # a part or a whole: "one of the victims", "12 of the 40"
        value = _value(sign, num, scale)
        if value is None:
            continue
        if not (sign or scale or pct) and len(num) == 4 and num.isdigit() and 1800 <= value <= 2100:
            continue  # a year
        after, before = _phrase_after(after_all), _phrase_before(before_all)
        noun = after[0] if after and after[0] not in _STOP and after[0] not in _MONTHS else None
        if noun is not None and noun in _KIND_OF_WORD:
            noun = None  # "60 dead": the noun is the kind
        unit = _UNIT_SIGNS.get(sign.lower()) or ("percent" if pct else None)
        # money and shares are never a toll: "the toll road cost $40m"
        kind = unit or _kind(after, before, noun)
        if kind is None:
            kind, noun = noun, None  # the noun is the kind: "40 million euros"
        if kind is None:
            continue
        end = m.end("pct") if pct else m.end()
        out.append(Figure(start, end, sentence[start:end].strip(), value, kind, noun))
    return out


def asked_kinds(question: str) -> frozenset[str]:
    """The events of the lexicon a question names ("How many people have died?" -> dead)."""
    return frozenset(_KIND_OF_WORD[t] for t in _tokens(question) if t in _KIND_OF_WORD)


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _nouns_agree(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return True
    if a in _GENERIC_NOUNS and b in _GENERIC_NOUNS:
        return True
    return _singular(a) == _singular(b)


#: Content words the sentences of two unit-only figures must share besides the unit.
SHARED_WORDS = 2


def same_thing(a: Figure, a_sentence: str, b: Figure, b_sentence: str) -> bool:
    """Whether figure ``a`` of ``a_sentence`` and ``b`` of ``b_sentence`` count the same thing
    (see the module docstring): the same kind, nouns that do not differ, and, for a kind that
    is only a unit, ``SHARED_WORDS`` content words in common besides it."""
    if _singular(a.kind) != _singular(b.kind) or not _nouns_agree(a.noun, b.noun):
        return False
    if a.is_event:
        return True
    unit = Terms.of(f"{a.kind} {a.text} {b.kind} {b.text}").content  # "euros", "million"
    shared = (Terms.of(a_sentence).content & Terms.of(b_sentence).content) - unit
    return len(shared) >= SHARED_WORDS
