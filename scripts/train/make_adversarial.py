"""Rule-made training questions from SQuAD 1.1 train: unanswerable ones and news-style rewordings.

    python -m scripts.train.make_adversarial [--seed 13] [--count 4400] [--variants 2000]

Writes two files (deterministic for a given seed and training file):

``scripts/data/adversarial/rules.jsonl``
    UNANSWERABLE questions, each derived from a SQuAD 1.1 question of paragraph P and asked of P,
    in the format of ``scripts/train/adversarial.py`` (``check`` must pass). ``plausible`` is the
    sentence of P that holds the original answer. Rules (``origin`` = ``rule:<name>``):

    - ``year_swap`` / ``number_swap`` / ``name_swap`` (kind ``entity_swap``): a year, number or
      capitalised multiword name of the question replaced by one of the same kind from another
      paragraph of the same article; no word of the new string occurs in P.
    - ``antonym`` (kind ``antonym``): largest/smallest, first/last, north/south, increase/decrease,
      ... swapped where neither the antonym nor its near-synonyms occur in P (and, for
      superlatives of size, where P has no list of figures from which to work the answer out).
    - ``negation`` (kind ``negation``): "What did X build?" -> "What did X not build?" where P has
      no negation, names the act once and the answer is one thing; kept under 10%.
    - ``ask_year`` / ``ask_month`` / ``ask_agent`` (kind ``detail_not_given``): the same event
      asked for a year where P has no year (no 3- or 4-digit number), for a month where P names
      no month (nor a feast that fixes one), or "By whom was X built?" where P has no "by" and
      uses the verb only in the passive.
    - ``besides`` (kind ``mutual_exclusion``): "Besides <answer>, who ...?" where the answer is a
      proper name that occurs once in P, in a sentence with no list, and the question is singular.

``scripts/data/variants.jsonl``
    ANSWERABLE rewordings (the original question's answers hold): ``{"id", "of", "question",
    "origin"}`` with origin ``rule:acronym`` (United Nations <-> UN <-> U.N., ...) or
    ``rule:demonym`` (the French government <-> the government of France, cities in Russia <->
    Russian cities; country names and demonyms from ``countryinfo``).

Only ``../shared/data/train/squad_v1_train.jsonl`` is read (never ``../shared/data/eval/``).
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.common import ROOT
from scripts.train.adversarial import TRAIN, norm, problems, sentences

OUT_RULES = ROOT / "scripts" / "data" / "adversarial" / "rules.jsonl"
OUT_VARIANTS = ROOT / "scripts" / "data" / "variants.jsonl"

# --------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    doc_id: str
    article: str
    text: str
    answer: str
    start: int
    ambiguous: bool


@dataclass(slots=True)
class Made:
    """One rule-made unanswerable question (before ids are given)."""

    src: Question
    question: str
    kind: str
    rule: str
    changed: str
    why: str


def load(path: Path = TRAIN) -> tuple[dict[str, str], list[Question], dict[str, list[str]]]:
    """Paragraph texts by id, the questions, and paragraph ids by article (in order)."""
    texts: dict[str, str] = {}
    questions: list[Question] = []
    by_article: dict[str, list[str]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        if obj["type"] == "document":
            texts[obj["id"]] = obj["text"]
            by_article[obj["id"].rsplit("-", 1)[0]].append(obj["id"])
        elif obj.get("answers"):
            a = obj["answers"][0]
            questions.append(
                Question(
                    id=obj["id"],
                    doc_id=obj["doc_id"],
                    article=obj["doc_id"].rsplit("-", 1)[0],
                    text=" ".join(obj["question"].split()),
                    answer=a["text"].strip(),
                    start=a["start"] + (len(a["text"]) - len(a["text"].lstrip())),
                    ambiguous=bool(a.get("start_ambiguous")),
                )
            )
    return texts, questions, by_article


@functools.cache
def words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", text.lower()))


def has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(word)}(?![\w])", text) is not None


def clean_question(q: str) -> str | None:
    q = " ".join(q.split()).strip()
    q = re.sub(r"\s+\?$", "?", q)
    if not q.endswith("?"):
        q = q.rstrip(".!") + "?"
    if q.count("?") != 1 or len(q.split()) < 4:
        return None
    return q[0].upper() + q[1:]


# --------------------------------------------------------------------------------------------
# Capitalised names

_CAP = r"[A-Z][\w'\u2019.&-]*"
_LINK = r"(?:of|the|de|du|von|van|der|la|le|del|da|di|y|and)"
_NAME_RE = re.compile(rf"(?<![\w'\u2019.-]){_CAP}(?:\s+(?:{_LINK}\s+)*{_CAP})+")
_NOT_NAME = {
    "I", "The", "A", "An", "In", "On", "At", "Of", "For", "By", "To", "From", "With", "And",
    "What", "Which", "Who", "Whom", "Whose", "When", "Where", "Why", "How", "Is", "Was", "Are",
    "Were", "Did", "Do", "Does", "Has", "Have", "Had", "Can", "Could", "Will", "Would", "This",
    "That", "These", "Those", "It", "He", "She", "They", "His", "Her", "Their", "Its", "As",
    "After", "Before", "During", "If", "While", "Since", "According", "Name", "Besides",
}  # fmt: skip
HEADS = {
    "University", "College", "River", "Street", "Church", "Cathedral", "Museum", "Party",
    "Company", "Corporation", "Army", "Navy", "Island", "Islands", "Mountains", "Sea", "Ocean",
    "Lake", "Park", "Airport", "Station", "Bridge", "Palace", "Castle", "Hall", "School",
    "Institute", "Library", "Award", "Awards", "Prize", "War", "Championship", "Cup", "League",
    "Festival", "Records", "Hotel", "Square", "Theatre", "Theater", "Stadium", "County",
    "Province", "City", "Empire", "Dynasty", "Republic", "Kingdom", "Act", "Treaty", "Council",
    "Committee", "Society", "Association", "Bank", "Group", "Center", "Centre", "Hospital",
    "Avenue", "Road", "Building", "Tower", "Temple", "Mosque", "Bay", "Valley", "Desert",
    "Forest", "Gallery", "Orchestra", "Magazine", "Journal", "Review", "Games", "Olympics",
    "Conference", "Movement", "Revolution", "Mountain", "Peninsula", "Basin",
    "Railway", "Line", "Highway", "Canal", "Strait", "Channel", "Gulf", "Coast", "District",
    "State", "Department", "Ministry", "Agency", "Court", "Parliament", "Senate", "Congress",
    "Series", "Album", "Show", "Tour", "Stakes", "Bowl", "Trophy", "Medal", "Order", "Club",
    "Team", "Force", "Corps", "Division", "Regiment", "Fleet", "Squadron", "Mall", "Market",
    "Airlines", "Airways", "Times", "Post", "News", "Network", "Studios", "Pictures",
    "Foundation", "Fund", "Trust", "Union", "Federation", "Alliance", "Organization",
    "Organisation", "Cemetery", "Garden", "Gardens", "Zoo", "Abbey", "Chapel", "Basilica",
    "Monastery", "Dam", "Falls", "Glacier", "Plateau", "Plain", "Plains", "Hills", "Range",
}  # fmt: skip
_WEEKDAYS_MONTHS = {
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
    "Saturday", "Sunday",
}  # fmt: skip
_NOT_PERSON = HEADS | _WEEKDAYS_MONTHS | {
    "North", "South", "East", "West", "New", "United", "National", "American", "British",
    "Royal", "General", "Old", "Great", "Saint", "St.", "Holy", "Northern", "Southern",
    "Eastern", "Western", "Central", "Upper", "Lower", "Greater", "Little", "Big", "Los", "Las",
    "San", "Santa", "Mount", "Lord", "King", "Queen", "Prince", "Princess", "Sir", "Pope",
    "Emperor", "President", "Duke", "Earl", "Count", "Lady", "Dr.", "Mr.", "Mrs.", "Christ",
    "God", "Jesus", "Catholic", "Christian", "Islamic", "Muslim", "Jewish", "International",
    "World", "Federal", "European", "Chinese", "French", "German", "English", "Spanish",
}  # fmt: skip


def name_spans(text: str) -> list[tuple[int, int, str]]:
    """Capitalised multiword names ``(start, end, name)``, without a leading function word
    ("The", "In") or a trailing possessive."""
    out = []
    for m in _NAME_RE.finditer(text):
        toks = [(t.start() + m.start(), t.end() + m.start(), t.group(0))
                for t in re.finditer(r"\S+", m.group(0))]  # fmt: skip
        while toks and (toks[0][2] in _NOT_NAME or re.fullmatch(_LINK, toks[0][2])):
            toks.pop(0)
        while toks and (re.fullmatch(_LINK, toks[-1][2]) or toks[-1][2] in _NOT_NAME):
            toks.pop()
        if not toks:
            continue
        start, end = toks[0][0], toks[-1][1]
        name = text[start:end]
        for suffix in ("'s", "\u2019s", "'", "\u2019", ".", ","):
            if name.endswith(suffix) and not re.search(r"\b[A-Z]\.$", name):
                name = name[: -len(suffix)]
                end -= len(suffix)
        parts = name.split()
        if sum(t[:1].isupper() for t in parts) < 2 or any(
            not re.fullmatch(r"[\w.'&-]+", t) for t in parts
        ):
            continue
        out.append((start, end, name))
    return out


def name_shape(name: str, persons: set[str]) -> str | None:
    """A kind for a name: "head:<last word>", "of:<words up to 'of'>", "person", or None."""
    toks = name.split()
    if "of" in toks[1:-1]:
        return "of:" + " ".join(toks[: toks.index("of") + 1])
    if toks[-1] in HEADS and len(toks) >= 2:
        return "head:" + toks[-1]
    if (
        2 <= len(toks) <= 3
        and name in persons
        and all(re.fullmatch(r"[A-Z][a-z\u00e0-\u00ff'-]+\.?", t) for t in toks)
        and not any(t in _NOT_PERSON for t in toks)
    ):
        return "person"
    return None


# --------------------------------------------------------------------------------------------
# Checks on a paragraph

_NEG_P = re.compile(
    r"\b(not|never|no|none|nobody|nothing|neither|nor|without|fail\w*|refus\w*|cannot|lack\w*|"
    r"unable|instead|rather|except|but not|denied|reject\w*|abandon\w*|cancel\w*|"
    r"unsuccessful\w*|attempt\w*|tried)\b|n't\b",
    re.IGNORECASE,
)
_MONTHS = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Christmas|Easter|New Year\w*|"
    r"Halloween|Thanksgiving|Lent|Ramadan|Diwali|Hanukkah|Passover|Epiphany|Pentecost|"
    r"Midsummer|solstice|equinox|Independence Day|Labor Day|Memorial Day|Bastille Day|"
    r"midsummer|Whitsun\w*|Michaelmas|Candlemas|Advent|Yule\w*)\b|\b\d{1,2}/\d{1,2}\b",
    re.IGNORECASE,
)
_YEARISH = re.compile(
    r"\b\d{3,4}\b|\b\d{2,4}s\b|'\d\d\b|\b(AD|BC|BCE|CE|A\.D\.|B\.C\.)\b|\byear\b", re.IGNORECASE
)


def plain_numbers(text: str) -> list[str]:
    """Numbers that are not years."""
    out = []
    for m in re.finditer(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?(?![\w])", text):
        s = m.group(0).rstrip(",")
        if re.fullmatch(r"1\d{3}|20[0-2]\d", s):
            continue
        out.append(s)
    return out


def figures(text: str) -> bool:
    """Whether a paragraph lists figures (percentages or several numbers): then the antonym of a
    superlative may be worked out from it."""
    return "%" in text or "percent" in text.lower() or len(plain_numbers(text)) > 2


# --------------------------------------------------------------------------------------------
# Rule: entity swap (years, numbers, names)

_RANGE_BEFORE = re.compile(
    r"\b(before|after|since|until|till|by|from|between|through|to|prior to|circa|around|"
    r"about|over|under|than|least|most|up to|approximately|nearly|almost|roughly|within|"
    r"and|or|-|\u2013)\s*$",
    re.IGNORECASE,
)


def swap_years(
    q: Question, text: str, pool: list[str], rng: random.Random
) -> Iterator[tuple[str, str, str]]:
    for m in re.finditer(
        r"(?<![\w$.,'\u2019/-])(1\d{3}|20[0-2]\d)(?![\w%.,'\u2019/-]|\s*[-\u2013])", q.text
    ):
        year = m.group(1)
        if year not in text or _RANGE_BEFORE.search(q.text[: m.start()]):
            continue
        cands = [y for y in pool if y != year and y not in text and y not in q.text]
        cands = sorted(cands, key=lambda y: (abs(int(y) - int(year)), y))[:4]
        cands = [y for y in cands if abs(int(y) - int(year)) <= 40]
        if not cands:
            continue
        new = rng.choice(cands)
        yield q.text[: m.start()] + new + q.text[m.end() :], new, year


def swap_numbers(
    q: Question, text: str, pool: list[str], rng: random.Random
) -> Iterator[tuple[str, str, str]]:
    if re.match(r"(?i)how (many|much|long|old|far|big|large|tall|high|wide|deep)", q.text):
        return
    for m in re.finditer(
        r"(?<![\w$.,'\u2019/-])(\d[\d,]*\d|[2-9]\d?)(?![\w%.,'\u2019/-]|\s*[-\u2013])", q.text
    ):
        num = m.group(1)
        if not has_word(text, num) or _RANGE_BEFORE.search(q.text[: m.start()]):
            continue
        if re.search(r"[A-Z][\w-]*\s*$", q.text[: m.start()]) or not re.match(
            r"\s+[a-z]+", q.text[m.end() :]
        ):
            continue  # a model number ("PlayStation 3") or no counted noun after it
        value = float(num.replace(",", ""))
        if value == 0 or (1000 <= value <= 2029 and "," not in num):
            continue
        cands = []
        for n in pool:
            v = float(n.replace(",", ""))
            if (
                n != num
                and ("," in n) == ("," in num)
                and "." not in n
                and len(n) >= 2
                and 0.4 <= v / value <= 2.5
                and n not in text
                and n not in q.text
                and not (1000 <= v <= 2029 and "," not in n)
            ):
                cands.append(n)
        if not cands:
            continue
        new = rng.choice(sorted(set(cands)))
        yield q.text[: m.start()] + new + q.text[m.end() :], new, num


def swap_names(
    q: Question,
    text: str,
    pool: dict[str, list[str]],
    persons: set[str],
    rng: random.Random,
) -> Iterator[tuple[str, str, str]]:
    pwords = words(text)
    for start, end, name in name_spans(q.text):
        if start == 0 or name not in text:
            continue
        shape = name_shape(name, persons)
        if shape is None or (shape == "person" and q.text[:start].lower().endswith("the ")):
            continue  # "the Native Americans" is a people, not a person
        old_words = words(name)
        cands = [
            c
            for c in pool.get(shape, [])
            if c != name
            and not (words(c) & pwords)
            and not (words(c) & old_words - {"of", "the"} and shape == "person")
            and c.lower() not in q.text.lower()
            and len(c.split()) <= len(name.split()) + 2
        ]
        if not cands:
            continue
        new = rng.choice(sorted(set(cands)))
        after = q.text[end:]
        if after.startswith(("'", "\u2019")) and after[1:2] != "s":
            after = after[0] + ("" if new.endswith("s") else "s") + after[1:]
        yield q.text[:start] + new + after, new, name


# --------------------------------------------------------------------------------------------
# Rule: antonym

_FAMILY = {"son", "sons", "daughter", "daughters", "child", "children", "brother", "brothers",
           "sister", "sisters", "member", "members", "person", "people", "man", "woman",
           "player", "players", "sibling", "siblings"}  # fmt: skip
_ADJ_OK = re.compile(
    r"(ous|ful|ive|al|ic|able|ible|ant|ent|ular|ed|ing|ary|ory|ist|ish|less)$|^(common|popular|"
    r"important|famous|powerful|likely|often|frequent|expensive|dangerous|recent|prominent|"
    r"widely|commonly|visited|used|spoken|densely|heavily|populous|well|highly|closely)$"
)
_SMALL = ("small", "least", "fewest", "minim", "lowest", "tiny", "tiniest")
# word -> (antonym, words whose presence in P blocks the swap, size superlative?)
ANTONYMS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "largest": ("smallest", _SMALL, True),
    "biggest": ("smallest", _SMALL, True),
    "smallest": ("largest", ("large", "big", "most", "great", "maxim", "highest", "major"), True),
    "highest": ("lowest", ("low", "least", "minim", "bottom", "small", "fewest"), True),
    "lowest": ("highest", ("high", "most", "maxim", "top", "peak", "large", "great"), True),
    "longest": ("shortest", ("short", "least", "minim", "brief"), True),
    "shortest": ("longest", ("long", "most", "maxim"), True),
    "hottest": ("coldest", ("cold", "cool", "lowest", "minim", "frost", "freez"), True),
    "coldest": ("hottest", ("hot", "warm", "highest", "maxim", "heat"), True),
    "warmest": ("coolest", ("cool", "cold", "lowest", "minim"), True),
    "wettest": ("driest", ("dry", "dri", "arid", "lowest", "least"), True),
    "driest": ("wettest", ("wet", "rain", "humid", "highest", "most"), True),
    "richest": ("poorest", ("poor", "least", "lowest"), True),
    "wealthiest": ("poorest", ("poor", "least", "lowest"), True),
    "poorest": ("richest", ("rich", "wealth", "most", "highest"), True),
    "fastest": ("slowest", ("slow", "least", "lowest"), True),
    "slowest": ("fastest", ("fast", "quick", "most", "highest"), True),
    "strongest": ("weakest", ("weak", "least", "lowest"), True),
    "weakest": ("strongest", ("strong", "most", "highest"), True),
    "tallest": ("shortest", ("short", "least", "lowest", "small"), True),
    "deepest": ("shallowest", ("shallow", "least", "lowest"), True),
    "widest": ("narrowest", ("narrow", "least", "small"), True),
    "narrowest": ("widest", ("wide", "broad", "most", "large"), True),
    "heaviest": ("lightest", ("light", "least", "small"), True),
    "best": ("worst", ("worst", "bad", "poor", "least", "lowest"), True),
    "worst": ("best", ("best", "good", "great", "most", "highest", "top"), True),
    "maximum": ("minimum", ("minim", "least", "lowest", "small"), True),
    "minimum": ("maximum", ("maxim", "most", "highest", "large"), True),
    "most": ("least", ("least", "fewest", "lowest", "minim"), True),
    "least": ("most", ("most", "highest", "maxim", "great"), True),
    "first": ("last", ("last", "final", "latest", "recent", "end", "ultimate", "until", "ceas",
                       "death", "died"), False),
    "last": ("first", ("first", "earliest", "original", "initial", "began", "begun", "start",
                       "found", "establish", "introduc", "pioneer", "inaugur", "debut", "launch",
                       "origin", "premiere", "1st", "earlier"), False),
    "earliest": ("latest", ("latest", "last", "recent", "newest", "current", "final", "today",
                            "now", "modern", "later"), False),
    "latest": ("earliest", ("earliest", "first", "oldest", "original", "initial", "earlier",
                            "began", "start"), False),
    "oldest": ("newest", ("newest", "new", "latest", "recent", "youngest", "young", "modern",
                          "last"), False),
    "newest": ("oldest", ("oldest", "old", "earliest", "first", "ancient", "original"), False),
    "youngest": ("oldest", ("oldest", "old", "eldest", "elder", "first"), False),
    "eldest": ("youngest", ("youngest", "young", "last"), False),
    "north": ("south", ("south",), False),
    "south": ("north", ("north",), False),
    "east": ("west", ("west", "occident"), False),
    "west": ("east", ("east", "orient"), False),
    "northern": ("southern", ("south",), False),
    "southern": ("northern", ("north",), False),
    "eastern": ("western", ("west",), False),
    "western": ("eastern", ("east",), False),
    "increase": ("decrease", ("decreas", "declin", "fall", "fell", "drop", "reduc", "lower",
                              "less", "fewer", "shrink", "shrank", "loss", "lost", "cut",
                              "diminish", "decay", "slump"), False),
    "decrease": ("increase", ("increas", "rise", "rose", "risen", "grow", "grew", "gain",
                              "more", "higher", "boost", "expand", "rais", "surge"), False),
    "before": ("after", ("after", "later", "then", "subsequent", "following", "since", "post",
                         "thereafter", "eventually", "until", "when", "once", "ensu", "next",
                         "return", "end"), False),
    "after": ("before", ("before", "prior", "earlier", "previous", "preced", "until", "first",
                         "original", "initial", "formerly", "once", "pre-", "early", "ago",
                         "began", "start", "young"), False),
    "upper": ("lower", ("lower", "below", "bottom"), False),
    "lower": ("upper", ("upper", "above", "top"), False),
    "inner": ("outer", ("outer", "outside", "exterior"), False),
    "outer": ("inner", ("inner", "inside", "interior"), False),
}  # fmt: skip
# (not import/export: "imported from X" is "exported by X", the same answer)
_INFLECT = {"increase": ("s", "d"), "decrease": ("s", "d")}
_VERB_FORMS = {  # inflected form -> (base, suffix)
    f + s: (f, s) for f, sufs in _INFLECT.items() for s in sufs
}
_VERB_FORMS.update({"increasing": ("increase", "ing"), "decreasing": ("decrease", "ing")})
_WORD_RE = re.compile(r"\b[A-Za-z]+\b")


_ORDER = {"first", "last", "earliest", "latest", "oldest", "newest", "youngest", "eldest",
          "before", "after"}  # fmt: skip


def _inflect(base: str, suffix: str) -> str:
    if suffix == "ing":
        return base[:-1] + "ing" if base.endswith("e") else base + "ing"
    return base + suffix


def antonym_swaps(q: Question, text: str, corpus: set[str]) -> Iterator[tuple[str, str, str]]:
    if re.search(r"\b(not|never|no|n't|without)\b", q.text, re.IGNORECASE):
        return  # "not the best" -> "not the worst" says little
    low = text.lower()
    toks = list(_WORD_RE.finditer(q.text))
    for i, m in enumerate(toks):
        w = m.group(0)
        lw = w.lower()
        base, suffix = (lw, "")
        if lw in _VERB_FORMS:
            base, suffix = _VERB_FORMS[lw]
        if base not in ANTONYMS or m.start() == 0:
            continue
        if lw not in low and base not in low:
            continue  # the original word should be in P: the question then mirrors it
        new_base, blockers, size = ANTONYMS[base]
        nxt = toks[i + 1].group(0) if i + 1 < len(toks) else ""
        prev = toks[i - 1].group(0).lower() if i > 0 else ""
        if w[0].isupper():
            # capitalised: only compass words in a real name ("North Carolina" -> "South ...")
            if base not in {"north", "south", "east", "west"} or not nxt[:1].isupper():
                continue
            phrase = new_base.capitalize() + " " + nxt
            if phrase not in corpus:
                continue
        if base in {"most", "least"} and (prev != "the" or not _ADJ_OK.search(nxt.lower())):
            continue
        if base in {"oldest", "newest"} and nxt.lower() in _FAMILY:
            new_base = "youngest" if base == "oldest" else new_base
            if base == "newest":
                continue
        if (
            base in {"first", "last"}
            and prev not in {"the", "its", "his", "her", "their"}
            and not (base == "first" and prev in {"did", "was", "were", "is", "does"})
        ):
            continue
        if base == "lower" and nxt.lower() in {"than"}:
            continue
        if base in {"before", "after"} and prev in {"shortly", "just", "soon", "long", "years"}:
            continue
        new_word = _inflect(new_base, suffix) if suffix else new_base
        if base in {"first"} and prev in {"did", "was", "were", "is", "does"}:
            new_word = "last"
        if w[0].isupper():
            new_word = new_word.capitalize()
        if new_word.lower() in low or any(b in low for b in blockers):
            continue
        if new_word.lower() in q.text.lower():
            continue
        if size and figures(text):
            continue
        if base in _ORDER and len(re.findall(r"\b(?:1\d{3}|20\d\d)\b", text)) > 1:
            continue  # P dates several events: the first/last one may be worked out
        if nxt == "Africa":
            continue
        new_q = q.text[: m.start()] + new_word + q.text[m.end() :]
        changed = new_word if not w[0].isupper() else new_word + " " + nxt
        yield new_q, changed, w
        return


# --------------------------------------------------------------------------------------------
# Rule: negation

NEG_VERBS = {
    "build": "built", "write": "wrote", "compose": "composed", "found": "founded",
    "create": "created", "design": "designed", "invent": "invented", "discover": "discovered",
    "conquer": "conquered", "defeat": "defeated", "sign": "signed", "publish": "published",
    "release": "released", "establish": "established", "marry": "married", "win": "won",
    "visit": "visited", "introduce": "introduced", "produce": "produced", "record": "recorded",
    "develop": "developed", "launch": "launched", "capture": "captured", "destroy": "destroyed",
    "buy": "bought", "sell": "sold", "acquire": "acquired", "open": "opened", "form": "formed",
    "invade": "invaded", "study": "studied", "join": "joined", "attend": "attended",
    "paint": "painted", "direct": "directed", "star": "starred", "perform": "performed",
    "receive": "received", "award": "awarded", "ban": "banned", "adopt": "adopted",
    "propose": "proposed", "appoint": "appointed", "hire": "hired", "purchase": "purchased",
    "construct": "constructed", "translate": "translated", "sing": "sang", "teach": "taught",
    "play": "played", "defend": "defended", "attack": "attacked", "annex": "annexed",
    "host": "hosted", "export": "exported", "import": "imported", "grow": "grew",
    "fund": "funded", "sponsor": "sponsored", "name": "named", "elect": "elected",
    "rule": "ruled", "lead": "led", "command": "commanded", "destroyed": "destroyed",
}  # fmt: skip
_NEG_Q = re.compile(
    r"^(What|Which [a-z]+|Who|Whom) (did) "
    r"((?:the [a-z]+)|(?:the )?[A-Z][\w'.-]*(?: (?:of |the |de )*[A-Z][\w'.-]*){0,3}) "
    r"([a-z]+)\b(.*)\?$"
)


def negate(q: Question, text: str, rng: random.Random) -> Iterator[tuple[str, str, str]]:
    m = _NEG_Q.match(q.text)
    if not m:
        return
    wh, aux, subj, verb, rest = m.groups()
    if verb not in NEG_VERBS or _NEG_P.search(text):
        return
    past = NEG_VERBS[verb]
    if len(re.findall(rf"\b{past}\b", text)) != 1 or subj.split()[-1] not in text:
        return
    if re.search(r",| and | or |;|/", q.answer) or text.count(q.answer) != 1:
        return
    if re.search(r"\b(first|last|only|also|most|largest|main|that|which|who|whom|when)\b", rest):
        return
    if re.search(r"\b(first|last|only|also|most|largest|main)\b", q.text) or len(rest.split()) > 6:
        return
    neg = "never" if rng.random() < 0.3 else "not"
    new = f"{wh} {aux} {subj} {neg} {verb}{rest}?"
    yield new, neg, ""


# --------------------------------------------------------------------------------------------
# Rule: detail not given

_EVENT_Q = re.compile(
    r"^(When|Where|Why|How|In what year|What year|In which year) (did|was|were) (.+)\?$"
)
_PARTICIPLES = {
    "built": "built", "founded": "founded", "established": "established", "designed": "designed",
    "written": "wrote", "painted": "painted", "discovered": "discovered", "invented": "invented",
    "created": "created", "developed": "developed", "published": "published",
    "produced": "produced", "directed": "directed", "constructed": "constructed",
    "commissioned": "commissioned", "assassinated": "assassinated", "killed": "killed",
    "murdered": "murdered", "captured": "captured", "defeated": "defeated",
    "conquered": "conquered", "destroyed": "destroyed", "translated": "translated",
    "introduced": "introduced", "purchased": "purchased", "bought": "bought", "sold": "sold",
    "acquired": "acquired", "signed": "signed", "issued": "issued", "recorded": "recorded",
    "coined": "coined", "formed": "formed", "organized": "organized", "organised": "organised",
    "invaded": "invaded", "sacked": "sacked", "besieged": "besieged", "banned": "banned",
    "edited": "edited", "illustrated": "illustrated", "excavated": "excavated",
    "restored": "restored", "renovated": "renovated", "rebuilt": "rebuilt",
    "sponsored": "sponsored", "funded": "funded", "financed": "financed", "drafted": "drafted",
    "formulated": "formulated", "devised": "devised", "launched": "launched",
    "demolished": "demolished", "burned": "burned", "looted": "looted", "annexed": "annexed",
    "occupied": "occupied", "arrested": "arrested", "executed": "executed", "exiled": "exiled",
    "appointed": "appointed", "elected": "elected", "crowned": "crowned", "sculpted": "sculpted",
    "carved": "carved", "abolished": "abolished", "enacted": "enacted", "passed": "passed",
}  # fmt: skip
_AUX_BEFORE = re.compile(r"\b(was|were|been|be|being|is|are|had been|has been)\s+(\w+ly\s+)?$")


def ask_detail(q: Question, text: str) -> Iterator[tuple[str, str, str, str]]:
    m = _EVENT_Q.match(q.text)
    if not m or re.search(r"\d", q.text):
        return
    wh, aux, clause = m.groups()
    year_ok = wh == "When" or (wh in {"Why", "How", "Where"} and aux in {"was", "were"})
    if re.search(r"\b(to|from|in|at|on|for|with|of|into|by|about|through|under)$", clause):
        return
    if wh == "How" and re.match(r"(many|much|long|old|far)\b", clause):
        return
    first = clause.split()[0]
    if first.lower() in {"it", "this", "that", "there", "he", "she", "they"} and aux != "did":
        pass
    if aux in {"was", "were"}:
        # must be passive: the clause holds one of the participles
        parts = [w for w in re.findall(r"[a-z]+", clause) if w in _PARTICIPLES]
        if not parts:
            return
    else:
        parts = []
    if year_ok and not _YEARISH.search(text):
        yield (f"In what year {aux} {clause}?", "ask_year", "In what year",
               "P gives no year at all (no 3- or 4-digit number, no decade).")  # fmt: skip
    if (
        wh in {"When", "In what year", "What year", "In which year"}
        and re.fullmatch(r"(in )?(the year )?\d{4}", q.answer)
        and not _MONTHS.search(text)
        and not re.search(r"\b(season|spring|summer|autumn|winter|week|day)s?\b", q.text)
    ):
        yield (f"In what month {aux} {clause}?", "ask_month", "In what month",
               "P names no month (nor a feast that fixes one).")  # fmt: skip
    if parts and aux in {"was", "were"} and not re.search(r"\bby\b", text, re.IGNORECASE):
        part = parts[0]
        if re.search(rf"\b{part}\s+(of|in|as|to)\b", clause) and part != "built":
            return
        forms = {part, _PARTICIPLES[part]}
        ok = True
        n = 0
        for form in forms:
            for mm in re.finditer(rf"\b{form}\b", text):
                n += 1
                if not _AUX_BEFORE.search(text[: mm.start()]):
                    ok = False
        if ok and n:
            yield (f"By whom {aux} {clause}?", "ask_agent", "By whom",
                   f"P uses '{part}' only in the passive; no agent ('by').")  # fmt: skip


# --------------------------------------------------------------------------------------------
# Rule: mutual exclusion

_LISTY = re.compile(
    r",|;| and | or |\balso\b|\bboth\b|\bother\b|\banother\b|\bamong\b|\binclud|\bsuch as\b|"
    r"\bas well\b|\balong\b|\btogether\b|\bseveral\b|\bmany\b|\bvarious\b|\bsome\b|\bjoint|"
    r"\bco-|\bwith\b|\bpartner|\btwo\b|\bthree\b|\bfour\b|\bfive\b|\bfirst\b|\bsecond\b|"
    r"\bbefore\b|\bafter\b|\bsucceed|\breplac|\bformer|\bsince\b|\bpreviously\b|\bthen\b",
    re.IGNORECASE,
)
_BESIDES_Q = re.compile(r"^(Who|What|Which [a-z]+) (was|is|did) (.+)\?$")


def besides(
    q: Question, text: str, sent_of: Callable[[], tuple[int, int] | None], rng: random.Random
) -> Iterator[tuple[str, str, str]]:
    m = _BESIDES_Q.match(q.text)
    ans = q.answer.rstrip(".,;")
    if not m or not (1 <= len(ans.split()) <= 4):
        return
    if not re.fullmatch(r"(the )?[A-Z][\w'.-]*( [A-Z][\w'.-]*)*", ans) or ans.startswith("The "):
        return
    if re.search(r"\b(first|last|only|main|largest|most|best|name|called|year|date)\b", q.text):
        return
    if m.group(1) == "What" and m.group(2) != "did":
        return
    if text.count(ans) != 1:
        return
    sent = sent_of()
    if sent is None or _LISTY.search(text[sent[0] : sent[1]]):
        return
    lead = rng.choice(["Besides", "Other than", "Apart from"])
    new = f"{lead} {ans}, {q.text[0].lower()}{q.text[1:]}"
    yield new, lead.lower(), ""


# --------------------------------------------------------------------------------------------
# Variants: acronyms and demonyms

ACRONYMS: list[tuple[str, tuple[str, ...]]] = [
    ("United States of America", ("USA", "U.S.A.")),
    ("United States", ("US", "U.S.")),
    ("United Nations", ("UN", "U.N.")),
    ("European Union", ("EU",)),
    ("United Kingdom", ("UK", "U.K.")),
    ("World Health Organization", ("WHO",)),
    ("North Atlantic Treaty Organization", ("NATO",)),
    ("Soviet Union", ("USSR", "U.S.S.R.")),
    ("International Monetary Fund", ("IMF",)),
    ("World Trade Organization", ("WTO",)),
    ("Federal Bureau of Investigation", ("FBI",)),
    ("Central Intelligence Agency", ("CIA",)),
    ("European Economic Community", ("EEC",)),
    ("Environmental Protection Agency", ("EPA",)),
    ("Food and Drug Administration", ("FDA",)),
    ("International Atomic Energy Agency", ("IAEA",)),
    ("Association of Southeast Asian Nations", ("ASEAN",)),
    ("International Olympic Committee", ("IOC",)),
    ("British Broadcasting Corporation", ("BBC",)),
    ("People's Republic of China", ("PRC",)),
    ("Democratic Republic of the Congo", ("DRC",)),
    ("United Arab Emirates", ("UAE",)),
    ("Irish Republican Army", ("IRA",)),
    ("Royal Air Force", ("RAF",)),
    ("National Football League", ("NFL",)),
    ("National Basketball Association", ("NBA",)),
    ("Federal Communications Commission", ("FCC",)),
    ("European Central Bank", ("ECB",)),
    ("Organization of the Petroleum Exporting Countries", ("OPEC",)),
    ("National Aeronautics and Space Administration", ("NASA",)),
    ("Communist Party of China", ("CPC",)),
    ("Chinese Communist Party", ("CCP",)),
    ("People's Liberation Army", ("PLA",)),
    ("Palestine Liberation Organization", ("PLO",)),
    ("African National Congress", ("ANC",)),
    ("Massachusetts Institute of Technology", ("MIT",)),
    ("World Wide Web", ("WWW",)),
    ("Metropolitan Transportation Authority", ("MTA",)),
    ("National Security Agency", ("NSA",)),
    ("Department of Defense", ("DoD",)),
    ("European Space Agency", ("ESA",)),
    ("International Criminal Court", ("ICC",)),
    ("Organisation for Economic Co-operation and Development", ("OECD",)),
]


def _form_re(form: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.]){re.escape(form)}(?![\w]|\.\w)")


def acronym_variants(q: Question, text: str, rng: random.Random) -> Iterator[str]:
    """The question with one organisation's name in another of its forms (not the same
    question's form); the form the paragraph does not use is preferred."""
    done: set[str] = set()
    for full, shorts in ACRONYMS:
        forms = (full, *shorts)
        if not any(f in q.text for f in forms):
            continue
        for form in forms:
            pat = _form_re(form)
            m = pat.search(q.text)
            if not m or any(f in done for f in forms):
                continue
            if form == "WHO" and q.text.upper() == q.text:
                continue
            if form == "US" and re.search(r"\bUS\b", q.text) and q.text.isupper():
                continue
            done.update(forms)
            others = [f for f in forms if f != form and not (f == "U.S.A." and form != "USA")]
            # expanded forms keep "the"; bare acronyms of countries keep it too ("the US")
            others.sort(key=lambda f: (f in text, f))
            picks = others[:2] if len(others) > 1 and rng.random() < 0.5 else others[:1]
            for other in picks:
                new = q.text[: m.start()] + other + q.text[m.end() :]
                new = re.sub(r"(States|Nations)'s\b", r"\1'", new)
                if m.start() == 0 or not _needs_the(form, other, q.text[: m.start()]):
                    yield new


def _needs_the(old: str, new: str, before: str) -> bool:
    """Refuse rewordings that would want an article the question lacks ("in United Nations")."""
    country_like = {"United States", "United Kingdom", "Soviet Union", "United Nations",
                    "European Union", "United Arab Emirates", "People's Republic of China",
                    "Democratic Republic of the Congo", "World Health Organization",
                    "International Monetary Fund", "World Trade Organization"}  # fmt: skip
    if new in country_like and old not in country_like:
        return not re.search(r"\b(the|The)\s*$", before) and bool(
            re.search(
                r"\b(in|of|to|from|by|for|with|did|does|do|was|is|and|against|on)\s*$", before
            )
        )
    return False


_THE_COUNTRIES = {
    "United States", "United Kingdom", "Netherlands", "Philippines", "Bahamas", "Czech Republic",
    "Dominican Republic", "Central African Republic", "Gambia", "Maldives", "Comoros",
    "Marshall Islands", "Solomon Islands", "United Arab Emirates", "Seychelles",
    "Democratic Republic of the Congo", "Republic of the Congo", "Vatican City",
}  # fmt: skip
_SKIP_COUNTRIES = {
    "Georgia", "Jordan", "Chad", "Niger", "Guinea", "Dominica", "Mali", "Togo", "Congo",
    "Republic of the Congo", "Democratic Republic of the Congo", "Macedonia", "North Macedonia",
    "Samoa", "American Samoa", "Virgin Islands", "Ireland", "Sudan", "Korea", "Guernsey",
    "Jersey", "Montserrat", "Panama", "Chile", "Turkey", "Nauru", "Tonga", "Cuba", "Wales",
    "Peru", "Malta", "Bermuda", "Monaco", "Palestine", "Taiwan", "Kosovo",
}  # fmt: skip
GOV_NOUNS = [
    "government", "army", "navy", "military", "economy", "parliament", "president",
    "prime minister", "monarchy", "king", "queen", "constitution", "population", "people",
    "national team", "embassy", "authorities", "air force", "police", "emperor", "legislature",
    "cabinet", "currency", "flag", "coast", "coastline", "territory", "capital", "border",
    "navy", "troops", "forces", "armed forces", "culture", "cuisine", "media", "press",
    "parliamentary", "health system", "education system", "film industry", "music industry",
    "railway network", "rail network", "national anthem", "football team", "ambassador",
]  # fmt: skip
PLACE_NOUNS = [
    "city",
    "cities",
    "town",
    "towns",
    "port",
    "ports",
    "region",
    "regions",
    "province",
    "provinces",
    "state",
    "states",
    "university",
    "universities",
    "company",
    "companies",
    "newspaper",
    "newspapers",
    "team",
    "teams",
    "club",
    "clubs",
    "airport",
    "airports",
    "river",
    "rivers",
    "island",
    "islands",
    "village",
    "villages",
    "school",
    "schools",
    "museum",
    "museums",
    "bank",
    "banks",
    "film",
    "films",
    "brand",
    "brands",
    "car",
    "cars",
    "firm",
    "firms",
    "city-state",
    "colony",
    "colonies",
]
#: people: "Iranian scientists" <-> "scientists from Iran" (not "in Iran": they may live abroad)
PEOPLE_NOUNS = [
    "writer", "writers", "author", "authors", "composer", "composers", "painter", "painters",
    "scientist", "scientists", "athlete", "athletes", "player", "players", "artist", "artists",
    "settlers", "immigrants", "soldiers", "band", "bands", "poet", "poets", "architect",
    "architects", "director", "directors", "singer", "singers", "students", "student",
]  # fmt: skip


def country_table() -> tuple[dict[str, str], dict[str, str]]:
    """Country name -> demonym and demonym -> country name (unambiguous ones only)."""
    from countryinfo import all_countries

    name_dem: dict[str, str] = {}
    dem_names: dict[str, set[str]] = defaultdict(set)
    for c in all_countries():
        try:
            name = c.name()
            dem = c.demonym()
        except Exception:  # countryinfo raises on records without the field
            continue
        if not name or not dem or not isinstance(name, str) or not isinstance(dem, str):
            continue
        name = " ".join(w if w.islower() and w in {"of", "the", "and"} else w[:1].upper() + w[1:]
                        for w in name.split())  # fmt: skip
        if name in _SKIP_COUNTRIES or not re.fullmatch(r"[A-Z][a-z]+( [A-Z][a-z]+)?", dem):
            continue
        if not re.fullmatch(r"[A-Z][a-z]+( [A-Z][a-z]+){0,3}", name):
            continue
        name_dem[name] = dem
        dem_names[dem].add(name)
    dem_name = {d: next(iter(ns)) for d, ns in dem_names.items() if len(ns) == 1}
    # the forms a news reader uses
    if "British" in dem_name:
        dem_name["British"] = "Britain"
        name_dem.setdefault("Britain", "British")
        name_dem.setdefault("Great Britain", "British")
    for d in ("Macedonian", "Georgian", "Congolese", "Sudanese", "Irish", "Chilean", "Cuban"):
        dem_name.pop(d, None)
    return name_dem, dem_name


def _the(name: str) -> str:
    return f"the {name}" if name in _THE_COUNTRIES else name


def _an(det: str, word: str) -> str:
    if det.lower() in {"a", "an"}:
        art = "an" if word[:1] in "AEIOUaeiou" else "a"
        return art if det.islower() else art.capitalize()
    return det


def demonym_variants(
    q: Question, name_dem: dict[str, str], dem_name: dict[str, str], rng: random.Random
) -> Iterator[str]:
    text = q.text
    key = (id(name_dem), id(dem_name))
    if key not in _PATTERNS:
        _PATTERNS[key] = _demonym_patterns(name_dem, dem_name)
    out: set[str] = set()
    for pat, fn in _PATTERNS[key]:
        for m in pat.finditer(text):
            rep = fn(m, rng)
            if not rep:
                continue
            new = text[: m.start()] + rep + text[m.end() :]
            if new != text:
                out.add(new[0].upper() + new[1:])
    yield from sorted(out)


_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], random.Random], str | None]]
_PATTERNS: dict[tuple[int, int], list[_Rule]] = {}


def _demonym_patterns(name_dem: dict[str, str], dem_name: dict[str, str]) -> list[_Rule]:
    gov = "|".join(sorted((re.escape(n) for n in GOV_NOUNS), key=len, reverse=True))
    place = "|".join(sorted((re.escape(n) for n in PLACE_NOUNS), key=len, reverse=True))
    people = "|".join(sorted((re.escape(n) for n in PEOPLE_NOUNS), key=len, reverse=True))
    # a noun moved before "of"/"in" must end its phrase ("the French film industry" stays)
    follow = (r"(?=[?,;]|\s+(?:is|was|are|were|has|have|had|did|does|do|that|which|who|where|"
              r"in|on|at|to|by|for|with|during|after|before|since|from|and|or|first|last|"
              r"become|became|begin|began|use|used|call|called|give|gave|take|took|make|made|"
              r"\w+ed)\b)")  # fmt: skip
    countries = "|".join(sorted((re.escape(n) for n in name_dem), key=len, reverse=True))
    dems = "|".join(sorted((re.escape(d) for d in dem_name), key=len, reverse=True))
    lead = r"(?<![A-Z][a-z]\s)(?<![A-Z][a-z]{2}\s)(?<![A-Z][a-z]{3}\s)(?<![A-Z][a-z]{4}\s)"
    pats: list[_Rule] = []

    # the government of France -> the French government
    def f1(m: re.Match[str], rng: random.Random) -> str | None:
        dem = name_dem[m.group(3)]
        return f"{m.group(1)} {dem} {m.group(2)}"

    pats.append((re.compile(rf"\b([Tt]he) ({gov}) of (?:the )?({countries})(?![\w-]| [A-Z])"), f1))

    # France's government -> the French government ; Russia's largest city -> the largest ...
    def f2(m: re.Match[str], rng: random.Random) -> str | None:
        dem = name_dem[m.group(1)]
        adj = m.group(2) or ""
        return f"the {adj}{dem} {m.group(3)}"

    pats.append(
        (
            re.compile(
                rf"{lead}\b(?:the )?({countries})'s ((?:\w+est |most \w+ )?)({gov}|{place})\b"
            ),
            f2,
        )
    )

    # the French government -> the government of France / France's government
    def f3(m: re.Match[str], rng: random.Random) -> str | None:
        name = dem_name[m.group(2)]
        if rng.random() < 0.6 or name in _THE_COUNTRIES:
            return f"{m.group(1)} {m.group(3)} of {_the(name)}"
        return f"{name}'s {m.group(3)}" if m.group(1) == "the" else None

    pats.append((re.compile(rf"\b([Tt]he) ({dems}) ({gov})\b{follow}"), f3))

    # which city in France -> which French city ; the largest cities in the US -> ...
    det = r"the|a|an|which|what|many|most|other|some|two|three|several|any|Which|What|A|An|The"
    qual = r"(?:\w+est |most \w+ |major |main |other |first |only )?"

    def f4(m: re.Match[str], rng: random.Random) -> str | None:
        dem = name_dem[m.group(4)]
        return f"{_an(m.group(1), m.group(2) or dem)} {m.group(2)}{dem} {m.group(3)}"

    for nouns, prep in ((place, "in"), (people, "from")):
        pats.append(
            (
                re.compile(
                    rf"\b({det}) ({qual})({nouns}) {prep} (?:the )?({countries})"
                    rf"(?![\w-]| [A-Z]|,? [a-z]+ [A-Z])"
                ),
                f4,
            )
        )

    # which French city -> which city in France
    def f5(prep: str) -> Callable[[re.Match[str], random.Random], str | None]:
        def fn(m: re.Match[str], rng: random.Random) -> str | None:
            name = dem_name[m.group(3)]
            art = _an(m.group(1), m.group(2) or m.group(4))
            return f"{art} {m.group(2)}{m.group(4)} {prep} {_the(name)}"

        return fn

    for nouns, prep in ((place, "in"), (people, "from")):
        pats.append((re.compile(rf"\b({det}) ({qual})({dems}) ({nouns})\b{follow}"), f5(prep)))

    return pats


# --------------------------------------------------------------------------------------------
# Putting it together

RULE_KIND = {
    "year_swap": "entity_swap",
    "number_swap": "entity_swap",
    "name_swap": "entity_swap",
    "antonym": "antonym",
    "negation": "negation",
    "ask_year": "detail_not_given",
    "ask_month": "detail_not_given",
    "ask_agent": "detail_not_given",
    "besides": "mutual_exclusion",
}
#: share of the output per rule (a rule with fewer candidates gives what it has)
QUOTA = {
    "year_swap": 0.10,
    "number_swap": 0.04,
    "name_swap": 0.20,
    "antonym": 0.20,
    "negation": 0.08,
    "ask_year": 0.12,
    "ask_month": 0.12,
    "ask_agent": 0.06,
    "besides": 0.08,
}


#: the most of the output a rule may take when others run short
CAP = {
    "year_swap": 0.22,
    "number_swap": 0.06,
    "name_swap": 0.20,
    "antonym": 0.27,
    "negation": 0.09,
    "ask_year": 0.14,
    "ask_month": 0.19,
    "ask_agent": 0.06,
    "besides": 0.10,
}


def paragraph_index(doc_id: str) -> int:
    return int(doc_id.rsplit("-", 1)[1])


def candidates(
    texts: dict[str, str],
    questions: list[Question],
    by_article: dict[str, list[str]],
    rng: random.Random,
) -> dict[str, list[Made]]:
    # per-article pools of years, numbers and names (with the paragraph they come from)
    years: dict[str, list[tuple[str, str]]] = defaultdict(list)
    nums: dict[str, list[tuple[str, str]]] = defaultdict(list)
    names: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    who_first: Counter[str] = Counter()
    for q in questions:
        if re.match(r"(Who|Whom|Whose)\b", q.text) and re.fullmatch(
            r"[A-Z][a-z]+ [A-Z][a-z]+", q.answer
        ):
            who_first[q.answer.split()[0]] += 1
    first_names = {w for w, n in who_first.items() if n >= 3} - _NOT_PERSON
    persons = {q.answer for q in questions if re.match(r"(Who|Whom|Whose)\b", q.text)}
    for t in texts.values():
        persons.update(m.group(1) for m in re.finditer(
            r"([A-Z][a-z]+(?: [A-Z][a-z.]+){1,2}) \((?:born|b\.|c\. )?\d{3,4}", t))  # fmt: skip
    persons = {n for n in persons if n.split()[0] in first_names}
    for art, ids in by_article.items():
        for d in ids:
            t = texts[d]
            for y in sorted(set(re.findall(r"(?<![\w.,-])(1\d{3}|20[0-2]\d)(?![\w%.,-])", t))):
                years[art].append((y, d))
            for n in sorted(set(plain_numbers(t))):
                nums[art].append((n, d))
            seen_names = set()
            for s, _e, name in name_spans(t):
                if s == 0 or re.search(r"[.!?]\s+$", t[:s]) or name in seen_names:
                    continue
                seen_names.add(name)
                shape = name_shape(name, persons)
                if shape:
                    names[art][shape].append((name, d))
    corpus = {  # real compass names ("South Carolina"), to swap "North Carolina" only for one
        m.group(0)
        for t in texts.values()
        for m in re.finditer(r"\b(?:North|South|East|West) [A-Z][\w-]*", t)
    }
    # a value not in P comes from another paragraph of the article
    year_pool = {a: sorted({v for v, _ in vs}) for a, vs in years.items()}
    num_pool = {a: sorted({v for v, _ in vs}) for a, vs in nums.items()}
    name_pool = {
        a: {k: sorted({v for v, _ in vs}) for k, vs in d.items()} for a, d in names.items()
    }

    out: dict[str, list[Made]] = defaultdict(list)
    for q in questions:
        if q.ambiguous or len(q.text.split()) < 4 or not q.text.endswith("?"):
            continue
        text = texts[q.doc_id]
        art = q.article
        for new, changed, old in swap_years(q, text, year_pool.get(art, []), rng):
            out["year_swap"].append(Made(q, new, "entity_swap", "year_swap", changed,
                                         f"P gives {old}; {changed} (another paragraph's year) "
                                         "is nowhere in P."))  # fmt: skip
        for new, changed, old in swap_numbers(q, text, num_pool.get(art, []), rng):
            out["number_swap"].append(Made(q, new, "entity_swap", "number_swap", changed,
                                           f"P says {old}, never {changed}."))  # fmt: skip
        for new, changed, old in swap_names(q, text, name_pool.get(art, {}), persons, rng):
            out["name_swap"].append(Made(q, new, "entity_swap", "name_swap", changed,
                                         f"P is about {old}; {changed} (from another paragraph "
                                         "of the article) is not in P."))  # fmt: skip
        for new, changed, old in antonym_swaps(q, text, corpus):
            out["antonym"].append(Made(q, new, "antonym", "antonym", changed,
                                       f"P speaks of '{old}'; it never says '{changed}' "
                                       "(nor a near synonym)."))  # fmt: skip
        for new, changed, _ in negate(q, text, rng):
            out["negation"].append(Made(q, new, "negation", "negation", changed,
                                        f"P names one thing ({q.answer}) and says nothing "
                                        "of what else was or was not done."))  # fmt: skip
        for new, rule, changed, why in ask_detail(q, text):
            out[rule].append(Made(q, new, "detail_not_given", rule, changed, why))
    return out


def sentence_of(
    text: str, start: int, cache: dict[str, list[tuple[int, int]]], doc: str
) -> tuple[int, int] | None:
    if doc not in cache:
        cache[doc] = sentences(text)
    for s, e in cache[doc]:
        if s <= start < e:
            return (s, e)
    return None


def select(
    cands: dict[str, list[Made]],
    texts: dict[str, str],
    questions: list[Question],
    count: int,
    rng: random.Random,
    asked: dict[str, set[str]],
    taken: set[str],
) -> list[tuple[Made, tuple[int, int]]]:
    """Pick per rule quota, at most 3 per paragraph, one per source question, spread over
    articles (articles with fewer picks first)."""
    cache: dict[str, list[tuple[int, int]]] = {}
    docs = {d: {"id": d, "text": t} for d, t in texts.items()}
    asked_lists: dict[str, list[str]] = defaultdict(list)
    for q in questions:
        asked_lists[q.doc_id].append(q.text)
    # mutual exclusion needs the sentence, so it is made here
    bes: list[Made] = []
    order = list(questions)
    rng.shuffle(order)
    for q in order:
        if q.ambiguous or len(bes) > count:
            continue
        if not _BESIDES_Q.match(q.text):
            continue
        text = texts[q.doc_id]
        ans = q.answer.rstrip(".,;")

        def sent_of(q: Question = q, text: str = text) -> tuple[int, int] | None:
            return sentence_of(text, q.start, cache, q.doc_id)

        for new, changed, _ in besides(q, text, sent_of, rng):
            bes.append(Made(q, new, "mutual_exclusion", "besides", changed,
                            f"P gives {ans} as the one answer; it names no other."))  # fmt: skip
    cands = dict(cands)
    cands["besides"] = bes

    per_para: Counter[str] = Counter()
    per_art: Counter[str] = Counter()
    used_q: set[str] = set()
    seen: set[str] = set(taken)
    picked: list[tuple[Made, tuple[int, int]]] = []
    pools = {}
    for rule in QUOTA:
        pools[rule] = sorted(cands.get(rule, []), key=lambda m: (m.src.id, m.question))
        rng.shuffle(pools[rule])
    got_rule: Counter[str] = Counter()
    # first each rule's share; then what rules with candidates left can add, up to their cap
    phases = [(r, QUOTA[r]) for r in sorted(QUOTA, key=lambda r: len(pools[r]))]
    phases += [(r, CAP[r]) for r in sorted(CAP, key=lambda r: len(pools[r]))]
    for rule, share in phases:
        want = round(share * count) - got_rule[rule]
        want = min(want, count - len(picked))
        pool = pools[rule]
        got = 0
        # spread: round-robin by article-level count
        for _ in range(3):
            for made in sorted(pool, key=lambda m: per_art[m.src.article]):
                if got >= want:
                    break
                q = made.src
                if q.id in used_q or per_para[q.doc_id] >= 3:
                    continue
                question = clean_question(made.question)
                if question is None:
                    continue
                key = norm(question)
                if key in seen or key in asked.get(q.doc_id, set()) or key == norm(q.text):
                    continue
                if made.kind in ("entity_swap", "antonym") and (
                    made.changed.lower() in texts[q.doc_id].lower()
                    or made.changed.lower() not in question.lower()
                ):
                    continue
                sent = sentence_of(texts[q.doc_id], q.start, cache, q.doc_id)
                if sent is None:
                    continue
                row = {"doc_id": q.doc_id, "question": question, "kind": made.kind,
                       "plausible": list(sent), "changed": made.changed}  # fmt: skip
                if problems(row, docs, asked_lists, {}):
                    continue  # exactly what scripts/train/adversarial.py check refuses
                made.question = question
                seen.add(key)
                used_q.add(q.id)
                per_para[q.doc_id] += 1
                per_art[q.article] += 1
                picked.append((made, sent))
                got += 1
                got_rule[rule] += 1
            if got >= want:
                break
    return picked


def make_variants(
    texts: dict[str, str], questions: list[Question], count: int, rng: random.Random
) -> list[dict[str, str]]:
    name_dem, dem_name = country_table()
    keys = {w for n in (*name_dem, *dem_name) for w in re.findall(r"[A-Z][a-z]+", n)}
    acr: list[tuple[Question, str]] = []
    dem: list[tuple[Question, str]] = []
    for q in questions:
        text = texts[q.doc_id]
        for new in acronym_variants(q, text, rng):
            acr.append((q, new))
        if not (set(re.findall(r"[A-Z][a-z]+", q.text)) & keys):
            continue
        for new in demonym_variants(q, name_dem, dem_name, rng):
            dem.append((q, new))
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    per_q: Counter[str] = Counter()
    for origin, pool in (("rule:demonym", dem), ("rule:acronym", acr)):
        for q, new in pool:
            new_q = clean_question(new)
            if new_q is None or norm(new_q) == norm(q.text) or norm(new_q) in seen:
                continue
            if per_q[q.id] >= 2:
                continue
            seen.add(norm(new_q))
            per_q[q.id] += 1
            rows.append({"of": q.id, "question": new_q, "origin": origin})
    if len(rows) > count:
        rng.shuffle(rows)
        rows = rows[:count]
    rows.sort(key=lambda r: (r["of"], r["question"]))
    return [{"id": f"var-{i:05d}", **r} for i, r in enumerate(rows, start=1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--count", type=int, default=4400, help="unanswerable questions to write")
    ap.add_argument("--variants", type=int, default=3000, help="at most this many rewordings")
    ap.add_argument("--train", type=Path, default=TRAIN)
    ap.add_argument("--rules-out", type=Path, default=OUT_RULES)
    ap.add_argument("--variants-out", type=Path, default=OUT_VARIANTS)
    ap.add_argument("--sample", type=int, default=0, help="print this many random questions")
    args = ap.parse_args()

    texts, questions, by_article = load(args.train)
    asked: dict[str, set[str]] = defaultdict(set)
    for q in questions:
        asked[q.doc_id].add(norm(q.text))
    # the hand-written files of the folder: their questions are not repeated here
    taken: set[str] = set()
    for path in sorted(OUT_RULES.parent.glob("hand-*.jsonl")):
        if path.resolve() != args.rules_out.resolve():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    taken.add(norm(str(json.loads(line).get("question", ""))))
    cands = candidates(texts, questions, by_article, random.Random(args.seed))
    picked = select(cands, texts, questions, args.count, random.Random(args.seed + 1), asked, taken)
    picked.sort(key=lambda p: (p[0].src.id, p[0].rule))
    rows: list[dict[str, Any]] = []
    for i, (made, sent) in enumerate(picked, start=1):
        rows.append({
            "id": f"rule-{i:05d}",
            "doc_id": made.src.doc_id,
            "question": made.question,
            "kind": made.kind,
            "plausible": [sent[0], sent[1]],
            "changed": made.changed,
            "why": made.why,
            "origin": f"rule:{made.rule}",
        })  # fmt: skip
    args.rules_out.parent.mkdir(parents=True, exist_ok=True)
    # ASCII escapes: a U+2028 or U+0085 in a text would split a line for str.splitlines
    args.rules_out.write_text("".join(json.dumps(r) + "\n" for r in rows),
                              encoding="utf-8")  # fmt: skip
    variants = make_variants(texts, questions, args.variants, random.Random(args.seed + 2))
    args.variants_out.write_text("".join(json.dumps(r) + "\n" for r in variants), encoding="utf-8")
    by_rule = Counter(r["origin"] for r in rows)
    by_kind = Counter(r["kind"] for r in rows)
    avail = {r: len(v) for r, v in cands.items()}
    print(f"rules.jsonl: {len(rows)} questions over {len({r['doc_id'] for r in rows})} "
          f"paragraphs, {len({r['doc_id'].rsplit('-', 1)[0] for r in rows})} articles")  # fmt: skip
    print(
        "  by rule:", dict(sorted(by_rule.items())), "\n  by kind:", dict(sorted(by_kind.items()))
    )
    print("  candidates:", dict(sorted(avail.items())))
    print(f"variants.jsonl: {len(variants)}", dict(Counter(v["origin"] for v in variants)))
    if args.sample:
        srng = random.Random(args.seed + 3)
        src = {f"rule-{i:05d}": m.src.text for i, (m, _) in enumerate(picked, start=1)}
        for r in srng.sample(rows, min(args.sample, len(rows))):
            print(f"[{r['origin']}] {r['question']}\n    <- {src[r['id']]}")


if __name__ == "__main__":
    main()
