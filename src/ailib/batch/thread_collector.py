"""Group requests submitted one by one into calls of many, on threads: :class:`BatchCollector`.

Hand-written, not generated from ``_async_collector.py``: a timer thread sends groups
whose window has passed and a thread pool runs the handler, which a token rewrite of
the async source cannot express.

Example::

    def embed_all(texts: list[str]) -> list[list[float]]:
        return [e.vector for e in embedder.embed_batch(texts).embeddings]  # EmbeddingClient

    with BatchCollector(embed_all, max_batch_size=100, max_wait=0.05) as batch:
        futures = [batch.submit(t) for t in texts]
        vectors = [f.result() for f in futures]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from ailib.batch._async_collector import DEFAULT_GROUP, wrong_count
from ailib.batch.config import BatchConfig, resolve_config
from ailib.errors import ConfigurationError

T = TypeVar("T")
R = TypeVar("R")


class BatchCollector(Generic[T, R]):
    """Collects submitted items into groups and calls ``handler(group)`` once per group.

    The sync twin of :class:`~ailib.batch.AsyncBatchCollector`: a group is sent when it
    holds ``max_batch_size`` items or ``max_wait`` seconds after its first item, and on
    :meth:`flush` / :meth:`close`; ``submit(item)`` returns a
    :class:`concurrent.futures.Future` that gets the item's result or the handler's
    exception. Handler calls run on a pool of ``max_concurrent`` threads; ``submit``
    never waits for them. Safe to use from many threads.

    Example::

        with BatchCollector(handle_many, max_batch_size=5, max_wait=0.01) as collector:
            future = collector.submit("request1")
            print(collector.add("request2"))   # blocks until its group was handled
        print(future.result())
    """

    def __init__(
        self,
        handler: Callable[[list[T]], Sequence[R]] | None = None,
        *,
        config: BatchConfig | None = None,
        max_batch_size: int | None = None,
        max_wait: float | None = None,
        group_by: Callable[[T], str] | None = None,
        executor: Callable[[list[T]], Sequence[R]] | None = None,
    ) -> None:
        self.config = resolve_config(
            config,
            {"max_batch_size": max_batch_size, "max_wait": max_wait, "group_by": group_by},
            type(self).__name__,
        )
        self._handler = handler if handler is not None else executor
        self._groups: dict[str, list[tuple[T, Future[R]]]] = {}
        self._due: dict[str, float] = {}  # group -> monotonic time it must be sent
        self._lock = threading.Condition()
        self._sending: set[Future[None]] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._timer: threading.Thread | None = None
        self._running = True

    def set_executor(self, handler: Callable[[list[T]], Sequence[R]]) -> None:
        """Set the handler (the seed's name for it)."""
        self._handler = handler

    @property
    def is_running(self) -> bool:
        """False once :meth:`close` was called."""
        return self._running

    def pending_count(self, group: str | None = None) -> int:
        """Items waiting for their group to be sent (in ``group``, or in all)."""
        with self._lock:
            if group is not None:
                return len(self._groups.get(group, ()))
            return sum(len(g) for g in self._groups.values())

    get_pending_count = pending_count

    def submit(self, item: T) -> Future[R]:
        """Add ``item``; the future gets its result when its group was handled."""
        if self._handler is None:
            raise ConfigurationError(f"{type(self).__name__} has no handler")
        name = DEFAULT_GROUP if self.config.group_by is None else self.config.group_by(item)
        future: Future[R] = Future()
        with self._lock:
            if not self._running:
                raise ConfigurationError(f"{type(self).__name__} is closed: submit() refused")
            group = self._groups.setdefault(name, [])
            group.append((item, future))
            if len(group) >= self.config.max_batch_size:
                self._send_locked(name)
            elif name not in self._due:
                self._due[name] = time.monotonic() + self.config.max_wait
                self._ensure_timer_locked()
                self._lock.notify_all()
        return future

    def add(self, item: T) -> R:
        """Add ``item`` and wait for its result."""
        return self.submit(item).result()

    def flush(self) -> None:
        """Send every waiting group now and wait until every handler call has ended."""
        with self._lock:
            for name in list(self._groups):
                self._send_locked(name)
            sending = list(self._sending)
        for done in sending:
            done.exception()  # waits; the handler's errors went to the items' futures

    def close(self) -> None:
        """Refuse new items, send what is waiting, wait for it and stop the threads."""
        with self._lock:
            self._running = False
            self._lock.notify_all()
        self.flush()
        if self._timer is not None:
            self._timer.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    stop = close

    def __enter__(self) -> BatchCollector[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send_locked(self, name: str) -> None:
        self._due.pop(name, None)
        group = self._groups.pop(name, None)
        if not group:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.config.max_concurrent, thread_name_prefix="ailib-collector"
            )
        sent = self._pool.submit(self._call, group)
        self._sending.add(sent)
        sent.add_done_callback(self._forget)

    def _forget(self, sent: Future[None]) -> None:
        with self._lock:  # reentrant: may run inside _send_locked
            self._sending.discard(sent)

    def _ensure_timer_locked(self) -> None:
        if self._timer is None:
            self._timer = threading.Thread(
                target=self._watch, name="ailib-collector-timer", daemon=True
            )
            self._timer.start()

    def _watch(self) -> None:
        """Send each group whose window has passed; ends when the collector is closed."""
        with self._lock:
            while self._running:
                now = time.monotonic()
                for name, due in list(self._due.items()):
                    if due <= now:
                        self._send_locked(name)
                wait = min(self._due.values(), default=now + 3600) - now
                self._lock.wait(timeout=max(0.0, wait))

    def _call(self, group: list[tuple[T, Future[R]]]) -> None:
        assert self._handler is not None
        live = [(item, f) for item, f in group if f.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            results = self._handler([item for item, _ in live])
            if not isinstance(results, Sequence) or len(results) != len(live):
                raise wrong_count(self._handler, results, len(live))
        except BaseException as exc:  # SystemExit too: no caller may wait forever
            for _, future in live:
                future.set_exception(exc)
            return
        for (_, future), result in zip(live, results, strict=True):
            future.set_result(result)
