"""Write manifest values into Markdown pages safely: a manifest is data, even hostile data.

The provider pages of the documentation site are rendered from the manifests, so every
manifest value that lands in a page goes through :func:`md_text` (the Jinja environment of
:mod:`codegen.docs` applies it to every ``{{ ... }}`` by default). It keeps letters, digits,
spaces, ``.,:;/-()`` and underscores inside words as they are and writes every other ASCII
character as a numeric character reference (``|`` is ``&#124;``, ``<`` is ``&#60;``), so a
value can neither open an HTML tag, nor split a table cell, nor start Markdown syntax
(links, emphasis, code, attribute lists). Characters that do not print (newlines,
controls, bidi overrides) are shown as their escape (``\\x1b``), so a value always stays
on its line.

Example::

    md_text("gpt-4o")              # "gpt-4o"
    md_text("<script>")            # "&#60;script&#62;": shows <script>, is no tag
    md_text("a|b")                 # "a&#124;b": one table cell
    code("o3-mini")                # Markup("<code>o3-mini</code>")
"""

from __future__ import annotations

import math
import re
from typing import Any

from markupsafe import Markup

from codegen.safe import py_str

# "(" and ")" only make a link after "]", which is always escaped
_KEPT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;/-()")
_SAFE_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/%-]*)?")


def _reference(char: str) -> str:
    return f"&#{ord(char)};"


def _between_word_characters(text: str, i: int) -> bool:
    """An underscore inside a word (``OPENAI_API_KEY``) never starts or ends emphasis."""
    before, after = text[i - 1 : i], text[i + 1 : i + 2]
    return before.isascii() and before.isalnum() and after.isascii() and after.isalnum()


def md_text(value: Any) -> str:
    """``value`` as Markdown text that reads as itself and cannot become markup."""
    if isinstance(value, Markup):
        return str(value)  # built by this module's own helpers from escaped parts
    out = []
    text = str(value)
    for i, char in enumerate(text):
        if char in _KEPT or (char == "_" and _between_word_characters(text, i)):
            out.append(char)
        elif not char.isprintable():
            out.append(md_text(repr(char)[1:-1]))  # shown as its escape: "\x1b"
        elif char.isascii():
            out.append(_reference(char))
        else:
            out.append(char)  # printable non-ASCII letters and symbols are no Markdown syntax
    text = "".join(out)
    if text[:1] == "-":
        text = _reference("-") + text[1:]  # never a list item or a rule at a line start
    return text


def code(value: Any) -> Markup:
    """``value`` shown as inline code (an HTML ``<code>`` element around escaped text)."""
    return Markup(f"<code>{md_text(value)}</code>")


def code_literal(value: Any) -> Markup:
    """A Python string literal for a fenced code block, where Markdown shows text as is.

    :func:`codegen.safe.py_str` keeps it on one line (newlines and other non-printable
    characters become escapes), so it can never close the fence it sits in.
    """
    return Markup(py_str(value))


def link(url: Any, label: Any = None) -> Markup:
    """A Markdown link when ``url`` is a plain https URL; otherwise the escaped text only."""
    text = str(url)
    shown = md_text(text if label is None else label)
    if _SAFE_URL.fullmatch(text) is None:
        return Markup(shown)
    return Markup(f"[{shown}]({text})")


def number(value: Any) -> str:
    """A count with thousands separators (``128,000``); anything else as its text.

    Plain text, not escaped: the templates escape what it returns like any other value.
    """
    if type(value) is int:
        return f"{value:,}"
    if type(value) is float and math.isfinite(value) and value.is_integer():
        return f"{int(value):,}"
    return str(value)


def price(value: Any) -> str:
    """A price per 1M tokens as the manifest wrote it (``2.5``, ``0.075``, ``10``); plain text."""
    if type(value) is float and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
