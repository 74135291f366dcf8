"""Adversarial unanswerable questions over SQuAD 1.1 train paragraphs: show, assign, check.

    python -m scripts.train.adversarial show DOC_ID         # a paragraph's sentences with offsets
    python -m scripts.train.adversarial assign --part K --of N [--count 120]  # ids for one writer
    python -m scripts.train.adversarial check [FILE ...]    # validate (default: every file below)

The questions live in ``scripts/data/adversarial/*.jsonl`` as questions plus paragraph ids (the
paragraph texts stay in ``../shared/data/train/``; CC BY-SA 4.0, see that folder's README). One
JSON object per line::

    {"id": "hw-a-0001", "doc_id": "squad-<article>-<n>", "question": "...?",
     "kind": "entity_swap" | "antonym" | "negation" | "mutual_exclusion" |
             "impossible_condition" | "detail_not_given",
     "plausible": [start, end],      # the sentence a careless reader would cite (offsets)
     "changed": "...",               # the words of the question the paragraph contradicts
                                     # or never says (entity_swap/antonym: not in the paragraph)
     "why": "...", "origin": "hand" | "rule:<rule>"}

``check`` refuses (exit 1, one line per problem): an unknown paragraph; a question that is not a
question (no "?" at the end, no question word or auxiliary at the start, under 4 words); a
duplicate (same words, in any file) or a copy of one of the paragraph's SQuAD questions; a
plausible span that is not a sentence of the paragraph; a swap (``entity_swap``, ``antonym``)
whose changed words occur in the paragraph (then the paragraph may state the answer); a
negation without a negation word; a mutual exclusion without an exclusion phrase.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

from qa_service.text.chunking import split_sentences
from scripts.common import ROOT

TRAIN = ROOT.parent / "shared" / "data" / "train" / "squad_v1_train.jsonl"
FOLDER = ROOT / "scripts" / "data" / "adversarial"
KINDS = {
    "entity_swap",
    "antonym",
    "negation",
    "mutual_exclusion",
    "impossible_condition",
    "detail_not_given",
}
_QWORDS = re.compile(
    r"^(what|which|who|whom|whose|when|where|why|how|in|on|at|by|for|from|to|during|after|"
    r"before|with|of|under|since|is|are|was|were|do|does|did|can|could|has|have|had|will|"
    r"would|should|name|according|besides|other|apart|aside|except|excluding|along|among|"
    r"besides|unlike|despite|through|between|as|about|against|into|upon|within|without|"
    r"over|across|behind|beyond|toward|towards|near|around|the|a|an|if|after|while|once)\b",
    re.IGNORECASE,
)
#: Openings that are not question words: such a question must still ask "what/which/...".
_LEADS = frozenset(["the", "a", "an", "if", "as", "while", "once", "after", "before"])
_WH = re.compile(r"\b(what|which|who|whom|whose|when|where|why|how)\b", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(not|never|no|none|nobody|nothing|neither|nor|without|fail\w*|refus\w*|n't|cannot|"
    r"lack\w*|absent|unable)\b|n't\b",
    re.IGNORECASE,
)
_EXCLUSION = re.compile(
    r"\b(other than|besides|except|apart from|aside from|instead of|rather than|excluding|"
    r"in addition to|beyond|not|never|only|besides|alongside|but|else|another|second|also)\b",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[a-z0-9]+")


def norm(question: str) -> str:
    return " ".join(_WORDS.findall(question.lower()))


def load_train(path: Path = TRAIN) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Paragraphs by id, and the SQuAD questions asked of each paragraph."""
    if not path.is_file():
        sys.exit(f"missing {path}: the training data lives in ../shared/data/train/")
    docs: dict[str, dict[str, Any]] = {}
    asked: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        if obj.get("type") == "document":
            docs[obj["id"]] = obj
        else:
            asked.setdefault(obj["doc_id"], []).append(obj["question"])
    return docs, asked


def sentences(text: str) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in split_sentences(text)]


def problems(q: dict[str, Any], docs: dict[str, dict[str, Any]], asked: dict[str, list[str]],
             seen: dict[str, str]) -> list[str]:  # fmt: skip
    """What is wrong with one question (empty when it passes)."""
    out: list[str] = []
    question = str(q.get("question", "")).strip()
    doc = docs.get(q.get("doc_id", ""))
    if doc is None:
        return [f"unknown paragraph {q.get('doc_id')!r}"]
    if q.get("kind") not in KINDS:
        out.append(f"kind {q.get('kind')!r} is not one of {sorted(KINDS)}")
    opening = _QWORDS.match(question)
    if (
        not question.endswith("?")
        or len(question.split()) < 4
        or not opening
        or (opening.group(1).lower() in _LEADS and not _WH.search(question))
    ):
        out.append("not worded as a question")
    key = norm(question)
    if key in seen:
        out.append(f"duplicate of {seen[key]}")
    if any(norm(a) == key for a in asked.get(doc["id"], [])):
        out.append("the same words as a SQuAD question of this paragraph")
    text = doc["text"]
    span = q.get("plausible")
    if not (isinstance(span, list) and len(span) == 2 and tuple(span) in sentences(text)):
        out.append(f"plausible {span!r} is not a sentence span of the paragraph")
    changed = str(q.get("changed") or "").strip()
    kind = q.get("kind")
    if kind in ("entity_swap", "antonym"):
        if not changed:
            out.append(f"{kind} without 'changed'")
        elif changed.lower() in text.lower():
            out.append(f"changed words {changed!r} occur in the paragraph")
        elif changed.lower() not in question.lower():
            out.append(f"changed words {changed!r} are not in the question")
    if kind == "negation" and not _NEGATION.search(question) and not changed:
        out.append("negation without a negation word (or 'changed' naming the one removed)")
    if kind == "mutual_exclusion" and not _EXCLUSION.search(question):
        out.append("mutual exclusion without an exclusion phrase")
    return out


def check(files: list[Path]) -> int:
    docs, asked = load_train()
    seen: dict[str, str] = {}
    bad = total = 0
    by_origin: dict[str, int] = {}
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            total += 1
            where = f"{path.name}:{n}"
            try:
                q = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"{where}: not JSON ({e})")
                bad += 1
                continue
            found = problems(q, docs, asked, seen)
            seen.setdefault(norm(str(q.get("question", ""))), where)
            origin = str(q.get("origin", "?")).split(":")[0]
            by_origin[origin] = by_origin.get(origin, 0) + 1
            for p in found:
                print(f"{where}: {q.get('id')}: {p}")
            bad += bool(found)
    print(f"{total} questions, {bad} with problems; by origin: {by_origin}", file=sys.stderr)
    return 1 if bad else 0


def show(doc_id: str) -> None:
    docs, asked = load_train()
    doc = docs[doc_id]
    print(f"# {doc_id}: {doc['title']}")
    for k, (s, e) in enumerate(sentences(doc["text"])):
        print(f"[{k}] [{s}, {e}] {doc['text'][s:e]}")
    print("# SQuAD questions already asked of it:")
    for a in asked.get(doc_id, []):
        print(f"  - {a}")


def assign(part: int, of: int, count: int, seed: int) -> None:
    """Paragraph ids of every ``of``-th article (by sorted name), ``count`` at random."""
    docs, _ = load_train()
    articles = sorted({d.rsplit("-", 1)[0] for d in docs})
    mine = {a for i, a in enumerate(articles) if i % of == part}
    ids = sorted(d for d in docs if d.rsplit("-", 1)[0] in mine)
    random.Random(seed + part).shuffle(ids)
    print("\n".join(ids[:count]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("show")
    sp.add_argument("doc_id")
    ap_assign = sub.add_parser("assign")
    ap_assign.add_argument("--part", type=int, required=True)
    ap_assign.add_argument("--of", type=int, required=True)
    ap_assign.add_argument("--count", type=int, default=120)
    ap_assign.add_argument("--seed", type=int, default=13)
    cp = sub.add_parser("check")
    cp.add_argument("files", nargs="*", type=Path)
    args = ap.parse_args()
    if args.cmd == "show":
        show(args.doc_id)
    elif args.cmd == "assign":
        assign(args.part, args.of, args.count, args.seed)
    else:
        files = args.files or sorted(FOLDER.glob("*.jsonl"))
        sys.exit(check(files))


if __name__ == "__main__":
    main()
