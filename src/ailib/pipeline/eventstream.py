"""Sans-IO decoder (and encoder) of the AWS event-stream binary framing.

Bedrock ``ConverseStream`` answers with ``application/vnd.amazon.eventstream``: a
sequence of binary messages, each laid out big-endian as ::

    total length (4) | headers length (4) | prelude CRC32 (4)
    headers: name length (1) | name | value type (1) | value ...
    payload
    message CRC32 (4)     # CRC32 of every byte before it, prelude included

:class:`EventStreamDecoder` has the same ``feed(chunk) -> list`` / ``flush()`` /
``bytes_seen`` surface as the other decoders in :mod:`ailib.pipeline.decoders`. Each
message becomes a frame shaped like the Converse JSON event union, keyed by its
``:event-type`` header (``{"contentBlockDelta": {...payload...}}``); exception and
error messages become ``{"exception": {"type": ..., "message": ...}}``. A CRC mismatch,
a truncated message or garbage raises :class:`~ailib.errors.StreamDecodeError` with the
absolute byte offset and (an excerpt of) the bytes. A prelude declaring a message longer
than ``limits.max_line_bytes`` is refused before the message is buffered, and a JSON
payload nested deeper than ``limits.max_json_depth`` is refused too.

Example::

    >>> raw = encode_event("messageStop", {"stopReason": "end_turn"})
    >>> decoder = EventStreamDecoder()
    >>> decoder.feed(raw[:10])
    []
    >>> decoder.feed(raw[10:])
    [{'messageStop': {'stopReason': 'end_turn'}}]
    >>> decoder.flush()
    []
"""

from __future__ import annotations

import base64
import datetime
import json
import struct
import uuid
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ailib.errors import StreamDecodeError
from ailib.pipeline.safejson import loads as safe_loads
from ailib.runtime.limits import DEFAULT_LIMITS, Limits

__all__ = [
    "EventStreamDecoder",
    "EventStreamMessage",
    "TypedHeader",
    "encode_event",
    "encode_exception",
    "encode_message",
    "to_frame",
]

PRELUDE_SIZE = 12  # total length, headers length, prelude CRC
MIN_MESSAGE = PRELUDE_SIZE + 4  # plus the message CRC
MAX_HEADERS = 128 * 1024
MAX_PAYLOAD = 16 * 1024 * 1024
MAX_MESSAGE = MIN_MESSAGE + MAX_HEADERS + MAX_PAYLOAD

_U32X3 = struct.Struct(">III")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

#: Header value type codes of the event-stream format.
HEADER_TYPES = {
    "bool_true": 0,
    "bool_false": 1,
    "byte": 2,
    "short": 3,
    "integer": 4,
    "long": 5,
    "bytes": 6,
    "string": 7,
    "timestamp": 8,
    "uuid": 9,
}
_INTS = {
    2: struct.Struct(">b"),
    3: struct.Struct(">h"),
    4: struct.Struct(">i"),
    5: struct.Struct(">q"),
}
_INT_KINDS = {"byte": 2, "short": 3, "integer": 4, "long": 5}


@attrs.frozen
class TypedHeader:
    """A header value with an explicit wire type, for :func:`encode_message`.

    Example::

        encode_message({"n": TypedHeader("short", 7), ":event-type": "chunk"}, b"{}")
    """

    kind: str = attrs.field(validator=attrs.validators.in_(HEADER_TYPES))
    value: Any = None


@attrs.frozen
class EventStreamMessage:
    """One decoded message: typed header values, raw payload and where it started.

    Header values are ``bool``, ``int`` (byte/short/integer/long), ``bytes``, ``str``,
    ``datetime`` (timestamp, UTC) or ``uuid.UUID``.

    Example::

        for message in EventStreamDecoder().feed_messages(raw):
            message.event_type, message.headers[":content-type"], message.payload
    """

    headers: dict[str, Any]
    payload: bytes
    offset: int = 0  # stream offset of the message's first byte
    payload_offset: int = 0  # stream offset of the payload's first byte

    @property
    def message_type(self) -> str:
        return str(self.headers.get(":message-type", "event"))

    @property
    def event_type(self) -> str | None:
        value = self.headers.get(":event-type")
        return None if value is None else str(value)


class EventStreamDecoder:
    """Incremental decoder of AWS event-stream messages into Converse-style frames.

    ``feed_messages`` returns the raw :class:`EventStreamMessage` objects instead.
    Chunk boundaries may fall anywhere; results never depend on them.

    Example::

        decoder = EventStreamDecoder()
        for chunk in response.iter_bytes():
            for frame in decoder.feed(chunk):
                handle(frame)  # {"contentBlockDelta": {"delta": {"text": "Hi"}, ...}}
        decoder.flush()  # raises StreamDecodeError if a message was cut short
    """

    __slots__ = (
        "_base",
        "_buf",
        "_excerpt",
        "_failed",
        "_max_depth",
        "_max_message",
        "bytes_seen",
        "messages_seen",
    )

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self._max_message = min(MAX_MESSAGE, limits.max_line_bytes)
        self._max_depth = limits.max_json_depth
        self._excerpt = limits.excerpt_bytes
        self.bytes_seen = 0
        self.messages_seen = 0
        self._buf = bytearray()  # bytes of the message not complete yet
        self._base = 0  # stream offset of _buf[0]
        # an error found after good messages of the same chunk: raised on the next call,
        # so the messages before it are still delivered
        self._failed: StreamDecodeError | None = None

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """Consume ``chunk``; return the frames of the messages it completed."""
        frames = []
        for message in self.feed_messages(chunk):
            try:
                frames.append(to_frame(message, self._max_depth, self._excerpt))
            except StreamDecodeError as exc:
                if not frames:
                    raise
                self._failed = exc  # deliver the frames before it; raise on the next call
                break
        return frames

    def flush(self) -> list[dict[str, Any]]:
        """End of stream: raise :class:`StreamDecodeError` if a message is incomplete."""
        self.flush_messages()
        return []

    def flush_messages(self) -> list[EventStreamMessage]:
        """End of stream: raise :class:`StreamDecodeError` if a message is incomplete."""
        if self._failed is not None:
            raise self._failed
        if self._buf:
            have = len(self._buf)
            if have >= PRELUDE_SIZE:
                want = f"{_U32.unpack_from(self._buf)[0]} bytes"
            else:
                want = f"a {PRELUDE_SIZE}-byte prelude"
            raise self._error(
                f"event-stream message truncated at end of stream ({have} bytes of {want})", 0
            )
        return []

    def feed_messages(self, chunk: bytes) -> list[EventStreamMessage]:
        """Consume ``chunk``; return the complete messages it finished."""
        if self._failed is not None:
            raise self._failed
        self.bytes_seen += len(chunk)
        buf = self._buf
        buf += chunk
        out: list[EventStreamMessage] = []
        pos, size = 0, len(buf)
        try:
            with memoryview(buf) as view:
                while size - pos >= PRELUDE_SIZE:
                    total, headers_len = self._prelude(view, pos)
                    if size - pos < total:
                        break
                    out.append(self._message(view, pos, total, headers_len))
                    pos += total
        except StreamDecodeError as exc:
            if not out:
                raise
            self._failed = exc
        if pos:
            del buf[:pos]
            self._base += pos
        self.messages_seen += len(out)
        return out

    def _error(self, message: str, pos: int, end: int | None = None) -> StreamDecodeError:
        stop = pos + self._excerpt if end is None else min(end, pos + self._excerpt)
        data = self._buf[pos:stop]
        return StreamDecodeError(
            message, offset=self._base + pos, data=data, excerpt_bytes=self._excerpt
        )

    def _prelude(self, view: memoryview, pos: int) -> tuple[int, int]:
        """Check the prelude at ``pos``; return (total length, headers length)."""
        total, headers_len, crc = _U32X3.unpack_from(view, pos)
        if zlib.crc32(view[pos : pos + 8]) != crc:
            raise self._error(
                "event-stream prelude CRC mismatch (corrupt data or not an event stream)", pos
            )
        if total < MIN_MESSAGE:
            raise self._error(f"event-stream message length {total} out of range", pos)
        if total > self._max_message:  # refused before the message is buffered
            raise self._error(
                f"event-stream message length {total} out of range: larger than "
                f"{self._max_message} bytes (Limits.max_line_bytes)",
                pos,
            )
        if headers_len > MAX_HEADERS or headers_len > total - MIN_MESSAGE:
            raise self._error(
                f"event-stream headers length {headers_len} too large for a {total}-byte message",
                pos,
            )
        return total, headers_len

    def _message(
        self, view: memoryview, pos: int, total: int, headers_len: int
    ) -> EventStreamMessage:
        end = pos + total
        (crc,) = _U32.unpack_from(view, end - 4)
        if zlib.crc32(view[pos : end - 4]) != crc:
            raise self._error("event-stream message CRC mismatch", pos, end)
        start = pos + PRELUDE_SIZE
        headers = self._headers(view, start, start + headers_len)
        payload = bytes(view[start + headers_len : end - 4])
        base = self._base
        return EventStreamMessage(headers, payload, base + pos, base + start + headers_len)

    def _headers(self, view: memoryview, pos: int, end: int) -> dict[str, Any]:
        headers: dict[str, Any] = {}
        while pos < end:
            at = pos
            name_len = view[pos]
            pos += 1
            if pos + name_len + 1 > end:
                raise self._error("event-stream header truncated", at, end)
            name = self._text(view, pos, pos + name_len, "header name")
            pos += name_len
            kind = view[pos]
            pos += 1
            value, pos = self._value(view, kind, pos, end, at)
            headers[name] = value
        return headers

    def _value(self, view: memoryview, kind: int, pos: int, end: int, at: int) -> tuple[Any, int]:
        if kind <= 1:
            return kind == 0, pos
        fixed = _INTS.get(kind)
        if fixed is not None:
            if pos + fixed.size > end:
                raise self._error("event-stream header value truncated", at, end)
            return fixed.unpack_from(view, pos)[0], pos + fixed.size
        if kind in (6, 7):
            if pos + 2 > end:
                raise self._error("event-stream header value truncated", at, end)
            (size,) = _U16.unpack_from(view, pos)
            pos += 2
            if pos + size > end:
                raise self._error("event-stream header value truncated", at, end)
            if kind == 6:
                return bytes(view[pos : pos + size]), pos + size
            return self._text(view, pos, pos + size, "header value"), pos + size
        if kind == 8:
            if pos + 8 > end:
                raise self._error("event-stream header value truncated", at, end)
            millis = _INTS[5].unpack_from(view, pos)[0]
            return _EPOCH + datetime.timedelta(milliseconds=millis), pos + 8
        if kind == 9:
            if pos + 16 > end:
                raise self._error("event-stream header value truncated", at, end)
            return uuid.UUID(bytes=bytes(view[pos : pos + 16])), pos + 16
        raise self._error(f"unknown event-stream header value type {kind}", at, end)

    def _text(self, view: memoryview, pos: int, end: int, what: str) -> str:
        try:
            return str(view[pos:end], "utf-8")
        except UnicodeDecodeError as exc:
            raise self._error(
                f"invalid UTF-8 in event-stream {what}", pos + exc.start, end
            ) from None


# ---- messages -> frames -------------------------------------------------------------------


def _payload(message: EventStreamMessage, max_depth: int, excerpt: int) -> Any:
    """The payload as JSON (the default), text for ``text/*``, else base64 text."""
    data = message.payload
    ctype = str(message.headers.get(":content-type", "application/json"))
    if "json" in ctype:
        if not data.strip():
            return {}
        offset = message.payload_offset
        try:
            return safe_loads(
                data,
                max_depth=max_depth,
                offset=offset,
                what="event-stream payload",
                excerpt_bytes=excerpt,
            )
        except ValueError as exc:
            reason = getattr(exc, "msg", str(exc))
            raise StreamDecodeError(
                f"event-stream payload is not JSON ({reason})",
                offset=offset,
                data=data[:excerpt],
                excerpt_bytes=excerpt,
            ) from None
    if ctype.startswith("text/"):
        return data.decode("utf-8", "replace")
    return base64.b64encode(data).decode("ascii")


def to_frame(
    message: EventStreamMessage,
    max_depth: int = DEFAULT_LIMITS.max_json_depth,
    excerpt: int = DEFAULT_LIMITS.excerpt_bytes,
) -> dict[str, Any]:
    """The Converse-style frame of a message (see the module docstring)."""
    headers = message.headers
    kind = message.message_type
    if kind == "event":
        return {message.event_type or "event": _payload(message, max_depth, excerpt)}
    if kind == "exception":
        payload = _payload(message, max_depth, excerpt)
        body: dict[str, Any] = dict(payload) if isinstance(payload, dict) else {"data": payload}
        body["type"] = str(headers.get(":exception-type", "exception"))
        text = body.get("message", body.get("Message"))
        if text is not None:
            body["message"] = str(text)
        return {"exception": body}
    if kind == "error":
        error = {"type": str(headers.get(":error-code", "error"))}
        if headers.get(":error-message") is not None:
            error["message"] = str(headers[":error-message"])
        return {"exception": error}
    return {kind: _payload(message, max_depth, excerpt)}


# ---- encoding (mock servers, tests) -------------------------------------------------------


def _encode_value(value: Any) -> bytes:
    if isinstance(value, TypedHeader):
        code = HEADER_TYPES[value.kind]
        raw = value.value
    elif isinstance(value, bool):
        return bytes([0 if value else 1])
    elif isinstance(value, int):
        code, raw = (4 if -(2**31) <= value < 2**31 else 5), value
    elif isinstance(value, bytes | bytearray):
        code, raw = 6, value
    elif isinstance(value, str):
        code, raw = 7, value
    elif isinstance(value, datetime.datetime):
        code, raw = 8, value
    elif isinstance(value, uuid.UUID):
        code, raw = 9, value
    else:
        raise TypeError(f"cannot encode an event-stream header value of type {type(value)}")
    if code <= 1:
        return bytes([code])
    if code in _INTS:
        return bytes([code]) + _INTS[code].pack(raw)
    if code in (6, 7):
        data = raw.encode() if isinstance(raw, str) else bytes(raw)
        return bytes([code]) + _U16.pack(len(data)) + data
    if code == 8:
        if isinstance(raw, datetime.datetime):
            moment = raw if raw.tzinfo else raw.replace(tzinfo=datetime.timezone.utc)
            raw = (moment - _EPOCH) // datetime.timedelta(milliseconds=1)
        return bytes([code]) + _INTS[5].pack(int(raw))
    return bytes([code]) + (raw.bytes if isinstance(raw, uuid.UUID) else bytes(raw))


def encode_message(
    headers: Mapping[str, Any] | Iterable[tuple[str, Any]], payload: bytes = b""
) -> bytes:
    """One event-stream message with correct CRCs.

    Plain values pick their type (``bool``, ``int`` → integer or long, ``bytes``,
    ``str``, ``datetime`` → timestamp, ``UUID``); :class:`TypedHeader` forces one.
    """
    items = headers.items() if isinstance(headers, Mapping) else headers
    parts = []
    for name, value in items:
        raw_name = name.encode()
        parts.append(bytes([len(raw_name)]) + raw_name + _encode_value(value))
    head = b"".join(parts)
    total = MIN_MESSAGE + len(head) + len(payload)
    prelude = _U32.pack(total) + _U32.pack(len(head))
    prelude += _U32.pack(zlib.crc32(prelude))
    body = prelude + head + payload
    return body + _U32.pack(zlib.crc32(body))


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def encode_event(event_type: str, payload: Any) -> bytes:
    """A JSON ``event`` message as Bedrock sends it (``:event-type`` first)."""
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_message(headers, _json(payload))


def encode_exception(exception_type: str, payload: Any) -> bytes:
    """A JSON ``exception`` message (e.g. ``throttlingException`` mid-stream)."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, _json(payload))
