"""Cooperative cancellation: tokens, handles and streams that stop at once (sync and async).

A :class:`CancelHandle` cancels; its :class:`CancelToken` is what the work watches. A
:class:`CancellableStream` wraps a chat stream (``ChatStream`` or ``AsyncChatStream``) so
that cancelling the token, ``break``, ``close()``/``aclose()`` or cancelling the asyncio
task closes the HTTP response at once, even while the loop waits for the next chunk.

After a cancel the loop simply ends (``raise_on_cancel=True`` raises instead), and
``final_response()`` raises :class:`~ailib.errors.CancelledError` (E4002) with
``.partial``, what had arrived, and ``.reason``. The streams' drivers load on first use:
``_stream_cancel.py`` (sync: shuts the socket down) and ``_async_cancel.py`` (asyncio).

Example::

    from ailib.client import create_cancel_pair, CancellableStream, CancelReason

    token, handle = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("Write a long story").stream(), token)
    threading.Timer(2.0, handle.cancel).start()  # any thread or task may cancel
    for event in cancellable:
        if event.is_content_delta:
            print(event.as_content_delta.content, end="")
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ailib.errors import CancelledError, InvalidRequestError

if TYPE_CHECKING:
    from ailib.resilience._async_cancel import AsyncStreamDriver
    from ailib.resilience._stream_cancel import SyncStreamDriver
    from ailib.runtime._async_stream import AsyncChatStream
    from ailib.runtime._sync_stream import ChatStream
    from ailib.types.events import StreamEvent
    from ailib.types.response import ChatResponse

__all__ = [
    "CancelHandle",
    "CancelReason",
    "CancelToken",
    "CancellableStream",
    "create_cancel_pair",
]


class CancelReason(str, enum.Enum):
    """Why work was cancelled; carried by the token and by ``CancelledError.reason``."""

    USER_REQUEST = "user_request"
    TIMEOUT = "timeout"
    SHUTDOWN = "shutdown"
    CLIENT_DISCONNECTED = "client_disconnected"
    ERROR = "error"


#: called once with the reason, in the thread that cancels
CancelCallback = Callable[[CancelReason], object]


def _nothing() -> None:
    """The remover of a callback that already ran."""


class CancelToken:
    """What cancellable work watches: ``is_cancelled``, ``reason``, waits and callbacks.

    Thread-safe; one token may stop many streams and be awaited on several event loops.

    Example::

        token, handle = create_cancel_pair()
        remove = token.on_cancel(lambda reason: print("stopped:", reason.value))
        handle.cancel(CancelReason.SHUTDOWN)
        assert token.is_cancelled and token.reason is CancelReason.SHUTDOWN
        token.wait(1.0)                  # threads: True at once
        await token.wait_async(1.0)      # asyncio, on any loop: True at once
    """

    __slots__ = ("__weakref__", "_callbacks", "_event", "_ids", "_lock", "_reason")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._reason: CancelReason | None = None
        self._callbacks: dict[int, CancelCallback] = {}
        self._ids = itertools.count()

    @property
    def is_cancelled(self) -> bool:
        return self._event.is_set()

    @property
    def reason(self) -> CancelReason | None:
        """Why the token was cancelled; ``None`` while it is not."""
        return self._reason

    def wait(self, timeout: float | None = None) -> bool:
        """Block this thread until cancelled or ``timeout`` seconds passed; True if cancelled."""
        return self._event.wait(timeout)

    async def wait_async(self, timeout: float | None = None) -> bool:
        """Await the cancel without blocking the loop (cancelled from any thread or loop)."""
        import asyncio  # lazily: sync users never load asyncio for a token

        if self.is_cancelled:
            return True
        loop = asyncio.get_running_loop()
        seen: asyncio.Future[None] = loop.create_future()
        remove = self.on_cancel(lambda _reason: resolve_soon(loop, seen))
        try:
            done, _ = await asyncio.wait((seen,), timeout=timeout)
            return bool(done)
        finally:
            remove()
            seen.cancel()

    def on_cancel(self, callback: CancelCallback) -> Callable[[], None]:
        """Call ``callback(reason)`` once when cancelled (at once if it already is).

        The callback runs in the cancelling thread; returns a function that unregisters it.
        """
        if not callable(callback):
            raise InvalidRequestError(f"on_cancel needs a callable, not {type(callback).__name__}")
        with self._lock:
            reason = self._reason
            if reason is None:
                key = next(self._ids)
                self._callbacks[key] = callback
                return lambda: self._forget(key)
        callback(reason)
        return _nothing

    def raise_if_cancelled(self) -> None:
        """Raise :class:`~ailib.errors.CancelledError` (E4002) if the token is cancelled."""
        reason = self._reason
        if reason is not None:
            raise CancelledError(f"cancelled ({reason.value})", reason=reason)

    def _forget(self, key: int) -> None:
        with self._lock:
            self._callbacks.pop(key, None)

    def _cancel(self, reason: CancelReason) -> bool:
        with self._lock:
            if self._reason is not None:
                return False
            self._reason = reason
            self._event.set()
            callbacks = list(self._callbacks.values())
            self._callbacks.clear()
        failures: list[Exception] = []
        for callback in callbacks:  # every callback runs, even after one failed
            try:
                callback(reason)
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]
        return True

    def __repr__(self) -> str:
        reason = self._reason
        if reason is None:
            return "CancelToken(cancelled=False)"
        return f"CancelToken(cancelled=True, reason={reason.name})"


class CancelHandle:
    """Cancels its token: ``handle.cancel(reason)``, from any thread or asyncio task.

    Example::

        token, handle = create_cancel_pair()
        handle.cancel()                       # CancelReason.USER_REQUEST
        handle.cancel(CancelReason.TIMEOUT)   # False: already cancelled, reason kept
    """

    __slots__ = ("_token",)

    def __init__(self, token: CancelToken) -> None:
        if not isinstance(token, CancelToken):
            raise InvalidRequestError(
                f"CancelHandle needs a CancelToken, not {type(token).__name__}"
            )
        self._token = token

    @property
    def token(self) -> CancelToken:
        return self._token

    @property
    def is_cancelled(self) -> bool:
        return self._token.is_cancelled

    def cancel(self, reason: CancelReason | str = CancelReason.USER_REQUEST) -> bool:
        """Cancel the token; True if this call did it, False if it was already cancelled.

        Callbacks registered with ``on_cancel`` run now, in this thread; the first one
        that raised is re-raised after all of them ran.
        """
        return self._token._cancel(_reason(reason))

    def __repr__(self) -> str:
        return f"CancelHandle(token={self._token!r})"


def _reason(value: CancelReason | str) -> CancelReason:
    try:
        return CancelReason(value)
    except ValueError:
        names = ", ".join(r.name for r in CancelReason)
        raise InvalidRequestError(
            f"unknown cancel reason {value!r}: use a CancelReason ({names})"
        ) from None


def create_cancel_pair() -> tuple[CancelToken, CancelHandle]:
    """A new token and the handle that cancels it: ``token, handle = create_cancel_pair()``."""
    token = CancelToken()
    return token, CancelHandle(token)


def resolve_soon(loop: Any, future: Any) -> None:
    """Set ``future`` (of ``loop``) to None from any thread; a closed loop is left alone."""

    def settle() -> None:
        if not future.done():
            future.set_result(None)

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody awaits there any more
        loop.call_soon_threadsafe(settle)


# ---- streams -------------------------------------------------------------------------------


class StreamProgress:
    """What a cancellable stream did: events delivered, and how it stopped."""

    __slots__ = ("cancelled", "closed", "completed", "events")

    def __init__(self) -> None:
        self.events = 0
        self.completed = False  # read to its end
        self.cancelled = False  # stopped by the token before its end
        self.closed = False  # closed (close(), aclose(), break) before its end


S = TypeVar("S", "ChatStream", "AsyncChatStream")


class CancellableStream(Generic[S]):
    """A chat stream that a :class:`CancelToken` (or ``break``/close) stops at once.

    Works on ``ChatStream`` (``for``, ``with``, ``close()``, ``final_response()``) and on
    ``AsyncChatStream`` (``async for``, ``async with``, ``await aclose()``,
    ``await final_response()``). On a cancel the HTTP response closes at once, even while
    the loop is blocked waiting for the next chunk, and iteration ends without an error
    (``raise_on_cancel=True``: raises ``CancelledError``); ``final_response()`` then raises
    ``CancelledError`` (E4002) with ``.partial`` and ``.reason``. A token already cancelled
    sends no request at all.

    When the response closes: on a cancel, ``close()``/``aclose()`` or a cancelled task,
    at once; on ``break``, at once in ``for`` and as soon as the event loop runs again in
    ``async for`` (Python finalises an abandoned async generator that way; ``async with``
    closes at the end of its block). A sync stream still waiting for the response headers
    sees a cancel when they arrive (or its timeout passes).

    Example::

        token, handle = create_cancel_pair()
        stream = client.chat().user("Write a long story...").stream()
        cancellable = CancellableStream(stream, token)
        # in another task or thread: handle.cancel(CancelReason.USER_REQUEST)
        async for event in cancellable:
            if event.is_content_delta:
                print(event.as_content_delta.content, end="")
        if token.is_cancelled:
            print("\\n[Cancelled]")
    """

    def __init__(self, stream: S, token: CancelToken, *, raise_on_cancel: bool = False) -> None:
        if not isinstance(token, CancelToken):
            raise InvalidRequestError(
                f"CancellableStream needs a CancelToken, not {type(token).__name__}: "
                "token, handle = create_cancel_pair()"
            )
        self._asynchronous = hasattr(stream, "__aiter__")
        if not self._asynchronous and not hasattr(stream, "__iter__"):
            raise InvalidRequestError(
                f"CancellableStream wraps a ChatStream or AsyncChatStream, not "
                f"{type(stream).__name__}"
            )
        self._stream: S = stream
        self._token = token
        self._raise = raise_on_cancel
        self._progress = StreamProgress()
        self._sync: SyncStreamDriver | None = None
        self._async: AsyncStreamDriver | None = None

    @property
    def stream(self) -> S:
        """The wrapped stream."""
        return self._stream

    @property
    def token(self) -> CancelToken:
        return self._token

    @property
    def cancelled(self) -> bool:
        """True when the token stopped this stream before its end."""
        return self._progress.cancelled

    @property
    def events_delivered(self) -> int:
        return self._progress.events

    def __repr__(self) -> str:
        state = "cancelled" if self.cancelled else "completed" if self._progress.completed else ""
        state = state or ("closed" if self._progress.closed else "open")
        return f"CancellableStream({type(self._stream).__name__}, {state}, token={self._token!r})"

    # ---- sync ------------------------------------------------------------------------------

    def _sync_driver(self) -> SyncStreamDriver:
        if self._asynchronous:
            raise TypeError(
                "this CancellableStream wraps an AsyncChatStream: use `async for`, "
                "`async with`, `await aclose()` and `await final_response()`"
            )
        if self._sync is None:
            from ailib.resilience._stream_cancel import SyncStreamDriver

            stream: Any = self._stream  # a ChatStream here
            self._sync = SyncStreamDriver(stream, self._token, self._progress, self._raise)
        return self._sync

    def __iter__(self: CancellableStream[ChatStream]) -> Iterator[StreamEvent]:
        return self._sync_driver().events()

    def __enter__(self: CancellableStream[ChatStream]) -> CancellableStream[ChatStream]:
        self._sync_driver().enter()
        return self

    def __exit__(
        self: CancellableStream[ChatStream],
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self: CancellableStream[ChatStream]) -> None:
        """Close the HTTP response now (safe from any thread); the loop ends quietly."""
        self._sync_driver().close()

    # ---- async -----------------------------------------------------------------------------

    def _async_driver(self) -> AsyncStreamDriver:
        if not self._asynchronous:
            raise TypeError(
                "this CancellableStream wraps a sync ChatStream: use `for`, `with`, "
                "`close()` and `final_response()`"
            )
        if self._async is None:
            from ailib.resilience._async_cancel import AsyncStreamDriver

            stream: Any = self._stream  # an AsyncChatStream here
            self._async = AsyncStreamDriver(stream, self._token, self._progress, self._raise)
        return self._async

    def __aiter__(self: CancellableStream[AsyncChatStream]) -> AsyncIterator[StreamEvent]:
        return self._async_driver().events()

    async def __aenter__(
        self: CancellableStream[AsyncChatStream],
    ) -> CancellableStream[AsyncChatStream]:
        await self._async_driver().open()
        return self

    async def __aexit__(
        self: CancellableStream[AsyncChatStream],
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self: CancellableStream[AsyncChatStream]) -> None:
        """Close the HTTP response now (from any task on the stream's loop)."""
        await self._async_driver().aclose()

    # ---- both ------------------------------------------------------------------------------

    @overload
    def final_response(self: CancellableStream[ChatStream]) -> ChatResponse: ...

    @overload
    def final_response(
        self: CancellableStream[AsyncChatStream],
    ) -> Awaitable[ChatResponse]: ...

    def final_response(self) -> ChatResponse | Awaitable[ChatResponse]:
        """The whole response (reads the rest, still cancellable); after a cancel raises
        ``CancelledError`` (E4002) with ``.partial``. Async streams: ``await`` it."""
        if self._asynchronous:
            return self._async_driver().final_response()
        return self._sync_driver().final_response()
