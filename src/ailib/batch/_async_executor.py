"""Run an async function over many items, a few at a time: :class:`AsyncBatchExecutor`.

Hand-written (no generated twin): the sync :class:`~ailib.batch.BatchExecutor` runs
items on threads (``thread_executor.py``), which a token rewrite of this file cannot
express. Both share the bookkeeping in :mod:`ailib.batch.run`.

Example::

    from ailib import AsyncAiClient
    from ailib.batch import AsyncBatchExecutor

    async with await AsyncAiClient.create("openai/gpt-4o") as client:
        async def ask(question: str) -> str:
            return (await client.chat().user(question).execute()).content

        executor = AsyncBatchExecutor(ask, max_concurrent=8, timeout=60, checkpoint="run.jsonl")
        result = await executor.execute(questions)
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

from ailib.batch.checkpoint import function_name
from ailib.batch.config import BatchConfig, resolve_config
from ailib.batch.result import BatchResult
from ailib.batch.run import BatchRun, executor_config
from ailib.errors import CancelledError as AiCancelledError
from ailib.errors import ConfigurationError
from ailib.runtime.context import CALL_ENDS_AT

T = TypeVar("T")
R = TypeVar("R")

#: item tasks abandoned after their cancel grace, referenced until they end
_ABANDONED: set[asyncio.Future[Any]] = set()


def _quiet(call: asyncio.Future[Any]) -> None:
    """Mark the item task's exception as seen: a discarded one is not logged."""
    _ABANDONED.discard(call)
    if not call.cancelled():
        call.exception()


async def _stop(calls: Iterable[asyncio.Future[Any]], grace: float) -> None:
    """Cancel ``calls``, wait up to ``grace`` seconds for them to end, then cancel the
    ones still running once more and abandon them (they keep running in the loop,
    unwaited: code that swallows ``CancelledError`` cannot be forced to stop)."""
    pending = {c for c in calls if not c.done() and c not in _ABANDONED}
    for call in pending:
        call.cancel()
    try:
        if pending:
            await asyncio.wait(pending, timeout=grace)
    finally:  # also when the wait itself is cancelled: never wait twice
        for call in pending:
            if not call.done():
                call.cancel()  # a second request, for code that swallowed the first
                _ABANDONED.add(call)


class AsyncBatchExecutor(Generic[T, R]):
    """Runs ``await fn(item)`` for every item, ``max_concurrent`` at a time, in one event loop.

    Results come back in input order in a :class:`~ailib.batch.BatchResult`; an item
    that raises does not stop the others (unless ``fail_fast``). ``timeout`` cancels an
    item's call after that many seconds (:class:`~ailib.errors.BatchTimeoutError`);
    a result the item returns after that (having caught the cancellation) is discarded.
    An item that swallows the cancellation and goes on is waited for ``cancel_grace``
    seconds more, cancelled once more and abandoned, still running: the batch goes on
    and ends, and so does a cancelled ``execute()`` (its items get the same treatment).
    ``checkpoint`` makes the run resumable: finished items are appended to that JSONL
    file, and a run with the same file and inputs does not call ``fn`` for them again.
    Every :class:`~ailib.batch.BatchConfig` option can be given here or in ``config``.

    Example::

        executor = AsyncBatchExecutor(process_question, max_concurrent=5)
        result = await executor.execute(["What is AI?", "What is Python?"])
        print(result.successful_count, result.failed_count)
        for index, err in result.get_errors():
            print(index, err)
    """

    def __init__(
        self,
        fn: Callable[[T], Awaitable[R]],
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

    async def execute(self, items: Iterable[T]) -> BatchResult[R]:
        """Run every item (skipping those the checkpoint holds); results in input order."""
        return await self._execute(items, self.config)

    async def _execute(self, items: Iterable[T], config: BatchConfig) -> BatchResult[R]:
        run: BatchRun[R] = BatchRun(items, config, function_name(self._fn))
        queue = iter(run.pending)
        not_run: list[int] = []
        calls: set[asyncio.Future[Any]] = set()  # item tasks not ended yet

        async def worker() -> None:
            for index in queue:  # one iterator shared by the workers: each index once
                if run.stopping:
                    not_run.append(index)
                    continue
                await self._one(run, index, calls)

        count = min(config.max_concurrent, len(run.pending))
        workers = [asyncio.create_task(worker()) for _ in range(count)]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            try:
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                await _stop(calls, config.cancel_grace)  # bounded, however items behave
            finally:
                run.close()
            raise
        return run.finish(sorted(not_run))

    async def execute_with_progress(
        self, items: Iterable[T], on_progress: Callable[[int, int], Any]
    ) -> BatchResult[R]:
        """:meth:`execute`, calling ``on_progress(done, total)`` after each item."""
        config = resolve_config(self.config, {"progress": on_progress}, type(self).__name__)
        return await self._execute(items, config)

    async def _one(self, run: BatchRun[R], index: int, calls: set[asyncio.Future[Any]]) -> None:
        token = CALL_ENDS_AT.set(run.deadline())  # ailib calls inside end by it
        try:  # the item's own task (it copies the context: the deadline goes with it)
            produced = self._fn(run.items[index])
            call = asyncio.ensure_future(produced) if inspect.isawaitable(produced) else None
        except Exception as exc:  # fn raised before giving an awaitable
            run.failed(index, exc)
            return
        finally:
            CALL_ENDS_AT.reset(token)
        if call is None:  # a plain function: stop now rather than call it for every item
            raise ConfigurationError(
                f"AsyncBatchExecutor: fn returned a {type(produced).__name__}, not an"
                " awaitable: give an async function, or use BatchExecutor for plain functions"
            )
        calls.add(call)
        call.add_done_callback(calls.discard)
        call.add_done_callback(_quiet)
        # the run itself cancelled: _execute stops the item (once: a second cancel
        # would cut its cleanup short)
        done, _ = await asyncio.wait({call}, timeout=run.config.timeout)
        if not done:  # let it unwind (a cancelled ailib call cleans up), a bounded time
            await _stop({call}, run.config.cancel_grace)
            run.failed(index, run.timeout_error(index))  # a late result is discarded
            return
        if call.cancelled():  # fn's task was cancelled from inside: a failed item
            run.failed(index, AiCancelledError(f"batch item {index}'s call was cancelled"))
            return
        error = call.exception()
        if error is None:
            run.succeeded(index, call.result())
        elif isinstance(error, Exception):
            run.failed(index, error)
        else:
            raise error  # KeyboardInterrupt / SystemExit in fn: stop the run


async def batch_execute(
    items: Iterable[T],
    fn: Callable[[T], Awaitable[R]],
    max_concurrent: int = 5,
    fail_fast: bool = False,
) -> BatchResult[R]:
    """``AsyncBatchExecutor(fn, max_concurrent, fail_fast=fail_fast).execute(items)``.

    Example::

        result = await batch_execute(questions, ask, max_concurrent=8)
    """
    return await AsyncBatchExecutor(fn, max_concurrent, fail_fast=fail_fast).execute(items)
