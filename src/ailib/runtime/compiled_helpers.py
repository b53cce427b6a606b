"""Helpers the compiled provider modules (``ailib.providers.*``) share.

``python -m codegen`` turns each manifest's paths and event maps into straight-line
Python; the few helpers that code calls live here once instead of in every module.
Each generated module imports the ones it uses under underscore aliases, e.g.::

    from ailib.runtime.compiled_helpers import dig as _dig

    _dig({"a": [{"b": 1}]}, ("a", 0, "b"))  # -> 1
"""

from __future__ import annotations

from typing import Any

#: Stands in for a missing object so lookups can chain; never mutated.
MISSING_OBJECT: dict[str, Any] = {}
#: An empty list counts as absent for ``exists()`` (compared by equality).
EMPTY_LIST: list[Any] = []


def dig(obj: Any, steps: tuple[Any, ...]) -> Any:
    """Follow keys and indexes (for the tail of a ``[*]`` path); None when absent.

    Example: ``dig({"a": [1, 2]}, ("a", -1))`` is 2; ``dig({"a": 1}, ("b",))`` is None.
    """
    for step in steps:
        if type(step) is str:
            obj = obj.get(step) if type(obj) is dict else None
        else:
            obj = obj[step] if type(obj) is list and -len(obj) <= step < len(obj) else None
    return obj


def is_code(value: Any) -> bool:
    """True for a usable error code: a non-empty string or an int (not a bool).

    Example: ``is_code("rate_limit")`` and ``is_code(429)`` are True; ``is_code(True)`` is not.
    """
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value) != ""
