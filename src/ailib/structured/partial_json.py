"""A tolerant, incremental reader of JSON text that is still arriving.

Feed it the pieces of a streamed answer (or of tool-call arguments) and ask for the value
so far at any time: open objects and arrays are closed, a string being written is
included as far as it goes, a key without its value yet is left out. Each character is
read once, so following a long answer costs linear time, not quadratic.

Hostile input is bounded: nesting deeper than ``max_depth`` and numbers longer than
``max_number_chars`` stop the reader (``error`` says why) and the value read before that
point stays available. Text that is not JSON never raises here: the reader stops at the
first character that cannot continue a JSON document; the final answer is checked
strictly by :class:`~ailib.structured.OutputValidator`.

Example::

    reader = PartialJSONReader()
    reader.feed('{"city": "Par')
    reader.value()           # {'city': 'Par'}
    reader.feed('is", "temps": [21, 2')
    reader.value()           # {'city': 'Paris', 'temps': [21, 2]}
    parse_partial_json('[1, {"a": tr')  # [1, {'a': True}]
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PartialJSONReader", "parse_partial_json"]

#: a run of string characters that need no decoding
_PLAIN = re.compile(r'[^"\\]+')
_WHITESPACE = " \t\n\r"
_NUMBER_CHARS = frozenset("0123456789+-.eE")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_LITERALS = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX = frozenset("0123456789abcdefABCDEF")

# what the reader expects next
_VALUE, _FIRST_VALUE, _KEY, _FIRST_KEY, _COLON, _AFTER, _STRING, _NUMBER_T, _LITERAL = range(9)
_DONE, _FENCE = 9, 10


class _Missing:
    """No value yet (distinct from a JSON ``null``)."""

    __slots__ = ()


MISSING: Any = _Missing()


class _Frame:
    """An open object or array; children are added when they are complete."""

    __slots__ = ("container", "key")

    def __init__(self, container: dict[str, Any] | list[Any]) -> None:
        self.container = container
        self.key: str | None = None  # an object's key whose value is being read


class PartialJSONReader:
    """Incremental JSON reader: ``feed(text)`` as it arrives, ``value()`` any time.

    ``value()`` returns a fresh snapshot (open containers are copied; values already
    complete are shared between snapshots: treat them as read-only). ``complete`` is
    true once a whole JSON value was read; ``error`` says where and why reading stopped.
    A leading Markdown code fence (```` ```json ````) and anything after the complete
    value are skipped.

    Example::

        reader = PartialJSONReader(max_depth=32)
        for piece in ['{"a": [1, ', '2]}']:
            reader.feed(piece)
            print(reader.value())   # {'a': [1]}  then  {'a': [1, 2]}
    """

    def __init__(self, *, max_depth: int = 64, max_number_chars: int = 400) -> None:
        self.max_depth = max_depth
        self.max_number_chars = max_number_chars
        self.error: str | None = None
        self.complete = False
        self._stack: list[_Frame] = []
        self._state = _FIRST_VALUE
        self._root: Any = MISSING
        self._token: list[str] = []  # a number or literal being read
        self._pieces: list[str] = []  # decoded parts of the string being read
        self._escape = ""  # an escape sequence cut by the end of a piece
        self._high: str = ""  # a high surrogate waiting for its low half
        self._is_key = False
        self._started = False  # a non-space character was seen
        self._offset = 0

    # ---- reading --------------------------------------------------------------------

    def feed(self, text: str) -> None:
        """Read ``text``, the next piece of the document."""
        if self.error is not None or self._state == _DONE:
            self._offset += len(text)
            return
        i, end = 0, len(text)
        while i < end and self.error is None and self._state != _DONE:
            state = self._state
            if state == _STRING:
                i = self._string(text, i)
                continue
            ch = text[i]
            if state == _NUMBER_T:
                if ch in _NUMBER_CHARS:
                    self._token.append(ch)
                    if len(self._token) > self.max_number_chars:  # dropped, not shown cut
                        self._token, self._state = [], _VALUE
                        self._fail(i, f"a number longer than {self.max_number_chars} characters")
                    i += 1
                    continue
                if not self._end_number(i):
                    break
                continue  # the character after the number is read in state _AFTER
            if state == _LITERAL:
                word = self._token
                target = _LITERALS[word[0]][0]
                if len(word) < len(target):
                    if ch != target[len(word)]:
                        self._fail(i, f"expected {target!r}")
                        break
                    word.append(ch)
                    i += 1
                    if len(word) == len(target):
                        self._token = []
                        self._attach(_LITERALS[target[0]][1])
                    continue
            if state == _FENCE:
                if ch == "\n":
                    self._state = _FIRST_VALUE
                i += 1
                continue
            if ch in _WHITESPACE or ch == "\ufeff":
                i += 1
                continue
            self._structural(ch, i)
            i += 1
        self._offset += end

    def _structural(self, ch: str, i: int) -> None:
        state = self._state
        if state in (_VALUE, _FIRST_VALUE):
            if state == _FIRST_VALUE and ch == "]" and self._stack:
                self._close(ch, i)
            elif ch == "`" and not self._started:
                self._state = _FENCE
            else:
                self._start_value(ch, i)
            self._started = True
        elif state in (_KEY, _FIRST_KEY):
            if ch == '"':
                self._is_key = True
                self._state = _STRING
            elif ch == "}" and state == _FIRST_KEY:
                self._close(ch, i)
            else:
                self._fail(i, "expected a key")
        elif state == _COLON:
            if ch == ":":
                self._state = _VALUE
            else:
                self._fail(i, "expected ':'")
        elif state == _AFTER:
            if not self._stack:
                self._state = _DONE
            elif ch == ",":
                self._state = _KEY if isinstance(self._stack[-1].container, dict) else _VALUE
            elif ch in "]}":
                self._close(ch, i)
            else:
                self._fail(i, "expected ',' or the end of the object or array")

    def _start_value(self, ch: str, i: int) -> None:
        if ch in "{[":
            if len(self._stack) >= self.max_depth:
                self._fail(i, f"nested deeper than {self.max_depth} levels")
                return
            if ch == "{":
                self._stack.append(_Frame({}))
                self._state = _FIRST_KEY
            else:
                self._stack.append(_Frame([]))
                self._state = _FIRST_VALUE
        elif ch == '"':
            self._is_key = False
            self._state = _STRING
        elif ch == "-" or "0" <= ch <= "9":
            self._token = [ch]
            self._state = _NUMBER_T
        elif ch in _LITERALS:
            self._token = [ch]
            self._state = _LITERAL
        else:
            self._fail(i, "expected a JSON value")

    def _close(self, ch: str, i: int) -> None:
        frame = self._stack[-1]
        is_object = isinstance(frame.container, dict)
        if (ch == "}") != is_object:
            self._fail(i, f"unexpected {ch!r}")
            return
        self._stack.pop()
        self._attach(frame.container)

    def _attach(self, value: Any) -> None:
        """A complete value: into its parent, or the document's root."""
        if not self._stack:
            self._root = value
            self.complete = True
            self._state = _AFTER
            return
        frame = self._stack[-1]
        if isinstance(frame.container, dict):
            frame.container[frame.key or ""] = value
            frame.key = None
        else:
            frame.container.append(value)
        self._state = _AFTER

    def _end_number(self, i: int) -> bool:
        text = "".join(self._token)
        if _NUMBER.fullmatch(text) is None:
            self._fail(i, f"not a number: {text[:40]!r}")
            return False
        self._token = []
        self._attach(_number(text))
        return True

    def _string(self, text: str, i: int) -> int:
        """Read string characters from ``text[i:]``; the index after what was read."""
        end = len(text)
        while i < end:
            if self._escape:
                i = self._read_escape(text, i)
                if self.error is not None:
                    return end
                continue
            match = _PLAIN.match(text, i)
            if match is not None:
                self._flush_high()
                self._pieces.append(match.group())
                i = match.end()
                continue
            ch = text[i]
            i += 1
            if ch == "\\":
                self._escape = "\\"
                continue
            self._flush_high()  # the closing quote
            value = "".join(self._pieces)
            self._pieces = []
            if self._is_key:
                self._stack[-1].key = value
                self._state = _COLON
            else:
                self._attach(value)
            return i
        return i

    def _read_escape(self, text: str, i: int) -> int:
        """Continue an escape sequence (``\\n``, ``\\u00e9``) that may span pieces."""
        seq = self._escape
        ch = text[i]
        if len(seq) == 1:
            if ch in _ESCAPES:
                self._flush_high()
                self._pieces.append(_ESCAPES[ch])
                self._escape = ""
            elif ch == "u":
                self._escape = "\\u"
            else:
                self._fail(i, f"invalid escape \\{ch}")
            return i + 1
        if ch not in _HEX:
            self._fail(i, "invalid \\u escape")
            return i + 1
        seq += ch
        if len(seq) < 6:
            self._escape = seq
            return i + 1
        self._escape = ""
        unit = chr(int(seq[2:], 16))
        if "\ud800" <= unit <= "\udbff":  # a high surrogate: its low half may follow
            self._flush_high()
            self._high = unit
        elif "\udc00" <= unit <= "\udfff" and self._high:
            pair = (ord(self._high) - 0xD800) * 0x400 + (ord(unit) - 0xDC00) + 0x10000
            self._pieces.append(chr(pair))
            self._high = ""
        else:
            self._flush_high()
            self._pieces.append(unit)
        return i + 1

    def _flush_high(self) -> None:
        if self._high:  # a lone surrogate, kept as json.loads keeps it
            self._pieces.append(self._high)
            self._high = ""

    def _fail(self, i: int, why: str) -> None:
        self.error = f"{why} at character {self._offset + i}"

    # ---- the value so far -----------------------------------------------------------

    def value(self) -> Any:
        """The value read so far (None before any value began)."""
        if self.complete:
            return self._root
        partial = self._pending()
        for frame in reversed(self._stack):
            container = frame.container
            if isinstance(container, dict):
                obj = dict(container)
                if frame.key is not None and partial is not MISSING:
                    obj[frame.key] = partial
                partial = obj
            else:
                items = list(container)
                if partial is not MISSING:
                    items.append(partial)
                partial = items
        return None if partial is MISSING else partial

    def _pending(self) -> Any:
        """The scalar being read, as far as it can be shown (MISSING when it cannot)."""
        state = self._state
        if state == _STRING and not self._is_key:
            pieces = self._pieces
            if len(pieces) > 1:
                pieces[:] = ["".join(pieces)]  # keep the list short for the next snapshot
            return (pieces[0] if pieces else "") + self._high
        if state == _NUMBER_T:
            text = "".join(self._token).rstrip("+-.eE")
            match = _NUMBER.match(text)
            return _number(match.group()) if match and match.group() else MISSING
        if state == _LITERAL:
            return _LITERALS[self._token[0]][1]
        return MISSING


def _number(text: str) -> int | float:
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


def parse_partial_json(text: str, *, max_depth: int = 64) -> Any:
    """The value of a JSON prefix (None when no value has begun); never raises.

    Example::

        parse_partial_json('{"a": 1, "b": "tw')  # {'a': 1, 'b': 'tw'}
    """
    reader = PartialJSONReader(max_depth=max_depth)
    reader.feed(text)
    return reader.value()
