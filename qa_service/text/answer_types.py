"""What kind of thing a question asks for, and whether a sentence holds one.

"What is the name of the man who was arrested?" needs a name in the sentence that answers it;
"How many ...?" a quantity, "When ...?" a time, "Where ...?" a place. A sentence that is on
topic but holds no such thing ("A 30-year-old man was arrested") does not answer, however well
it matches the question's words, and a sentence beside it that does hold one is the better
evidence. The checks are deliberately generous (a false "no" refuses a good answer): any
number or quantity word is a quantity, any date, weekday, season or relative time a time, any
capitalised name or place noun a place.
"""

from __future__ import annotations

import re
from typing import Literal

from .grounding import Terms, numbers_in
from .variants import countries_in, squash_acronyms

AnswerType = Literal["name", "quantity", "time", "place"]

_TYPE_RES: list[tuple[AnswerType, re.Pattern[str]]] = [
    (
        "quantity",
        re.compile(
            r"\bhow\s+(?:many|much|old|long|far|big|large|tall|high|deep|heavy|fast|often|"
            r"wide|close|severe|frequently)\b|\bwhat\s+(?:percentage|proportion|share|"
            r"fraction|number|amount|sum|age|distance|price|cost|speed|temperature)\b|"
            r"\bwhich\s+(?:percentage|number|amount|age)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "time",
        re.compile(
            r"^\s*(?:and\s+|so\s+|but\s+)?when\b|\b(?:what|which)\s+(?:year|years|date|day|"
            r"month|time|century|decade|season|era|period|hour|week)\b|\bsince\s+when\b|"
            r"\bhow\s+long\s+ago\b|\buntil\s+when\b|\bby\s+when\b",
            re.IGNORECASE,
        ),
    ),
    (
        "place",
        re.compile(
            r"^\s*(?:and\s+|so\s+|but\s+)?where\b|\b(?:what|which|in\s+what|in\s+which)\s+"
            r"(?:city|cities|town|towns|country|countries|country's|state|states|county|"
            r"province|region|continent|village|island|capital|nation|nations|place|places|"
            r"location|venue|stadium|street|neighbou?rhood|district|area|port|airport)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "name",
        re.compile(
            r"\b(?:what|which)(?:'s|\s+is|\s+was|\s+are|\s+were)?\s+(?:the\s+|his\s+|her\s+|"
            r"their\s+|its\s+)?(?:full\s+|first\s+|last\s+|real\s+|official\s+|code\s+|"
            r"maiden\s+|family\s+|given\s+|stage\s+)?names?\s+(?:of|for|given)\b|"
            r"\bname\s+(?:the|of)\b|\bwhat\s+(?:is|was)\s+(?:he|she|it|they)\s+called\b|"
            r"\bwho\s+(?:is|was)\s+the\s+(?:man|woman|person|boy|girl|suspect|victim|driver|"
            r"officer|gunman|attacker|killer|player|defendant|owner|leader)\b",
            re.IGNORECASE,
        ),
    ),
]

_QUANTITY_WORDS = re.compile(
    r"\b(?:dozens?|hundreds|thousands|millions|billions|scores|several|few|many|half|"
    r"quarter|third|double|doubled|twice|triple|tripled|single|none|no|all|both|every|"
    r"majority|minority|most|percent|per\s+cent|handful|couple|once|times|lots?|"
    r"numerous|countless|sole|only|whole|entire|nearly|almost|about|around|over|under|"
    r"more|less|fewer)\b|%|\$|\u00a3|\u20ac",
    re.IGNORECASE,
)
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_TIME_RE = re.compile(
    rf"\b(?:{_MONTHS})\b|\b(?:1[0-9]|20)\d\d(?:s)?\b|\b\d{{1,2}}(?:st|nd|rd|th)\b|"
    r"\b\d+s\b|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|"
    r"\b(?:yesterday|today|tomorrow|tonight|currently|recently|later|earlier|soon|"
    r"ago|since|until|till|during|previously|formerly|meanwhile|overnight|annually|daily|"
    r"weekly|monthly|yearly|initially|eventually|century|centuries|decade|decades|year|"
    r"years|month|months|week|weeks|weekend|day|days|hour|hours|minute|minutes|season|"
    r"seasons|spring|summer|autumn|winter|morning|afternoon|evening|night|midnight|noon|"
    r"dawn|dusk|christmas|easter|ramadan|era|ages|period|reign|dynasty|ancient|medieval|"
    r"bc|bce|o'clock|gmt|bst|utc)\b|\b\d{1,2}[:.]\d\d\b|\d\s?(?:am|pm|a\.m\.|p\.m\.)",
    re.IGNORECASE,
)
#: "a two-year-old boy" gives an age, not a time.
_AGE_RE = re.compile(r"\b[\w-]+-(?:year|month|week|day)s?-old\b", re.IGNORECASE)
_PLACE_WORDS = re.compile(
    r"\b(?:home|house|houses|hospital|school|university|college|city|cities|town|village|"
    r"street|road|area|region|country|countries|state|county|province|court|prison|jail|"
    r"station|airport|park|field|stadium|ground|border|coast|island|river|sea|ocean|lake|"
    r"mountain|mountains|abroad|overseas|north|south|east|west|northern|southern|eastern|"
    r"western|inside|outside|nearby|near|there|here|where|building|office|church|mosque|"
    r"temple|hotel|restaurant|bar|club|shop|store|market|centre|center|camp|base|port|"
    r"harbour|harbor|bay|valley|desert|forest|farm|zoo|museum|theatre|theater|beach|"
    r"capital|continent|world|worldwide|locally|nationally|site|scene|venue|room|floor|"
    r"kitchen|garden|car|bus|train|plane|ship|boat|flat|apartment|estate|suburb|"
    r"neighbourhood|neighborhood|district|land|territory|territories|province|abroad)\b",
    re.IGNORECASE,
)
#: A capitalised word that does not open a sentence, a quote or a bracket.
_CAPITALISED_RE = re.compile(
    r"(?<![.!?\"'\u201c\u2018(]\s)(?<![\"'\u201c\u2018(])\b[A-Z][\w'\u2019.-]*"
)


def expected_type(question: str) -> AnswerType | None:
    """The kind of thing the question asks for, or None when any answer will do."""
    for kind, pattern in _TYPE_RES:
        if pattern.search(question):
            return kind
    return None


#: Capitalised words in a row ("Los Angeles", "Cleveland Metroparks Zoo"): one name.
_CAPITALISED_RUN_RE = re.compile(r"\b[A-Z][\w'\u2019.-]*(?:\s+[A-Z][\w'\u2019.-]*)*")
_NEXT_WORD_RE = re.compile(r"\s+([a-z]+)")
_PLACE_BEFORE_RE = re.compile(r"\b(?:in|at|from|near|into|outside|across|of)\s+(?:the\s+)?$")


def _names(sentence: str, question: Terms, places: bool = True) -> list[str]:
    """Capitalised words of the sentence, sentence-initial ones aside, that the question does
    not already name (a name the question gives is not the name it asks for). ``places``
    False skips words after "in", "at", "from"... ("arrested in Leeds" names no one)."""
    out = []
    text = squash_acronyms(sentence)
    for m in _CAPITALISED_RUN_RE.finditer(text):
        if not places:
            if _PLACE_BEFORE_RE.search(text[max(0, m.start() - 12) : m.start()]):
                continue  # "arrested in Leeds", "at the Cleveland Metroparks Zoo"
            after = _NEXT_WORD_RE.match(text, m.end())
            if after and after.group(1) in question.vocabulary:
                continue  # "a Los Angeles judge" for "the name of the judge": a modifier
        out.extend(_run_names(text, m, question))
    return out


def _run_names(text: str, run: re.Match[str], question: Terms) -> list[str]:
    out = []
    for m in _CAPITALISED_RE.finditer(text, run.start(), run.end()):
        if not text[: m.start()].strip():
            continue  # the sentence's first word
        if len(m.group().rstrip(".")) == 1:
            continue  # an initial ("V. Stiviano")
        word = re.sub(r"['\u2019]s?$", "", m.group().rstrip(".")).lower()
        if word and word not in question.names and word not in question.vocabulary:
            out.append(word)
    return out


def holds(kind: AnswerType, sentence: str, asked: Terms) -> bool:
    """Whether ``sentence`` holds the kind of thing asked for (``asked``: the question's
    terms, whose own names do not count as the name asked for)."""
    if kind == "quantity":
        return bool(numbers_in(sentence)) or bool(_QUANTITY_WORDS.search(sentence))
    if kind == "time":
        return bool(_TIME_RE.search(_AGE_RE.sub(" ", sentence)))
    if kind == "place":
        return (
            bool(_names(sentence, asked))
            or bool(countries_in(sentence))
            or bool(_PLACE_WORDS.search(sentence))
        )
    return bool(_names(sentence, asked, places=False))
