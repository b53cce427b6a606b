"""The aiohttp backend reads response headers through aiohttp's own parse, answering as
``httpx.Headers`` would; and sends the same request headers as before it did so.

Every response here comes from a real aiohttp client talking to a tiny server on
127.0.0.1 that writes the raw header block given, so aiohttp's parser (not a stand-in)
produces what :class:`AiohttpHeaders` reads.
"""

from __future__ import annotations

import asyncio
import copy
import pickle
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

pytest.importorskip("aiohttp")

from ailib.transport._aiohttp_headers import AiohttpHeaders
from ailib.transport.backends import PoolLimits, make_client

ASCII_BLOCK = (
    b"Content-Type: application/json\r\n"
    b"X-Request-Id: req-1\r\n"
    b"x-dup: a\r\n"
    b"X-Dup: b\r\n"
    b"Set-Cookie: s=1; Path=/\r\n"
    b"x-ratelimit-remaining-requests: 99\r\n"
)
#: a value that is not UTF-8 (Latin-1 bytes): httpx decodes every header as Latin-1 then
LATIN1_BLOCK = b"X-Name: caf\xe9\r\nX-Request-Id: req-2\r\n"
#: a UTF-8 value: httpx decodes every header as UTF-8 then
UTF8_BLOCK = b"X-Name: caf\xc3\xa9\r\nX-Request-Id: req-3\r\n"
#: names asked for, in several cases, present and absent
NAMES = [
    "content-type",
    "Content-Type",
    "X-REQUEST-ID",
    "x-dup",
    "X-Dup",
    "set-cookie",
    "x-name",
    "X-Ratelimit-Remaining-Requests",
    "content-encoding",
    "absent",
]


class RawServer:
    """A server on 127.0.0.1 answering every request with ``block`` as headers."""

    def __init__(self, block: bytes) -> None:
        self.block = block
        self.requests: list[bytes] = []
        self.url = ""
        self._server: asyncio.AbstractServer | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head)
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                await reader.readexactly(int(line.split(b":")[1]))
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
            + self.block
            + b"\r\n{}"
        )
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v1/x"
        return self

    async def __aexit__(self, *_: Any) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


async def _answer(block: bytes) -> tuple[AiohttpHeaders, httpx.Headers]:
    """(the adapter's headers, httpx.Headers of the same raw bytes) for one response."""
    async with RawServer(block) as server:
        client = make_client("aiohttp", 10.0, PoolLimits(), asynchronous=True)
        try:
            response = await client.post(server.url, content=b"{}")
        finally:
            await client.aclose()
    headers = response.headers
    assert isinstance(headers, AiohttpHeaders) and isinstance(headers, httpx.Headers)
    return headers, httpx.Headers(headers.raw)


def _reads(headers: httpx.Headers) -> dict[str, Any]:
    """Everything ailib (or a caller) may read of response headers."""
    seen: dict[str, Any] = {
        "items": list(headers.items()),
        "multi_items": headers.multi_items(),
        "keys": list(headers.keys()),
        "values": list(headers.values()),
        "raw": headers.raw,
        "iter": list(headers),
        "len": len(headers),
        "dict": dict(headers),
        "encoding": headers.encoding,
    }
    for name in NAMES:
        seen[f"get {name}"] = headers.get(name)
        seen[f"get default {name}"] = headers.get(name, "identity")
        seen[f"in {name}"] = name in headers
        seen[f"get_list {name}"] = headers.get_list(name)
        seen[f"get_list split {name}"] = headers.get_list(name, split_commas=True)
        try:
            seen[f"[] {name}"] = headers[name]
        except KeyError as exc:
            seen[f"[] {name}"] = ("KeyError", exc.args)
    return seen


@pytest.mark.parametrize("block", [ASCII_BLOCK, LATIN1_BLOCK, UTF8_BLOCK, b""])
async def test_every_read_matches_httpx_headers(block: bytes) -> None:
    ours, theirs = await _answer(block)
    assert _reads(ours) == _reads(theirs)
    assert ours == theirs and repr(ours) == repr(theirs)


async def test_repeated_headers_are_joined_and_lookups_ignore_case() -> None:
    ours, _ = await _answer(ASCII_BLOCK)
    assert ours["X-DUP"] == "a, b" and ours.get("x-dup") == "a, b"
    assert ours.get_list("x-dup") == ["a", "b"]
    assert "SET-COOKIE" in ours and "set-cookies" not in ours
    with pytest.raises(KeyError):
        ours["content-encoding"]


async def test_non_ascii_values_read_as_httpx_decodes_them() -> None:
    latin1, _ = await _answer(LATIN1_BLOCK)
    assert latin1["x-name"] == "café" and latin1.encoding == "iso-8859-1"
    utf8, _ = await _answer(UTF8_BLOCK)
    assert utf8["x-name"] == "café" and utf8.encoding == "utf-8"


async def test_a_changed_header_is_read_back() -> None:
    ours, theirs = await _answer(ASCII_BLOCK)
    for headers in (ours, theirs):
        headers["X-Request-Id"] = "changed"
        del headers["x-dup"]
        headers.update({"x-new": "1"})
        assert headers.pop("set-cookie") == "s=1; Path=/"
    assert _reads(ours) == _reads(theirs)
    assert ours["x-request-id"] == "changed" and "x-dup" not in ours and ours["x-new"] == "1"


async def test_a_new_encoding_is_used_for_every_read() -> None:
    ours, theirs = await _answer(UTF8_BLOCK)
    ours.encoding = theirs.encoding = "iso-8859-1"
    assert ours["x-name"] == theirs["x-name"] == "cafÃ©"
    assert _reads(ours) == _reads(theirs)


async def test_pickled_or_copied_headers_are_plain_httpx_headers() -> None:
    ours, theirs = await _answer(ASCII_BLOCK)
    for again in (pickle.loads(pickle.dumps(ours)), copy.copy(ours), copy.deepcopy(ours)):
        assert type(again) is httpx.Headers
        assert _reads(again) == _reads(theirs)
    assert type(ours.copy()) is httpx.Headers and ours.copy() == theirs


async def test_request_headers_sent_once_each() -> None:
    """ailib's User-Agent goes out exactly once (a caller's replaces it), with aiohttp's
    Accept and Accept-Encoding only where the request has none of its own."""
    async with RawServer(b"") as server:
        client = make_client("aiohttp", 10.0, PoolLimits(), asynchronous=True)
        try:
            await client.post(
                server.url, content=b"{}", headers={"content-type": "application/json"}
            )
            await client.post(server.url, content=b"{}", headers={"User-Agent": "mine"})
            await client.post(server.url, json={"a": 1}, headers={"accept-encoding": "gzip"})
        finally:
            await client.aclose()
    first, second, third = (_names(head) for head in server.requests)
    assert first["user-agent"] == [f"ailib (aiohttp/{_aiohttp_version()})"]
    assert first["accept"] == ["*/*"] and first["content-type"] == ["application/json"]
    assert second["user-agent"] == ["mine"]
    assert third["accept-encoding"] == ["gzip"] and third["user-agent"][0].startswith("ailib")
    for sent in (first, second, third):
        assert all(len(values) == 1 for values in sent.values()), sent


def _names(head: bytes) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        if line:
            name, _, value = line.partition(":")
            found.setdefault(name.strip().lower(), []).append(value.strip())
    return found


def _aiohttp_version() -> str:
    import aiohttp

    return aiohttp.__version__


async def _chunks(response: Any) -> AsyncIterator[bytes]:
    async for chunk in response.aiter_raw():
        yield chunk


async def test_body_read_once_then_stream_consumed() -> None:
    async with RawServer(b"") as server:
        client = make_client("aiohttp", 10.0, PoolLimits(), asynchronous=True)
        try:
            response = await client.send(
                client.build_request("POST", server.url, content=b"{}"), stream=True
            )
            assert [chunk async for chunk in _chunks(response)] == [b"{}"]
            assert response.num_bytes_downloaded == 2
            with pytest.raises(httpx.StreamConsumed):
                [chunk async for chunk in _chunks(response)]
            await response.aclose()
        finally:
            await client.aclose()


async def test_plain_httpx_headers_if_httpx_keeps_them_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ailib.transport import _aiohttp_headers

    monkeypatch.setattr(_aiohttp_headers, "_FITS", False)
    async with RawServer(ASCII_BLOCK) as server:
        client = make_client("aiohttp", 10.0, PoolLimits(), asynchronous=True)
        try:
            response = await client.post(server.url, content=b"{}")
        finally:
            await client.aclose()
    assert type(response.headers) is httpx.Headers
    assert response.headers["x-dup"] == "a, b"
