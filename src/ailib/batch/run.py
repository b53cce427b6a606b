"""One batch run's bookkeeping, shared by the async and the thread executor (no waiting).

:class:`BatchRun` restores what a checkpoint holds, hands out the items still to run,
records each outcome (result slot, checkpoint line, progress) and builds the
:class:`~ailib.batch.BatchResult`. :func:`item_time_left` tells code running inside a
batch item how long it has left.

Example::

    run = BatchRun(items, config)
    for index in run.pending:
        run.succeeded(index, fn(items[index]))
    result = run.finish()
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from ailib.batch.checkpoint import Checkpoint, check_return_type, item_keys
from ailib.batch.config import BatchConfig, resolve_config
from ailib.batch.progress import check_progress_setting, open_progress
from ailib.batch.result import BatchResult
from ailib.errors import BatchTimeoutError, CancelledError, ConfigurationError
from ailib.runtime.context import CALL_ENDS_AT

R = TypeVar("R")


def item_time_left() -> float | None:
    """Seconds left before the current batch item's timeout (None: no timeout, or not
    inside a batch item). ailib calls made in the item already end by it on their own;
    use this for other blocking work.

    Example::

        async def ask(question):
            left = item_time_left()
            return await asyncio.wait_for(other_service(question), left)
    """
    ends_at = CALL_ENDS_AT.get()
    return None if ends_at is None else max(0.0, ends_at - time.monotonic())


class BatchRun(Generic[R]):
    """The state of one ``execute()``: slots, checkpoint, progress, fail-fast stop.

    ``fn`` names the function the items run through (see
    :func:`~ailib.batch.checkpoint.function_name`); the checkpoint records and checks it.
    """

    def __init__(self, items: Iterable[Any], config: BatchConfig, fn: str | None = None) -> None:
        self.started = time.monotonic()
        self.config = config
        self.items = list(items)
        total = len(self.items)
        self.result: BatchResult[R] = BatchResult(
            items=self.items, results=[None] * total, errors=[None] * total
        )
        self.stopping = False
        self.checkpoint: Checkpoint | None = None
        check_progress_setting(config.progress)
        finished: set[int] = set()
        if config.checkpoint is not None:
            keys = item_keys(self.items, config.key)
            self.checkpoint = Checkpoint(
                config.checkpoint,
                keys,
                encode=config.encode,
                decode=config.decode,
                fn=fn,
                check_fn=config.checkpoint_check_fn,
                max_line=config.checkpoint_max_line,
            )
            for index, done in self.checkpoint.load().items():
                if not done.ok and config.rerun_failed:
                    continue
                self.result.results[index] = done.value
                self.result.errors[index] = done.error
                finished.add(index)
            self.checkpoint.start()
        restored = self.result.restored = len(finished)
        #: the indexes still to run, in input order
        self.pending = [i for i in range(total) if i not in finished]
        self.progress = open_progress(config.progress, config.progress_stream, total, restored)

    def deadline(self) -> float | None:
        """When an item started now must end (monotonic), or None without a timeout."""
        timeout = self.config.timeout
        return None if timeout is None else time.monotonic() + timeout

    def timeout_error(self, index: int) -> BatchTimeoutError:
        timeout = self.config.timeout or 0.0
        return BatchTimeoutError(
            f"batch item {index} took longer than the per-item timeout of {timeout:g}s",
            index=index,
            timeout=timeout,
        )

    def succeeded(self, index: int, value: R) -> None:
        """Record item ``index``'s result (and write it to the checkpoint first)."""
        if self.checkpoint is not None:
            self.checkpoint.write_ok(index, value)
        self.result.results[index] = value
        self.progress.advance(failed=False)

    def failed(self, index: int, error: BaseException) -> None:
        """Record item ``index``'s error; with fail_fast, stop starting new items."""
        if self.checkpoint is not None:
            self.checkpoint.write_error(index, error)
        self.result.errors[index] = error
        self.progress.advance(failed=True)
        if self.config.fail_fast:
            self.stopping = True

    def finish(self, not_run: Iterable[int] = (), why: str | None = None) -> BatchResult[R]:
        """The result; ``not_run`` items (fail_fast, or ``why``, stopped the batch) fail
        with E4002."""
        why = why or "the batch stopped at its first error (fail_fast)"
        for index in not_run:
            self.result.errors[index] = CancelledError(
                f"batch item {index} was not run: {why}; it is not in the checkpoint,"
                " so a rerun runs it"
            )
            self.result.stopped_early = True
        self.result.total_time_ms = (time.monotonic() - self.started) * 1000
        self.close()
        return self.result

    def close(self) -> None:
        """Release the checkpoint file and the progress bar (also on a crash)."""
        self.progress.close()
        if self.checkpoint is not None:
            self.checkpoint.close()


def executor_config(
    fn: Callable[..., Any], owner: str, config: BatchConfig | None, settings: dict[str, Any]
) -> BatchConfig:
    """The checked configuration of executor ``owner`` (sync or async) running ``fn``:
    ``config`` with the keyword ``settings`` given over it (None: not given)."""
    if not callable(fn):
        raise ConfigurationError(f"{owner} needs a function, got {fn!r}")
    resolved = resolve_config(config, settings, owner)
    check_progress_setting(resolved.progress)
    if resolved.checkpoint is not None and resolved.encode is None:
        check_return_type(fn, owner)
    return resolved
