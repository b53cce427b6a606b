"""Where the examples send their requests: the real provider, or the local mock server.

Each example calls ``provider_or_mock("openai")`` (naming the providers it uses, first the
one whose key decides) before it creates a client:

* with the first provider's key in the environment (``OPENAI_API_KEY``...) nothing
  changes: the example talks to the real provider;
* without it, the loopback mock server (``ailib.testing.MockServer``) starts in this
  process, a manifest overlay on ``AI_PROTOCOL_PATH`` points each named provider at it
  (the README's own override mechanism), a dummy key is set, and the first line printed
  says so. The example's code stays exactly what a user would write.

The mock echoes the last user message (``echo: ...``), answers JSON that fits a requested
schema, calls the first offered tool, after a tool result reports what the tool said, and
answers a model named ``...does-not-exist...`` with the provider's real 404 error.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import tempfile
from typing import Any

from ailib.testing import MockServer, Scenario

__all__ = ["base_url", "provider_or_mock"]

#: the environment variables each provider's manifest reads its key from
KEY_ENV = {
    "openai": ("OPENAI_API_KEY",),
    "openai-responses": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
}
_server: MockServer | None = None


def provider_or_mock(*providers: str) -> str | None:
    """Use the real providers when the first one's key is set, else the mock; returns its URL."""
    global _server
    first = providers[0] if providers else "openai"
    names = KEY_ENV.get(first, (f"{first.upper().replace('-', '_')}_API_KEY",))
    if any(os.environ.get(name) for name in names):
        print(f"{names[0]} is set: talking to {first}")
        return None
    if _server is None:
        _server = MockServer().start()
        _server.set_default(_demo_answer)
        atexit.register(_server.stop)
    overlay = tempfile.mkdtemp(prefix="ailib-examples-")
    atexit.register(shutil.rmtree, overlay, True)
    for provider in providers or (first,):
        url = _server.base_url(provider)
        with open(os.path.join(overlay, f"{provider}.yaml"), "w", encoding="utf-8") as file:
            file.write(f"endpoint:\n  base_url: {url}\n")
        for name in KEY_ENV.get(provider, ()):
            os.environ[name] = "mock-key"
    previous = os.environ.get("AI_PROTOCOL_PATH")
    os.environ["AI_PROTOCOL_PATH"] = os.pathsep.join(filter(None, [overlay, previous]))
    # the overlay moves built-in providers to 127.0.0.1, which ailib rightly warns about
    logging.getLogger("ailib.protocol").setLevel(logging.ERROR)
    print(f"no {names[0]}: using the local mock server at {_server.url}", flush=True)
    return _server.url


def base_url(provider: str) -> str | None:
    """The mock's base URL for ``provider`` when mocking, else None (the provider's own).

    For code that does not read the manifest search path, such as the typed provider
    classes (``OpenAI(base_url=...)``), which are compiled from the built-in manifests.
    """
    if _server is None:
        return None
    return _server.base_url(provider)


def _demo_answer(body: dict[str, Any]) -> Scenario:
    """The mock's answer when nothing was queued: a tool call, a tool's report, or echo."""
    if "does-not-exist" in str(body.get("model", "")):
        return Scenario(status=404)
    result = _tool_result(body)
    if result is not None:
        return Scenario(text=f"The tool says: {result}")
    tool = _first_tool(body)
    if tool is not None:
        name, schema = tool
        return Scenario(tool_calls=[(name, _arguments(schema, _user_words(body)))])
    return Scenario()


def _first_tool(body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if tool.get("functionDeclarations"):  # Gemini
            decl = tool["functionDeclarations"][0]
            return decl["name"], decl.get("parameters") or decl.get("parametersJsonSchema") or {}
        fn = tool.get("function", tool)  # OpenAI Chat, or Anthropic / Responses
        if "name" in fn:
            return fn["name"], fn.get("parameters") or fn.get("input_schema") or {}
    return None


def _tool_result(body: dict[str, Any]) -> str | None:
    turns = body.get("messages") or body.get("contents") or body.get("input") or []
    if not isinstance(turns, list) or not turns or not isinstance(turns[-1], dict):
        return None
    last = turns[-1]
    if last.get("role") == "tool" or last.get("type") == "function_call_output":
        return str(last.get("content", last.get("output")))
    for part in last.get("content") or last.get("parts") or []:
        if isinstance(part, dict) and part.get("type") == "tool_result":
            return str(part.get("content"))
        if isinstance(part, dict) and "functionResponse" in part:
            return str(part["functionResponse"].get("response"))
    return None


def _user_words(body: dict[str, Any]) -> list[str]:
    text = re.findall(r"[A-Z][a-z]+", str(body.get("messages") or body.get("contents") or ""))
    return [word for word in text if word not in {"What", "How", "Get", "The"}]


def _arguments(schema: dict[str, Any], words: list[str]) -> dict[str, Any]:
    """Arguments fitting a JSON schema; strings take a capitalized word of the question."""
    args: dict[str, Any] = {}
    properties = schema.get("properties") or {}
    for name in schema.get("required") or list(properties)[:1]:
        spec = properties.get(name, {})
        kind = spec.get("type", "string")
        if "enum" in spec:
            args[name] = spec["enum"][0]
        elif kind == "string":
            args[name] = words[-1] if words else "example"
        elif kind in ("number", "integer"):
            args[name] = 1
        elif kind == "boolean":
            args[name] = True
        else:
            args[name] = [] if kind == "array" else {}
    return args
