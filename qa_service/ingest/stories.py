"""Stories: the articles about one news event, grouped as they are ingested.

Every stored article belongs to exactly one story. An article joins a story inside the
transaction that stores it (so a crash never leaves an article without one):

1. **Wire copies** (``wire.WireLinks``: the same text from several outlets, or near copies)
   always share a story: an article joins the story of any copy already filed.
2. Otherwise it is compared with the stories active within ``QA_STORY_WINDOW_DAYS`` of its time
   (published, else when it was first ingested): the cosine of its vector (the mean of its
   chunks' normalized embeddings) to each story's centroid, and the names the two share (in
   titles and leads). It joins the best story whose cosine reaches ``QA_STORY_SIMILARITY``, or
   ``QA_STORY_NAME_SIMILARITY`` when they share at least ``NAMES_NEEDED`` names; else it starts a
   story of its own.

Incremental: a story keeps the sum of its members' vectors and a count of their names, so a
join or a removal changes one row; nothing is recomputed on ingest. Deleting an article removes
it from its story (and an empty story with it). An exact copy that was not stored again (URL and
feed ingestion store one text once) is kept as a *copy* of the stored article, so a story lists
every outlet's URL.

The tables live in the local SQLite file of either backend, beside the wire links.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..storage.localdb import immediate_tx, select_in
from ..storage.types import TxHook, now_iso
from ..text.grounding import CALENDAR_NAMES, STOPWORDS

#: Names two articles must share for the lower, name-assisted similarity to join them.
NAMES_NEEDED = 2
#: Characters of an article (after its title) whose names identify the story: the lead.
LEAD_CHARS = 1500
#: Names kept per article (the most frequent in the lead).
MAX_NAMES = 24

#: What comes before a word that opens a sentence or a line: nothing, or an end mark and space.
#: Where sentences and lines open: after an end mark and a space, an opening quote included.
_SENTENCE_START = re.compile(
    r"(?:^|(?<=[.!?:;])['\")\u201d\u2019]*\s+|\n)\s*[\"'\u201c\u2018(-]*\s*"
)
_CAPITALISED = re.compile(r"\b[A-Z][\w'\u2019-]*[a-z][\w'\u2019-]*\b|\b[A-Z]{2,}\b")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stories (
    id TEXT PRIMARY KEY,
    title TEXT,
    centroid BLOB NOT NULL,
    size INTEGER NOT NULL,
    names TEXT NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stories_last_at ON stories(last_at);
CREATE TABLE IF NOT EXISTS story_docs (
    doc_id TEXT PRIMARY KEY,
    story_id TEXT NOT NULL,
    at TEXT NOT NULL,
    title TEXT,
    source TEXT,
    feed_id TEXT,
    vector BLOB NOT NULL,
    names TEXT NOT NULL,
    joined_at TEXT NOT NULL,
    similarity REAL
);
CREATE INDEX IF NOT EXISTS story_docs_story ON story_docs(story_id, at);
CREATE INDEX IF NOT EXISTS story_docs_at ON story_docs(at);
CREATE TABLE IF NOT EXISTS story_copies (
    doc_id TEXT NOT NULL,
    url TEXT NOT NULL,
    source TEXT,
    published_at TEXT,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (doc_id, url)
);
"""


@dataclass(frozen=True, slots=True)
class Filing:
    """What filing an article needs: its time, title, lead and vector (None: a metadata-only
    change, which keeps the article's story)."""

    doc_id: str
    at: str
    title: str | None
    text: str
    vector: npt.NDArray[np.float32] | None
    source: str | None = None
    feed_id: str | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """An article of a story: when it happened, and when it joined (ingestion time)."""

    doc_id: str
    at: str
    joined_at: str
    similarity: float | None
    source: str | None
    feed_id: str | None


@dataclass(frozen=True, slots=True)
class Copy:
    """An outlet's copy of a stored article that was not stored again (same text)."""

    doc_id: str
    url: str
    source: str | None
    published_at: str | None


@dataclass(slots=True)
class Story:
    id: str
    title: str | None
    size: int
    first_at: str
    last_at: str
    updated_at: str
    members: list[Member] = field(default_factory=list)


def article_names(title: str | None, text: str) -> list[str]:
    """The proper names of an article's lead (lowercased), most frequent first: capitalised
    words that do not open a sentence (headline case and sentence starts say nothing), without
    function words and calendar words."""
    lead = text[:LEAD_CHARS]
    starts = {m.end() for m in _SENTENCE_START.finditer(lead)}
    counts: Counter[str] = Counter()
    for m in _CAPITALISED.finditer(lead):
        word = m.group().lower()
        if m.start() in starts or word in CALENDAR_NAMES or word in STOPWORDS:
            continue
        counts[word] += 1
    return [n for n, _ in counts.most_common(MAX_NAMES)]


def doc_vector(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """An article's vector: the normalized mean of its chunks' (normalized) vectors."""
    if len(vectors) == 0:
        return np.zeros(0, dtype=np.float32)
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return np.asarray(mean / norm if norm else mean, dtype=np.float32)


def _shift(at: str, days: float) -> str:
    return (datetime.fromisoformat(at) + timedelta(days=days)).isoformat(timespec="seconds")


class StoryBook:
    """The stories of the stored articles, in the local SQLite file. Thread-safe."""

    def __init__(
        self,
        db_path: Path,
        *,
        window_days: float,
        similarity: float,
        name_similarity: float,
    ) -> None:
        self.window_days = window_days
        self.similarity = similarity
        self.name_similarity = name_similarity
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- writing (inside the documents' transaction) ------------------------------------------
    def file_hook(
        self,
        articles: Sequence[Filing],
        copies_of: Callable[[sqlite3.Connection, str], list[str]],
        after: TxHook | None = None,
    ) -> TxHook:
        """A hook that files each article in its story (in order, so one batch's articles can
        join each other); ``copies_of(c, doc_id)`` names its wire copies. Then runs ``after``."""

        def hook(c: sqlite3.Connection) -> None:
            for article in articles:
                self._file(c, article, copies_of)
            if after is not None:
                after(c)

        return hook

    def _file(
        self,
        c: sqlite3.Connection,
        article: Filing,
        copies_of: Callable[[sqlite3.Connection, str], list[str]],
    ) -> None:
        now = now_iso()
        old = c.execute(
            "SELECT story_id, vector, names, joined_at FROM story_docs WHERE doc_id = ?",
            (article.doc_id,),
        ).fetchone()
        if old is not None and article.vector is None:  # metadata only: same story, new time
            c.execute(
                "UPDATE story_docs SET at = ?, title = ?, source = ?, feed_id = ? WHERE doc_id = ?",
                (article.at, article.title, article.source, article.feed_id, article.doc_id),
            )
            self._settle(c, old[0])
            return
        if article.vector is None or not len(article.vector):
            return  # no text to place (an empty article)
        joined_at = old[3] if old is not None else now
        if old is not None:
            self._remove(c, article.doc_id)
        vector = article.vector.astype(np.float32)
        names = article_names(article.title, article.text)
        story_id, similarity = self._choose(c, article, vector, names, copies_of)
        if story_id is None:
            story_id = "story-" + uuid.uuid4().hex[:16]
            c.execute(
                "INSERT INTO stories (id, title, centroid, size, names, first_at, last_at,"
                " updated_at) VALUES (?, ?, ?, 0, '{}', ?, ?, ?)",
                (story_id, article.title, np.zeros_like(vector).tobytes(), article.at,
                 article.at, now),
            )  # fmt: skip
        c.execute(
            "INSERT INTO story_docs (doc_id, story_id, at, title, source, feed_id, vector, names,"
            " joined_at, similarity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (article.doc_id, story_id, article.at, article.title, article.source,
             article.feed_id, vector.tobytes(), json.dumps(names), joined_at, similarity),
        )  # fmt: skip
        self._add_to(c, story_id, vector, names, +1)
        c.execute("UPDATE stories SET updated_at = ? WHERE id = ?", (now, story_id))
        self._settle(c, story_id)

    def _choose(
        self,
        c: sqlite3.Connection,
        article: Filing,
        vector: npt.NDArray[np.float32],
        names: list[str],
        copies_of: Callable[[sqlite3.Connection, str], list[str]],
    ) -> tuple[str | None, float | None]:
        """The story the article joins (None: a new one) and its similarity to it."""
        copies = [d for d in copies_of(c, article.doc_id) if d != article.doc_id]
        for rows in select_in(
            c, "SELECT story_id FROM story_docs WHERE doc_id IN ({marks})", copies
        ):
            for (story_id,) in rows:
                return story_id, None  # wire copies always share a story
        rows = c.execute(
            "SELECT id, centroid FROM stories WHERE last_at >= ? AND first_at <= ?",
            (_shift(article.at, -self.window_days), _shift(article.at, self.window_days)),
        ).fetchall()
        if not rows:
            return None, None
        centroids = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
        norms = np.linalg.norm(centroids, axis=1)
        cosines = (centroids @ vector) / np.where(norms > 0, norms, 1.0)
        floor = min(self.similarity, self.name_similarity)
        close = [(float(cos), r[0]) for r, cos in zip(rows, cosines, strict=True) if cos >= floor]
        # names are read only for the few stories close enough for them to matter
        mine = set(names)
        for cosine, story_id in sorted(close, reverse=True):
            if cosine < self.similarity:
                (story_names,) = c.execute(
                    "SELECT names FROM stories WHERE id = ?", (story_id,)
                ).fetchone()
                if len(mine & json.loads(story_names).keys()) < NAMES_NEEDED:
                    continue
            return story_id, round(cosine, 4)
        return None, None

    @staticmethod
    def _add_to(
        c: sqlite3.Connection,
        story_id: str,
        vector: npt.NDArray[np.float32],
        names: list[str],
        sign: int,
    ) -> None:
        row = c.execute("SELECT centroid, names FROM stories WHERE id = ?", (story_id,)).fetchone()
        centroid = np.frombuffer(row[0], dtype=np.float32) + sign * vector
        counts = Counter(json.loads(row[1]))
        counts.update(dict.fromkeys(names, sign))
        kept = {n: k for n, k in counts.items() if k > 0}
        c.execute(
            "UPDATE stories SET centroid = ?, names = ?, size = size + ? WHERE id = ?",
            (centroid.astype(np.float32).tobytes(), json.dumps(kept), sign, story_id),
        )

    @staticmethod
    def _settle(c: sqlite3.Connection, story_id: str) -> None:
        """Recompute a story's span and title from its members; drop it when it has none."""
        first = c.execute(
            "SELECT at, title FROM story_docs WHERE story_id = ? ORDER BY at, rowid LIMIT 1",
            (story_id,),
        ).fetchone()
        if first is None:
            c.execute("DELETE FROM stories WHERE id = ?", (story_id,))
            return
        (last,) = c.execute(
            "SELECT MAX(at) FROM story_docs WHERE story_id = ?", (story_id,)
        ).fetchone()
        c.execute(
            "UPDATE stories SET first_at = ?, last_at = ?, title = ? WHERE id = ?",
            (first[0], last, first[1], story_id),
        )

    def _remove(self, c: sqlite3.Connection, doc_id: str) -> None:
        row = c.execute(
            "SELECT story_id, vector, names FROM story_docs WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        if row is None:
            return
        story_id, blob, names = row
        c.execute("DELETE FROM story_docs WHERE doc_id = ?", (doc_id,))
        self._add_to(c, story_id, np.frombuffer(blob, dtype=np.float32), json.loads(names), -1)
        self._settle(c, story_id)

    def forget(self, doc_id: str) -> None:
        """Remove a deleted article from its story (and its copies with it)."""
        with immediate_tx(self._conn, self._lock) as c:
            self._remove(c, doc_id)
            c.execute("DELETE FROM story_copies WHERE doc_id = ?", (doc_id,))

    def add_copy(self, copy: Copy) -> None:
        """Record an outlet's copy of a stored article (the text was not stored again)."""
        with immediate_tx(self._conn, self._lock) as c:
            c.execute(
                "INSERT OR REPLACE INTO story_copies (doc_id, url, source, published_at, seen_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (copy.doc_id, copy.url, copy.source, copy.published_at, now_iso()),
            )

    # --- reading ------------------------------------------------------------------------------
    def story_of(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """The story of each of these articles that has one, by doc id."""
        out: dict[str, str] = {}
        with self._lock:
            sql = "SELECT doc_id, story_id FROM story_docs WHERE doc_id IN ({marks})"
            for rows in select_in(self._conn, sql, doc_ids):
                out.update((r[0], r[1]) for r in rows)
        return out

    def missing(self, doc_ids: Sequence[str]) -> list[str]:
        """The ids not filed in any story (articles stored before stories existed)."""
        known = self.story_of(doc_ids)
        return [d for d in doc_ids if d not in known]

    def stories(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        sources: Sequence[str] | None = None,
        feeds: Sequence[str] | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[Story], int]:
        """Stories by their latest article, newest first: those with an article at or after
        ``since`` and a first one at or before ``until``; ``sources`` and ``feeds`` keep the
        stories with an article (or a copy) of those. Returns a page and the total."""
        where: list[str] = []
        params: list[str | int] = []
        if since is not None:
            where.append("s.last_at >= ?")
            params.append(since)
        if until is not None:
            where.append("s.first_at <= ?")
            params.append(until)
        if sources:
            marks = ",".join("?" * len(sources))
            where.append(
                f"s.id IN (SELECT story_id FROM story_docs WHERE source IN ({marks}) UNION"
                " SELECT d.story_id FROM story_copies c JOIN story_docs d ON d.doc_id = c.doc_id"
                f" WHERE c.source IN ({marks}))"
            )
            params.extend([*sources, *sources])
        if feeds:
            marks = ",".join("?" * len(feeds))
            where.append(f"s.id IN (SELECT story_id FROM story_docs WHERE feed_id IN ({marks}))")
            params.extend(feeds)
        sql = " FROM stories s" + (" WHERE " + " AND ".join(where) if where else "")
        with self._lock:
            (total,) = self._conn.execute("SELECT COUNT(*)" + sql, params).fetchone()
            rows = self._conn.execute(
                "SELECT s.id, s.title, s.size, s.first_at, s.last_at, s.updated_at" + sql
                + " ORDER BY s.last_at DESC, s.updated_at DESC, s.id LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()  # fmt: skip
            stories = [Story(*r) for r in rows]
            self._members_locked(stories)
        return stories, int(total)

    def story(self, story_id: str) -> Story | None:
        """One story with its members, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id, title, size, first_at, last_at, updated_at FROM stories WHERE id = ?",
                (story_id,),
            ).fetchone()
            if row is None:
                return None
            story = Story(*row)
            self._members_locked([story])
        return story

    def copies(self, doc_ids: Sequence[str]) -> dict[str, list[Copy]]:
        """The unstored copies of each of these articles, by doc id, oldest first."""
        out: dict[str, list[Copy]] = {}
        with self._lock:
            sql = (
                "SELECT doc_id, url, source, published_at FROM story_copies"
                " WHERE doc_id IN ({marks}) ORDER BY seen_at, rowid"
            )
            for rows in select_in(self._conn, sql, doc_ids):
                for r in rows:
                    out.setdefault(r[0], []).append(Copy(*r))
        return out

    def _members_locked(self, stories: list[Story]) -> None:
        by_id = {s.id: s for s in stories}
        sql = (
            "SELECT story_id, doc_id, at, joined_at, similarity, source, feed_id FROM story_docs"
            " WHERE story_id IN ({marks}) ORDER BY at, rowid"
        )
        for rows in select_in(self._conn, sql, list(by_id)):
            for story_id, *member in rows:
                by_id[story_id].members.append(Member(*member))
