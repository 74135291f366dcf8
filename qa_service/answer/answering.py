"""Grounded answers: evidence sentences, an abstention gate, then extractive or verified text.

1. Retrieve chunks (hybrid), split them into sentences with document offsets (``evidence.py``).
2. Score each sentence with the reader (``reader.py``): the probability that it answers the
   question, and the short answer inside it. Without a reader (``QA_READER=none``): cosine to
   the question + IDF-weighted overlap of the question's words.
3. Gate (``gate.py``): answer only when the best sentence's reader score reaches the threshold
   calibrated on SQuAD 2.0 dev by ``scripts/eval/qa.py`` (without a reader: similarity and word
   coverage).
4. Time (``figures.py``): a latest question leads with the story's newest article; a figure a
   newer article changed is quoted as an update ("[1] That is up from 45 reported on ... [2].").
5. Extractive: the best sentence(s) with ``[n]`` markers. Generative: the generator phrases an
   answer from the numbered evidence the reader accepts (``prompts.py``); every sentence is
   checked against what it cites (``citing.py``, ``grounding.check_support``: its numbers and
   names must be there) and anything unsupported falls back to the extractive answer. ``auto``
   generates only with an instruction-tuned (chat) model: the default base model answers worse
   than extraction.

The model never decides whether to answer, what is cited, or the answer's format; sentences of
articles that address a model ("ignore previous instructions") never reach the prompt.
"""

from __future__ import annotations

import collections.abc
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from ..config import Settings
from ..errors import GeneratorUnavailable, Overloaded
from ..models.embedding import Embedder
from ..models.generation import Generator
from ..models.reader import Reader
from ..schemas import AskResponse, ModelInfo
from ..storage.protocols import DocumentStore, Searcher
from ..storage.types import Filters
from ..text.answer_types import expected_type
from ..text.grounding import check_claims
from ..text.recency import asks_latest
from . import citing, figures
from .citing import _trim, _with_marker
from .evidence import Evidence, Question, candidates, mark_names, read_sentences
from .figures import StoryLookup, Update
from .gate import Gate, decide
from .lru import LRUCache
from .options import AskOptions
from .prompts import build_prompt

log = logging.getLogger(__name__)

NOT_IN_ARTICLES = "The ingested articles do not answer this question."
NO_DOCUMENTS = (
    "There are no articles to search yet. Add some with POST /documents or `qa-service ingest`."
)

Event = tuple[Literal["delta", "reset"], str]


@dataclass(slots=True)
class Draft:
    """An answer in the making, filled in while its events are produced."""

    evidence: list[Evidence] = field(default_factory=list)
    gate: Gate | None = None
    #: Sentences of the story older than the lead of a latest question: never quoted beside it.
    superseded: list[Evidence] = field(default_factory=list)
    answer: str = ""
    cited: list[tuple[int, Evidence]] = field(default_factory=list)
    grounding: Literal["generated", "extractive", "none"] = "none"
    fallback_reason: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def quotable(self) -> list[Evidence]:
        """The evidence an answer may quote: without the sentences its lead supersedes."""
        old = {id(e) for e in self.superseded}
        return [e for e in self.evidence if id(e) not in old]


@dataclass(frozen=True, slots=True)
class Answered:
    """The last item of an answer's events: the response, and the evidence and gate behind it
    (for ``scripts/eval/qa.py``; not part of the API)."""

    response: AskResponse
    evidence: list[Evidence]
    gate: Gate | None


#: An answer's events, then its ``Answered``; ``close()`` stops the answer (and its generator).
AnswerEvents: TypeAlias = collections.abc.Generator[Event | Answered, None, None]


def answered(events: Iterator[Event | Answered]) -> Answered:
    """The ``Answered`` that ends an answer's events, read to their end."""
    last = None
    for item in events:
        last = item
    if not isinstance(last, Answered):
        raise AssertionError("an answer's events end with an Answered")
    return last


class Answerer:
    """Answers questions from what ``searcher`` finds. Thread-safe (stateless per call)."""

    #: Weight of the IDF-weighted word overlap next to the cosine when ranking sentences.
    LEXICAL_WEIGHT = 0.75
    #: Sentences embedded per question (the best by word overlap and chunk rank).
    CANDIDATES = 10
    #: Evidence sentences shown to the generator (prompt length is most of its latency on CPU).
    PROMPT_SOURCES = 3
    #: A generated answer may only cite sentences scoring at least this share of the best.
    RELEVANCE_RATIO = 0.9
    #: Sentence vectors kept in memory.
    CACHE_SIZE = 4096

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: DocumentStore,
        searcher: Searcher,
        generator: Generator | None,
        reader: Reader | None = None,
        *,
        stories: StoryLookup | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.searcher = searcher
        self.generator = generator
        self.reader = reader
        #: Which story each article belongs to; without it, a document is its own story.
        self.stories = stories
        #: The reader score an answer needs (the setting, else the model's calibrated value).
        self.threshold = (
            settings.reader_threshold
            if settings.reader_threshold is not None
            else (reader.threshold if reader is not None and reader.threshold is not None else 0.5)
        )
        self._cache: LRUCache[str, npt.NDArray[np.float32]] = LRUCache(self.CACHE_SIZE)

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo(
            embedding=self.embedder.name,
            generator=self.generator.name if self.generator else None,
            reader=self.reader.name if self.reader else None,
            auto_mode="generative" if self.generates_in_auto else "extractive",
        )

    @property
    def generates_in_auto(self) -> bool:
        """``auto`` phrases answers only with an instruction-tuned (chat) generator: the default
        base model answered worse than extraction on SQuAD 2.0 dev (see the README)."""
        return self.generator is not None and self.generator.is_chat

    # --- 1-2: evidence ------------------------------------------------------------------------
    def gather(
        self,
        question: Question,
        top_k: int,
        filters: Filters | None,
        context: str | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[Evidence]:
        """Candidate sentences from the top chunks, ranked by score (best first).

        ``context`` (the previous question of a conversation) joins the retrieval query, so a
        follow-up stays with the same story. Only the ``CANDIDATES`` sentences with the best
        word overlap (ties broken by their chunk's rank) are embedded: on SQuAD dev this loses
        no correct evidence and keeps an answer within the latency budget on a CPU.
        """
        text = question.text
        if context:
            # A follow-up: retrieve with the earlier question too, score with this one.
            query = f"{context} {text}"
            qvec, cvec = self.embedder.embed([text, query])
            hits = self.searcher.search(query, cvec, top_k, filters)
        else:
            qvec = self.embedder.embed([text])[0]
            hits = self.searcher.search(text, qvec, top_k, filters)
        ranked = candidates(question.terms, hits, question.idf)
        mark_names(text, question.terms, ranked)
        if self.reader is not None:
            wanted = expected_type(text) if self.settings.answer_types else None
            evidence = read_sentences(
                self.reader,
                text,
                ranked[: self.settings.reader_candidates],
                timings,
                wanted,
                question.terms,
            )
            # the best sentence's cosine, for the gate's topicality check (the gate reads no
            # other: embedding the best three cost a fifth of an answer's time)
            if evidence:
                (vec,) = self._sentence_vectors([evidence[0].quote])
                evidence[0].dense = float(vec @ qvec)
            return evidence
        evidence = ranked[: self.CANDIDATES]
        if not evidence:
            return []
        for e, vec in zip(
            evidence, self._sentence_vectors([e.quote for e in evidence]), strict=True
        ):
            e.dense = float(vec @ qvec)
            e.score = e.dense + self.LEXICAL_WEIGHT * e.lexical
        evidence.sort(key=lambda e: -e.score)
        return evidence

    def _sentence_vectors(self, sentences: list[str]) -> list[npt.NDArray[np.float32]]:
        """Embeddings of sentences, through a small LRU cache (a sentence never changes)."""
        cached = self._cache.get_many(sentences)
        missing = [s for s in dict.fromkeys(sentences) if s not in cached]
        if missing:
            fresh = dict(zip(missing, self.embedder.embed(missing), strict=True))
            cached.update(fresh)
            self._cache.update(fresh)
        return [cached[s] for s in sentences]

    # --- 3: the gate --------------------------------------------------------------------------
    def gate(self, question: Question, evidence: list[Evidence]) -> Gate:
        """Answer only when the evidence answers the question (``gate.decide``)."""
        threshold = self.threshold if self.reader is not None else None
        return decide(question, evidence, self.settings, threshold)

    # --- 4: time ------------------------------------------------------------------------------
    def time_aware(self, question: str, draft: Draft) -> Update | None:
        """Lead a latest question with the newest article of the story; the update of a figure a
        newer article of the story changed, which then leads ``draft.evidence`` (``figures``)."""
        best, latest = draft.evidence[0], asks_latest(question)
        if not latest and figures.lead_figure(question, best) is None:
            return None  # nothing to update: no story lookup
        floor = self.threshold if self.reader is not None else self.RELEVANCE_RATIO * best.score
        story = figures.same_story(draft.evidence, self.stories)
        if len(story) < 2:
            return None
        if latest:
            draft.evidence, draft.superseded = figures.newest_first(draft.evidence, story, floor)
            story = figures.led_by(story, draft.evidence[0])
        update = figures.find_update(question, story, floor)
        if update is not None:
            draft.evidence = figures.led_by(draft.evidence, update.newest)
        return update

    # --- 5a: extractive -----------------------------------------------------------------------
    def extractive(self, evidence: list[Evidence]) -> tuple[str, list[tuple[int, Evidence]]]:
        """The best sentence, plus the runner-up when it is nearly as good, not redundant, holds
        the kind of answer asked for and comes from a document that names what the question
        names (not "12 sex offences" of another trial for "How many charges was X found guilty
        on?")."""
        picked = [evidence[0]]
        ratio = self.settings.reader_runner_up_ratio if self.reader else 0.95
        floor = max(ratio * evidence[0].score, self.threshold if self.reader else -1.0)
        for e in evidence[1:3]:
            if e.score >= floor and e.quote != evidence[0].quote and e.fits and not e.unknown:
                picked.append(e)
                break
        cited = list(enumerate(picked, start=1))
        answer = " ".join(_with_marker(_trim(e.quote), f"[{i}]") for i, e in cited)
        return answer, cited

    def _fall_back(
        self, draft: Draft, reason: str | None, *, withdraw: bool = False
    ) -> Iterator[Event]:
        """Answer extractively instead (no generator, or it was busy, down or not verified),
        first withdrawing what was streamed when ``withdraw``; ``reason`` is reported."""
        draft.fallback_reason = reason
        if withdraw and reason is not None:
            yield "reset", reason
        draft.answer, draft.cited = self.extractive(draft.quotable)
        draft.grounding = "extractive"
        yield "delta", draft.answer

    # --- 5b: generative -----------------------------------------------------------------------
    def _sources(self, evidence: list[Evidence]) -> list[Evidence]:
        top = evidence[: self.PROMPT_SOURCES]
        if self.reader is None:
            return top
        # only sentences the reader accepts as answers: a small model readily merges a true
        # but beside-the-point sentence into its answer
        return [e for e in top if e.score >= self.threshold] or top[:1]

    def _cite(
        self, question: str, text: str, sources: list[Evidence]
    ) -> tuple[str, list[tuple[int, Evidence]]] | str:
        """Attach verified citations to each generated sentence, or say why it can't be done."""
        # Only evidence nearly as relevant as the best (with a reader: evidence the reader
        # accepts as an answer) may support the answer.
        floor = (
            self.threshold
            if self.reader is not None
            else self.RELEVANCE_RATIO * max(e.score for e in sources)
        )
        return citing.cite(question, text, sources, floor)

    def _generate(
        self,
        question: str,
        draft: Draft,
        style: str | None = None,
        max_new_tokens: int | None = None,
    ) -> Iterator[Event]:
        """Stream the generator's answer word by word, releasing only words whose numbers and
        names are in the sources; verify the whole answer at the end."""
        assert self.generator is not None
        sources = self._sources(draft.quotable)
        prompt, stops, budget = build_prompt(self.generator, question, sources, style)
        budget = min(budget, max_new_tokens or budget)
        quotes = [e.quote for e in sources]
        raw = ""
        released = 0
        failure: str | None = None
        unavailable: str | None = None
        t0 = time.perf_counter()
        pieces = self.generator.stream(prompt, max_new_tokens=budget, stop=stops)
        try:
            for piece in pieces:
                raw += piece
                text = raw.lstrip()
                done = False
                if not self.generator.is_chat and "\n" in text:
                    text, done = text.split("\n", 1)[0], True
                upto = len(text) if done else max(text.rfind(" "), 0)
                if upto > released:
                    claims = check_claims(text[:upto], quotes, question)
                    if not claims.ok:
                        failure = claims.reason
                        break
                    new = text[released:upto]
                    if released == 0:
                        new = new[:1].upper() + new[1:]
                    yield "delta", new
                    released = upto
                if done:
                    break
        except GeneratorUnavailable as e:
            # a generator server that is down or too slow costs the phrasing, not the answer
            unavailable = e.detail
        finally:
            # stop the model now (and free its slot) when we stop reading early or are closed
            pieces.close()
        draft.timings["generate"] = (time.perf_counter() - t0) * 1000
        text = raw.lstrip()
        if not self.generator.is_chat:
            text = text.split("\n", 1)[0]
        text = text.strip()
        if unavailable is not None:
            reason = f"generator unavailable: {unavailable}"
            log.warning("%s", reason)
            yield from self._fall_back(draft, reason, withdraw=released > 0)
            return
        if failure is None:
            result = self._cite(question, text, sources)
            if isinstance(result, str):
                failure = result
            else:
                draft.answer, draft.cited = result
                draft.grounding = "generated"
                streamed = text[:1].upper() + text[1:released] if released else ""
                if draft.answer.startswith(streamed):
                    if len(draft.answer) > len(streamed):
                        yield "delta", draft.answer[len(streamed) :]
                else:
                    yield "reset", "the verified answer differs from the streamed text"
                    yield "delta", draft.answer
                return
        reason = f"generated answer rejected: {failure}"
        log.info("%s (%r)", reason, text[:200])
        yield from self._fall_back(draft, reason, withdraw=released > 0)

    # --- the whole flow -----------------------------------------------------------------------
    def run(self, question: str, options: AskOptions) -> AnswerEvents:
        """Yield answer events (``delta``, ``reset``), then the ``Answered``; closing it early
        stops the generator at once."""
        draft = Draft()
        yield from self._events(Question.of(question, self.searcher.idf), draft, options)
        yield Answered(self.response(draft), draft.evidence, draft.gate)

    def _events(self, question: Question, draft: Draft, options: AskOptions) -> Iterator[Event]:
        """Yield answer events; ``draft`` holds the finished answer when the iterator ends."""
        mode = options.mode
        t0 = time.perf_counter()
        draft.evidence = self.gather(
            question, options.top_k, options.filters, options.context, draft.timings
        )
        draft.timings["retrieve"] = (time.perf_counter() - t0) * 1000
        draft.timings["generate"] = 0.0
        if not draft.evidence:
            empty = self.store.count_chunks() == 0
            draft.gate = Gate(False, "no documents" if empty else "no matching passages")
            draft.answer = NO_DOCUMENTS if empty else NOT_IN_ARTICLES
        else:
            draft.gate = self.gate(question, draft.evidence)
            generates = mode == "generative" or (mode == "auto" and self.generates_in_auto)
            if not draft.gate.answerable:
                draft.answer = NOT_IN_ARTICLES
            elif (update := self.time_aware(question.text, draft)) is not None:
                draft.answer, draft.cited = figures.compose(update)
                draft.grounding = "extractive"
                draft.fallback_reason = update.reason if generates else None
                yield "delta", draft.answer
            elif self.generator is not None and generates:
                try:
                    yield from self._generate(
                        question.text, draft, options.style, options.max_new_tokens
                    )
                except Overloaded as e:
                    if mode == "generative":
                        raise
                    # auto: a busy generator costs the phrasing, not the answer
                    yield from self._fall_back(draft, f"generator busy: {e.detail}")
            else:
                no_generator = "no generator is loaded (QA_GENERATOR=none)"
                yield from self._fall_back(draft, no_generator if mode == "generative" else None)
        if not draft.cited:
            yield "delta", draft.answer
        draft.timings["total"] = (time.perf_counter() - t0) * 1000

    def response(self, draft: Draft) -> AskResponse:
        """The final response; every quote is re-checked against the stored text."""
        citations = citing.citations(draft.cited)
        citing.check_quotes(self.store, citations)
        best = draft.evidence[0] if draft.evidence else None
        return AskResponse(
            answer=draft.answer,
            answerable=bool(draft.cited),
            citations=citations,
            short_answer=citing.short_answer(draft.cited, best),
            grounding=draft.grounding if draft.cited else "none",
            fallback_reason=draft.fallback_reason,
            related=[] if draft.cited else citing.related(draft.evidence),
            model=self.model_info,
            timings_ms={k: round(v, 1) for k, v in draft.timings.items()},
        )
