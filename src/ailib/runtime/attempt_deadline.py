"""The deadline of one async attempt: ``await work()`` by then, else E3003.

It does what ``async with asyncio.timeout(remaining)`` does (the same timer on the loop,
the same cancellation of the task and the same ``uncancel`` accounting, so a cancel from
elsewhere still wins), written out: no context manager and its two coroutines on each
attempt. Its sync counterpart is ``_body.run_within``.

Example::

    guard = BodyGuard(limits, provider="openai", deadline=10.0)
    response, raw = await arun_within(guard, send_and_read, prepared, guard, "POST")
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from ailib.runtime._body import BodyGuard

T = TypeVar("T")
P = ParamSpec("P")

_timeout: Any = getattr(asyncio, "timeout", None)  # Python 3.11+


class _Expiry:
    """Cancels the task running an attempt when its deadline passes."""

    __slots__ = ("fired", "task")

    def __init__(self, task: Any) -> None:
        self.task = task
        self.fired = False

    def fire(self) -> None:
        self.fired = True
        self.task.cancel()


async def arun_within(
    guard: BodyGuard, work: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``await work(*args, **kwargs)`` within ``guard``'s deadline; past it, E3003 (async)."""
    remaining = guard.remaining()
    if remaining is None:
        return await work(*args, **kwargs)
    task: Any = asyncio.current_task() if _timeout is not None else None
    if task is None:  # Python 3.10, or outside a task: asyncio's own (which then says so)
        return await _run_within_asyncio(guard, remaining, work, *args, **kwargs)
    loop = asyncio.get_running_loop()
    cancelling = task.cancelling()
    expiry = _Expiry(task)
    when = loop.time() + remaining
    if when <= loop.time():
        handle: asyncio.Handle = loop.call_soon(expiry.fire)
    else:
        handle = loop.call_at(when, expiry.fire)
    try:
        result = await work(*args, **kwargs)
    except BaseException as exc:
        handle.cancel()
        # the deadline's own cancellation (no other cancel asked for since) is E3003, as
        # asyncio.timeout makes it a TimeoutError; a TimeoutError of the work is one too
        ours = (
            expiry.fired and task.uncancel() <= cancelling and type(exc) is asyncio.CancelledError
        )
        if not ours and not isinstance(exc, asyncio.TimeoutError):
            raise
    else:
        handle.cancel()
        if expiry.fired:  # fired as the work ended: the cancel request is taken back
            task.uncancel()
        return result
    raise guard.deadline_error()  # outside the except block: no __context__


async def _run_within_asyncio(
    guard: BodyGuard,
    remaining: float,
    work: Callable[P, Awaitable[T]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    try:
        if _timeout is None:  # Python 3.10
            return await asyncio.wait_for(work(*args, **kwargs), remaining)
        async with _timeout(remaining):  # no extra task, unlike wait_for before 3.12
            return await work(*args, **kwargs)
    except asyncio.TimeoutError:
        pass
    raise guard.deadline_error()  # outside the except block: no __context__
