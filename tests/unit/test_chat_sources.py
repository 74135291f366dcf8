"""The plain-text ``Sources:`` list of a chat completion (``api/chat.py``): outlet and date when
the article has them, the old line when it has neither; ``as_of`` as an extra request field."""

from __future__ import annotations

from datetime import UTC, datetime

from qa_service.api.chat import ChatRequest, sources_text
from qa_service.schemas import Citation


def citation(**kw) -> Citation:
    fields = {"id": 1, "doc_id": "d1", "title": "Floods kill 45", "url": "https://x.test/1",
              "start": 0, "end": 15, "quote": "45 people died.", "score": 0.9}  # fmt: skip
    return Citation(**(fields | kw))


def test_sources_show_the_outlet_and_the_day_when_known():
    dated = citation(published_at="2024-12-02T08:00:00+00:00", source="Tarsin Times")
    assert sources_text([dated]).splitlines()[-1] == (
        '[1] Floods kill 45 (https://x.test/1), Tarsin Times, 2 December 2024: "45 people died."'
    )
    assert sources_text([citation(published_at="2024-12-02T08:00:00+00:00")]).endswith(
        '(https://x.test/1), 2 December 2024: "45 people died."'
    )
    assert sources_text([citation()]).splitlines()[-1] == (
        '[1] Floods kill 45 (https://x.test/1): "45 people died."'
    )


def test_as_of_is_an_extra_field_of_the_chat_request():
    req = ChatRequest.model_validate(
        {
            "model": "qa-service",
            "messages": [{"role": "user", "content": "Toll?"}],
            "as_of": "2024-12-02T20:00:00+02:00",
        }
    )
    assert req.as_of == datetime(2024, 12, 2, 18, 0, tzinfo=UTC)
    assert (
        ChatRequest(model="qa-service", messages=[{"role": "user", "content": "x"}]).as_of is None
    )
