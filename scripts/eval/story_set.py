"""A labelled set of news stories, made at run time from the dev news, and how to score a grouping.

Used by ``scripts/bench/stories.py`` (clustering quality of ``QA_STORY_*``). No corpus of
articles labelled by story is here, so each of the 30 news articles of
``../shared/data/eval/news_summaries_dev.jsonl`` becomes a story, with members made from it the way
news really grows around an event:

  wire       an outlet's copy: a dateline, 4% of the words changed, the last 15-35% cut, a
             credits line; published 20 minutes to 6 hours after the base;
  update     the same outlet's update: a new lead sentence with a changed figure (the first
             number of the article that is not a year), most of the original after it (the last
             10% cut); 2 to 12 hours after;
  follow-up  1 to 2 days later, another outlet: new lead paragraphs (the article's reference
             highlights, written by the publisher's staff in other words, with a figure changed)
             and 3 sentences of background from the base.

The other bases are the other stories, same-topic ones included (11 of the 30 are about English
and Spanish football, sharing club and player names). Twelve SQuAD dev paragraphs, three from each
of four Wikipedia articles, are stories of their own too: same subject and names, different text,
published within a day of each other. Bases are spread over 15 days (two a day), so a story's
window holds several others. The texts are read from ``../shared/data`` when the set is built and
never written anywhere.

The highlights restate the base's facts, so a follow-up here is closer to its base than a real one
that brings new facts: the recall of follow-ups is an upper bound. The same 30 articles are the
only news at hand, so settings are chosen on the calibration half (the articles at even positions
in id order, as for ``scripts/data/news_dev.jsonl``) and reported on both halves.
"""

from __future__ import annotations

import random
import re
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from qa_service.ingest.stories import NAMES_NEEDED, Filing, StoryBook, article_names
from qa_service.ingest.wire import Fingerprint, WireLinks
from qa_service.schemas import to_utc_iso
from qa_service.storage.localdb import immediate_tx
from scripts.common import SHARED_EVAL, load_jsonl, require

START = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)
SPAN_DAYS = 15
SQUAD_ARTICLES, SQUAD_PARAGRAPHS = 4, 3

_SENT = re.compile(r"(?<=[.!?])\s+")
_CNN = re.compile(r"^(?:[A-Z][\w ,.]*)?\(CNN\)\s*")  # the outlet's dateline, replaced
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_DATELINES = ("LONDON (Reuters) - ", "NEW YORK (AP) - ", "SYDNEY (AAP) - ", "PARIS (AFP) - ")
_UPDATE_TAILS = (
    "The figure was revised later in the day.",
    "That is the latest figure.",
    "Officials confirmed the new figure on the same day.",
)


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    story: str  # the gold label: the base article's id
    kind: str  # base | wire | update | follow-up | same-topic
    half: str  # calibration | test
    title: str
    text: str
    published_at: datetime
    source: str

    @property
    def at(self) -> str:
        """The time the story book files it at (as the ingest pipeline writes it)."""
        return to_utc_iso(self.published_at)


def sentences(text: str) -> list[str]:
    return [s for s in _SENT.split(text.strip()) if s]


def first_words(text: str, n: int = 10) -> str:
    return " ".join(text.split()[:n])


def change_figure(text: str, rng: random.Random) -> tuple[str, bool]:
    """The text with its first number that is not a year raised by 10-40%."""
    for m in _NUMBER.finditer(text):
        raw = m.group()
        if "." in raw:
            continue
        value = int(raw.replace(",", ""))
        if 1900 <= value <= 2100 and "," not in raw:
            continue
        new = value + max(1, round(value * rng.uniform(0.1, 0.4)))
        out = f"{new:,}" if "," in raw else str(new)
        return text[: m.start()] + out + text[m.end() :], True
    return text, False


def wire_copy(base: str, vocab: list[str], rng: random.Random) -> str:
    s = sentences(_CNN.sub("", base))
    kept = s[: max(3, round(len(s) * rng.uniform(0.65, 0.85)))]
    words = [rng.choice(vocab) if rng.random() < 0.04 else w for w in " ".join(kept).split()]
    return f"{rng.choice(_DATELINES)}{' '.join(words)}\nReporting by staff; editing by the desk"


def update(base: str, rng: random.Random) -> str:
    s = sentences(base)
    body = s[: max(3, round(len(s) * 0.9))]
    for i, sentence in enumerate(body):
        changed, ok = change_figure(sentence, rng)
        if ok:
            lead = f"{changed} {rng.choice(_UPDATE_TAILS)}"
            return lead + "\n\n" + " ".join(body[:i] + body[i + 1 :])
    return f"{body[0]} {rng.choice(_UPDATE_TAILS)}\n\n" + " ".join(body[1:])


def follow_up(base: str, reference: str, rng: random.Random) -> str:
    ref = sentences(change_figure(reference, rng)[0])
    lead = " ".join(ref[:2])
    rest = " ".join(ref[2:])
    s = sentences(base)
    background = " ".join(s[3:6] if len(s) > 6 else s[-3:])
    return "\n\n".join(p for p in (lead, rest, background) if p)


def build(seed: int = 13) -> list[Article]:
    """The labelled set, in publication order."""
    news = sorted(
        load_jsonl(require(SHARED_EVAL / "news_summaries_dev.jsonl")), key=lambda r: r["id"]
    )
    vocab = [w for r in news for w in r["text"].split()]
    rng = random.Random(seed)
    slots = list(range(len(news)))
    rng.shuffle(slots)  # which half-day each base is published in
    out: list[Article] = []
    for i, (r, slot) in enumerate(zip(news, slots, strict=True)):
        half = "calibration" if i % 2 == 0 else "test"
        outlet = "cnn" if "-cnn-" in r["id"] else "dailymail"
        t0 = START + timedelta(days=slot * SPAN_DAYS / len(news), hours=rng.uniform(0, 10))
        base = Article(r["id"], r["id"], "base", half, r["title"], r["text"], t0, outlet)
        text = wire_copy(r["text"], vocab, rng)
        wire = Article(
            f"{r['id']}:wire", r["id"], "wire", half, r["title"], text,
            t0 + timedelta(hours=rng.uniform(0.3, 6)), "wire-agency",
        )  # fmt: skip
        text = update(r["text"], rng)
        upd = Article(
            f"{r['id']}:update", r["id"], "update", half, first_words(text), text,
            t0 + timedelta(hours=rng.uniform(2, 12)), outlet,
        )  # fmt: skip
        text = follow_up(r["text"], r["reference"], rng)
        follow = Article(
            f"{r['id']}:follow-up", r["id"], "follow-up", half, first_words(text), text,
            t0 + timedelta(days=rng.uniform(1, 2)), "other-outlet",
        )  # fmt: skip
        out += [base, wire, upd, follow]
    squad = [
        r
        for r in load_jsonl(require(SHARED_EVAL / "squad_v2_dev.jsonl"))
        if r.get("type", "document") == "document"
    ]
    by_article: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in squad:
        by_article[r["title"].split(" (paragraph")[0]].append(r)
    names = sorted(by_article)
    for j, name in enumerate(rng.sample(names, SQUAD_ARTICLES)):
        t0 = START + timedelta(days=rng.uniform(0, SPAN_DAYS))
        for r in rng.sample(by_article[name], SQUAD_PARAGRAPHS):
            out.append(
                Article(
                    r["id"], r["id"], "same-topic", "calibration" if j % 2 == 0 else "test",
                    first_words(r["text"]), r["text"], t0 + timedelta(hours=rng.uniform(0, 24)),
                    "encyclopedia",
                )
            )  # fmt: skip
    return sorted(out, key=lambda a: a.published_at)


# --- filing with stored vectors ------------------------------------------------------------------
def file_all(
    articles: Sequence[Article],
    vectors: dict[str, npt.NDArray[np.float32]],
    prints: dict[str, Fingerprint],
    db_path: Path,
    *,
    window_days: float,
    similarity: float,
    name_similarity: float,
    wire_threshold: float,
) -> dict[str, str]:
    """The story of each article, filed in order one per transaction as ingestion does (wire
    links, then stories), from vectors computed once: no embedding per setting."""
    wire = WireLinks(db_path, wire_threshold)
    book = StoryBook(
        db_path, window_days=window_days, similarity=similarity, name_similarity=name_similarity
    )
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    lock = threading.Lock()
    try:
        for a in articles:
            filing = Filing(a.id, a.at, a.title, a.text, vectors[a.id], a.source, None)
            hook = wire.link_hook([prints[a.id]], book.file_hook([filing], wire.copies_in))
            with immediate_tx(conn, lock) as c:
                hook(c)
        return dict(conn.execute("SELECT doc_id, story_id FROM story_docs").fetchall())
    finally:
        conn.close()
        book.close()
        wire.close()


# --- scoring --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Score:
    precision: float
    recall: float
    f1: float
    split: int  # gold stories spread over several found ones
    merged: int  # found stories that hold articles of several gold ones
    joined: dict[str, float]  # kind -> share of those articles in their base's found story


def bcubed(
    gold: dict[str, str], found: dict[str, str], items: Iterable[str] | None = None
) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 (Bagga and Baldwin 1998; Amigo et al. 2009), averaged
    over ``items`` (default all); clusters are always the whole sets."""
    by_gold: dict[str, set[str]] = defaultdict(set)
    by_found: dict[str, set[str]] = defaultdict(set)
    for doc, label in gold.items():
        by_gold[label].add(doc)
        by_found[found[doc]].add(doc)
    chosen = list(items if items is not None else gold)
    p = r = 0.0
    for doc in chosen:
        mine, true = by_found[found[doc]], by_gold[gold[doc]]
        both = len(mine & true)
        p += both / len(mine)
        r += both / len(true)
    p, r = p / len(chosen), r / len(chosen)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(articles: Sequence[Article], found: dict[str, str], half: str | None = None) -> Score:
    gold = {a.id: a.story for a in articles}
    chosen = [a for a in articles if half is None or a.half == half]
    p, r, f = bcubed(gold, found, [a.id for a in chosen])
    stories: dict[str, set[str]] = defaultdict(set)
    labels: dict[str, set[str]] = defaultdict(set)
    for a in articles:
        labels[found[a.id]].add(a.story)
    for a in chosen:
        stories[a.story].add(found[a.id])
    mine = {found[a.id] for a in chosen}
    split = sum(len(s) > 1 for s in stories.values())
    merged = sum(len(labels[s]) > 1 for s in mine)
    joined: dict[str, float] = {}
    for kind in ("wire", "update", "follow-up"):
        members = [a for a in chosen if a.kind == kind]
        if members:
            joined[kind] = sum(found[a.id] == found[a.story] for a in members) / len(members)
    return Score(round(p, 4), round(r, 4), round(f, 4), split, merged, joined)


def cosines(
    articles: Sequence[Article], vectors: dict[str, npt.NDArray[np.float32]]
) -> dict[str, dict[str, float | int]]:
    """Cosines of article vectors, apart for pairs that share ``NAMES_NEEDED`` names or more
    (where ``QA_STORY_NAME_SIMILARITY`` applies) and the rest: each member to its base, and
    between different stories (all pairs of news bases, and paragraphs of one Wikipedia article)."""
    names = {a.id: set(article_names(a.title, a.text)) for a in articles}
    groups: dict[str, list[float]] = defaultdict(list)

    def add(label: str, x: str, y: str) -> None:
        shared = len(names[x] & names[y]) >= NAMES_NEEDED
        groups[f"{label}, {'names shared' if shared else 'no names shared'}"].append(
            float(vectors[x] @ vectors[y])
        )

    for a in articles:
        if a.kind in ("wire", "update", "follow-up"):
            add(f"{a.kind} to its base", a.id, a.story)
    bases = [a.id for a in articles if a.kind == "base"]
    for i, x in enumerate(bases):
        for y in bases[i + 1 :]:
            add("different: news bases", x, y)
    paragraphs = [a.id for a in articles if a.kind == "same-topic"]
    for i, x in enumerate(paragraphs):
        for y in paragraphs[i + 1 :]:
            if x.rsplit("-", 1)[0] == y.rsplit("-", 1)[0]:
                add("different: same-topic paragraphs", x, y)
    out: dict[str, dict[str, float | int]] = {}
    for label in sorted(groups):
        cs = sorted(groups[label])
        out[label] = {"n": len(cs), "min": round(cs[0], 3), "median": round(cs[len(cs) // 2], 3),
                      "max": round(cs[-1], 3)}  # fmt: skip
    return out
