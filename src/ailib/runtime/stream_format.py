"""Choosing a stream decoder from the manifest's stream format and the response's type.

The manifest declares how a provider streams (``streaming.decoder.format``); the
``Content-Type`` of the answer must be compatible with it. Accepted:

* ``text/event-stream``: SSE, for any JSON-framed format (sse, ndjson, json_array);
* ``application/x-ndjson``, ``application/jsonl``, ``application/stream+json``: NDJSON
  (Ollama; Cohere's legacy chat stream), for any JSON-framed format;
* ``application/json``: a streamed JSON array when the body starts with ``[`` (Gemini's
  ``streamGenerateContent`` without ``alt=sse``), NDJSON for an ndjson manifest;
* ``application/vnd.amazon.eventstream``: AWS event stream, for ``aws_eventstream`` only;
* ``text/plain`` or no type: the manifest's own format, unless the body starts with
  ``<`` (a page) or, for an SSE format, ``{`` (a plain JSON completion); ``[``: a JSON array.

Anything else (an HTML page, a plain JSON completion object, XML...) is not a stream: a
:class:`~ailib.errors.StreamDecodeError` names the content type and shows the start of
the body. Example::

    kind = stream_kind("text/html; charset=utf-8", "sse")   # None: not a stream
    decoder = stream_decoder(kind, "sse", head=b"<html>", content_type="text/html")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ailib.errors import StreamDecodeError
from ailib.pipeline.decoders import JsonArrayDecoder, NdjsonDecoder, SseDecoder, make_decoder
from ailib.runtime.limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    from ailib.pipeline.eventstream import EventStreamDecoder

    Decoder = SseDecoder | NdjsonDecoder | JsonArrayDecoder | EventStreamDecoder

#: the kind that needs the first bytes of the body to decide (JSON array or not)
SNIFF = "sniff"
_NDJSON_TYPES = ("ndjson", "jsonl", "jsonlines", "stream+json")
_AWS = "aws_eventstream"


def stream_kind(content_type: str, fmt: str) -> str | None:
    """The decoder format for ``content_type`` under manifest format ``fmt``.

    Returns a format name for :func:`~ailib.pipeline.decoders.make_decoder`, ``SNIFF``
    when the first body bytes decide, or None when the type is not a stream of ``fmt``.
    """
    ctype = content_type.split(";", 1)[0].strip().lower()
    if not ctype:
        return fmt if fmt == _AWS else SNIFF
    if ctype == "application/vnd.amazon.eventstream":
        return _AWS if fmt == _AWS else None
    if fmt == _AWS:
        return None
    if ctype == "text/event-stream":
        return "sse"
    if any(part in ctype for part in _NDJSON_TYPES):
        return "ndjson"
    if ctype == "application/json":
        return "ndjson" if fmt in ("ndjson", "jsonl") else SNIFF
    if ctype == "text/plain" and fmt != "json_array":
        return SNIFF
    return None


def _untyped(content_type: str) -> bool:
    """No Content-Type, or text/plain: the manifest's format, unless the body says otherwise."""
    return content_type.split(";", 1)[0].strip().lower() in ("", "text/plain")


def stream_decoder(
    kind: str | None,
    fmt: str,
    *,
    head: bytes,
    content_type: str,
    limits: Limits = DEFAULT_LIMITS,
) -> Decoder:
    """A new decoder for ``kind``; ``head`` is the start of the body (for SNIFF and errors)."""
    if kind == SNIFF:
        first = head.lstrip()[:1]
        if first == b"[":
            kind = "json_array"
        elif _untyped(content_type):  # an HTML page or a JSON object is not an SSE stream
            plain = first == b"<" or (first == b"{" and fmt not in ("ndjson", "jsonl"))
            kind = None if plain else fmt
    if kind is None or kind == SNIFF:
        shown = content_type or "none"
        raise StreamDecodeError(
            f"not a stream: the server answered Content-Type {shown!r} to a streaming request"
            f" (the manifest's stream format is {fmt!r}); the body starts",
            offset=0,
            data=head,
            excerpt_bytes=limits.excerpt_bytes,
        )
    return make_decoder(kind, limits)
