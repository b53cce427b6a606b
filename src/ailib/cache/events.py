"""The stream events a response adds up to, for replaying an entry that has no events.

A streamed call's entry keeps the exact events it delivered and replays those. An entry
stored by a plain call has only the response; a streamed call that hits it gets the
events below, in the order a provider sends them: thinking, refusal, content, audio,
tool calls (started, arguments, ended), each candidate's end, then the usage.

Example::

    events = events_of(response)   # [ContentDelta("Hello!"), StreamEnd("stop"), UsageEvent(...)]
"""

from __future__ import annotations

from ailib.types.events import (
    AudioDelta,
    ContentDelta,
    RefusalDelta,
    StreamEnd,
    StreamEvent,
    ThinkingDelta,
    ToolCallArgumentsDelta,
    ToolCallEnded,
    ToolCallStarted,
    UsageEvent,
)
from ailib.types.response import Candidate, ChatResponse


def events_of(response: ChatResponse) -> list[StreamEvent]:
    """Events whose accumulation is ``response`` (one delta per part)."""
    candidates = response.candidates or [
        Candidate(
            0,
            response.content,
            response.tool_calls,
            response.finish_reason,
            response.reasoning,
            response.refusal,
        )
    ]
    out: list[StreamEvent] = []
    for cand in candidates:
        first = cand is candidates[0]
        if cand.reasoning:
            out.append(ThinkingDelta(cand.reasoning, cand.index))
        if cand.refusal:
            out.append(RefusalDelta(cand.refusal, cand.index))
        if cand.content:
            out.append(ContentDelta(cand.content, cand.index))
        if first and response.audio is not None:
            audio = response.audio
            out.append(AudioDelta(audio.data, audio.transcript, audio.id, cand.index))
        for call in cand.tool_calls:
            out.append(ToolCallStarted(call.index, call.id, call.function_name, cand.index))
            if call.raw_arguments:
                out.append(
                    ToolCallArgumentsDelta(call.index, call.raw_arguments, call.id, cand.index)
                )
            out.append(ToolCallEnded(call.index, call, cand.index))
        if cand.finish_reason is not None:
            raw = response.raw_finish_reason if first else None
            out.append(StreamEnd(cand.finish_reason, raw, cand.index))
    out.append(UsageEvent(response.usage))
    return out
