"""Resumable batches: the JSONL checkpoint, on both executors, including a killed process.

The promise checked here: on a restart with the same checkpoint and inputs, no item the
checkpoint holds as finished is sent again, and the result is complete and in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest

from ailib.batch import AsyncBatchExecutor, BatchConfig, BatchExecutor
from ailib.batch.checkpoint import FORMAT, Checkpoint, item_keys
from ailib.errors import BatchCheckpointError, BatchItemError, ConfigurationError, RemoteError
from ailib.types.response import ChatResponse, Usage


def run_both(fn: Any, items: list[Any], kind: str, **options: Any) -> Any:
    """``fn`` (a plain function) over ``items`` on the thread or the async executor."""
    if kind == "threads":
        return BatchExecutor(fn, **options).execute(items)

    async def call(item: Any) -> Any:
        return fn(item)

    return asyncio.run(AsyncBatchExecutor(call, **options).execute(items))


KINDS = ["threads", "async"]


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("kind", KINDS)
def test_a_rerun_sends_no_finished_item_again_and_restores_results_and_errors(
    kind: str, tmp_path: Path
) -> None:
    book = tmp_path / "run.jsonl"
    calls: list[str] = []

    def first(item: str) -> Any:
        calls.append(item)
        if item == "q1":
            raise RemoteError("slow down", code="E2001", status=429)
        return {"answer": item.upper(), "n": [1, 2.5, None]}

    items = [f"q{i}" for i in range(6)]
    done = run_both(first, items[:4], kind, checkpoint=book, max_concurrent=2)
    assert done.successful_count == 3 and sorted(calls) == items[:4]
    records = lines(book)
    assert records[0]["format"] == FORMAT
    assert sorted(r["i"] for r in records[1:]) == [0, 1, 2, 3]
    error_line = next(r for r in records[1:] if not r["ok"])
    assert error_line["error"]["code"] == "E2001" and error_line["error"]["type"] == "RemoteError"

    calls.clear()
    again = run_both(first, items, kind, checkpoint=book)  # the same inputs, and two more
    assert sorted(calls) == ["q4", "q5"]  # finished items were not sent again
    assert again.restored == 4
    assert again.results[0] == {"answer": "Q0", "n": [1, 2.5, None]}
    assert again.results[5] == {"answer": "Q5", "n": [1, 2.5, None]}
    restored_error = again.errors[1]
    assert isinstance(restored_error, BatchItemError)
    assert (restored_error.code, restored_error.error_type, restored_error.index) == (
        "E2001",
        "RemoteError",
        1,
    )
    assert restored_error.retryable and "slow down" in str(restored_error)
    assert [i for i, _ in again.get_errors()] == [1]

    calls.clear()
    retried = run_both(
        lambda item: item,
        items,
        kind,
        checkpoint=book,
        rerun_failed=True,
        checkpoint_check_fn=False,
    )
    assert calls == [] and retried.results[1] == "q1" and retried.all_successful


@pytest.mark.parametrize("kind", KINDS)
def test_chat_responses_go_through_the_cache_codec(kind: str, tmp_path: Path) -> None:
    book = tmp_path / "chat.jsonl"
    response = ChatResponse(
        content="Paris",
        model="gpt-4o",
        usage=Usage(input_tokens=3, output_tokens=1, total_tokens=4),
    )

    def answer(_item: str) -> ChatResponse:
        return response

    run_both(answer, ["capital of France?"], kind, checkpoint=book)
    assert lines(book)[1]["as"] == "chat_response"
    result = run_both(
        pytest.fail, ["capital of France?"], kind, checkpoint=book, checkpoint_check_fn=False
    )
    restored = result.results[0]
    assert isinstance(restored, ChatResponse)
    assert (restored.content, restored.model, restored.usage) == ("Paris", "gpt-4o", response.usage)


@attrs.frozen
class Point:
    x: int
    y: int


def test_other_results_need_an_encode_decode_pair(tmp_path: Path) -> None:
    def as_point(item: int) -> Point:
        return Point(item, -item)

    with pytest.raises(ConfigurationError, match=r"encode=\.\.\., decode="):
        BatchExecutor(as_point, checkpoint=tmp_path / "a.jsonl")  # refused from its annotation

    def untyped(item):  # type: ignore[no-untyped-def]
        return Point(item, 0)

    with pytest.raises(BatchCheckpointError, match="item 0's result is a Point"):
        BatchExecutor(untyped, checkpoint=tmp_path / "b.jsonl").execute([0])

    book = tmp_path / "c.jsonl"
    config = BatchConfig(checkpoint=book, encode=attrs.asdict, decode=lambda d: Point(**d))
    BatchExecutor(as_point, config=config).execute([1, 2])
    result = BatchExecutor(pytest.fail, config=config, checkpoint_check_fn=False).execute([1, 2])
    assert result.results == [Point(1, -1), Point(2, -2)]


def test_items_without_a_stable_key_need_a_key_function(tmp_path: Path) -> None:
    opaque = [object(), object()]
    with pytest.raises(ConfigurationError, match=r"batch item 0 \(a object\) has no stable"):
        BatchExecutor(lambda _x: 1, checkpoint=tmp_path / "k.jsonl").execute(opaque)
    keyed = BatchExecutor(lambda _x: 1, checkpoint=tmp_path / "k.jsonl", key=lambda o: str(id(o)))
    assert keyed.execute(opaque).successful_count == 2
    assert item_keys([{"b": 1, "a": (2,)}], None) == item_keys([{"a": [2], "b": 1}], None)
    assert item_keys([Point(1, 2)], None) != item_keys([Point(2, 1)], None)


def test_a_last_line_cut_by_a_crash_is_ignored_and_cut_off(tmp_path: Path) -> None:
    book = tmp_path / "cut.jsonl"
    BatchExecutor(str.upper, checkpoint=book).execute(["a", "b"])
    whole = book.read_bytes()
    book.write_bytes(whole + b'{"i": 2, "key": "abc", "ok": tr')  # the crash hit mid-write
    calls: list[str] = []

    def upper(item: str) -> str:
        calls.append(item)
        return item.upper()

    result = BatchExecutor(upper, checkpoint=book, checkpoint_check_fn=False).execute(
        ["a", "b", "c"]
    )
    assert calls == ["c"] and result.results == ["A", "B", "C"]
    assert [r["i"] for r in lines(book)[1:]] == [0, 1, 2]  # the cut line is gone


def test_a_malformed_line_names_the_file_and_line(tmp_path: Path) -> None:
    book = tmp_path / "bad.jsonl"
    BatchExecutor(str.upper, checkpoint=book).execute(["a", "b"])
    text = book.read_text().splitlines()
    book.write_text("\n".join([text[0], "{not json", *text[1:]]) + "\n")
    with pytest.raises(BatchCheckpointError) as caught:
        BatchExecutor(str.upper, checkpoint=book).execute(["a", "b"])
    assert caught.value.line == 2 and caught.value.path == str(book)
    assert f"{book}, line 2: not JSON" in str(caught.value)
    assert caught.value.code == "E1001"

    book.write_text("hello\n")
    with pytest.raises(BatchCheckpointError, match="line 1: not an ailib batch checkpoint"):
        BatchExecutor(str.upper, checkpoint=book).execute(["a"])


def test_a_checkpoint_of_other_inputs_is_refused(tmp_path: Path) -> None:
    book = tmp_path / "other.jsonl"
    BatchExecutor(str.upper, checkpoint=book).execute(["a", "b", "c"])
    with pytest.raises(BatchCheckpointError, match=r"item 0's key .* does not match"):
        BatchExecutor(str.upper, checkpoint=book).execute(["x", "b", "c"])
    with pytest.raises(BatchCheckpointError, match="past the input's 2 items"):
        BatchExecutor(str.upper, checkpoint=book).execute(["a", "b"])


def test_an_interrupt_at_item_k_then_a_restart_sends_no_finished_item_again(
    tmp_path: Path,
) -> None:
    book = tmp_path / "interrupted.jsonl"
    calls: Counter[int] = Counter()

    def crashing(item: int) -> int:
        calls[item] += 1
        if item == 7 and calls[item] == 1:
            raise KeyboardInterrupt
        return item * item

    with pytest.raises(KeyboardInterrupt):
        BatchExecutor(crashing, max_concurrent=1, checkpoint=book).execute(range(12))
    finished = {r["i"] for r in lines(book)[1:]}
    assert finished == set(range(7))

    async def acrashing(item: int) -> int:
        return crashing(item)

    result = asyncio.run(
        AsyncBatchExecutor(
            acrashing, max_concurrent=3, checkpoint=book, checkpoint_check_fn=False
        ).execute(range(12))
    )
    assert result.results == [i * i for i in range(12)]
    assert all(calls[i] == 1 for i in finished)  # no finished item ran twice
    assert calls[7] == 2 and result.restored == 7


async def test_a_keyboard_interrupt_in_an_async_item_leaves_the_finished_ones_written(
    tmp_path: Path,
) -> None:
    book = tmp_path / "async.jsonl"
    calls: Counter[int] = Counter()

    async def crashing(item: int) -> int:
        calls[item] += 1
        await asyncio.sleep(0)
        if item == 4 and calls[item] == 1:
            raise SystemExit(3)
        return -item

    def in_its_own_loop() -> None:
        asyncio.run(
            AsyncBatchExecutor(crashing, max_concurrent=1, checkpoint=book).execute(range(8))
        )

    with pytest.raises(SystemExit):
        await asyncio.to_thread(in_its_own_loop)
    assert {r["i"] for r in lines(book)[1:]} == {0, 1, 2, 3}
    result = await AsyncBatchExecutor(crashing, checkpoint=book).execute(range(8))
    assert result.results == [-i for i in range(8)]
    assert all(calls[i] == 1 for i in (0, 1, 2, 3, 5, 6, 7)) and calls[4] == 2


CHILD = textwrap.dedent(
    """
    import sys, time
    from ailib.batch import BatchExecutor

    book, calls_log = sys.argv[1], sys.argv[2]

    def ask(item: str) -> str:
        with open(calls_log, "a") as log:
            log.write(item + "\\n")
        time.sleep(0.02)
        return "answer to " + item

    result = BatchExecutor(ask, max_concurrent=3, checkpoint=book).execute(
        [f"prompt {i}" for i in range(40)]
    )
    print(result.restored, "|".join(result.results))
    """
)


def test_a_killed_process_restarts_where_it_stopped(tmp_path: Path) -> None:
    script, book, calls_log = tmp_path / "child.py", tmp_path / "run.jsonl", tmp_path / "calls"
    script.write_text(CHILD)
    command = [sys.executable, str(script), str(book), str(calls_log)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up and (not book.exists() or book.read_text().count("\n") < 11):
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    finished_before = {r["i"] for r in lines(book)[1:] if r}
    assert 10 <= len(finished_before) < 40, "the kill came too late to test a restart"

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    restored, joined = rerun.stdout.strip().split(" ", 1)
    assert int(restored) == len(finished_before)
    assert joined.split("|") == [f"answer to prompt {i}" for i in range(40)]
    sent = Counter(calls_log.read_text().split("\n")[:-1])
    for index in finished_before:
        assert sent[f"prompt {index}"] == 1, f"finished item {index} was sent again"
    assert set(sent) == {f"prompt {i}" for i in range(40)}


def test_a_checkpoint_of_thousands_of_items_loads_every_one(tmp_path: Path) -> None:
    book = tmp_path / "big.jsonl"
    items = [f"prompt {i}" for i in range(2000)]
    BatchExecutor(lambda s: s[::-1], max_concurrent=8, checkpoint=book).execute(items)
    checkpoint = Checkpoint(book, item_keys(items, None), encode=None, decode=None)
    finished = checkpoint.load()
    assert len(finished) == 2000 and finished[1999].value == "9991 tpmorp"


@pytest.mark.parametrize("kind", KINDS)
def test_items_fail_fast_did_not_run_are_not_written_and_run_on_restart(
    kind: str, tmp_path: Path
) -> None:
    book = tmp_path / "stopped.jsonl"

    def strict(item: int) -> int:
        if item == 1:
            raise ValueError("one")
        return item

    stopped = run_both(
        strict, list(range(5)), kind, checkpoint=book, max_concurrent=1, fail_fast=True
    )
    assert stopped.stopped_early and [r["i"] for r in lines(book)[1:]] == [0, 1]
    calls: list[int] = []

    def record(item: int) -> int:
        calls.append(item)
        return item

    resumed = run_both(
        record, list(range(5)), kind, checkpoint=book, max_concurrent=1, checkpoint_check_fn=False
    )
    assert calls == [2, 3, 4] and resumed.results == [0, None, 2, 3, 4]
    assert resumed.errors[1].code == "E9999"  # type: ignore[union-attr]
    assert resumed.errors[1].error_type == "ValueError"  # type: ignore[union-attr]
