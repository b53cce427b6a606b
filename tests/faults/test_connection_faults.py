"""Faults of the connection, injected by the faulty proxy in front of the mock server.

Connection refused, reset before the headers, reset or FIN mid-body, headers dripped
past the timeout, and a provider that hangs (before the headers or mid-stream). Each
fault, sync and async, streamed and not: the typed error and its code, the attempts the
retry policy made (counted where they land) and the invariant of ``invariant.check``.
"""

from __future__ import annotations

import pytest

from ailib.errors import StreamInterruptedError, TransportError
from ailib.testing import MockServer, Scenario
from ailib.testing.faulty_proxy import Fault, FaultyProxy
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

MODEL = "openai/gpt-4o"


def _setup(proxy: FaultyProxy, **options: float) -> Setup:
    return Setup(MODEL, proxy.base_url("openai"), **options)  # type: ignore[arg-type]


# ---- connection refused ------------------------------------------------------------------


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_connection_refused_is_typed_after_every_retry(
    mode: str, stream: bool, proxy: FaultyProxy, mock_server: MockServer
) -> None:
    proxy.refuse_connections()
    result = run(mode, _setup(proxy, retries=2), stream=stream)
    err = expect_error(result.outcomes[0], TransportError, "E3001")
    assert err.retryable and f"connection to 127.0.0.1:{proxy.port} failed" in str(err)
    assert proxy.connections == 0 and not mock_server.requests
    check_retries(result, 2)


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_refused_until_the_port_reopens_then_served_once(
    mode: str, stream: bool, proxy: FaultyProxy, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(text=TEXT))
    proxy.refuse_connections(for_seconds=0.15)
    setup = _setup(proxy, retries=40, min_delay_ms=50, max_delay_ms=50)  # up to ~2 s
    result = run(mode, setup, stream=stream)
    expect_response(result.outcomes[0])
    assert proxy.connections == 1 and len(mock_server.requests) == 1
    if result.stats is not None:
        assert result.stats.retries >= 1  # the first attempt met the closed port


# ---- reset before the headers ---------------------------------------------------------------


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_reset_before_headers_without_retries(
    mode: str, stream: bool, proxy: FaultyProxy, mock_server: MockServer
) -> None:
    proxy.push(Fault.reset_before_headers())
    result = run(mode, _setup(proxy, retries=0), stream=stream)
    err = expect_error(result.outcomes[0], TransportError, "E3001")
    assert err.retryable and not isinstance(err, StreamInterruptedError)
    assert proxy.applied == ["reset"] and not mock_server.requests
    check_retries(result, 0)


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_resets_before_headers_are_retried(
    mode: str, stream: bool, proxy: FaultyProxy, mock_server: MockServer
) -> None:
    proxy.push(Fault.reset_before_headers(repeat=2))
    mock_server.push(Scenario(text=TEXT))
    result = run(mode, _setup(proxy, retries=2), stream=stream)
    expect_response(result.outcomes[0])
    assert proxy.applied == ["reset", "reset", "pass"] and len(mock_server.requests) == 1
    check_retries(result, 2)


# ---- the body breaks: RST or FIN after some bytes ---------------------------------------------

BREAKS = [Fault.reset_mid_body, Fault.truncate_body]


@pytest.mark.parametrize("fault", BREAKS, ids=["reset", "fin"])
@pytest.mark.parametrize("mode", MODES)
def test_stream_broken_mid_way_keeps_partial_and_is_not_retried(
    mode: str, fault: type[Fault], proxy: FaultyProxy, mock_server: MockServer
) -> None:
    """Events reached the caller: no retry (it would deliver them twice), the partial kept."""
    proxy.push(fault(700))  # type: ignore[operator]  # about three events
    mock_server.push(Scenario(text=TEXT))
    result = run(mode, _setup(proxy, retries=3), stream=True)
    outcome = result.outcomes[0]
    err = expect_error(outcome, StreamInterruptedError, "E3001")
    assert 1 <= len(outcome.deltas) < len(WORDS)
    assert err.partial is not None and err.partial.content == "".join(outcome.deltas)
    assert len(proxy.applied) == 1 and len(mock_server.requests) == 1
    check_retries(result, 0)


@pytest.mark.parametrize("fault", BREAKS, ids=["reset", "fin"])
@pytest.mark.parametrize("mode", MODES)
def test_body_broken_mid_way_is_typed_then_retried(
    mode: str, fault: type[Fault], proxy: FaultyProxy, mock_server: MockServer
) -> None:
    proxy.push(fault(100), fault(100))  # type: ignore[operator]
    mock_server.push(Scenario(text=TEXT, repeat=3))
    first = run(mode, _setup(proxy, retries=0), stream=False)
    err = expect_error(first.outcomes[0], TransportError, "E3001")
    assert err.retryable
    second = run(mode, _setup(proxy, retries=1), stream=False)
    expect_response(second.outcomes[0])
    assert len(proxy.applied) == 3 and proxy.applied[-1] == "pass"
    assert len(mock_server.requests) == 3
    check_retries(second, 1)


# ---- headers dripped past the timeout ------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_slow_headers_hit_the_total_timeout(
    mode: str, proxy: FaultyProxy, mock_server: MockServer
) -> None:
    proxy.set_default(Fault.drip_headers(every=0.01))  # ~2 s for the whole head
    result = run(mode, _setup(proxy, retries=1, timeout=0.3), stream=False)
    outcome = result.outcomes[0]
    err = expect_error(outcome, TransportError, "E3003")
    assert err.retryable and outcome.seconds < 1.9  # gave up before the head was through
    assert proxy.applied == ["drip_headers", "drip_headers"]
    check_retries(result, 1)


@pytest.mark.parametrize("total", [None, 0.5], ids=["timeout", "stream_timeout"])
@pytest.mark.parametrize("mode", MODES)
def test_slow_headers_of_a_stream_hit_the_timeout(
    mode: str, total: float | None, proxy: FaultyProxy, mock_server: MockServer
) -> None:
    proxy.push(Fault.drip_headers(every=0.005))  # ~1 s for the whole head
    mock_server.push(Scenario(text=TEXT))
    setup = Setup(MODEL, proxy.base_url("openai"), timeout=0.3, stream_timeout=total)
    outcome = run(mode, setup, stream=True).outcomes[0]
    expect_error(outcome, TransportError, "E3003")


# ---- a provider that hangs -------------------------------------------------------------------


@pytest.mark.parametrize("where", ["server", "proxy"])
@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_provider_that_hangs_times_out_on_every_attempt(
    mode: str, stream: bool, where: str, proxy: FaultyProxy, mock_server: MockServer
) -> None:
    if where == "server":  # the request arrives, no answer ever comes
        mock_server.push(Scenario(hang=True, repeat=2))
    else:  # the proxy swallows the request
        proxy.push(Fault.stall(repeat=2))
    result = run(mode, _setup(proxy, retries=1, timeout=0.25), stream=stream)
    err = expect_error(result.outcomes[0], TransportError, "E3003")
    assert err.retryable and not isinstance(err, StreamInterruptedError)
    assert len(proxy.applied) == 2
    assert len(mock_server.requests) == (2 if where == "server" else 0)
    check_retries(result, 1)


@pytest.mark.parametrize("mode", MODES)
def test_stream_that_hangs_mid_way_keeps_partial(
    mode: str, proxy: FaultyProxy, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(text=TEXT, cut_after=4, hang=True))  # role + 3 words, then silence
    result = run(mode, _setup(proxy, retries=2, timeout=0.25), stream=True)
    outcome = result.outcomes[0]
    err = expect_error(outcome, StreamInterruptedError, "E3003")
    assert outcome.deltas == WORDS[:3] and err.partial.content == "".join(WORDS[:3])
    assert len(mock_server.requests) == 1  # events were delivered: never retried
    check_retries(result, 0)


@pytest.mark.parametrize("mode", MODES)
def test_body_that_hangs_mid_way_is_retried(
    mode: str, proxy: FaultyProxy, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(text=TEXT, cut_after=40, hang=True), Scenario(text=TEXT))
    result = run(mode, _setup(proxy, retries=1, timeout=0.25), stream=False)
    expect_response(result.outcomes[0])
    assert len(mock_server.requests) == 2
    check_retries(result, 1)
