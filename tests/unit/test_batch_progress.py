"""The batch progress bar: drawn on a terminal when tqdm or rich is installed, silent otherwise."""

from __future__ import annotations

import asyncio
import importlib.util
import io

import pytest

from ailib.batch import AsyncBatchExecutor, BatchExecutor
from ailib.batch import progress as progress_module
from ailib.errors import ConfigurationError


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


needs_tqdm = pytest.mark.skipif(
    importlib.util.find_spec("tqdm") is None, reason="tqdm (the 'progress' extra) not installed"
)


@needs_tqdm
def test_a_terminal_gets_a_bar_that_reaches_the_total() -> None:
    terminal = FakeTerminal()
    result = BatchExecutor(lambda x: x, progress_stream=terminal).execute(range(7))
    assert result.successful_count == 7
    drawn = terminal.getvalue()
    assert "7/7" in drawn and "batch" in drawn


@needs_tqdm
def test_the_async_bar_counts_failures() -> None:
    terminal = FakeTerminal()

    async def half_fail(x: int) -> int:
        if x % 2:
            raise ValueError(x)
        return x

    executor = AsyncBatchExecutor(half_fail, progress=True, progress_stream=terminal)
    asyncio.run(executor.execute(range(6)))
    drawn = terminal.getvalue()
    assert "6/6" in drawn and "failed=3" in drawn


def test_a_stream_that_is_not_a_terminal_gets_nothing() -> None:
    plain = io.StringIO()
    BatchExecutor(lambda x: x, progress_stream=plain).execute(range(5))
    BatchExecutor(lambda x: x, progress=True, progress_stream=plain).execute(range(5))
    assert plain.getvalue() == ""


def test_progress_false_draws_nothing_even_on_a_terminal() -> None:
    terminal = FakeTerminal()
    BatchExecutor(lambda x: x, progress=False, progress_stream=terminal).execute(range(5))
    assert terminal.getvalue() == ""


def test_without_a_library_the_default_is_silent_and_true_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress_module, "installed_library", lambda: None)
    terminal = FakeTerminal()
    BatchExecutor(lambda x: x, progress_stream=terminal).execute(range(3))
    assert terminal.getvalue() == ""
    with pytest.raises(ConfigurationError, match=r"pip install 'ailib\[progress\]'"):
        BatchExecutor(lambda x: x, progress=True)


def test_rich_draws_the_bar_when_tqdm_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("rich") is None:
        pytest.skip("rich not installed")
    monkeypatch.setattr(progress_module, "installed_library", lambda: "rich")
    terminal = FakeTerminal()
    BatchExecutor(lambda x: x, progress_stream=terminal).execute(range(3))
    assert "batch" in terminal.getvalue()
