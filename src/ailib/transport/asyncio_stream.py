"""An asyncio-native network backend for httpcore's (and httpcore2's) async pools.

httpcore reaches the network through anyio. Under asyncio every read and write then
enters a cancel scope and a ``fail_after`` timer, looks up the running backend and maps
exceptions: about a fifth of the CPU of a small call. :class:`AsyncioBackend` speaks to
asyncio directly: one :class:`asyncio.Protocol` per connection buffers what arrives, a
read waits on one future with one timer handle for its timeout, and a write hands its
bytes to the transport and waits only when the transport asks for a pause.

Behaviour is httpcore's: the same exceptions (``ConnectError``/``ConnectTimeout``,
``ReadError``/``ReadTimeout``, ``WriteError``/``WriteTimeout`` of the package the pool
belongs to), TLS by :meth:`asyncio.loop.start_tls`, socket options applied once
connected, ``b""`` at the end of the stream. Under another event loop (trio) it hands the
call to the backend it wraps. ``get_extra_info("is_readable")`` (the pool's question
before reusing an idle connection: did its server close it or send unasked bytes?) is
answered from the buffer, with no system call.

Example::

    pool._network_backend = AsyncioBackend(pool._network_backend, httpcore)
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from collections.abc import Awaitable, Iterable
from types import ModuleType
from typing import Any, TypeVar

import sniffio

__all__ = ["AsyncioBackend", "AsyncioStream"]

T = TypeVar("T")

#: bytes buffered unread before the transport stops reading (and resumes below half)
HIGH_WATER = 1 << 20


class _Connection(asyncio.Protocol):
    """The protocol of one connection: buffers data, remembers the end and any error."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.eof = False
        self.lost = False
        self.error: BaseException | None = None
        self.reading_paused = False
        self.waiter: asyncio.Future[None] | None = None  # a read waiting for data
        self.drain: asyncio.Future[None] | None = None  # a write waiting for room
        self.writing_paused = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > HIGH_WATER and not self.reading_paused and self.transport:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # the transport closes itself: an HTTP/1.1 server is done with it

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if exc is not None and self.error is None:
            self.error = exc
        self._wake_reader()
        drain, self.drain = self.drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        drain, self.drain = self.drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    def _wake_reader(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` buffered bytes (some must be buffered)."""
        chunk = self.chunks.popleft()
        if len(chunk) > max_bytes:
            self.chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        self.buffered -= len(chunk)
        if self.reading_paused and self.buffered <= HIGH_WATER // 2 and self.transport:
            self.reading_paused = False
            self.transport.resume_reading()
        return chunk


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


_timeout: Any = getattr(asyncio, "timeout", None)  # Python 3.11+


async def _within(work: Awaitable[T], timeout: float | None) -> T:
    """``await work``; TimeoutError after ``timeout`` seconds (None: no limit). Not
    ``asyncio.wait_for``: before 3.12 it loses a cancel that arrives as ``work`` ends."""
    if timeout is None:
        return await work
    if _timeout is None:  # Python 3.10
        return await asyncio.wait_for(work, timeout)
    async with _timeout(timeout):
        return await work


async def _wait(future: asyncio.Future[None], timeout: float | None) -> None:
    """Await ``future``; TimeoutError after ``timeout`` seconds (None: no limit)."""
    if timeout is None:
        await future
        return
    handle = future.get_loop().call_later(max(timeout, 0.0), _expire, future)
    try:
        await future
    finally:
        handle.cancel()


class AsyncioStream:
    """One connection as httpcore's ``AsyncNetworkStream``, over an asyncio transport."""

    __slots__ = ("_conn", "_core", "_transport")

    def __init__(self, transport: Any, conn: _Connection, core: ModuleType) -> None:
        self._transport = transport
        self._conn = conn
        self._core = core

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        conn = self._conn
        if not conn.chunks:
            if conn.error is not None:
                raise self._core.ReadError(str(conn.error) or type(conn.error).__name__)
            if conn.eof or conn.lost:
                return b""
            waiter = conn.waiter = conn.loop.create_future()
            try:
                await _wait(waiter, timeout)
            except TimeoutError:
                raise self._core.ReadTimeout("timed out reading the response") from None
            finally:
                if conn.waiter is waiter:
                    conn.waiter = None
            if not conn.chunks:
                if conn.error is not None:
                    raise self._core.ReadError(str(conn.error) or type(conn.error).__name__)
                return b""
        return conn.take(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        conn = self._conn
        if conn.lost or self._transport.is_closing():
            raise self._core.WriteError(str(conn.error or "the connection is closed"))
        self._transport.write(buffer)
        if conn.writing_paused:
            drain = conn.drain = conn.loop.create_future()
            try:
                await _wait(drain, timeout)
            except TimeoutError:
                raise self._core.WriteTimeout("timed out writing the request") from None
            if conn.lost:
                raise self._core.WriteError(str(conn.error or "the connection is closed"))

    async def aclose(self) -> None:
        self._abort()

    def _abort(self) -> None:
        """Drop the connection now, as anyio's ``aclose`` does: ``close()`` would keep the
        socket (and its unsent bytes) for as long as a server that reads nothing more
        leaves them in the buffer. Not once the connection is lost: asyncio's ``abort()``
        then fails (its transport has no loop left)."""
        if not self._conn.lost:
            self._transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncioStream:
        conn = self._conn
        try:
            transport = await _within(
                conn.loop.start_tls(
                    self._transport, conn, ssl_context, server_hostname=server_hostname
                ),
                timeout,
            )
        except asyncio.TimeoutError:
            self._abort()
            raise self._core.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError) as exc:
            self._abort()
            raise self._core.ConnectError(str(exc) or type(exc).__name__) from None
        except BaseException:  # e.g. a trust store that cannot load: its own error
            self._abort()
            raise
        if transport is None:  # the connection closed during the handshake
            raise self._core.ConnectError("the connection closed during the TLS handshake")
        conn.transport = transport
        return AsyncioStream(transport, conn, self._core)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # the server sent something, closed, or the link broke
            conn = self._conn
            return bool(conn.chunks) or conn.eof or conn.lost
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info in ("ssl_object", "socket"):
            return self._transport.get_extra_info(info)
        return None


class AsyncioBackend:
    """httpcore's async network backend on asyncio directly (see the module docstring);
    under any other event loop, ``inner`` (the pool's own backend) serves."""

    def __init__(self, inner: Any, core: ModuleType) -> None:
        self._inner = inner
        self._core = core

    @staticmethod
    def _on_asyncio() -> bool:
        try:
            return sniffio.current_async_library() == "asyncio"
        except sniffio.AsyncLibraryNotFoundError:
            return False

    async def _open(self, connect: Any, timeout: float | None, options: Any) -> AsyncioStream:
        loop = asyncio.get_running_loop()
        conn = _Connection(loop)
        try:
            transport, _ = await _within(connect(loop, lambda: conn), timeout)
        except asyncio.TimeoutError:
            raise self._core.ConnectTimeout("timed out connecting") from None
        except OSError as exc:
            raise self._core.ConnectError(str(exc) or type(exc).__name__) from None
        sock = transport.get_extra_info("socket")
        try:
            for option in options or ():
                sock.setsockopt(*option)
        except OSError as exc:
            transport.abort()
            raise self._core.ConnectError(str(exc)) from None
        return AsyncioStream(transport, conn, self._core)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        if not self._on_asyncio():
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        local = None if local_address is None else (local_address, 0)

        def connect(loop: asyncio.AbstractEventLoop, factory: Any) -> Any:
            return loop.create_connection(  # IPv6 and IPv4 raced, as anyio does
                factory, host, port, local_addr=local, happy_eyeballs_delay=0.25
            )

        return await self._open(connect, timeout, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        if not self._on_asyncio() or not hasattr(socket, "AF_UNIX"):
            return await self._inner.connect_unix_socket(path, timeout, socket_options)

        def connect(loop: asyncio.AbstractEventLoop, factory: Any) -> Any:
            return loop.create_unix_connection(factory, path)

        return await self._open(connect, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        if self._on_asyncio():
            await asyncio.sleep(seconds)
        else:
            await self._inner.sleep(seconds)
