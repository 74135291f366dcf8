"""Names as news writes them: one name, several spellings.

A reader asks about "the UN envoy", the article says "the U.N. special envoy"; a question says
"Russia", the article "Russian warplanes"; "MoD" stands for the "Ministry of Defence" two
sentences up. These helpers let the gate and the reader see such forms as the same name:

* ``squash_acronyms``: "U.N." -> "UN" (acronyms with and without periods are one form);
* initialisms and the capitalised words they stand for ("UN" / "United Nations", "MoD" /
  "Ministry of Defence", "NHS" / "National Health Service"), matched by their capital letters;
* countries, their other names and their adjectives/demonyms ("Russia" / "Russian" /
  "Russians" / "Russian Federation", "United Kingdom" / "UK" / "British"), from the maintained
  ``countryinfo`` data (MIT), not a hand-made list.

``unknown_names`` is what the gate asks (which names of the question does a passage never
mention, in any form); ``align_question`` rewrites a question's names into the forms the
evidence uses, before the reader reads it (a small cross-encoder matches "U.N." to "U.N.", not
to "UN").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

_DOTTED_RE = re.compile(r"\b[A-Za-z](?:\.[A-Za-z])+\b\.?")
_TOKEN_RE = re.compile(r"[^\W_]+(?:[.'\u2019-][^\W_]+)*\.?", re.UNICODE)
#: An initialism: 2-6 letters, at least two capitals, starting with one ("UN", "MoD", "NHS").
_INITIALISM_RE = re.compile(r"^(?=(?:[^A-Z]*[A-Z]){2})[A-Z][A-Za-z]{1,5}$")
_POSSESSIVE_RE = re.compile(r"['\u2019]s?$")
#: Lower-case words an expansion may hold without an initial ("Ministry of Defence").
_JOINERS = frozenset(["of", "for", "and", "the", "on", "de", "&"])
_MAX_COUNTRY_WORDS = 5


def squash_acronyms(text: str) -> str:
    """Acronyms without their periods: "U.N. envoy" -> "UN envoy" (same length or shorter)."""
    return _DOTTED_RE.sub(lambda m: m.group().replace(".", ""), text)


def _strip(token: str) -> str:
    return _POSSESSIVE_RE.sub("", token.rstrip("."))


_POSSESSIVES_RE = re.compile(r"['\u2019]s?(?![\w])")


def _tokens(text: str) -> list[str]:
    """Words, possessives and full stops cut off ("Russia's" -> "Russia", "U.N." -> "UN")."""
    text = _POSSESSIVES_RE.sub("", squash_acronyms(text))
    return [t.rstrip(".") for t in _TOKEN_RE.findall(text)]


def is_initialism(token: str) -> bool:
    return bool(_INITIALISM_RE.match(token))


def _capitals(token: str) -> str:
    return "".join(c for c in token if c.isupper())


#: A run of capitalised words, with joiners between them ("Ministry of Defence").
_RUN_RE = re.compile(
    r"(?<![\w'\u2019.-])[A-Z][\w'\u2019.-]*(?:\s+(?:(?:of|for|and|the|on|de|&)\s+)?"
    r"[A-Z][\w'\u2019.-]*)+"
)


@lru_cache(maxsize=2048)
def expansions(text: str) -> dict[str, str]:
    """Runs of capitalised words by their initials: {"MD": "Ministry of Defence", ...}.
    Cached (a question is looked up against several passages): do not change the result."""
    out: dict[str, str] = {}
    for m in _RUN_RE.finditer(text):
        run: list[str] = []
        for word in [*m.group().split(), ""]:
            bare = _strip(word)
            if word and not is_initialism(bare):
                run.append(bare)
                continue
            # an initialism (or the end) closes the run: "UN Security Council" -> "Security Council"
            while run and run[0].lower() in _JOINERS:  # "The" opening a sentence
                run.pop(0)
            while run and run[-1].lower() in _JOINERS:
                run.pop()
            capitalised = [w for w in run if w[:1].isupper()]
            if len(capitalised) >= 2:
                out.setdefault("".join(w[0] for w in capitalised), " ".join(run))
            run = []
    return out


@lru_cache(maxsize=1)
def _countries() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    """(lower-case name/adjective/other name -> country, upper-case code -> country, the
    lower-case first words of the names: most words open none, and are skipped at once)."""
    import countryinfo

    forms: dict[str, str] = {}
    codes: dict[str, str] = {}
    infos = [c.info() for c in countryinfo.all_countries()]
    # a shared adjective ("American") goes to the most populous country that uses it
    infos.sort(key=lambda i: -int(i.get("population") or 0))
    for info in infos:
        name = str(info.get("name") or "")
        if not name:
            continue
        key = name.lower()
        demonym = str(info.get("demonym") or "")
        candidates = [name, demonym, f"{demonym}s" if demonym and not demonym.endswith("s") else ""]
        for alt in info.get("altSpellings") or []:
            alt = str(alt)
            if alt.isupper() and alt.isalpha() and len(alt) <= 3:
                codes.setdefault(alt, key)
            elif any(c.islower() for c in alt) and len(alt.split()) <= _MAX_COUNTRY_WORDS:
                candidates.append(alt)
        for form in candidates:
            if form:
                forms.setdefault(form.lower(), key)
    return forms, codes, frozenset(f.split()[0] for f in forms)


@lru_cache(maxsize=2048)
def countries_in(text: str) -> dict[str, set[str]]:
    """The countries a text mentions in any form: {country: {forms as written, lower-case}}.
    Cached (the same passages come back question after question): do not change the result."""
    forms, codes, first_words = _countries()
    tokens = _tokens(text)
    found: dict[str, set[str]] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token[:1].isupper() or (token.lower() not in first_words and token not in codes):
            i += 1
            continue
        for n in range(min(_MAX_COUNTRY_WORDS, len(tokens) - i), 0, -1):
            phrase = " ".join(tokens[i : i + n])
            country = forms.get(phrase.lower()) if phrase[:1].isupper() else None
            if country is None and n == 1 and phrase in codes:
                country = codes[phrase]
            if country is not None:
                found.setdefault(country, set()).add(phrase.lower())
                i += n
                break
        else:
            i += 1
    return found


def unknown_names(
    question: str, names: Iterable[str], passage: str, vocabulary: frozenset[str]
) -> list[str]:
    """The question's ``names`` (lower-case, as ``grounding.Terms`` finds them) that the passage
    mentions in no form: not as written, not dotted or undotted, not as the initialism of
    capitalised words it writes (or the reverse), not as the same country by another name."""
    missing = {n for n in names if n not in vocabulary}
    if not missing:
        return []
    # each look-up below reads the passage only when the question needs it (per request cost)
    # initialisms of the question written out in the passage ("UN" / "United Nations")
    asked = [t for t in _tokens(question) if t.lower() in missing and is_initialism(t)]
    if asked:
        spelled = expansions(passage)
        missing -= {t.lower() for t in asked if _capitals(t) in spelled}
    # words of the question that the passage writes as an initialism ("United Nations" / "UN")
    phrases = {i: p for i, p in expansions(question).items() if p.lower().split()[0] in missing}
    if phrases:
        passage_initialisms = {_capitals(t) for t in _tokens(passage) if is_initialism(t)}
        for initials, phrase in phrases.items():
            if initials in passage_initialisms:
                missing -= {w.lower() for w in phrase.split()}
    # countries by another name ("Russia" / "Russian")
    in_question = {c: f for c, f in countries_in(question).items() if missing & _words(f)}
    if in_question:
        in_passage = countries_in(passage)
        for country, written in in_question.items():
            if country in in_passage:
                missing -= _words(written)
    return sorted(missing)


def _words(forms: set[str]) -> set[str]:
    return {w for f in forms for w in f.split()}


def align_question(question: str, texts: Iterable[str]) -> str:
    """The question with its names in the forms ``texts`` (the evidence) use, for the reader.

    Only names the evidence never writes the question's way are rewritten, each to the form the
    evidence uses most: "Who is the UN envoy?" over "the U.N. special envoy" reads "Who is the
    U.N. envoy?"; "Russia" over "Russian airpower" reads "Russian".
    """
    texts = list(texts)
    joined = "\n".join(texts)
    if not joined:
        return question
    lowered = joined.lower()
    written: Counter[str] = Counter()
    for m in _DOTTED_RE.finditer(joined):
        written[m.group().rstrip(".") + "."] += 1
    out = question
    for token in dict.fromkeys(_TOKEN_RE.findall(question)):
        bare = _strip(token)
        if not (is_initialism(squash_acronyms(bare)) or _DOTTED_RE.fullmatch(bare + ".")):
            continue
        if re.search(rf"(?<![\w.]){re.escape(bare)}(?![\w])", joined):
            continue  # the evidence writes it this way
        squashed = squash_acronyms(bare)
        dotted = [f for f in written if f.replace(".", "") == squashed]
        plain = squashed if re.search(rf"\b{re.escape(squashed)}\b", joined) else None
        target = (
            max(dotted, key=lambda f: written[f])
            if dotted
            else plain or expansions(joined).get(_capitals(squashed))
        )
        if target and target != bare:
            out = re.sub(rf"(?<![\w.]){re.escape(bare)}(?![\w])", target, out)
    for initials, phrase in expansions(question).items():
        if phrase.lower() in lowered:
            continue
        dotted = [f for f in written if f.replace(".", "") == initials]
        if dotted:
            out = out.replace(phrase, max(dotted, key=lambda f: written[f]))
        elif re.search(rf"\b{re.escape(initials)}\b", joined):
            out = out.replace(phrase, initials)
    in_question = countries_in(question)
    in_evidence = countries_in(joined) if in_question else {}
    for country, forms in in_question.items():
        theirs = in_evidence.get(country)
        if not theirs or forms & theirs:
            continue
        target_lower = max(theirs, key=lambda f: lowered.count(f))
        as_written = re.search(rf"\b{re.escape(target_lower)}\b", joined, re.IGNORECASE)
        target = as_written.group() if as_written else target_lower
        for form in forms:
            out = re.sub(
                rf"\b{re.escape(form)}(?:['\u2019]s)?(?![\w])", target, out, flags=re.IGNORECASE
            )
    return out
