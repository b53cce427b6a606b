"""Faults under concurrency: many calls on one client at once, each meeting its own
scripted faults, and every call ends with its own answer or its own typed error.

Each call says who it is (``call-<n>``) and the server echoes it, so an answer delivered
to the wrong caller, twice, or lost shows. The faults are chosen per call and attempt
by the proxy and the server (a callable default on each): a reset before the headers, a
500, a 429 with Retry-After, a cut, or two faults in a row. Async calls run on one
event loop (``asyncio.gather``), sync calls on threads sharing one client.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ailib.errors import StreamInterruptedError
from ailib.testing import MockServer, Scenario
from ailib.testing.faulty_proxy import Fault, FaultyProxy
from tests.faults.invariant import (
    MODES,
    Outcome,
    Setup,
    async_call,
    expect_error,
    expect_response,
    sync_call,
)

CALLS = 36
#: faults per call id % 6, one per attempt until the list runs out
PLANS: dict[int, list[str]] = {0: [], 1: ["reset"], 2: ["500"], 3: ["429"], 4: ["cut"],
                               5: ["reset", "503"]}  # fmt: skip


class Script:
    """Which fault each attempt of each call meets; counts the attempts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempts: dict[int, int] = {}
        self.pending: dict[int, str | None] = {}  # the server's part of a fault, by call

    def _next(self, call_id: int) -> str | None:
        with self.lock:
            attempt = self.attempts.get(call_id, 0)
            self.attempts[call_id] = attempt + 1
        plan = PLANS[call_id % 6]
        return plan[attempt] if attempt < len(plan) else None

    def proxy(self, raw: bytes) -> Fault:
        call_id = int(raw.split(b"call-", 1)[1].split(b'"', 1)[0])
        kind = self._next(call_id)
        if kind == "reset":
            return Fault.reset_before_headers()
        if kind == "cut" and b'"stream":true' not in raw:
            return Fault.reset_mid_body(30)
        with self.lock:
            self.pending[call_id] = kind
        return Fault.passthrough()

    def server(self, body: dict[str, Any]) -> Scenario:
        call_id = int(str(body["messages"][-1]["content"]).split("call-", 1)[1])
        with self.lock:
            kind = self.pending.pop(call_id, None)
        scenarios = {
            "500": Scenario(status=500),
            "503": Scenario(status=503),
            "429": Scenario(status=429, retry_after=0.01),
            "cut": Scenario(cut_after=2),  # the role event and the first word, then FIN
        }
        return scenarios[kind] if kind is not None else Scenario()


def expected_attempts(call_id: int) -> int:
    plan = PLANS[call_id % 6]
    if plan == ["cut"] and call_id % 2:  # a stream cut after an event: never retried
        return 1
    return len(plan) + 1


def check_all(outcomes: list[Outcome], script: Script, stats: Any) -> None:
    for call_id, outcome in enumerate(outcomes):
        text = f"echo: call-{call_id}"
        if PLANS[call_id % 6] == ["cut"] and outcome.stream:
            err = expect_error(outcome, StreamInterruptedError, "E3001", text)
            assert err.partial.content == "echo:" == "".join(outcome.deltas)
        else:
            expect_response(outcome, text)
    assert script.attempts == {i: expected_attempts(i) for i in range(CALLS)}
    assert stats.retries == sum(expected_attempts(i) - 1 for i in range(CALLS))
    assert stats.calls == CALLS


@pytest.mark.parametrize("mode", MODES)
def test_concurrent_calls_each_get_their_own_outcome(
    mode: str, proxy: FaultyProxy, mock_server: MockServer
) -> None:
    script = Script()
    proxy.set_default(script.proxy)
    mock_server.set_default(script.server)
    setup = Setup("openai/gpt-4o", proxy.base_url("openai"), retries=3)
    prompts = [(f"call-{i}", i % 2 == 1) for i in range(CALLS)]
    if mode == "sync":
        with setup.sync_client() as client, ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(sync_call, client, stream, p) for p, stream in prompts]
            outcomes = [future.result() for future in futures]
            stats = client.get_resilience_stats()
    else:

        async def main() -> tuple[list[Outcome], Any]:
            async with await setup.async_client() as client:
                calls = [async_call(client, stream, p) for p, stream in prompts]
                return list(await asyncio.gather(*calls)), client.get_resilience_stats()

        outcomes, stats = asyncio.run(main())
    check_all(outcomes, script, stats)
