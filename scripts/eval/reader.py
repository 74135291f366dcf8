"""Evaluate the reader alone on the gold paragraphs of a SQuAD 2.0-format file.

    python -m scripts.eval.reader ../shared/data/eval/squad_v2_dev.jsonl [--reader models/reader]
        [--reader runs/reader/ckpt-010 ...] [--limit N]

For every question, the sentences of its paragraph (split by the service's splitter) are scored
by each reader and, for comparison, by cosine similarity with the default embedder (MiniLM).
Prints per reader: top-1 accuracy (the best sentence contains a gold answer, answerable
questions), AUC of the best score for answerable vs unanswerable questions, the share of
unanswerable questions abstained at the threshold that keeps 90% (and 80%) of the answerable
ones, and short-answer exact match / token F1 against the gold answers. No retrieval: this is
the reader's own skill; ``scripts/eval/qa.py`` measures the whole service.
"""

from __future__ import annotations

import argparse
import json
import re
import string
import time
from collections import Counter
from pathlib import Path

import numpy as np

from qa_service.models.embedding import SentenceTransformerEmbedder
from qa_service.models.reader import TransformersReader, reader_context
from qa_service.text.chunking import split_sentences
from scripts.common import ROOT


def auc(pos: list[float], neg: list[float]) -> float:
    """Probability that a random answerable question outscores a random unanswerable one."""
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos), np.asarray(neg)
    return float((p[:, None] > n[None, :]).mean() + 0.5 * (p[:, None] == n[None, :]).mean())


def abstained_at(pos: list[float], neg: list[float], keep: float) -> float:
    threshold = float(np.quantile(np.asarray(pos), 1 - keep))
    return float(np.mean(np.asarray(neg) < threshold))


def _norm(text: str) -> list[str]:
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def f1(pred: str, gold: str) -> float:
    p, g = _norm(pred), _norm(gold)
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def load(path: Path):
    docs, questions = {}, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            if obj.get("type") == "document":
                docs[obj["id"]] = (obj["text"], obj.get("title"))
            else:
                questions.append(obj)
    return docs, questions


def evaluate(scorer, docs, questions) -> dict[str, float]:
    """``scorer(question, sentences, contexts) -> (scores, spans or None)``; a context is the
    title and previous sentence, as the service gives them."""
    top1, pos, neg, em, f1s = [], [], [], [], []
    for q in questions:
        text, title = docs[q["doc_id"]]
        sents = [text[s.start : s.end] for s in split_sentences(text)]
        contexts = [reader_context(title, sents[k - 1] if k else None) for k in range(len(sents))]
        scores, spans = scorer(q["question"], sents, contexts)
        best = int(np.argmax(scores))
        answers = [a["text"] for a in q.get("answers", [])]
        if q["answerable"]:
            pos.append(float(scores[best]))
            top1.append(any(a.lower() in sents[best].lower() for a in answers))
            if spans is not None and spans[best] is not None:
                a, b = spans[best]
                pred = sents[best][a:b]
                em.append(any(_norm(pred) == _norm(g) for g in answers))
                f1s.append(max(f1(pred, g) for g in answers))
        else:
            neg.append(float(scores[best]))
    out = {
        "top-1 sentence accuracy": float(np.mean(top1)),
        "AUC answerable vs unanswerable": auc(pos, neg),
        "abstained (unanswerable) at 90% kept": abstained_at(pos, neg, 0.90),
        "abstained (unanswerable) at 80% kept": abstained_at(pos, neg, 0.80),
    }
    if f1s:
        out["short answer EM"] = float(np.mean(em))
        out["short answer F1"] = float(np.mean(f1s))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--reader", type=Path, action="append", default=[])
    ap.add_argument("--no-cosine", action="store_true", help="skip the MiniLM cosine baseline")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="also write the table as JSON")
    args = ap.parse_args()
    docs, questions = load(args.data)
    if args.limit:
        questions = questions[: args.limit]
    results: dict[str, dict[str, float]] = {}
    if not args.no_cosine:
        emb = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2", device="cpu")

        def cosine(question, sents, contexts):
            vecs = emb.embed([question, *sents])
            return vecs[1:] @ vecs[0], None

        results["MiniLM cosine"] = evaluate(cosine, docs, questions)
    for folder in args.reader or [ROOT / "models" / "reader"]:
        reader = TransformersReader(str(folder))
        t0 = time.perf_counter()

        def read(question, sents, contexts, reader=reader):
            r = reader.read(question, sents, contexts)
            return [x.score for x in r], [x.span for x in r]

        results[str(folder)] = evaluate(read, docs, questions)
        results[str(folder)]["ms per question"] = (time.perf_counter() - t0) * 1000 / len(questions)
    print(f"{len(questions)} questions, {args.data.name}, gold paragraph's sentences\n")
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    print("| metric | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for k in keys:
        cells = [f"{r[k]:.3f}" if k in r else "" for r in results.values()]
        print(f"| {k} | " + " | ".join(cells) + " |")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
