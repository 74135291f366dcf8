"""Citations: ``[n]`` markers on answer sentences, the check that a generated sentence says only
what the evidence it cites says, and the citation objects of the response.
"""

from __future__ import annotations

import re

from ..errors import ServiceUnavailable
from ..schemas import Citation, RelatedPassage, ShortAnswer
from ..storage.protocols import DocumentStore
from ..text.chunking import split_sentences
from ..text.grounding import Terms, check_support, strip_markers
from .evidence import Evidence

_CONNECTIVE_RE = re.compile(
    r"^(however|meanwhile|moreover|furthermore|in addition|additionally|still|but|and|also|"
    r"nevertheless|nonetheless|instead|indeed)\b,?\s+",
    re.IGNORECASE,
)


def _with_marker(sentence: str, marker: str) -> str:
    """Put ``[n]`` before the sentence's final period: "... Syria [1]." """
    sentence = sentence.rstrip()
    if sentence.endswith((".", "!", "?")):
        return f"{sentence[:-1].rstrip()} {marker}{sentence[-1]}"
    return f"{sentence} {marker}"


def _trim(quote: str) -> str:
    """A quoted sentence as an answer: without a leading connective ("However, ...")."""
    trimmed = _CONNECTIVE_RE.sub("", quote, count=1)
    return trimmed[:1].upper() + trimmed[1:] if trimmed else quote


def cite(
    question: str, text: str, sources: list[Evidence], floor: float
) -> tuple[str, list[tuple[int, Evidence]]] | str:
    """Attach verified citations to each generated sentence, or say why it can't be done.

    Only sources scoring at least ``floor`` may support the answer: a small model readily copies
    a true but beside-the-point sentence. Numbering follows ``sources`` (as in the prompt).
    """
    numbered = [(i, e) for i, e in enumerate(sources, start=1) if e.score >= floor]
    out: list[str] = []
    cited: dict[int, Evidence] = {}
    spans = split_sentences(text)
    if not spans:
        return "the generator returned no text"
    for span in spans:
        sentence, markers = strip_markers(text[span.start : span.end])
        if not sentence:
            continue
        candidates = [(i, e) for i, e in numbered if i in markers] + [
            (i, e) for i, e in numbered if i not in markers
        ]
        support = None
        for i, e in candidates:
            result = check_support(sentence, [e.quote], question)
            if result.ok:
                support = [(i, e)]
                break
        if support is None:
            result = check_support(sentence, [e.quote for _, e in numbered], question)
            if not result.ok:
                return result.reason or "unsupported"
            said = Terms.of(sentence)
            support = [
                (i, e) for i, e in numbered if said.content & Terms.of(e.quote).vocabulary
            ] or numbered[:1]
        cited.update(support)
        marker = "".join(f"[{i}]" for i, _ in support)
        out.append(_with_marker(sentence[:1].upper() + sentence[1:], marker))
    if not cited:
        return "the generator returned no text"
    return " ".join(out), sorted(cited.items())


def citations(cited: list[tuple[int, Evidence]]) -> list[Citation]:
    """The response's citations, numbered as the answer's ``[n]`` markers."""
    return [
        Citation(
            id=i,
            doc_id=e.doc_id,
            title=e.title,
            url=e.url,
            start=e.start,
            end=e.end,
            quote=e.quote,
            score=round(e.score, 4),
            published_at=e.published_at,
            source=e.source,
        )
        for i, e in cited
    ]


def short_answer(cited: list[tuple[int, Evidence]], best: Evidence | None) -> ShortAnswer | None:
    """The reader's short answer inside the best sentence, when that sentence is cited."""
    short = None
    for i, e in cited:
        if e is best and e.span is not None:
            a, b = e.span
            short = ShortAnswer(
                text=e.quote[a:b],
                citation=i,
                doc_id=e.doc_id,
                start=e.start + a,
                end=e.start + b,
            )
    return short


def related(evidence: list[Evidence]) -> list[RelatedPassage]:
    """The best few passages, shown beside an abstention."""
    return [
        RelatedPassage(
            doc_id=e.doc_id,
            title=e.title,
            start=e.start,
            end=e.end,
            quote=e.quote,
            score=round(e.score, 4),
            published_at=e.published_at,
            source=e.source,
        )
        for e in evidence[:3]
    ]


def check_quotes(store: DocumentStore, citations: list[Citation]) -> None:
    """Refuse to return a quote that is not exactly ``document_text[start:end]``."""
    docs = store.get_documents(sorted({c.doc_id for c in citations}))
    for c in citations:
        doc = docs.get(c.doc_id)
        if doc is None or doc.text[c.start : c.end] != c.quote:
            # A concurrent update replaced the document between retrieval and now.
            raise ServiceUnavailable(f"document {c.doc_id!r} changed while answering; please retry")
