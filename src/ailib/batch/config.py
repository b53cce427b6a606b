"""How a batch runs: :class:`BatchConfig`, shared by the executors and the collectors.

Example::

    config = BatchConfig(max_concurrent=8, timeout=30, checkpoint="run.jsonl")
    result = BatchExecutor(ask, config=config).execute(prompts)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import attrs

from ailib.errors import ConfigurationError


def _positive_int(name: str, least: int = 1) -> Callable[[Any, Any, Any], None]:
    def check(_obj: Any, _attr: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigurationError(f"BatchConfig.{name} must be an int >= {least}, got {value!r}")

    return check


def _seconds(name: str, *, optional: bool) -> Callable[[Any, Any, Any], None]:
    def check(_obj: Any, _attr: Any, value: Any) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ConfigurationError(
                f"BatchConfig.{name} must be a number of seconds > 0"
                f"{' or None' if optional else ''}, got {value!r}"
            )
        if value != value or value == float("inf"):
            raise ConfigurationError(f"BatchConfig.{name} must be finite, got {value!r}")

    return check


def _callable_or_none(name: str) -> Callable[[Any, Any, Any], None]:
    def check(_obj: Any, _attr: Any, value: Any) -> None:
        if value is not None and not callable(value):
            raise ConfigurationError(f"BatchConfig.{name} must be callable or None, got {value!r}")

    return check


def _progress(_obj: Any, _attr: Any, value: Any) -> None:
    if value is not None and not isinstance(value, bool) and not callable(value):
        raise ConfigurationError(
            "BatchConfig.progress must be None (a bar on a terminal), True (a bar on a"
            " terminal; the 'progress' extra required), False (none) or a callable"
            f" on_progress(done, total), got {value!r}"
        )


def _path(value: Any) -> Path | None:
    if value is None or isinstance(value, Path):
        return value
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise ConfigurationError(f"BatchConfig.checkpoint must be a path or None, got {value!r}")


@attrs.frozen
class BatchConfig:
    """Settings of a batch run (executors) and of request grouping (collectors).

    Executors (:class:`~ailib.batch.AsyncBatchExecutor`, :class:`~ailib.batch.BatchExecutor`):

    * ``max_concurrent``: items in flight at once.
    * ``timeout``: seconds one item may take (None: no limit); past it the item fails
      with :class:`~ailib.errors.BatchTimeoutError` (E3003), and ailib calls made inside
      the item end by the same deadline on their own. A result the item produces after
      its timeout fired is discarded (the item stays failed), on both executors.
    * ``cancel_grace``: seconds an item told to stop (timed out, or the batch cancelled)
      is waited for before it is abandoned, so the batch always ends: the async executor
      cancels the item's task, waits this long, cancels it once more and lets it go
      (code that swallows ``asyncio.CancelledError`` cannot hold the batch); the thread
      executor, whose threads cannot be killed, waits this long for a hung thread to
      free a slot before it stops the batch (see :class:`~ailib.batch.BatchExecutor`).
    * ``fail_fast`` (alias ``stop_on_error``): after the first failed item start no
      other; items not run fail with :class:`~ailib.errors.CancelledError` (E4002) and
      are not written to the checkpoint, so a restart runs them.
    * ``progress``: None shows a bar when the stream is a terminal and tqdm or rich is
      installed, silent otherwise; True the same but the library is required
      (``pip install ailib[progress]``); False never; a callable is called
      ``on_progress(done, total)`` after each item.
    * ``progress_stream``: where the bar goes (default: ``sys.stderr``).
    * ``checkpoint``: a JSONL file; each finished item is appended and flushed, and a
      run with the same file skips the items it holds (see :mod:`ailib.batch.checkpoint`).
    * ``key``: ``key(item) -> str``, the item's identity in the checkpoint (default:
      a hash of the item as canonical JSON).
    * ``encode`` / ``decode``: how results that are neither JSON values nor ChatResponses
      are written to and read from the checkpoint.
    * ``rerun_failed``: on resume, run the items the checkpoint holds as failed again.
    * ``checkpoint_check_fn``: refuse (BatchCheckpointError) to resume a checkpoint whose
      header names another function than this run's (default True); False takes its
      results for this function's. Headers written without a function name are not checked.
    * ``checkpoint_max_line``: the longest checkpoint line, in bytes, read or written
      (default 32 MiB, at least 4096); a longer line is refused, never read whole.

    Collectors (:class:`~ailib.batch.AsyncBatchCollector`, :class:`~ailib.batch.BatchCollector`):
    ``max_batch_size`` items per group, ``max_wait`` seconds the first item of a group
    waits for others, ``group_by(item) -> str`` to keep items of different kinds apart.

    Example::

        BatchConfig(max_concurrent=16, timeout=60, fail_fast=False, checkpoint="run.jsonl")
        BatchConfig.for_embeddings()        # collector: groups of 100, 50 ms window
    """

    max_concurrent: int = attrs.field(default=5, validator=_positive_int("max_concurrent"))
    timeout: float | None = attrs.field(default=None, validator=_seconds("timeout", optional=True))
    fail_fast: bool = False
    progress: bool | Callable[[int, int], Any] | None = attrs.field(
        default=None, validator=_progress
    )
    progress_stream: TextIO | None = None
    checkpoint: Path | None = attrs.field(default=None, converter=_path)
    key: Callable[[Any], str] | None = attrs.field(default=None, validator=_callable_or_none("key"))
    encode: Callable[[Any], Any] | None = attrs.field(
        default=None, validator=_callable_or_none("encode")
    )
    decode: Callable[[Any], Any] | None = attrs.field(
        default=None, validator=_callable_or_none("decode")
    )
    rerun_failed: bool = False
    cancel_grace: float = attrs.field(
        default=5.0, validator=_seconds("cancel_grace", optional=False)
    )
    checkpoint_check_fn: bool = True
    checkpoint_max_line: int = attrs.field(
        default=32 * 1024 * 1024, validator=_positive_int("checkpoint_max_line", 4096)
    )
    max_batch_size: int = attrs.field(default=10, validator=_positive_int("max_batch_size"))
    max_wait: float = attrs.field(default=0.1, validator=_seconds("max_wait", optional=False))
    group_by: Callable[[Any], str] | None = attrs.field(
        default=None, validator=_callable_or_none("group_by")
    )

    def __attrs_post_init__(self) -> None:
        if (self.encode is None) != (self.decode is None):
            raise ConfigurationError("BatchConfig.encode and .decode go together: give both")

    @property
    def stop_on_error(self) -> bool:
        """The same as ``fail_fast``."""
        return self.fail_fast

    @classmethod
    def default(cls) -> BatchConfig:
        """The defaults (5 in flight; collectors: groups of 10, 100 ms window)."""
        return cls()

    @classmethod
    def for_embeddings(cls) -> BatchConfig:
        """Collector settings for embeddings: groups of up to 100 inputs, 50 ms window."""
        return cls(max_batch_size=100, max_wait=0.05)

    @classmethod
    def for_chat(cls) -> BatchConfig:
        """Collector settings for chats: groups of up to 5, 10 ms window."""
        return cls(max_batch_size=5, max_wait=0.01)


def resolve_config(
    config: BatchConfig | None, overrides: dict[str, Any], owner: str
) -> BatchConfig:
    """``config`` (or the defaults) with the keyword arguments given to ``owner`` applied.

    ``stop_on_error`` is accepted as another name of ``fail_fast``.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    if "stop_on_error" in given:
        given["fail_fast"] = given.pop("stop_on_error")
    unknown = set(given) - {f.name for f in attrs.fields(BatchConfig)}
    if unknown:
        raise ConfigurationError(f"{owner} got unknown options: {', '.join(sorted(unknown))}")
    base = config if config is not None else BatchConfig()
    if not isinstance(base, BatchConfig):
        raise ConfigurationError(f"{owner}: config must be a BatchConfig, got {base!r}")
    return attrs.evolve(base, **given) if given else base
