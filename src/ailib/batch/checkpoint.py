"""A batch's JSONL checkpoint: one line per finished item, so a crashed run resumes.

The first line names the format; every later line is one finished item::

    {"format": "ailib.batch.checkpoint/1"}
    {"i": 0, "key": "3f9a...", "ok": true, "as": "json", "value": "Paris"}
    {"i": 1, "key": "b07c...", "ok": false, "error": {"type": "RemoteError",
     "code": "E2001", "message": "...", "retryable": true, "fallbackable": true}}

Each line is written whole and flushed when its item finishes. A line counts only
with its newline: a last line cut by a crash is ignored (and cut off the file before
the run appends; a file whose only line is unfinished and no header is refused, never
cut); any other line that is not such a record is a
:class:`~ailib.errors.BatchCheckpointError` naming the file and line, and so is a
line whose item key does not match the input at its index.

One run at a time appends to a file: the run holds an exclusive lock on it (``flock``
where the OS has it) and a second run is refused with BatchCheckpointError.

Results are written as: JSON values as they are (``"as": "json"``); a
:class:`~ailib.types.response.ChatResponse` through the response cache's codec
(``"as": "chat_response"``; its ``raw`` body, ``served_by`` and ``parsed`` are not
kept); anything else only through ``BatchConfig(encode=..., decode=...)``
(``"as": "custom"``). Errors are kept as their standard code and message and come
back as :class:`~ailib.errors.BatchItemError`.

Example::

    book = Checkpoint(Path("run.jsonl"), keys, encode=None, decode=None)
    done = book.load()                    # {index: Finished}
    book.write_ok(3, "an answer")
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import threading
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import attrs

from ailib.errors import AiLibError, BatchCheckpointError, BatchItemError, ConfigurationError

FORMAT = "ailib.batch.checkpoint/1"
#: the first line of every checkpoint file
HEADER = json.dumps({"format": FORMAT}).encode() + b"\n"
#: longest error message kept in a checkpoint line
MAX_MESSAGE = 2000
#: an ailib error's context kept beside its code and message, with its type
CONTEXT: dict[str, type] = {"status": int, "provider": str, "request_id": str}


@attrs.frozen
class Finished:
    """An item the checkpoint holds as finished: ``ok`` with ``value``, or ``error``."""

    ok: bool
    value: Any = None
    error: BaseException | None = None


# ---- item keys ----------------------------------------------------------------------------


def item_keys(items: Sequence[Any], key: Callable[[Any], str] | None) -> list[str]:
    """The stable key of each item: ``key(item)``, or a hash of the item as canonical JSON.

    An item that is not JSON data (nor an attrs instance of such) and no ``key`` given:
    ConfigurationError naming the item's index and type.
    """
    if key is not None:
        keys = []
        for index, item in enumerate(items):
            found = key(item)
            if not isinstance(found, str):
                raise ConfigurationError(
                    f"BatchConfig.key returned a {type(found).__name__} for item {index}: "
                    "it must return a str"
                )
            keys.append(found)
        return keys
    return [_hashed(index, item) for index, item in enumerate(items)]


def _hashed(index: int, item: Any) -> str:
    try:
        text = json.dumps(_plain(item), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"batch item {index} (a {type(item).__name__}) has no stable checkpoint key "
            f"({exc}): pass BatchConfig(key=lambda item: ...) returning a str"
        ) from None
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("a dict with keys that are not str")
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return {"$bytes": hashlib.sha256(value).hexdigest()}
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if attrs.has(type(value)):
        return {"$type": type(value).__qualname__, **_plain(attrs.asdict(value, recurse=False))}
    raise TypeError(f"a {type(value).__name__} is not JSON data")


# ---- which results can be written ------------------------------------------------------------


def is_json_value(value: Any) -> bool:
    """True for data that JSON gives back unchanged (no tuples, no NaN, str dict keys)."""
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if type(value) is list:
        return all(is_json_value(v) for v in value)
    if type(value) is dict:
        return all(isinstance(k, str) and is_json_value(v) for k, v in value.items())
    return False


def check_return_type(fn: Callable[..., Any], owner: str) -> None:
    """Refuse, at configuration time, an ``fn`` annotated to return what a checkpoint
    cannot hold without ``encode``/``decode`` (unannotated: checked per result)."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: the results are checked as they come
        return
    if "return" in hints and not _writable_type(hints["return"]):
        raise ConfigurationError(
            f"{owner}: the function returns {hints['return']!r}, which a checkpoint cannot"
            " hold (JSON values and ChatResponse can): pass BatchConfig(encode=..., decode=...)"
        )


def _writable_type(tp: Any) -> bool:
    from ailib.types.response import ChatResponse

    if tp in (Any, str, int, float, bool, type(None), None, list, dict, object):
        return True
    if isinstance(tp, type) and issubclass(tp, ChatResponse):
        return True
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return all(_writable_type(a) for a in typing.get_args(tp))
    if origin is ChatResponse:
        return True
    if origin is list:
        return all(_writable_type(a) for a in typing.get_args(tp))
    if origin is dict:
        args = typing.get_args(tp)
        return not args or (args[0] is str and _writable_type(args[1]))
    return False


# ---- the file ----------------------------------------------------------------------------


class Checkpoint:
    """Reads and appends one batch checkpoint file (see the module docstring).

    ``keys`` are the input items' keys (the index of a line must hold the same key);
    ``encode``/``decode`` are the user's pair for results that are not JSON values
    nor ChatResponses. Appends are serialised by a lock.
    """

    def __init__(
        self,
        path: Path,
        keys: Sequence[str],
        *,
        encode: Callable[[Any], Any] | None,
        decode: Callable[[Any], Any] | None,
    ) -> None:
        self.path = path
        self.keys = keys
        self.encode = encode
        self.decode = decode
        self._file: IO[bytes] | None = None
        self._lock = threading.Lock()

    # -- reading

    def load(self) -> dict[int, Finished]:
        """The finished items the file holds (a later line for an index wins); cuts a
        last line left unfinished by a crash off the file. No file: nothing finished."""
        finished: dict[int, Finished] = {}
        if self.path.is_dir():
            raise self._error(None, "is a directory, not a checkpoint file")
        if not self.path.exists():
            return finished
        good_end = 0
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.endswith(b"\n"):
                    if number == 1 and not HEADER.startswith(raw):  # not ours: never cut it
                        raise self._error(1, f"not an ailib batch checkpoint (no {FORMAT} header)")
                    break  # written up to the crash: never committed
                if number == 1:
                    self._check_header(raw)
                elif raw.strip():
                    index, done = self._parse(raw, number)
                    finished[index] = done
                good_end += len(raw)
        if good_end != self.path.stat().st_size:
            with self.path.open("r+b") as handle:
                handle.truncate(good_end)
        return finished

    def _error(self, number: int | None, problem: str) -> BatchCheckpointError:
        where = f"{self.path}" + (f", line {number}" if number is not None else "")
        return BatchCheckpointError(
            f"checkpoint {where}: {problem}", path=str(self.path), line=number
        )

    def _check_header(self, raw: bytes) -> None:
        try:
            header = json.loads(raw)
        except (ValueError, RecursionError):
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise self._error(1, f"not an ailib batch checkpoint (expected a {FORMAT} header)")

    def _parse(self, raw: bytes, number: int) -> tuple[int, Finished]:
        try:
            line = json.loads(raw)
        except (ValueError, RecursionError):
            raise self._error(number, "not JSON") from None
        if not isinstance(line, dict):
            raise self._error(number, "not a JSON object")
        index, key, ok = line.get("i"), line.get("key"), line.get("ok")
        if isinstance(index, bool) or not isinstance(index, int) or not isinstance(ok, bool):
            raise self._error(number, "no integer 'i' and boolean 'ok'")
        if not 0 <= index < len(self.keys):
            raise self._error(
                number,
                f"item {index} is past the input's {len(self.keys)} items: a checkpoint of"
                " other inputs (use a new checkpoint file for new inputs)",
            )
        if key != self.keys[index]:
            raise self._error(
                number,
                f"item {index}'s key {str(key)[:40]!r} does not match the input's item {index}"
                f" ({self.keys[index][:40]!r}): a checkpoint of other inputs (use a new"
                " checkpoint file for new inputs)",
            )
        if ok:
            return index, Finished(True, value=self._decode_value(line, number))
        return index, Finished(False, error=self._decode_error(line.get("error"), index, number))

    def _decode_value(self, line: dict[str, Any], number: int) -> Any:
        kind, data = line.get("as"), line.get("value")
        if kind == "json":
            return data
        if kind == "chat_response":
            from ailib.cache.codec import CacheEntryError, decode_entry

            try:
                return decode_entry(json.dumps(data).encode(), str(line["key"])).response
            except CacheEntryError as exc:
                raise self._error(number, f"a ChatResponse that cannot be read ({exc})") from None
        if kind == "custom":
            if self.decode is None:
                raise self._error(
                    number,
                    "a result written with BatchConfig(encode=...): give the matching decode=",
                )
            return self.decode(data)
        raise self._error(number, f"unknown result kind {str(kind)[:40]!r}")

    def _decode_error(self, error: Any, index: int, number: int) -> BatchItemError:
        if not isinstance(error, dict) or not all(
            isinstance(error.get(k), str) for k in ("type", "code", "message")
        ):
            raise self._error(number, "an error without string 'type', 'code' and 'message'")
        context = {k: error[k] for k in CONTEXT if isinstance(error.get(k), CONTEXT[k])}
        restored = BatchItemError(
            error["message"],
            code=error["code"],
            index=index,
            error_type=error["type"],
            **context,
        )
        for flag in ("retryable", "fallbackable"):
            if isinstance(error.get(flag), bool):
                setattr(restored, flag, error[flag])
        return restored

    # -- writing

    def write_ok(self, index: int, value: Any) -> None:
        """Append item ``index`` as succeeded with ``value``."""
        from ailib.types.response import ChatResponse

        head = {"i": index, "key": self.keys[index], "ok": True}
        if self.encode is not None:
            encoded = self.encode(value)
            try:
                body = json.dumps({**head, "as": "custom", "value": encoded}, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise self._error(
                    None,
                    f"BatchConfig.encode gave item {index}'s result as a"
                    f" {type(encoded).__name__}, which is not JSON data ({exc})",
                ) from None
        elif isinstance(value, ChatResponse):
            from ailib.cache.codec import CacheEntry, encode_entry

            entry = encode_entry(CacheEntry(self.keys[index], value)).decode()
            body = json.dumps({**head, "as": "chat_response"})[:-1] + f', "value": {entry}}}'
        elif is_json_value(value):
            body = json.dumps({**head, "as": "json", "value": value}, allow_nan=False)
        else:
            raise self._error(
                None,
                f"item {index}'s result is a {type(value).__name__}, which a checkpoint cannot"
                " hold (JSON values and ChatResponse can): pass"
                " BatchConfig(encode=..., decode=...)",
            )
        self._append(body)

    def write_error(self, index: int, error: BaseException) -> None:
        """Append item ``index`` as failed with ``error`` (its code and message)."""
        if isinstance(error, AiLibError):
            code, message = error.code, error.message
            flags = {"retryable": error.retryable, "fallbackable": error.fallbackable}
            flags.update({k: v for k in CONTEXT if (v := getattr(error, k, None)) is not None})
        else:
            from ailib.runtime.redact import mask_whole_keys

            code, message, flags = "E9999", mask_whole_keys(str(error)), {}
        kind = error.error_type if isinstance(error, BatchItemError) else type(error).__qualname__
        record = {"type": kind, "code": code, "message": message[:MAX_MESSAGE], **flags}
        line = {"i": index, "key": self.keys[index], "ok": False, "error": record}
        self._append(json.dumps(line, ensure_ascii=False))

    def _append(self, body: str) -> None:
        with self._lock:
            handle = self._opened()
            handle.write(body.encode() + b"\n")  # one write: a crash leaves no newline
            handle.flush()

    def start(self) -> None:
        """Create the file with its header now (a run with nothing to do still leaves one)."""
        with self._lock:
            self._opened().flush()

    def _opened(self) -> IO[bytes]:
        if self._file is None:
            handle = self.path.open("ab")
            try:
                _lock_exclusively(handle)
            except BlockingIOError:
                handle.close()
                raise self._error(
                    None, "in use by another run (one run at a time per checkpoint file)"
                ) from None
            if os.fstat(handle.fileno()).st_size == 0:  # checked under the lock: one header
                handle.write(HEADER)
            self._file = handle
        return self._file

    def close(self) -> None:
        """Close the file (appending again reopens it)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _lock_exclusively(handle: IO[bytes]) -> None:
    """Hold an exclusive lock on the open file until it is closed (BlockingIOError:
    another run holds it). Where the OS or file system has no such lock (Windows, some
    network file systems), none is taken."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise
    except OSError:  # pragma: no cover - no lock support here (e.g. ENOLCK)
        return
