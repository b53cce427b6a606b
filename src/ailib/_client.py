"""AiClient (sync) and AsyncAiClient: the public entry points.

Example::

    with AiClient.create("openai/gpt-4o") as client:
        print(client.chat().user("Hello").execute().content)
"""

from ailib.runtime._async_client import AsyncAiClient, AsyncChatBuilder
from ailib.runtime._async_stream import AsyncChatStream
from ailib.runtime._sync_client import AiClient, ChatBuilder
from ailib.runtime._sync_stream import ChatStream

__all__ = [
    "AiClient",
    "AsyncAiClient",
    "AsyncChatBuilder",
    "AsyncChatStream",
    "ChatBuilder",
    "ChatStream",
]
