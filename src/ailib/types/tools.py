"""Tool definitions given to a model, and the tool calls it makes."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ailib.types.tool_schema import parameters_schema, summary, unwrap_partial


@attrs.frozen
class ToolDefinition:
    """A function the model may call.

    Example::

        weather = ToolDefinition.from_function(
            name="get_weather",
            description="Get current weather for a location",
            parameters={"type": "object", "properties": {"location": {"type": "string"}}},
        )

        def get_time(city: str, utc: bool = False) -> str:
            '''Current time in a city.

            Args:
                city: City name.
            '''

        clock = ToolDefinition.from_function(get_time)  # schema and descriptions from it
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
        """Build a tool from explicit name/description/JSON-Schema, or from a typed function.

        From a function: type hints become the JSON Schema (``Enum``, ``Literal``,
        ``Optional``, ``list``/``dict``/``tuple``, dataclasses, attrs classes, TypedDicts),
        the docstring's ``Args:`` entries the property descriptions and its summary the
        description; ``*args`` is left out, ``**kwargs`` allows further properties, and a
        ``functools.partial`` offers only the arguments it leaves open.
        """
        from ailib.errors import ToolDefinitionError

        if func is None:
            if not name:
                raise ToolDefinitionError("ToolDefinition.from_function needs a function or a name")
            return cls(
                name, description or "", parameters or {"type": "object", "properties": {}}, strict
            )
        if not callable(func):
            hint = " (pass the name as name=...)" if isinstance(func, str) else ""
            raise ToolDefinitionError(
                f"ToolDefinition.from_function needs a function, got a {type(func).__name__}{hint}"
            )
        target, _ = unwrap_partial(func)
        if parameters is None:
            try:
                parameters = parameters_schema(func)
            except (TypeError, ValueError) as exc:  # no signature (some builtins and classes)
                raise ToolDefinitionError(
                    f"cannot read the parameters of {func!r:.80}: {exc}; pass parameters={{...}}"
                ) from None
        if description is None:
            description = summary(inspect.getdoc(target) or "")
        default_name = getattr(target, "__name__", None) or type(target).__name__
        return cls(name or default_name, description, parameters, strict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolDefinition:
        """Build a tool from a provider-shaped dict, as found in other SDKs' code.

        Accepts ``{"type": "function", "function": {"name", "description", "parameters"}}``
        (OpenAI Chat) and the flat ``{"name", "description", "parameters"}`` (OpenAI
        Responses) or ``{"name", "description", "input_schema"}`` (Anthropic)::

            tool = ToolDefinition.from_dict(
                {"type": "function", "function": {"name": "ping", "parameters": {"type": "object"}}}
            )
        """
        from ailib.errors import ToolDefinitionError

        if not isinstance(data, Mapping):
            raise ToolDefinitionError(f"a tool dict must be a dict, not {type(data).__name__}")
        function = data.get("function")
        spec: Mapping[str, Any] = function if isinstance(function, Mapping) else data
        kind = data.get("type", "function")
        name = spec.get("name")
        if kind != "function" or not isinstance(name, str) or not name:
            shown = json.dumps(data, default=repr)[:200]
            raise ToolDefinitionError(
                "a tool dict needs a function name: {'type': 'function', 'function': "
                f"{{'name': ..., 'parameters': {{...}}}}}} or {{'name': ..., ...}}; got {shown}",
                tool=name if isinstance(name, str) else None,
            )
        parameters = spec.get("parameters", spec.get("input_schema"))
        if parameters is None:
            parameters = {"type": "object", "properties": {}}
        strict = spec.get("strict")
        return cls(
            name,
            str(spec.get("description") or ""),
            dict(parameters) if isinstance(parameters, Mapping) else parameters,
            strict if isinstance(strict, bool) else None,
        )


@attrs.frozen
class ToolCall:
    """A call the model asked for: ``function_name`` with decoded ``arguments``.

    ``raw_arguments`` is the exact argument text received. When it is not a JSON object
    (invalid JSON, a truncated stream, an array or a scalar), ``arguments`` is ``None`` and
    ``arguments_error`` says why, so a tool never runs with made-up arguments. Empty text
    (a tool without parameters on some providers) decodes to ``{}``.

    Example::

        for call in resp.tool_calls:
            if call.arguments is None:  # not a JSON object: tell the model, do not run it
                history.append(Message.tool(call.id, {"error": call.arguments_error}))
            else:
                history.append(Message.tool(call.id, TOOLS[call.name](**call.arguments)))
    """

    id: str
    function_name: str
    arguments: dict[str, Any] | None = attrs.field(factory=dict)
    raw_arguments: str = ""
    index: int = 0
    # Provider data that must round-trip with the call (e.g. Gemini thought signatures).
    extra: dict[str, Any] = attrs.field(factory=dict)
    arguments_error: str | None = None

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
        """Build a call from JSON text or an already-decoded argument value.

        A decoded value that is not an object (a list, a number) is kept as its JSON text
        and marked like text that is not an object: ``arguments`` None.
        """
        if isinstance(raw, dict):
            return cls(id, name, raw, json.dumps(raw, ensure_ascii=False), index, extra or {})
        if raw is not None and not isinstance(raw, str):
            try:
                raw = json.dumps(raw, ensure_ascii=False)
            except (TypeError, ValueError, RecursionError):
                raw = repr(raw)  # not JSON at all: decodes to "not valid JSON" below
        text = raw or ""
        args, error = decode_arguments(text)
        return cls(id, name, args, text, index, extra or {}, error)

    def replay_arguments(self) -> Any:
        """The arguments as a JSON value, for wires that carry them as an object.

        Sends back what was received: the decoded object, or the decoded non-object value.
        Text that is not JSON at all cannot be carried by such a wire: a typed error.
        """
        if self.arguments is not None:
            return self.arguments
        try:
            return json.loads(self.raw_arguments)
        except (ValueError, RecursionError):
            from ailib.errors import InvalidRequestError

            raise InvalidRequestError(
                f"tool call {self.id!r} ({self.function_name}) has arguments that are not "
                f"valid JSON ({self.arguments_error}); this provider carries arguments as a "
                "JSON object, so the call cannot be sent back as it was received. Replace it "
                "with ToolCall.from_raw(call.id, call.name, {...}) or leave it out."
            ) from None


def decode_arguments(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """Decode tool-call argument text: ``(object, None)`` or ``(None, reason)``.

    Empty or blank text means no arguments (``{}``).
    """
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, f"arguments are not valid JSON: {exc}"
    except RecursionError:
        return None, "arguments are nested too deeply to decode"
    if not isinstance(value, dict):
        return None, f"arguments are {_json_kind(value)}, not a JSON object"
    return value, None


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "null" if value is None else "a number"
