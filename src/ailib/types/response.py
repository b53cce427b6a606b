"""Responses: token usage and the unified chat response."""

from __future__ import annotations

from typing import Any, Generic

import attrs

from ailib.structured._typing import ParsedT
from ailib.types.audio import AudioOutput
from ailib.types.messages import ContentBlock, Message, MessageRole
from ailib.types.tools import ToolCall


@attrs.frozen
class Usage:
    """Token usage, normalized across providers.

    ``input_tokens`` includes cached and cache-creation tokens and ``output_tokens``
    includes reasoning tokens on every provider (Anthropic, Gemini and xAI report those
    apart; ailib adds them back), so ``total_tokens == input_tokens + output_tokens``.
    ``audio_input_tokens`` / ``audio_output_tokens`` are the spoken parts of the input
    and output (OpenAI audio models, Gemini), billed at their own rates.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_tokens: int = 0
    audio_input_tokens: int = 0
    audio_output_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens

    @property
    def completion_tokens(self) -> int:
        return self.output_tokens


@attrs.frozen
class Cost:
    """What a call cost, from its usage and the model's prices (in ``currency`` units).

    ``input_cost`` includes the cached-read, cache-write and audio-input parts,
    ``output_cost`` the reasoning and audio-output parts; each part is billed at its own
    rate. ``float(cost)`` and format specs use ``total_cost``.

    Example::

        resp = client.chat().user("Hello").execute()
        if resp.cost is not None:  # None: the model has no price in its manifest
            print(f"${resp.cost:.6f}", resp.cost.input_cost, resp.cost.output_cost)
    """

    input_cost: float = 0.0
    output_cost: float = 0.0
    cached_input_cost: float = 0.0
    cache_write_cost: float = 0.0
    reasoning_cost: float = 0.0
    currency: str = "USD"
    audio_input_cost: float = 0.0
    audio_output_cost: float = 0.0

    @property
    def total_cost(self) -> float:
        return self.input_cost + self.output_cost

    def __float__(self) -> float:
        return self.total_cost

    def __format__(self, spec: str) -> str:
        return format(self.total_cost, spec) if spec else str(self)


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
class ChatResponse(Generic[ParsedT]):
    """The unified answer of a chat call, streamed or not.

    With ``.response_format(Weather)`` it is a ``ChatResponse[Weather]`` whose ``parsed``
    is the validated ``Weather`` (None when the model refused: see ``refusal``).

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
    # A spoken answer (modalities with "audio"): decoded bytes, format, transcript, id.
    audio: AudioOutput | None = None
    # From usage and the manifest's prices (ailib.tokens.attach_cost); None when unpriced.
    cost: Cost | None = None
    # ``provider/model`` of the target that answered (differs from the asked one after a
    # fallback); set by the pipeline.
    served_by: str | None = attrs.field(default=None, eq=False)
    # The structured output (``.response_format(...)``): validated and typed; None when
    # none was asked for or the model refused.
    parsed: ParsedT | None = attrs.field(default=None, eq=False)

    @property
    def has_tool_calls(self) -> bool:
        return bool(self.tool_calls)

    def to_message(self) -> Message:
        """The assistant message to append to the history for the next turn.

        A spoken answer goes in as an audio reference (its id and transcript), which
        OpenAI takes back by id and other providers as the transcript's text.
        """
        blocks = list(self.thinking_blocks)
        if self.audio is not None and (self.audio.id or self.audio.transcript):
            if self.content:
                blocks.append(ContentBlock.text(self.content))
            ref = self.audio.id or ""
            blocks.append(
                ContentBlock.audio_ref(ref, self.audio.transcript, expires_at=self.audio.expires_at)
                if ref
                else ContentBlock.text(self.audio.transcript)
            )
            return Message(MessageRole.ASSISTANT, blocks, list(self.tool_calls))
        if blocks:
            if self.content:
                blocks.append(ContentBlock.text(self.content))
            return Message(MessageRole.ASSISTANT, blocks, list(self.tool_calls))
        return Message(MessageRole.ASSISTANT, self.content, list(self.tool_calls))
