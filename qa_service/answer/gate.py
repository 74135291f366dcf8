"""The abstention gate: whether the best evidence answers the question at all.

The model never makes this decision: it is a threshold on the reader's score (or, without a
reader, on similarity and word coverage), calibrated on SQuAD 2.0 dev by ``scripts/eval/qa.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import Settings
from ..text.grounding import Terms, overlap
from .evidence import Evidence, Question


@dataclass(slots=True)
class Gate:
    """The abstention decision and the numbers behind it (reported by the eval script)."""

    answerable: bool
    reason: str
    best_dense: float = 0.0
    best_lexical: float = 0.0
    #: The reader's score for the best sentence (None without a reader).
    best_reader: float | None = None
    context_coverage: float = 0.0
    unknown_names: list[str] = field(default_factory=list)


def decide(
    question: Question,
    evidence: list[Evidence],
    settings: Settings,
    reader_threshold: float | None,
) -> Gate:
    """Answer only when the evidence answers the question.

    ``question.idf`` weighs the question's words; ``reader_threshold`` is the reader score an
    answer needs, None when there is no reader.

    With a reader: the best sentence's reader score reaches ``reader_threshold`` (or the higher
    ``reader_threshold_unknown_name`` when the question names something its passage never
    mentions, in any of its forms: ``text.variants``), its cosine to the question
    ``reader_min_similarity`` (off-topic questions), and it holds the kind of answer the
    question asks for (``Evidence.fits``: a name, a quantity, a time, a place). Without one,
    three checks, all on numbers calibrated on SQuAD 2.0 dev (``scripts/eval/qa.py``):

    * the best sentence's cosine to the question reaches ``answer_min_similarity``
      (off-topic questions fail here);
    * its passage covers ``answer_min_coverage`` of the question's IDF-weighted words;
    * a name the question mentions that the best passage does not contain demands the higher
      ``answer_min_similarity_unknown_name`` ("Who founded Microsoft?" against an article
      that only mentions Microsoft's CEO passes the first check, not this one).
    """
    if not evidence:
        return Gate(False, "no evidence")
    best = evidence[0]
    passage = Terms.of(f"{best.title or ''}\n{best.chunk_text}")
    coverage = overlap(question.terms, passage, question.idf)
    # in any form: "UN" / "U.N." / "United Nations", "Russia" / "Russian" (evidence.mark_names)
    unknown = best.unknown
    gate = Gate(
        answerable=False,
        reason="",
        best_dense=best.dense,
        best_lexical=best.lexical,
        context_coverage=coverage,
        unknown_names=unknown,
    )
    s = settings
    if reader_threshold is not None:
        gate.best_reader = best.score
        if best.score < reader_threshold:
            gate.reason = f"the reader's best score {best.score:.2f} < {reader_threshold:.2f}"
        elif not best.fits:
            gate.reason = "no evidence sentence holds the kind of answer the question asks for"
        elif best.dense < s.reader_min_similarity:
            gate.reason = (
                f"the best sentence's similarity {best.dense:.2f} < {s.reader_min_similarity}"
            )
        elif unknown and best.score < s.reader_threshold_unknown_name:
            gate.reason = (
                f"no passage mentions {', '.join(unknown)} and the reader's score "
                f"{best.score:.2f} < {s.reader_threshold_unknown_name}"
            )
        else:
            gate.answerable = True
            gate.reason = "ok"
        return gate
    if best.dense < s.answer_min_similarity:
        gate.reason = f"best evidence similarity {best.dense:.2f} < {s.answer_min_similarity}"
    elif coverage < s.answer_min_coverage:
        gate.reason = f"evidence covers {coverage:.0%} of the question's terms"
    elif unknown and best.dense < s.answer_min_similarity_unknown_name:
        gate.reason = f"no passage mentions {', '.join(unknown)}"
    else:
        gate.answerable = True
        gate.reason = "ok"
    return gate
