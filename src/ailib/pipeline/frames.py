"""Decoder output (SSE events or JSON values) to JSON frames for the stream event map.

An SSE event's ``data`` is decoded as JSON, nested at most ``limits.max_json_depth``
deep; the manifest's ``done_signal`` (e.g. ``[DONE]``) ends the stream. NDJSON, JSON-array
and event-stream decoders already give JSON values: they pass through. ::

    reader = FrameReader({"done_signal": "[DONE]"}, limits)
    for frame in reader.frames(decoder.feed(chunk), decoder.bytes_seen):
        handle(frame)
"""

from __future__ import annotations

from typing import Any

from ailib.errors import StreamDecodeError
from ailib.pipeline.decoders import SseEvent
from ailib.pipeline.safejson import first_too_deep, plain_loads
from ailib.runtime.limits import DEFAULT_LIMITS, Limits

__all__ = ["FrameReader"]


class FrameReader:
    """Turns decoder output (SSE events or JSON values) into JSON frames.

    Example::

        >>> reader = FrameReader({"done_signal": "[DONE]"})
        >>> reader.frames([SseEvent("message", '{"a": 1}'), SseEvent("message", "[DONE]")], 30)
        [{'a': 1}]
        >>> reader.done, reader.count
        (True, 1)
    """

    __slots__ = ("count", "done", "done_signal", "excerpt", "max_depth")

    def __init__(self, config: dict[str, Any], limits: Limits = DEFAULT_LIMITS) -> None:
        self.done_signal = config.get("done_signal")
        self.done = False
        self.count = 0
        self.max_depth = limits.max_json_depth
        self.excerpt = limits.excerpt_bytes

    def frames(self, items: list[Any], offset: int) -> list[Any]:
        """JSON frames of decoded items; ``offset`` is the stream position reached so far."""
        if not items:
            return items
        if type(items[0]) is not SseEvent:
            self.count += len(items)
            return items
        return self.data_frames([item.data for item in items], offset)

    def data_frames(self, datas: list[str], offset: int) -> list[Any]:
        """JSON frames of the data of SSE events (:meth:`SseDecoder.feed_data`).

        >>> FrameReader({}).data_frames(['{"a": 1}', "[2]"], 20)
        [{'a': 1}, [2]]
        """
        out: list[Any] = []
        max_depth = self.max_depth
        for data in datas:
            if not data or self.done:
                continue
            if data == self.done_signal:
                self.done = True
                continue
            try:
                # a value cannot be nested deeper than it has brackets: scan only then
                if (
                    len(data) > max_depth
                    and data.count("{") + data.count("[") > max_depth
                    and first_too_deep(data, max_depth) is not None
                ):
                    raise self._error(data, offset, f"nested deeper than {max_depth} levels")
                out.append(plain_loads(data))  # json.loads, objects by its scanner directly
            except ValueError:
                raise self._error(data, offset, "is not JSON") from None
            except RecursionError:  # a deep stack already: still a typed error
                raise self._error(data, offset, "nested too deep") from None
            self.count += 1
        return out

    def _error(self, data: str, offset: int, what: str) -> StreamDecodeError:
        return StreamDecodeError(
            f"stream event data {what} (the offset is where its event ended)",
            offset=offset,
            data=data[: self.excerpt].encode("utf-8", "replace"),
            excerpt_bytes=self.excerpt,
        )
