"""A batch's JSONL checkpoint: one line per finished item, so a crashed run resumes.

The first line names the format and the function that produced the results (``fn``,
its qualified name); every later line is one finished item::

    {"format": "ailib.batch.checkpoint/1", "fn": "answers.ask"}
    {"i": 0, "key": "3f9a...", "ok": true, "as": "json", "value": "Paris"}
    {"i": 1, "key": "b07c...", "ok": false, "error": {"type": "RemoteError",
     "code": "E2001", "message": "...", "retryable": true, "fallbackable": true}}

Each line is written whole and flushed when its item finishes. A line counts only
with its newline: a last line cut by a crash is ignored (and cut off the file before
the run appends; a file whose only line is unfinished and no header is refused, never
cut); any other line that is not such a record is a
:class:`~ailib.errors.BatchCheckpointError` naming the file and line, and so is a
line whose item key does not match the input at its index.

One run at a time uses a file: the run holds an exclusive lock on it (``flock`` where
the OS has it) while it reads and while it appends, and a second run is refused with
BatchCheckpointError (so a run never cuts a line another run is writing).

A run whose function's name differs from the header's ``fn`` is refused
(BatchCheckpointError naming both), unless ``BatchConfig(checkpoint_check_fn=False)``:
a checkpoint of another job is never taken for this one's results. A header without
``fn`` (written before it was kept) resumes without the check.

The file system is not trusted (see :mod:`ailib.batch.checkpoint_file`): a path that is
a symbolic link, dangling or not, or no regular file is refused, never followed; a line
longer than ``BatchConfig.checkpoint_max_line`` bytes is refused after reading that
many bytes of it (never read whole), and such a result is refused when written. Errors
about a line name the file, the line number and the byte offset where the line starts.

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
import functools
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

from ailib.batch.checkpoint_file import (
    LineTooLong,
    UnsafeCheckpointPath,
    bounded_lines,
    lock_exclusively,
    open_checkpoint,
    path_holds_file,
)
from ailib.errors import AiLibError, BatchCheckpointError, BatchItemError, ConfigurationError

FORMAT = "ailib.batch.checkpoint/1"
#: how every checkpoint file's first line starts
HEADER_START = json.dumps({"format": FORMAT})[:-1].encode()
#: longest line read or written by default (BatchConfig.checkpoint_max_line)
MAX_LINE = 32 * 1024 * 1024
#: longest function name quoted from a header in an error
MAX_QUOTED = 200
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


def function_name(fn: Callable[..., Any]) -> str:
    """``fn``'s qualified name as a checkpoint header keeps it: ``module.qualname``
    (a ``functools.partial`` is named after its function, a callable object after its
    class).

    Example::

        function_name(ask)      # 'answers.ask'
    """
    target: Any = fn
    while isinstance(target, functools.partial):
        target = target.func
    module = getattr(target, "__module__", None) or type(target).__module__
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}.{qualname}"


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
    nor ChatResponses; ``fn`` the producing function's name, written to a new file's
    header and, with ``check_fn``, compared to an existing one's; ``max_line`` the
    longest line read or written, in bytes. Appends are serialised by a lock.
    """

    def __init__(
        self,
        path: Path,
        keys: Sequence[str],
        *,
        encode: Callable[[Any], Any] | None,
        decode: Callable[[Any], Any] | None,
        fn: str | None = None,
        check_fn: bool = True,
        max_line: int = MAX_LINE,
    ) -> None:
        self.path = path
        self.keys = keys
        self.encode = encode
        self.decode = decode
        self.fn = fn
        self.check_fn = check_fn
        self.max_line = max_line
        self._file: IO[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def header(self) -> bytes:
        """The first line this run writes to a new file."""
        fields = {"format": FORMAT} if self.fn is None else {"format": FORMAT, "fn": self.fn}
        return json.dumps(fields).encode() + b"\n"

    # -- reading

    def load(self) -> dict[int, Finished]:
        """The finished items the file holds (a later line for an index wins); cuts a
        last line left unfinished by a crash off the file. No file: nothing finished.

        Read under the run's exclusive lock (another run using the file: refused), one
        bounded line at a time; a link or a file that is not regular is refused."""
        finished: dict[int, Finished] = {}
        try:
            if not path_holds_file(self.path):
                return finished
            fd = open_checkpoint(self.path, os.O_RDWR)
        except UnsafeCheckpointPath as exc:
            raise self._error(None, str(exc)) from None
        with os.fdopen(fd, "r+b") as handle:
            self._lock_or_refuse(handle)
            good_end = self._read(handle, finished)
            if good_end != os.fstat(fd).st_size:
                handle.truncate(good_end)
        return finished

    def _read(self, handle: IO[bytes], finished: dict[int, Finished]) -> int:
        """Parse every committed line into ``finished``; the byte length they span."""
        good_end = 0
        try:
            for number, offset, raw in bounded_lines(handle, self.max_line):
                if not raw.endswith(b"\n"):
                    if number == 1 and not (
                        raw.startswith(HEADER_START) or HEADER_START.startswith(raw)
                    ):  # not ours: never cut it
                        raise self._error(1, f"not an ailib batch checkpoint (no {FORMAT} header)")
                    break  # written up to the crash: never committed
                if number == 1:
                    self._check_header(raw)
                elif raw.strip():
                    index, done = self._parse(raw, number, offset)
                    finished[index] = done
                good_end = offset + len(raw)
        except LineTooLong as long:
            raise self._error(
                long.number,
                f"the line is longer than {self.max_line} bytes"
                " (BatchConfig.checkpoint_max_line): not read",
                long.offset,
            ) from None
        return good_end

    def _error(
        self, number: int | None, problem: str, offset: int | None = None
    ) -> BatchCheckpointError:
        where = f"{self.path}" + (f", line {number}" if number is not None else "")
        at = f" (the line starts at byte {offset})" if offset is not None else ""
        return BatchCheckpointError(
            f"checkpoint {where}: {problem}{at}", path=str(self.path), line=number, offset=offset
        )

    def _check_header(self, raw: bytes) -> None:
        try:
            header = json.loads(raw)
        except (ValueError, RecursionError):
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise self._error(1, f"not an ailib batch checkpoint (expected a {FORMAT} header)", 0)
        written_by = header.get("fn")
        if written_by is not None and not isinstance(written_by, str):
            raise self._error(1, "the header's 'fn' is not a string", 0)
        if self.check_fn and None not in (written_by, self.fn) and written_by != self.fn:
            raise self._error(
                1,
                f"written by fn {str(written_by)[:MAX_QUOTED]!r}, and this run's fn is"
                f" {str(self.fn)[:MAX_QUOTED]!r}: a checkpoint of another job (use a new"
                " checkpoint file, or pass BatchConfig(checkpoint_check_fn=False) to"
                " take its results for this function's)",
                0,
            )

    def _parse(self, raw: bytes, number: int, offset: int) -> tuple[int, Finished]:
        try:
            line = json.loads(raw)
        except (ValueError, RecursionError):
            raise self._error(number, "not JSON", offset) from None
        if not isinstance(line, dict):
            raise self._error(number, "not a JSON object", offset)
        index, key, ok = line.get("i"), line.get("key"), line.get("ok")
        if isinstance(index, bool) or not isinstance(index, int) or not isinstance(ok, bool):
            raise self._error(number, "no integer 'i' and boolean 'ok'", offset)
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
        self._append(index, body)

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
        self._append(index, json.dumps(line, ensure_ascii=False))

    def _append(self, index: int, body: str) -> None:
        line = body.encode() + b"\n"
        if len(line) > self.max_line:  # a line this run could not read back
            raise self._error(
                None,
                f"item {index}'s line would be {len(line)} bytes, over the"
                f" {self.max_line} bytes BatchConfig.checkpoint_max_line allows: raise it"
                " for results this large",
            )
        with self._lock:
            handle = self._opened()
            handle.write(line)  # one write: a crash leaves no newline
            handle.flush()

    def start(self) -> None:
        """Create the file with its header now (a run with nothing to do still leaves one)."""
        with self._lock:
            self._opened().flush()

    def _opened(self) -> IO[bytes]:
        if self._file is None:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
            try:
                handle = os.fdopen(open_checkpoint(self.path, flags), "ab")
            except UnsafeCheckpointPath as exc:
                raise self._error(None, str(exc)) from None
            self._lock_or_refuse(handle)
            if os.fstat(handle.fileno()).st_size == 0:  # checked under the lock: one header
                handle.write(self.header)
            self._file = handle
        return self._file

    def _lock_or_refuse(self, handle: IO[bytes]) -> None:
        """Take the file's exclusive lock, or close ``handle`` and refuse the run."""
        try:
            lock_exclusively(handle)
        except BlockingIOError:
            handle.close()
            raise self._error(
                None, "in use by another run (one run at a time per checkpoint file)"
            ) from None

    def close(self) -> None:
        """Close the file (appending again reopens it)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
