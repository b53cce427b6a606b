"""User feedback on answers, tied to the call by ``resp.request_id``.

Feedback events (:class:`RatingFeedback`, :class:`ThumbsFeedback`,
:class:`ChoiceSelectionFeedback`) go to the sink set with :func:`set_feedback_sink`:
:class:`InMemoryFeedbackSink` (bounded), :class:`JsonlFeedbackSink` (one JSON object a
line in a file), :class:`CallbackFeedbackSink` (your function, sync or async) or
several at once (:class:`MultiFeedbackSink`). Until one is set, events are kept in a
default in-memory sink of 1000. ``await report_feedback(event)`` in async code;
``report_feedback_sync(event)`` in sync code.

Example::

    sink = InMemoryFeedbackSink(max_events=1000)
    set_feedback_sink(sink)
    resp = client.chat().user("Hi").execute()
    await report_feedback(RatingFeedback(request_id=resp.request_id, rating=5))
    sink.get_events_by_request(resp.request_id)
"""

from __future__ import annotations

import inspect
import json
import os
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs

from ailib.errors import ConfigurationError, InvalidRequestError

__all__ = [
    "CallbackFeedbackSink",
    "ChoiceSelectionFeedback",
    "FeedbackEvent",
    "FeedbackSink",
    "InMemoryFeedbackSink",
    "JsonlFeedbackSink",
    "MultiFeedbackSink",
    "RatingFeedback",
    "ThumbsFeedback",
    "get_feedback_sink",
    "report_feedback",
    "report_feedback_sync",
    "set_feedback_sink",
]

MAX_ID = 512


def _bad(message: str) -> InvalidRequestError:
    return InvalidRequestError(f"feedback: {message}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@attrs.frozen(kw_only=True)
class FeedbackEvent:
    """What every feedback event carries: the call's ``request_id`` (from
    ``resp.request_id``), when it was given, and optional session, user and metadata."""

    request_id: str
    timestamp: float = attrs.field(factory=time.time)
    session_id: str | None = None
    user_id: str | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)

    kind = "feedback"

    def __attrs_post_init__(self) -> None:
        rid = self.request_id
        if not isinstance(rid, str) or not rid.strip():
            raise _bad(
                f"request_id must be the call's resp.request_id (a non-empty str), got {rid!r}"
            )
        if len(rid) > MAX_ID:
            raise _bad(f"request_id longer than {MAX_ID} characters")
        for name in ("session_id", "user_id"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise _bad(f"{name} must be a str or None, got {type(value).__name__}")
        if not isinstance(self.metadata, dict):
            raise _bad(f"metadata must be a dict, got {type(self.metadata).__name__}")
        self._check()

    def _check(self) -> None:
        """Subclasses check their own fields."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the event's ``type``."""
        return {"type": self.kind, **attrs.asdict(self)}


@attrs.frozen(kw_only=True)
class RatingFeedback(FeedbackEvent):
    """A rating from 1 to ``max_rating`` (5), optionally per ``category``."""

    rating: int
    max_rating: int = 5
    category: str | None = None
    comment: str | None = None

    kind = "rating"

    def _check(self) -> None:
        if not _is_int(self.max_rating) or self.max_rating < 1:
            raise _bad(f"max_rating must be an int >= 1, got {self.max_rating!r}")
        if not _is_int(self.rating) or not 1 <= self.rating <= self.max_rating:
            raise _bad(f"rating must be an int from 1 to {self.max_rating}, got {self.rating!r}")


@attrs.frozen(kw_only=True)
class ThumbsFeedback(FeedbackEvent):
    """Thumbs up (``is_positive=True``) or down, with an optional reason."""

    is_positive: bool
    reason: str | None = None

    kind = "thumbs"

    def _check(self) -> None:
        if not isinstance(self.is_positive, bool):
            raise _bad(f"is_positive must be True or False, got {self.is_positive!r}")


@attrs.frozen(kw_only=True)
class ChoiceSelectionFeedback(FeedbackEvent):
    """Which of several candidates the user chose (A/B tests, ``n`` > 1)."""

    chosen_index: int
    rejected_indices: list[int] = attrs.field(factory=list)
    latency_to_select_ms: float | None = None

    kind = "choice_selection"

    def _check(self) -> None:
        if not _is_int(self.chosen_index) or self.chosen_index < 0:
            raise _bad(f"chosen_index must be an int >= 0, got {self.chosen_index!r}")
        rejected = self.rejected_indices
        if not isinstance(rejected, list) or not all(_is_int(i) and i >= 0 for i in rejected):
            raise _bad(f"rejected_indices must be a list of ints >= 0, got {rejected!r}")
        if self.chosen_index in rejected:
            raise _bad(f"index {self.chosen_index} is both chosen and rejected")
        latency = self.latency_to_select_ms
        if latency is not None and (not isinstance(latency, int | float) or latency < 0):
            raise _bad(f"latency_to_select_ms must be >= 0, got {latency!r}")


# ---- sinks ---------------------------------------------------------------------------------


class FeedbackSink:
    """Where feedback goes: ``emit(event)`` (it may return an awaitable)."""

    def emit(self, event: FeedbackEvent) -> Awaitable[None] | None:
        raise NotImplementedError


class InMemoryFeedbackSink(FeedbackSink):
    """Keeps the last ``max_events`` events (thread-safe).

    Example::

        sink = InMemoryFeedbackSink(max_events=1000)
        sink.get_events(); sink.get_events_by_request("req-123")
    """

    def __init__(self, max_events: int = 1000) -> None:
        if not _is_int(max_events) or max_events < 1:
            raise ConfigurationError(f"max_events must be an int >= 1, got {max_events!r}")
        self.max_events = max_events
        self._events: deque[FeedbackEvent] = deque(maxlen=max_events)
        self._lock = threading.Lock()

    def emit(self, event: FeedbackEvent) -> None:
        with self._lock:
            self._events.append(event)

    def get_events(self) -> list[FeedbackEvent]:
        with self._lock:
            return list(self._events)

    def get_events_by_request(self, request_id: str) -> list[FeedbackEvent]:
        with self._lock:
            return [e for e in self._events if e.request_id == request_id]

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def __len__(self) -> int:
        return len(self._events)


class JsonlFeedbackSink(FeedbackSink):
    """Appends each event to ``path`` as one JSON object a line (thread-safe).

    Example::

        set_feedback_sink(JsonlFeedbackSink("feedback.jsonl"))
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ConfigurationError(f"JsonlFeedbackSink needs a file path, {self.path} is a dir")
        self._lock = threading.Lock()

    def emit(self, event: FeedbackEvent) -> None:
        line = json.dumps(event.to_dict(), ensure_ascii=False, default=str) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line)

    def read(self) -> list[dict[str, Any]]:
        """Every event written so far, as dicts."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as src:
            return [json.loads(line) for line in src if line.strip()]


class CallbackFeedbackSink(FeedbackSink):
    """Calls ``fn(event)`` for each event; an async ``fn`` needs ``await report_feedback``."""

    def __init__(self, fn: Callable[[FeedbackEvent], Any]) -> None:
        if not callable(fn):
            raise ConfigurationError(f"CallbackFeedbackSink takes a function, got {fn!r}")
        self.fn = fn

    def emit(self, event: FeedbackEvent) -> Awaitable[None] | None:
        result = self.fn(event)
        return result if inspect.isawaitable(result) else None


class MultiFeedbackSink(FeedbackSink):
    """Sends each event to every sink, in order."""

    def __init__(self, *sinks: FeedbackSink) -> None:
        for sink in sinks:
            _check_sink(sink)
        self.sinks = sinks

    def emit(self, event: FeedbackEvent) -> Awaitable[None] | None:
        pending = [r for r in (s.emit(event) for s in self.sinks) if r is not None]
        if not pending:
            return None

        async def wait() -> None:
            for result in pending:
                await result

        return wait()


def _check_sink(sink: Any) -> None:
    if not callable(getattr(sink, "emit", None)):
        raise ConfigurationError(f"a feedback sink has an emit(event) method, got {sink!r}")


_sink_lock = threading.Lock()
_sink: FeedbackSink = InMemoryFeedbackSink()


def set_feedback_sink(sink: FeedbackSink) -> None:
    """Send feedback to ``sink`` from now on (process-wide)."""
    global _sink
    _check_sink(sink)
    with _sink_lock:
        _sink = sink


def get_feedback_sink() -> FeedbackSink:
    """The sink feedback goes to now."""
    return _sink


def _checked(event: Any) -> FeedbackEvent:
    if not isinstance(event, FeedbackEvent):
        raise _bad(f"expected a FeedbackEvent (RatingFeedback...), got {type(event).__name__}")
    return event


async def report_feedback(event: FeedbackEvent) -> None:
    """Send ``event`` to the current sink (async code; awaits an async sink)."""
    result = _sink.emit(_checked(event))
    if result is not None:
        await result


def report_feedback_sync(event: FeedbackEvent) -> None:
    """Send ``event`` to the current sink from sync code (the sink must be sync)."""
    result = _sink.emit(_checked(event))
    if result is not None:
        close = getattr(result, "close", None)
        if close is not None:
            close()  # never leave a coroutine un-awaited
        raise ConfigurationError(
            "the feedback sink is async: use `await report_feedback(event)` instead"
        )
