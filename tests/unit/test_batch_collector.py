"""BatchCollector (threads) and AsyncBatchCollector: groups by size and by time window."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from ailib.batch import AsyncBatchCollector, BatchCollector, BatchConfig
from ailib.errors import AiLibError, ConfigurationError


class Handler:
    """Records each group it is called with; answers ``item * 10`` per item."""

    def __init__(self, fail_on: int | None = None, answers: int | None = None) -> None:
        self.groups: list[list[int]] = []
        self.lock = threading.Lock()
        self.fail_on = fail_on
        self.answers = answers

    def __call__(self, items: list[int]) -> list[int]:
        with self.lock:
            self.groups.append(list(items))
        if self.fail_on in items:
            raise ValueError(f"group with {self.fail_on} failed")
        results = [i * 10 for i in items]
        return results if self.answers is None else results[: self.answers]

    async def acall(self, items: list[int]) -> Sequence[int]:
        await asyncio.sleep(0)
        return self(items)


# ---- threads ----------------------------------------------------------------------------------


def test_full_groups_go_at_once_and_the_rest_on_close() -> None:
    handler = Handler()
    with BatchCollector(handler, max_batch_size=3, max_wait=60) as collector:
        futures = [collector.submit(i) for i in range(7)]
        assert [f.result(timeout=10) for f in futures[:6]] == [0, 10, 20, 30, 40, 50]
        assert collector.pending_count() == 1 and not futures[6].done()
    assert futures[6].result(timeout=0) == 60  # sent by close
    assert handler.groups == [[0, 1, 2], [3, 4, 5], [6]]
    assert not collector.is_running
    with pytest.raises(ConfigurationError, match="closed"):
        collector.submit(8)


def test_a_group_that_does_not_fill_goes_after_the_window() -> None:
    handler = Handler()
    with BatchCollector(handler, max_batch_size=100, max_wait=0.05) as collector:
        started = time.monotonic()
        assert collector.add(4) == 40  # blocks until the window passed
        assert time.monotonic() - started >= 0.04
        second = [collector.submit(i) for i in (5, 6)]
        assert [f.result(timeout=10) for f in second] == [50, 60]
    assert handler.groups == [[4], [5, 6]]


def test_the_handler_error_reaches_every_item_of_its_group_only() -> None:
    handler = Handler(fail_on=1)
    with BatchCollector(handler, config=BatchConfig(max_batch_size=2, max_wait=60)) as collector:
        futures = [collector.submit(i) for i in range(4)]
    for future in futures[:2]:
        with pytest.raises(ValueError, match="group with 1 failed"):
            future.result(timeout=0)
    assert [f.result(timeout=0) for f in futures[2:]] == [20, 30]


def test_a_handler_giving_the_wrong_number_of_results_is_a_clear_error() -> None:
    with BatchCollector(Handler(answers=1), max_batch_size=2, max_wait=60) as collector:
        futures = [collector.submit(i) for i in range(2)]
    with pytest.raises(AiLibError, match="returned 1 results for a group of 2 items"):
        futures[0].result(timeout=0)


def test_group_by_keeps_kinds_apart_and_submit_is_safe_from_many_threads() -> None:
    handler = Handler()
    with BatchCollector(
        handler, max_batch_size=5, max_wait=0.02, group_by=lambda i: str(i % 2)
    ) as collector:
        results: dict[int, int] = {}

        def submit_some(start: int) -> None:
            for i in range(start, start + 10):
                results[i] = collector.submit(i).result(timeout=10)

        threads = [threading.Thread(target=submit_some, args=(s,)) for s in (0, 10, 20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == {i: i * 10 for i in range(30)}
    assert all(len({i % 2 for i in group}) == 1 for group in handler.groups)
    assert all(len(group) <= 5 for group in handler.groups)


def test_the_seed_names_config_and_executor_work() -> None:
    handler = Handler()
    collector = BatchCollector(config=BatchConfig(max_batch_size=2), executor=handler)
    futures = [collector.submit(i) for i in range(2)]
    assert [f.result(timeout=10) for f in futures] == [0, 10]
    collector.stop()
    unset: BatchCollector[int, int] = BatchCollector()
    with pytest.raises(ConfigurationError, match="no handler"):
        unset.submit(1)
    unset.set_executor(handler)
    assert unset.add(3) == 30
    unset.close()


# ---- async ------------------------------------------------------------------------------------


async def test_async_full_groups_go_at_once_and_the_rest_on_close() -> None:
    handler = Handler()
    async with AsyncBatchCollector(handler.acall, max_batch_size=3, max_wait=60) as collector:
        futures = [collector.submit(i) for i in range(7)]
        assert await asyncio.gather(*futures[:6]) == [0, 10, 20, 30, 40, 50]
        assert collector.pending_count() == 1 and not futures[6].done()
    assert futures[6].result() == 60
    assert handler.groups == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ConfigurationError, match="closed"):
        collector.submit(8)


async def test_async_a_group_that_does_not_fill_goes_after_the_window() -> None:
    handler = Handler()
    collector = AsyncBatchCollector(handler.acall, max_batch_size=100, max_wait=0.05)
    started = time.monotonic()
    assert await asyncio.gather(collector.add(1), collector.add(2)) == [10, 20]
    assert time.monotonic() - started >= 0.04
    assert handler.groups == [[1, 2]]
    await collector.close()


async def test_async_the_handler_error_reaches_every_item_of_its_group_only() -> None:
    handler = Handler(fail_on=3)
    async with AsyncBatchCollector(handler.acall, max_batch_size=2, max_wait=60) as collector:
        futures = [collector.submit(i) for i in range(4)]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
    assert outcomes[:2] == [0, 10]
    assert all(isinstance(o, ValueError) for o in outcomes[2:])


async def test_async_group_by_and_the_wrong_number_of_results() -> None:
    handler = Handler()
    async with AsyncBatchCollector(
        handler.acall, max_batch_size=3, max_wait=0.01, group_by=lambda i: str(i % 3)
    ) as collector:
        assert await asyncio.gather(*(collector.add(i) for i in range(9))) == [
            i * 10 for i in range(9)
        ]
    assert sorted(handler.groups) == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    async with AsyncBatchCollector(Handler(answers=0).acall, max_batch_size=1) as short:
        with pytest.raises(AiLibError, match="returned 0 results for a group of 1 items"):
            await short.add(1)
