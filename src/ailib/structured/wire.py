"""Structured output on each provider's wire, as its manifest declares it.

A request asks for JSON with an OpenAI-shaped ``response_format`` parameter
(``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`` or
``{"type": "json_object"}``). Before the dialect encodes it, :func:`fit_structured_output`
turns it into what the provider takes, per the manifest's ``structured_output`` section:

* ``mode: json_schema`` — the dialect carries the schema natively (OpenAI
  ``response_format``, Responses ``text.format``, Gemini ``responseJsonSchema``, Cohere
  ``response_format.json_schema``, Ollama ``format``); ``strict: true`` sends OpenAI's
  strict flag when the schema has the strict form; ``inline_refs: true`` resolves
  ``$ref`` first.
* ``mode: json_object`` — only a JSON mode: ``{"type": "json_object"}`` and the schema in
  the system prompt.
* ``mode: tool`` — no JSON mode: a tool whose parameters are the schema, and a tool
  choice forcing it (Anthropic, Bedrock); with reasoning on (which refuses a forced
  tool) the choice stays ``auto`` and the system prompt asks for the call.

Example::

    req = fit_structured_output(spec.manifest, req)  # runtime/request.py, before encoding
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from ailib.errors import ParameterError, ToolDefinitionError

if TYPE_CHECKING:
    from ailib.dialects import ChatRequest
    from ailib.protocol.manifest import Manifest

__all__ = ["WIRE_MODES", "fit_structured_output", "structured_hints"]

WIRE_MODES = ("json_schema", "json_object", "tool")
_TOOL_DESCRIPTION = "Give your answer by calling this tool once, with the answer as its input."


def structured_hints(manifest: Manifest) -> dict[str, Any]:
    """The manifest's ``structured_output`` section (``mode`` defaults to json_schema)."""
    hints = manifest.data.get("structured_output")
    out: dict[str, Any] = {"mode": "json_schema", "strict": False, "inline_refs": False}
    if isinstance(hints, dict):
        out.update({k: v for k, v in hints.items() if v is not None})
    return out


def fit_structured_output(manifest: Manifest, req: ChatRequest) -> ChatRequest:
    """``req`` with its ``response_format`` in the form the provider takes (see above)."""
    fmt = req.params.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") not in ("json_schema", "json_object"):
        return req
    hints = structured_hints(manifest)
    mode = hints["mode"]
    name, schema, strict = _read(fmt)
    if schema is not None and hints.get("inline_refs"):
        from ailib.structured.schema import inline_refs

        schema = inline_refs(schema)
    if mode == "json_object":
        params = {**req.params, "response_format": {"type": "json_object"}}
        if fmt.get("type") != "json_schema" or schema is None:
            return attrs.evolve(req, params=params)
        from ailib.structured.json_mode import schema_instruction, with_instruction

        messages = with_instruction(req.messages, schema_instruction(schema))
        return attrs.evolve(req, params=params, messages=messages)
    if mode == "tool":
        return _forced_tool(req, name, schema, fmt)
    if fmt.get("type") == "json_schema" and schema is not None:
        inner = dict(fmt.get("json_schema") or {})
        if "schema" in inner:
            inner["schema"] = schema
        if strict is None and hints.get("strict"):
            from ailib.structured.schema import can_be_strict

            if can_be_strict(schema):
                inner["strict"] = True
        new = {**fmt, "json_schema": inner} if "schema" in inner else {**fmt, "schema": schema}
        return attrs.evolve(req, params={**req.params, "response_format": new})
    return req


def _read(fmt: dict[str, Any]) -> tuple[str, dict[str, Any] | None, bool | None]:
    """(name, schema, strict) of an OpenAI-shaped response_format."""
    inner = fmt.get("json_schema")
    inner = inner if isinstance(inner, dict) else {}
    schema = inner.get("schema") or fmt.get("schema")
    if fmt.get("type") == "json_object" and not schema and inner:
        schema = inner  # Cohere's shape: json_schema is the schema itself
    name = inner.get("name") if isinstance(inner.get("name"), str) else None
    strict = inner.get("strict") if isinstance(inner.get("strict"), bool) else None
    return name or "json", schema if isinstance(schema, dict) else None, strict


def _forced_tool(
    req: ChatRequest, name: str, schema: dict[str, Any] | None, fmt: dict[str, Any]
) -> ChatRequest:
    from ailib.dialects import wants_reasoning
    from ailib.types.tools import ToolDefinition

    params = {k: v for k, v in req.params.items() if k != "response_format"}
    if "tool_choice" in params:
        raise ParameterError(
            "structured output goes through a forced tool on this provider, so it cannot be "
            f"combined with tool_choice={params['tool_choice']!r}; leave tool_choice out",
            code="E1001",
        )
    if any(tool.name == name for tool in req.tools):
        raise ToolDefinitionError(
            f"a tool is named {name!r} like the structured output's schema; pass "
            "response_format(..., name='...') with another name",
            tool=name,
        )
    parameters = schema if schema is not None else {"type": "object"}
    if parameters.get("type") != "object":  # tools take objects: wrap the value
        raise ParameterError(
            "this provider answers structured output through a tool, whose input must be a "
            "JSON object; wrap the value in an object schema (or use mode='prompt')",
            code="E1001",
        )
    inner = fmt.get("json_schema")
    description = inner.get("description") if isinstance(inner, dict) else None
    text = f"{_TOOL_DESCRIPTION} {description}" if isinstance(description, str) else None
    tool = ToolDefinition(name, text or _TOOL_DESCRIPTION, parameters)
    messages = req.messages
    if wants_reasoning(params) or req.tools:
        # thinking refuses a forced tool, and the caller's own tools stay callable: the
        # choice stays open and the system prompt asks for the answer through the tool
        from ailib.structured.json_mode import with_instruction

        ask = f"When you give your final answer, give it by calling the {name} tool."
        messages = with_instruction(req.messages, ask)
    else:
        params["tool_choice"] = name
    return attrs.evolve(req, params=params, tools=[*req.tools, tool], messages=messages)
