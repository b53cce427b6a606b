"""Batch items that will not stop: every batch still ends within a bounded time.

An async item can catch and swallow ``asyncio.CancelledError``; a thread cannot be killed
at all. Past its timeout (or the batch's cancellation) such an item counts as failed with
the timeout error, a result it gives later is discarded, and neither ``execute()`` nor the
interpreter's exit waits for it forever. Each behaviour has a thread and an async test;
the bounds asserted are generous (the machine is loaded).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ailib.batch import AsyncBatchExecutor, BatchConfig, BatchExecutor
from ailib.errors import BatchTimeoutError, CancelledError, ConfigurationError

#: how long a test lets a batch run before calling it hung
HUNG = 30.0


# ---- a result given after the timeout is discarded -------------------------------------------


async def test_an_async_item_that_swallows_its_timeout_and_returns_still_fails() -> None:
    async def swallow(item: int) -> str:
        if item == 1:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                return "ignored"
        return f"ok {item}"

    result = await asyncio.wait_for(
        AsyncBatchExecutor(swallow, max_concurrent=2, timeout=0.1).execute([0, 1, 2]), HUNG
    )
    assert result.results == ["ok 0", None, "ok 2"]
    error = result.errors[1]
    assert isinstance(error, BatchTimeoutError) and (error.index, error.code) == (1, "E3003")


def test_a_thread_item_that_returns_after_its_timeout_still_fails() -> None:
    def late(item: int) -> str:
        if item == 1:
            time.sleep(0.5)
            return "ignored"
        return f"ok {item}"

    result = BatchExecutor(late, max_concurrent=2, timeout=0.1).execute([0, 1, 2])
    assert result.results == ["ok 0", None, "ok 2"]
    assert isinstance(result.errors[1], BatchTimeoutError)


# ---- an item that never stops does not hold the batch ------------------------------------------


async def test_an_async_item_that_swallows_every_cancellation_does_not_hang_the_batch() -> None:
    release = asyncio.Event()
    cancels: list[int] = []

    async def stubborn(item: int) -> str:
        if item == 1:
            while not release.is_set():
                try:
                    await release.wait()
                except asyncio.CancelledError:
                    cancels.append(item)  # swallowed: the item goes on
            return "late"
        return f"ok {item}"

    executor = AsyncBatchExecutor(stubborn, max_concurrent=2, timeout=0.1, cancel_grace=0.2)
    started = time.monotonic()
    try:
        result = await asyncio.wait_for(executor.execute([0, 1, 2, 3]), HUNG)
    finally:
        release.set()
    assert time.monotonic() - started < HUNG / 2
    assert result.results == ["ok 0", None, "ok 2", "ok 3"]
    assert isinstance(result.errors[1], BatchTimeoutError)
    for _ in range(20):  # released, the abandoned item ends; its "late" is dropped
        await asyncio.sleep(0)
    assert result.results[1] is None
    assert len(cancels) == 2  # cancelled at the timeout, and once more when abandoned


def test_a_thread_item_that_never_returns_does_not_hang_the_batch() -> None:
    """Hung threads hold every slot: the batch stops after cancel_grace, and the items
    it could not start fail with E4002 (not checkpointed: a rerun runs them)."""
    release = threading.Event()

    def hang(item: int) -> str:
        if item < 2:
            release.wait()  # never returns while the batch runs
        return f"ok {item}"

    executor = BatchExecutor(hang, max_concurrent=1, timeout=0.1, cancel_grace=0.3)
    outcome: list[Any] = []
    runner = threading.Thread(target=lambda: outcome.append(executor.execute(range(4))))
    runner.start()
    runner.join(HUNG)
    release.set()
    assert not runner.is_alive(), "the batch waited for threads that never returned"
    result = outcome[0]
    assert [type(e) for e in result.errors[:2]] == [BatchTimeoutError, BatchTimeoutError]
    for late in result.errors[2:]:
        assert isinstance(late, CancelledError) and late.code == "E4002"
        assert "abandoned worker threads" in str(late) and "cancel_grace" in str(late)
    assert result.stopped_early


def test_a_thread_slot_freed_within_the_grace_lets_the_batch_go_on() -> None:
    def slow(item: int) -> str:
        if item < 2:
            time.sleep(0.3)  # past the timeout, but it does end
        return f"ok {item}"

    result = BatchExecutor(slow, max_concurrent=1, timeout=0.05, cancel_grace=20).execute(range(4))
    assert result.results == [None, None, "ok 2", "ok 3"] and not result.stopped_early


# ---- the batch's own cancellation ----------------------------------------------------------------


async def test_a_cancelled_async_batch_lets_its_items_unwind_then_ends() -> None:
    cleaned: list[int] = []

    async def tidy(item: int) -> int:
        try:
            await asyncio.sleep(10)
        finally:
            await asyncio.sleep(0.05)  # closing a connection, say
            cleaned.append(item)
        return item

    executor = AsyncBatchExecutor(tidy, max_concurrent=3, cancel_grace=HUNG)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(executor.execute([0, 1, 2]), 0.2)
    assert sorted(cleaned) == [0, 1, 2]  # unwound before execute() gave up


async def test_a_cancelled_async_batch_whose_item_ignores_it_still_ends() -> None:
    release = asyncio.Event()

    async def stubborn(item: int) -> int:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue
        return item

    executor = AsyncBatchExecutor(stubborn, max_concurrent=2, cancel_grace=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(executor.execute([0, 1]), 0.2)
    finally:
        release.set()
    assert time.monotonic() - started < HUNG / 2


def test_a_keyboard_interrupt_while_threads_hang_ends_the_thread_batch() -> None:
    """The thread twin of cancelling the batch: the caller's KeyboardInterrupt (here from
    an item) ends execute() at once, however many threads hang."""
    release = threading.Event()

    def item(index: int) -> int:
        if index == 0:
            release.wait()
        if index == 1:
            time.sleep(0.1)
            raise KeyboardInterrupt
        return index

    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            BatchExecutor(item, max_concurrent=2).execute([0, 1])
    finally:
        release.set()
    assert time.monotonic() - started < HUNG / 2


# ---- the interpreter's exit -------------------------------------------------------------------

THREAD_CHILD = textwrap.dedent(
    """
    import threading
    from ailib.batch import BatchExecutor

    def hang(item):
        threading.Event().wait()          # never returns, never can be killed
        return item

    result = BatchExecutor(hang, timeout=0.1, cancel_grace=0.2).execute([1, 2])
    print(result.failed_count, flush=True)
    """
)

ASYNC_CHILD = textwrap.dedent(
    """
    import asyncio
    from ailib.batch import AsyncBatchExecutor

    async def swallow(item):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(3600)     # swallowed the cancel, goes on sleeping
        return item

    async def main():
        result = await AsyncBatchExecutor(swallow, timeout=0.1, cancel_grace=0.2).execute([1, 2])
        print(result.failed_count, flush=True)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("kind", ["threads", "async"])
def test_a_process_whose_batch_items_never_stop_still_exits(kind: str, tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(THREAD_CHILD if kind == "threads" else ASYNC_CHILD)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "2"


# ---- the setting -------------------------------------------------------------------------------


def test_cancel_grace_is_a_positive_number_of_seconds() -> None:
    assert BatchConfig().cancel_grace == 5.0
    for bad in (0, -1, float("nan"), "1", True):
        with pytest.raises(ConfigurationError, match="cancel_grace"):
            BatchConfig(cancel_grace=bad)  # type: ignore[arg-type]
    assert AsyncBatchExecutor(asyncio.sleep, cancel_grace=0.5).config.cancel_grace == 0.5
    assert BatchExecutor(time.sleep, cancel_grace=0.5).config.cancel_grace == 0.5
