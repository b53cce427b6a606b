"""A batch checkpoint on a hostile or broken file system, and checkpoints of other jobs.

Links are refused, never followed (dangling or not); only regular files are used (a FIFO
never blocks the run); lines are read with a bound and errors name the file, the line and
its byte offset; the header names the function that produced the results, and a resume
with another function is refused unless the caller opts out. Every behaviour is checked
on the thread and the async executor; files live in ``tmp_path`` only.
"""

from __future__ import annotations

import asyncio
import json
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ailib.batch import AsyncBatchExecutor, BatchConfig, BatchExecutor, BatchResult
from ailib.batch.checkpoint import FORMAT, Checkpoint, function_name, item_keys
from ailib.errors import BatchCheckpointError, ConfigurationError

KINDS = ["threads", "async"]


def run(kind: str, fn: Callable[[Any], Any], items: list[Any], **options: Any) -> BatchResult[Any]:
    """``fn`` (plain) over ``items`` on the thread or the async executor; the async one
    gets a wrapper named after ``fn`` so the checkpoint's fn check sees one function."""
    if kind == "threads":
        return BatchExecutor(fn, **options).execute(items)

    async def call(item: Any) -> Any:
        return fn(item)

    call.__qualname__ = fn.__qualname__
    call.__module__ = fn.__module__
    return asyncio.run(AsyncBatchExecutor(call, **options).execute(items))


def answer(item: str) -> str:
    return item.upper()


def other_answer(item: str) -> str:
    return item.lower()


def refuse(item: str) -> str:
    raise AssertionError(f"item {item!r} ran although the checkpoint holds it")


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ---- symbolic links and other kinds of file ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_checkpoint_path_that_is_a_link_to_a_checkpoint_is_refused(
    kind: str, tmp_path: Path
) -> None:
    real = tmp_path / "real.jsonl"
    run(kind, answer, ["a", "b"], checkpoint=real)
    before = real.read_bytes()
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    with pytest.raises(BatchCheckpointError, match="is a symbolic link") as caught:
        run(kind, refuse, ["a", "b", "c"], checkpoint=link)
    assert caught.value.path == str(link) and caught.value.code == "E1001"
    assert isinstance(caught.value, ConfigurationError)
    assert real.read_bytes() == before  # neither read through the link nor written


@pytest.mark.parametrize("kind", KINDS)
def test_a_dangling_link_is_refused_and_its_target_never_created(kind: str, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "victim.jsonl"
    target.parent.mkdir()
    link = tmp_path / "run.jsonl"
    link.symlink_to(target)
    with pytest.raises(BatchCheckpointError, match="is a symbolic link"):
        run(kind, answer, ["a"], checkpoint=link)
    assert not target.exists() and link.is_symlink()


@pytest.mark.parametrize("kind", KINDS)
def test_a_link_swapped_in_while_the_run_starts_is_not_followed(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lstat check passes, then a link replaces the path before the open: O_NOFOLLOW
    (where the OS has it) still refuses it."""
    if not hasattr(os, "O_NOFOLLOW"):
        pytest.skip("no O_NOFOLLOW here: the lstat check is the only guard")
    import ailib.batch.checkpoint_file as checkpoint_file

    target = tmp_path / "victim.jsonl"
    path = tmp_path / "run.jsonl"
    real_lstat = os.lstat
    checks = 0

    def swapping_lstat(where: Any) -> os.stat_result:
        nonlocal checks
        found = real_lstat(where)
        if os.fspath(where) == str(path):
            checks += 1
            if checks == 2:  # the check right before the open passed: swap now
                os.unlink(path)
                os.symlink(target, path)
        return found

    path.write_text(json.dumps({"format": FORMAT}) + "\n")
    monkeypatch.setattr(checkpoint_file.os, "lstat", swapping_lstat)
    with pytest.raises(BatchCheckpointError, match="symbolic link"):
        run(kind, answer, ["a"], checkpoint=path)
    assert checks >= 2 and not target.exists()  # refused by the open, after the swap


@pytest.mark.parametrize("kind", KINDS)
def test_a_fifo_checkpoint_is_refused_without_blocking(kind: str, tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "run.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(BatchCheckpointError, match="not a regular file"):
        run(kind, answer, ["a"], checkpoint=fifo)


# ---- bounded lines ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_an_over_long_line_is_refused_with_its_file_line_and_offset(
    kind: str, tmp_path: Path
) -> None:
    book = tmp_path / "long.jsonl"
    run(kind, answer, ["a", "b"], checkpoint=book)
    text = book.read_bytes().splitlines(keepends=True)
    offset = len(text[0]) + len(text[1])
    book.write_bytes(text[0] + text[1] + b'{"i": 1, "pad": "' + b"x" * 9000 + b'"}\n')
    with pytest.raises(BatchCheckpointError) as caught:
        run(kind, answer, ["a", "b"], checkpoint=book, checkpoint_max_line=4096)
    error = caught.value
    assert (error.path, error.line, error.offset) == (str(book), 3, offset)
    assert f"{book}, line 3: the line is longer than 4096 bytes" in str(error)
    assert f"starts at byte {offset}" in str(error)


@pytest.mark.parametrize("kind", KINDS)
def test_a_multi_gigabyte_line_is_never_read_whole(kind: str, tmp_path: Path) -> None:
    book = tmp_path / "huge.jsonl"
    header = json.dumps({"format": FORMAT}).encode() + b"\n"
    with book.open("wb") as handle:
        handle.write(header + b'{"i": 0, "value": "')
        handle.truncate(3 * 1024**3)  # sparse: 3 GB on disk in name only, no newline
    tracemalloc.start()
    try:
        with pytest.raises(BatchCheckpointError, match="longer than 1048576 bytes") as caught:
            run(kind, answer, ["a"], checkpoint=book, checkpoint_max_line=1024 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (caught.value.line, caught.value.offset) == (2, len(header))
    assert peak < 32 * 1024 * 1024, f"{peak} bytes allocated reading one bounded line"
    assert book.stat().st_size == 3 * 1024**3  # refused, never cut


@pytest.mark.parametrize("kind", KINDS)
def test_a_malformed_line_names_its_byte_offset(kind: str, tmp_path: Path) -> None:
    book = tmp_path / "bad.jsonl"
    run(kind, answer, ["a", "b"], checkpoint=book)
    text = book.read_bytes().splitlines(keepends=True)
    book.write_bytes(text[0] + text[1] + b"{not json\n" + text[2])
    with pytest.raises(BatchCheckpointError) as caught:
        run(kind, answer, ["a", "b"], checkpoint=book)
    assert (caught.value.line, caught.value.offset) == (3, len(text[0]) + len(text[1]))
    assert f"{book}, line 3: not JSON" in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_a_result_too_long_for_a_line_is_refused_when_written(kind: str, tmp_path: Path) -> None:
    """A line the next run could not read back is never written."""
    book = tmp_path / "big.jsonl"

    def big(_item: str) -> str:
        return "y" * 10_000

    with pytest.raises(BatchCheckpointError, match="over the 4096 bytes"):
        run(kind, big, ["a"], checkpoint=book, checkpoint_max_line=4096)
    assert [r.get("i") for r in lines(book)] == [None]  # the header only
    with pytest.raises(ConfigurationError, match="checkpoint_max_line must be an int >= 4096"):
        BatchConfig(checkpoint_max_line=100)


@pytest.mark.parametrize("kind", KINDS)
def test_a_run_never_cuts_a_line_another_run_is_writing(kind: str, tmp_path: Path) -> None:
    """Reading happens under the run's lock: a second run finds the file in use and
    leaves the first run's unfinished last line alone."""
    if os.name == "nt":
        pytest.skip("no flock here")
    path = tmp_path / "run.jsonl"
    first = Checkpoint(path, item_keys(["a", "b"], None), encode=None, decode=None)
    first.load()
    first.write_ok(0, "A")
    with path.open("ab") as raw:  # the first run is mid-write of its next line
        raw.write(b'{"i": 1, "key": "')
    before = path.read_bytes()
    try:
        with pytest.raises(BatchCheckpointError, match="another run"):
            run(kind, answer, ["a", "b"], checkpoint=path)
        assert path.read_bytes() == before
    finally:
        first.close()


# ---- which function produced the checkpoint ------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_header_names_the_function_and_another_function_is_refused(
    kind: str, tmp_path: Path
) -> None:
    book = tmp_path / "run.jsonl"
    run(kind, answer, ["a", "b"], checkpoint=book)
    assert lines(book)[0] == {"format": FORMAT, "fn": function_name(answer)}
    assert function_name(answer) == f"{__name__}.answer"

    with pytest.raises(BatchCheckpointError, match="a checkpoint of another job") as caught:
        run(kind, other_answer, ["a", "b", "c"], checkpoint=book)
    message = str(caught.value)
    assert function_name(answer) in message and function_name(other_answer) in message
    assert "checkpoint_check_fn=False" in message and caught.value.line == 1
    assert len(lines(book)) == 3  # nothing written by the refused run

    same = run(kind, answer, ["a", "b", "c"], checkpoint=book)
    assert same.restored == 2 and same.results == ["A", "B", "C"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_caller_can_opt_out_of_the_function_check(kind: str, tmp_path: Path) -> None:
    book = tmp_path / "run.jsonl"
    run(kind, answer, ["a", "b"], checkpoint=book)
    config = BatchConfig(checkpoint=book, checkpoint_check_fn=False)
    result = run(kind, other_answer, ["a", "b", "C"], config=config)
    assert result.results == ["A", "B", "c"] and result.restored == 2
    assert lines(book)[0]["fn"] == function_name(answer)  # the header is not rewritten


@pytest.mark.parametrize("kind", KINDS)
def test_an_old_checkpoint_without_a_function_name_still_resumes(kind: str, tmp_path: Path) -> None:
    book = tmp_path / "old.jsonl"
    run(kind, answer, ["a", "b"], checkpoint=book)
    records = lines(book)
    records[0] = {"format": FORMAT}  # as written before the header kept the function
    book.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = run(kind, other_answer, ["a", "b", "C"], checkpoint=book)
    assert result.results == ["A", "B", "c"] and result.restored == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_header_whose_function_name_is_no_string_is_refused(kind: str, tmp_path: Path) -> None:
    book = tmp_path / "odd.jsonl"
    book.write_text(json.dumps({"format": FORMAT, "fn": ["x"]}) + "\n")
    with pytest.raises(BatchCheckpointError, match="'fn' is not a string"):
        run(kind, answer, ["a"], checkpoint=book)


def test_function_names_of_partials_methods_and_callable_objects() -> None:
    import functools

    class Asker:
        def ask(self, item: str) -> str:
            return item

        def __call__(self, item: str) -> str:
            return item

    assert function_name(functools.partial(answer)) == function_name(answer)
    assert function_name(Asker().ask).endswith("Asker.ask")
    assert function_name(Asker()).endswith("Asker")
    assert function_name(str.upper) == "builtins.str.upper"
