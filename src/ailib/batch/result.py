"""What a batch run gives back: :class:`BatchResult`, in the input's order.

Example::

    result = await executor.execute(questions)
    print(result.successful_count, result.failed_count)
    for answer in result.get_successful_results():
        print(answer)
    for index, err in result.get_errors():        # typed errors, with their input index
        print(index, getattr(err, "code", "E9999"), err)
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast

import attrs

R = TypeVar("R")


@attrs.define(eq=False)
class BatchResult(Generic[R]):
    """Results and errors of a batch, one slot per input item, in input order.

    ``results[i]`` is item ``i``'s value (None when it failed), ``errors[i]`` its
    exception (None when it succeeded). Errors raised by ailib calls are the typed ailib
    errors (``err.code``); a timed-out item holds :class:`~ailib.errors.BatchTimeoutError`,
    an item not run after ``fail_fast`` stopped the batch an ailib ``CancelledError``
    (E4002), and an error restored from a checkpoint a
    :class:`~ailib.errors.BatchItemError` with the original's code and message.
    ``restored`` counts the items taken from the checkpoint instead of being run.

    Example::

        result.results            # [answer0, None, answer2]
        result.get_errors()       # [(1, RemoteError(code='E2001', ...))]
        result.get_failed_items() # [(1, "the second question", RemoteError(...))]
    """

    items: list[Any] = attrs.field(factory=list, repr=False)
    results: list[R | None] = attrs.field(factory=list, repr=False)
    errors: list[BaseException | None] = attrs.field(factory=list, repr=False)
    total_time_ms: float = 0.0
    restored: int = 0
    stopped_early: bool = False

    @property
    def successful_count(self) -> int:
        """How many items succeeded."""
        return sum(1 for e in self.errors if e is None)

    @property
    def failed_count(self) -> int:
        """How many items failed (timed out, raised, or were not run after fail_fast)."""
        return sum(1 for e in self.errors if e is not None)

    @property
    def all_successful(self) -> bool:
        """True when no item failed."""
        return all(e is None for e in self.errors)

    def get_successful_results(self) -> list[R]:
        """The successful items' results, in input order."""
        return [cast(R, r) for r, e in zip(self.results, self.errors, strict=True) if e is None]

    def get_errors(self) -> list[tuple[int, BaseException]]:
        """``(index, error)`` of every failed item, in input order."""
        return [(i, e) for i, e in enumerate(self.errors) if e is not None]

    def get_failed_items(self) -> list[tuple[int, Any, BaseException]]:
        """``(index, item, error)`` of every failed item: what to run again."""
        return [(i, self.items[i], e) for i, e in enumerate(self.errors) if e is not None]

    def __len__(self) -> int:
        return len(self.results)

    def __repr__(self) -> str:
        return (
            f"BatchResult(total={len(self.results)}, successful={self.successful_count},"
            f" failed={self.failed_count}, restored={self.restored},"
            f" total_time_ms={self.total_time_ms:.1f})"
        )
