"""Sans-IO stream decoders: bytes in, events or JSON values out.

Every decoder has ``feed(chunk) -> list`` and ``flush() -> list`` and never does I/O, so
one object serves sync and async transports alike. Chunk boundaries may fall on any byte,
even inside a multi-byte UTF-8 character: the results never depend on them. Malformed
input raises :class:`~ailib.errors.StreamDecodeError` naming the absolute byte offset and
showing the offending bytes; the decoder should not be used after that. ::

    decoder = make_decoder("sse")
    for chunk in response.iter_bytes():
        for event in decoder.feed(chunk):
            handle(event)
    for event in decoder.flush():
        handle(event)
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import attrs

from ailib.errors import StreamDecodeError

if TYPE_CHECKING:
    from ailib.pipeline.eventstream import EventStreamDecoder

__all__ = ["JsonArrayDecoder", "NdjsonDecoder", "SseDecoder", "SseEvent", "make_decoder"]


def _decode_utf8(block: bytes | bytearray, start: int, what: str) -> str:
    """Decode ``block`` (found at stream offset ``start``); bad bytes raise with their offset."""
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StreamDecodeError(
            f"invalid UTF-8 in {what}", offset=start + exc.start, data=bytes(block[exc.start :])
        ) from None


class _LineBuffer:
    """Cuts a byte stream into blocks of complete lines (shared by SSE and NDJSON)."""

    __slots__ = ("_bom_checked", "_cr_pending", "_tail", "_tail_start", "bytes_seen")
    _lone_cr = False  # whether a CR on its own ends a line

    def __init__(self) -> None:
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
            self._tail += chunk
            return None
        end = cut + 1
        self._cr_pending = self._lone_cr and end == len(chunk) and chunk[cut] == 0x0D
        block, block_start = self._tail, self._tail_start
        block += memoryview(chunk)[:end]
        self._tail, self._tail_start = bytearray(chunk[end:]), start + end
        return block, block_start

    def _rest(self) -> tuple[bytearray, int]:
        """Return the unterminated last line (end of stream) and its offset."""
        tail, self._tail = self._tail, bytearray()
        return tail, self._tail_start

    def _text(self, block: bytearray, start: int, what: str) -> str:
        text = _decode_utf8(block, start, what)
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

    __slots__ = ("_data", "_event", "_id_buffer", "_retry", "comments", "last_event_id", "retry")
    _lone_cr = True

    def __init__(self) -> None:
        super().__init__()
        self.comments = 0  # comment lines seen (lines starting with ':')
        self.last_event_id: str | None = None
        self.retry: int | None = None  # latest reconnection time (ms) sent by the server
        self._data: list[str] = []
        self._event = ""
        self._id_buffer: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Consume ``chunk``; return the events completed by it."""
        taken = self._take(chunk)
        if taken is None:
            return []
        text = self._text(*taken, "SSE stream")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return self._process(text.split("\n")[:-1])  # [:-1]: the block ends with a line end

    def flush(self) -> list[SseEvent]:
        """End of stream: parse an unterminated last line and dispatch pending data."""
        tail, start = self._rest()
        out = self._process([self._text(tail, start, "SSE stream")]) if tail else []
        if self._data:
            out += self._process([""])
        self._event, self._retry = "", None
        return out

    def _process(self, lines: list[str]) -> list[SseEvent]:
        out: list[SseEvent] = []
        data = self._data
        for line in lines:
            if not line:  # blank line: dispatch
                self.last_event_id = self._id_buffer
                if data:
                    event = self._event or "message"
                    out.append(SseEvent(event, "\n".join(data), self.last_event_id, self._retry))
                    data.clear()
                self._event, self._retry = "", None
                continue
            if line[0] == ":":
                self.comments += 1
                continue
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\0" not in value:
                    self._id_buffer = value or None
            elif name == "retry" and value.isascii() and value.isdigit():
                self._retry = self.retry = int(value)
        return out


class NdjsonDecoder(_LineBuffer):
    """Incremental newline-delimited JSON decoder (Ollama, Cohere v1, JSON Lines).

    Each complete non-blank line is decoded with :func:`json.loads`; CRLF line ends and
    blank lines are tolerated. A malformed line raises :class:`StreamDecodeError` with the
    offset of the start of that line and the line's bytes.

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
        for index, line in enumerate(lines):
            try:
                out.append(loads(line))
            except ValueError as exc:
                if line.strip(" \t\r"):  # not a blank line
                    raw = bytes(block).split(b"\n")
                    offset = start + sum(len(before) + 1 for before in raw[:index])
                    message = f"malformed NDJSON line ({getattr(exc, 'msg', exc)})"
                    raise StreamDecodeError(message, offset=offset, data=raw[index]) from None
        return out


_WS = re.compile(rb"[ \t\r\n]*")
_WINDOW = 1024
_JSON = json.JSONDecoder()
_SCALAR_END = re.compile(rb"[ \t\r\n,\]]")
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")
_BEFORE, _FIRST, _ELEMENT, _AFTER, _NEXT, _DONE = range(6)


class JsonArrayDecoder:
    """Incremental decoder for a streamed top-level JSON array ``[{...},\\n{...}]``.

    Used for Gemini ``streamGenerateContent`` without ``alt=sse``: each top-level element
    is returned as soon as its last byte arrives. The scanner keeps the nesting depth and
    whether it is inside a string, working in C on each new window of bytes (escapes are
    blanked out, the bytes split on quotes, only brackets outside strings are walked in
    Python); once the depth is back to zero, :mod:`json` decodes the element.

    Example::

        >>> decoder = JsonArrayDecoder()
        >>> decoder.feed(b'[{"text": "a]"}\\n,\\r\\n{"te')
        [{'text': 'a]'}]
        >>> decoder.feed(b'xt": "b"}]')
        [{'text': 'b'}]
        >>> decoder.flush()
        []
    """

    __slots__ = ("_base", "_buf", "_depth", "_in_string", "_scan", "_state", "bytes_seen")

    def __init__(self) -> None:
        self.bytes_seen = 0
        self._buf = bytearray()  # bytes not consumed yet
        self._base = 0  # stream offset of _buf[0]
        self._state = _BEFORE
        self._scan = 0  # where the element scan resumes (index into _buf)
        self._depth = 0  # open brackets of the element before _scan
        self._in_string = False  # _scan is inside a string

    def feed(self, chunk: bytes) -> list[Any]:
        """Consume ``chunk``; return the array elements it completed."""
        self.bytes_seen += len(chunk)
        buf = self._buf
        buf += chunk
        out: list[Any] = []
        pos, state, size = 0, self._state, len(buf)
        while True:
            if state == _ELEMENT:
                done = self._element(buf, pos)
                if done is None:
                    break
                pos, state = done[0], _AFTER
                out.append(done[1])
                continue
            match = _WS.match(buf, pos)
            pos = match.end() if match else pos
            if pos == size:
                break
            char = buf[pos]
            if state == _BEFORE:
                if char != 0x5B:
                    raise self._error("expected '[' to open the JSON array", pos)
                state, pos = _FIRST, pos + 1
            elif state == _AFTER:
                if char not in b",]":
                    raise self._error("expected ',' or ']' after a JSON array element", pos)
                state, pos = (_NEXT if char == 0x2C else _DONE), pos + 1
            elif state == _DONE:
                raise self._error("unexpected data after the end of the JSON array", pos)
            elif char == 0x5D and state == _FIRST:
                state, pos = _DONE, pos + 1
            elif char in b",]":
                raise self._error("expected a JSON array element", pos)
            else:
                state, self._scan = _ELEMENT, pos + 1
                self._depth, self._in_string = (0, True) if char == 0x22 else (1, False)
        del buf[:pos]
        self._base += pos
        self._scan -= pos
        self._state = state
        return out

    def flush(self) -> list[Any]:
        """End of stream: raise :class:`StreamDecodeError` unless the array was closed."""
        if self._state == _DONE:
            return []
        if self._state == _ELEMENT:
            raise self._error("incomplete JSON array element at end of stream", 0)
        if self._state == _BEFORE:
            raise self._error("stream ended before the JSON array started", len(self._buf))
        raise self._error("JSON array not closed at end of stream", len(self._buf))

    def _element(self, buf: bytearray, start: int) -> tuple[int, Any] | None:
        """Return (end, value) of the element at ``start``, or None while it is incomplete."""
        size, i = len(buf), self._scan
        if buf[start] not in b'"[{':  # number, true, false, null: ends at a delimiter
            match = _SCALAR_END.search(buf, i)
            if match is None:
                self._scan = size
                return None
            return self._decode(buf, start, match.start())
        while True:  # windows that grow with the element: linear even for big buffers
            stop = min(size, i + max(_WINDOW, 2 * (i - start)))
            if self._scan_window(buf, i, stop):
                return self._decode(buf, start, stop)
            if stop == size:
                return None
            i = self._scan

    def _scan_window(self, buf: bytearray, i: int, stop: int) -> bool:
        """Advance the scan over ``buf[i:stop]``; True once the element has closed in it."""
        # Blank out escaped backslashes, then escaped quotes (left to right, as JSON reads
        # them): every quote left opens or closes a string.
        region = buf[i:stop]
        if b"\\" in region:
            region = region.replace(b"\\\\", b"__").replace(b'\\"', b"__")
            if region.endswith(b"\\"):  # an escape cut by the window: rescan it next time
                region = region[:-1]
                stop -= 1
        pieces = region.split(b'"')
        depth, in_string = self._depth, self._in_string
        if in_string and not depth:  # the element is a string: it ends at the next quote
            if len(pieces) > 1:
                return True
        else:
            outside = b"".join(pieces[1::2] if in_string else pieces[::2])
            for char in outside.translate(None, _NOT_BRACKET):
                depth += 1 if char == 0x5B or char == 0x7B else -1
                if depth == 0:
                    return True
            in_string ^= len(pieces) % 2 == 0
        self._depth, self._in_string, self._scan = depth, in_string, stop
        return False

    def _decode(self, buf: bytearray, start: int, stop: int) -> tuple[int, Any]:
        """Decode the element at ``start`` that ends by ``stop``; return (end, value)."""
        raw = bytes(buf[start:stop])
        text = raw.decode("utf-8", "surrogateescape")
        try:
            value, end = _JSON.raw_decode(text)
        except json.JSONDecodeError as exc:
            at = len(text[: exc.pos].encode("utf-8", "surrogateescape"))
            raise StreamDecodeError(
                f"invalid JSON array element ({exc.msg})",
                offset=self._base + start + at,
                data=raw[at:],
            ) from None
        if not text.isascii():
            end = len(text[:end].encode("utf-8", "surrogateescape"))
            _decode_utf8(raw[:end], self._base + start, "JSON array element")
        return start + end, value

    def _error(self, message: str, pos: int) -> StreamDecodeError:
        return StreamDecodeError(message, offset=self._base + pos, data=bytes(self._buf[pos:]))


_FORMATS: dict[str, type[SseDecoder | NdjsonDecoder | JsonArrayDecoder]] = {
    **dict.fromkeys(("sse", "anthropic_sse", "gemini_sse", "openai_sse"), SseDecoder),
    **dict.fromkeys(("ndjson", "jsonl"), NdjsonDecoder),
    "json_array": JsonArrayDecoder,
}


def make_decoder(format: str) -> SseDecoder | NdjsonDecoder | JsonArrayDecoder | EventStreamDecoder:
    """Return a new decoder for a manifest's stream format name, e.g. ``"openai_sse"``.

    >>> type(make_decoder("jsonl")).__name__
    'NdjsonDecoder'
    """
    if format == "aws_eventstream":  # binary AWS event stream, loaded only when used
        from ailib.pipeline.eventstream import EventStreamDecoder

        return EventStreamDecoder()
    try:
        return _FORMATS[format]()
    except KeyError:
        known = ", ".join(sorted([*_FORMATS, "aws_eventstream"]))
        raise ValueError(f"unknown stream format {format!r}; known formats: {known}") from None
