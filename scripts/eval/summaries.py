"""Evaluate summaries against human references: ROUGE for extractive, abstractive and lead-3.

    python -m scripts.eval.summaries ../shared/data/eval/news_summaries_dev.jsonl
        [--modes lead3 extractive abstractive] [--sentences 3] [--half all|first|second]

For every article (records with ``text`` and ``reference``), summarizes it with the service's
summarizer and prints ROUGE-1/2/L F1 (the ``rouge-score`` package, stemming on) per mode, seconds
per summary, and the unsupported-sentence rate: the share of returned sentences with a number or
name that is not in the article (must be 0). ``--half first`` is the half the summarizer's
weights were tuned on; ``--half second`` was not looked at while tuning.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from scripts.common import SHARED_EVAL, load_jsonl, require, table, write_results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data", nargs="?", type=Path, default=SHARED_EVAL / "news_summaries_dev.jsonl")
    ap.add_argument("--modes", nargs="+", default=["lead3", "extractive", "abstractive"])
    ap.add_argument("--sentences", type=int, default=3)
    ap.add_argument("--half", choices=["all", "first", "second"], default="all")
    args = ap.parse_args()

    from rouge_score import rouge_scorer

    from qa_service.answer.summarizing import SourceText, Summarizer
    from qa_service.config import Settings
    from qa_service.models.loading import load_models
    from qa_service.text.chunking import split_sentences
    from qa_service.text.grounding import check_claims

    articles = load_jsonl(require(args.data))
    half = len(articles) // 2
    if args.half == "first":
        articles = articles[:half]
    elif args.half == "second":
        articles = articles[half:]
    needs_generator = "abstractive" in args.modes
    settings = Settings(generator="transformers" if needs_generator else "none")
    models = load_models(settings)
    summarizer = Summarizer(models.embedder, models.generator)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)

    def lead(text: str) -> list[str]:
        sents = [text[s.start : s.end] for s in split_sentences(text) if not s.heading]
        return sents[: args.sentences]

    results: dict[str, Any] = {}
    rows = []
    summarizer.summarize([SourceText(None, "Warm up the model. It is a sentence.", "w")])
    for mode in args.modes:
        scores: dict[str, list[float]] = {"rouge1": [], "rouge2": [], "rougeL": []}
        seconds, unsupported, total_sentences, rewritten = [], 0, 0, 0
        for a in articles:
            t0 = time.perf_counter()
            if mode == "lead3":
                sents = lead(a["text"])
            else:
                summary = summarizer.summarize(
                    [SourceText(a["id"], a["text"], a["id"] + mode)],
                    max_sentences=args.sentences,
                    mode=mode,
                )
                sents = [s.text for s in summary.sentences]
                rewritten += sum(s.rewritten for s in summary.sentences)
            seconds.append(time.perf_counter() - t0)
            total_sentences += len(sents)
            unsupported += sum(not check_claims(s, [a["text"]]).ok for s in sents)
            score = scorer.score(a["reference"], " ".join(sents))
            for k in scores:
                scores[k].append(score[k].fmeasure)
        means = {k: 100 * statistics.fmean(v) for k, v in scores.items()}
        results[mode] = {
            **{k: round(v, 2) for k, v in means.items()},
            "seconds_per_summary": round(statistics.fmean(seconds), 3),
            "unsupported_sentence_rate": unsupported / max(1, total_sentences),
            "sentences": total_sentences,
            "rewritten": rewritten,
        }
        rows.append(
            [mode, means["rouge1"], means["rouge2"], means["rougeL"],
             statistics.fmean(seconds), unsupported / max(1, total_sentences), rewritten]
        )  # fmt: skip
    print(f"\n{len(articles)} articles ({args.half}), {args.sentences} sentences per summary\n")
    print(table(["mode", "ROUGE-1", "ROUGE-2", "ROUGE-L", "s/summary", "unsupported", "rewritten"],
                rows))  # fmt: skip
    path = write_results(
        "eval_summaries", {"data": args.data.name, "half": args.half, "results": results}
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
