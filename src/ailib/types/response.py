"""Responses: token usage and the unified chat response."""

from __future__ import annotations

from typing import Any

import attrs

from ailib.types.messages import ContentBlock, Message, MessageRole
from ailib.types.tools import ToolCall


@attrs.frozen
class Usage:
    """Token usage, normalized across providers.

    ``input_tokens`` includes cached and cache-creation tokens and ``output_tokens``
    includes reasoning tokens on every provider (Anthropic and Gemini report those apart;
    ailib adds them back), so ``total_tokens == input_tokens + output_tokens``.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens

    @property
    def completion_tokens(self) -> int:
        return self.output_tokens


@attrs.frozen
class Candidate:
    """One of several alternative answers (``n`` > 1)."""

    index: int
    content: str
    tool_calls: list[ToolCall]
    finish_reason: str | None
    reasoning: str | None = None
    refusal: str | None = None


@attrs.frozen
class ChatResponse:
    """The unified answer of a chat call, streamed or not.

    Example::

        resp = client.chat().user("Hello").execute()
        print(resp.content, resp.usage.total_tokens, resp.finish_reason)
        history.append(resp.to_message())
    """

    content: str
    tool_calls: list[ToolCall] = attrs.field(factory=list)
    finish_reason: str | None = None
    usage: Usage = attrs.field(factory=Usage)
    request_id: str | None = None
    raw: Any = attrs.field(default=None, repr=False, eq=False)
    model: str | None = None
    id: str | None = None
    reasoning: str | None = None
    refusal: str | None = None
    raw_finish_reason: str | None = None
    candidates: list[Candidate] = attrs.field(factory=list, repr=False)
    # Thinking blocks (with provider signatures) that must be replayed in multi-turn use.
    thinking_blocks: list[ContentBlock] = attrs.field(factory=list, repr=False)
    # ``provider/model`` of the target that answered (differs from the asked one after a
    # fallback); set by the pipeline.
    served_by: str | None = attrs.field(default=None, eq=False)

    @property
    def has_tool_calls(self) -> bool:
        return bool(self.tool_calls)

    def to_message(self) -> Message:
        """The assistant message to append to the history for the next turn."""
        blocks = list(self.thinking_blocks)
        if blocks:
            if self.content:
                blocks.append(ContentBlock.text(self.content))
            return Message(MessageRole.ASSISTANT, blocks, list(self.tool_calls))
        return Message(MessageRole.ASSISTANT, self.content, list(self.tool_calls))
