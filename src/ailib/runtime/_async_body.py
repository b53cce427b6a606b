"""Reading a response body within bounds (async): one seam for chat, embeddings, error
bodies and streams.

``_sync_body.py`` is generated from this file by ``python -m codegen`` (unasync). The
bounds themselves (:class:`~ailib.runtime._body.BodyGuard`, the inflaters) are shared.

Example::

    guard = BodyGuard(limits, provider="openai")
    raw = await aread_body(response, guard, wire_errors(client))
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Any

from ailib.runtime._body import BodyGuard, Identity, WireErrors, inflater_for


async def aiter_body(response: Any, guard: BodyGuard, errors: WireErrors) -> AsyncIterator[bytes]:
    """The decoded body of ``response`` in pieces, within ``guard``'s bounds (async)."""
    try:
        inflater = inflater_for(response, "aiter_raw")
        if inflater is None:  # br, zstd...: the client inflates, checked chunk by chunk
            async for chunk in response.aiter_bytes():
                guard.take(chunk, getattr(response, "num_bytes_downloaded", None))
                yield chunk
            return
        if type(inflater) is Identity and guard.max_bytes is None and guard.ends_at is None:
            async for raw in response.aiter_raw():  # a stream without coding: nothing to bound
                guard.wire_bytes += len(raw)
                yield raw
            return
        async for raw in response.aiter_raw():
            guard.wire(len(raw))
            for piece in inflater.feed(raw):
                guard.take(piece, inflater.consumed)
                yield piece
        for piece in inflater.flush():
            guard.take(piece, inflater.consumed)
            yield piece
        return
    except (errors.transport, errors.decoding, zlib.error) as exc:
        failure = guard.wire_failure(exc, errors)
    raise failure  # outside the except block: no __context__ holding the raw error


async def aread_body(response: Any, guard: BodyGuard, errors: WireErrors) -> bytes:
    """The whole decoded body, within ``guard``'s bounds; closes the response (async)."""
    try:
        guard.check_length(response.headers)
        buf = bytearray()
        try:
            if type(inflater_for(response, "aiter_raw")) is Identity:  # the common case, inline
                async for raw in response.aiter_raw():
                    guard.wire(len(raw))
                    guard.take(raw, guard.wire_bytes)
                    buf += raw
                return bytes(buf)
        except (errors.transport, errors.decoding, zlib.error) as exc:
            failure = guard.wire_failure(exc, errors)
        else:
            async for piece in aiter_body(response, guard, errors):  # a coded body
                buf += piece
            return bytes(buf)
        raise failure  # outside the except block: no __context__ holding the raw error
    finally:
        await response.aclose()
