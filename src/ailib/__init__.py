"""ailib: one typed client for every LLM provider, compiled from AI-Protocol manifests.

Example::

    from ailib import AiClient

    with AiClient.create("openai/gpt-4o") as client:
        resp = client.chat().system("Be brief.").user("Hello").execute()
        print(resp.content)

Names load lazily so ``import ailib`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    # sync names never import asyncio; async names never import the sync twin
    "AiClient": "ailib.runtime._sync_client",
    "AsyncAiClient": "ailib.runtime._async_client",
    "ChatBuilder": "ailib.runtime._sync_client",
    "AsyncChatBuilder": "ailib.runtime._async_client",
    "ChatStream": "ailib.runtime._sync_stream",
    "AsyncChatStream": "ailib.runtime._async_stream",
    "Message": "ailib.types.messages",
    "MessageRole": "ailib.types.messages",
    "ContentBlock": "ailib.types.messages",
    "ToolDefinition": "ailib.types.tools",
    "ToolCall": "ailib.types.tools",
    "ChatResponse": "ailib.types.response",
    "Usage": "ailib.types.response",
    "StreamEvent": "ailib.types.events",
    "StreamingEvent": "ailib.types.events",  # the seed's name for StreamEvent
    "AiLibError": "ailib.errors",
    "ProtocolError": "ailib.errors",
    "TransportError": "ailib.errors",
    "RemoteError": "ailib.errors",
    "ParameterError": "ailib.errors",
    "ConfigurationError": "ailib.errors",
    "InvalidRequestError": "ailib.errors",
    "ToolDefinitionError": "ailib.errors",
    "Limits": "ailib.runtime.limits",
    "InsecureTransportError": "ailib.errors",
    "CapabilityError": "ailib.errors",
    "ManifestError": "ailib.errors",
    "StreamDecodeError": "ailib.errors",
    "ResponseDecodeError": "ailib.errors",
    "StreamInterruptedError": "ailib.errors",
    "ResponseTooLargeError": "ailib.errors",
    "RedirectError": "ailib.errors",
    "CancelledError": "ailib.errors",
    "MediaError": "ailib.errors",
    "CircuitOpenError": "ailib.errors",
    "RateLimitExceededError": "ailib.errors",
    "BackpressureError": "ailib.errors",
    "StructuredOutputError": "ailib.errors",
    "AudioOutput": "ailib.types.audio",
}
#: names kept for the seed project's users: the name -> our name in its module
_ALIASES = {"StreamingEvent": "StreamEvent"}

if TYPE_CHECKING:
    from ailib._client import (
        AiClient,
        AsyncAiClient,
        AsyncChatBuilder,
        AsyncChatStream,
        ChatBuilder,
        ChatStream,
    )
    from ailib.errors import (
        AiLibError,
        BackpressureError,
        CancelledError,
        CapabilityError,
        CircuitOpenError,
        ConfigurationError,
        InsecureTransportError,
        InvalidRequestError,
        ManifestError,
        MediaError,
        ParameterError,
        ProtocolError,
        RateLimitExceededError,
        RedirectError,
        RemoteError,
        ResponseDecodeError,
        ResponseTooLargeError,
        StreamDecodeError,
        StreamInterruptedError,
        StructuredOutputError,
        ToolDefinitionError,
        TransportError,
    )
    from ailib.runtime.limits import Limits
    from ailib.types.audio import AudioOutput
    from ailib.types.events import StreamEvent
    from ailib.types.events import StreamEvent as StreamingEvent
    from ailib.types.messages import ContentBlock, Message, MessageRole
    from ailib.types.response import ChatResponse, Usage
    from ailib.types.tools import ToolCall, ToolDefinition

__all__ = [
    "AiClient",
    "AiLibError",
    "AsyncAiClient",
    "AsyncChatBuilder",
    "AsyncChatStream",
    "AudioOutput",
    "BackpressureError",
    "CancelledError",
    "CapabilityError",
    "ChatBuilder",
    "ChatResponse",
    "ChatStream",
    "CircuitOpenError",
    "ConfigurationError",
    "ContentBlock",
    "InsecureTransportError",
    "InvalidRequestError",
    "Limits",
    "ManifestError",
    "MediaError",
    "Message",
    "MessageRole",
    "ParameterError",
    "ProtocolError",
    "RateLimitExceededError",
    "RedirectError",
    "RemoteError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "StreamDecodeError",
    "StreamEvent",
    "StreamInterruptedError",
    "StreamingEvent",
    "StructuredOutputError",
    "ToolCall",
    "ToolDefinition",
    "ToolDefinitionError",
    "TransportError",
    "Usage",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ailib' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
