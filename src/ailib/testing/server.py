"""A fast loopback HTTP/1.1 server that impersonates LLM provider APIs.

The server runs an :mod:`asyncio` event loop in a background thread and speaks a
minimal hand-written HTTP/1.1 (keep-alive, ``Content-Length`` or chunked request
bodies, chunked streaming responses).  Responses are rendered by
:mod:`ailib.testing.dialects` from queued :class:`~ailib.testing.Scenario` objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import threading
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote

from ailib.testing.batch_routes import BatchStore, dispatch_batch
from ailib.testing.dialects import DIALECTS, Reply, error_reply, render
from ailib.testing.routes import BASE_PATHS, ROUTES, Route, load_plugins
from ailib.testing.scenario import Call, RecordedRequest, Scenario

load_plugins()

__all__ = ["MockServer"]

_GEMINI_PATH = re.compile(
    r"^/v1(?:beta|alpha)?/models/([^/:]+):(generateContent|streamGenerateContent)$"
)
_ECHO = Scenario()
_MODELS = ["echo", "gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "gemini-2.0-flash"]
_BAD_JSON = {
    "openai": "We could not parse the JSON body of your request. (HINT: This likely means you "
    "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what "
    "was sent was not valid JSON.)",
    "anthropic": "There was an issue with your request body: invalid JSON",
    "gemini": "Invalid JSON payload received.",
}
_MAX_HEAD = 1 << 20


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Overloaded" if status == 529 else "Unknown"


class _BadRequest(Exception):
    pass


class MockServer:
    """Loopback server answering OpenAI, Anthropic and Gemini requests from scripts.

    Example::

        from ailib.testing import MockServer, Scenario

        with MockServer() as server:  # port 0: a free port is picked
            server.push(Scenario(text="Hi!"), Scenario(status=429, retry_after=1))
            r = httpx.post(server.base_url("openai") + "/chat/completions",
                           json={"model": "gpt-4o-mini", "messages": [...]})
            assert r.json()["choices"][0]["message"]["content"] == "Hi!"
            assert server.requests[0].dialect == "openai"

    Each request to a generation endpoint consumes the next queued scenario (a
    scenario with ``repeat=n`` answers ``n`` requests); with an empty queue the
    default applies (:meth:`set_default`; echo when ``None``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._queue: deque[list[Any]] = deque()  # [scenario, remaining answers]
        self._default: Scenario | Callable[[dict[str, Any]], Scenario] | None = None
        self._seq = itertools.count(1)
        self._tool_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: streamed responses (with ``chunk_delay``) the client closed before their end
        self.aborted_streams = 0
        #: in-memory batch jobs (see :mod:`ailib.testing.batch_routes`)
        self.batches = BatchStore()

    # ------------------------------------------------------------------ control

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._thread is None:
            raise RuntimeError("MockServer is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def base_url(self, dialect: str) -> str:
        """Base URL for a provider client: ``/v1beta`` for Gemini, ``/v1`` otherwise."""
        if dialect in BASE_PATHS:
            return self.url + BASE_PATHS[dialect]
        return self.url + ("/v1beta" if dialect in ("gemini", "google") else "/v1")

    def push(self, scenario: Scenario, *more: Scenario) -> None:
        """Queue scenarios; each request consumes the next one."""
        with self._lock:
            for item in (scenario, *more):
                self._queue.append([item, item.repeat])

    def set_default(self, scenario: Scenario | Callable[[dict[str, Any]], Scenario] | None) -> None:
        """Answer used when the queue is empty (``None``: echo).

        A callable is asked for each such request, with its JSON body: a fault mix, e.g.
        ``lambda body: Scenario(status=500) if random.random() < 0.05 else Scenario()``.
        """
        with self._lock:
            self._default = scenario

    def reset(self) -> None:
        """Clear queued scenarios, the default, recorded requests, id counters and the
        count of streams the client hung up on."""
        with self._lock:
            self._queue.clear()
            self._default = None
            self.requests.clear()
            self.aborted_streams = 0
            self._seq = itertools.count(1)
            self._tool_ids = itertools.count(1)
        self.batches.clear()

    def start(self) -> MockServer:
        """Start serving in a background thread; returns once listening."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(
            target=self._run, args=(ready, failure), name="ailib-mock-server", daemon=True
        )
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._thread = thread
        return self

    def stop(self) -> None:
        """Close all connections and stop the server thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            server = loop.run_until_complete(
                asyncio.start_server(
                    self._handle, self.host, self.port, limit=_MAX_HEAD, backlog=1024
                )
            )
        except BaseException as exc:  # e.g. port in use: re-raised by start()
            failure.append(exc)
            loop.close()
            ready.set()
            return
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while await self._serve_one(reader, writer):
                pass
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # client went away or sent garbage: just drop the connection
        except asyncio.CancelledError:
            pass  # server shutdown
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # the client closed the connection between requests
        except asyncio.LimitOverrunError:
            await self._send_plain(writer, 431)
            return False
        try:
            method, target, version, headers = self._parse_head(head)
            if headers.get("expect", "").lower() == "100-continue":  # e.g. curl, large bodies
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = await self._read_body(reader, headers)
        except _BadRequest:
            await self._send_plain(writer, 400)
            return False
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.1":
            keep_alive = "close" not in connection
        else:
            keep_alive = "keep-alive" in connection
        path, _, raw_query = target.partition("?")
        path = unquote(path)
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        try:
            reply, scenario = self._dispatch(method, path, query, headers, body)
        except Exception as exc:  # a rendering bug must not hang the client
            call = Call("openai", "unknown", {}, False, 0)
            reply, scenario = error_reply(call, 500, f"mock server error: {exc!r}"), None
        if scenario is not None and scenario.delay > 0:
            await asyncio.sleep(scenario.delay)
        if scenario is not None and scenario.hang:  # a provider that hangs
            if scenario.cut_after is not None:  # after the head and some events
                await self._send(writer, reply, scenario, keep_alive)
            while await reader.read(65536):  # silence until the client hangs up
                pass
            return False
        return await self._send(writer, reply, scenario, keep_alive)

    @staticmethod
    def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
        lines = head[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _BadRequest
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return parts[0].upper(), parts[1], parts[2], headers

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise _BadRequest from None
                if size == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            raise _BadRequest from None
        return await reader.readexactly(length) if length > 0 else b""

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[Reply, Scenario | None]:
        batch = dispatch_batch(self, method, path, query, headers, body)
        if batch is not None:  # OpenAI / Anthropic / Gemini batch APIs
            return batch, None
        for route in ROUTES:
            found = route.match(method, path)
            if found is not None:
                return self._dispatch_route(route, found, method, path, query, headers, body)
        gemini = _GEMINI_PATH.match(path) if method == "POST" else None
        if method == "POST" and path.endswith("/chat/completions"):
            dialect = "openai"
        elif method == "POST" and path in ("/v1/messages", "/messages"):
            dialect = "anthropic"
        elif gemini is not None or (method == "GET" and path.startswith("/v1beta/models")):
            dialect = "gemini"
        elif method == "GET" and path in ("/v1/models", "/models"):
            dialect = "anthropic" if "anthropic-version" in headers else "openai"
        else:
            dialect = "unknown"
        with self._lock:
            self.requests.append(RecordedRequest(method, path, query, headers, body, dialect))
            seq = next(self._seq)
        if dialect == "unknown":
            call = Call("openai", "unknown", {}, False, seq)
            return error_reply(call, 404, f"Invalid URL ({method} {path})"), None
        if method == "GET":
            return self._models(Call(dialect, "", {}, False, seq)), None
        model = gemini.group(1) if gemini is not None else "unknown"
        stream = gemini is not None and gemini.group(2) == "streamGenerateContent"
        sse = query.get("alt") == "sse"
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
        except ValueError:
            call = Call(dialect, model, {}, stream, seq, sse)
            return error_reply(call, 400, _BAD_JSON[dialect]), None
        if gemini is None:
            model = str(payload.get("model") or "unknown")
            stream = payload.get("stream") is True
        scenario = self._next_scenario(payload)
        call = Call(dialect, model, payload, stream, seq, sse)
        return render(call, scenario, self._next_tool_id), scenario

    def _dispatch_route(
        self,
        route: Route,
        found: re.Match[str],
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[Reply, Scenario | None]:
        """A request for a plugin dialect (see :mod:`ailib.testing.routes`)."""
        with self._lock:
            self.requests.append(RecordedRequest(method, path, query, headers, body, route.dialect))
            seq = next(self._seq)
        try:
            payload = json.loads(body) if body else {}
            if not isinstance(payload, dict):
                raise ValueError("not an object")
        except ValueError:
            call = Call(route.dialect, "unknown", {}, False, seq)
            return error_reply(call, 400, "invalid JSON body"), None
        model = route.model(found, payload)
        call = Call(route.dialect, model, payload, route.stream(found, payload, query), seq)
        scenario = self._next_scenario(payload)
        return render(call, scenario, self._next_tool_id), scenario

    def _next_scenario(self, payload: dict[str, Any]) -> Scenario:
        with self._lock:
            if self._queue:
                entry = self._queue[0]
                entry[1] -= 1
                if entry[1] <= 0:
                    self._queue.popleft()
                scenario: Scenario = entry[0]
                return scenario
            default = self._default
        if callable(default):  # asked outside the lock: it may take its own
            return default(payload)
        return default or _ECHO

    def _next_tool_id(self) -> int:
        return next(self._tool_ids)

    @staticmethod
    def _models(call: Call) -> Reply:
        body: Any
        if call.dialect == "gemini":
            body = {"models": [
                {"name": f"models/{m}", "version": "001", "displayName": m,
                 "description": f"Mock {m}", "inputTokenLimit": 1048576, "outputTokenLimit": 8192,
                 "supportedGenerationMethods": ["generateContent", "countTokens"],
                 "temperature": 1, "topP": 0.95, "topK": 40, "maxTemperature": 2}
                for m in _MODELS
            ]}  # fmt: skip
            raw = json.dumps(body, indent=2) + "\n"
        elif call.dialect == "anthropic":
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in _MODELS
            ]
            body = {"data": data, "has_more": False, "first_id": _MODELS[0], "last_id": _MODELS[-1]}
            raw = json.dumps(body, separators=(",", ":"))
        else:
            body = {"object": "list", "data": [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "ailib"}
                for m in _MODELS
            ]}  # fmt: skip
            raw = json.dumps(body, indent=2) + "\n"
        return Reply(200, DIALECTS[call.dialect].headers(call), raw.encode())

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        reply: Reply,
        scenario: Scenario | None,
        keep_alive: bool,
    ) -> bool:
        cut = scenario.cut_after if scenario is not None else None
        lines = [f"HTTP/1.1 {reply.status} {_reason(reply.status)}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        if reply.events is None:
            lines.append(f"content-length: {len(reply.body)}")
            lines.append("connection: keep-alive" if keep_alive else "connection: close")
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
            if cut is not None:  # truncated body, then close
                writer.write(head + reply.body[:cut])
                await writer.drain()
                return False
            writer.write(head + reply.body)
            await writer.drain()
            return keep_alive
        lines.append("transfer-encoding: chunked")
        lines.append("connection: keep-alive" if keep_alive else "connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        frames = [b"%x\r\n%b\r\n" % (len(event), event) for event in reply.events if event]
        if cut is not None:
            frames = frames[:cut]
        end = b"" if cut is not None else b"0\r\n\r\n"
        delay = scenario.chunk_delay if scenario is not None else 0.0
        if delay <= 0:
            writer.write(b"".join([head, *frames, end]))
            await writer.drain()
        else:
            writer.write(head)
            try:
                for i, frame in enumerate(frames):
                    if i:
                        await asyncio.sleep(delay)
                    writer.write(frame)
                    await writer.drain()
                if end:
                    writer.write(end)
                    await writer.drain()
            except ConnectionError:  # the client hung up mid-stream
                with self._lock:
                    self.aborted_streams += 1
                raise
        return keep_alive and cut is None

    @staticmethod
    async def _send_plain(writer: asyncio.StreamWriter, status: int) -> None:
        body = _reason(status).encode()
        head = f"HTTP/1.1 {status} {_reason(status)}\r\ncontent-type: text/plain\r\n"
        head += f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
