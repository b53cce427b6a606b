"""User feedback: the seed example, sinks (memory, JSONL, callback, several), validation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ailib.errors import ConfigurationError, InvalidRequestError
from ailib.telemetry import (
    CallbackFeedbackSink,
    ChoiceSelectionFeedback,
    FeedbackEvent,
    InMemoryFeedbackSink,
    JsonlFeedbackSink,
    MultiFeedbackSink,
    RatingFeedback,
    ThumbsFeedback,
    get_feedback_sink,
    report_feedback,
    report_feedback_sync,
    set_feedback_sink,
)


@pytest.fixture(autouse=True)
def restore_sink() -> Iterator[None]:
    before = get_feedback_sink()
    yield
    set_feedback_sink(before)


async def test_seed_readme_feedback_example_runs_as_written() -> None:
    # Set up feedback collection
    sink = InMemoryFeedbackSink(max_events=1000)
    set_feedback_sink(sink)

    # Report user feedback
    await report_feedback(
        RatingFeedback(
            request_id="req-123", rating=5, category="helpfulness", comment="Great response!"
        )
    )

    await report_feedback(ThumbsFeedback(request_id="req-456", is_positive=True))

    # Report multi-candidate selection (for A/B testing)
    await report_feedback(
        ChoiceSelectionFeedback(
            request_id="req-789",
            chosen_index=0,
            rejected_indices=[1, 2],
            latency_to_select_ms=1500.0,
        )
    )

    # Retrieve feedback
    all_feedback = sink.get_events()
    request_feedback = sink.get_events_by_request("req-123")
    assert [e.kind for e in all_feedback] == ["rating", "thumbs", "choice_selection"]
    (rating,) = request_feedback
    assert isinstance(rating, RatingFeedback) and rating.rating == 5
    assert rating.comment == "Great response!" and rating.timestamp > 0


def test_sync_code_reports_with_report_feedback_sync() -> None:
    sink = InMemoryFeedbackSink(max_events=2)
    set_feedback_sink(sink)
    for i in range(3):
        report_feedback_sync(ThumbsFeedback(request_id=f"r{i}", is_positive=i % 2 == 0))
    assert [e.request_id for e in sink.get_events()] == ["r1", "r2"]  # bounded: oldest dropped
    assert len(sink) == 2
    sink.clear()
    assert sink.get_events() == []


def test_jsonl_sink_appends_one_object_a_line(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    sink = JsonlFeedbackSink(path)
    set_feedback_sink(sink)
    report_feedback_sync(RatingFeedback(request_id="a", rating=4, user_id="u1"))
    report_feedback_sync(ChoiceSelectionFeedback(request_id="b", chosen_index=1))
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    first, second = sink.read()
    assert first["type"] == "rating" and first["rating"] == 4 and first["user_id"] == "u1"
    assert second["type"] == "choice_selection" and second["rejected_indices"] == []
    with pytest.raises(ConfigurationError, match="file path"):
        JsonlFeedbackSink(tmp_path)


async def test_callback_sinks_sync_and_async() -> None:
    seen: list[str] = []

    async def remember(event: FeedbackEvent) -> None:
        seen.append("async:" + event.request_id)

    set_feedback_sink(CallbackFeedbackSink(lambda e: seen.append("sync:" + e.request_id)))
    await report_feedback(ThumbsFeedback(request_id="x", is_positive=False))
    report_feedback_sync(ThumbsFeedback(request_id="y", is_positive=True))
    set_feedback_sink(CallbackFeedbackSink(remember))
    await report_feedback(ThumbsFeedback(request_id="z", is_positive=True))
    with pytest.raises(ConfigurationError, match="await report_feedback"):
        report_feedback_sync(ThumbsFeedback(request_id="w", is_positive=True))
    assert seen == ["sync:x", "sync:y", "async:z"]


async def test_multi_sink_sends_to_every_sink() -> None:
    memory = InMemoryFeedbackSink()
    seen: list[str] = []

    async def remember(event: FeedbackEvent) -> None:
        seen.append(event.request_id)

    set_feedback_sink(MultiFeedbackSink(memory, CallbackFeedbackSink(remember)))
    await report_feedback(RatingFeedback(request_id="m", rating=1))
    assert seen == ["m"] and memory.get_events_by_request("m")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RatingFeedback(request_id="", rating=5), "request_id"),
        (lambda: RatingFeedback(request_id=None, rating=5), "request_id"),
        (lambda: RatingFeedback(request_id="r", rating=6), "rating must be an int from 1 to 5"),
        (lambda: RatingFeedback(request_id="r", rating=True), "rating must be"),
        (lambda: RatingFeedback(request_id="r", rating=8, max_rating=10), None),
        (lambda: ThumbsFeedback(request_id="r", is_positive="yes"), "is_positive"),
        (lambda: ChoiceSelectionFeedback(request_id="r", chosen_index=-1), "chosen_index"),
        (
            lambda: ChoiceSelectionFeedback(request_id="r", chosen_index=1, rejected_indices=[1]),
            "both chosen and rejected",
        ),
        (
            lambda: ChoiceSelectionFeedback(
                request_id="r", chosen_index=0, latency_to_select_ms=-1
            ),
            "latency_to_select_ms",
        ),
        (lambda: ThumbsFeedback(request_id="r" * 600, is_positive=True), "longer than"),
        (lambda: ThumbsFeedback(request_id="r", is_positive=True, metadata=[]), "metadata"),
    ],
)
def test_bad_feedback_gets_a_typed_error(make: object, message: str | None) -> None:
    if message is None:
        make()  # type: ignore[operator]
        return
    with pytest.raises(InvalidRequestError, match=message):
        make()  # type: ignore[operator]


def test_bad_sinks_and_events_get_a_typed_error() -> None:
    with pytest.raises(ConfigurationError, match="emit"):
        set_feedback_sink(object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_events"):
        InMemoryFeedbackSink(max_events=0)
    with pytest.raises(ConfigurationError, match="function"):
        CallbackFeedbackSink("not callable")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="expected a FeedbackEvent"):
        report_feedback_sync({"request_id": "r"})  # type: ignore[arg-type]
