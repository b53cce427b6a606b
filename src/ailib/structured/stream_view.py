"""StructuredStreamView: the events of a structured-output stream, as the caller sees them.

Content deltas carry ``partial``, the JSON value read so far. Where the provider answers
through a forced tool (Anthropic, Bedrock), that tool's argument deltas become content
deltas too (with ``partial``), its start and end events are dropped and the stream's
``tool_calls`` finish becomes ``stop``: the stream looks the same on every provider.

Example::

    view = StructuredStreamView("Weather")
    events = view(assembler_events)  # rewritten list
"""

from __future__ import annotations

import attrs

from ailib.structured.partial_json import PartialJSONReader
from ailib.types.events import ContentDelta, StreamEnd, StreamEvent

__all__ = ["StructuredStreamView"]


class StructuredStreamView:
    """Rewrites one stream's events (candidate 0); called with each batch, in order."""

    def __init__(self, tool_name: str) -> None:
        self.tool_name = tool_name
        self.reader = PartialJSONReader()
        self.tool_index: int | None = None  # the forced tool's call, once it started
        self.other_tools = False

    def __call__(self, events: list[StreamEvent]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for event in events:
            rewritten = self._one(event)
            if rewritten is not None:
                out.append(rewritten)
        return out

    def _one(self, event: StreamEvent) -> StreamEvent | None:
        kind = event.kind
        if getattr(event, "candidate", 0) != 0:
            return event
        if kind == "content_delta":
            delta = event.as_content_delta
            if self.tool_index is not None:  # text beside the forced tool: not the answer
                return delta
            self.reader.feed(delta.content)
            return attrs.evolve(delta, partial=self.reader.value())
        if kind == "tool_call_started":
            started = event.as_tool_call_started
            if self.tool_index is None and started.function_name == self.tool_name:
                self.tool_index = started.index
                return None
            self.other_tools = True
            return event
        if kind == "tool_call_delta":
            args = event.as_tool_call_delta
            if args.index == self.tool_index:
                return ContentDelta(args.arguments_delta, 0, partial=args.partial_arguments)
            return event
        if kind == "tool_call_ended":
            if event.as_tool_call_ended.index == self.tool_index:
                return None
            return event
        if kind == "stream_end":
            end = event.as_stream_end
            ours_only = self.tool_index is not None and not self.other_tools
            if end.finish_reason == "tool_calls" and ours_only:
                return StreamEnd("stop", end.raw_finish_reason, end.candidate)
        return event
