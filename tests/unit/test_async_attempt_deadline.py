"""arun_within (runtime/attempt_deadline.py) behaves as ``async with asyncio.timeout``.

Each case runs the same work under ``arun_within`` and under the asyncio.timeout
version it replaces (``_run_within_asyncio``) and expects the same outcome: the value,
E3003 at the deadline, a cancel from elsewhere passed on, and the task's cancel count
left as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ailib.errors import TransportError
from ailib.runtime._body import BodyGuard
from ailib.runtime._body import arun_within as reexported
from ailib.runtime.attempt_deadline import _run_within_asyncio, arun_within
from ailib.runtime.limits import DEFAULT_LIMITS

Runner = Callable[..., Awaitable[Any]]


async def via_asyncio(guard: BodyGuard, work: Any, *args: Any) -> Any:
    remaining = guard.remaining()
    if remaining is None:
        return await work(*args)
    return await _run_within_asyncio(guard, remaining, work, *args)


RUNNERS = [pytest.param(arun_within, id="arun_within"), pytest.param(via_asyncio, id="asyncio")]


def guard(deadline: float | None) -> BodyGuard:
    return BodyGuard(DEFAULT_LIMITS, provider="openai", deadline=deadline)


async def value_after(seconds: float, value: Any = "done") -> Any:
    await asyncio.sleep(seconds)
    return value


def test_the_module_is_what_the_engines_import() -> None:
    assert reexported is arun_within


@pytest.mark.parametrize("run", RUNNERS)
def test_work_within_the_deadline_returns_its_value(run: Runner) -> None:
    async def main() -> tuple[Any, int, int]:
        got = await run(guard(30.0), value_after, 0, "ok")
        task: Any = asyncio.current_task()
        loop: Any = asyncio.get_running_loop()
        return got, task.cancelling(), len([h for h in loop._scheduled if not h.cancelled()])

    assert asyncio.run(main()) == ("ok", 0, 0)  # no cancel request, no live timer left


@pytest.mark.parametrize("run", RUNNERS)
def test_no_deadline_runs_the_work_as_it_is(run: Runner) -> None:
    assert asyncio.run(run(guard(None), value_after, 0, 7)) == 7


@pytest.mark.parametrize("run", RUNNERS)
@pytest.mark.parametrize("deadline", [0.0, 0.01])
def test_past_the_deadline_raises_e3003_without_context(run: Runner, deadline: float) -> None:
    async def main() -> tuple[BaseException, int]:
        try:
            await run(guard(deadline), value_after, 30)
        except TransportError as exc:
            task: Any = asyncio.current_task()
            return exc, task.cancelling()
        raise AssertionError("no timeout")

    exc, cancelling = asyncio.run(main())
    assert exc.code == "E3003" and exc.__context__ is None
    assert cancelling == 0  # the deadline's cancel request was taken back


@pytest.mark.parametrize("run", RUNNERS)
def test_a_timeout_error_of_the_work_is_e3003_too(run: Runner) -> None:
    async def work() -> None:
        raise TimeoutError("socket")

    with pytest.raises(TransportError) as info:
        asyncio.run(run(guard(30.0), work))
    assert info.value.code == "E3003"


@pytest.mark.parametrize("run", RUNNERS)
def test_other_errors_pass_through(run: Runner) -> None:
    async def work() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        asyncio.run(run(guard(30.0), work))


@pytest.mark.parametrize("run", RUNNERS)
def test_a_cancel_from_elsewhere_is_passed_on_not_made_a_timeout(run: Runner) -> None:
    async def main() -> str:
        inner = asyncio.ensure_future(run(guard(30.0), value_after, 30))
        await asyncio.sleep(0.01)
        inner.cancel()
        try:
            await inner
        except asyncio.CancelledError:
            return "cancelled"
        return "finished"

    assert asyncio.run(main()) == "cancelled"


@pytest.mark.parametrize("run", RUNNERS)
def test_a_cancel_after_the_deadline_fired_stays_a_cancel(run: Runner) -> None:
    # the deadline fires, then the caller cancels too before the work sees it: the
    # caller's cancel wins (uncancel() leaves a request pending), as with asyncio.timeout
    async def main() -> str:
        async def work() -> None:
            task: Any = asyncio.current_task()
            asyncio.get_running_loop().call_soon(task.cancel)
            await asyncio.sleep(30)

        try:
            await run(guard(0.0), work)
        except asyncio.CancelledError:
            return "cancelled"
        except TransportError:
            return "timeout"
        return "finished"

    assert asyncio.run(main()) == "cancelled"
