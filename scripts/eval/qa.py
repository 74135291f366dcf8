"""Evaluate /ask on a JSONL file of documents and questions (SQuAD 2.0 dev format).

    python -m scripts.eval.qa ../shared/data/eval/squad_v2_dev.jsonl [--modes extractive generative]
        [--limit N] [--split all|calibration|test] [--out bench/results/eval_qa.json]
    python -m scripts.eval.qa ../shared/data/eval/squad_v2_dev.jsonl --calibrate [--keep 0.92]
        [--write-threshold]
    python -m scripts.eval.qa ../shared/data/eval/squad_v2_dev.jsonl --split test --limit 40 \
        --generator openai --generator-url http://127.0.0.1:11434/v1 --generator-model qwen2.5:0.5b

--generator openai measures your own model behind any OpenAI-compatible server (Ollama, llama.cpp
server, vLLM, transformers serve); QA_GENERATOR_API_KEY is read from the environment as usual.

Ingests the documents into a temporary data directory, asks every question (and the 50 off-topic
questions in scripts/data/offtopic_questions.txt) through the service, and prints per mode:
retrieval recall@5, answered rate and answer recall on answerable questions, citation support,
abstention on SQuAD's adversarial unanswerable questions and on off-topic ones, quote exactness,
latency, and the answer/abstain confusion matrix. Per-question gate features are written too,
so thresholds can be calibrated (see --split: calibration = the first half of the articles by
title, test = the other half; thresholds are chosen on calibration only).

--calibrate asks every question once with the reader's gate open (extractive), chooses the
reader threshold that keeps --keep of the calibration half's answerable questions answered,
and reports the test half at that threshold together with the whole answered/abstained curve;
--write-threshold stores it in the reader's reader.json, where the service reads it.

    python -m scripts.eval.qa --news scripts/data/news_dev.jsonl [--articles PATH] [--modes ...]
        [--split all|calibration|test] [--out bench/results/eval_qa_news.json]
    python -m scripts.eval.qa --news scripts/data/news_dev.jsonl --calibrate

--news measures our own news dev set (scripts/eval/news_dev.py): the 30 articles of
../shared/data/eval/news_summaries_dev.jsonl are ingested and every question asked the same way.
An answerable question is right when it is answered and one citation's [start, end] contains the
gold answer span; unanswerable and off-topic ones should be abstained on. Reported per kind,
split (calibration = articles at even positions in id order), question type and tag, with the
quote exactness and the failed questions. With --calibrate: the right/abstained curve over
reader thresholds on the calibration half only (no threshold is written).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from qa_service.answer.answering import answered as answer_of
from qa_service.answer.options import AskOptions
from qa_service.config import Settings
from qa_service.models.loading import load_models
from qa_service.schemas import DocumentIn
from qa_service.service import QAService
from scripts.common import ROOT
from scripts.eval.news_dev import ARTICLES as NEWS_ARTICLES
from scripts.eval.news_dev import load_articles
from scripts.eval.news_dev import split_of as news_split_of

OFFTOPIC = ROOT / "scripts" / "data" / "offtopic_questions.txt"


def article_of(doc_id: str) -> str:
    return doc_id.rsplit("-", 1)[0]


def load(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    docs: list[dict[str, Any]] = []
    questions: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            (docs if obj.get("type") == "document" else questions).append(obj)
    return docs, questions


def split_of(doc_id: str, articles: list[str]) -> str:
    return "calibration" if articles.index(article_of(doc_id)) % 2 == 0 else "test"


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def run_mode(
    service: QAService, items: list[dict[str, Any]], mode: str, gate_reason: bool = False
) -> list[dict[str, Any]]:
    """One row per question; ``gate_reason`` adds the gate's reason to each (the news set)."""
    rows = []
    for n, q in enumerate(items, start=1):
        t0 = time.perf_counter()
        options = AskOptions(mode=mode)  # type: ignore[arg-type]
        answered = answer_of(service.ask_events(q["question"], options))
        resp = answered.response
        latency = (time.perf_counter() - t0) * 1000
        answers = [a["text"].lower() for a in q.get("answers", [])]
        retrieved = {e.doc_id for e in answered.evidence}
        gate = answered.gate
        rows.append(
            {
                "id": q["id"],
                "kind": q["kind"],
                "split": q["split"],
                "answered": resp.answerable,
                "answer": resp.answer,
                "grounding": resp.grounding,
                "fallback_reason": resp.fallback_reason,
                "answer_hit": any(a in resp.answer.lower() for a in answers),
                "citation_hit": any(a in c.quote.lower() for a in answers for c in resp.citations),
                "evidence_hit": any(
                    a in e.quote.lower() for a in answers for e in answered.evidence[:3]
                ),
                "retrieved_gold": q.get("doc_id") in retrieved,
                "candidate_hit": any(
                    a in e.quote.lower() for a in answers for e in answered.evidence
                ),
                "citations": [c.model_dump() for c in resp.citations],
                "latency_ms": latency,
                "gate": None
                if gate is None
                else {
                    "dense": gate.best_dense,
                    "lexical": gate.best_lexical,
                    "coverage": gate.context_coverage,
                    "unknown_names": len(gate.unknown_names),
                    "reader": gate.best_reader,
                },
            }
        )
        if gate_reason:
            rows[-1]["gate_reason"] = None if gate is None else gate.reason
        if n % 50 == 0:
            print(f"  {mode}: {n}/{len(items)}", file=sys.stderr)
    return rows


def summarize(rows: list[dict[str, Any]], recall5: float, texts: dict[str, str]) -> dict[str, Any]:
    by = defaultdict(list)
    for r in rows:
        by[r["kind"]].append(r)
    ans, adv, off = by["answerable"], by["unanswerable"], by["offtopic"]
    cites = [c for r in rows for c in r["citations"]]
    exact = [texts[c["doc_id"]][c["start"] : c["end"]] == c["quote"] for c in cites]
    lat = [r["latency_ms"] for r in rows]

    def share(items: list[dict[str, Any]], key: str, value: bool = True) -> float:
        return sum(1 for r in items if r[key] == value) / len(items) if items else 0.0

    return {
        "questions": len(rows),
        "retrieval_recall@5": recall5,
        "answered (answerable)": share(ans, "answered"),
        "answer recall": share(ans, "answer_hit"),
        "citation support": share(ans, "citation_hit"),
        "abstain (SQuAD unanswerable)": share(adv, "answered", False),
        "abstain (off-topic)": share(off, "answered", False),
        "quotes exact": sum(exact) / len(exact) if exact else 1.0,
        "generated (share of answered)": (
            sum(1 for r in rows if r["grounding"] == "generated")
            / max(1, sum(1 for r in rows if r["answered"]))
        ),
        "p50 ms": statistics.median(lat) if lat else 0.0,
        "p95 ms": pct(lat, 0.95),
        "confusion": {
            kind: {
                "answered": sum(1 for r in by[kind] if r["answered"]),
                "abstained": sum(1 for r in by[kind] if not r["answered"]),
            }
            for kind in ("answerable", "unanswerable", "offtopic")
        },
    }


def gated(rows: list[dict[str, Any]], t: float, right: str) -> dict[str, float]:
    """Shares of an ungated extractive run as if the gate were ``reader >= t``: answerable
    answered and ``right`` (a row key), unanswerable and off-topic abstained."""

    def answered(r: dict[str, Any]) -> bool:
        return bool(r["answered"]) and r["gate"] is not None and r["gate"]["reader"] >= t

    def share(kind: str, pred: Any) -> float:
        items = [r for r in rows if r["kind"] == kind]
        return sum(1 for r in items if pred(r)) / len(items) if items else 0.0

    return {
        "answered": share("answerable", answered),
        "right": share("answerable", lambda r: answered(r) and r[right]),
        "unanswerable": share("unanswerable", lambda r: not answered(r)),
        "offtopic": share("offtopic", lambda r: not answered(r)),
    }


def at_threshold(rows: list[dict[str, Any]], t: float) -> dict[str, float]:
    """SQuAD figures as if the gate were ``reader >= t``."""
    g = gated(rows, t, "citation_hit")
    return {
        "threshold": t,
        "answered (answerable)": g["answered"],
        "citation support": g["right"],
        "abstain (SQuAD unanswerable)": g["unanswerable"],
        "abstain (off-topic)": g["offtopic"],
    }


def calibrate(rows: list[dict[str, Any]], keep: float) -> tuple[float, dict[str, Any]]:
    """The threshold keeping ``keep`` of the calibration half's answerable questions; the test
    half's figures at it, and the curve over thresholds on the test half."""
    cal = [r for r in rows if r["split"] == "calibration"]
    test = [r for r in rows if r["split"] == "test"]
    # the gate's other checks (topicality) stand: only questions they let through count
    answerable = [r for r in cal if r["kind"] == "answerable"]
    scores = sorted(
        (r["gate"]["reader"] for r in answerable if r["answered"] and r["gate"] is not None),
        reverse=True,
    )
    need = math.ceil(keep * len(answerable))
    threshold = round(float(scores[min(need, len(scores)) - 1]) - 1e-4, 4) if scores else 0.5
    curve = [at_threshold(test, t / 20) for t in range(1, 20)]
    report = {
        "keep": keep,
        "calibration": at_threshold(cal, threshold),
        "test": at_threshold(test, threshold),
        "curve (test)": curve,
    }
    return threshold, report


def print_table(results: dict[str, dict[str, Any]]) -> None:
    modes = list(results)
    keys = [k for k in next(iter(results.values())) if k != "confusion"]
    print("| metric | " + " | ".join(modes) + " |")
    print("|---|" + "---|" * len(modes))
    for k in keys:
        cells = []
        for m in modes:
            v = results[m][k]
            cells.append(f"{v:.3f}" if isinstance(v, float) and "ms" not in k else f"{v:.0f}")
        print(f"| {k} | " + " | ".join(cells) + " |")
    for m in modes:
        print(f"\nconfusion ({m}): gold \\ predicted")
        print("| gold | answered | abstained |\n|---|---|---|")
        for kind, c in results[m]["confusion"].items():
            print(f"| {kind} | {c['answered']} | {c['abstained']} |")


# --- the news dev set (scripts/eval/news_dev.py) -------------------------------------------------

NEWS_SPLITS = ("calibration", "test")
NEWS_FIGURES = (
    "gold article in evidence",
    "gold text in answer (answerable)",
    "right, any copy of the answer text (answerable)",
    "quotes exact",
)


def load_news(path: Path, articles: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The set's questions as run_mode items: the gold article as doc_id, its answer text."""
    ids = sorted(articles)
    items, offtopic = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        aid = q["article_id"]
        split = news_split_of(aid, ids, offtopic)
        offtopic += aid is None
        span = q["answer"]
        gold = articles[aid]["text"][span[0] : span[1]] if span else None
        items.append(
            {
                **q,
                "split": split,
                "doc_id": aid,
                "gold_text": gold,
                "answers": [{"text": gold}] if gold else [],
            }
        )
    return items


def cites_gold(row: dict[str, Any], item: dict[str, Any]) -> bool:
    """Answered, and one citation's [start, end] holds the gold answer span."""
    span = item["answer"]
    return (
        bool(row["answered"])
        and span is not None
        and any(
            c["doc_id"] == item["article_id"] and c["start"] <= span[0] and span[1] <= c["end"]
            for c in row["citations"]
        )
    )


def cites_copy(row: dict[str, Any], item: dict[str, Any], text: str) -> bool:
    """Answered, and a citation in the gold article holds some copy of the answer text (Daily
    Mail stories repeat facts in captions and later sentences: a looser figure than right)."""
    gold = item["gold_text"]
    return (
        bool(row["answered"])
        and bool(gold)
        and any(
            c["doc_id"] == item["article_id"] and gold in text[c["start"] : c["end"]]
            for c in row["citations"]
        )
    )


def news_rows(
    rows: list[dict[str, Any]], items: list[dict[str, Any]], texts: dict[str, str]
) -> list[dict[str, Any]]:
    return [
        {
            **r,
            "article_id": q["article_id"],
            "question": q["question"],
            "type": q["type"],
            "tags": q["tags"],
            "gold": q["answer"],
            "gold_text": q["gold_text"],
            "right": cites_gold(r, q),
            "right (any copy)": cites_copy(r, q, texts.get(q["article_id"] or "", "")),
        }
        for r, q in zip(rows, items, strict=True)
    ]


def tally(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    """[count, of] per figure: answerable right and answered, the others abstained."""
    ans = [r for r in rows if r["kind"] == "answerable"]
    una = [r for r in rows if r["kind"] == "unanswerable"]
    off = [r for r in rows if r["kind"] == "offtopic"]
    return {
        "answerable right": [sum(bool(r["right"]) for r in ans), len(ans)],
        "answerable answered": [sum(bool(r["answered"]) for r in ans), len(ans)],
        "unanswerable abstained": [sum(not r["answered"] for r in una), len(una)],
        "off-topic abstained": [sum(not r["answered"] for r in off), len(off)],
    }


def failed(r: dict[str, Any]) -> bool:
    return not r["right"] if r["kind"] == "answerable" else bool(r["answered"])


def summarize_news(rows: list[dict[str, Any]], texts: dict[str, str]) -> dict[str, Any]:
    cites = [c for r in rows for c in r["citations"]]
    exact = [texts[c["doc_id"]][c["start"] : c["end"]] == c["quote"] for c in cites]
    on_topic = [r for r in rows if r["kind"] != "offtopic"]
    ans = [r for r in rows if r["kind"] == "answerable"]
    by_type, by_tag = defaultdict(list), defaultdict(list)
    for r in rows:
        by_type[r["type"]].append(r)
        for t in r["tags"]:
            by_tag[t].append(r)
    return {
        "questions": len(rows),
        "all": tally(rows),
        "gold article in evidence": (
            sum(bool(r["retrieved_gold"]) for r in on_topic) / len(on_topic) if on_topic else 0.0
        ),
        "gold text in answer (answerable)": (
            sum(bool(r["answered"] and r["answer_hit"]) for r in ans) / len(ans) if ans else 0.0
        ),
        "right, any copy of the answer text (answerable)": (
            sum(bool(r["right (any copy)"]) for r in ans) / len(ans) if ans else 0.0
        ),
        "quotes exact": sum(exact) / len(exact) if exact else 1.0,
        "split": {s: tally([r for r in rows if r["split"] == s]) for s in NEWS_SPLITS},
        "type": {t: tally(by_type[t]) for t in sorted(by_type)},
        "tag": {t: tally(by_tag[t]) for t in sorted(by_tag)},
        "failures": [
            {
                "id": r["id"],
                "kind": r["kind"],
                "type": r["type"],
                "question": r["question"],
                "gold": r["gold_text"],
                "answered": r["answer"] if r["answered"] else None,
                "quotes": [c["quote"] for c in r["citations"]],
                "reason": r["gate_reason"],
                "cites another copy": r["right (any copy)"],
            }
            for r in rows
            if failed(r)
        ],
    }


def print_news(results: dict[str, dict[str, Any]]) -> None:
    def cell(c: list[int]) -> str:
        return f"{c[0]}/{c[1]} ({c[0] / c[1]:.0%})" if c[1] else "-"

    for mode, res in results.items():
        print(f"## {mode}: {res['questions']} questions\n")
        cols = list(res["all"])
        for title, groups in (
            ("kind", {"all": res["all"], **res["split"]}),
            ("type", res["type"]),
            ("tag", res["tag"]),
        ):
            print(f"| {title} | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
            for name, c in groups.items():
                print(f"| {name} | " + " | ".join(cell(c[k]) for k in cols) + " |")
            print()
        for k in NEWS_FIGURES:
            print(f"{k}: {res[k]:.3f}")
        print(f"\nfailed ({len(res['failures'])}):")
        for f in res["failures"]:
            said = f"(abstained: {f['reason']})" if f["answered"] is None else repr(f["answered"])
            note = " (cites another copy of the answer text)" if f["cites another copy"] else ""
            print(f"- {f['id']} [{f['kind']}/{f['type']}] {f['question']}{note}")
            print(f"    gold: {f['gold']!r}; answered: {said}")
            for quote in f["quotes"]:
                print(f"    cited: {quote!r}")
        print()


def news_at_threshold(rows: list[dict[str, Any]], t: float) -> dict[str, float]:
    """News-set figures as if the gate were ``reader >= t``."""
    g = gated(rows, t, "right")
    return {
        "threshold": t,
        "answerable right": g["right"],
        "answered (answerable)": g["answered"],
        "abstain (unanswerable)": g["unanswerable"],
        "abstain (off-topic)": g["offtopic"],
    }


def run_news(args: argparse.Namespace) -> None:
    if args.write_threshold:
        sys.exit("--write-threshold is for SQuAD only: the news set measures, it does not tune")
    articles = load_articles(args.articles)
    items = load_news(args.news, articles)
    if args.calibrate:  # thresholds are looked at on the calibration half only
        args.modes, args.split = ["extractive"], "calibration"
    if args.split != "all":
        items = [q for q in items if q["split"] == args.split]
    if args.limit:
        items = items[: args.limit]
    texts = {aid: a["text"] for aid, a in articles.items()}

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="qa-eval-news-"))
    settings = settings_for(args, data_dir)
    t0 = time.perf_counter()
    models = load_models(settings)
    service = QAService(settings, models)
    print(f"models loaded in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    t0 = time.perf_counter()
    service.ingest(
        [
            DocumentIn(id=aid, text=a["text"], title=a.get("title"), source=a.get("source"))
            for aid, a in sorted(articles.items())
        ]
    )
    print(f"ingested {len(articles)} articles in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    results: dict[str, Any] = {}
    rows_by_mode = {}
    for mode in args.modes:
        rows_by_mode[mode] = news_rows(
            run_mode(service, items, mode, gate_reason=True), items, texts
        )
        results[mode] = summarize_news(rows_by_mode[mode], texts)
    service.close()

    print(f"\n{len(items)} questions ({args.split}), data: {args.news.name}\n")
    if args.calibrate:
        rows = rows_by_mode["extractive"]
        shipped = models.reader.threshold if models.reader is not None else None
        points = [t / 20 for t in range(1, 20)]
        if shipped is not None:
            points = sorted({*points, shipped})
        curve = [news_at_threshold(rows, t) for t in points]
        results = {"calibration": {"reader.json threshold": shipped, "curve (calibration)": curve}}
        n = {k: sum(1 for r in rows if r["kind"] == k) for k in ("answerable", "unanswerable")}
        n["off-topic"] = len(rows) - sum(n.values())
        print(f"curve on the calibration half ({', '.join(f'{v} {k}' for k, v in n.items())}; "
              f"reader.json threshold: {shipped}):")  # fmt: skip
        keys = list(curve[0])
        print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
        for point in curve:
            mark = " (reader.json)" if point["threshold"] == shipped else ""
            print("| " + " | ".join(f"{point[k]:.3f}" for k in keys) + f"{mark} |")
    else:
        print_news(results)
    out = args.out or ROOT / "bench" / "results" / "eval_qa_news.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "data": str(args.news.name),
                "articles": str(args.articles.name),
                "split": args.split,
                "settings": {
                    "reader_threshold": settings.reader_threshold,
                    "reader_model": settings.reader_model,
                    "generator": settings.generator,
                    "generator_model": settings.generator_model,
                },
                "results": results,
                "rows": rows_by_mode,
            },
            indent=1,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    print(f"\nwritten to {out}", file=sys.stderr)


def settings_for(args: argparse.Namespace, data_dir: Path) -> Settings:
    overrides: dict[str, Any] = {"reader_threshold": 0.0} if args.calibrate else {}
    if args.reader_model:
        overrides["reader_model"] = args.reader_model
    for name in ("generator", "generator_model", "generator_url", "generator_chat"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    return Settings(data_dir=data_dir, models_dir=ROOT / "models", **overrides)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data", type=Path, nargs="?", help="SQuAD 2.0 dev format (not with --news)")
    ap.add_argument("--news", type=Path, default=None, help="our news dev set (news_dev.jsonl)")
    ap.add_argument("--articles", type=Path, default=NEWS_ARTICLES, help="its 30 articles")
    ap.add_argument("--modes", nargs="+", default=["extractive", "generative"])
    ap.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    ap.add_argument("--split", choices=["all", "calibration", "test"], default="all")
    ap.add_argument(
        "--out", type=Path, default=None,
        help="default bench/results/eval_qa.json (--news: eval_qa_news.json)",
    )  # fmt: skip
    ap.add_argument("--data-dir", type=Path, default=None, help="reuse an ingested data dir")
    ap.add_argument("--calibrate", action="store_true", help="calibrate the reader threshold")
    ap.add_argument("--keep", type=float, default=0.90, help="answerable share to keep")
    ap.add_argument("--write-threshold", action="store_true", help="store it in reader.json")
    ap.add_argument("--reader-model", default=None, help="QA_READER_MODEL for this run")
    ap.add_argument(
        "--generator",
        choices=["transformers", "llamacpp", "openai", "none"],
        default=None,
        help="QA_GENERATOR for this run",
    )
    ap.add_argument("--generator-model", default=None, help="QA_GENERATOR_MODEL for this run")
    ap.add_argument("--generator-url", default=None, help="QA_GENERATOR_URL (with openai)")
    ap.add_argument(
        "--generator-chat", choices=["auto", "true", "false"], default=None,
        help="QA_GENERATOR_CHAT (with openai)",
    )  # fmt: skip
    args = ap.parse_args()
    if (args.news is None) == (args.data is None):
        ap.error("give either DATA.jsonl (SQuAD 2.0 format) or --news NEWS_DEV.jsonl")
    if args.news is not None:
        run_news(args)
        return
    args.out = args.out or ROOT / "bench" / "results" / "eval_qa.json"
    if args.calibrate:
        args.modes, args.split = ["extractive"], "all"

    docs, questions = load(args.data)
    articles = sorted({article_of(d["id"]) for d in docs})
    items = []
    for q in questions:
        items.append(
            {
                **q,
                "kind": "answerable" if q["answerable"] else "unanswerable",
                "split": split_of(q["doc_id"], articles),
            }
        )
    for i, line in enumerate(OFFTOPIC.read_text(encoding="utf-8").splitlines()):
        if line.strip() and not line.startswith("#"):
            items.append(
                {"id": f"offtopic-{i}", "question": line.strip(), "kind": "offtopic",
                 "split": "calibration" if i % 2 == 0 else "test", "answers": []}
            )  # fmt: skip
    if args.split != "all":
        items = [q for q in items if q["split"] == args.split]
    if args.limit:
        items = items[: args.limit]

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="qa-eval-"))
    settings = settings_for(args, data_dir)
    t0 = time.perf_counter()
    service = QAService(settings, load_models(settings))
    print(f"models loaded in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    t0 = time.perf_counter()
    batch = [
        DocumentIn(id=d["id"], text=d["text"], title=d.get("title"), source=d.get("source"))
        for d in docs
    ]
    for i in range(0, len(batch), 64):
        service.ingest(batch[i : i + 64])
    print(f"ingested {len(docs)} documents in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    texts = {d["id"]: d["text"] for d in docs}

    answerable = [q for q in items if q["kind"] != "offtopic"]
    hits = 0
    for q in answerable:
        found = service.search(q["question"], 5)
        hits += q["doc_id"] in {h.doc_id for h in found}
    recall5 = hits / len(answerable) if answerable else 0.0

    results, rows_by_mode = {}, {}
    for mode in args.modes:
        rows = run_mode(service, items, mode)
        rows_by_mode[mode] = rows
        results[mode] = summarize(rows, recall5, texts)
    service.close()

    print(f"\n{len(items)} questions ({args.split}), data: {args.data.name}\n")
    if args.calibrate:
        threshold, report = calibrate(rows_by_mode["extractive"], args.keep)
        results = {"calibration": report}
        print(f"reader threshold {threshold} (keeps {args.keep:.0%} of calibration answerable)")
        for half in ("calibration", "test"):
            print(f"  {half}: " + ", ".join(f"{k} {v:.3f}" for k, v in report[half].items()))
        print("\ncurve on the test half:")
        keys = list(report["curve (test)"][0])
        print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
        for point in report["curve (test)"]:
            print("| " + " | ".join(f"{point[k]:.3f}" for k in keys) + " |")
        if args.write_threshold:
            from qa_service.models.reader import READER_CONFIG, resolve_reader_model

            path = Path(resolve_reader_model(settings)) / READER_CONFIG
            meta = json.loads(path.read_text(encoding="utf-8"))
            meta["threshold"] = threshold
            meta["calibration"] = {
                "data": args.data.name,
                "half": "calibration (even articles by title)",
                "keep": args.keep,
                "test": report["test"],
            }
            path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            print(f"threshold written to {path}", file=sys.stderr)
    else:
        print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "data": str(args.data.name),
                "split": args.split,
                "settings": {
                    "answer_min_similarity": settings.answer_min_similarity,
                    "answer_min_coverage": settings.answer_min_coverage,
                    "chunk_tokens": settings.chunk_tokens,
                    "generator": settings.generator,
                    "generator_model": settings.generator_model,
                },
                "results": results,
                "rows": rows_by_mode,
            },
            indent=1,
        )
    )
    print(f"\nwritten to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
