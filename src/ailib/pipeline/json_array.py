"""Incremental decoder of a streamed top-level JSON array (Gemini without ``alt=sse``).

Sans-IO like the other decoders of :mod:`ailib.pipeline.decoders` (``feed``/``flush``/
``bytes_seen``); bounded by :class:`~ailib.runtime.limits.Limits`. ::

    decoder = JsonArrayDecoder(limits)
    for chunk in response.iter_bytes():
        for element in decoder.feed(chunk):
            handle(element)
    decoder.flush()  # raises StreamDecodeError unless the array was closed
"""

from __future__ import annotations

import json
import re
from typing import Any

from ailib.errors import StreamDecodeError
from ailib.pipeline.safejson import first_too_deep
from ailib.runtime.limits import DEFAULT_LIMITS, Limits

__all__ = ["JsonArrayDecoder", "decode_utf8"]


def decode_utf8(block: bytes | bytearray, start: int, what: str, excerpt: int) -> str:
    """Decode ``block`` (found at stream offset ``start``); bad bytes raise with their offset."""
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StreamDecodeError(
            f"invalid UTF-8 in {what}",
            offset=start + exc.start,
            data=block[exc.start : exc.start + excerpt],
            excerpt_bytes=excerpt,
        ) from None


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
    Python); once the depth is back to zero, :mod:`json` decodes the element. An element
    larger than ``limits.max_event_bytes`` or nested deeper than ``limits.max_json_depth``
    raises :class:`StreamDecodeError` as soon as the scan crosses the bound.

    Example::

        >>> decoder = JsonArrayDecoder()
        >>> decoder.feed(b'[{"text": "a]"}\\n,\\r\\n{"te')
        [{'text': 'a]'}]
        >>> decoder.feed(b'xt": "b"}]')
        [{'text': 'b'}]
        >>> decoder.flush()
        []
    """

    __slots__ = (
        "_base",
        "_buf",
        "_depth",
        "_excerpt",
        "_in_string",
        "_max_depth",
        "_max_element",
        "_scan",
        "_state",
        "bytes_seen",
    )

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self._max_element = limits.max_event_bytes
        self._max_depth = limits.max_json_depth
        self._excerpt = limits.excerpt_bytes
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
                self._check_open_element(start, size)
                return None
            return self._decode(buf, start, match.start())
        while True:  # windows that grow with the element: linear even for big buffers
            stop = min(size, i + max(_WINDOW, 2 * (i - start)))
            if self._scan_window(buf, i, stop, start):
                return self._decode(buf, start, stop)
            if stop == size:
                self._check_open_element(start, size)
                return None
            i = self._scan

    def _check_open_element(self, start: int, size: int) -> None:
        """An element still open at the end of the buffer: refuse it once it is too big."""
        if size - start > self._max_element:
            raise self._too_big(start)

    def _too_big(self, start: int) -> StreamDecodeError:
        limit = f"{self._max_element} bytes (Limits.max_event_bytes)"
        return self._error(f"JSON array element larger than {limit}", start)

    def _scan_window(self, buf: bytearray, i: int, stop: int, start: int) -> bool:
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
            max_depth = self._max_depth
            for char in outside.translate(None, _NOT_BRACKET):
                if char == 0x5B or char == 0x7B:
                    depth += 1
                    if depth > max_depth:
                        at = first_too_deep(buf[start:stop], max_depth)
                        what = f"JSON array element nested deeper than {max_depth} levels"
                        raise self._error(what, i if at is None else start + at)
                else:
                    depth -= 1
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
            raise self._error(f"invalid JSON array element ({exc.msg})", start + at) from None
        except RecursionError:  # a deep stack already: still a typed error
            raise self._error("JSON array element nested too deep", start) from None
        if not text.isascii():
            end = len(text[:end].encode("utf-8", "surrogateescape"))
            decode_utf8(raw[:end], self._base + start, "JSON array element", self._excerpt)
        if end > self._max_element:
            raise self._too_big(start)
        return start + end, value

    def _error(self, message: str, pos: int) -> StreamDecodeError:
        data = self._buf[pos : pos + self._excerpt]
        return StreamDecodeError(
            message, offset=self._base + pos, data=data, excerpt_bytes=self._excerpt
        )
