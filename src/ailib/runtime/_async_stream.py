"""AsyncChatStream: the events of one streamed chat call (async).

``_sync_stream.py`` is generated from this file by ``python -m codegen`` (unasync).
Opening the stream runs the call's pipeline; the response is decoded by the serving
engine's manifest (a fallback target speaks its own dialect); the pipeline's outcome
hooks run when the stream ends, fails or is closed early.
"""

from __future__ import annotations

import asyncio  # unasync: skip
import weakref
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic

from ailib.errors import CancelledError, RemoteError, StreamDecodeError, StreamInterruptedError
from ailib.errors import TransportError as AiTransportError
from ailib.pipeline.assemble import Assembler
from ailib.pipeline.decoders import SseDecoder
from ailib.pipeline.frames import FrameReader
from ailib.runtime._async_body import aiter_body
from ailib.runtime._async_pipeline import STOPPED, AsyncPipeline, afinish, asettle
from ailib.runtime._body import BodyGuard, StreamClock, anext_within, is_content
from ailib.runtime.context import CallContext, close_dropped, mark_served
from ailib.runtime.replay import ReplayedStream
from ailib.runtime.stream_format import SNIFF, stream_decoder, stream_kind
from ailib.structured._typing import ParsedT
from ailib.tokens.pricing import attach_cost
from ailib.types.events import StreamEvent
from ailib.types.response import ChatResponse

if TYPE_CHECKING:
    import httpx
    from typing_extensions import Self  # typing.Self needs Python 3.11

    from ailib.runtime._async_engine import AsyncEngine
    from ailib.runtime.stream_format import Decoder
    from ailib.structured.json_mode import JsonModeConfig


class AsyncChatStream(Generic[ParsedT]):
    """Streamed events of one chat request, accumulated into ``final_response()``.

    Opening it runs the call's pipeline up to the first content (retries and fallbacks
    happen there: an error before it is a failed attempt); the pipeline's outcome hooks run
    when the stream ends, fails or is closed.

    Example::

        async with client.chat().user("Hi").stream() as stream:
            async for event in stream:
                if event.is_content_delta:
                    print(event.as_content_delta.content, end="")
        final = await stream.final_response()
    """

    def __init__(self, pipeline: AsyncPipeline, ctx: CallContext) -> None:
        self._pipeline = pipeline
        self._ctx = ctx
        self._engine: AsyncEngine = ctx.target.engine
        self._response: httpx.Response | ReplayedStream | None = None
        self._loop: Any = None  # the event loop the stream was opened on
        self._asm: Assembler | None = None
        self._started = False
        self._done = False
        #: the events of the attempt that served the stream, those read up to its first
        #: content (pings, usage, metadata before it) and a timeout met before it (raised to
        #: the caller after them), read inside the attempt by _prime
        self._primed: (
            tuple[AsyncIterator[StreamEvent], list[StreamEvent], BaseException | None] | None
        ) = None
        self._priming: Any = None  # the response being read up to its first event
        ctx.primer = self._prime
        self.request_id: str | None = None
        #: set by ``.response_format(...)``: events carry the partial JSON value, the final
        #: response the validated one
        self.structured: JsonModeConfig[ParsedT] | None = None

    @property
    def context(self) -> CallContext:
        """The call's context: target, attempts, ``served_by``, hops."""
        return self._ctx

    @property
    def served_by(self) -> str | None:
        """``provider/model`` of the target that serves this stream (once opened)."""
        return self._ctx.served_by

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP response now; a stream not read to its end is closed early."""
        if self._response is not None:
            await self._response.aclose()
        ctx = self._ctx
        if not ctx.finished and self._response is not None:
            ctx.closed_early = True
            await afinish(ctx)

    def __del__(self) -> None:
        """Dropped while open (never read to its end, never closed): closed now."""
        if self._response is not None and not self._ctx.finished:
            close_dropped(self.aclose, self._loop)

    async def _open(self) -> httpx.Response | ReplayedStream:
        if self._response is None:
            ctx = self._ctx
            if ctx.finished:  # its opening failed and ended the call: nothing to retry here
                raise RuntimeError("this stream failed to open: start a new stream")
            self._loop = asyncio.get_running_loop()  # unasync: skip
            try:
                self._response = await self._pipeline.open(ctx)
            finally:
                ctx.primer = None  # opened: no reference left from the context to the stream
            if isinstance(self._response, ReplayedStream):  # a layer served it (cache hit)
                self._bind(ctx.target.engine)
                self.request_id = self._response.response.request_id
            elif self._primed is None:  # opened by a layer without an engine attempt
                self._bind(ctx.target.engine)
                self.request_id = self._engine._request_id(self._response.headers)
        return self._response

    def _bind(self, engine: AsyncEngine) -> None:
        """Decode with ``engine``'s manifest (a fallback may serve the stream), afresh."""
        self._engine = engine
        self._asm = Assembler(
            engine.spec.manifest.termination, engine._stream_error, self._ctx.model
        )

    async def _prime(self, opened: Any) -> Any:
        """Read the response an attempt opened up to its first content (``ctx.primer``).

        An error event, a cut or bad bytes before it (after a usage or metadata event
        too: Anthropic's ``overloaded_error`` follows ``message_start``) raise here,
        inside the attempt: the retry layer sends the request again and the fallback
        layer may take the next target, as for an error status. The events read are kept
        for iteration; nothing of a failed attempt reaches the caller. A timeout (read,
        idle or total) before the first content is the caller's, raised after the events
        read, as it always was: a resend would be a new, billed generation, likely as slow."""
        self._bind(self._ctx.target.engine)
        self.request_id = self._engine._request_id(opened.headers)
        if self._ctx.closed_early:  # closed while the headers were on their way
            await opened.aclose()
            raise CancelledError("the stream was closed before its first content")
        # the generator kept in self._primed sees the stream weakly: a stream dropped
        # unread is still freed (and closed by __del__) at once, not at a later GC
        events: Any = type(self)._decoded(weakref.proxy(self), opened)
        self._priming = opened  # a CancellableStream may cut this read short
        head: list[StreamEvent] = []
        slow: BaseException | None = None
        try:
            while not head or not is_content(head[-1]):
                head.append(await events.__anext__())
        except StopAsyncIteration:
            pass
        except BaseException as exc:
            closed = self._ctx.closed_early
            if isinstance(exc, StreamInterruptedError) and exc.code == "E3003" and not closed:
                slow = exc  # a timeout: the caller's (the stream closes the response)
            else:
                await events.aclose()
                await opened.aclose()
                if closed and isinstance(exc, Exception):  # closed meanwhile
                    raise CancelledError(
                        "the stream was closed before its first content",
                        provider=self._engine.spec.id,
                    ) from None  # E4002: not retried
                raise
        finally:
            self._priming = None
        self._primed = (events, head, slow)
        return opened

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        if self._started:
            raise RuntimeError("a stream can be iterated only once")
        self._started = True
        return self._events()

    async def _decoder(
        self, response: Any, clock: StreamClock | None
    ) -> tuple[Decoder, bytes, AsyncIterator[bytes]]:
        """The decoder the manifest's format and the Content-Type agree on, and the body
        (each chunk within ``clock``, the first bytes read to choose the decoder too)."""
        engine = self._engine
        guard = BodyGuard(engine.limits, provider=engine.spec.id, stream=True)
        chunks = aiter_body(response, guard, engine._wire)
        if clock is not None:
            chunks = self._timed(chunks, clock)
        fmt = engine.spec.manifest.streaming.get("decoder", {}).get("format", "sse")
        ctype = response.headers.get("content-type", "")
        kind = stream_kind(ctype, fmt)
        head = b""
        try:
            if kind is None or kind == SNIFF:  # the start of the body decides or is shown
                async for chunk in chunks:
                    head += chunk
                    if len(head) >= engine.limits.excerpt_bytes or (kind and head.strip()):
                        break
            decoder = stream_decoder(kind, fmt, head=head, content_type=ctype, limits=engine.limits)
        except BaseException:
            await response.aclose()
            raise
        return decoder, head, chunks

    async def _events(self) -> AsyncIterator[StreamEvent]:
        response = await self._open()
        ctx = self._ctx
        failure: BaseException | None = None
        try:
            head: list[StreamEvent] = []  # read by _prime, up to the first content
            slow: BaseException | None = None  # a timeout _prime met, raised after the head
            if isinstance(response, ReplayedStream):
                events = self._replayed(response)
            elif self._primed is not None:
                events, head, slow = self._primed
            else:
                events = self._decoded(response)
            if self.structured is not None or ctx.event_hooks:
                if head or slow is not None:  # the views see the head too
                    events, head, slow = self._resumed(events, head, slow), [], None
                if self.structured is not None:
                    events = self._structured_view(events, self.structured)
                if ctx.event_hooks:  # plugins watching each event
                    events = self._observed(events)
            for event in head:  # no extra generator per event in the common case
                ctx.first_event_sent = True
                yield event
            if slow is not None:
                raise slow
            async for event in events:
                ctx.first_event_sent = True
                yield event
            self._done = True
        except STOPPED:  # the caller stopped reading (break, close, task cancelled)
            raise
        except BaseException as exc:
            failure = exc
            raise
        finally:
            await response.aclose()
            if not ctx.finished:
                if ctx.closed_early:  # a cancel cut the read: an early close, not a failure
                    pass
                elif failure is not None:
                    ctx.error = failure
                elif self._done:
                    ctx.response = self._final()
                else:
                    ctx.closed_early = True
                await afinish(ctx)

    async def _resumed(
        self,
        events: AsyncIterator[StreamEvent],
        head: list[StreamEvent],
        slow: BaseException | None,
    ) -> AsyncIterator[StreamEvent]:
        for event in head:
            yield event
        if slow is not None:
            raise slow
        async for event in events:
            yield event

    async def _replayed(self, replay: ReplayedStream) -> AsyncIterator[StreamEvent]:
        for event in replay.events:
            yield event

    async def _structured_view(
        self, events: AsyncIterator[StreamEvent], config: JsonModeConfig[ParsedT]
    ) -> AsyncIterator[StreamEvent]:
        view = config.stream_view()
        async for event in events:
            for shown in view([event]):
                yield shown

    async def _observed(self, events: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
        ctx = self._ctx
        async for event in events:
            for hook in ctx.event_hooks:
                await asettle(hook(ctx, event))
            yield event

    async def _decoded(self, response: Any) -> AsyncIterator[StreamEvent]:
        engine = self._engine
        asm = self._final_asm()
        frames = FrameReader(engine.spec.manifest.streaming.get("decoder", {}), engine.limits)
        map_stream = engine.spec.map_stream
        feed = asm.feed
        clock = None
        if engine.stream_idle_timeout is not None or engine.stream_timeout is not None:
            clock = StreamClock(engine.stream_idle_timeout, engine.stream_timeout)
        try:
            decoder, head, chunks = await self._decoder(response, clock)  # may read bytes
            for frame in frames.frames(decoder.feed(head), decoder.bytes_seen):
                for event in feed(map_stream(frame)):
                    if clock is not None and is_content(event):
                        clock.content()
                    yield event  # the first bytes, read to choose the decoder
            to_frames: Any = frames.frames
            decode: Any = decoder.feed
            if type(decoder) is SseDecoder:  # no SseEvent built: the frames need the data only
                to_frames, decode = frames.data_frames, decoder.feed_data
            async for chunk in chunks:
                for frame in to_frames(decode(chunk), decoder.bytes_seen):
                    for event in feed(map_stream(frame)):
                        if clock is not None and is_content(event):
                            clock.content()
                        yield event
            for frame in frames.frames(decoder.flush(), decoder.bytes_seen):
                for event in feed(map_stream(frame)):
                    yield event
        except (RemoteError, StreamDecodeError) as exc:  # an error event, bad bytes: keep
            if exc.partial is None:  # what came before them
                exc.partial = self._partial()
            raise
        except AiTransportError as exc:  # from the body seam: cut, reset, timeout
            raise StreamInterruptedError(
                f"stream interrupted after {frames.count} frames: {exc.message}",
                code=exc.code,
                partial=self._partial(),
                provider=engine.spec.id,
                request_id=self.request_id,
            ) from None
        if not frames.done and not any(c.finish for c in asm.cands.values()):
            raise StreamInterruptedError(
                f"stream ended after {frames.count} frames without its end marker",
                partial=self._partial(),
                provider=engine.spec.id,
                request_id=self.request_id,
            )
        for event in asm.finish():
            yield event

    async def _timed(
        self, chunks: AsyncIterator[bytes], clock: StreamClock
    ) -> AsyncIterator[bytes]:
        """``chunks``, each within the stream's idle timeout and total deadline."""
        provider = self._engine.spec.id
        while True:
            chunk = await anext_within(chunks, clock, provider)
            if chunk is None:
                return
            yield chunk

    def _final_asm(self) -> Assembler:
        if self._asm is None:
            raise RuntimeError("the stream is not open")
        return self._asm

    def _partial(self) -> ChatResponse:
        return self._final_asm().response(request_id=self.request_id)

    def _final(self) -> ChatResponse:
        if isinstance(self._response, ReplayedStream):
            response = self._response.response
        else:
            response = self._final_asm().response(request_id=self.request_id)
            response = attach_cost(response, self._engine.spec, self._ctx.model)
        if self._ctx.served_by is not None:
            mark_served(response, self._ctx.served_by)
        return response

    async def final_response(self) -> ChatResponse[ParsedT]:
        """The accumulated response; consumes the rest of the stream if needed.

        A structured-output stream's answer is validated here into ``parsed``
        (StructuredOutputError when it does not fit; no repair on streams).
        """
        if not self._started:
            async for _ in self:
                pass
        if not self._done:
            raise RuntimeError("the stream was not fully consumed")
        if self.structured is not None:
            return self.structured.finish(self._final())
        return self._final()
