"""Put manifest values into generated Python safely: a manifest is data, even hostile data.

Every manifest value that lands in a generated module goes through one of these (as a
Jinja filter or a call in ``codegen.compile``): a string literal (:func:`py_str`), plain
data written with ``repr``/``pprint`` (checked by :func:`check_plain`), text inside a
docstring (:func:`doc_text`), a literal shown in a docstring (:func:`doc_literal`), text
inside a ``#`` comment (:func:`comment_text`), or an identifier (:func:`identifier`,
which refuses anything but ``[A-Za-z_][A-Za-z0-9_]*``).
None of them can end the string, docstring or comment they are in, so no manifest can
add a statement.

Example::

    py_str("a'b")        # the source text "a'b" (double quotes, escapes where needed)
    doc_text("x" * 3)    # each quote backslash-escaped: cannot close a docstring
    identifier("OpenAI", "class_name")  # "OpenAI"; "os.system" raises UnsafeValueError
"""

from __future__ import annotations

import keyword
import math
import re
from typing import Any

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class UnsafeValueError(ValueError):
    """A manifest value cannot become the Python identifier or literal it must be."""


def _escaped(char: str) -> str:
    """A character as a Python escape sequence (``\\n``, ``\\x00``, ``\\u2028``...)."""
    return repr(char)[1:-1]


def py_str(value: Any) -> str:
    """A double-quoted Python string literal equal to ``str(value)``, safe anywhere in source.

    Quotes and backslashes are escaped, and every non-printable character (newlines,
    controls, line separators, lone surrogates) becomes an escape, so the literal stays on
    one line. Inside a docstring it cannot close the docstring either: every quote it holds
    is preceded by a backslash.
    """
    out = []
    for char in str(value):
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(_escaped(char))
    return '"' + "".join(out) + '"'


def check_plain(value: Any, where: str = "manifest") -> None:
    """Refuse anything but plain JSON-like data, whose ``repr`` is a safe Python literal."""
    if value is None or type(value) in (bool, int, str):
        return
    if type(value) is float:
        if not math.isfinite(value):
            raise UnsafeValueError(f"{where}: {value!r} is not a finite number")
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    if type(value) is dict:
        for key, item in value.items():
            check_plain(key, f"{where} key")
            check_plain(item, f"{where}.{key}")
        return
    raise UnsafeValueError(f"{where}: cannot write a {type(value).__name__} into generated code")


def doc_text(value: Any) -> str:
    """Text that reads as itself inside a triple-quoted docstring and cannot end it."""
    out = []
    for char in str(value):
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            out.append("\\" + _escaped(char))  # shown as the escape, on one line
    return "".join(out)


_QUOTE_IN_RUN = re.compile(r'"(?=")|(?<=")"')


def doc_literal(value: Any) -> str:
    """:func:`py_str` of ``value`` written so a docstring shows exactly that literal.

    Backslashes are doubled (the docstring shows the escapes, and never holds a lone
    surrogate, which a class docstring cannot) and a quote next to another quote is
    escaped, so no three quotes ever meet. A plain model id reads ``"gpt-4o"``.
    """
    return _QUOTE_IN_RUN.sub(r"\\\g<0>", py_str(value).replace("\\", "\\\\"))


def comment_text(value: Any) -> str:
    """Text for a ``#`` comment: one line, non-printable characters shown as escapes."""
    return "".join(c if c.isprintable() else _escaped(c) for c in str(value))


def identifier(value: Any, what: str) -> str:
    """``value`` when it is an ASCII Python identifier and not a keyword; else an error."""
    text = str(value)
    if _IDENTIFIER.fullmatch(text) is None or keyword.iskeyword(text):
        raise UnsafeValueError(f"{what} {text!r} is not a Python identifier")
    return text
