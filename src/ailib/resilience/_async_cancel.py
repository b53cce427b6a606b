"""The asyncio side of :class:`~ailib.resilience.cancel.CancellableStream`.

Every step of the wrapped ``AsyncChatStream`` (opening it, each next event, closing it)
runs in one task of its own, the *pump*; the consumer awaits the step's answer, which a
cancel (from any thread), a close or the pump's end gives at once. A cancel also cancels
the pump, even while it waits for the next chunk, and the stream's own cleanup closes the
HTTP response. One task for every step keeps the stream's context variables and any
timeout scope inside the stream's code in one task.

There is no generated sync twin: the sync side (``SyncStreamDriver`` in
``_stream_cancel.py``) cannot cancel a blocked read, so it shuts the socket down instead.

Example::

    driver = AsyncStreamDriver(stream, token, StreamProgress(), raise_=False)
    async for event in driver.events():
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from ailib.resilience._stream_cancel import cancelled_error, mark_cancelled, watch
from ailib.resilience.cancel import CancelReason, CancelToken, StreamProgress

if TYPE_CHECKING:
    from ailib.runtime._async_stream import AsyncChatStream
    from ailib.types.events import StreamEvent
    from ailib.types.response import ChatResponse

_END = object()  # the pump's answer once the stream ended
_STOP = object()  # the answer to a step a cancel, a close or the pump's end cut short


class _Stopped(Exception):
    """Internal: the token or a close stopped the stream."""


def _nothing() -> None:
    """Nothing to unregister."""


def _answer(
    future: asyncio.Future[Any] | None, value: Any = None, error: Exception | None = None
) -> None:
    """Answer a step unless it already is (a cancelled consumer cancels its future)."""
    if future is None or future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class AsyncStreamDriver:
    """Runs an ``AsyncChatStream`` for ``CancellableStream``: each step raced against the
    token, in one pump task that a cancel, a close or the consumer's cancellation stops."""

    def __init__(
        self, stream: AsyncChatStream, token: CancelToken, progress: StreamProgress, raise_: bool
    ) -> None:
        self._stream = stream
        self._token = token
        self._progress = progress
        self._raise = raise_
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._asks: asyncio.Queue[tuple[str, asyncio.Future[Any]]] | None = None
        self._pending: asyncio.Future[Any] | None = None  # the step being answered
        self._unregister: Callable[[], None] = _nothing
        self._stop_sent = False
        self._iterating = False
        self._failure_reported = False

    # ---- the consumer's side ---------------------------------------------------------------

    async def open(self) -> None:
        """Send the request and wait for the headers (``async with``), raced like a step."""
        with contextlib.suppress(_Stopped):  # cancelled: iteration yields nothing
            await self._step("open")

    def events(self) -> AsyncIterator[StreamEvent]:
        if self._iterating:
            raise RuntimeError("a stream can be iterated only once")
        self._iterating = True
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        progress = self._progress
        try:
            while True:
                try:
                    event = await self._step("next")
                except _Stopped:
                    break
                if event is _END:
                    progress.completed = True
                    return
                progress.events += 1
                yield event
        finally:  # also on break (the loop finalises the generator) and task cancellation
            await self.aclose()
        if progress.cancelled and self._raise:
            raise cancelled_error(self._stream, self._token, progress)

    async def aclose(self) -> None:
        """Stop the pump (closing the response) and wait until it has finished."""
        if not self._progress.completed:
            self._progress.closed = True
        pump = self._pump_task
        if pump is None:
            await self._stream.aclose()  # never started: nothing is being read
            return
        self._stop_pump()
        await asyncio.wait((pump,))
        self._unregister()
        self._report_failure(pump)

    async def final_response(self) -> ChatResponse:
        if not self._iterating:
            async for _ in self.events():
                pass
        elif not (self._progress.cancelled or self._progress.closed) and self._stopping():
            # the loop broke out on a cancel it had not seen yet
            await self.aclose()
        if self._progress.cancelled:
            raise cancelled_error(self._stream, self._token, self._progress)
        return await self._stream.final_response()

    def _stopping(self) -> bool:
        progress = self._progress
        if progress.completed:
            return False
        if self._token.is_cancelled:
            progress.cancelled = not progress.closed
            return True
        return progress.closed

    async def _step(self, op: str) -> Any:
        """Have the pump run one step; its answer, or ``_Stopped`` if stopped first."""
        if self._stopping():
            raise _Stopped
        if self._pump_task is None:
            self._start()
        pump, asks = self._pump_task, self._asks
        assert pump is not None and asks is not None
        if pump.done():
            raise _Stopped  # ended before: closed
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending = answer
        asks.put_nowait((op, answer))
        try:  # a cancel, a close or the pump's end answer _STOP at once
            result = await answer  # the consumer's cancellation raises here: caller closes
        except Exception:
            if not self._stopping():
                raise  # the stream's typed error
            result = _STOP  # the stop wins over an error it caused
        finally:
            self._pending = None
        if result is not _STOP and not self._stopping():
            return result  # an event, or _END
        if self._stopping():
            await self.aclose()
            raise _Stopped
        self._report_failure(pump)  # the pump ended without answering: its error, or
        raise asyncio.CancelledError("the stream's task was cancelled")

    def _report_failure(self, pump: asyncio.Task[None]) -> None:
        """Raise the error closing the stream raised (once), e.g. a failing outcome hook."""
        if pump.cancelled() or self._failure_reported:
            return
        failure = pump.exception()
        if failure is not None:
            self._failure_reported = True
            raise failure

    # ---- the pump --------------------------------------------------------------------------

    def _start(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._asks = asyncio.Queue()
        watch(self._stream, self._token)  # no attempt once cancelled, whatever the loop does
        # created from the consumer's task: the stream runs in a copy of its context
        self._pump_task = loop.create_task(self._pump(), name="ailib-cancellable-stream")
        self._unregister = self._token.on_cancel(self._on_cancel)

    def _on_cancel(self, reason: CancelReason) -> None:
        """The token's callback, in the cancelling thread: act on the stream's loop."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: the stream went with it
            loop.call_soon_threadsafe(self._cancel_now, reason)

    def _cancel_now(self, reason: CancelReason) -> None:
        _answer(self._pending, _STOP)  # the consumer stops waiting now
        if not self._progress.completed:
            mark_cancelled(self._stream, reason)
        self._stop_pump()

    def _stop_pump(self) -> None:
        pump = self._pump_task
        if pump is not None and not pump.done() and not self._stop_sent:
            self._stop_sent = True  # once: a second cancel would interrupt the cleanup
            pump.cancel()

    async def _pump(self) -> None:
        asks = self._asks
        assert asks is not None
        inner: AsyncIterator[StreamEvent] | None = None
        answer: asyncio.Future[Any] | None = None
        try:
            while True:
                op, answer = await asks.get()
                try:
                    if op == "open":
                        await self._stream.__aenter__()
                        result: Any = None
                    else:
                        if inner is None:
                            inner = self._stream.__aiter__()
                        result = await inner.__anext__()
                except StopAsyncIteration:
                    _answer(answer, _END)
                    return
                except Exception as exc:  # the stream's typed error, for the consumer
                    _answer(answer, error=exc)
                    return
                _answer(answer, result)
        finally:  # the stream's own cleanup: response closed, outcome hooks run
            _answer(answer, _STOP)  # a step cut short: its consumer stops waiting
            close = getattr(inner, "aclose", None)  # the engine's generator, if started
            if close is not None:
                await close()
            await self._stream.aclose()
