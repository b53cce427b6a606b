"""Unit-level cases of the same faults with respx: no socket, the httpx transport mocked.

respx patches httpx's transports (``respx.mock``), including the pool of the client ailib
creates itself, so each fault is scripted as a sequence of responses or raised httpx
errors, and a stream body as chunks that may end in an error. Same harness and invariant
as the socket-level suites (``invariant.check``); sync and async, streamed and not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import httpx
import pytest
import respx

from ailib.errors import (
    RemoteError,
    ResponseDecodeError,
    StreamDecodeError,
    StreamInterruptedError,
    TransportError,
)
from tests.faults.invariant import (
    MODES,
    STREAMING,
    TEXT,
    WORDS,
    Setup,
    check_retries,
    expect_error,
    expect_response,
    run,
)

BASE = "http://127.0.0.1:9/v1"
SSE = {"content-type": "text/event-stream"}
pytestmark = pytest.mark.httpx_only  # respx stands in for the server inside httpx


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body sent as ``chunks`` (one read each), then ``error`` raised if given."""

    def __init__(self, chunks: Sequence[bytes], error: Exception | None = None) -> None:
        self.chunks, self.error = list(chunks), error

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.error is not None:
            raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.error is not None:
            raise self.error


def completion(text: str = TEXT) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4o",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 10, "total_tokens": 11},
        },
    )


def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
    import json

    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return b"data: " + json.dumps({"id": "c1", "choices": [choice]}).encode() + b"\n\n"


def sse_events(words: Sequence[str] = WORDS, *, end: bool = True) -> list[bytes]:
    """One chunk per event: the role, one per word, then (``end``) finish and [DONE]."""
    chunks = [event({"role": "assistant", "content": ""})]
    chunks += [event({"content": word}) for word in words]
    if end:
        chunks += [event({}, "stop"), b"data: [DONE]\n\n"]
    return chunks


def streamed(chunks: Sequence[bytes], error: Exception | None = None) -> httpx.Response:
    return httpx.Response(200, headers=SSE, stream=Chunks(chunks, error))


def answer(stream: bool) -> httpx.Response:
    return streamed(sse_events()) if stream else completion()


def error(status: int, kind: str = "server_error", **headers: str) -> httpx.Response:
    body = {"error": {"message": f"mock {status}", "type": kind, "code": None}}
    return httpx.Response(status, json=body, headers=headers)


@pytest.fixture
def route() -> Iterator[respx.Route]:
    with respx.mock(assert_all_called=False) as router:
        yield router.post(f"{BASE}/chat/completions")


def _setup(**options: float) -> Setup:
    return Setup("openai/gpt-4o", BASE, **options)  # type: ignore[arg-type]


# ---- no response: refused, reset, timed out ---------------------------------------------------

NO_RESPONSE = [
    (httpx.ConnectError("[Errno 111] Connection refused"), "E3001"),
    (httpx.ReadError("[Errno 104] Connection reset by peer"), "E3001"),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), "E3001"),
    (httpx.ConnectTimeout("timed out"), "E3003"),
    (httpx.ReadTimeout("timed out"), "E3003"),
]


@pytest.mark.parametrize(("fault", "code"), NO_RESPONSE, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_no_response_is_typed_after_every_retry(
    mode: str, stream: bool, fault: Exception, code: str, route: respx.Route
) -> None:
    route.side_effect = fault
    result = run(mode, _setup(retries=2), stream=stream)
    err = expect_error(result.outcomes[0], TransportError, code)
    assert err.retryable and not isinstance(err, StreamInterruptedError)
    assert route.call_count == 3
    check_retries(result, 2)


@pytest.mark.parametrize(("fault", "code"), NO_RESPONSE, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_no_response_then_an_answer(
    mode: str, stream: bool, fault: Exception, code: str, route: respx.Route
) -> None:
    route.side_effect = [fault, fault, answer(stream)]
    result = run(mode, _setup(retries=2), stream=stream)
    expect_response(result.outcomes[0])
    assert route.call_count == 3
    check_retries(result, 2)


# ---- the body breaks ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_stream_reset_after_three_words(mode: str, route: respx.Route) -> None:
    cut = streamed(sse_events(WORDS[:3], end=False), httpx.ReadError("connection reset"))
    route.side_effect = [cut, answer(True)]
    result = run(mode, _setup(retries=2), stream=True)
    outcome = result.outcomes[0]
    err = expect_error(outcome, StreamInterruptedError, "E3001")
    assert outcome.deltas == WORDS[:3] and err.partial.content == "".join(WORDS[:3])
    assert route.call_count == 1  # never again once events were delivered
    check_retries(result, 0)


@pytest.mark.parametrize("mode", MODES)
def test_stream_ending_without_its_end_marker(mode: str, route: respx.Route) -> None:
    route.side_effect = [streamed(sse_events(WORDS[:4], end=False)), answer(True)]
    outcome = run(mode, _setup(retries=2), stream=True).outcomes[0]
    err = expect_error(outcome, StreamInterruptedError, "E3001")
    assert "end marker" in str(err) and err.partial.content == "".join(WORDS[:4])
    assert route.call_count == 1


@pytest.mark.parametrize("mode", MODES)
def test_stream_stalled_past_the_read_timeout(mode: str, route: respx.Route) -> None:
    stalled = streamed(sse_events(WORDS[:2], end=False), httpx.ReadTimeout("timed out"))
    route.side_effect = [stalled]
    outcome = run(mode, _setup(retries=2), stream=True).outcomes[0]
    err = expect_error(outcome, StreamInterruptedError, "E3003")
    assert err.partial.content == "".join(WORDS[:2]) and route.call_count == 1


@pytest.mark.parametrize("mode", MODES)
def test_body_reset_mid_way_is_retried(mode: str, route: respx.Route) -> None:
    raw = completion().content
    cut = httpx.Response(
        200,
        headers={"content-type": "application/json"},
        stream=Chunks([raw[:40]], httpx.ReadError("connection reset")),
    )
    route.side_effect = [cut, completion()]
    result = run(mode, _setup(retries=1), stream=False)
    expect_response(result.outcomes[0])
    assert route.call_count == 2
    check_retries(result, 1)


@pytest.mark.parametrize("mode", MODES)
def test_truncated_json_body(mode: str, route: respx.Route) -> None:
    route.side_effect = [httpx.Response(200, content=completion().content[:50])] * 3
    outcome = run(mode, _setup(retries=2), stream=False).outcomes[0]
    err = expect_error(outcome, ResponseDecodeError, "E9999")
    assert not err.retryable and route.call_count == 1


# ---- statuses: 429 storms, 5xx bursts ------------------------------------------------------


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_429_storm_then_an_answer(mode: str, stream: bool, route: respx.Route) -> None:
    limited = error(429, "requests", **{"retry-after-ms": "30"})
    route.side_effect = [limited, limited, limited, answer(stream)]
    result = run(mode, _setup(retries=3, max_delay_ms=1000), stream=stream)
    outcome = result.outcomes[0]
    expect_response(outcome)
    assert route.call_count == 4 and outcome.seconds >= 0.08
    check_retries(result, 3)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_5xx_burst_longer_than_the_retries(
    mode: str, stream: bool, status: int, route: respx.Route
) -> None:
    route.side_effect = [error(status)] * 4
    result = run(mode, _setup(retries=2), stream=stream)
    err = expect_error(result.outcomes[0], RemoteError, "E3001")
    assert err.status == status and route.call_count == 3
    check_retries(result, 2)


@pytest.mark.parametrize("status", [400, 401, 404])
@pytest.mark.parametrize("mode", MODES)
def test_non_retryable_status_is_sent_once(mode: str, status: int, route: respx.Route) -> None:
    route.side_effect = [error(status, "invalid_request_error")] * 3
    result = run(mode, _setup(retries=3), stream=False)
    err = expect_error(
        result.outcomes[0], RemoteError, {400: "E1001", 401: "E1002", 404: "E1004"}[status]
    )
    assert not err.retryable and route.call_count == 1
    check_retries(result, 0)


# ---- errors inside 200 streams, malformed SSE ------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_error_event_after_three_words(mode: str, route: respx.Route) -> None:
    failure = b'data: {"error":{"message":"Overloaded","type":"server_error"}}\n\n'
    route.side_effect = [streamed([*sse_events(WORDS[:3], end=False), failure])]
    outcome = run(mode, _setup(retries=2), stream=True).outcomes[0]
    err = expect_error(outcome, RemoteError, "E3001")
    assert err.partial.content == "".join(WORDS[:3]) and route.call_count == 1


@pytest.mark.parametrize("mode", MODES)
def test_malformed_sse_in_the_first_read(mode: str, route: respx.Route) -> None:
    route.side_effect = [streamed([b"".join(sse_events(WORDS[:2], end=False)) + b"data: {x\n\n"])]
    outcome = run(mode, _setup(retries=2), stream=True).outcomes[0]
    err = expect_error(outcome, StreamDecodeError, "E9999")
    assert b"{x" in err.data and route.call_count == 1


@pytest.mark.parametrize("mode", MODES)
def test_malformed_sse_after_delivered_words_keeps_partial(mode: str, route: respx.Route) -> None:
    route.side_effect = [streamed([*sse_events(WORDS[:2], end=False), b"data: {x\n\n"])]
    outcome = run(mode, _setup(retries=2), stream=True).outcomes[0]
    assert outcome.deltas == WORDS[:2]
    err = expect_error(outcome, StreamDecodeError, "E9999")
    assert err.partial is not None and err.partial.content == "".join(WORDS[:2])
