"""Streaming events.

Every event has ``is_<kind>`` flags and ``as_<kind>`` accessors, so a loop needs no
isinstance checks::

    for event in stream:
        if event.is_content_delta:
            print(event.as_content_delta.content, end="")
        elif event.is_tool_call_ended:
            run(event.as_tool_call_ended.tool_call)
"""

from __future__ import annotations

from typing import Any, TypeVar

import attrs

from ailib.types.response import Usage
from ailib.types.tools import ToolCall

_E = TypeVar("_E", bound="StreamEvent")


@attrs.frozen
class StreamEvent:
    """Base of all streaming events; ``candidate`` is the choice index (0 unless n > 1)."""

    kind = "event"

    def _as(self, cls: type[_E]) -> _E:
        if not isinstance(self, cls):
            raise TypeError(f"{type(self).__name__} is not a {cls.__name__}")
        return self

    @property
    def is_content_delta(self) -> bool:
        return self.kind == "content_delta"

    @property
    def is_refusal_delta(self) -> bool:
        return self.kind == "refusal_delta"

    @property
    def as_refusal_delta(self) -> RefusalDelta:
        return self._as(RefusalDelta)

    @property
    def is_audio_delta(self) -> bool:
        return self.kind == "audio_delta"

    @property
    def as_audio_delta(self) -> AudioDelta:
        return self._as(AudioDelta)

    @property
    def is_thinking_delta(self) -> bool:
        return self.kind == "thinking_delta"

    @property
    def is_tool_call_started(self) -> bool:
        return self.kind == "tool_call_started"

    @property
    def is_tool_call_delta(self) -> bool:
        return self.kind == "tool_call_delta"

    @property
    def is_tool_call_ended(self) -> bool:
        return self.kind == "tool_call_ended"

    @property
    def is_usage(self) -> bool:
        return self.kind == "usage"

    @property
    def is_stream_end(self) -> bool:
        return self.kind == "stream_end"

    @property
    def is_unknown(self) -> bool:
        return self.kind == "unknown"

    @property
    def as_content_delta(self) -> ContentDelta:
        return self._as(ContentDelta)

    @property
    def as_thinking_delta(self) -> ThinkingDelta:
        return self._as(ThinkingDelta)

    @property
    def as_tool_call_started(self) -> ToolCallStarted:
        return self._as(ToolCallStarted)

    @property
    def as_tool_call_delta(self) -> ToolCallArgumentsDelta:
        return self._as(ToolCallArgumentsDelta)

    @property
    def as_tool_call_ended(self) -> ToolCallEnded:
        return self._as(ToolCallEnded)

    @property
    def as_usage(self) -> UsageEvent:
        return self._as(UsageEvent)

    @property
    def as_stream_end(self) -> StreamEnd:
        return self._as(StreamEnd)

    @property
    def as_unknown(self) -> UnknownEvent:
        return self._as(UnknownEvent)


@attrs.frozen
class ContentDelta(StreamEvent):
    """A piece of the answer's text.

    In a structured-output stream (``.response_format(...)``) ``partial`` is the JSON
    value of the answer so far (open objects closed, a string in progress included)::

        for event in client.chat().user("Weather?").response_format(Weather).stream():
            if event.is_content_delta:
                show(event.as_content_delta.partial)  # {'city': 'Par'} ...
    """

    content: str
    candidate: int = 0
    partial: Any = attrs.field(default=None, eq=False, repr=False)
    kind = "content_delta"


@attrs.frozen
class RefusalDelta(StreamEvent):
    """Text of a refusal (OpenAI ``refusal``), kept apart from the content."""

    refusal: str
    candidate: int = 0
    kind = "refusal_delta"


@attrs.frozen
class AudioDelta(StreamEvent):
    """A piece of a spoken answer: decoded audio bytes and/or transcript text.

    The ``data`` of every AudioDelta joined in order equals ``final.audio.data``::

        with open("answer.pcm", "wb") as out:
            for event in stream:
                if event.is_audio_delta:
                    out.write(event.as_audio_delta.data)
    """

    data: bytes = attrs.field(default=b"", repr=lambda d: f"<{len(d):,} bytes>")
    transcript: str = ""
    id: str | None = None
    candidate: int = 0
    kind = "audio_delta"


@attrs.frozen
class ThinkingDelta(StreamEvent):
    thinking: str
    candidate: int = 0
    kind = "thinking_delta"


@attrs.frozen
class ToolCallStarted(StreamEvent):
    index: int
    id: str
    function_name: str
    candidate: int = 0
    kind = "tool_call_started"


@attrs.frozen
class ToolCallArgumentsDelta(StreamEvent):
    """A piece of a tool call's argument text; ``partial_arguments`` is the JSON value
    of the arguments so far (``{'city': 'Par'}``), read tolerantly as they grow."""

    index: int
    arguments_delta: str
    id: str = ""
    candidate: int = 0
    partial_arguments: Any = attrs.field(default=None, eq=False, repr=False)
    kind = "tool_call_delta"


@attrs.frozen
class ToolCallEnded(StreamEvent):
    index: int
    tool_call: ToolCall
    candidate: int = 0
    kind = "tool_call_ended"


@attrs.frozen
class UsageEvent(StreamEvent):
    usage: Usage
    kind = "usage"


@attrs.frozen
class StreamEnd(StreamEvent):
    finish_reason: str | None
    raw_finish_reason: str | None = None
    candidate: int = 0
    kind = "stream_end"


@attrs.frozen
class UnknownEvent(StreamEvent):
    """A frame no event-map rule matched; passed through untouched."""

    type: str
    data: Any = attrs.field(repr=False)
    kind = "unknown"
