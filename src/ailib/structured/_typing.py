"""The type variable of a parsed structured output, defaulting to ``Any``.

``ChatResponse`` without a parameter means ``ChatResponse[Any]``, so existing annotations
stay valid under ``mypy --strict``; ``.response_format(Weather)`` makes it
``ChatResponse[Weather]``. The default needs ``typing_extensions`` only for type checkers
(it is never imported at run time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    ParsedT = TypeVar("ParsedT", default=Any)
    SchemaT = TypeVar("SchemaT")
else:
    from typing import TypeVar

    ParsedT = TypeVar("ParsedT")
    SchemaT = TypeVar("SchemaT")

__all__ = ["ParsedT", "SchemaT"]
