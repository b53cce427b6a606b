"""BatchExecutor (threads) and AsyncBatchExecutor: order, concurrency, errors, timeouts.

Every behaviour is checked on both executors through one ``runner`` fixture: the same
plan (what each item does) becomes a sync function run on threads or an async one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from ailib.batch import (
    AsyncBatchExecutor,
    BatchConfig,
    BatchExecutor,
    BatchResult,
    batch_execute,
    item_time_left,
)
from ailib.errors import BatchTimeoutError, CancelledError, ConfigurationError, RemoteError
from ailib.runtime.context import CALL_ENDS_AT, CallContext

#: what an item does: sleep this long, then return the value or raise it
Plan = dict[int, tuple[float, Any]]


class Counter:
    """Counts calls and the most items seen in flight at once (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[int] = []
        self.now = 0
        self.peak = 0

    def enter(self, item: int) -> None:
        with self.lock:
            self.calls.append(item)
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


Runner = Callable[..., BatchResult[Any]]


@pytest.fixture(params=["threads", "async"])
def runner(request: pytest.FixtureRequest) -> Runner:
    def run(items: list[int], plan: Plan, counter: Counter | None = None, **options: Any) -> Any:
        count = counter or Counter()

        def outcome(item: int) -> Any:
            value = plan.get(item, (0.0, item * 10))[1]
            if isinstance(value, BaseException):
                raise value
            return value

        if request.param == "threads":

            def sync_fn(item: int) -> Any:
                count.enter(item)
                try:
                    time.sleep(plan.get(item, (0.0, None))[0])
                    return outcome(item)
                finally:
                    count.leave()

            return BatchExecutor(sync_fn, **options).execute(items)

        async def async_fn(item: int) -> Any:
            count.enter(item)
            try:
                await asyncio.sleep(plan.get(item, (0.0, None))[0])
                return outcome(item)
            finally:
                count.leave()

        return asyncio.run(AsyncBatchExecutor(async_fn, **options).execute(items))

    return run


def test_results_keep_the_input_order_whatever_order_items_finish_in(runner: Runner) -> None:
    plan = {i: (0.05 * (4 - i % 5), f"answer {i}") for i in range(10)}
    result = runner(list(range(10)), plan, max_concurrent=5)
    assert result.results == [f"answer {i}" for i in range(10)]
    assert result.get_successful_results() == result.results
    assert (result.successful_count, result.failed_count, result.all_successful) == (10, 0, True)
    assert result.total_time_ms > 0 and len(result) == 10


def test_no_more_than_max_concurrent_items_run_at_once(runner: Runner) -> None:
    counter = Counter()
    plan = {i: (0.03, i) for i in range(12)}
    result = runner(list(range(12)), plan, counter, max_concurrent=3)
    assert sorted(counter.calls) == list(range(12))
    assert counter.peak <= 3 and counter.peak >= 2  # bounded, and actually concurrent
    assert result.successful_count == 12


def test_failed_items_keep_their_index_and_their_typed_error(runner: Runner) -> None:
    limited = RemoteError("slow down", code="E2001", status=429)
    plan: Plan = {1: (0.0, limited), 3: (0.0, ValueError("bad item"))}
    result = runner(list(range(5)), plan, max_concurrent=2)
    assert result.results == [0, None, 20, None, 40]
    assert (result.successful_count, result.failed_count) == (3, 2)
    errors = result.get_errors()
    assert [i for i, _ in errors] == [1, 3]
    assert errors[0][1] is limited and errors[0][1].code == "E2001"  # type: ignore[attr-defined]
    assert isinstance(errors[1][1], ValueError)
    assert [(i, item) for i, item, _ in result.get_failed_items()] == [(1, 1), (3, 3)]
    assert result.errors[1] is limited and result.errors[0] is None


def test_an_item_over_its_timeout_fails_with_a_typed_timeout_and_the_rest_go_on(
    runner: Runner,
) -> None:
    plan: Plan = {2: (30.0, "never")}
    started = time.monotonic()
    result = runner(list(range(6)), plan, max_concurrent=2, timeout=0.3)
    assert time.monotonic() - started < 20  # did not wait for the hung item
    (index, error), *rest = result.get_errors()
    assert not rest and index == 2
    assert isinstance(error, BatchTimeoutError)
    assert (error.code, error.index, error.timeout) == ("E3003", 2, 0.3)
    assert "0.3s" in str(error)
    assert result.results == [0, 10, None, 30, 40, 50]


def test_a_timeout_the_function_raises_itself_is_not_taken_for_the_batch_timeout(
    runner: Runner,
) -> None:
    result = runner([0, 1], {1: (0.0, TimeoutError("its own"))}, timeout=30)
    assert type(result.errors[1]) is TimeoutError


def test_fail_fast_starts_no_new_item_and_marks_the_rest_not_run(runner: Runner) -> None:
    counter = Counter()
    plan: Plan = {0: (0.0, ValueError("first"))}
    plan.update({i: (0.05, i) for i in range(1, 10)})
    result = runner(list(range(10)), plan, counter, max_concurrent=1, stop_on_error=True)
    assert counter.calls == [0]
    assert result.stopped_early and result.failed_count == 10
    not_run = result.errors[5]
    assert isinstance(not_run, CancelledError) and not_run.code == "E4002"
    assert "fail_fast" in str(not_run)


def test_progress_callback_counts_every_item(runner: Runner) -> None:
    seen: list[tuple[int, int]] = []
    runner([1, 2, 3], {}, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_an_empty_input_gives_an_empty_result(runner: Runner) -> None:
    result = runner([], {})
    assert result.results == [] and result.successful_count == 0


def test_the_item_deadline_reaches_code_and_ailib_calls_inside_the_item() -> None:
    seen: list[tuple[float | None, float | None]] = []

    def probe(_item: int) -> None:
        ctx = CallContext("chat", None)  # type: ignore[arg-type]
        seen.append((item_time_left(), ctx.ends_at))

    BatchExecutor(probe, timeout=50).execute([1])

    async def aprobe(item: int) -> None:
        probe(item)

    asyncio.run(AsyncBatchExecutor(aprobe, timeout=50).execute([1]))
    for left, ends_at in seen:
        assert left is not None and 40 < left <= 50
        assert ends_at is not None and ends_at > time.monotonic() + 40
    assert CALL_ENDS_AT.get() is None and item_time_left() is None  # outside an item


def test_without_a_timeout_no_deadline_is_set() -> None:
    seen: list[float | None] = []
    BatchExecutor(lambda _i: seen.append(item_time_left())).execute([1, 2])
    assert seen == [None, None]


async def test_the_seed_helpers_batch_execute_and_execute_with_progress() -> None:
    async def double(x: int) -> int:
        return x * 2

    result = await batch_execute([1, 2, 3], double, max_concurrent=2)
    assert result.results == [2, 4, 6]
    seen: list[int] = []
    executor = AsyncBatchExecutor(double, max_concurrent=5)
    again = await executor.execute_with_progress([4, 5], lambda done, _total: seen.append(done))
    assert again.results == [8, 10] and seen == [1, 2]
    assert executor.max_concurrent == 5 and executor.config.progress is None
    sync = BatchExecutor(lambda x: x + 1).execute_with_progress([1], lambda *_: None)
    assert sync.results == [2]


def test_options_come_from_config_or_keywords_and_bad_ones_are_refused() -> None:
    config = BatchConfig(max_concurrent=7, timeout=3)
    executor = BatchExecutor(lambda x: x, config=config, fail_fast=True)
    assert (executor.max_concurrent, executor.config.timeout, executor.config.fail_fast) == (
        7,
        3,
        True,
    )
    assert executor.config.stop_on_error
    with pytest.raises(ConfigurationError, match="max_concurrent must be an int >= 1"):
        BatchExecutor(lambda x: x, max_concurrent=0)
    with pytest.raises(ConfigurationError, match="timeout must be a number of seconds"):
        AsyncBatchExecutor(lambda x: x, timeout=-1)  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigurationError, match="unknown options: max_concurrency"):
        BatchExecutor(lambda x: x, max_concurrency=3)
    with pytest.raises(ConfigurationError, match="needs a function"):
        BatchExecutor("not callable")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"encode and \.decode go together"):
        BatchConfig(encode=str)
    with pytest.raises(ConfigurationError, match="progress must be"):
        BatchConfig(progress="yes")  # type: ignore[arg-type]
    assert BatchConfig.for_embeddings().max_batch_size == 100
    assert BatchConfig.for_chat().max_wait == 0.01 and BatchConfig.default() == BatchConfig()


def test_a_keyboard_interrupt_in_fn_stops_the_thread_run_and_propagates() -> None:
    calls: list[int] = []

    def fn(item: int) -> int:
        calls.append(item)
        if item == 2:
            raise KeyboardInterrupt
        return item

    with pytest.raises(KeyboardInterrupt):
        BatchExecutor(fn, max_concurrent=1).execute(range(10))
    assert calls == [0, 1, 2]


def test_a_result_repr_counts_without_listing_items() -> None:
    result = BatchExecutor(lambda x: x).execute(["secret prompt"])
    assert "secret" not in repr(result) and "successful=1" in repr(result)


def test_importing_ailib_batch_loads_no_executor() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ailib.batch\n"
        "print(sorted(m for m in sys.modules if m.startswith('ailib.batch.')))\n"
        "ailib.batch.BatchExecutor\n"
        "print('ailib.batch.thread_executor' in sys.modules, 'tqdm' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["[]", "True False"]
