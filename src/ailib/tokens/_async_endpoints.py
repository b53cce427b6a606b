"""The provider's own token counting and model listing, over an engine (async).

``_sync_endpoints.py`` is generated from this file by ``python -m codegen`` (unasync).
The endpoints come from the manifest's ``services`` (see :mod:`ailib.tokens.services`).

Example::

    count = await acount_tokens(engine, "claude-sonnet-4-5", [Message.user("Hello")])
    models = await alist_models(engine)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ailib.dialects import ChatRequest
from ailib.runtime.input_check import coerce_messages, coerce_tools
from ailib.tokens.counter import TokenCounter
from ailib.tokens.services import (
    MAX_PAGES,
    ModelInfo,
    TokenCount,
    count_tokens_service,
    list_models_service,
    no_service,
)

if TYPE_CHECKING:
    from ailib.runtime._async_engine import AsyncEngine
    from ailib.types.messages import Message
    from ailib.types.tools import ToolDefinition


async def acount_tokens(
    engine: AsyncEngine,
    model: str,
    messages: Sequence[Message | dict[str, Any]],
    *,
    tools: Sequence[ToolDefinition | dict[str, Any]] | None = None,
) -> TokenCount:
    """Input tokens of a request, counted by the provider's endpoint when it has one.

    The request is encoded as the chat call would be (same dialect, same checks), then
    shaped for the manifest's ``services.count_tokens``. Providers without the endpoint
    count locally with :class:`TokenCounter` (``source`` "tiktoken" or "estimate").
    """
    msgs = coerce_messages(messages)
    tool_list = coerce_tools(tools)
    service = count_tokens_service(engine.spec.manifest)
    if service is None:
        counter = TokenCounter.for_model(model)
        count = counter.count_messages(msgs, tools=tool_list)
        source = "tiktoken" if counter.is_exact else "estimate"
        return TokenCount(count, model, source)
    prepared = engine.prepare(ChatRequest(model, msgs, tools=tool_list))
    payload = service.body(prepared.payload, model)
    body, headers = await engine.post_json(service.path, payload, model=model)
    tokens = service.tokens(body)
    if tokens is None:
        raise engine._unrecognised(body, headers, "no input token count")
    return TokenCount(tokens, model, "provider", engine._request_id(headers), body)


async def alist_models(engine: AsyncEngine) -> list[ModelInfo]:
    """The models the provider lists (every page followed, at most ``MAX_PAGES``).

    CapabilityError (E1005) when the manifest declares no ``services.list_models``.
    """
    service = list_models_service(engine.spec.manifest)
    if service is None:
        raise no_service(engine.spec.id, "list_models")
    query = dict(service.query)
    found: list[ModelInfo] = []
    for _ in range(MAX_PAGES):
        body, headers = await engine.get_json(service.path, query=query)
        if not service.listed(body):
            raise engine._unrecognised(body, headers, "no model list")
        found.extend(service.models(body))
        following = service.next_query(body)
        if following is None:
            break
        query = following
    return found
