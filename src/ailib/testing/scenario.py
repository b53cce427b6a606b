"""Scripting types for :class:`~ailib.testing.MockServer`.

A :class:`Scenario` describes one scripted response independently of the wire
dialect; the server renders it as OpenAI, Anthropic or Gemini depending on the
endpoint the request hit.  A :class:`RecordedRequest` is what the server saw.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from ailib.testing.audio import describe_part

__all__ = ["RawArguments", "RecordedRequest", "Scenario"]

_WORD = re.compile(r"\s*\S+")
#: tool-argument JSON fragments, similar to real streamed argument tokens
FRAGMENT = re.compile(r"\w+|\W+")


class RawArguments(str):
    """Tool-call argument text sent verbatim, even when it is not valid JSON.

    Example::

        Scenario(tool_calls=[("get_weather", RawArguments('{"city": "Par'))])
    """

    __slots__ = ()


def _tool_list(
    value: Iterable[tuple[str, Mapping[str, Any] | str]],
) -> list[tuple[str, dict[str, Any] | RawArguments]]:
    return [
        (str(name), RawArguments(args) if isinstance(args, str) else dict(args))
        for name, args in value
    ]


def compact_json(obj: Any) -> str:
    """Compact JSON text; :class:`RawArguments` pass through unchanged."""
    if isinstance(obj, RawArguments):
        return str(obj)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


@attrs.frozen
class Scenario:
    """One scripted response, rendered in the dialect of the incoming request.

    Every field has a default, so ``Scenario()`` is the echo behaviour::

        server.push(Scenario(text="Hello!"))                      # plain answer
        server.push(Scenario(reasoning="Let me think", text="42"))  # thinking first
        server.push(Scenario(tool_calls=[("get_weather", {"city": "Paris"})]))
        server.push(Scenario(status=429, retry_after=0.1))        # real 429 body/headers
        server.push(Scenario(text="a b c d", cut_after=3))        # stream cut mid-way
        server.push(Scenario(text="slow", chunk_delay=0.05, repeat=2))
        server.push(Scenario(text="a b c", cut_after=1, hang=True))  # then silence

    Fields:

    * ``text`` -- answer text.  ``None`` echoes the last user message as
      ``"echo: <text>"`` (or produces no text when ``tool_calls`` are given).
      A request asking for JSON (structured output, in any dialect) gets JSON fitting
      its schema instead, and ``text`` goes into a forced tool's arguments where the
      request forces one (:mod:`ailib.testing.structured`).
    * ``reasoning`` -- thinking text emitted before the content (OpenAI-compatible
      ``reasoning_content``, Anthropic ``thinking`` blocks, Gemini ``thought`` parts).
    * ``tool_calls`` -- ``(name, arguments)`` pairs rendered as native tool calls; a str
      (:class:`RawArguments`) is sent verbatim as the argument text where the wire carries
      text (OpenAI-style, Cohere, Responses, Anthropic and Bedrock streams) and as a JSON
      string where it carries an object.
    * ``finish_reason`` -- overrides the dialect's finish/stop reason.
    * ``usage`` -- ``(input_tokens, output_tokens)``; default is computed from word
      counts.  ``input`` is the *total* prompt size (Anthropic reports
      ``input_tokens = input - cached_tokens`` like the real API); ``output``
      includes ``reasoning_tokens``.
    * ``cached_tokens`` / ``reasoning_tokens`` -- rendered in each dialect's usage fields.
    * ``audio_input_tokens`` / ``audio_output_tokens`` -- the spoken parts of the usage
      (OpenAI ``*_tokens_details.audio_tokens``, Gemini ``*TokensDetails`` AUDIO entries).
    * ``chunks`` -- stream the content in exactly this many deltas (default: one per word).
    * ``chunk_delay`` -- seconds to sleep between stream events.
    * ``status`` / ``error_body`` / ``headers`` / ``retry_after`` -- HTTP errors: when
      ``status >= 400`` and ``error_body`` is ``None`` the provider's real error body
      for that status is sent.  ``error_body`` may be ``bytes``, ``str`` or any JSON
      value.  ``retry_after`` adds a ``retry-after`` header; ``headers`` are added last.
    * ``cut_after`` -- streams: close the connection after this many events without
      the terminating chunk; non-streams: send only this many body bytes, then close.
    * ``stream_error`` -- error object sent inside a 200 stream after the content
      (missing keys are filled with the dialect's overload error; a dict with an
      ``"error"`` key is sent verbatim as the event payload).
    * ``delay`` -- seconds to wait before responding.
    * ``hang`` -- a provider that hangs: never answer, hold the connection until the
      client hangs up. With ``cut_after`` the head and that many events (or body bytes)
      are sent first, then nothing more.
    * ``repeat`` -- how many requests this queued scenario answers.
    * ``refusal`` -- the model refuses with this text: OpenAI ``refusal`` (a refusal part
      on Responses), Anthropic ``stop_reason: "refusal"``, Gemini ``SAFETY``.
    """

    text: str | None = None
    reasoning: str | None = None
    tool_calls: list[tuple[str, dict[str, Any] | RawArguments]] = attrs.field(
        factory=list, converter=_tool_list
    )
    finish_reason: str | None = None
    usage: tuple[int, int] | None = None
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    audio_input_tokens: int = 0
    audio_output_tokens: int = 0
    chunks: int | None = attrs.field(default=None)
    chunk_delay: float = 0.0
    status: int = 200
    error_body: Any = None
    headers: dict[str, str] = attrs.field(factory=dict)
    retry_after: float | None = None
    cut_after: int | None = None
    stream_error: dict[str, Any] | None = None
    delay: float = 0.0
    hang: bool = False
    repeat: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    refusal: str | None = None

    @chunks.validator
    def _check_chunks(self, _attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError("chunks must be >= 1")


@attrs.frozen
class RecordedRequest:
    """An HTTP request received by the mock server.

    Example::

        req = server.requests[-1]
        assert req.dialect == "anthropic" and req.path == "/v1/messages"
        assert req.json()["model"] == "claude-sonnet-4-5"
        assert req.headers["x-api-key"] == "test"
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    dialect: str

    def json(self) -> Any:
        """Decode the request body as JSON."""
        return json.loads(self.body)


# ---------------------------------------------------- resolution against a request


def split_words(text: str) -> list[str]:
    """Split into word deltas (leading whitespace attached, like real tokens)."""
    pieces = _WORD.findall(text)
    if not pieces:
        return [text] if text else []
    tail = len(text) - sum(map(len, pieces))
    if tail:
        pieces[-1] += text[-tail:]
    return pieces


def split_even(text: str, count: int) -> list[str]:
    """Split into exactly ``count`` pieces of near-equal length (some may be empty)."""
    size = len(text)
    return [text[i * size // count : (i + 1) * size // count] for i in range(count)]


def _count_words(obj: Any) -> int:
    if isinstance(obj, str):
        return len(obj.split())
    if isinstance(obj, list):
        return sum(_count_words(item) for item in obj)
    if isinstance(obj, dict):
        keys = ("messages", "contents", "content", "text", "parts", "system", "systemInstruction")
        return sum(_count_words(obj[key]) for key in keys if key in obj)
    return 0


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for item in content:
            if isinstance(item, dict):
                heard = describe_part(item)  # audio parts: "[heard wav audio, 0.50 s]"
                if isinstance(item.get("text"), str):
                    texts.append(item["text"])
                elif item.get("type") == "tool_result":
                    texts.append(_text_of(item.get("content")))
                elif heard is not None:
                    texts.append(f" {heard}" if texts else heard)
        return "".join(texts)
    return ""


def last_user_text(dialect: str, body: dict[str, Any]) -> str:
    """Text of the last user message of a request body."""
    if dialect == "gemini":
        for item in reversed(body.get("contents") or []):
            if isinstance(item, dict) and item.get("role", "user") == "user":
                return _text_of(item.get("parts"))
        return ""
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


@attrs.frozen
class Call:
    """What the server parsed from a request: dialect, model, body, stream mode."""

    dialect: str
    model: str
    body: dict[str, Any]
    stream: bool
    seq: int
    sse: bool = True  # Gemini: ``?alt=sse`` (else a streamed JSON array)


@attrs.frozen
class ToolCall:
    id: str
    name: str
    args: dict[str, Any] | RawArguments


@attrs.frozen
class Plan:
    """A scenario resolved against one request (echo text, ids, token counts)."""

    call: Call
    scenario: Scenario
    text: str
    tools: list[ToolCall]
    pieces: list[str]
    reasoning_pieces: list[str]
    input_tokens: int
    output_tokens: int
    created: int

    @property
    def model(self) -> str:
        return self.call.model

    @property
    def reasoning(self) -> str | None:
        return self.scenario.reasoning

    @property
    def cached(self) -> int:
        return self.scenario.cached_tokens

    @property
    def thoughts(self) -> int:
        return self.scenario.reasoning_tokens

    def finish(self, stop: str, tool: str) -> str:
        if self.scenario.finish_reason is not None:
            return self.scenario.finish_reason
        return tool if self.tools else stop

    def has_text_block(self) -> bool:
        return bool(self.text) or not self.tools


def make_plan(
    call: Call,
    scenario: Scenario,
    tool_prefix: str,
    next_tool_id: Callable[[], int],
    user_text: str | None = None,
) -> Plan:
    """Resolve echo text, tool ids, stream pieces and default usage."""
    if scenario.text is not None:
        text = scenario.text
    elif scenario.tool_calls or scenario.refusal is not None:
        text = ""
    else:
        echoed = user_text if user_text is not None else last_user_text(call.dialect, call.body)
        text = "echo: " + echoed
    tools = [ToolCall(f"{tool_prefix}{next_tool_id()}", n, a) for n, a in scenario.tool_calls]
    pieces = split_even(text, scenario.chunks) if scenario.chunks else split_words(text)
    reasoning_pieces = split_words(scenario.reasoning or "")
    if scenario.usage is not None:
        input_tokens, output_tokens = scenario.usage
    else:
        input_tokens = max(_count_words(call.body), 1)
        thinking = scenario.reasoning_tokens or len(reasoning_pieces)
        tool_words = sum(len(FRAGMENT.findall(json.dumps(t.args))) + 1 for t in tools)
        output_tokens = max(len(text.split()) + thinking + tool_words, 1)
    return Plan(call, scenario, text, tools, pieces, reasoning_pieces, input_tokens,
                output_tokens, int(time.time()))  # fmt: skip
