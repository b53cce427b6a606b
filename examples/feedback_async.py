"""User feedback tied to a response's request id, async (seed "User Feedback Collection")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient
from ailib.telemetry import (
    ChoiceSelectionFeedback,
    InMemoryFeedbackSink,
    RatingFeedback,
    ThumbsFeedback,
    report_feedback,
    set_feedback_sink,
)

provider_or_mock("openai")


async def main() -> None:
    sink = InMemoryFeedbackSink(max_events=1000)
    set_feedback_sink(sink)

    async with await AsyncAiClient.create("openai/gpt-4o") as client:
        response = await client.chat().user("Suggest a name for a cat").execute()
    request_id = response.request_id or "req-123"
    print(f"answer: {response.content} (request {request_id})")

    await report_feedback(
        RatingFeedback(request_id=request_id, rating=5, category="helpfulness", comment="Great!")
    )
    await report_feedback(ThumbsFeedback(request_id=request_id, is_positive=True))
    await report_feedback(
        ChoiceSelectionFeedback(
            request_id="req-789",
            chosen_index=0,
            rejected_indices=[1, 2],
            latency_to_select_ms=1500.0,
        )
    )

    print(f"feedback events: {len(sink.get_events())}")
    for event in sink.get_events_by_request(request_id):
        print(f"  {type(event).__name__} for {event.request_id}")


asyncio.run(main())
