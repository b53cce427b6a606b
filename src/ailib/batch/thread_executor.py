"""Run a function over many items on threads, a few at a time: :class:`BatchExecutor`.

Hand-written, not generated from ``_async_executor.py``: the sync executor runs each
item on its own worker thread, which a token rewrite of the async source cannot
express. Both share the bookkeeping in :mod:`ailib.batch.run`.

Example::

    from ailib import AiClient
    from ailib.batch import BatchExecutor

    with AiClient.create("openai/gpt-4o") as client:
        def ask(question: str) -> str:
            return client.chat().user(question).execute().content

        result = BatchExecutor(ask, max_concurrent=8, timeout=60).execute(questions)
"""

from __future__ import annotations

import contextvars
import inspect
import queue
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

from ailib.batch.checkpoint import function_name
from ailib.batch.config import BatchConfig, resolve_config
from ailib.batch.result import BatchResult
from ailib.batch.run import BatchRun, executor_config
from ailib.errors import ConfigurationError
from ailib.runtime.context import CALL_ENDS_AT

T = TypeVar("T")
R = TypeVar("R")

#: (index, succeeded, value or exception) sent by a worker thread
Outcome = tuple[int, bool, Any]

_ASYNC_FN = (
    "BatchExecutor runs plain functions on threads and got an async one (its calls would"
    " never run): use AsyncBatchExecutor for async functions"
)


class BatchExecutor(Generic[T, R]):
    """Runs ``fn(item)`` for every item, ``max_concurrent`` at a time, on worker threads.

    The sync twin of :class:`~ailib.batch.AsyncBatchExecutor`, with the same options and
    the same :class:`~ailib.batch.BatchResult` (input order, per-item typed errors,
    checkpoint, progress). ``fn`` must be safe to call from several threads at once
    (an :class:`~ailib.AiClient` is).

    A per-item ``timeout`` cannot stop a thread (Python cannot kill one): past it the
    item is recorded as a :class:`~ailib.errors.BatchTimeoutError` at once and its
    thread is abandoned (a daemon thread: it never holds up the batch's return nor the
    interpreter's exit; its late result is dropped, its slot given to the next item). At
    most ``max_concurrent`` abandoned threads are kept alive: past that, the next item
    waits for one of them to end, at most ``cancel_grace`` seconds; if none does, the
    threads are hung and the batch stops there: the items not started fail with
    :class:`~ailib.errors.CancelledError` (E4002), are not written to the checkpoint
    and run on a rerun. ailib calls made inside the item get the same deadline and end
    on their own with E3003, so the abandoned thread finishes shortly after; for other
    blocking work, read :func:`~ailib.batch.item_time_left`.

    ``KeyboardInterrupt`` / ``SystemExit`` raised by ``fn`` (or in the calling thread)
    stop the run and propagate; items already finished are in the checkpoint.

    Example::

        executor = BatchExecutor(ask, max_concurrent=5, checkpoint="run.jsonl")
        result = executor.execute(["What is AI?", "What is Python?"])
        print(result.successful_count, result.get_successful_results())
    """

    def __init__(
        self,
        fn: Callable[[T], R],
        max_concurrent: int | None = None,
        *,
        config: BatchConfig | None = None,
        timeout: float | None = None,
        fail_fast: bool | None = None,
        stop_on_error: bool | None = None,
        progress: bool | Callable[[int, int], Any] | None = None,
        checkpoint: str | Path | None = None,
        **options: Any,
    ) -> None:
        if inspect.iscoroutinefunction(fn):
            raise ConfigurationError(_ASYNC_FN)
        self.config = executor_config(
            fn,
            type(self).__name__,
            config,
            {
                "max_concurrent": max_concurrent,
                "timeout": timeout,
                "fail_fast": fail_fast,
                "stop_on_error": stop_on_error,
                "progress": progress,
                "checkpoint": checkpoint,
                **options,
            },
        )
        self._fn = fn

    @property
    def max_concurrent(self) -> int:
        """Items in flight at once."""
        return self.config.max_concurrent

    def execute(self, items: Iterable[T]) -> BatchResult[R]:
        """Run every item (skipping those the checkpoint holds); results in input order."""
        return self._execute(items, self.config)

    def _execute(self, items: Iterable[T], config: BatchConfig) -> BatchResult[R]:
        run: BatchRun[R] = BatchRun(items, config, function_name(self._fn))
        try:
            not_run, why = self._drive(run)
        except BaseException:
            run.close()
            raise
        return run.finish(not_run, why)

    def execute_with_progress(
        self, items: Iterable[T], on_progress: Callable[[int, int], Any]
    ) -> BatchResult[R]:
        """:meth:`execute`, calling ``on_progress(done, total)`` after each item."""
        config = resolve_config(self.config, {"progress": on_progress}, type(self).__name__)
        return self._execute(items, config)

    def _drive(self, run: BatchRun[R]) -> tuple[list[int], str | None]:
        """Start items while slots are free, record outcomes as they come; the items
        not run (fail_fast, or hung threads, stopped the batch) and why (None: fail_fast)."""
        outcomes: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        pending, position = run.pending, 0
        running: dict[int, float | None] = {}  # index -> monotonic deadline
        abandoned: set[int] = set()  # timed out, their threads still alive
        most = run.config.max_concurrent
        not_run: list[int] = []
        while True:
            if run.stopping:
                not_run.extend(pending[position:])
                position = len(pending)
            # live threads stay <= 2 * max_concurrent: past that, wait for an abandoned one
            while position < len(pending) and len(running) < min(most, 2 * most - len(abandoned)):
                index = pending[position]
                position += 1
                running[index] = self._start(run, index, outcomes)
            if not running and (position == len(pending) or not abandoned):
                return not_run, None
            # no item running: only abandoned threads hold the slots; wait a bounded time
            wait = self._wait(running) if running else run.config.cancel_grace
            try:
                index, ok, value = outcomes.get(timeout=wait)
            except queue.Empty:
                if not running:  # no abandoned thread ended in time: they are hung
                    not_run.extend(pending[position:])
                    return not_run, self._hung(len(abandoned), run.config.cancel_grace)
                abandoned.update(self._expire(run, running))
                continue
            if index not in running:  # an abandoned (timed-out) item's late outcome
                abandoned.discard(index)
                continue
            del running[index]
            if isinstance(value, BaseException) and not isinstance(value, Exception):
                raise value  # KeyboardInterrupt / SystemExit in fn: stop the run
            if ok:
                run.succeeded(index, value)
            else:
                run.failed(index, value)

    def _start(
        self, run: BatchRun[R], index: int, outcomes: queue.SimpleQueue[Outcome]
    ) -> float | None:
        deadline = run.deadline()
        context = contextvars.copy_context()  # the caller's context vars, plus the deadline
        context.run(CALL_ENDS_AT.set, deadline)
        item = run.items[index]

        def work() -> None:
            try:
                value = self._fn(item)
                if inspect.isawaitable(value):  # an async call nobody would await
                    getattr(value, "close", lambda: None)()
                    raise ConfigurationError(_ASYNC_FN)
                outcomes.put((index, True, value))
            except BaseException as exc:  # handed to the calling thread, which decides
                outcomes.put((index, False, exc))

        name = f"ailib-batch-{index}"
        threading.Thread(target=context.run, args=(work,), name=name, daemon=True).start()
        return deadline

    @staticmethod
    def _hung(count: int, grace: float) -> str:
        return (
            f"the batch stopped: its {count} abandoned worker threads (items past their"
            f" timeout) did not end within {grace:g}s (BatchConfig.cancel_grace) and a"
            " thread cannot be killed (make blocking work end by item_time_left())"
        )

    @staticmethod
    def _wait(running: dict[int, float | None]) -> float | None:
        deadlines = [d for d in running.values() if d is not None]
        return None if not deadlines else max(0.0, min(deadlines) - time.monotonic())

    @staticmethod
    def _expire(run: BatchRun[R], running: dict[int, float | None]) -> list[int]:
        """Fail the items past their deadline; their indexes (threads abandoned)."""
        now = time.monotonic()
        expired = []
        for index, deadline in list(running.items()):
            if deadline is not None and deadline <= now:
                del running[index]  # its thread is abandoned; a late outcome is dropped
                expired.append(index)
                run.failed(index, run.timeout_error(index))
        return expired
