"""Measure where wire copies end and different stories begin: the QA_WIRE_THRESHOLD evidence.

    python -m scripts.eval.wire [--embed]

There is no labelled corpus of wire copies here, so copies are made from the 30 news articles
of the dev set by the edits outlets really make to agency copy, and set against different
stories that are as close as the data allows:

  copies      dateline + credits line; last 30% cut; 8% of words changed; an update appended
              (25% more text); photo captions removed; all at once ("heavy"); and two harsher
              ones: half cut, 15% of words changed;
  different   every pair of the 30 news articles; every pair of paragraphs of the same SQuAD
              article (same topic, different text: 6,644 pairs); a follow-up story that repeats
              three sentences of background from the first.

For 3- and 5-word shingles it prints the exact Jaccard similarity of each group (min, 10th
percentile, median for copies; max for different stories), then, for the service's MinHash
signatures and LSH bands, the recall and false positives at several thresholds. ``--embed`` adds
the alternative the issue names, cosine similarity of the leads' embeddings (first 500
characters), to show why it was not chosen. Results go to bench/results/eval_wire.json.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import statistics
from collections.abc import Callable

from qa_service.ingest import wire
from scripts.common import SHARED_EVAL, load_jsonl, require, table, write_results

_SENT = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    return _SENT.split(text)


def variants(news: list[str]) -> dict[str, Callable[[str, int], str]]:
    vocab = [w for t in news for w in t.split()]

    def credits(t: str, i: int) -> str:
        return f"LONDON (Reuters) - {t}\nReporting by Jane Doe; Editing by John Roe"

    def cut(share: float) -> Callable[[str, int], str]:
        def f(t: str, i: int) -> str:
            s = sentences(t)
            return " ".join(s[: max(1, round(len(s) * (1 - share)))])

        return f

    def edit(share: float) -> Callable[[str, int], str]:
        def f(t: str, i: int) -> str:
            rng = random.Random(i)
            return " ".join(rng.choice(vocab) if rng.random() < share else w for w in t.split())

        return f

    def update(t: str, i: int) -> str:
        other = sentences(news[(i + 1) % len(news)])
        return t + " " + " ".join(other[: max(1, len(other) // 4)])

    def captions(t: str, i: int) -> str:  # Daily Mail captions are inline sentences ending " ."
        return " ".join(s for s in sentences(t) if not s.endswith(" ."))

    def heavy(t: str, i: int) -> str:
        s = sentences(t)
        if len(s) > 4:
            s[1], s[3] = s[3], s[1]
        return credits(edit(0.05)(cut(0.2)(" ".join(s), i), i), i)

    return {
        "credits": credits,
        "cut 30%": cut(0.3),
        "edit 8%": edit(0.08),
        "update +25%": update,
        "captions": captions,
        "heavy": heavy,
        "cut 50% (harsh)": cut(0.5),
        "edit 15% (harsh)": edit(0.15),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--embed", action="store_true", help="also compare lead embeddings")
    args = ap.parse_args()
    news = [r["text"] for r in load_jsonl(require(SHARED_EVAL / "news_summaries_dev.jsonl"))]
    squad = [
        r
        for r in load_jsonl(require(SHARED_EVAL / "squad_v2_dev.jsonl"))
        if r.get("type", "document") == "document"
    ]
    by_article: dict[str, list[str]] = {}
    for r in squad:
        by_article.setdefault(r["title"].split(" (paragraph")[0], []).append(r["text"])

    edits = variants(news)
    copies = {name: [(t, f(t, i)) for i, t in enumerate(news)] for name, f in edits.items()}
    different = {
        "news pairs": list(itertools.combinations(news, 2)),
        "same-topic paragraphs": [
            p for g in by_article.values() for p in itertools.combinations(g, 2)
        ],
        "follow-up (3 sentences shared)": [
            (t, news[(i + 5) % len(news)] + " " + " ".join(sentences(t)[:3]))
            for i, t in enumerate(news)
        ],
    }
    realistic = [n for n in copies if "harsh" not in n]

    def jaccard(a: str, b: str, k: int) -> float:
        sa, sb = wire.shingles(a, k), wire.shingles(b, k)
        return len(sa & sb) / len(sa | sb)

    out: dict[str, object] = {}
    for k in (3, 5):
        rows = []
        for name, pairs in copies.items():
            js = sorted(jaccard(a, b, k) for a, b in pairs)
            rows.append([f"copy: {name}", len(js), js[0], js[len(js) // 10], statistics.median(js)])
        for name, pairs in different.items():
            js = sorted(jaccard(a, b, k) for a, b in pairs)
            rows.append([f"different: {name}", len(js), None, None, js[-1]])
        print(f"\nexact Jaccard, {k}-word shingles (copies: min / p10 / median; different: max)")
        print(table(["pairs", "n", "min", "p10", "median or max"], rows))
        out[f"jaccard_k{k}"] = rows

    # The service's estimate: MinHash signatures, LSH candidates, threshold.
    sig: dict[str, object] = {}

    def sig_of(text: str) -> object:
        if text not in sig:
            sig[text] = wire.signature(text)
        return sig[text]

    def found(a: str, b: str, threshold: float) -> bool:
        sa, sb = sig_of(a), sig_of(b)
        candidate = bool(set(wire.band_keys(sa)) & set(wire.band_keys(sb)))  # type: ignore[arg-type]
        return candidate and wire.similarity(sa, sb) >= threshold  # type: ignore[arg-type]

    rows = []
    for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45):
        pos = [found(a, b, threshold) for n in realistic for a, b in copies[n]]
        harsh = [found(a, b, threshold) for n in copies if "harsh" in n for a, b in copies[n]]
        neg = [found(a, b, threshold) for pairs in different.values() for a, b in pairs]
        rows.append(
            [threshold, f"{sum(pos)}/{len(pos)}", f"{sum(harsh)}/{len(harsh)}",
             f"{sum(neg)}/{len(neg)}"]
        )  # fmt: skip
    print(f"\nMinHash ({wire.NUM_PERM} permutations) + LSH ({wire.BANDS} bands x {wire.ROWS} rows)")
    print(table(["threshold", "realistic copies found", "harsh copies found", "false links"], rows))
    out["minhash"] = rows

    if args.embed:
        from qa_service.config import Settings
        from qa_service.models.loading import load_models

        embedder = load_models(Settings(generator="none")).embedder

        def cos(pairs: list[tuple[str, str]]) -> list[float]:
            vecs = embedder.embed([t[:500] for p in pairs for t in p])
            return sorted(float(vecs[2 * i] @ vecs[2 * i + 1]) for i in range(len(pairs)))

        rows = []
        for name in realistic:
            cs = cos(copies[name])
            rows.append([f"copy: {name}", cs[0], statistics.median(cs)])
        for name, pairs in different.items():
            cs = cos(pairs[:2000])
            rows.append([f"different: {name}", None, cs[-1]])
        print("\ncosine of lead embeddings (first 500 characters)")
        print(table(["pairs", "min", "median or max"], rows))
        out["lead_cosine"] = rows
    path = write_results("eval_wire", {"config": wire.CONFIG, **out})
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
