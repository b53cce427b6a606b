"""``AsyncModelArray``: one logical model served by several endpoints, load-balanced.

Example::

    hosts = ["http://gpu1:11434/v1", "http://gpu2:11434/v1", "http://gpu3:11434/v1"]
    clients = [
        await AsyncAiClient.builder().model("ollama/llama3.1").base_url(h)
        .with_circuit_breaker(CircuitBreakerConfig(failure_threshold=3)).build()
        for h in hosts
    ]
    async with AsyncModelArray("llama", clients, selector=LeastInFlightSelector()) as array:
        resp = await array.chat().user("Hello").execute()
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from ailib.errors import AiLibError, CircuitOpenError, InvalidRequestError
from ailib.routing.endpoint import Endpoint
from ailib.routing.latency import LatencyTracker
from ailib.routing.selectors import LatencyBasedSelector, RoundRobinSelector, Selector

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

    from ailib.runtime._async_client import AsyncAiClient, AsyncChatBuilder
    from ailib.runtime._async_stream import AsyncChatStream
    from ailib.runtime.context import CallContext
    from ailib.types.response import ChatResponse


class AsyncModelArray:
    """Several clients of one logical model; each call goes to one healthy endpoint.

    An endpoint whose circuit breaker is open is skipped; ``selector`` (default
    round-robin; also ``LeastInFlightSelector``, ``WeightedSelector``,
    ``LatencyBasedSelector``) picks among the rest. With ``failover=True`` a call that
    fails with a fallbackable error (E2001, E3001, E3002, E3003, an open breaker...) is
    tried once on each other healthy endpoint. Every call's duration feeds ``latency``.
    The array owns its clients: ``aclose()`` closes them.
    """

    def __init__(
        self,
        name: str,
        endpoints: Sequence[AsyncAiClient | Endpoint],
        *,
        selector: Selector | None = None,
        failover: bool = True,
        latency: LatencyTracker | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidRequestError(f"a model array needs a non-empty name, got {name!r}")
        if not endpoints:
            raise InvalidRequestError(f"model array {name!r} needs at least one endpoint")
        self.name = name
        self.endpoints = [e if isinstance(e, Endpoint) else Endpoint(e) for e in endpoints]
        if latency is None and isinstance(selector, LatencyBasedSelector):
            latency = selector.tracker
        self.latency = latency if latency is not None else LatencyTracker()
        self.selector: Selector = selector if selector is not None else RoundRobinSelector()
        self.failover = failover

    def add_endpoint(
        self, client: AsyncAiClient, *, weight: float = 1.0, name: str | None = None
    ) -> Endpoint:
        endpoint = Endpoint(client, weight=weight, name=name)
        self.endpoints.append(endpoint)
        return endpoint

    @property
    def healthy_endpoints(self) -> list[Endpoint]:
        return [e for e in self.endpoints if e.healthy]

    def choose(self) -> Endpoint:
        """The endpoint the next call goes to; CircuitOpenError when every breaker is open."""
        healthy = self.healthy_endpoints
        if not healthy:
            keys = ", ".join(e.name for e in self.endpoints)
            raise CircuitOpenError(
                f"model array {self.name!r}: every endpoint's breaker is open ({keys})",
                breaker_key=self.endpoints[0].key,
                retry_after=0.0,
            )
        return self.selector.select(healthy)

    def _order(self) -> list[Endpoint]:
        first = self.choose()
        if not self.failover:
            return [first]
        return [first, *(e for e in self.healthy_endpoints if e is not first)]

    # ---- calls -------------------------------------------------------------------------

    def chat(self) -> AsyncChatBuilder:
        """A request builder whose ``execute()`` / ``stream()`` go through this array."""
        from ailib.runtime._async_client import AsyncChatBuilder

        return AsyncChatBuilder(cast("AsyncAiClient", self), self.endpoints[0].client.model)

    async def execute(self, req: Any) -> ChatResponse:
        """Run a built ``ChatRequest`` on the chosen endpoint (others on a fallbackable error)."""
        error: AiLibError | None = None
        for endpoint in self._order():
            if error is not None and not endpoint.healthy:
                continue  # its breaker opened meanwhile
            endpoint.started()
            began = time.monotonic()
            try:
                response: ChatResponse = await endpoint.client.execute(req)
            except AiLibError as exc:
                endpoint.finished(failed=True)
                if not (self.failover and exc.fallbackable):
                    raise
                error = exc
                continue
            except BaseException:
                endpoint.finished(failed=True)
                raise
            endpoint.finished(failed=False)
            self.latency.observe(endpoint.key, time.monotonic() - began)
            return response
        assert error is not None  # _order() returns at least one endpoint
        raise error

    def stream(self, req: Any) -> AsyncChatStream:
        """A stream of a built ``ChatRequest`` from the chosen endpoint (no failover once
        chosen: the events already sent cannot be taken back)."""
        endpoint = self.choose()
        stream: AsyncChatStream = endpoint.client.stream(req)
        endpoint.started()
        began = time.monotonic()

        def done(ctx: CallContext) -> None:
            endpoint.finished(failed=ctx.error is not None)
            if ctx.error is None and not ctx.closed_early:
                self.latency.observe(endpoint.key, time.monotonic() - began)

        stream.context.when_done(done)
        return stream

    # ---- state and lifetime ------------------------------------------------------------

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per endpoint: calls, failures, in flight, breaker state, latency EWMA (seconds)."""
        return {
            e.name: {
                "calls": e.calls,
                "failures": e.failures,
                "in_flight": e.in_flight,
                "circuit_state": e.circuit_state,
                "latency_s": self.latency.get(e.key),
                "weight": e.weight,
            }
            for e in self.endpoints
        }

    async def aclose(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, endpoints={len(self.endpoints)})"
