"""Stopping a chat stream at once: the sync driver of ``CancellableStream`` and the
helpers both drivers share (the async driver is in ``_async_cancel.py``).

A blocked socket read cannot be cancelled in another thread, so a cancel (or a
``close()`` from another thread) shuts the connection's socket down: the read returns at
once, the server sees the connection end, and the reading thread cleans up httpcore's
state itself (httpcore is not made to be closed from two threads at once).

Example::

    driver = SyncStreamDriver(stream, token, StreamProgress(), raise_=False)
    for event in driver.events():
        ...
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ailib.errors import CancelledError
from ailib.resilience.cancel import CancelReason, CancelToken, StreamProgress

if TYPE_CHECKING:
    from ailib.runtime._sync_stream import ChatStream
    from ailib.types.events import StreamEvent
    from ailib.types.response import ChatResponse


def _nothing() -> None:
    """Nothing to unregister."""


def partial_of(stream: Any) -> ChatResponse | None:
    """What the stream assembled so far; None if it was never opened."""
    try:
        partial: ChatResponse = stream._partial()
    except (AttributeError, RuntimeError):  # not opened: nothing arrived
        return None
    return partial


def cancelled_error(stream: Any, token: CancelToken, progress: StreamProgress) -> CancelledError:
    """The E4002 error of a stream the token stopped, carrying its partial response."""
    reason = token.reason or CancelReason.USER_REQUEST
    return CancelledError(
        f"stream cancelled ({reason.value}) after {progress.events} events",
        partial=partial_of(stream),
        reason=reason,
        request_id=getattr(stream, "request_id", None),
    )


def watch(stream: Any, token: CancelToken) -> None:
    """Have the call's pipeline watch ``token``: no attempt is sent once it is cancelled
    (a cancel between retries ends the call there, closed early)."""
    ctx = getattr(stream, "context", None)
    if ctx is not None:
        ctx.cancel_token = token


def mark_cancelled(stream: Any, reason: CancelReason | None) -> None:
    """Tell the call's pipeline context that it ends early because it was cancelled."""
    ctx = getattr(stream, "context", None)
    if ctx is not None and not getattr(ctx, "finished", False):
        ctx.closed_early = True
        ctx.metadata["cancel_reason"] = (reason or CancelReason.USER_REQUEST).value


def shutdown_connection(response: Any) -> bool:
    """End the HTTP/1.x connection under ``response`` now, from any thread.

    A read blocked on that socket in another thread returns at once (``close()`` alone
    does not wake it on Linux) and the server sees the connection end. httpcore's own
    state is left to the reading thread, which cleans up when its read fails. HTTP/2
    (one socket shared by many streams) and transports without a socket are left alone.
    """
    if response is None or getattr(response, "http_version", "HTTP/1.1") not in (
        "HTTP/1.1",
        "HTTP/1.0",
    ):
        return False
    network = (getattr(response, "extensions", None) or {}).get("network_stream")
    sock = network.get_extra_info("socket") if network is not None else None
    if not isinstance(sock, socket.socket):
        return False
    try:  # socket.socket's own method: ssl.SSLSocket.shutdown also drops its SSL state
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:  # already closed or reset
        return False
    return True


class _Stopped(Exception):
    """Internal: the token or a close stopped the stream."""


class SyncStreamDriver:
    """Runs a sync ``ChatStream`` for :class:`CancellableStream`.

    The consumer thread does all reading and cleanup; a cancel (or a ``close()`` from
    another thread) only shuts the socket down, under a lock the consumer also takes.
    """

    def __init__(
        self, stream: ChatStream, token: CancelToken, progress: StreamProgress, raise_: bool
    ) -> None:
        self._stream = stream
        self._token = token
        self._progress = progress
        self._raise = raise_
        self._lock = threading.Lock()
        self._opened = False
        self._opening = False  # the consumer's thread is inside open()
        self._reading = False
        self._finished = False
        self._iterating = False
        self._inner: Iterator[StreamEvent] | None = None
        self._unregister: Callable[[], None] = _nothing

    def _stopping(self) -> bool:
        """True (and noted) when the token or a close stopped the stream."""
        progress = self._progress
        if progress.completed:
            return False
        if self._token.is_cancelled:
            progress.cancelled = not progress.closed
            return True
        return progress.closed

    def open(self) -> None:
        """Send the request and wait for the headers; a cancel meanwhile closes it after."""
        if self._opened:
            return
        if self._stopping():
            raise _Stopped
        watch(self._stream, self._token)
        self._unregister = self._token.on_cancel(self._abort)
        self._opening = True
        try:
            self._stream.__enter__()
        except Exception:
            if self._stopping():  # cancelled while opening (e.g. between retries): quietly
                raise _Stopped from None
            raise
        finally:
            with self._lock:
                self._opening = False
        with self._lock:
            self._opened = True
        if self._stopping():  # cancelled while the headers were on their way
            raise _Stopped

    def enter(self) -> None:
        """``with``: open now; a token cancelled meanwhile leaves nothing to read."""
        with contextlib.suppress(_Stopped):
            self.open()

    def _abort(self, reason: CancelReason | None = None) -> None:
        """The token's callback (canceller's thread): end the connection now."""
        with self._lock:
            if not self._finished and not self._progress.completed:
                mark_cancelled(self._stream, reason or self._token.reason)
                if self._opened:
                    shutdown_connection(self._stream._response)
                else:  # still opening: a read for the first event is cut short too
                    shutdown_connection(getattr(self._stream, "_priming", None))

    def events(self) -> Iterator[StreamEvent]:
        if self._iterating:
            raise RuntimeError("a stream can be iterated only once")
        self._iterating = True
        return self._events()

    def _events(self) -> Iterator[StreamEvent]:
        try:
            self.open()
            inner = self._inner = iter(self._stream)
            while True:
                with self._lock:  # a close() from another thread sees _reading
                    if self._stopping():
                        break
                    self._reading = True
                try:
                    event = next(inner)
                except StopIteration:
                    self._progress.completed = True
                    return
                except Exception:
                    if not self._stopping():
                        raise
                    break  # the read the cancel cut short
                finally:
                    with self._lock:
                        self._reading = False
                if self._stopping():  # arrived after the cancel: not delivered
                    break
                self._progress.events += 1
                yield event
        except _Stopped:
            pass
        finally:
            self.close_now()
        if self._progress.cancelled and self._raise:
            raise cancelled_error(self._stream, self._token, self._progress)

    def close(self) -> None:
        """Close from any thread: a read in progress elsewhere is cut and cleans up."""
        with self._lock:
            if self._finished:
                return
            if not self._progress.completed:
                self._progress.closed = True
            if self._reading:  # another thread is inside next(): it finishes the close
                shutdown_connection(self._stream._response)
                return
            if self._opening:  # another thread is opening it (waiting, retrying, priming):
                self._stream.context.closed_early = True  # no further attempt is sent
                shutdown_connection(getattr(self._stream, "_priming", None))
                return  # that thread sees the close and cleans up
        self.close_now()

    def close_now(self) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self._unregister()
        close = getattr(self._inner, "close", None)  # the engine's generator, if started
        if close is not None:
            close()
        self._stream.close()

    def final_response(self) -> ChatResponse:
        if not self._iterating:
            for _ in self.events():
                pass
        elif not (self._progress.cancelled or self._progress.closed) and self._stopping():
            # the loop broke out on a cancel it had not seen yet
            self.close()
        if self._progress.cancelled:
            raise cancelled_error(self._stream, self._token, self._progress)
        return self._stream.final_response()
