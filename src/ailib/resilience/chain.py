"""Multi-target failover around whole operations: ``FallbackChain`` / ``AsyncFallbackChain``.

``.with_fallbacks([...])`` on the builder moves one request from target to target inside
a client. A chain does the same one level up, over anything you give it (clients, or
any objects your operation knows how to use): the operation runs on the first target; a
fallbackable error (the standard codes' ``fallbackable`` flag, or a local refusal such as
an open breaker) moves it to the next; any other error, or the last target's, is raised.
The targets tried before the one that answered are in ``last_hops``.

Example::

    chain = AsyncFallbackChain([primary_client, backup_client])
    resp = await chain.execute(lambda client: client.chat().user("Hello").execute())
    chain.last_hops       # [Hop(target='openai/gpt-4o', reason='E3002 overloaded: ...')]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar

from ailib.errors import AiLibError, ConfigurationError
from ailib.resilience.fallback import not_sent, reason_of, worth_falling_back
from ailib.resilience.signals import ResilienceStats
from ailib.runtime.context import Hop

T = TypeVar("T")
R = TypeVar("R")


def target_label(target: Any) -> str:
    """``provider/model`` for a client, else the target's name or repr."""
    provider, model = getattr(target, "provider_id", None), getattr(target, "model", None)
    if isinstance(provider, str) and isinstance(model, str):
        return f"{provider}/{model}"
    name = getattr(target, "__name__", None)
    return name if isinstance(name, str) else repr(target)


class _Chain(Generic[T]):
    """The targets, the fall-back decision and the hops (shared by both chains)."""

    def __init__(
        self,
        targets: Iterable[T] = (),
        *,
        should_fall_back: Callable[[BaseException], bool] = worth_falling_back,
        stats: ResilienceStats | None = None,
    ) -> None:
        self._targets: list[T] = list(targets)
        self._should_fall_back = should_fall_back
        self.stats = stats
        #: the targets the last finished ``execute`` tried before the one that answered
        self.last_hops: list[Hop] = []

    @property
    def targets(self) -> tuple[T, ...]:
        return tuple(self._targets)

    def add_target(self, target: T) -> _Chain[T]:
        """Append a target (tried after the others); returns the chain."""
        self._targets.append(target)
        return self

    def _start(self) -> tuple[T, ...]:
        if not self._targets:
            raise ConfigurationError(f"{type(self).__name__} has no targets; add_target() first")
        return tuple(self._targets)

    def _fall_back(
        self, targets: tuple[T, ...], index: int, exc: BaseException, hops: list[Hop]
    ) -> bool:
        """Record ``exc`` of ``targets[index]`` in ``hops``; True when the next should run."""
        if index == len(targets) - 1 or not self._should_fall_back(exc):
            return False
        code = exc.code if isinstance(exc, AiLibError) else None
        label = target_label(targets[index])
        hops.append(Hop(label, reason_of(exc), code, not not_sent(exc)))
        if self.stats is not None:
            self.stats.hop(label, target_label(targets[index + 1]))
        return True

    def __repr__(self) -> str:
        labels = ", ".join(target_label(t) for t in self._targets)
        return f"{type(self).__name__}([{labels}])"


class FallbackChain(_Chain[T]):
    """Runs an operation on the first target that answers (sync).

    Example::

        chain = FallbackChain([AiClient.create("openai/gpt-4o"),
                               AiClient.create("anthropic/claude-sonnet-4-5")])
        resp = chain.execute(lambda client: client.chat().user("Hello").execute())
    """

    def execute(self, operation: Callable[[T], R]) -> R:
        targets = self._start()
        hops: list[Hop] = []
        try:
            for index, target in enumerate(targets):
                try:
                    return operation(target)
                except Exception as exc:
                    if not self._fall_back(targets, index, exc, hops):
                        raise
        finally:
            self.last_hops = hops
        raise AssertionError("unreachable")  # pragma: no cover


class AsyncFallbackChain(_Chain[T]):
    """Runs an async operation on the first target that answers.

    Example::

        chain = AsyncFallbackChain([primary, backup])       # AsyncAiClient instances
        resp = await chain.execute(lambda c: c.chat().user("Hello").execute())
    """

    async def execute(self, operation: Callable[[T], Awaitable[R]]) -> R:
        targets = self._start()
        hops: list[Hop] = []
        try:
            for index, target in enumerate(targets):
                try:
                    return await operation(target)
                except Exception as exc:
                    if not self._fall_back(targets, index, exc, hops):
                        raise
        finally:
            self.last_hops = hops
        raise AssertionError("unreachable")  # pragma: no cover
