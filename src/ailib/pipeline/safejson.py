"""Depth-bounded JSON decoding for everything read from the wire.

:func:`json.loads` recurses once per nesting level, so a hostile server sending
``[[[[...`` a hundred thousand deep makes it raise :class:`RecursionError` (an untyped
error, after a lot of work). :func:`loads` refuses a value nested deeper than
``max_depth`` (``Limits.max_json_depth``) with a typed
:class:`~ailib.errors.StreamDecodeError` naming where the excess starts, before
:mod:`json` sees it.

The check is nearly free on ordinary payloads: a value cannot be nested deeper than it
has opening brackets, so the text is only scanned (in C, brackets inside strings
ignored) when it holds more than ``max_depth`` of them. ::

    from ailib.pipeline.safejson import loads

    loads(b'{"a": [1, 2]}', max_depth=64)  # {'a': [1, 2]}
    loads(b"[" * 100_000, max_depth=64)  # StreamDecodeError: JSON nested deeper than 64 ...
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate, compress, count, islice
from typing import Any

from ailib.errors import StreamDecodeError
from ailib.runtime.limits import DEFAULT_LIMITS

__all__ = ["dumps_compact", "first_too_deep", "loads", "plain_loads"]

_BRACKET = re.compile(rb"[\[\]{}]")
_NOT_MARK = bytes(c for c in range(256) if c not in b'[]{}"')
_PAREN = bytes.maketrans(b"[{]}", b"(())")
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes
_PEELS = 8  # innermost levels peeled off cheaply before an exact (slower) scan
#: the C scanner json.loads runs, called directly for an object or array (no detection
#: of the encoding, no regex for the leading blank); anything else goes to json.loads
_scan_once: Any = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_blank_end = re.compile(r"[ \t\n\r]*").match  # json's own whitespace
#: json.dumps(value, ensure_ascii=False, separators=(",", ":")) without building a
#: JSONEncoder per call (the cycle check is json.dumps' own, on its fallback path)
_c_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_compact: Any = None
if _c_encoder is not None:
    _compact = _c_encoder(
        None,  # no markers: a cycle raises RecursionError, and json.dumps then says so
        json.JSONEncoder().default,
        json.encoder.encode_basestring,
        None,
        ":",
        ",",
        False,
        False,
        True,
    )


def first_too_deep(data: bytes | bytearray | str, max_depth: int) -> int | None:
    """Index (in UTF-8 bytes) of the first bracket opening level ``max_depth + 1``, or None.

    Brackets inside JSON strings do not count. Free when the text has few brackets.

    >>> first_too_deep(b'[["]]]]"]]', 1), first_too_deep(b"[[1]]", 2)
    (1, None)
    """
    if len(data) <= max_depth:  # fewer characters than levels
        return None
    if isinstance(data, str):
        if data.count("[") + data.count("{") <= max_depth:
            return None
        raw = data.encode("utf-8", "surrogatepass")
    else:
        if data.count(b"[") + data.count(b"{") <= max_depth:
            return None
        raw = bytes(data)
    if b"\\" in raw:  # escaped backslashes, then escaped quotes, blanked (same length)
        raw = raw.replace(b"\\\\", b"__").replace(b'\\"', b"__")
    # Brackets and quotes only. Two adjacent quotes have no bracket between them, so
    # dropping them never changes which brackets lie inside strings.
    marks = raw.translate(None, _NOT_MARK).replace(b'""', b"")
    if b'"' in marks:
        marks = b"".join(marks.split(b'"')[::2])  # brackets outside strings
    level = marks.translate(_PAREN)
    for peeled in range(_PEELS):  # each pass removes the innermost level: all in C
        if level.count(b"(") <= max_depth - peeled:
            return None
        level = level.replace(b"()", b"")
    depths = accumulate(array("b", marks.translate(_STEP)))
    index = next(compress(count(), map(max_depth.__lt__, depths)), None)  # lazy, in C
    if index is None:
        return None
    pieces = raw.split(b'"')
    for i in range(1, len(pieces), 2):  # string contents blanked: positions kept
        pieces[i] = b"_" * len(pieces[i])
    return next(islice(_BRACKET.finditer(b'"'.join(pieces)), index, None)).start()


def dumps_compact(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``, faster.

    >>> dumps_compact({"a": [1, "é"]})
    '{"a":[1,"é"]}'
    """
    if _compact is not None and type(value) in (dict, list):
        try:
            return "".join(_compact(value, 0))
        except Exception:  # not JSON, or a cycle: json.dumps raises its own error
            pass
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def plain_loads(data: bytes | bytearray | str) -> Any:
    """``json.loads(data)``; an object or array in UTF-8 skips its detours."""
    text: str | None = None
    if type(data) is str:
        text = data
    elif type(data) is bytes and data[:1] in (b"{", b"[") and data[1:2] != b"\x00":
        try:  # what json.loads does for UTF-8 bytes (UTF-16/32 start with a zero byte)
            text = data.decode("utf-8", "surrogatepass")
        except ValueError:  # json.loads raises its own error
            return json.loads(data)
    if text is not None and text[:1] in ("{", "["):
        try:
            value, end = _scan_once(text, 0)
        except (ValueError, StopIteration):  # json.loads raises its own error below
            pass
        else:
            if end == len(text) or _blank_end(text, end).end() == len(text):  # type: ignore[union-attr]
                return value
    return json.loads(data)


def loads(
    data: bytes | bytearray | str,
    *,
    max_depth: int = DEFAULT_LIMITS.max_json_depth,
    offset: int = 0,
    what: str = "JSON",
    error: type[StreamDecodeError] = StreamDecodeError,
    excerpt_bytes: int = DEFAULT_LIMITS.excerpt_bytes,
) -> Any:
    """:func:`json.loads` that raises ``error`` for a value nested over ``max_depth`` deep.

    ``offset`` is the stream offset of ``data`` (for the error message); ``what`` names
    the data in it. Malformed JSON still raises :class:`ValueError` as ``json.loads``
    does, so callers keep their own messages for it.

    >>> loads('{"a": [[1]]}', max_depth=3)
    {'a': [[1]]}
    """
    at = first_too_deep(data, max_depth)
    if at is None:
        try:
            return plain_loads(data)
        except RecursionError:  # a deep stack already: still a typed error
            at = 0
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    raise error(
        f"{what} nested deeper than {max_depth} levels (Limits.max_json_depth)",
        offset=offset + at,
        data=raw[at : at + excerpt_bytes],
        excerpt_bytes=excerpt_bytes,
    )
