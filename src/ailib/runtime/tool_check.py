"""Checks on tool definitions and ``tool_choice``, run before a request is sent.

Each tool's ``parameters`` must be a valid JSON Schema (checked against its meta-schema,
Draft 2020-12 unless the schema names another) describing an object; names must follow
the manifest's ``tool_name_pattern`` and be unique; a ``tool_choice`` may name only a tool
that is in the request. Failures raise :class:`~ailib.errors.ToolDefinitionError` (E1001).

Example::

    check_tools(manifest, [ToolDefinition("get_weather")], "get_weather")  # passes
    check_tools(manifest, [ToolDefinition("get weather")], None)  # ToolDefinitionError
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ailib.errors import ManifestError, ToolDefinitionError
from ailib.protocol.manifest import Manifest
from ailib.types.tools import ToolDefinition

# tool_choice strings that choose a mode, not a tool (any case: Cohere spells them upper)
CHOICE_MODES = frozenset({"auto", "none", "required", "any"})
_CACHE_LIMIT = 1024
# repr of a checked schema -> the problem found in it ("" when it is valid)
_schema_problems: dict[str, str] = {}


def check_tools(manifest: Manifest, tools: Sequence[Any], tool_choice: Any = None) -> None:
    """Raise :class:`ToolDefinitionError` for the first bad tool or ``tool_choice``."""
    if not tools and tool_choice is None:
        return
    if not tools and isinstance(tool_choice, str) and tool_choice.lower() in ("required", "any"):
        raise ToolDefinitionError(
            f"tool_choice {tool_choice!r} asks for a tool call, but the request has no tools",
            provider=manifest.id,
        )
    pattern = manifest.data.get("tool_name_pattern")
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        if not isinstance(tool, ToolDefinition):
            raise ToolDefinitionError(
                f"tools[{index}] is a {type(tool).__name__}, not a ToolDefinition "
                "(build one with ToolDefinition.from_function or ToolDefinition.from_dict)",
                provider=manifest.id,
            )
        name = tool.name
        _check_name(manifest, name, pattern)
        if name in seen:
            raise ToolDefinitionError(
                f"tool {_shown(name)} is defined twice: tool names must be unique",
                tool=name,
                provider=manifest.id,
            )
        seen.add(name)
        problem = schema_problem(tool.parameters)
        if problem:
            raise ToolDefinitionError(
                f"tool {_shown(name)}: {problem}", tool=name, provider=manifest.id
            )
    for chosen in chosen_tool_names(tool_choice):
        if chosen not in seen:
            offered = ", ".join(_shown(n) for n in sorted(seen)[:20]) or "no tools"
            raise ToolDefinitionError(
                f"tool_choice names {_shown(chosen)}, which is not one of the request's tools "
                f"({offered})",
                tool=str(chosen),
                provider=manifest.id,
            )


def _check_name(manifest: Manifest, name: Any, pattern: Any) -> None:
    if not isinstance(name, str) or not name:
        raise ToolDefinitionError(
            f"a tool name must be a non-empty str, not {_shown(name)}", provider=manifest.id
        )
    if not pattern:
        return
    try:
        matched = re.fullmatch(str(pattern), name)
    except re.error as exc:
        raise ManifestError(
            f"tool_name_pattern is not a regular expression: {exc}",
            path=manifest.source,
            key="tool_name_pattern",
        ) from exc
    if matched is None:
        raise ToolDefinitionError(
            f"tool name {_shown(name)} does not follow the provider's tool name rule {pattern}",
            tool=name,
            provider=manifest.id,
        )


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"


def chosen_tool_names(tool_choice: Any) -> list[Any]:
    """Tool names a ``tool_choice`` (a mode, a name, or any provider's dict shape) selects."""
    if isinstance(tool_choice, str):
        return [] if tool_choice.lower() in CHOICE_MODES else [tool_choice]
    if not isinstance(tool_choice, dict):
        return []  # wrong types are check_params' to refuse
    function = tool_choice.get("function")
    if isinstance(function, dict) and "name" in function:  # Chat Completions
        return [function["name"]]
    if tool_choice.get("type") in ("function", "tool") and "name" in tool_choice:
        return [tool_choice["name"]]  # Responses, Anthropic
    tool = tool_choice.get("tool")
    if isinstance(tool, dict) and "name" in tool:  # Bedrock Converse
        return [tool["name"]]
    config = tool_choice.get("functionCallingConfig")
    if isinstance(config, dict):  # Gemini
        allowed = config.get("allowedFunctionNames") or []
        return list(allowed) if isinstance(allowed, (list, tuple)) else [allowed]
    return []


def schema_problem(schema: Any) -> str:
    """What is wrong with a tool's ``parameters`` ("" when nothing), cached per schema."""
    if not isinstance(schema, dict):
        return f"parameters must be a JSON Schema dict, not {type(schema).__name__}"
    try:
        key = repr(schema)  # cheap, and distinguishes 1, 1.0, True and "1"
    except RecursionError:
        return "parameters is nested too deeply"
    problem = _schema_problems.get(key)
    if problem is None:
        problem = _json_problem(schema) or _find_schema_problem(schema)
        if len(_schema_problems) >= _CACHE_LIMIT:
            _schema_problems.clear()
        _schema_problems[key] = problem
    return problem


def _json_problem(schema: dict[str, Any]) -> str:
    try:
        json.dumps(schema, allow_nan=False)
    except RecursionError:
        return "parameters is nested too deeply"
    except (TypeError, ValueError) as exc:
        return f"parameters is not JSON-serialisable: {exc}"
    return ""


def _find_schema_problem(schema: dict[str, Any]) -> str:
    from jsonschema import exceptions, validators  # lazy: only requests with tools need it

    validator = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        validator.check_schema(schema)
    except RecursionError:
        return "parameters is nested too deeply"
    except exceptions.SchemaError as err:
        message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
        return f"parameters is not a valid JSON Schema at {err.json_path}: {message}"
    if schema.get("type") != "object":
        found = f"type {_shown(schema['type'])}" if "type" in schema else "no 'type'"
        return (
            "parameters must be an object schema ({'type': 'object', 'properties': {...}}) "
            f"as providers require, not one with {found}"
        )
    return ""
