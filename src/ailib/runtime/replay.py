"""A stream served without I/O: events to deliver as they are, and their final response.

A layer answering a stream itself (a cache hit) returns a :class:`ReplayedStream` from
``call_next``'s place instead of an opened HTTP response; the chat stream then yields
its events (plugins' event hooks see them as usual) and ends with its response instead
of decoding a body. It looks enough like a response for the stream to close it.

Example::

    async def handle(self, ctx, call_next):
        if ctx.stream and (hit := self.lookup(ctx)) is not None:
            return ReplayedStream(tuple(hit.events), hit.response)
        return await call_next(ctx)
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ailib.types.events import StreamEvent
from ailib.types.response import ChatResponse


@attrs.frozen
class ReplayedStream:
    """Events and the response they add up to, delivered by the stream without a body."""

    events: tuple[StreamEvent, ...]
    response: ChatResponse
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def close(self) -> None:
        """Nothing to release: no connection was opened."""

    async def aclose(self) -> None:
        """Nothing to release: no connection was opened."""
