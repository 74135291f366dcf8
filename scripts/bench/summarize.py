"""Benchmark /summarize latency per mode on ~700-word articles (2 CPU cores, default models).

    python -m scripts.bench.summarize [DATA.jsonl] [--articles 20] [--abstractive 5]

Articles of ~700 words are built from consecutive SQuAD dev paragraphs of one Wikipedia article
(DATA, default ../shared/data/eval/squad_v2_dev.jsonl), ingested, then summarized in 3 sentences
through the service (each article once per mode, so the summary cache never answers). Prints
p50/p95 per mode and writes bench/results/bench_summarize.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from itertools import groupby
from pathlib import Path

from scripts.common import SHARED_EVAL, load_jsonl, require, summary_ms, table, write_results


def build_articles(records: list[dict], words: int) -> list[dict]:
    docs = [r for r in records if r.get("type") == "document"]
    out = []
    for article, group in groupby(docs, key=lambda d: d["id"].rsplit("-", 1)[0]):
        paragraphs: list[str] = []
        for d in group:
            paragraphs.append(d["text"])
            if sum(len(p.split()) for p in paragraphs) >= words:
                out.append({"id": f"{article}-{len(out)}", "title": article,
                            "text": "\n\n".join(paragraphs)})  # fmt: skip
                paragraphs = []
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data", nargs="?", type=Path, default=SHARED_EVAL / "squad_v2_dev.jsonl")
    ap.add_argument("--articles", type=int, default=20, help="articles for extractive")
    ap.add_argument("--abstractive", type=int, default=5, help="articles for abstractive")
    ap.add_argument("--words", type=int, default=700)
    args = ap.parse_args()

    from qa_service.config import Settings
    from qa_service.models.loading import load_models
    from qa_service.schemas import DocumentIn, SummarizeRequest
    from qa_service.service import QAService

    articles = build_articles(load_jsonl(require(args.data)), args.words)[: args.articles]
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="qa-bench-sum-")))
    service = QAService(settings, load_models(settings))
    service.ingest([DocumentIn(**a) for a in articles])
    service.summarize(SummarizeRequest(text="A warm-up sentence for the models. And another."))
    results, rows = {}, []
    for mode, n in (("extractive", len(articles)), ("abstractive", args.abstractive)):
        times, rewritten, total = [], 0, 0
        for a in articles[:n]:
            t0 = time.perf_counter()
            r = service.summarize(SummarizeRequest(doc_id=a["id"], mode=mode))
            times.append(time.perf_counter() - t0)
            rewritten += sum(s.rewritten for s in r.sentences)
            total += len(r.sentences)
        stats = summary_ms(times)
        results[mode] = {**stats, "rewritten_sentences": rewritten, "sentences": total}
        rows.append([mode, stats["n"], stats["p50_ms"], stats["p95_ms"], f"{rewritten}/{total}"])
    words = sum(len(a["text"].split()) for a in articles) / len(articles)
    print(f"\n/summarize, 3 sentences, articles of {words:.0f} words on average\n")
    print(table(["mode", "articles", "p50 ms", "p95 ms", "rewritten"], rows))
    path = write_results("bench_summarize", {"mean_words": round(words), "results": results})
    print(f"\nwritten to {path}")
    service.close()


if __name__ == "__main__":
    main()
