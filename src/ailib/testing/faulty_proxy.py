"""A faulty TCP proxy for what a server cannot do politely: resets, stalls, drips, refusals.

:class:`FaultyProxy` listens on a loopback port in a background thread and forwards each
HTTP/1.1 request to an upstream server (usually a :class:`~ailib.testing.MockServer`),
applying the next queued :class:`Fault` to it. It serves sync and async clients alike.

Every request gets its own upstream connection and the client connection closes after one
response (``connection: close`` is asked of the upstream), so each request meets exactly
one fault, whatever the client's connection pool does. A request the proxy answers itself
(a reset, a stall) never reaches the upstream and consumes none of its scripted scenarios.

Example::

    from ailib.testing import MockServer, Scenario
    from ailib.testing.faulty_proxy import Fault, FaultyProxy

    with MockServer() as server, FaultyProxy(server) as proxy:
        proxy.push(Fault.reset_before_headers(), Fault.reset_mid_body(300))
        server.push(Scenario(text="a b c d e f"))
        url = proxy.base_url("openai")  # point the client here
        ...
        proxy.refuse_connections(for_seconds=0.2)  # the port is closed, then reopens
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

import attrs

__all__ = ["Fault", "FaultyProxy"]

_MAX_HEAD = 1 << 20
_READ = 65536
_CONNECTION = re.compile(rb"\r\n(?:connection|keep-alive|proxy-connection):[^\r\n]*", re.I)
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.I)
_KINDS = ("pass", "reset", "reset_mid_body", "drip_headers", "stall", "truncate_body")


class _Upstream(Protocol):
    host: str
    port: int

    @property
    def url(self) -> str: ...

    def base_url(self, dialect: str) -> str: ...


@attrs.frozen
class Fault:
    """What the proxy does to one request; build one with the class methods.

    * :meth:`passthrough` -- forward the request and relay the answer untouched;
    * :meth:`reset_before_headers` -- read the request, then reset the connection (RST);
    * :meth:`reset_mid_body` -- relay the headers and ``after`` body bytes, then RST;
    * :meth:`truncate_body` -- relay the headers and ``after`` body bytes, then close (FIN);
    * :meth:`drip_headers` -- relay the response head one byte every ``every`` seconds;
    * :meth:`stall` -- read the request and never answer (until the client hangs up).

    ``repeat`` is how many requests the fault applies to. Example::

        proxy.push(Fault.reset_before_headers(repeat=2), Fault.passthrough())
    """

    kind: str = attrs.field(validator=attrs.validators.in_(_KINDS))
    after: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    every: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))
    repeat: int = attrs.field(default=1, validator=attrs.validators.ge(1))

    @classmethod
    def passthrough(cls, repeat: int = 1) -> Fault:
        """Forward the request and relay the upstream's answer untouched."""
        return cls("pass", repeat=repeat)

    @classmethod
    def reset_before_headers(cls, repeat: int = 1) -> Fault:
        """Read the request, then reset the connection (SO_LINGER 0: a TCP RST)."""
        return cls("reset", repeat=repeat)

    @classmethod
    def reset_mid_body(cls, after: int, repeat: int = 1) -> Fault:
        """Relay the head and ``after`` bytes of the body (as sent: chunk framing
        included), then reset the connection."""
        return cls("reset_mid_body", after=after, repeat=repeat)

    @classmethod
    def truncate_body(cls, after: int, repeat: int = 1) -> Fault:
        """Relay the head and ``after`` bytes of the body, then close politely (FIN)."""
        return cls("truncate_body", after=after, repeat=repeat)

    @classmethod
    def drip_headers(cls, every: float, repeat: int = 1) -> Fault:
        """Relay the response head one byte every ``every`` seconds, then the rest."""
        return cls("drip_headers", every=every, repeat=repeat)

    @classmethod
    def stall(cls, repeat: int = 1) -> Fault:
        """Read the request and never answer: a provider that hangs."""
        return cls("stall", repeat=repeat)


_PASS = Fault.passthrough()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Abort the connection with a TCP RST (no FIN, unsent data dropped)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One whole request (head and Content-Length or chunked body); None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    if _CHUNKED.search(head):
        body = b""
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";")[0].strip() or b"0", 16)
            body += line + await reader.readexactly(size + 2)
            if size == 0:
                return head + body
    found = _LENGTH.search(head)
    length = int(found.group(1)) if found else 0
    return head + (await reader.readexactly(length) if length else b"")


def _one_shot(request: bytes) -> bytes:
    """``request`` asking the upstream to close after its answer (one answer per connection)."""
    head, sep, body = request.partition(b"\r\n\r\n")
    head = _CONNECTION.sub(b"", head) + b"\r\nconnection: close"
    return head + sep + body


class FaultyProxy:
    """A loopback TCP proxy in a background thread that injects :class:`Fault` s.

    Example::

        with FaultyProxy(mock_server) as proxy:
            proxy.push(Fault.stall())
            client = AiClient.create("openai/gpt-4o", base_url=proxy.base_url("openai"),
                                     timeout=0.3)

    ``applied`` lists the fault kind used for each request, in order (the last 10,000);
    ``connections`` counts accepted connections. With an empty queue the default applies
    (:meth:`set_default`; pass-through unless set).
    """

    def __init__(self, upstream: _Upstream, host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream
        self.host = host
        self.port = port
        self.applied: list[str] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._queue: deque[list[Any]] = deque()  # [fault, remaining]
        self._default: Fault | Callable[[bytes], Fault] = _PASS
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reopen: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ control

    @property
    def url(self) -> str:
        """``http://host:port`` of the proxy."""
        if self._thread is None:
            raise RuntimeError("FaultyProxy is not started")
        return f"http://{self.host}:{self.port}"

    def base_url(self, dialect: str) -> str:
        """The upstream's base URL for ``dialect``, through the proxy."""
        return self.url + self.upstream.base_url(dialect)[len(self.upstream.url) :]

    def push(self, fault: Fault, *more: Fault) -> None:
        """Queue faults; each request takes the next one."""
        with self._lock:
            for item in (fault, *more):
                self._queue.append([item, item.repeat])

    def set_default(self, fault: Fault | Callable[[bytes], Fault] | None) -> None:
        """The fault for requests when the queue is empty (``None``: pass-through).

        A callable is asked for each such request with its raw bytes (head and body): a
        fault mix, e.g. ``lambda raw: Fault.reset_before_headers() if b"stream" in raw
        else Fault.passthrough()``.
        """
        with self._lock:
            self._default = fault or _PASS

    def reset(self) -> None:
        """Clear the queue, the default and the counters; accept connections again."""
        with self._lock:
            self._queue.clear()
            self._default = _PASS
            self.applied.clear()
            self.connections = 0
        self.accept_connections()

    def refuse_connections(self, for_seconds: float | None = None) -> None:
        """Close the listening port: connecting is refused (ECONNREFUSED).

        With ``for_seconds`` the port reopens after that long; else at
        :meth:`accept_connections`. Connections already open go on.
        """
        self._call(self._close_port, for_seconds)

    def accept_connections(self) -> None:
        """Listen on the same port again (after :meth:`refuse_connections`)."""
        self._call(self._open_port)

    def start(self) -> FaultyProxy:
        """Start the proxy thread; returns once listening."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(
            target=self._run, args=(ready, failure), name="ailib-faulty-proxy", daemon=True
        )
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._thread = thread
        return self

    def stop(self) -> None:
        """Close every connection and stop the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ loop side

    def _call(self, coro_fn: Any, *args: Any) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            raise RuntimeError("FaultyProxy is not started")
        asyncio.run_coroutine_threadsafe(coro_fn(*args), loop).result(timeout=5)

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._open_port())
        except BaseException as exc:  # e.g. the port is taken: re-raised by start()
            failure.append(exc)
            loop.close()
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _open_port(self) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        if self._server is not None:
            return
        server = await asyncio.start_server(
            self._handle, self.host, self.port, limit=_MAX_HEAD, backlog=1024, reuse_address=True
        )
        self._server = server
        self.port = server.sockets[0].getsockname()[1]

    async def _close_port(self, for_seconds: float | None) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        if for_seconds is not None:
            loop = asyncio.get_running_loop()

            def reopen() -> None:
                self._reopen = None
                task = loop.create_task(self._open_port())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

            self._reopen = loop.call_later(for_seconds, reopen)

    async def _shutdown(self) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _next_fault(self, request: bytes) -> Fault:
        with self._lock:
            if self._queue:
                entry = self._queue[0]
                entry[1] -= 1
                if entry[1] <= 0:
                    self._queue.popleft()
                fault: Fault | Callable[[bytes], Fault] = entry[0]
            else:
                fault = self._default
        if callable(fault):  # asked outside the lock: it may take its own
            fault = fault(request)
        with self._lock:
            self.applied.append(fault.kind)
            del self.applied[:-10_000]
        return fault

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        with self._lock:
            self.connections += 1
        upstream: asyncio.StreamWriter | None = None
        try:
            request = await _read_request(reader)
            if request is None:
                return
            fault = self._next_fault(request)
            if fault.kind == "reset":
                _reset(writer)
                return
            if fault.kind == "stall":
                while await reader.read(_READ):  # until the client hangs up
                    pass
                return
            up_reader, upstream = await asyncio.open_connection(
                self.upstream.host, self.upstream.port, limit=_MAX_HEAD
            )
            upstream.write(_one_shot(request))
            await upstream.drain()
            await self._relay(fault, up_reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # either side went away: drop the connection
        except asyncio.CancelledError:
            pass  # shutdown
        finally:
            if upstream is not None:
                upstream.transport.abort()
            if not writer.transport.is_closing():
                writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _relay(
        self, fault: Fault, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = await up_reader.readuntil(b"\r\n\r\n")
        if fault.kind == "drip_headers":
            for i in range(len(head)):
                writer.write(head[i : i + 1])
                await writer.drain()
                await asyncio.sleep(fault.every)
        else:
            writer.write(head)
        budget = fault.after if fault.kind in ("reset_mid_body", "truncate_body") else None
        while True:
            data = await up_reader.read(_READ)
            if budget is not None and len(data) >= budget:
                data = data[:budget]
                writer.write(data)
                await writer.drain()
                if fault.kind == "reset_mid_body":
                    _reset(writer)  # what was sent stays readable before the reset error
                return
            if not data:
                break
            if budget is not None:
                budget -= len(data)
            writer.write(data)
            await writer.drain()
        await writer.drain()
