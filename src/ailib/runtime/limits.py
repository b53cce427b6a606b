"""Bounds on what a server may make the client hold: body size, line size, inflation, depth.

A hostile or broken server must not exhaust the client's memory or time. Every bound has
a default sane for real provider traffic and can be changed per client::

    from ailib.runtime.limits import Limits

    client = AiClient.create("openai/gpt-4o", limits=Limits(max_body_bytes=16 << 20))

Exceeding a bound raises a typed error (``ResponseTooLargeError``/``StreamDecodeError``)
before the excess is held in memory.
"""

from __future__ import annotations

from typing import Any

import attrs

MIB = 1 << 20


def _positive(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"Limits.{attribute.name} must be a positive number, got {value!r}")


@attrs.frozen
class Limits:
    """Per-client bounds on responses (all sizes in bytes).

    Example::

        Limits(max_body_bytes=8 << 20, max_line_bytes=1 << 20)
    """

    #: a non-streamed body (success or error), after decompression; room for a full
    #: embeddings batch (2,048 vectors of 3,072 float32 in base64 are 32 MiB)
    max_body_bytes: int = attrs.field(default=64 * MIB, validator=_positive)
    #: one SSE line or NDJSON line, and one AWS event-stream message
    max_line_bytes: int = attrs.field(default=16 * MIB, validator=_positive)
    #: one SSE event (its data lines together) or one JSON-array element
    max_event_bytes: int = attrs.field(default=16 * MIB, validator=_positive)
    #: decompressed bytes per compressed byte; checked once 1 MiB has been inflated
    max_decompression_ratio: float = attrs.field(default=100.0, validator=_positive)
    #: nesting depth of any JSON value read from the wire
    max_json_depth: int = attrs.field(default=256, validator=_positive)
    #: bytes of offending input an error keeps and shows (StreamDecodeError.data)
    excerpt_bytes: int = attrs.field(default=512, validator=_positive)


DEFAULT_LIMITS = Limits()
