"""The provider's own token counting and model listing, over an engine (async).

``_sync_endpoints.py`` is generated from this file by ``python -m codegen`` (unasync).
The endpoints come from the manifest's ``services`` (see :mod:`ailib.tokens.services`).
Given a client's ``pipeline``, each HTTP call goes through it (operation ``"post"`` or
``"get"``, ``ctx.metadata["endpoint"]`` naming the endpoint) so its retry, breaker, rate
limiter, in-flight cap, telemetry and plugins apply; without one, through the engine's.

Example::

    count = await acount_tokens(engine, "claude-sonnet-4-5", [Message.user("Hello")])
    models = await alist_models(engine, pipeline=client.pipeline)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import attrs

from ailib.dialects import ChatRequest
from ailib.runtime.context import ENDPOINT, CallContext, Target
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
    from ailib.runtime._async_pipeline import AsyncPipeline
    from ailib.types.messages import Message
    from ailib.types.tools import ToolDefinition


async def acount_tokens(
    engine: AsyncEngine,
    model: str,
    messages: Sequence[Message | dict[str, Any]],
    *,
    tools: Sequence[ToolDefinition | dict[str, Any]] | None = None,
    pipeline: AsyncPipeline | None = None,
) -> TokenCount:
    """Input tokens of a request, counted by the provider's endpoint when it has one.

    The request is encoded as the chat call would be (same dialect, same checks), then
    shaped for the manifest's ``services.count_tokens``. Providers without the endpoint
    count locally with :class:`TokenCounter` (``source`` "tiktoken" or "estimate").
    ``pipeline``: a client's, to send the count through its layers (see the module).
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
    # no payload in the context: counting spends no tokens of the rate limiter's budget
    body, headers = await send_json(
        engine, "post", service.path, model, pipeline, "count_tokens", payload, charge=False
    )
    tokens = service.tokens(body)
    if tokens is None:
        raise engine._unrecognised(body, headers, "no input token count")
    return TokenCount(tokens, model, "provider", engine._request_id(headers), body)


async def alist_models(
    engine: AsyncEngine, *, model: str = "", pipeline: AsyncPipeline | None = None
) -> list[ModelInfo]:
    """The models the provider lists (every page followed, at most ``MAX_PAGES``).

    CapabilityError (E1005) when the manifest declares no ``services.list_models``.
    ``pipeline``: a client's, to send each page's GET through its layers (``model``
    names the target they see: the client's model).
    """
    service = list_models_service(engine.spec.manifest)
    if service is None:
        raise no_service(engine.spec.id, "list_models")
    query = dict(service.query)
    found: list[ModelInfo] = []
    for _ in range(MAX_PAGES):
        body, headers = await send_json(
            engine, "get", service.path, model, pipeline, "list_models", query=query
        )
        if not service.listed(body):
            raise engine._unrecognised(body, headers, "no model list")
        found.extend(service.models(body))
        following = service.next_query(body)
        if following is None:
            break
        query = following
    return found


async def send_json(
    engine: AsyncEngine,
    operation: str,
    path: str,
    model: str,
    pipeline: AsyncPipeline | None,
    endpoint: str,
    payload: dict[str, Any] | None = None,
    *,
    query: dict[str, Any] | None = None,
    charge: bool = True,
) -> tuple[Any, Any]:
    """One JSON ``"post"`` or ``"get"`` to the provider's ``path``: ``(body, headers)``.

    Through ``pipeline`` (a client's) when given, as a :class:`CallContext` whose
    ``metadata["endpoint"]`` is ``endpoint`` (``"embeddings"``, ``"count_tokens"``...);
    ``charge=False`` leaves the payload out of the context (the rate limiter then counts
    no tokens for it). Without a pipeline, the engine's own (``post_json``/``get_json``)::

        body, headers = await send_json(engine, "post", "/embeddings", m, client.pipeline,
                                        "embeddings", {"model": m, "input": ["Hi"]})
    """
    if pipeline is None:
        if operation == "get":
            return await engine.get_json(path, query=query)
        return await engine.post_json(path, payload or {}, model=model)
    prepared = engine.prepare_post(path, payload if operation == "post" else None, model)
    if query:
        sep = "&" if "?" in prepared.url else "?"
        prepared = attrs.evolve(prepared, url=prepared.url + sep + urlencode(query))
    ctx = CallContext(
        operation, Target(engine, model), payload=payload if charge else None, path=path
    )
    ctx.metadata[ENDPOINT] = endpoint
    ctx.set_prepared(prepared)
    result: tuple[Any, Any] = await pipeline.run(ctx)
    return result
