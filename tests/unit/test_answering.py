"""The answer flow (``answer/answering.py``) on a service with fake models: one way to ask, the
question's words and idf worked out once, and each fall-back to the extractive answer."""

from __future__ import annotations

import pytest

from qa_service.answer.answering import Answered, answered
from qa_service.answer.options import AskOptions
from qa_service.errors import GeneratorUnavailable, Overloaded
from qa_service.ingest.wire import FoldingSearcher
from qa_service.models.generation import CountsTokens, Placed, ReportsHealth
from qa_service.models.loading import Models
from qa_service.schemas import AskRequest, DocumentIn, SearchFilters
from qa_service.service import QAService
from tests.conftest import FakeEmbedder, ScriptedGenerator, make_settings

TEXT = (
    "Tarsin was rebuilt in 2019. "
    "The new harbour cost 40 million euros, paid by the port authority. "
    "Fishing boats returned in the spring."
)
QUESTION = "How much did the new harbour cost?"


class CountingSearcher:
    """Wraps a service's searcher and counts the calls an answer makes."""

    def __init__(self, inner: FoldingSearcher) -> None:
        self.inner = inner
        self.searches = 0
        self.idfs = 0

    def search(self, *args, **kwargs):
        self.searches += 1
        return self.inner.search(*args, **kwargs)

    def idf(self, stems):
        self.idfs += 1
        return self.inner.idf(stems)


class BusyGenerator(ScriptedGenerator):
    """A chat model (so ``auto`` generates) whose every slot is taken."""

    is_chat = True

    def apply_chat_template(self, messages):
        return "\n".join(m["content"] for m in messages)

    def stream(self, prompt, *, max_new_tokens, stop=()):
        raise Overloaded("The generator is busy; retry shortly.")
        yield  # a generator function, like every backend's


class DroppingGenerator(ScriptedGenerator):
    """Streams a verified first half, then its server goes away."""

    def stream(self, prompt, *, max_new_tokens, stop=()):
        yield "The new harbour cost "
        yield "40 million euros "
        raise GeneratorUnavailable("connection reset")


def service(tmp_path, generator=None) -> QAService:
    # extractive answers without a reader: the similarity gate decides (fake embeddings)
    settings = make_settings(
        tmp_path, reader="none", answer_min_similarity=0.0, answer_min_coverage=0.0
    )
    svc = QAService(settings, Models(embedder=FakeEmbedder(), generator=generator))
    svc.ingest([DocumentIn(id="tarsin", title="Tarsin harbour", text=TEXT)])
    return svc


def test_an_answer_reads_the_index_idf_once_and_searches_once(tmp_path):
    svc = service(tmp_path)
    counting = CountingSearcher(svc.searcher)
    svc.answerer.searcher = counting
    response = svc.ask(QUESTION, AskOptions(mode="extractive"))
    assert response.answerable and "40 million euros" in response.answer
    assert (counting.searches, counting.idfs) == (1, 1)
    svc.close()


def test_the_request_options_are_converted_once_and_filters_apply(tmp_path):
    svc = service(tmp_path)
    request = AskRequest(
        question=QUESTION, top_k=3, mode="extractive", filters=SearchFilters(doc_ids=["other"])
    )
    options = AskOptions.of(request)
    assert (options.top_k, options.mode) == (3, "extractive")
    assert options.filters is not None and options.filters.doc_ids == ("other",)
    assert not svc.ask(QUESTION, options).answerable  # nothing of "other" is stored
    assert svc.ask(QUESTION, AskOptions.of(request.model_copy(update={"filters": None})))
    svc.close()


def test_ask_and_ask_events_give_the_same_response(tmp_path):
    svc = service(tmp_path)
    options = AskOptions(mode="extractive")
    events = list(svc.ask_events(QUESTION, options))
    deltas = "".join(text for kind, text in events[:-1])  # type: ignore[misc]
    final = events[-1]
    assert isinstance(final, Answered) and final.gate is not None and final.gate.answerable
    assert deltas == final.response.answer
    plain = svc.ask(QUESTION, options)
    assert plain.model_dump(exclude={"timings_ms"}) == final.response.model_dump(
        exclude={"timings_ms"}
    )
    assert answered(svc.ask_events(QUESTION, options)).evidence[0].doc_id == "tarsin"
    svc.close()


def test_a_busy_generator_in_auto_mode_falls_back_and_in_generative_mode_raises(tmp_path):
    svc = service(tmp_path, BusyGenerator(""))
    auto = svc.ask(QUESTION, AskOptions(mode="auto"))
    assert auto.grounding == "extractive" and auto.answerable
    assert auto.fallback_reason == "generator busy: The generator is busy; retry shortly."
    with pytest.raises(Overloaded):
        svc.ask(QUESTION, AskOptions(mode="generative"))
    svc.close()


def test_a_generator_lost_mid_answer_withdraws_what_was_streamed(tmp_path):
    svc = service(tmp_path, DroppingGenerator(""))
    events = list(svc.ask_events(QUESTION, AskOptions(mode="generative")))
    kinds = [e[0] for e in events[:-1]]  # type: ignore[index]
    assert kinds[0] == "delta" and "reset" in kinds
    final = events[-1]
    assert isinstance(final, Answered)
    response = final.response
    assert response.grounding == "extractive"
    assert response.fallback_reason == "generator unavailable: connection reset"
    after_reset = "".join(t for k, t in events[kinds.index("reset") + 1 : -1])  # type: ignore[misc]
    assert after_reset == response.answer and "[1]" in response.answer
    svc.close()


def test_generative_mode_without_a_generator_says_why(tmp_path):
    svc = service(tmp_path)
    response = svc.ask(QUESTION, AskOptions(mode="generative"))
    assert response.grounding == "extractive"
    assert response.fallback_reason == "no generator is loaded (QA_GENERATOR=none)"
    assert svc.ask(QUESTION, AskOptions(mode="auto")).fallback_reason is None
    svc.close()


def test_optional_generator_features_are_checked_by_protocol(tmp_path):
    plain = ScriptedGenerator("")
    assert not isinstance(plain, CountsTokens | ReportsHealth | Placed)
    svc = service(tmp_path, plain)
    # no tokenizer of the generator's here: the embedder's counts stand in
    assert svc.count_tokens(["one two three"]) == [3]
    assert svc.status()["generator"] is None
    svc.close()
