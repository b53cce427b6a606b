"""A griffe extension for the API reference: ailib's reST docstring markup, read as Markdown.

ailib's docstrings use two bits of reStructuredText that Markdown would show as typed:
cross-reference roles (``:class:`~ailib.cache.CacheManager```) and the literal-block
marker (``Example::`` before an indented example). This extension rewrites them when
mkdocstrings loads each object: a role becomes inline code naming its target (the last
part only after ``~``), and ``Example::`` becomes ``Example:`` (the indented block after it
is already a Markdown code block). mkdocs.yml loads it by path, so run mkdocs from the
repository root (as ``nox -s docs`` and ``.ci/run`` do).

Example::

    to_markdown("See :class:`~ailib.cache.CacheManager`.\\n\\nExample::")
    # 'See `CacheManager`.\\n\\nExample:'
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?[a-z]+:`(~?)([^`<]*?)(?:\s*<([^`>]+)>)?`")
_LITERAL_MARKER = re.compile(r"(?m)(\S)::$")
_BARE_MARKER = re.compile(r"(?m)^\s*::\s*$")


def _role(match: re.Match[str]) -> str:
    short, text, target = match.groups()
    if target:  # :role:`shown text <target>`
        return f"`{text.strip()}`"
    if short:
        text = text.rsplit(".", 1)[-1]
    return f"`{text}`"


def to_markdown(text: str) -> str:
    """``text`` with reST roles as inline code and ``::`` literal markers as ``:``."""
    text = _ROLE.sub(_role, text)
    text = _LITERAL_MARKER.sub(r"\1:", text)
    return _BARE_MARKER.sub("", text)


class RestructuredTextMarkup(griffe.Extension):
    """Rewrites each loaded object's docstring with :func:`to_markdown`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
