"""The fault suite's shared harness: build a client, make calls, check the invariant.

The invariant (issue 7, section 4): every call either returns exactly one complete
response or raises exactly one typed error carrying any partial stream, and no event is
delivered twice. :func:`check` asserts it for one :class:`Outcome`; :func:`run` makes
calls sync or async (``mode``), with or without streaming, and records each outcome.

Example::

    setup = Setup("openai/gpt-4o", proxy.base_url("openai"), retries=2)
    [outcome] = run("async", setup, stream=True).outcomes
    err = expect_error(outcome, StreamInterruptedError, "E3001")
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

import attrs

from ailib import AiClient, AsyncAiClient
from ailib.errors import (
    STANDARD_CODES,
    AiLibError,
    RemoteError,
    StreamDecodeError,
    StreamInterruptedError,
)
from ailib.testing.scenario import split_words
from ailib.types.events import StreamEvent
from ailib.types.response import ChatResponse

KEY = "sk-test-FaultSuiteKey0123456789abcd"
MODES = ["sync", "async"]
STREAMING = [False, True]
#: the scripted answer of every fault test: one content delta per word
TEXT = "one two three four five six seven eight nine ten"
WORDS = split_words(TEXT)


def have(obj: Any, *names: str) -> bool:
    """Whether ``obj`` has every attribute in ``names`` (a feature that has landed)."""
    return all(hasattr(obj, name) for name in names)


HAVE_BUILDER = have(AiClient, "builder") and have(AsyncAiClient, "builder")
HAVE_STREAM_TIMEOUTS = "stream_idle_timeout" in inspect.signature(AiClient.create).parameters


@attrs.frozen
class Setup:
    """How to build the client of a fault test, sync or async alike.

    ``retries`` retries after the first attempt with a fixed, tiny backoff (jitter
    ``none``); ``timeout`` bounds each attempt; ``stream_idle_timeout`` and
    ``stream_timeout`` bound a stream's content. ``steps`` adds builder steps (breaker,
    fallbacks...) and makes the client with ``AiClient.builder()``; without steps the
    client comes from ``AiClient.create``.
    """

    model: str
    base_url: str
    retries: int = 0
    timeout: float = 2.0
    min_delay_ms: float = 1.0
    max_delay_ms: float = 5.0
    stream_idle_timeout: float | None = None
    stream_timeout: float | None = None
    steps: Callable[[Any], Any] | None = None

    def _stream_limits(self) -> dict[str, float]:
        limits = {
            "stream_idle_timeout": self.stream_idle_timeout,
            "stream_timeout": self.stream_timeout,
        }
        return {name: value for name, value in limits.items() if value is not None}

    def _policy(self) -> dict[str, Any]:
        return {
            "min_delay_ms": self.min_delay_ms,
            "max_delay_ms": self.max_delay_ms,
            "jitter": "none",
        }

    def _builder(self, builder: Any) -> Any:
        from ailib.resilience import RetryConfig

        retry = RetryConfig(max_retries=self.retries, **self._policy())
        builder = (
            builder.model(self.model)
            .api_key(KEY)
            .base_url(self.base_url)
            .timeout(self.timeout)
            .with_retry(retry)
        )
        if self.stream_idle_timeout is not None or self.stream_timeout is not None:
            builder = builder.stream_timeouts(
                idle=self.stream_idle_timeout, total=self.stream_timeout
            )
        return self.steps(builder) if self.steps is not None else builder

    def sync_client(self) -> AiClient:
        if self.steps is not None:
            client: AiClient = self._builder(AiClient.builder()).build()
            return client
        return AiClient.create(
            self.model,
            api_key=KEY,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.retries,
            retry_policy=self._policy(),
            **self._stream_limits(),
        )

    async def async_client(self) -> AsyncAiClient:
        if self.steps is not None:
            client: AsyncAiClient = await self._builder(AsyncAiClient.builder()).build()
            return client
        return await AsyncAiClient.create(
            self.model,
            api_key=KEY,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.retries,
            retry_policy=self._policy(),
            **self._stream_limits(),
        )


@attrs.define
class Outcome:
    """What one user call produced: a response or an error, and the events it delivered."""

    stream: bool
    response: ChatResponse | None = None
    error: BaseException | None = None
    events: list[StreamEvent] = attrs.field(factory=list)
    served_by: str | None = None
    seconds: float = 0.0

    @property
    def deltas(self) -> list[str]:
        """Content deltas the caller received, in order (empty ones left out)."""
        texts = (e.as_content_delta.content for e in self.events if e.is_content_delta)
        return [text for text in texts if text]


@attrs.define
class Run:
    """The outcomes of :func:`run`, and the client's signals after the last call."""

    outcomes: list[Outcome]
    stats: Any = None  # SignalsSnapshot, when the client has get_resilience_stats()
    circuit_state: Any = None
    #: ``str(client.circuit_state)`` after each call (when the client has one)
    states: list[str] = attrs.field(factory=list)


def sync_call(client: AiClient, stream: bool, prompt: str = "hi") -> Outcome:
    """One call on ``client``, its outcome recorded (never raises)."""
    out = Outcome(stream)
    started = time.monotonic()
    try:
        if not stream:
            out.response = client.chat().user(prompt).execute()
        else:
            with client.chat().user(prompt).stream() as events:
                for event in events:
                    out.events.append(event)
                out.response = events.final_response()
                out.served_by = getattr(events, "served_by", None)
    except Exception as exc:  # recorded; check() says whether it is a typed one
        out.error = exc
    out.seconds = time.monotonic() - started
    if out.response is not None:
        out.served_by = out.served_by or out.response.served_by
    return out


async def async_call(client: AsyncAiClient, stream: bool, prompt: str = "hi") -> Outcome:
    """One call on ``client``, its outcome recorded (never raises)."""
    out = Outcome(stream)
    started = time.monotonic()
    try:
        if not stream:
            out.response = await client.chat().user(prompt).execute()
        else:
            async with client.chat().user(prompt).stream() as events:
                async for event in events:
                    out.events.append(event)
                out.response = await events.final_response()
                out.served_by = getattr(events, "served_by", None)
    except Exception as exc:
        out.error = exc
    out.seconds = time.monotonic() - started
    if out.response is not None:
        out.served_by = out.served_by or out.response.served_by
    return out


def _state_after(client: Any, states: list[str]) -> None:
    if hasattr(client, "circuit_state"):
        states.append(str(client.circuit_state))


def _signals(client: Any, result: Run) -> None:
    if hasattr(client, "get_resilience_stats"):
        result.stats = client.get_resilience_stats()
    if hasattr(client, "circuit_state"):
        result.circuit_state = client.circuit_state


def run(
    mode: str,
    setup: Setup,
    *,
    stream: bool,
    calls: int = 1,
    before: Callable[[int], None] | None = None,
) -> Run:
    """Make ``calls`` calls on one client (``mode``: "sync" or "async").

    ``before(i)`` runs before call ``i`` (queue scenarios or faults, sleep a cooldown).
    """
    states: list[str] = []
    if mode == "sync":
        outcomes = []
        with setup.sync_client() as client:
            for i in range(calls):
                if before is not None:
                    before(i)
                outcomes.append(sync_call(client, stream))
                _state_after(client, states)
            result = Run(outcomes, states=states)
            _signals(client, result)
        return result

    async def main() -> Run:
        outcomes = []
        async with await setup.async_client() as client:
            for i in range(calls):
                if before is not None:
                    before(i)
                outcomes.append(await async_call(client, stream))
                _state_after(client, states)
            result = Run(outcomes, states=states)
            _signals(client, result)
        return result

    return asyncio.run(main())


def call(mode: str, setup: Setup, *, stream: bool) -> Outcome:
    """One call on a fresh client; the invariant is checked before it is returned."""
    outcome = run(mode, setup, stream=stream).outcomes[0]
    check(outcome)
    return outcome


# ---------------------------------------------------------------- the invariant


def check(outcome: Outcome, text: str = TEXT) -> None:
    """Exactly one complete response or exactly one typed error carrying the partial
    stream; the events delivered are the scripted ones, in order, none twice."""
    words = split_words(text)
    deltas = outcome.deltas
    ends = [e for e in outcome.events if e.is_stream_end]
    assert (outcome.response is None) != (outcome.error is None), (
        f"a call must end in exactly one response or one error: {outcome!r}"
    )
    assert deltas == words[: len(deltas)], (
        f"delivered deltas are not a prefix of the script (lost or repeated): {deltas!r}"
    )
    if not outcome.stream:
        assert not outcome.events
    if outcome.response is not None:
        response = outcome.response
        assert response.content == text, f"incomplete response: {response.content!r}"
        assert response.finish_reason is not None
        if outcome.stream:
            assert deltas == words, f"each scripted delta exactly once: {deltas!r}"
            assert len(ends) == 1, f"exactly one stream end: {outcome.events!r}"
        return
    err = outcome.error
    assert isinstance(err, AiLibError), f"untyped error: {err!r}"
    assert err.code in STANDARD_CODES and str(err).startswith(f"[{err.code} ")
    assert not ends, "a failed stream delivered its end event"
    partial = getattr(err, "partial", None)
    if deltas:  # events reached the caller: the error carries them, nothing more
        assert isinstance(err, StreamInterruptedError | RemoteError | StreamDecodeError), (
            f"{type(err).__name__} after {len(deltas)} deltas cannot carry the partial stream"
        )
        assert partial is not None, f"{err!r} lost the {len(deltas)} deltas delivered"
    if partial is not None:
        assert partial.content == "".join(deltas), (
            f"partial {partial.content!r} differs from what was delivered {''.join(deltas)!r}"
        )


def expect_error(outcome: Outcome, kind: type[AiLibError], code: str, text: str = TEXT) -> Any:
    """The outcome's error, asserted to be a ``kind`` with standard code ``code``."""
    check(outcome, text)
    err = outcome.error
    assert isinstance(err, kind), f"expected {kind.__name__}, got {err!r}"
    assert err.code == code, f"expected {code}, got {err!r}"
    return err


def expect_response(outcome: Outcome, text: str = TEXT) -> ChatResponse:
    """The outcome's complete response (the invariant checked against ``text``)."""
    check(outcome, text)
    assert outcome.response is not None, f"expected a response, got {outcome.error!r}"
    return outcome.response


def check_retries(result: Run, expected: int) -> None:
    """Once the client reports signals, they count exactly ``expected`` retries.

    The attempts themselves are always counted where they land (mock server, proxy);
    this adds the client's own account (``test_signals_count_retries`` requires it).
    """
    if result.stats is not None:
        assert result.stats.retries == expected, result.stats
