"""Cache entries as JSON bytes we write ourselves (cattrs), never pickle.

An entry holds the response and, for a streamed call, the events it delivered. Reading
is strict: anything that is not an entry of this format (bad JSON, a wrong shape, a
field of the wrong type, a key that does not match) raises :class:`CacheEntryError`,
which the manager turns into a logged miss. Nothing read from a cache is ever executed.

Example::

    data = encode_entry(CacheEntry(key, response, events))
    entry = decode_entry(data, key)   # CacheEntryError when data is not such an entry
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Sequence
from typing import Any

import attrs

from ailib.types.events import (
    AudioDelta,
    ContentDelta,
    RefusalDelta,
    StreamEnd,
    StreamEvent,
    ThinkingDelta,
    ToolCallArgumentsDelta,
    ToolCallEnded,
    ToolCallStarted,
    UnknownEvent,
    UsageEvent,
)
from ailib.types.response import ChatResponse

#: the format tag every entry carries; another tag is not read
FORMAT = "ailib.cache.entry/1"

#: the built-in events by kind (event classes defined later are found on first use)
EVENT_CLASSES: dict[str, type[StreamEvent]] = {
    cls.kind: cls
    for cls in (
        ContentDelta,
        RefusalDelta,
        AudioDelta,
        ThinkingDelta,
        ToolCallStarted,
        ToolCallArgumentsDelta,
        ToolCallEnded,
        UsageEvent,
        StreamEnd,
        UnknownEvent,
    )
}


def event_class(kind: Any) -> type[StreamEvent] | None:
    """The StreamEvent subclass whose ``kind`` is ``kind`` (None: no such event)."""
    if not isinstance(kind, str):
        return None
    found = EVENT_CLASSES.get(kind)
    if found is None:
        pending: list[type[StreamEvent]] = [StreamEvent]
        while pending:
            cls = pending.pop()
            pending.extend(cls.__subclasses__())
            # attrs' slotted class, not the plain class it replaced (still a subclass)
            if cls.kind == kind and "__attrs_attrs__" in cls.__dict__ and cls is not StreamEvent:
                found = EVENT_CLASSES[kind] = cls
    return found


#: response fields not stored: the raw provider body, who served it (the pipeline sets
#: that on every answer) and a structured output's parsed object (the user's own type,
#: rebuilt from the content by the structured-output step)
NOT_CACHED = frozenset({"raw", "served_by", "parsed"})


class CacheEntryError(ValueError):
    """Bytes read from a cache that are not a readable entry for the key asked."""


@attrs.frozen
class CacheEntry:
    """One cached answer: the response and, for a stream, the events it delivered."""

    key: str
    response: ChatResponse
    events: tuple[StreamEvent, ...] | None = None
    stored_at: float = 0.0


def encode_entry(entry: CacheEntry) -> bytes:
    """The entry as compact JSON bytes (bytes fields as base64)."""
    conv = _converter()
    document = {
        "format": FORMAT,
        "key": entry.key,
        "stored_at": entry.stored_at,
        "response": conv.unstructure(entry.response),
        "events": None
        if entry.events is None
        else [_unstructure_event(conv, e) for e in entry.events],
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def decode_entry(data: Any, key: str, *, max_bytes: int | None = None) -> CacheEntry:
    """The entry stored as ``data`` under ``key``; CacheEntryError if it is anything else."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CacheEntryError(f"the stored value is a {type(data).__name__}, not bytes")
    if max_bytes is not None and len(data) > max_bytes:
        raise CacheEntryError(f"the stored value has {len(data):,} bytes (limit {max_bytes:,})")
    try:
        document = json.loads(bytes(data))
    except (ValueError, RecursionError) as exc:
        raise CacheEntryError(f"the stored value is not JSON ({type(exc).__name__})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CacheEntryError(f"the stored value is not a {FORMAT} entry")
    if document.get("key") != key:
        raise CacheEntryError("the stored entry belongs to another key")
    conv = _converter()
    try:
        response = conv.structure(document.get("response"), ChatResponse)
        raw_events = document.get("events")
        events = None
        if raw_events is not None:
            if not isinstance(raw_events, list):
                raise CacheEntryError("the entry's events are not a list")
            events = tuple(_structure_event(conv, e) for e in raw_events)
        stored_at = document.get("stored_at", 0.0)
        if isinstance(stored_at, bool) or not isinstance(stored_at, int | float):
            raise CacheEntryError("the entry's stored_at is not a number")
    except CacheEntryError:
        raise
    except Exception as exc:  # cattrs, a validator, a wrong shape anywhere inside
        raise CacheEntryError(f"the stored entry has the wrong shape ({_why(exc)})") from None
    return CacheEntry(key, response, events, float(stored_at))


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _unstructure_event(conv: Any, event: StreamEvent) -> dict[str, Any]:
    body: dict[str, Any] = conv.unstructure(event, unstructure_as=type(event))
    return {"kind": event.kind, **body}


def _structure_event(conv: Any, value: Any) -> StreamEvent:
    if not isinstance(value, dict):
        raise CacheEntryError("a cached event is not an object")
    cls = event_class(value.get("kind"))
    if cls is None:
        raise CacheEntryError(f"a cached event has an unknown kind {value.get('kind')!r:.40}")
    fields = {k: v for k, v in value.items() if k != "kind"}
    event: StreamEvent = conv.structure(fields, cls)
    return event


def _strict(kind: type, accept: tuple[type, ...]) -> Any:
    def structure(value: Any, _type: Any) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"expected {kind.__name__}, got a bool")
        if not isinstance(value, accept):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return kind(value)

    return structure


def _structure_bytes(value: Any, _type: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"expected base64 text, got {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise TypeError(f"not base64: {exc}") from None


def _structure_list(value: Any, list_type: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    (item_type,) = getattr(list_type, "__args__", (Any,))
    conv = _converter()
    return [conv.structure(v, item_type) for v in value]


def _structure_dict(value: Any, _type: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


@functools.cache
def _converter() -> Any:
    """The one converter of cache entries (built on first use: cattrs loads then)."""
    import cattrs
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

    conv = cattrs.Converter()
    for kind, accept in ((str, (str,)), (int, (int,)), (float, (int, float)), (bool, (bool,))):
        conv.register_structure_hook(kind, _strict(kind, accept))
    conv.register_unstructure_hook(bytes, lambda b: base64.b64encode(b).decode("ascii"))
    conv.register_structure_hook(bytes, _structure_bytes)
    conv.register_structure_hook_func(_is_list, _structure_list)
    conv.register_structure_hook_func(_is_str_dict, _structure_dict)
    omit = override(omit=True)
    skipped: dict[str, Any] = {
        f.name: omit for f in attrs.fields(ChatResponse) if f.name in NOT_CACHED
    }
    conv.register_unstructure_hook(
        ChatResponse, make_dict_unstructure_fn(ChatResponse, conv, **skipped)
    )
    # generic in its parsed type (omitted here): structured as ChatResponse[Any]
    generic: Any = (
        ChatResponse[Any] if getattr(ChatResponse, "__parameters__", ()) else ChatResponse
    )
    conv.register_structure_hook(ChatResponse, make_dict_structure_fn(generic, conv, **skipped))
    return conv


def _is_list(kind: Any) -> bool:
    return getattr(kind, "__origin__", None) in (list, Sequence)


def _is_str_dict(kind: Any) -> bool:
    return getattr(kind, "__origin__", None) is dict and getattr(kind, "__args__", ())[:1] == (str,)
