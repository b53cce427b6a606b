"""Tool definitions given to a model, and the tool calls it makes."""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Callable
from typing import Any

import attrs

_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
}


def _schema_for(annotation: Any) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(annotation))}
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _schema_for(args[0]) if len(args) == 1 else {}
    if origin in (list, tuple, set):
        items = typing.get_args(annotation)
        return {"type": "array", "items": _schema_for(items[0])} if items else {"type": "array"}
    base = origin or annotation
    return {"type": _JSON_TYPES[base]} if base in _JSON_TYPES else {}


@attrs.frozen
class ToolDefinition:
    """A function the model may call.

    Example::

        weather = ToolDefinition.from_function(
            name="get_weather",
            description="Get current weather for a location",
            parameters={"type": "object", "properties": {"location": {"type": "string"}}},
        )
    """

    name: str
    description: str = ""
    parameters: dict[str, Any] = attrs.field(factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None

    @classmethod
    def from_function(
        cls,
        func: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
        strict: bool | None = None,
    ) -> ToolDefinition:
        """Build a tool from explicit name/description/JSON-Schema, or from a typed function."""
        if func is None:
            if not name:
                raise ValueError("ToolDefinition.from_function needs a function or a name")
            return cls(
                name, description or "", parameters or {"type": "object", "properties": {}}, strict
            )
        if parameters is None:
            props: dict[str, Any] = {}
            required: list[str] = []
            hints = typing.get_type_hints(func)
            for pname, param in inspect.signature(func).parameters.items():
                props[pname] = _schema_for(hints.get(pname, Any))
                if param.default is inspect.Parameter.empty:
                    required.append(pname)
            parameters = {"type": "object", "properties": props, "required": required}
        doc = inspect.getdoc(func) or ""
        return cls(name or func.__name__, description or doc.split("\n\n")[0], parameters, strict)


@attrs.frozen
class ToolCall:
    """A call the model asked for: ``function_name`` with decoded ``arguments``."""

    id: str
    function_name: str
    arguments: dict[str, Any] = attrs.field(factory=dict)
    raw_arguments: str = ""
    index: int = 0
    # Provider data that must round-trip with the call (e.g. Gemini thought signatures).
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def name(self) -> str:
        return self.function_name

    @classmethod
    def from_raw(
        cls,
        id: str,
        name: str,
        raw: str | dict[str, Any] | None,
        *,
        index: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> ToolCall:
        """Build a call from JSON text or an already-decoded argument object."""
        if isinstance(raw, dict):
            return cls(id, name, raw, json.dumps(raw, ensure_ascii=False), index, extra or {})
        text = raw or ""
        try:
            args = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            args = {}
        if not isinstance(args, dict):
            args = {"value": args}
        return cls(id, name, args, text, index, extra or {})
