"""Train the reader (a sentence-level cross-encoder with a span head) from ../shared/data/train/.

    python -m scripts.train.reader [--data ../shared/data/train] [--out models/reader]
        [--work runs/reader] [--steps 3000] [--minutes 75] [--seed 13]

Each step reads ``--groups`` questions; a question contributes its answer sentence (positive,
with the answer's token span) and up to ``--negatives`` other sentences: the ones of its
paragraph that share most words with it (hard: same topic), and one from another paragraph of
the same article (what retrieval returns by mistake). SQuAD 2.0's adversarial questions (only in
``squad_v2_train_extra.jsonl``) contribute only negatives and are repeated ``--adversarial-passes``
times over the run: they teach abstention. Sentences are split with the service's own splitter,
so training sees the spans the service scores.

Loss: binary cross-entropy on the score (does this sentence answer?) plus cross-entropy on the
answer's start and end tokens (positives only). The word embeddings stay frozen (they are half
the parameters; freezing them halves the optimizer's work and keeps the vocabulary's geometry).

Deterministic for a given seed and step count; resumable: a state is checkpointed to ``--work``
every ``--checkpoint-minutes`` and the run continues from it when started again. Each checkpoint
is also exported to ``--work/ckpt-<minutes>`` (fp16 safetensors, for the eval-vs-minutes curve).
Training stops at ``--steps`` or ``--minutes``, whichever comes first, and exports the final
model to ``--work/final`` and, as int8 ONNX (what the service runs), to ``--out``.
Runs on CUDA when present, otherwise on the CPU (bf16 autocast where the CPU supports it).
Never reads ../shared/data/eval/.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from qa_service.models.cpu import cpu_has_bf16
from qa_service.models.embedding import resolve_embedding_model
from qa_service.models.reader import READER_CONFIG, reader_context, with_context
from qa_service.models.reader_export import export_reader_onnx
from qa_service.models.reader_net import build_net
from qa_service.text.chunking import split_sentences
from scripts.common import ROOT

log = logging.getLogger("train_reader")

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or",
        "is", "are", "was", "were", "be", "been", "what", "which", "who", "whom", "whose", "when",
        "where", "why", "how", "did", "does", "do", "that", "this", "these", "those", "it", "its",
        "as", "into", "than", "then",
    ]
)  # fmt: skip


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


@dataclass
class Paragraph:
    article: str
    title: str
    text: str
    sentences: list[tuple[int, int]]
    words: list[set[str]]

    def context(self, k: int) -> str:
        """What the reader sees beside sentence ``k``: the title and the sentence before it
        (whom "he" or "the city" refers to), as the service gives it (``reader_context``)."""
        prev = self.text[slice(*self.sentences[k - 1])] if k > 0 else None
        return reader_context(self.title, prev)


@dataclass
class Group:
    """One question and the sentences it is trained against."""

    question: str
    pairs: list[tuple[str, str, float, tuple[int, int] | None]]  # sentence, context, label, span


def load_extra(
    paths: list[Path], paragraphs: dict[str, Paragraph], questions: list[dict[str, Any]]
) -> int:
    """Add our own questions over the training paragraphs (``scripts/data/``): adversarial
    unanswerable ones (``doc_id``, ``question``, ``plausible``: the sentence a careless reader
    would cite, which becomes their first negative) and answerable rewordings of SQuAD
    questions (``of``: the original's id, whose answers they take). Returns how many."""
    by_id = {q["id"]: q for q in questions if "id" in q}
    added = 0
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            obj = json.loads(line)
            if "of" in obj:
                original = by_id.get(obj["of"])
                if original is None:
                    continue
                q = {**original, "id": obj["id"], "question": obj["question"]}
            elif obj.get("doc_id") in paragraphs:
                q = {
                    "id": obj["id"],
                    "question": obj["question"],
                    "doc_id": obj["doc_id"],
                    "answerable": False,
                    "answers": [],
                    "plausible": obj.get("plausible"),
                    "adversarial": True,
                }
            else:
                continue
            q["source"] = path.name
            questions.append(q)
            added += 1
    return added


def load_data(folder: Path) -> tuple[dict[str, Paragraph], list[dict[str, Any]]]:
    paragraphs: dict[str, Paragraph] = {}
    questions: list[dict[str, Any]] = []
    for name in ("squad_v1_train.jsonl", "squad_v2_train_extra.jsonl"):
        path = folder / name
        if not path.is_file():
            sys.exit(f"missing {path}: the training data lives in ../shared/data/train/")
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            obj = json.loads(line)
            if obj.get("type") == "document":
                text = obj["text"]
                spans = [(s.start, s.end) for s in split_sentences(text)]
                paragraphs[obj["id"]] = Paragraph(
                    article=obj["id"].rsplit("-", 1)[0],
                    title=obj.get("title") or "",
                    text=text,
                    sentences=spans,
                    words=[words(text[a:b]) for a, b in spans],
                )
            else:
                obj["adversarial"] = not obj.get("answerable", True)
                obj["source"] = name
                questions.append(obj)
    return paragraphs, questions


def make_group(
    q: dict[str, Any],
    paragraphs: dict[str, Paragraph],
    by_article: dict[str, list[str]],
    rng: random.Random,
    negatives: int,
) -> Group | None:
    para = paragraphs[q["doc_id"]]
    qwords = words(q["question"])
    answers = q.get("answers") or []
    pairs: list[tuple[str, str, float, tuple[int, int] | None]] = []
    positive_idx: int | None = None
    if answers:
        a = answers[0]
        start, end = a["start"], a["start"] + len(a["text"])
        for k, (s, e) in enumerate(para.sentences):
            if s <= start and end <= e:
                positive_idx = k
                pairs.append((para.text[s:e], para.context(k), 1.0, (start - s, end - s)))
                break
        if positive_idx is None:
            return None  # the answer crosses a sentence boundary: no clean label
    answer_texts = [a["text"].lower() for a in answers]
    # an adversarial question written against one sentence: that sentence, first of all
    plausible = tuple(q.get("plausible") or ())
    if plausible in para.sentences:
        k = para.sentences.index(plausible)  # type: ignore[arg-type]
        pairs.append((para.text[slice(*plausible)], para.context(k), 0.0, None))
        negatives -= 1
    candidates = []
    for k, (s, e) in enumerate(para.sentences):
        if k == positive_idx or (s, e) == plausible:
            continue
        sent = para.text[s:e]
        if any(t in sent.lower() for t in answer_texts):
            continue  # the answer's words are there too: maybe another correct sentence
        candidates.append((len(qwords & para.words[k]) + rng.random() * 0.5, sent, para.context(k)))
    candidates.sort(reverse=True)
    # hardest first, then one at random from the rest
    own = negatives - 1
    chosen = [c[1:] for c in candidates[: max(own - 1, 1)]]
    rest = [c[1:] for c in candidates[max(own - 1, 1) :]]
    if rest and len(chosen) < own:
        chosen.append(rng.choice(rest))
    # one sentence of another paragraph of the same article, by word overlap
    others = [p for p in by_article[para.article] if p != q["doc_id"]]
    if others:
        best = None
        for pid in rng.sample(others, min(8, len(others))):
            other = paragraphs[pid]
            for k, (s, e) in enumerate(other.sentences):
                sent = other.text[s:e]
                if any(t in sent.lower() for t in answer_texts):
                    continue
                score = len(qwords & other.words[k]) + rng.random() * 0.5
                if best is None or score > best[0]:
                    best = (score, sent, other.context(k))
        if best is not None:
            chosen.append(best[1:])
    pairs.extend((s, c, 0.0, None) for s, c in chosen)
    return Group(q["question"], pairs) if pairs else None


def schedule(
    questions: list[dict[str, Any]],
    steps: int,
    groups: int,
    passes: int,
    seed: int,
    v1_share: float | None = None,
):
    """The order of questions for the whole run: the adversarial-article questions (and our
    own, ``--extra``) ``passes`` times, SQuAD 1.1 questions filling the rest (each at most once
    while they last). ``v1_share`` reserves that share of the run for SQuAD 1.1 questions
    (answerable) however many others there are, to keep the classes balanced."""
    rng = random.Random(seed)
    extra = [i for i, q in enumerate(questions) if q["source"] != "squad_v1_train.jsonl"]
    v1 = [i for i, q in enumerate(questions) if q["source"] == "squad_v1_train.jsonl"]
    total = steps * groups
    order = []
    for _ in range(passes):
        rng.shuffle(extra)
        order.extend(extra)
    if v1_share is not None:
        order = order[: total - round(v1_share * total)]
    rng.shuffle(v1)
    need = max(total - len(order), 0)
    order.extend((v1 * (need // max(len(v1), 1) + 1))[:need])
    rng.shuffle(order)
    return order[:total]


def encode(tokenizer, groups: list[Group], max_length: int, context: bool):
    questions, sentences, labels, spans = [], [], [], []
    for g in groups:
        for sent, ctx, label, span in g.pairs:
            questions.append(g.question)
            sentences.append(with_context(tokenizer, sent, ctx) if context else sent)
            labels.append(label)
            spans.append(span)
    enc = tokenizer(
        questions,
        sentences,
        truncation="only_second",
        max_length=max_length,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    offsets = enc.pop("offset_mapping").tolist()
    starts, ends = [], []
    for k, span in enumerate(spans):
        s_tok = e_tok = -100
        if span is not None:
            seq = enc.sequence_ids(k)
            for t, (a, b) in enumerate(offsets[k]):
                if seq[t] != 1 or b == 0:
                    continue
                if s_tok == -100 and b > span[0]:  # the first token ending after the start
                    s_tok = t
                if a < span[1]:
                    e_tok = t
            if s_tok == -100 or e_tok < s_tok or offsets[k][e_tok][1] < span[1]:
                s_tok = e_tok = -100  # truncated away
        starts.append(s_tok)
        ends.append(e_tok)
    return enc, torch.tensor(labels), torch.tensor(starts), torch.tensor(ends)


def export(model, tokenizer, config, out: Path, meta: dict[str, Any], onnx: bool = False) -> None:
    """Write a reader folder: fp16 safetensors (checkpoints) or int8 ONNX (what ships)."""
    from safetensors.torch import save_file

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if onnx:
        export_reader_onnx(model, tokenizer, tmp)
    else:
        state = {
            k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()
        }
        save_file(state, str(tmp / "model.safetensors"))
    config.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    old = {}
    if (out / READER_CONFIG).is_file():
        old = json.loads((out / READER_CONFIG).read_text(encoding="utf-8"))
    # keep a calibrated threshold written by scripts/eval/qa.py only if it is for these weights
    same = all(old.get(k) == meta.get(k) for k in ("trained_steps", "seed", "steps"))
    if same and "threshold" in old:
        meta = {**meta, "threshold": old["threshold"], "calibration": old.get("calibration")}
    (tmp / READER_CONFIG).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    card = out / "README.md"
    if card.is_file():
        shutil.copy(card, tmp / "README.md")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def load_checkpoint(folder: Path):
    """A reader saved by ``export`` as safetensors: (net, tokenizer, config, meta)."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(folder)
    net = build_net(config)
    net.load_state_dict(
        {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}
    )
    meta = json.loads((folder / READER_CONFIG).read_text(encoding="utf-8"))
    return net.eval(), AutoTokenizer.from_pretrained(folder), config, meta


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "train")
    p.add_argument("--out", type=Path, default=ROOT / "models" / "reader")
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "reader")
    p.add_argument("--base", default="all-MiniLM-L6-v2", help="encoder to start from")
    p.add_argument(
        "--init",
        type=Path,
        metavar="CHECKPOINT",
        help="start from a reader checkpoint folder (a second phase, e.g. more adversarial "
        "passes at a lower --lr) instead of the bare --base encoder",
    )
    p.add_argument(
        "--extra",
        type=Path,
        nargs="*",
        default=[],
        metavar="JSONL",
        help="our own questions over the training paragraphs, repeated like the adversarial "
        "articles: scripts/data/adversarial/*.jsonl (unanswerable) and "
        "scripts/data/variants.jsonl (answerable acronym/demonym rewordings)",
    )
    p.add_argument(
        "--v1-share",
        type=float,
        default=None,
        help="share of the run's questions taken from SQuAD 1.1 (answerable) whatever the "
        "size of the adversarial pool (default: SQuAD 1.1 only fills what the pool leaves)",
    )
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--minutes", type=float, default=75.0)
    p.add_argument("--groups", type=int, default=8, help="questions per step")
    p.add_argument("--negatives", type=int, default=4, help="negative sentences per question")
    p.add_argument("--adversarial-passes", type=int, default=4)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument(
        "--context",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="show the reader the title and the previous sentence after each sentence (a "
        "full-length run did no better than the sentence alone; see the model card)",
    )
    p.add_argument("--lr", type=float, default=6e-5)
    p.add_argument("--span-weight", type=float, default=0.5)
    p.add_argument("--checkpoint-minutes", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast on the CPU (default: only where the CPU computes bf16 natively, "
        "AVX-512 BF16 or AMX; elsewhere it is emulated and about 10x slower than float32)",
    )
    p.add_argument(
        "--export-only",
        type=Path,
        metavar="CHECKPOINT",
        help="no training: export a checkpoint folder (safetensors) to --out as int8 ONNX",
    )
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.export_only:
        net, tok, cfg, meta = load_checkpoint(args.export_only)
        export(net, tok, cfg, args.out, meta, onnx=True)
        log.info("exported %s to %s (int8 ONNX)", args.export_only, args.out)
        return
    if "eval" in args.data.resolve().parts:
        sys.exit("refusing to train on evaluation data")

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    from transformers import AutoConfig, AutoTokenizer, BertModel

    base = resolve_embedding_model(args.base)
    tokenizer = AutoTokenizer.from_pretrained(base)
    config = AutoConfig.from_pretrained(base)
    model = build_net(config)
    if args.init:
        model.load_state_dict(load_checkpoint(args.init)[0].state_dict())
        log.info("starting from %s", args.init)
    else:
        model.encoder.load_state_dict(BertModel.from_pretrained(base).state_dict(), strict=False)
    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    model.to(device)

    t_load = time.perf_counter()
    paragraphs, questions = load_data(args.data)
    extra = load_extra(args.extra, paragraphs, questions)
    by_article: dict[str, list[str]] = {}
    for pid, para in paragraphs.items():
        by_article.setdefault(para.article, []).append(pid)
    order = schedule(
        questions, args.steps, args.groups, args.adversarial_passes, args.seed, args.v1_share
    )
    log.info(
        "%d paragraphs, %d questions (%d of ours) loaded in %.0fs; %d steps of %d questions on %s",
        len(paragraphs),
        len(questions),
        extra,
        time.perf_counter() - t_load,
        args.steps,
        args.groups,
        device,
    )

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    warmup = max(1, args.steps // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (args.steps - step) / max(1, args.steps - warmup))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    step, trained_s = 0, 0.0
    state_path = args.work / "state.pt"
    args.work.mkdir(parents=True, exist_ok=True)
    if state_path.is_file():
        state = torch.load(state_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step, trained_s = state["step"], state["trained_s"]
        torch.set_rng_state(state["torch_rng"])
        log.info("resumed at step %d (%.1f min trained)", step, trained_s / 60)

    bce = torch.nn.BCEWithLogitsLoss()
    ce = torch.nn.CrossEntropyLoss(ignore_index=-100)
    native_bf16 = cpu_has_bf16()
    use_bf16 = device == "cpu" and (native_bf16 if args.bf16 is None else args.bf16)
    log.info(
        "bf16 autocast %s (CPU native bf16: %s%s)",
        "on" if use_bf16 else "off",
        native_bf16,
        "" if args.bf16 is None else ", set by --bf16/--no-bf16",
    )
    meta = {
        "name": "qa-service-reader-minilm-l6",
        "base": args.base,
        "max_length": args.max_length,
        "context": args.context,
        "seed": args.seed,
        "steps": args.steps,
        "groups": args.groups,
        "negatives": args.negatives,
        "adversarial_passes": args.adversarial_passes,
        "lr": args.lr,
        "init": str(args.init) if args.init else None,
        "extra": [p.name for p in args.extra],
        "v1_share": args.v1_share,
    }
    model.train()
    started = time.perf_counter() - trained_s
    last_ckpt = trained_s
    pairs_seen, loss_avg = 0, None
    logged = (0, trained_s)
    stop_reason = "steps"
    while step < args.steps:
        rng = random.Random(args.seed * 1_000_003 + step)  # the batch depends on the step alone
        batch = []
        for i in order[step * args.groups : (step + 1) * args.groups]:
            g = make_group(questions[i], paragraphs, by_article, rng, args.negatives)
            if g is not None:
                batch.append(g)
        if not batch:
            step += 1
            continue
        enc, labels, starts, ends = encode(tokenizer, batch, args.max_length, args.context)
        enc = {k: v.to(device) for k, v in enc.items()}
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_bf16):
            score, start_logits, end_logits = model(
                enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]
            )
        score = score.float()
        loss = bce(score, labels.to(device))
        if (starts >= 0).any():
            span_loss = ce(start_logits.float(), starts.to(device)) + ce(
                end_logits.float(), ends.to(device)
            )
            loss = loss + args.span_weight * span_loss / 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        pairs_seen += len(labels)
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        trained_s = time.perf_counter() - started
        if step % 25 == 0:
            rate = (pairs_seen - logged[0]) / max(trained_s - logged[1], 1e-9)
            logged = (pairs_seen, trained_s)
            log.info(
                "step %d/%d  loss %.4f  lr %.2e  %.1f pairs/s  %.1f min",
                step,
                args.steps,
                loss_avg,
                sched.get_last_lr()[0],
                rate,
                trained_s / 60,
            )
        done = step >= args.steps
        if trained_s / 60 >= args.minutes:
            done, stop_reason = True, "minutes"
        if done or trained_s - last_ckpt >= args.checkpoint_minutes * 60:
            last_ckpt = trained_s
            torch.save(
                {
                    "model": model.state_dict(),
                    "opt": opt.state_dict(),
                    "sched": sched.state_dict(),
                    "step": step,
                    "trained_s": trained_s,
                    "torch_rng": torch.get_rng_state(),
                },
                args.work / "state.tmp",
            )
            (args.work / "state.tmp").replace(state_path)
            model.eval()
            info = {**meta, "trained_steps": step, "trained_minutes": round(trained_s / 60, 1)}
            export(model, tokenizer, config, args.work / f"ckpt-{round(trained_s / 60):03d}", info)
            model.train()
            log.info("checkpoint at step %d (%.1f min)", step, trained_s / 60)
        if done:
            break
    model.eval()
    info = {
        **meta,
        "trained_steps": step,
        "trained_minutes": round(trained_s / 60, 1),
        "stopped_by": stop_reason,
    }
    export(model, tokenizer, config, args.work / "final", info)
    export(model, tokenizer, config, args.out, info, onnx=True)
    log.info("exported to %s after %d steps, %.1f min", args.out, step, trained_s / 60)


if __name__ == "__main__":
    main()
