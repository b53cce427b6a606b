"""Faults a server sends politely, scripted on the mock server: 429 storms with
Retry-After, 500/503/529 bursts, an error inside a 200 answer, malformed SSE, a JSON body
cut short, chunks slower than the timeout.

Each fault, sync and async, streamed and not where the fault exists for both: the typed
error and its standard code, the attempts made (counted on the server) and the
invariant of ``invariant.check``.
"""

from __future__ import annotations

import pytest

from ailib.errors import RemoteError, ResponseDecodeError, StreamDecodeError, StreamInterruptedError
from ailib.testing import MockServer, Scenario
from tests.faults.invariant import (
    HAVE_STREAM_TIMEOUTS,
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

TARGETS = {
    "openai": "openai/gpt-4o",
    "anthropic": "anthropic/claude-sonnet-4-5",
    "gemini": "gemini/gemini-2.0-flash",
}


def _setup(server: MockServer, provider: str = "openai", **options: float) -> Setup:
    return Setup(TARGETS[provider], server.base_url(provider), **options)  # type: ignore[arg-type]


# ---- 429 storms with Retry-After ---------------------------------------------------------

RETRY_AFTER = {
    "retry-after": lambda seconds: Scenario(status=429, retry_after=seconds, repeat=3),
    "retry-after-ms": lambda seconds: Scenario(
        status=429, headers={"retry-after-ms": str(int(seconds * 1000))}, repeat=3
    ),
}


@pytest.mark.parametrize("header", sorted(RETRY_AFTER))
@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_429_storm_waits_as_told_then_succeeds(
    mode: str, stream: bool, header: str, mock_server: MockServer
) -> None:
    mock_server.push(RETRY_AFTER[header](0.1), Scenario(text=TEXT))
    setup = _setup(mock_server, retries=3, min_delay_ms=1, max_delay_ms=2000)
    result = run(mode, setup, stream=stream)
    outcome = result.outcomes[0]
    expect_response(outcome)
    assert len(mock_server.requests) == 4
    assert outcome.seconds >= 0.28  # three waits of 0.1 s, not the 1 ms backoff
    check_retries(result, 3)


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_429_storm_longer_than_the_retries_is_rate_limited(
    mode: str, stream: bool, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(status=429, retry_after=0.02, repeat=5))
    result = run(mode, _setup(mock_server, retries=2, max_delay_ms=1000), stream=stream)
    err = expect_error(result.outcomes[0], RemoteError, "E2001")
    assert err.status == 429 and err.retry_after == pytest.approx(0.02)
    assert err.retryable and err.fallbackable
    assert len(mock_server.requests) == 3
    check_retries(result, 2)


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_beyond_the_cap_is_capped(mode: str, mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=429, retry_after=30, repeat=2), Scenario(text=TEXT))
    result = run(mode, _setup(mock_server, retries=2, max_delay_ms=20), stream=False)
    outcome = result.outcomes[0]
    expect_response(outcome)
    assert outcome.seconds < 10  # two honoured 30 s waits would take a minute
    assert len(mock_server.requests) == 3


# ---- 500 / 503 / 529 bursts --------------------------------------------------------------

#: (provider, status, the standard code its real error body classifies as)
BURSTS = [
    ("openai", 500, "E3001"),
    ("openai", 503, "E3001"),  # OpenAI's 503 body says "server_error"
    ("anthropic", 529, "E3002"),  # overloaded_error
    ("gemini", 503, "E3002"),  # UNAVAILABLE
]


@pytest.mark.parametrize(("provider", "status", "code"), BURSTS)
@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_burst_within_the_retries_is_survived(
    mode: str, stream: bool, provider: str, status: int, code: str, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(status=status, repeat=2), Scenario(text=TEXT))
    result = run(mode, _setup(mock_server, provider, retries=2), stream=stream)
    expect_response(result.outcomes[0])
    assert len(mock_server.requests) == 3
    check_retries(result, 2)


@pytest.mark.parametrize(("provider", "status", "code"), BURSTS)
@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_burst_longer_than_the_retries_is_typed(
    mode: str, stream: bool, provider: str, status: int, code: str, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(status=status, repeat=3))
    result = run(mode, _setup(mock_server, provider, retries=2), stream=stream)
    err = expect_error(result.outcomes[0], RemoteError, code)
    assert err.status == status and err.retryable and err.provider == provider
    assert len(mock_server.requests) == 3
    check_retries(result, 2)


def test_529_is_not_retried_where_the_manifest_does_not_list_it(mock_server: MockServer) -> None:
    """OpenAI's policy retries 408/409/429/5xx but not 529: one attempt, a typed error."""
    mock_server.push(Scenario(status=529, repeat=3))
    result = run("sync", _setup(mock_server, retries=2), stream=False)
    err = expect_error(result.outcomes[0], RemoteError, "E3001")
    assert err.status == 529 and len(mock_server.requests) == 1


# ---- an error inside a 200 answer --------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "code"), [("openai", "E3001"), ("anthropic", "E3002"), ("gemini", "E3002")]
)
@pytest.mark.parametrize("mode", MODES)
def test_error_event_after_content_keeps_partial_and_is_not_retried(
    mode: str, provider: str, code: str, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(text=TEXT, stream_error={"message": "Overloaded"}))
    result = run(mode, _setup(mock_server, provider, retries=3), stream=True)
    outcome = result.outcomes[0]
    err = expect_error(outcome, RemoteError, code)
    assert outcome.deltas == WORDS and err.partial.content == TEXT
    assert err.status is None and err.message == "Overloaded"
    assert len(mock_server.requests) == 1
    check_retries(result, 0)


@pytest.mark.parametrize("mode", MODES)
def test_error_object_in_a_200_body_is_typed_then_retried(
    mode: str, mock_server: MockServer
) -> None:
    error = {"error": {"message": "Overloaded", "type": "server_error"}}
    mock_server.push(Scenario(error_body=error), Scenario(error_body=error), Scenario(text=TEXT))
    first = run(mode, _setup(mock_server, retries=0), stream=False)
    err = expect_error(first.outcomes[0], RemoteError, "E3001")
    assert err.message == "Overloaded" and err.retryable
    second = run(mode, _setup(mock_server, retries=1), stream=False)
    expect_response(second.outcomes[0])
    assert len(mock_server.requests) == 3
    check_retries(second, 1)


# ---- malformed SSE, a JSON body cut short --------------------------------------------------

GOOD = b'data: {"choices":[{"index":0,"delta":{"content":"one"}}]}\n\n'


@pytest.mark.parametrize(
    "body",
    [b"data: {not json\n\n", GOOD + b"data: {not json\n\n", GOOD + b"data: [1, 2\n\n"],
    ids=["first", "after-content", "cut-array"],
)
@pytest.mark.parametrize("mode", MODES)
def test_malformed_sse_is_a_typed_decode_error(
    mode: str, body: bytes, mock_server: MockServer
) -> None:
    """The bytes arrive in one read: nothing reaches the caller before the error."""
    sse = {"content-type": "text/event-stream"}
    mock_server.push(Scenario(error_body=body, headers=sse, repeat=3))
    result = run(mode, _setup(mock_server, retries=2), stream=True)
    err = expect_error(result.outcomes[0], StreamDecodeError, "E9999")
    bad = body.rsplit(b"data: ", 1)[1].strip()
    assert not err.retryable and err.offset > 0 and bad in err.data
    assert len(mock_server.requests) == 1  # a decode error is not worth another attempt


@pytest.mark.parametrize("mode", MODES)
def test_json_body_cut_short_with_matching_length(mode: str, mock_server: MockServer) -> None:
    """Framing intact (Content-Length matches), JSON cut: a typed decode error, not retried."""
    cut = b'{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"mess'
    mock_server.push(Scenario(error_body=cut, repeat=3))
    result = run(mode, _setup(mock_server, retries=2), stream=False)
    err = expect_error(result.outcomes[0], ResponseDecodeError, "E9999")
    assert err.data.startswith(b'{"id":"chatcmpl-1"') and not err.retryable
    assert len(mock_server.requests) == 1


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_body_cut_by_the_server_is_typed_then_retried(
    mode: str, stream: bool, mock_server: MockServer
) -> None:
    """The server announces more than it sends and closes (``cut_after``): retried while
    no event reached the caller; with events delivered, the partial is kept."""
    mock_server.push(Scenario(text=TEXT, cut_after=60 if not stream else 4), Scenario(text=TEXT))
    result = run(mode, _setup(mock_server, retries=1), stream=stream)
    outcome = result.outcomes[0]
    if stream:
        err = expect_error(outcome, StreamInterruptedError, "E3001")
        assert outcome.deltas == WORDS[:3] and err.partial.content == "".join(WORDS[:3])
        assert len(mock_server.requests) == 1
    else:
        expect_response(outcome)
        assert len(mock_server.requests) == 2


# ---- chunks slower than the timeout --------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_chunks_slower_than_the_read_timeout(mode: str, mock_server: MockServer) -> None:
    """timeout= bounds each read of a stream: a gap longer than it ends the stream typed.
    A timeout is the caller's even before the first content: a resend is a new generation."""
    mock_server.push(Scenario(text=TEXT, chunk_delay=0.5))
    result = run(mode, _setup(mock_server, retries=2, timeout=0.2), stream=True)
    outcome = result.outcomes[0]
    err = expect_error(outcome, StreamInterruptedError, "E3003")
    assert err.retryable and err.partial is not None
    assert len(mock_server.requests) == 1  # not resent


needs_stream_timeouts = pytest.mark.skipif(
    not HAVE_STREAM_TIMEOUTS,
    reason="needs stream_idle_timeout= / stream_timeout= on AiClient.create",
)


@needs_stream_timeouts
@pytest.mark.parametrize("mode", MODES)
def test_stall_mid_stream_past_the_idle_timeout(mode: str, mock_server: MockServer) -> None:
    """Bytes stop after three words; the read timeout is long, the idle timeout is not."""
    mock_server.push(Scenario(text=TEXT, cut_after=4, hang=True))
    setup = _setup(mock_server, retries=2, timeout=5, stream_idle_timeout=0.2)
    result = run(mode, setup, stream=True)
    outcome = result.outcomes[0]
    err = expect_error(outcome, StreamInterruptedError, "E3003")
    assert "idle" in str(err) and outcome.seconds < 4
    assert outcome.deltas == WORDS[:3] and err.partial.content == "".join(WORDS[:3])
    assert len(mock_server.requests) == 1
    check_retries(result, 0)


@needs_stream_timeouts
@pytest.mark.parametrize("mode", MODES)
def test_empty_deltas_do_not_reset_the_idle_timeout(mode: str, mock_server: MockServer) -> None:
    """Twenty empty deltas, one every 0.05 s: bytes flow, content does not."""
    mock_server.push(Scenario(text="", chunks=20, chunk_delay=0.05))
    setup = _setup(mock_server, timeout=5, stream_idle_timeout=0.3)
    outcome = run(mode, setup, stream=True).outcomes[0]
    err = expect_error(outcome, StreamInterruptedError, "E3003")
    assert "idle" in str(err) and err.partial.content == ""


@needs_stream_timeouts
@pytest.mark.parametrize("mode", MODES)
def test_slow_chunks_within_the_idle_timeout_pass_the_stream_deadline(
    mode: str, mock_server: MockServer
) -> None:
    """Each word within the idle timeout, the whole answer past the stream's deadline."""
    mock_server.push(Scenario(text=TEXT, chunk_delay=0.1))
    setup = _setup(mock_server, timeout=5, stream_idle_timeout=1, stream_timeout=0.45)
    outcome = run(mode, setup, stream=True).outcomes[0]
    err = expect_error(outcome, StreamInterruptedError, "E3003")
    assert "deadline" in str(err) and 1 <= len(outcome.deltas) < len(WORDS)
