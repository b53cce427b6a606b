"""The fault injectors themselves, with plain httpx: the faulty proxy and the mock
server's fault additions (``hang``, a per-request default)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from ailib.testing import MockServer, Scenario
from ailib.testing.faulty_proxy import Fault, FaultyProxy

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
STREAM = {**BODY, "stream": True}


def _post(proxy: FaultyProxy, body: dict[str, object], timeout: float = 2.0) -> bytes:
    """The raw body the client got (an httpx error propagates)."""
    url = proxy.base_url("openai") + "/chat/completions"
    with httpx.Client(timeout=timeout) as client, client.stream("POST", url, json=body) as resp:
        return b"".join(resp.iter_raw())


def test_passthrough_relays_the_answer_unchanged(
    proxy: FaultyProxy, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(text="a b c"), Scenario(text="a b c"))
    direct = httpx.post(mock_server.base_url("openai") + "/chat/completions", json=STREAM)
    relayed = _post(proxy, STREAM)
    strip = [line for line in relayed.split(b"\n") if b'"created"' not in line]
    assert strip == [line for line in direct.content.split(b"\n") if b'"created"' not in line]
    assert proxy.applied == ["pass"] and len(mock_server.requests) == 2
    assert mock_server.requests[1].headers["connection"] == "close"  # one answer per connection


def test_each_request_meets_the_next_fault_then_the_default(
    proxy: FaultyProxy, mock_server: MockServer
) -> None:
    proxy.push(Fault.reset_before_headers(repeat=2), Fault.truncate_body(10))
    for _ in range(2):
        with pytest.raises(httpx.ReadError):
            _post(proxy, BODY)
    with pytest.raises(httpx.RemoteProtocolError):
        _post(proxy, BODY)
    assert json.loads(_post(proxy, BODY))["choices"][0]["message"]["content"] == "echo: hi"
    assert proxy.applied == ["reset", "reset", "truncate_body", "pass"]
    assert len(mock_server.requests) == 2  # resets never reach the server


def test_reset_mid_body_delivers_exactly_the_bytes_before_it(proxy: FaultyProxy) -> None:
    proxy.push(Fault.reset_mid_body(50))
    url = proxy.base_url("openai") + "/chat/completions"
    got = b""
    with (
        httpx.Client() as client,
        pytest.raises(httpx.ReadError),
        client.stream("POST", url, json=BODY) as resp,
    ):
        for chunk in resp.iter_raw():
            got += chunk
    assert len(got) == 50


def test_dripped_headers_arrive_whole_but_late(proxy: FaultyProxy) -> None:
    proxy.push(Fault.drip_headers(every=0.001))
    started = time.monotonic()
    body = _post(proxy, BODY)
    assert json.loads(body)["choices"][0]["message"]["content"] == "echo: hi"
    assert time.monotonic() - started >= 0.1  # one byte a millisecond, a few hundred bytes


def test_stall_holds_until_the_client_gives_up(proxy: FaultyProxy) -> None:
    proxy.push(Fault.stall())
    with pytest.raises(httpx.ReadTimeout):
        _post(proxy, BODY, timeout=0.2)


def test_refused_port_reopens_on_the_same_port(proxy: FaultyProxy) -> None:
    port = proxy.port
    proxy.refuse_connections()
    with pytest.raises(httpx.ConnectError):
        _post(proxy, BODY)
    proxy.accept_connections()
    assert proxy.port == port and b"echo: hi" in _post(proxy, BODY)
    proxy.refuse_connections(for_seconds=0.05)
    deadline = time.monotonic() + 5
    while True:
        try:
            assert b"echo: hi" in _post(proxy, BODY)
            break
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "the port did not reopen"
            time.sleep(0.02)
    assert proxy.connections == 2


def test_a_callable_default_sees_each_raw_request(proxy: FaultyProxy) -> None:
    seen: list[bytes] = []

    def pick(raw: bytes) -> Fault:
        seen.append(raw)
        return Fault.reset_before_headers() if b'"stream":true' in raw else Fault.passthrough()

    proxy.set_default(pick)
    assert b"echo: hi" in _post(proxy, BODY)
    with pytest.raises(httpx.ReadError):
        _post(proxy, STREAM)
    assert len(seen) == 2 and seen[0].startswith(b"POST /v1/chat/completions HTTP/1.1")


def test_proxy_serves_async_clients_too(proxy: FaultyProxy) -> None:
    proxy.push(Fault.reset_before_headers())

    async def main() -> list[object]:
        url = proxy.base_url("openai") + "/chat/completions"
        async with httpx.AsyncClient(timeout=2) as client:
            calls = [client.post(url, json=BODY) for _ in range(3)]
            return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(main())
    assert sum(isinstance(r, httpx.ReadError) for r in results) == 1
    assert sum(isinstance(r, httpx.Response) and r.status_code == 200 for r in results) == 2


def test_fault_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        Fault("explode")
    with pytest.raises(ValueError):
        Fault.truncate_body(-1)
    with pytest.raises(ValueError):
        Fault.stall(repeat=0)


# ---- the mock server's fault additions ------------------------------------------------------


def test_hang_before_and_after_the_head(mock_server: MockServer) -> None:
    url = mock_server.base_url("openai") + "/chat/completions"
    mock_server.push(Scenario(hang=True), Scenario(text="a b c d", cut_after=2, hang=True))
    with httpx.Client(timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post(url, json=STREAM)
        got = b""
        with pytest.raises(httpx.ReadTimeout), client.stream("POST", url, json=STREAM) as resp:
            assert resp.status_code == 200
            for chunk in resp.iter_raw():
                got += chunk
        assert got.count(b"data: ") == 2
        assert client.post(url, json=BODY).status_code == 200  # the server goes on


def test_a_callable_default_scenario_sees_each_body(mock_server: MockServer) -> None:
    def pick(body: dict[str, object]) -> Scenario:
        text = str(body["messages"][-1]["content"])  # type: ignore[index]
        return Scenario(status=500) if text == "fail" else Scenario(text=text.upper())

    mock_server.set_default(pick)
    url = mock_server.base_url("openai") + "/chat/completions"
    ok = httpx.post(url, json=BODY)
    bad = httpx.post(url, json={**BODY, "messages": [{"role": "user", "content": "fail"}]})
    assert ok.json()["choices"][0]["message"]["content"] == "HI" and bad.status_code == 500
