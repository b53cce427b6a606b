"""Sans-IO stream decoders: bytes in, events or JSON values out.

Every decoder has ``feed(chunk) -> list`` and ``flush() -> list`` and never does I/O, so
one object serves sync and async transports alike. Chunk boundaries may fall on any byte,
even inside a multi-byte UTF-8 character: the results never depend on them. Malformed
input raises :class:`~ailib.errors.StreamDecodeError` naming the absolute byte offset and
showing (an excerpt of) the offending bytes; the decoder should not be used after that.

Memory is bounded by :class:`~ailib.runtime.limits.Limits` (``limits=``, default
``DEFAULT_LIMITS``): a line longer than ``max_line_bytes`` (SSE, NDJSON; the buffer never
grows past it while no line end arrives), an SSE event or JSON-array element larger than
``max_event_bytes``, or JSON nested deeper than ``max_json_depth`` raises
``StreamDecodeError`` as soon as the bound is crossed. ::

    decoder = make_decoder("sse", limits=Limits(max_line_bytes=1 << 20))
    for chunk in response.iter_bytes():
        for event in decoder.feed(chunk):
            handle(event)
    for event in decoder.flush():
        handle(event)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import attrs

from ailib.errors import StreamDecodeError
from ailib.pipeline.json_array import JsonArrayDecoder, decode_utf8
from ailib.pipeline.safejson import first_too_deep
from ailib.runtime.limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    from ailib.pipeline.eventstream import EventStreamDecoder

__all__ = ["JsonArrayDecoder", "NdjsonDecoder", "SseDecoder", "SseEvent", "make_decoder"]


class _LineBuffer:
    """Cuts a byte stream into blocks of complete lines (shared by SSE and NDJSON)."""

    __slots__ = (
        "_bom_checked",
        "_cr_pending",
        "_excerpt",
        "_max_depth",
        "_max_line",
        "_tail",
        "_tail_start",
        "bytes_seen",
    )
    _lone_cr = False  # whether a CR on its own ends a line
    _what = "NDJSON"

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self._max_line = limits.max_line_bytes
        self._max_depth = limits.max_json_depth
        self._excerpt = limits.excerpt_bytes
        self.bytes_seen = 0
        self._tail = bytearray()  # an unterminated line, waiting for its line end
        self._tail_start = 0
        self._cr_pending = False  # the last chunk ended with CR: skip a LF that follows
        self._bom_checked = False

    def _take(self, chunk: bytes) -> tuple[bytearray, int] | None:
        """Return the complete lines gathered so far and their stream offset, if any."""
        start = self.bytes_seen
        self.bytes_seen += len(chunk)
        if self._cr_pending and chunk:
            self._cr_pending = False
            if chunk[0] == 0x0A:  # second half of a CRLF split across chunks
                chunk = chunk[1:]
                start += 1
        cut = chunk.rfind(b"\n")
        if self._lone_cr:
            cut = max(cut, chunk.rfind(b"\r"))
        if not self._tail:
            self._tail_start = start
        if cut < 0:
            if len(self._tail) + len(chunk) > self._max_line:  # refused before it is held
                start_of_line = self._tail[: self._excerpt] + chunk[: self._excerpt]
                raise self._too_long(start_of_line, self._tail_start)
            self._tail += chunk
            return None
        end = cut + 1
        self._cr_pending = self._lone_cr and end == len(chunk) and chunk[cut] == 0x0D
        block, block_start = self._tail, self._tail_start
        block += memoryview(chunk)[:end]
        self._tail, self._tail_start = bytearray(chunk[end:]), start + end
        if len(block) > self._max_line:  # rare: a huge chunk; find the line, if any
            self._check_lines(block, block_start)
        if len(self._tail) > self._max_line:
            raise self._too_long(self._tail, self._tail_start)
        return block, block_start

    def _check_lines(self, block: bytearray, start: int) -> None:
        """Raise if one of the complete lines of ``block`` is longer than the limit."""
        ends = block.replace(b"\r", b"\n") if self._lone_cr else block
        pos = 0
        for line in ends.split(b"\n"):
            if len(line) > self._max_line:
                raise self._too_long(block[pos : pos + self._excerpt], start + pos)
            pos += len(line) + 1

    def _too_long(self, line: bytes | bytearray, start: int) -> StreamDecodeError:
        return StreamDecodeError(
            f"{self._what} line longer than {self._max_line} bytes (Limits.max_line_bytes)",
            offset=start,
            data=line[: self._excerpt],
            excerpt_bytes=self._excerpt,
        )

    def _rest(self) -> tuple[bytearray, int]:
        """Return the unterminated last line (end of stream) and its offset."""
        tail, self._tail = self._tail, bytearray()
        return tail, self._tail_start

    def _text(self, block: bytes | bytearray, start: int, what: str) -> str:
        text = decode_utf8(block, start, what, self._excerpt)
        if not self._bom_checked:
            self._bom_checked = True
            if text.startswith("\ufeff"):
                text = text[1:]
        return text


@attrs.frozen(slots=True)
class SseEvent:
    """One dispatched server-sent event.

    ``event`` is ``"message"`` when the stream gave no ``event:`` field; ``data`` holds the
    ``data:`` lines joined with ``"\\n"``; ``id`` is the last event ID in force when the
    event was dispatched (it carries over to later events, as in the spec); ``retry`` is
    the ``retry:`` value given in this event's own block.
    """

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SseDecoder(_LineBuffer):
    """Incremental WHATWG server-sent-events parser; returns raw :class:`SseEvent` objects.

    It does not interpret ``[DONE]`` or JSON. One deliberate deviation from the spec: at
    :meth:`flush` an event that has data but lacks its terminating blank line is still
    dispatched (the spec drops it), because some providers omit the final blank line.
    An ``id:`` field with an empty value resets :attr:`last_event_id` to ``None``.

    Example::

        >>> decoder = SseDecoder()
        >>> decoder.feed(b'event: ping\\ndata: {"a": 1}\\n')
        []
        >>> decoder.feed(b"\\n")
        [SseEvent(event='ping', data='{"a": 1}', id=None, retry=None)]
    """

    __slots__ = (
        "_data",
        "_event",
        "_id_buffer",
        "_max_event",
        "_retry",
        "_size",
        "comments",
        "last_event_id",
        "retry",
    )
    _lone_cr = True
    _what = "SSE"

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(limits)
        self._max_event = limits.max_event_bytes
        self.comments = 0  # comment lines seen (lines starting with ':')
        self.last_event_id: str | None = None
        self.retry: int | None = None  # latest reconnection time (ms) sent by the server
        self._data: list[str] = []
        self._size = 0  # characters of data held for the pending event
        self._event = ""
        self._id_buffer: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Consume ``chunk``; return the events completed by it."""
        return self._feed(chunk, SseEvent)

    def feed_data(self, chunk: bytes) -> list[str]:
        """:meth:`feed`, returning only each event's ``data`` (all that
        :meth:`~ailib.pipeline.frames.FrameReader.data_frames` reads): no event is built."""
        return self._feed(chunk, None)

    def _feed(self, chunk: bytes, make: type[SseEvent] | None) -> list[Any]:
        start = self.bytes_seen
        if (  # the common case: whole lines in one bytes chunk, nothing held over
            type(chunk) is bytes
            and chunk[-1:] == b"\n"
            and not self._tail
            and not self._cr_pending
            and self._bom_checked
            and len(chunk) <= self._max_line
        ):  # what _take and _text do for it, inline
            self.bytes_seen = self._tail_start = start + len(chunk)
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError:
                text = self._text(chunk, start, "SSE stream")  # raises with the offset
        else:
            taken = self._take(chunk)
            if taken is None:
                return []
            text, start = self._text(*taken, "SSE stream"), taken[1]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if (  # one whole event of one data line ("data: X\n\n"): what _process does
            not self._data
            and text.startswith("data: ")
            and text.find("\n") == len(text) - 2
            and len(text) - 7 <= self._max_event
        ):
            self.last_event_id = self._id_buffer
            data: Any = text[6:-2]
            if make is not None:
                data = make(self._event or "message", data, self._id_buffer, self._retry)
            self._event, self._retry = "", None
            return [data]
        # [:-1]: the block ends with a line end
        return self._process(text.split("\n")[:-1], start, make)

    def flush(self) -> list[SseEvent]:
        """End of stream: parse an unterminated last line and dispatch pending data."""
        tail, start = self._rest()
        out = self._process([self._text(tail, start, "SSE stream")], start) if tail else []
        if self._data:
            out += self._process([""], self.bytes_seen)
        self._event, self._retry = "", None
        return out

    def _process(
        self, lines: list[str], start: int, make: type[SseEvent] | None = SseEvent
    ) -> list[Any]:
        """Handle complete lines; ``start`` is the stream offset of the first one.

        Returns the events dispatched, built by ``make`` (None: their data only)."""
        out: list[Any] = []
        data = self._data
        size, limit = self._size, self._max_event  # characters of data held for the event
        for line in lines:
            if not line:  # blank line: dispatch
                self.last_event_id = self._id_buffer
                if data:
                    joined = "\n".join(data)
                    if make is None:
                        out.append(joined)
                    else:
                        event = self._event or "message"
                        out.append(make(event, joined, self.last_event_id, self._retry))
                    data.clear()
                    size = 0
                self._event, self._retry = "", None
                continue
            if line[0] == ":":
                self.comments += 1
                continue
            if line.startswith("data: "):  # the common field, without partition
                size += len(line) - 5
                if size > limit:
                    raise self._too_big(lines, line, start)
                data.append(line[6:])
                continue
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                size += len(value) + 1
                if size > limit:
                    raise self._too_big(lines, line, start)
                data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\0" not in value:
                    self._id_buffer = value or None
            elif name == "retry" and value.isascii() and value.isdigit():
                self._retry = self.retry = int(value)
        self._size = size
        return out

    def _too_big(self, lines: list[str], line: str, start: int) -> StreamDecodeError:
        index = next(i for i, seen in enumerate(lines) if seen is line)
        offset = start + sum(len(seen.encode()) + 1 for seen in lines[:index])
        return StreamDecodeError(
            f"SSE event data larger than {self._max_event} bytes (Limits.max_event_bytes)",
            offset=offset,  # of the data line that crossed the limit (exact for LF ends)
            data=line[: self._excerpt].encode("utf-8", "replace"),
            excerpt_bytes=self._excerpt,
        )


class NdjsonDecoder(_LineBuffer):
    """Incremental newline-delimited JSON decoder (Ollama, Cohere v1, JSON Lines).

    Each complete non-blank line is decoded with :func:`json.loads`; CRLF line ends and
    blank lines are tolerated. A malformed line (or one nested deeper than
    ``limits.max_json_depth``) raises :class:`StreamDecodeError` with the offset of the
    start of that line and the line's bytes.

    Example::

        >>> decoder = NdjsonDecoder()
        >>> decoder.feed(b'{"a": 1}\\r\\n\\n{"b"')
        [{'a': 1}]
        >>> decoder.feed(b": 2}")
        []
        >>> decoder.flush()
        [{'b': 2}]
    """

    __slots__ = ()

    def feed(self, chunk: bytes) -> list[Any]:
        """Consume ``chunk``; return the values of the lines it completed."""
        taken = self._take(chunk)
        return [] if taken is None else self._parse(*taken, final=False)

    def flush(self) -> list[Any]:
        """End of stream: decode a last line that has no line end."""
        tail, start = self._rest()
        return self._parse(tail, start, final=True) if tail else []

    def _parse(self, block: bytearray, start: int, *, final: bool) -> list[Any]:
        lines = self._text(block, start, "NDJSON stream").split("\n")
        if not final:
            lines.pop()  # the block ends with "\n": drop the empty remainder
        out: list[Any] = []
        loads = json.loads
        max_depth = self._max_depth
        for index, line in enumerate(lines):
            try:
                if len(line) > max_depth and line.count("[") + line.count("{") > max_depth:
                    at = first_too_deep(line, max_depth)
                    if at is not None:
                        why = f"NDJSON line nested deeper than {max_depth} levels"
                        raise self._line_error(block, start, index, why, at)
                out.append(loads(line))
            except ValueError as exc:
                if line.strip(" \t\r"):  # not a blank line
                    why = f"malformed NDJSON line ({getattr(exc, 'msg', exc)})"
                    raise self._line_error(block, start, index, why) from None
            except RecursionError:
                why = "NDJSON line nested too deep"
                raise self._line_error(block, start, index, why) from None
        return out

    def _line_error(
        self, block: bytearray, start: int, index: int, message: str, at: int = 0
    ) -> StreamDecodeError:
        """The error for line ``index`` of ``block``; ``at`` is a byte offset into the line."""
        raw = bytes(block).split(b"\n")
        offset = start + sum(len(before) + 1 for before in raw[:index]) + at
        line = raw[index][at : at + self._excerpt]  # an excerpt, not the whole line
        return StreamDecodeError(message, offset=offset, data=line, excerpt_bytes=self._excerpt)


_FORMATS: dict[str, type[SseDecoder | NdjsonDecoder | JsonArrayDecoder]] = {
    **dict.fromkeys(("sse", "anthropic_sse", "gemini_sse", "openai_sse"), SseDecoder),
    **dict.fromkeys(("ndjson", "jsonl"), NdjsonDecoder),
    "json_array": JsonArrayDecoder,
}


def make_decoder(
    format: str, limits: Limits = DEFAULT_LIMITS
) -> SseDecoder | NdjsonDecoder | JsonArrayDecoder | EventStreamDecoder:
    """Return a new decoder for a manifest's stream format name, e.g. ``"openai_sse"``.

    >>> type(make_decoder("jsonl")).__name__
    'NdjsonDecoder'
    """
    if format == "aws_eventstream":  # binary AWS event stream, loaded only when used
        from ailib.pipeline.eventstream import EventStreamDecoder

        return EventStreamDecoder(limits)
    try:
        decoder = _FORMATS[format]
    except KeyError:
        known = ", ".join(sorted([*_FORMATS, "aws_eventstream"]))
        raise ValueError(f"unknown stream format {format!r}; known formats: {known}") from None
    return decoder(limits)
