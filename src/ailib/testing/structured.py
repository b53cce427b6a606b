"""Structured-output answers of the mock server, in every dialect.

A request that asks for JSON (OpenAI ``response_format``, Responses ``text.format``,
Gemini ``responseMimeType``/``responseJsonSchema``, Cohere ``response_format``, Ollama
``format``, or an Anthropic/Bedrock tool choice forcing one tool) is answered the way the
real API would:

* the echo scenario (``Scenario()``) answers with JSON that fits the schema: string
  fields hold the echoed user text, numbers are 1, arrays hold one item;
* a scripted ``Scenario(text='{"city": "Paris"}')`` sent to a forced tool becomes that
  tool's call with the text as its arguments (text that is not JSON is sent verbatim);
* ``Scenario(refusal=...)`` and scripted tool calls are left alone.

Example::

    server.push(Scenario(text='{"city": "Paris", "temperature_c": 21}'))  # any dialect
    server.push(Scenario())  # JSON built from the request's schema
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from ailib.testing.scenario import Call, RawArguments, Scenario

__all__ = ["refusal_scenario", "requested_json", "sample_for", "structured_scenario"]

_MAX_DEPTH = 8


@attrs.frozen
class JsonRequest:
    """What a request asked for: a JSON schema (or any JSON) and a forced tool's name."""

    schema: dict[str, Any] | None
    tool: str | None = None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


#: what ailib's prompt instruction puts before the schema (prompt and JSON-only modes)
PROMPT_MARKER = "conform to this JSON Schema:\n"


def requested_json(call: Call) -> JsonRequest | None:
    """The structured output a request asks for (None when it asks for plain text).

    A schema given in the system prompt (prompt mode, JSON-mode-only providers) counts:
    a model that follows the instruction answers with JSON fitting it.
    """
    wanted = _requested_on_the_wire(call)
    if wanted is not None and wanted.schema is None and wanted.tool is None:
        return JsonRequest(_schema_in_prompt(call.body))
    if wanted is None:
        schema = _schema_in_prompt(call.body)
        return None if schema is None else JsonRequest(schema)
    return wanted


def _schema_in_prompt(body: Any, depth: int = 0) -> dict[str, Any] | None:
    """The JSON Schema after :data:`PROMPT_MARKER` in any text of the request body."""
    if depth > 6:
        return None
    if isinstance(body, str):
        at = body.find(PROMPT_MARKER)
        if at < 0:
            return None
        try:
            value, _ = json.JSONDecoder().raw_decode(body, at + len(PROMPT_MARKER))
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
    items = body.values() if isinstance(body, dict) else body if isinstance(body, list) else []
    for item in items:
        found = _schema_in_prompt(item, depth + 1)
        if found is not None:
            return found
    return None


def _requested_on_the_wire(call: Call) -> JsonRequest | None:
    body = call.body
    dialect = call.dialect
    if dialect in ("anthropic", "bedrock"):
        return _forced_tool(dialect, body)
    if dialect in ("responses", "deepseek-responses"):
        fmt = _dict(_dict(body.get("text")).get("format"))
        if fmt.get("type") in ("json_schema", "json_object"):
            return JsonRequest(_schema(fmt.get("schema")))
        return None
    if dialect == "gemini":
        config = _dict(body.get("generationConfig"))
        if config.get("responseMimeType") != "application/json":
            return None
        return JsonRequest(
            _schema(config.get("responseJsonSchema") or config.get("responseSchema"))
        )
    if dialect == "ollama":
        wanted = body.get("format")
        if wanted == "json" or isinstance(wanted, dict):
            return JsonRequest(_schema(wanted))
        return None
    fmt = _dict(body.get("response_format"))
    kind = fmt.get("type")
    if kind == "json_schema":
        return JsonRequest(_schema(_dict(fmt.get("json_schema")).get("schema")))
    if kind == "json_object":  # Cohere: json_schema is the schema itself
        return JsonRequest(_schema(fmt.get("json_schema") or fmt.get("schema")))
    return None


def _schema(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _forced_tool(dialect: str, body: dict[str, Any]) -> JsonRequest | None:
    if dialect == "anthropic":
        choice = _dict(body.get("tool_choice"))
        name = choice.get("name") if choice.get("type") == "tool" else None
        tools = {t.get("name"): t.get("input_schema") for t in body.get("tools") or [] if t}
    else:
        choice = _dict(_dict(body.get("toolConfig")).get("toolChoice"))
        name = _dict(choice.get("tool")).get("name")
        specs = [
            _dict(_dict(t).get("toolSpec"))
            for t in _dict(body.get("toolConfig")).get("tools") or []
        ]
        tools = {s.get("name"): _dict(s.get("inputSchema")).get("json") for s in specs}
    if not isinstance(name, str) or name not in tools:
        return None
    return JsonRequest(_schema(tools[name]), tool=name)


def structured_scenario(call: Call, scenario: Scenario, user_text: str) -> Scenario:
    """``scenario`` as the answer to a structured-output request (see the module doc)."""
    if scenario.tool_calls or scenario.refusal is not None or scenario.status >= 400:
        return scenario
    wanted = requested_json(call)
    if wanted is None:
        return scenario
    text = scenario.text
    if text is None:
        text = json.dumps(sample_for(wanted.schema, user_text), ensure_ascii=False)
    if wanted.tool is not None and scenario.finish_reason is None:
        return attrs.evolve(scenario, text=None, tool_calls=[(wanted.tool, RawArguments(text))])
    return attrs.evolve(scenario, text=text)


def sample_for(schema: dict[str, Any] | None, text: str) -> Any:
    """A JSON value that fits ``schema`` (strings are ``text``); ``{}`` for any JSON."""
    if schema is None:
        return {"echo": text}
    defs = _dict(schema.get("$defs")) or _dict(schema.get("definitions"))
    return _sample(schema, text, defs, 0)


def _sample(schema: Any, text: str, defs: dict[str, Any], depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _sample(defs.get(ref.split("/")[-1]), text, defs, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            typed = [o for o in options if _dict(o).get("type") != "null"] or options
            return _sample(typed[0], text, defs, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = _dict(schema.get("properties"))
        return {name: _sample(sub, text, defs, depth + 1) for name, sub in props.items()}
    if kind == "array":
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list):
            return [_sample(s, text, defs, depth + 1) for s in prefix]
        return [_sample(schema.get("items", {}), text, defs, depth + 1)]
    return _scalar(kind, schema, text)


def _scalar(kind: Any, schema: dict[str, Any], text: str) -> Any:
    if kind == "string":
        formats = {"date-time": "2026-01-01T00:00:00", "date": "2026-01-01", "time": "00:00:00",
                   "uuid": "00000000-0000-4000-8000-000000000000"}  # fmt: skip
        return formats.get(str(schema.get("format")), text)
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return max(1.5, float(schema.get("minimum", 1.5)))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text


#: how each dialect says "refused" where it has no refusal text field
_REFUSAL_STOPS = {"anthropic": "refusal", "gemini": "SAFETY", "bedrock": "content_filtered"}


def refusal_scenario(call: Call, scenario: Scenario) -> Scenario:
    """``Scenario(refusal=...)`` in a dialect without a refusal field: the refusal text
    as the answer with the dialect's refusal stop (Gemini's SAFETY stop has no text)."""
    if scenario.refusal is None or call.dialect in ("openai", "responses", "deepseek-responses"):
        return scenario
    stop = _REFUSAL_STOPS.get(call.dialect)
    text = "" if call.dialect == "gemini" else scenario.refusal
    return attrs.evolve(scenario, text=text, finish_reason=scenario.finish_reason or stop)
