"""Our own news dev set: questions written against the 30 articles of news_summaries_dev.jsonl.

    python -m scripts.eval.news_dev show ARTICLE_ID [...]    # an article's sentences, offsets
    python -m scripts.eval.news_dev list                     # the 30 article ids and their split
    python -m scripts.eval.news_dev build DRAFT.jsonl [...]  # answers to offsets, check, write
    python -m scripts.eval.news_dev check                    # validate scripts/data/news_dev.jsonl

The set is stored as questions plus article ids and answer offsets, never the news text (it
belongs to CNN and the Daily Mail; ../shared/data/eval/README.md). It is for measuring only:
no weights are trained on it, and thresholds are chosen on the calibration half (the articles
at even positions in id order) only. Each line of ``scripts/data/news_dev.jsonl``::

    {"id": "news-001", "article_id": "summeval-..." | null, "question": "...?",
     "kind": "answerable" | "unanswerable" | "offtopic",
     "type": "who" | "what" | "when" | "where" | "why" | "how_many" | "how_much" | "how_long"
             | "which" | "how",
     "tags": ["acronym", "demonym", "duration", "date", "caption", "byline", ...],
     "answer": [start, end] | null,     # the exact answer span in the article text
     "plausible": [start, end] | null}  # unanswerable: the sentence a careless reader would cite

Drafts (``build``'s input) carry ``answer_text`` (exact, case-sensitive substring of the
article) and optionally ``answer_occurrence`` (0-based, when the text occurs more than once)
instead of ``answer``, and ``plausible_text`` instead of ``plausible``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from qa_service.text.chunking import split_sentences
from scripts.common import ROOT

ARTICLES = ROOT.parent / "shared" / "data" / "eval" / "news_summaries_dev.jsonl"
OUT = ROOT / "scripts" / "data" / "news_dev.jsonl"
KINDS = ("answerable", "unanswerable", "offtopic")
TYPES = {"who", "what", "when", "where", "why", "how_many", "how_much", "how_long", "which", "how"}
_WORDS = re.compile(r"[a-z0-9]+")


def load_articles(path: Path = ARTICLES) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        sys.exit(f"missing {path}: the news articles live in ../shared/data/eval/")
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            out[obj["id"]] = obj
    return out


def split_of(article_id: str | None, ids: list[str], n: int) -> str:
    """Calibration: articles at even positions in id order (off-topic: every other question)."""
    if article_id is None:
        return "calibration" if n % 2 == 0 else "test"
    return "calibration" if ids.index(article_id) % 2 == 0 else "test"


def _find(text: str, needle: str, occurrence: int) -> tuple[int, int] | None:
    pos = -1
    for _ in range(occurrence + 1):
        pos = text.find(needle, pos + 1)
        if pos < 0:
            return None
    return pos, pos + len(needle)


def problems(q: dict[str, Any], articles: dict[str, dict[str, Any]], seen: set[str]) -> list[str]:
    out = []
    question = str(q.get("question", "")).strip()
    if not question.endswith("?") or len(question.split()) < 3:
        out.append("not worded as a question")
    key = " ".join(_WORDS.findall(question.lower()))
    if key in seen:
        out.append("duplicate question")
    seen.add(key)
    kind = q.get("kind")
    if kind not in KINDS:
        out.append(f"kind {kind!r} not in {KINDS}")
    if q.get("type") not in TYPES:
        out.append(f"type {q.get('type')!r} not in {sorted(TYPES)}")
    aid = q.get("article_id")
    if kind == "offtopic":
        if aid is not None or q.get("answer") is not None:
            out.append("an off-topic question has no article and no answer")
        return out
    if aid not in articles:
        return [*out, f"unknown article {aid!r}"]
    text = articles[aid]["text"]
    answer = q.get("answer")
    if kind == "answerable":
        span = isinstance(answer, list) and len(answer) == 2
        if not (span and 0 <= answer[0] < answer[1] <= len(text)):
            out.append(f"answer {answer!r} is not a span of the article")
    elif answer is not None:
        out.append("an unanswerable question has no answer")
    return out


def build(drafts: list[Path], out_path: Path) -> int:
    articles = load_articles()
    rows, bad = [], 0
    for path in drafts:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            d = json.loads(line)
            where = f"{path.name}:{n}"
            text = articles.get(d.get("article_id") or "", {}).get("text", "")
            answer = d.get("answer")
            if d.get("answer_text"):
                answer = _find(text, d["answer_text"], int(d.get("answer_occurrence", 0)))
                if answer is None:
                    print(f"{where}: answer_text {d['answer_text']!r} not in the article")
                    bad += 1
                    continue
            plausible = d.get("plausible")
            if d.get("plausible_text"):
                plausible = _find(text, d["plausible_text"], 0)
                if plausible is None:
                    print(f"{where}: plausible_text {d['plausible_text'][:40]!r} not found")
                    bad += 1
            rows.append(
                {
                    "id": "",
                    "article_id": d.get("article_id"),
                    "question": d["question"].strip(),
                    "kind": d.get("kind"),
                    "type": d.get("type"),
                    "tags": sorted(set(d.get("tags") or [])),
                    "answer": list(answer) if answer else None,
                    "plausible": list(plausible) if plausible else None,
                }
            )
    for i, r in enumerate(rows, start=1):
        r["id"] = f"news-{i:03d}"
    seen: set[str] = set()
    for r in rows:
        for p in problems(r, articles, seen):
            print(f"{r['id']} ({r['question'][:50]}): {p}")
            bad += 1
    out_path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    report(rows)
    return 1 if bad else 0


def report(rows: list[dict[str, Any]]) -> None:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["kind"]] = counts.get(r["kind"], 0) + 1
        for t in r["tags"]:
            counts[f"tag:{t}"] = counts.get(f"tag:{t}", 0) + 1
    print(f"{len(rows)} questions: {counts}", file=sys.stderr)


def check(path: Path = OUT) -> int:
    articles = load_articles()
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    seen: set[str] = set()
    bad = 0
    for r in rows:
        for p in problems(r, articles, seen):
            print(f"{r['id']}: {p}")
            bad += 1
    report(rows)
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("show")
    sp.add_argument("ids", nargs="+")
    sub.add_parser("list")
    bp = sub.add_parser("build")
    bp.add_argument("drafts", nargs="+", type=Path)
    bp.add_argument("--out", type=Path, default=OUT)
    sub.add_parser("check")
    args = ap.parse_args()
    if args.cmd == "show":
        articles = load_articles()
        for aid in args.ids:
            text = articles[aid]["text"]
            print(f"# {aid}")
            for k, s in enumerate(split_sentences(text)):
                print(f"[{k}] [{s.start}, {s.end}] {text[s.start : s.end]}")
    elif args.cmd == "list":
        ids = sorted(load_articles())
        for aid in ids:
            print(aid, split_of(aid, ids, 0))
    elif args.cmd == "build":
        sys.exit(build(args.drafts, args.out))
    else:
        sys.exit(check())


if __name__ == "__main__":
    main()
