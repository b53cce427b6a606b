"""Clients and stream cancellation under one import (the layout of the seed's ``client``).

Example::

    from ailib.client import AsyncAiClient, CancellableStream, CancelReason, create_cancel_pair

    client = await AsyncAiClient.create("openai/gpt-4o")
    token, handle = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("Write a long story...").stream(), token)
    # in another task or thread: handle.cancel(CancelReason.USER_REQUEST)
    async for event in cancellable:
        ...

Names load lazily: ``import ailib.client`` imports neither httpx nor asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    # sync names never import asyncio; async names never import the sync twin
    "AiClient": "ailib.runtime._sync_client",
    "AsyncAiClient": "ailib.runtime._async_client",
    "ChatBuilder": "ailib.runtime._sync_client",
    "AsyncChatBuilder": "ailib.runtime._async_client",
    "ChatStream": "ailib.runtime._sync_stream",
    "AsyncChatStream": "ailib.runtime._async_stream",
    "CancelReason": "ailib.resilience.cancel",
    "CancelToken": "ailib.resilience.cancel",
    "CancelHandle": "ailib.resilience.cancel",
    "CancellableStream": "ailib.resilience.cancel",
    "create_cancel_pair": "ailib.resilience.cancel",
    "CancelledError": "ailib.errors",
}

if TYPE_CHECKING:
    from ailib._client import (
        AiClient,
        AsyncAiClient,
        AsyncChatBuilder,
        AsyncChatStream,
        ChatBuilder,
        ChatStream,
    )
    from ailib.errors import CancelledError
    from ailib.resilience.cancel import (
        CancelHandle,
        CancellableStream,
        CancelReason,
        CancelToken,
        create_cancel_pair,
    )

__all__ = [
    "AiClient",
    "AsyncAiClient",
    "AsyncChatBuilder",
    "AsyncChatStream",
    "CancelHandle",
    "CancelReason",
    "CancelToken",
    "CancellableStream",
    "CancelledError",
    "ChatBuilder",
    "ChatStream",
    "create_cancel_pair",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ailib.client' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
