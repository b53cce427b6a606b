"""Group requests submitted one by one into calls of many: :class:`AsyncBatchCollector`.

Hand-written (no generated twin): the sync :class:`~ailib.batch.BatchCollector` uses a
timer thread and a thread pool (``thread_collector.py``), which a token rewrite of this
file cannot express.

Example::

    async def embed_all(texts: list[str]) -> list[list[float]]:
        response = await embedder.embed_batch(texts)   # an AsyncEmbeddingClient
        return [e.vector for e in response.embeddings]

    async with AsyncBatchCollector(embed_all, max_batch_size=100, max_wait=0.05) as batch:
        vectors = await asyncio.gather(*(batch.add(t) for t in texts))
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from ailib.batch.config import BatchConfig, resolve_config
from ailib.errors import AiLibError, ConfigurationError

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_GROUP = "_default_"


def wrong_count(handler: Any, got: Any, expected: int) -> AiLibError:
    """The error each item of a group gets when the handler's answer does not fit it."""
    name = getattr(handler, "__name__", type(handler).__name__)
    what = f"{len(got)} results" if isinstance(got, Sequence) else f"a {type(got).__name__}"
    return AiLibError(
        f"batch handler {name} returned {what} for a group of {expected} items:"
        " it must return one result per item, in order"
    )


class AsyncBatchCollector(Generic[T, R]):
    """Collects submitted items into groups and calls ``handler(group)`` once per group.

    A group is sent when it holds ``max_batch_size`` items, or ``max_wait`` seconds
    after its first item arrived, whichever comes first (and on :meth:`flush` /
    :meth:`close`). ``group_by(item)`` keeps items of different kinds in separate groups.
    ``handler`` returns one result per item, in order; each item's awaitable gets its
    result, and an exception raised by the handler is raised to every item of its group.
    At most ``max_concurrent`` handler calls run at once.

    Example::

        collector = AsyncBatchCollector(handle_many, max_batch_size=5, max_wait=0.01)
        future = collector.submit("request1")      # an asyncio.Future
        result = await collector.add("request2")   # or await the result directly
        await collector.close()                    # sends what is left
    """

    def __init__(
        self,
        handler: Callable[[list[T]], Awaitable[Sequence[R]]] | None = None,
        *,
        config: BatchConfig | None = None,
        max_batch_size: int | None = None,
        max_wait: float | None = None,
        group_by: Callable[[T], str] | None = None,
        executor: Callable[[list[T]], Awaitable[Sequence[R]]] | None = None,
    ) -> None:
        self.config = resolve_config(
            config,
            {"max_batch_size": max_batch_size, "max_wait": max_wait, "group_by": group_by},
            type(self).__name__,
        )
        self._handler = handler if handler is not None else executor
        self._groups: dict[str, list[tuple[T, asyncio.Future[R]]]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self._running = True

    def set_executor(self, handler: Callable[[list[T]], Awaitable[Sequence[R]]]) -> None:
        """Set the handler (the seed's name for it)."""
        self._handler = handler

    @property
    def is_running(self) -> bool:
        """False once :meth:`close` was called."""
        return self._running

    def pending_count(self, group: str | None = None) -> int:
        """Items waiting for their group to be sent (in ``group``, or in all)."""
        if group is not None:
            return len(self._groups.get(group, ()))
        return sum(len(g) for g in self._groups.values())

    get_pending_count = pending_count

    def submit(self, item: T) -> asyncio.Future[R]:
        """Add ``item``; the future resolves to its result (call within the event loop)."""
        if not self._running:
            raise ConfigurationError(f"{type(self).__name__} is closed: submit() refused")
        if self._handler is None:
            raise ConfigurationError(f"{type(self).__name__} has no handler")
        loop = asyncio.get_running_loop()
        name = DEFAULT_GROUP if self.config.group_by is None else self.config.group_by(item)
        future: asyncio.Future[R] = loop.create_future()
        group = self._groups.setdefault(name, [])
        group.append((item, future))
        if len(group) >= self.config.max_batch_size:
            self._send(name)
        elif name not in self._timers:
            self._timers[name] = loop.call_later(self.config.max_wait, self._send, name)
        return future

    async def add(self, item: T) -> R:
        """Add ``item`` and wait for its result."""
        return await self.submit(item)

    async def flush(self) -> None:
        """Send every waiting group now and wait until every handler call has ended."""
        for name in list(self._groups):
            self._send(name)
        while self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)

    async def close(self) -> None:
        """Refuse new items, send what is waiting and wait for it."""
        self._running = False
        await self.flush()

    stop = close

    async def __aenter__(self) -> AsyncBatchCollector[T, R]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _send(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        group = self._groups.pop(name, None)
        if not group:
            return
        task = asyncio.get_running_loop().create_task(self._call(group))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _call(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.max_concurrent)
        assert self._handler is not None
        async with self._slots:
            try:
                results = await self._handler([item for item, _ in group])
                if not isinstance(results, Sequence) or len(results) != len(group):
                    raise wrong_count(self._handler, results, len(group))
            except Exception as exc:
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                return
            except asyncio.CancelledError:
                for _, future in group:
                    future.cancel()
                raise
        for (_, future), result in zip(group, results, strict=True):
            if not future.done():
                future.set_result(result)
