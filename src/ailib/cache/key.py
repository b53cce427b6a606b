"""Cache keys: one canonical hash per request that would get the same answer.

The key covers what changes the answer: the provider and its base URL, the model, the
messages, the tools, the parameters and any raw ``extra_body`` fields. It leaves out
what does not: the stream flag, request ids, user ids and other volatile fields
(:data:`VOLATILE_PARAMS`). The same request built in different ways gets the same key:
``.user("hi")`` or ``{"role": "user", "content": "hi"}``, parameters in any order,
``temperature=1`` or ``1.0``, a one-block text list or the plain text.

Example::

    keys = CacheKeyGenerator()
    keys.generate(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    # '5d41...' (64 hex digits, sha256 of the canonical JSON)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ailib.dialects import ChatRequest
    from ailib.types.messages import ContentBlock, Message
    from ailib.types.tools import ToolCall, ToolDefinition

#: request parameters that never change the answer; left out of every key
VOLATILE_PARAMS = frozenset(
    {
        "stream",
        "stream_options",
        "user",
        "metadata",
        "store",
        "request_id",
        "idempotency_key",
        "timeout",
    }
)

#: bumped when the canonical form changes, so old entries stop matching
KEY_VERSION = "ailib.cache.key/1"


class UncacheableRequest(TypeError):
    """The request holds a value with no stable canonical form (an arbitrary object)."""


class CacheKeyGenerator:
    """Deterministic keys for chat requests (sha256 of a canonical JSON document).

    Example::

        keys = CacheKeyGenerator(ignored_params=VOLATILE_PARAMS | {"seed"})
        key = keys.generate(model="gpt-4o", messages=messages, temperature=0)
    """

    def __init__(self, ignored_params: Iterable[str] = VOLATILE_PARAMS) -> None:
        if isinstance(ignored_params, str):
            from ailib.errors import ConfigurationError

            raise ConfigurationError("ignored_params must be a collection of parameter names")
        self.ignored_params = frozenset(ignored_params)

    def generate(
        self,
        model: str,
        messages: Iterable[Message | Mapping[str, Any]],
        *,
        tools: Iterable[ToolDefinition | Mapping[str, Any]] | None = None,
        provider: str | None = None,
        base_url: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> str:
        """The key of a request given by its parts (messages and tools may be dicts)."""
        from ailib.runtime.input_check import coerce_messages, coerce_tools

        document = self.canonical(
            model=model,
            messages=coerce_messages(list(messages)),
            tools=coerce_tools(list(tools)) if tools is not None else [],
            params=params,
            extra_body=extra_body or {},
            provider=provider,
            base_url=base_url,
        )
        return digest(document)

    def for_request(self, request: ChatRequest, *, provider: str, base_url: str, model: str) -> str:
        """The key of a built request sent to ``provider`` at ``base_url`` (the pipeline's)."""
        return digest(
            self.canonical(
                model=model,
                messages=request.messages,
                tools=request.tools,
                params=request.params,
                extra_body=request.extra_body,
                provider=provider,
                base_url=base_url,
            )
        )

    def canonical(
        self,
        *,
        model: str,
        messages: Iterable[Message],
        tools: Iterable[ToolDefinition],
        params: Mapping[str, Any],
        extra_body: Mapping[str, Any],
        provider: str | None,
        base_url: str | None,
    ) -> dict[str, Any]:
        """The document a key hashes (useful to see why two requests differ)."""
        return {
            "v": KEY_VERSION,
            "provider": provider,
            "base_url": base_url.rstrip("/") if base_url else base_url,
            "model": model,
            "messages": [_message(m) for m in messages],
            "tools": [_tool(t) for t in tools],
            "params": {
                str(k): _plain(v) for k, v in params.items() if k not in self.ignored_params
            },
            "extra_body": {
                str(k): _plain(v) for k, v in extra_body.items() if k not in self.ignored_params
            },
        }


def digest(document: Mapping[str, Any]) -> str:
    """sha256 (hex) of the document's canonical JSON text (sorted keys, no spaces)."""
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _message(message: Message) -> dict[str, Any]:
    content: Any = message.content
    if not isinstance(content, str):
        blocks = [_block(b) for b in content]
        # one text block says the same as the text itself
        only = blocks[0] if len(blocks) == 1 else {}
        if only.get("type") == "text" and only.keys() == {"type", "text_value"}:
            content = only["text_value"]
        else:
            content = blocks
    doc: dict[str, Any] = {"role": message.role.value, "content": content}
    if message.tool_calls:
        doc["tool_calls"] = [_tool_call(c) for c in message.tool_calls]
    if message.tool_call_id is not None:
        doc["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        doc["name"] = message.name
    return doc


def _block(block: ContentBlock) -> dict[str, Any]:
    return {k: v for k, v in attrs.asdict(block).items() if v is not None}


def _tool_call(call: ToolCall) -> dict[str, Any]:
    arguments = call.arguments if call.arguments is not None else call.raw_arguments
    doc: dict[str, Any] = {"id": call.id, "name": call.function_name, "arguments": arguments}
    if call.extra:
        doc["extra"] = _plain(call.extra)
    return doc


def _tool(tool: ToolDefinition) -> dict[str, Any]:
    return {
        "name": tool.name,
        "description": tool.description,
        "parameters": _plain(tool.parameters),
        "strict": tool.strict,
    }


def _plain(value: Any) -> Any:
    """``value`` as plain JSON with one spelling per meaning (``1.0`` is ``1``)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise UncacheableRequest(f"a parameter holds {value!r}, which has no JSON form")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, type):  # a schema class (structured output): its name and fields
        return {"type": f"{value.__module__}.{value.__qualname__}", "fields": _fields(value)}
    raise UncacheableRequest(
        f"a request value of type {type(value).__name__} has no canonical form for a cache key"
    )


def _fields(cls: type) -> list[list[str]]:
    hints = getattr(cls, "__annotations__", {})
    return [[str(name), str(hint)] for name, hint in sorted(hints.items())]
