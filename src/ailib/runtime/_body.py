"""Reading one response body within bounds, with typed errors (sync and async).

Every body the engines read goes through here: success and error bodies of chat and
embeddings calls, and the bytes of streams. One seam turns each wire failure into an
ailib error whatever the backend (httpx, or an httpx-compatible package):

* a body cut short (Content-Length longer than what arrived), a reset or a broken
  decompression: :class:`~ailib.errors.TransportError` E3001, retryable like a reset;
* a read timeout, or the total deadline of a non-streamed attempt: E3003;
* a body over ``Limits.max_body_bytes`` or inflating faster than
  ``Limits.max_decompression_ratio`` (once 1 MiB has been inflated):
  :class:`~ailib.errors.ResponseTooLargeError`, raised before the excess is in memory.

gzip and deflate are inflated here in pieces of at most 64 KiB (httpx would inflate a
whole network chunk at once: a 1 MB gzip bomb becomes 1 GB in one call). The engine asks
for gzip and deflate only; another coding (br, zstd) is refused unless the request's own
Accept-Encoding asked for it (then the client inflates it, checked chunk by chunk).

Example::

    guard = BodyGuard(limits, provider="openai", deadline=10.0)
    raw = await aread_body(response, guard, errors)  # _async_body; sync: _sync_body.read_body
"""

from __future__ import annotations

import asyncio
import importlib
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, NamedTuple, ParamSpec, TypeVar

import httpx

from ailib.errors import ResponseTooLargeError, TransportError
from ailib.runtime.attempt_deadline import arun_within as arun_within  # re-exported
from ailib.runtime.deadline_io import ATTEMPT_ENDS_AT
from ailib.runtime.limits import MIB, Limits
from ailib.runtime.redact import mask_known

T = TypeVar("T")
P = ParamSpec("P")

#: largest piece of inflated output produced at once
PIECE = 64 * 1024
#: the inflation ratio is checked only once this much has been inflated
RATIO_FLOOR = MIB
_timeout: Any = getattr(asyncio, "timeout", None)  # Python 3.11+


class WireErrors(NamedTuple):
    """The exception classes of the package an http client comes from."""

    timeout: type[BaseException]
    transport: type[BaseException]
    incomplete: type[BaseException]
    decoding: type[BaseException]
    invalid_url: type[BaseException]


def wire_errors(client: Any) -> WireErrors:
    """The timeout, transport, incomplete-body and decoding exceptions of ``client``'s package."""
    package = getattr(client, "exceptions_from", None) or type(client).__module__.split(".")[0]
    module: Any = httpx if package == "httpx" else importlib.import_module(package)

    def find(name: str) -> type[BaseException]:
        found = getattr(module, name, None)
        return found if isinstance(found, type) else getattr(httpx, name)

    return WireErrors(
        find("TimeoutException"),
        find("TransportError"),
        find("RemoteProtocolError"),
        find("DecodingError"),
        find("InvalidURL"),
    )


def total_deadline(timeout: Any, client: Any) -> float | None:
    """Seconds one non-streamed attempt may take in all (connect, headers and body).

    A number is the deadline itself; an ``httpx.Timeout`` gives its largest value (it
    keeps its own per-phase meaning too). Without ``timeout``, the client's is used.

    >>> total_deadline(2, None), total_deadline(httpx.Timeout(5, read=30), None)
    (2.0, 30.0)
    """
    if timeout is None:
        timeout = getattr(client, "timeout", None)
    if isinstance(timeout, bool):
        return None
    if isinstance(timeout, int | float):
        return float(timeout) if timeout > 0 else None
    phases = [getattr(timeout, name, None) for name in ("connect", "read", "write", "pool")]
    numbers = [float(v) for v in phases if isinstance(v, int | float) and not isinstance(v, bool)]
    return max(numbers) if numbers else None


def capped_timeout(client: Any, seconds: float | None) -> httpx.Timeout | None:
    """The client's httpx timeouts, each no longer than ``seconds`` (None: leave them)."""
    current = getattr(client, "timeout", None)
    if seconds is None or not isinstance(current, httpx.Timeout):
        return None

    def cap(value: float | None) -> float:
        return seconds if value is None else min(value, seconds)

    return httpx.Timeout(
        connect=cap(current.connect),
        read=cap(current.read),
        write=cap(current.write),
        pool=cap(current.pool),
    )


class BodyGuard:
    """Counts one body's bytes (wire and inflated) and raises when a bound is crossed.

    ``stream=True`` skips the size bound (a stream may be long) but keeps the ratio cap;
    ``deadline`` is in seconds from now.

    Example::

        guard = BodyGuard(Limits(max_body_bytes=1 << 20), provider="openai")
        guard.wire(10)
        guard.take(b"0123456789", compressed=10)
    """

    __slots__ = (
        "deadline",
        "ends_at",
        "max_bytes",
        "max_ratio",
        "provider",
        "size",
        "status",
        "wire_bytes",
    )

    def __init__(
        self,
        limits: Limits,
        *,
        provider: str | None,
        stream: bool = False,
        deadline: float | None = None,
        status: int | None = None,
    ) -> None:
        self.max_bytes = None if stream else limits.max_body_bytes
        self.max_ratio = limits.max_decompression_ratio
        self.provider = provider
        self.status = status
        self.deadline = deadline
        self.ends_at = None if deadline is None else time.monotonic() + deadline
        self.wire_bytes = 0  # bytes as they came off the connection
        self.size = 0  # bytes after content decoding

    def for_status(self, status: int) -> BodyGuard:
        """This guard, now reading the body of a response with ``status``."""
        self.status = status
        return self

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no deadline)."""
        return None if self.ends_at is None else max(0.0, self.ends_at - time.monotonic())

    def check_time(self) -> None:
        if self.ends_at is not None and time.monotonic() > self.ends_at:
            raise self.deadline_error()

    def wire(self, count: int) -> None:
        self.wire_bytes += count
        self.check_time()

    def take(self, piece: bytes, compressed: int | None) -> None:
        """Count ``piece`` of decoded body; ``compressed``: the coded bytes it took so far
        (None: unknown, the ratio is not checked)."""
        self.size += len(piece)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise self._too_large(
                f"response body larger than Limits.max_body_bytes={self.max_bytes}",
                self.max_bytes,
            )
        if (
            compressed is not None
            and self.size >= RATIO_FLOOR
            and self.size > self.max_ratio * max(compressed, 1)
        ):
            raise self._too_large(
                f"response body inflates more than Limits.max_decompression_ratio="
                f"{self.max_ratio:g} ({self.size} bytes from {compressed} compressed;"
                " a decompression bomb?)",
                self.max_ratio,
            )
        self.check_time()

    def check_length(self, headers: Any) -> None:
        """Refuse before reading a body whose plain Content-Length is over the bound."""
        if self.max_bytes is None or headers.get("content-encoding", "identity") != "identity":
            return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise self._too_large(
                f"response body of {length} bytes (Content-Length) is larger than "
                f"Limits.max_body_bytes={self.max_bytes}",
                self.max_bytes,
            )

    def _too_large(self, message: str, limit: float) -> ResponseTooLargeError:
        if self.status is not None and self.status >= 400:
            message = f"HTTP {self.status} error {message}"
        return ResponseTooLargeError(
            message, limit=limit, received=self.size, status=self.status, provider=self.provider
        )

    def deadline_error(self) -> TransportError:
        return TransportError(
            f"request exceeded its total timeout of {self.deadline:g}s (connect, headers and"
            " body together)",
            code="E3003",
            provider=self.provider,
        )

    def wire_failure(self, exc: BaseException, errors: WireErrors) -> TransportError:
        """The ailib error for a failure while the body was read (one mapping for all)."""
        name, text = type(exc).__name__, mask_known(str(exc))
        if isinstance(exc, errors.timeout):
            message, code = f"timed out reading the response body ({name})", "E3003"
        elif isinstance(exc, errors.incomplete):
            message = f"response body incomplete after {self.wire_bytes} bytes: {text}"
            code = "E3001"
        elif isinstance(exc, (errors.decoding, zlib.error)):
            message, code = f"response body could not be decoded: {text}", "E3001"
        else:
            message = f"connection broken while reading the response body: {text}"
            code = "E3001"
        return TransportError(message, code=code, status=self.status, provider=self.provider)


class _Inflater:
    """Undoes gzip or deflate in output pieces of at most :data:`PIECE` bytes."""

    __slots__ = ("_first", "_z", "consumed")

    def __init__(self, encoding: str) -> None:
        self.consumed = 0  # compressed bytes used so far (what the inflation ratio is of)
        self._first = encoding == "deflate"  # zlib-wrapped, or raw deflate (like httpx)
        bits = zlib.MAX_WBITS | 16 if encoding != "deflate" else zlib.MAX_WBITS
        self._z = zlib.decompressobj(bits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._first and data:
            self._first = False
            try:
                probe = zlib.decompressobj(zlib.MAX_WBITS)
                probe.decompress(data[:2])
            except zlib.error:  # raw deflate without the zlib header
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        z = self._z
        while True:
            piece = z.decompress(data, PIECE)
            self.consumed += len(data) - len(z.unconsumed_tail)
            if piece:
                yield piece
            data = z.unconsumed_tail
            if not data and len(piece) < PIECE:
                return

    def flush(self) -> Iterator[bytes]:
        yield from self.feed(b"")
        rest = self._z.flush()
        if rest:
            yield rest
        if self.consumed and not self._z.eof:  # e.g. a close-delimited body cut short
            raise zlib.error("the compressed body ended before its end marker (cut short?)")


class Identity:
    """No content coding: the wire bytes are the body."""

    __slots__ = ("consumed",)

    def __init__(self) -> None:
        self.consumed = 0

    def feed(self, data: bytes) -> tuple[bytes, ...]:
        self.consumed += len(data)
        return (data,) if data else ()

    def flush(self) -> tuple[bytes, ...]:
        return ()


class _Chain:
    """Several codings (``Content-Encoding: gzip, gzip``), undone last-applied first, each
    in pieces of at most :data:`PIECE` bytes: a nested bomb never inflates at once."""

    __slots__ = ("_layers",)

    def __init__(self, layers: list[_Inflater]) -> None:
        self._layers = layers  # in decoding order: the wire's outermost coding first

    @property
    def consumed(self) -> int:
        return self._layers[0].consumed  # wire bytes: what the inflation ratio is of

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(self._layers[0].feed(data), 1)

    def flush(self) -> Iterator[bytes]:
        return self._through(self._layers[0].flush(), 1, flush=True)

    def _through(self, pieces: Iterator[bytes], index: int, flush: bool = False) -> Iterator[bytes]:
        if index == len(self._layers):
            yield from pieces
            return
        layer = self._layers[index]
        for piece in pieces:
            yield from self._through(layer.feed(piece), index + 1)
        if flush:
            yield from self._through(layer.flush(), index + 1, flush=True)


def _asked_codings(response: Any) -> str:
    """The request's Accept-Encoding, lowercased ('' when unknown)."""
    try:
        return str(response.request.headers.get("accept-encoding", "")).lower()
    except (AttributeError, RuntimeError):  # a response built without its request
        return ""


def inflater_for(response: Any, raw: str) -> _Inflater | Identity | _Chain | None:
    """The decoder of the response's content coding; None: left to the client."""
    if not hasattr(response, raw) or getattr(response, "is_stream_consumed", False):
        return None  # no raw access, or already read (e.g. httpx.Response(content=b"..."))
    header = str(response.headers.get("content-encoding", "")).lower()
    codings = [c.strip() for c in header.split(",") if c.strip() not in ("", "identity")]
    if not codings:
        return Identity()
    known = [c in ("gzip", "x-gzip", "deflate") for c in codings]
    if not any(known):
        if not all(c in _asked_codings(response) for c in codings):  # ailib asks gzip, deflate
            raise zlib.error(f"content coding {header.strip()!r} was not asked for")
        return None  # br, zstd the caller asked for: left to the client, checked per chunk
    if not all(known):  # the client would inflate the gzip layers whole: a bomb's way in
        raise zlib.error(f"content codings {header.strip()!r} cannot be inflated within bounds")
    layers = [_Inflater("deflate" if c == "deflate" else "gzip") for c in reversed(codings)]
    return layers[0] if len(layers) == 1 else _Chain(layers)


# ---- the deadline of an attempt (aiter_body/aread_body: _async_body.py, its sync twin generated;
# the async one: attempt_deadline.py, re-exported here)


def run_within(guard: BodyGuard, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` within ``guard``'s deadline; past it, E3003 (sync).

    The deadline is published in :data:`~ailib.runtime.deadline_io.ATTEMPT_ENDS_AT` for
    the attempt: the sockets of a client ailib created end every wait by it (a server
    dripping its headers included); the body is also checked between chunks.
    """
    if guard.ends_at is None:
        return work(*args, **kwargs)
    token = ATTEMPT_ENDS_AT.set(guard.ends_at)
    try:
        return work(*args, **kwargs)
    except TransportError as exc:
        if exc.code != "E3003" or time.monotonic() < guard.ends_at:
            raise
    finally:
        ATTEMPT_ENDS_AT.reset(token)
    raise guard.deadline_error()  # a socket wait cut at the deadline: say which timeout


# ---- the idle timeout and the total deadline of a stream --------------------------------

#: event kinds that carry content: only these reset a stream's idle timeout
_TEXT_FIELDS = {
    "content_delta": "content",
    "refusal_delta": "refusal",
    "thinking_delta": "thinking",
    "tool_call_delta": "arguments_delta",
    "audio_delta": None,
    "tool_call_started": None,
    "tool_call_ended": None,
}


def is_content(event: Any) -> bool:
    """Whether ``event`` carries content (pings, usage and empty deltas do not)."""
    kind = getattr(event, "kind", None)
    if kind not in _TEXT_FIELDS:
        return False
    field = _TEXT_FIELDS[kind]
    return field is None or bool(getattr(event, field, ""))


class StreamClock:
    """When the next chunk of a stream must arrive: idle timeout and total deadline.

    ``idle`` seconds without content (pings and empty deltas don't count) or ``total``
    seconds since the stream opened raise E3003 (the stream wraps it with its partial).

    Example::

        clock = StreamClock(idle=30, total=600)
        clock.content()            # after each event with content
        clock.ends_at()            # monotonic time the next read must finish by
    """

    __slots__ = ("_idle_ends", "_total_ends", "idle", "total")

    def __init__(self, idle: float | None, total: float | None) -> None:
        now = time.monotonic()
        self.idle = idle
        self.total = total
        self._idle_ends = None if idle is None else now + idle
        self._total_ends = None if total is None else now + total

    def content(self) -> None:
        if self.idle is not None:
            self._idle_ends = time.monotonic() + self.idle

    def ends_at(self) -> float:
        ends = [t for t in (self._idle_ends, self._total_ends) if t is not None]
        return min(ends)

    def expired(self, provider: str) -> TransportError:
        """The error for a read that did not finish in time."""
        now = time.monotonic()
        if self._total_ends is not None and now >= self._total_ends - 0.001:
            what = f"the stream's total deadline of {self.total:g}s passed"
        else:
            what = f"no content for {self.idle:g}s (idle timeout)"
        return TransportError(what, code="E3003", provider=provider)


async def anext_within(
    chunks: AsyncIterator[bytes], clock: StreamClock, provider: str
) -> bytes | None:
    """The next chunk (None at the end) before ``clock`` runs out, else E3003 (async)."""
    remaining = clock.ends_at() - time.monotonic()
    try:
        if remaining <= 0:
            raise asyncio.TimeoutError
        if _timeout is None:  # Python 3.10
            return await asyncio.wait_for(anext(chunks, None), remaining)
        async with _timeout(remaining):
            return await anext(chunks, None)
    except asyncio.TimeoutError:
        pass
    raise clock.expired(provider)


def next_within(chunks: Iterator[bytes], clock: StreamClock, provider: str) -> bytes | None:
    """The next chunk (None at the end) before ``clock`` runs out, else E3003 (sync).

    Socket waits of a client ailib created end by the clock (:data:`ATTEMPT_ENDS_AT`);
    a user-supplied client is bounded by its own read timeout, then checked here.
    """
    ends_at = clock.ends_at()
    if time.monotonic() >= ends_at:
        raise clock.expired(provider)
    token = ATTEMPT_ENDS_AT.set(ends_at)
    try:
        chunk = next(chunks, None)
    except TransportError as exc:
        if exc.code != "E3003" or time.monotonic() < ends_at:
            raise
    else:
        if chunk is None or time.monotonic() <= ends_at:
            return chunk
    finally:
        ATTEMPT_ENDS_AT.reset(token)
    raise clock.expired(provider)
