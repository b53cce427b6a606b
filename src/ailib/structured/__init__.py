"""Structured output: JSON answers checked against a schema and typed.

``client.chat().user("Weather in Paris?").response_format(Weather).execute().parsed`` is a
``Weather``; the pieces are usable on their own too:

* :class:`JsonModeConfig` — what a call asks for (schema, native or prompt mode, repairs);
* :class:`SchemaGenerator` — attrs classes, dataclasses, TypedDicts, pydantic models → JSON Schema;
* :class:`OutputValidator` — JSON text → validated (jsonschema) → structured (cattrs);
* :class:`PartialJSONReader` / :func:`parse_partial_json` — the value of JSON still arriving.

Example::

    from ailib.structured import OutputValidator, SchemaGenerator

    SchemaGenerator(strict=True).generate(Weather)
    OutputValidator(Weather).parse('{"city": "Paris", "temperature_c": 21, "conditions": []}')

Names load lazily: importing this package imports neither jsonschema nor cattrs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "JsonModeConfig": "ailib.structured.json_mode",
    "SchemaGenerator": "ailib.structured.schema",
    "OutputValidator": "ailib.structured.validator",
    "PartialJSONReader": "ailib.structured.partial_json",
    "parse_partial_json": "ailib.structured.partial_json",
    "StructuredOutputError": "ailib.errors",
}

if TYPE_CHECKING:
    from ailib.errors import StructuredOutputError
    from ailib.structured.json_mode import JsonModeConfig
    from ailib.structured.partial_json import PartialJSONReader, parse_partial_json
    from ailib.structured.schema import SchemaGenerator
    from ailib.structured.validator import OutputValidator

__all__ = [
    "JsonModeConfig",
    "OutputValidator",
    "PartialJSONReader",
    "SchemaGenerator",
    "StructuredOutputError",
    "parse_partial_json",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ailib.structured' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
