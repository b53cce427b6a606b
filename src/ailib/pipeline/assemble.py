"""Accumulator: turns event-map emissions into public events and a final ChatResponse.

Pure and sans-IO: ``feed(emissions) -> events``, ``finish() -> events``,
``response() -> ChatResponse``. Tool calls are keyed by (candidate, index); argument
fragments accumulate until the block ends or the stream finishes.

Example::

    asm = Assembler(termination={"end_turn": "stop"})
    events = asm.feed([("content", 0, {"text": "Hi"})]) + asm.finish()
    asm.response().content  # "Hi"
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from typing import Any

from ailib.errors import AiLibError, ProtocolError
from ailib.protocol.interpret import Emitted
from ailib.structured.partial_json import PartialJSONReader
from ailib.types.audio import AudioOutput, output_format, sample_rate_of
from ailib.types.events import (
    AudioDelta,
    ContentDelta,
    RefusalDelta,
    StreamEnd,
    StreamEvent,
    ThinkingDelta,
    ToolCallArgumentsDelta,
    ToolCallEnded,
    ToolCallStarted,
    UnknownEvent,
    UsageEvent,
)
from ailib.types.media import plain_base64
from ailib.types.messages import ContentBlock
from ailib.types.response import Candidate, ChatResponse, Usage
from ailib.types.tools import ToolCall

USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cache_creation_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
)
_USAGE_FIELD_SET = frozenset(USAGE_FIELDS)
_NUMBERS = (int, float)  # not int | float: that builds a union on each use
_USAGE_ALIASES = {"prompt_tokens": "input_tokens", "completion_tokens": "output_tokens"}
#: arguments_error of a call whose stream broke before any of its arguments arrived
INCOMPLETE_ARGUMENTS = "the response ended before the call's arguments arrived"


class _ToolState:
    __slots__ = ("args", "ended", "extra", "id", "index", "name", "reader")

    def __init__(self, index: int, id: str, name: str) -> None:
        self.index = index
        self.id = id
        self.name = name
        self.args: list[str] = []
        self.extra: dict[str, Any] = {}
        self.ended = False
        self.reader: PartialJSONReader | None = None  # the arguments so far, read as they grow

    def partial(self, piece: str) -> Any:
        """The arguments' JSON value so far, after ``piece`` (each character read once)."""
        if self.reader is None:
            self.reader = PartialJSONReader()
        self.reader.feed(piece)
        return self.reader.value()

    def call(self) -> ToolCall:
        text = "".join(self.args)
        if not self.ended and not text.strip():  # cut before any argument arrived: not {}
            return ToolCall(
                self.id, self.name, None, text, self.index, self.extra, INCOMPLETE_ARGUMENTS
            )
        return ToolCall.from_raw(self.id, self.name, text, index=self.index, extra=self.extra)


class _AudioState:
    """A spoken answer being received: decoded chunks, transcript, id and format hints."""

    __slots__ = ("chunks", "expires_at", "fallback", "id", "mime", "rate", "transcript")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.transcript: list[str] = []
        self.id: str | None = None
        self.expires_at: int | None = None
        self.mime: str | None = None
        self.fallback: str | None = None
        self.rate: int | None = None

    def output(self) -> AudioOutput:
        data = b"".join(self.chunks)
        fmt = output_format(data, self.mime, self.fallback)
        rate = (self.rate or sample_rate_of(self.mime)) if fmt == "pcm16" else None
        transcript = "".join(self.transcript)
        return AudioOutput(data, fmt, transcript, self.id, self.expires_at, rate)


class _CandState:
    __slots__ = (
        "alias",
        "audio",
        "content",
        "finish",
        "raw_finish",
        "reasoning",
        "refusal",
        "thinking",
        "tools",
    )

    def __init__(self) -> None:
        self.content: list[str] = []
        self.audio: _AudioState | None = None
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.thinking: list[list[Any]] = []  # [text, signature, redacted_data]
        self.tools: dict[int, _ToolState] = {}
        self.alias: dict[int, int] = {}  # provider index reused after its call ended -> ours
        self.finish: str | None = None
        self.raw_finish: str | None = None


class Assembler:
    """Accumulates one response (streamed or not) from emissions."""

    def __init__(
        self,
        termination: dict[str, str] | None = None,
        on_error: Callable[[dict[str, Any]], AiLibError] | None = None,
        default_model: str | None = None,
        *,
        events: bool = True,
    ) -> None:
        #: False for a whole (non-streamed) response: nobody reads its content, finish and
        #: usage events, so they are not built
        self.events = events
        self.termination = termination or {}
        self.on_error = on_error
        self.cands: dict[int, _CandState] = {}
        self.usage: dict[str, int] = {}
        self.usage_flags: set[str] = set()
        self.meta: dict[str, Any] = {}
        self.finished = False
        self.default_model = default_model

    def _cand(self, index: int) -> _CandState:
        state = self.cands.get(index)
        if state is None:
            state = self.cands[index] = _CandState()
        return state

    def feed(self, emitted: list[Emitted]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for kind, cand, f in emitted:
            if kind == "content":  # the hot path: one dict lookup in the common case
                text = f["text"] if "text" in f else f.get("content")
                if type(text) is list:
                    text = _text(text)
                if isinstance(text, str) and text:
                    state = self.cands.get(cand)  # _cand's common case, inline
                    (state or self._cand(cand)).content.append(text)
                    if self.events:
                        out.append(ContentDelta(text, cand))
            elif kind == "meta":  # repeated on every chunk by some providers: first wins
                if len(self.meta) < len(f):
                    for key, value in f.items():
                        self.meta.setdefault(key, value)
            elif kind == "tool_call":
                self._tool(cand, f, out)
            elif kind == "refusal":
                text = f.get("text")
                if isinstance(text, str) and text:
                    self._cand(cand).refusal.append(text)
                    out.append(RefusalDelta(text, cand))
            elif kind == "thinking":
                self._thinking(cand, f, out)
            elif kind == "audio":
                self._audio(cand, f, out)
            elif kind == "thinking_signature":
                blocks = self._cand(cand).thinking
                if blocks and f.get("signature") and isinstance(f["signature"], str):
                    blocks[-1][1] = f["signature"]
            elif kind == "thinking_redacted":
                data = f.get("data")
                if data is not None and not isinstance(data, str):
                    data = ""  # a hostile value: the block is kept, its data is not
                self._cand(cand).thinking.append(["", None, data])
            elif kind == "tool_call_end":
                state = self._cand(cand)
                wire = _int(f.get("index"), -1)
                tool = state.tools.get(state.alias.get(wire, wire))
                if tool is not None and not tool.ended:
                    tool.ended = True
                    out.append(ToolCallEnded(tool.index, tool.call(), cand))
            elif kind == "usage":
                self._usage(f, out)
            elif kind == "finish":
                out.extend(self._finish(cand, f))
            elif kind == "error":
                if self.on_error is not None:
                    raise self.on_error(f)
                raise AiLibError(str(f.get("message", f)))
            elif kind == "unknown":
                out.append(UnknownEvent(str(f.get("type", "frame")), f.get("data")))
        return out

    def _audio(self, cand: int, f: dict[str, Any], out: list[StreamEvent]) -> None:
        """A piece of a spoken answer (OpenAI ``audio``, Gemini ``inlineData`` audio).

        ``data`` is base64 (each chunk decodes on its own), ``transcript`` a text piece;
        ``mime_type`` names the format where the wire does (Gemini), ``raw_format`` and
        ``sample_rate`` what signature-less bytes are (OpenAI ``pcm16``). Inline data of
        another kind (a generated image) is not audio and is left alone.
        """
        mime = f.get("mime_type")
        if mime is not None and not (isinstance(mime, str) and mime.lower().startswith("audio/")):
            return
        state = self._cand(cand)
        audio = state.audio = state.audio or _AudioState()
        if mime is not None:
            audio.mime = mime
        audio.id = _str_or(f.get("id"), audio.id)
        audio.fallback = _str_or(f.get("raw_format"), audio.fallback)
        if type(f.get("expires_at")) is int:
            audio.expires_at = f["expires_at"]
        if type(f.get("sample_rate")) is int:
            audio.rate = f["sample_rate"]
        chunk = _audio_bytes(f.get("data"))
        if chunk:
            audio.chunks.append(chunk)
        text = f.get("transcript")
        text = text if isinstance(text, str) else ""
        if text:
            audio.transcript.append(text)
        if chunk or text:
            out.append(AudioDelta(chunk, text, audio.id, cand))

    def _thinking(self, cand: int, f: dict[str, Any], out: list[StreamEvent]) -> None:
        text = _text(f.get("text", f.get("thinking")))
        state = self._cand(cand)
        last = state.thinking[-1] if state.thinking else None
        closed = last is None or last[1] is not None or last[2] is not None
        if f.get("new_block") or (closed and isinstance(text, str) and text):
            state.thinking.append(["", None, None])
        if isinstance(text, str) and text:
            state.reasoning.append(text)
            state.thinking[-1][0] += text
            out.append(ThinkingDelta(text, cand))
        if f.get("signature") and isinstance(f["signature"], str) and state.thinking:
            state.thinking[-1][1] = f["signature"]

    def _tool(self, cand: int, f: dict[str, Any], out: list[StreamEvent]) -> None:
        state = self._cand(cand)
        wire_index = _int(f.get("index"), len(state.tools))
        index = state.alias.get(wire_index, wire_index)
        tool = state.tools.get(index)
        args = f.get("arguments")
        if tool is None and not f.get("id") and not f.get("name") and "index" in f:
            return  # argument deltas of a block that is not a function call (server tools)
        if tool is None or tool.ended:
            if tool is not None:  # a reused index after the block ended: a new call
                index = max(state.tools) + 1
                state.alias[wire_index] = index
            call_id = f.get("id") or self._make_id(cand, index)
            tool = state.tools[index] = _ToolState(index, str(call_id), str(f.get("name") or ""))
            out.append(ToolCallStarted(index, tool.id, tool.name, cand))
        elif f.get("name") and not tool.name:
            tool.name = str(f["name"])
        for key in ("thought_signature",):
            if f.get(key):
                tool.extra[key] = f[key]
        if args is not None and not isinstance(args, str):  # an object wire: whole at once
            text = json.dumps(args, ensure_ascii=False)
            tool.args = [text]
            out.append(ToolCallArgumentsDelta(index, text, tool.id, cand, args))
            tool.ended = True
            out.append(ToolCallEnded(index, tool.call(), cand))
        elif isinstance(args, str) and args:
            tool.args.append(args)
            out.append(ToolCallArgumentsDelta(index, args, tool.id, cand, tool.partial(args)))

    def _make_id(self, cand: int, index: int) -> str:
        """An id for a call the provider sent none for (Gemini, Ollama).

        Derived from the response id when there is one, so it is deterministic (compiled
        and interpreted paths agree) yet differs from turn to turn.
        """
        response_id = self.meta.get("id")
        if isinstance(response_id, str) and response_id:
            digest = hashlib.sha1(response_id.encode()).hexdigest()[:10]
            return f"call_{digest}_{cand}_{index}"
        return f"call_{cand}_{index}"

    def _usage(self, f: dict[str, Any], out: list[StreamEvent]) -> None:
        changed = False
        for flag in ("input_excludes_cache", "output_excludes_reasoning"):
            if f.get(flag) is True:
                self.usage_flags.add(flag)
        for key, value in f.items():
            key = _USAGE_ALIASES.get(key, key)
            if key in _USAGE_FIELD_SET and isinstance(value, _NUMBERS):
                self.usage[key] = int(value)
                changed = True
        if changed and self.events:
            out.append(UsageEvent(self.current_usage()))

    def _close_tools(self, cand: int) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for tool in self._cand(cand).tools.values():
            if not tool.ended:
                tool.ended = True
                out.append(ToolCallEnded(tool.index, tool.call(), cand))
        return out

    def _finish(self, cand: int, f: dict[str, Any]) -> list[StreamEvent]:
        raw = f.get("reason", f.get("finish_reason"))
        if raw is None:
            return []
        state = self._cand(cand)
        out = self._close_tools(cand) if state.tools else []
        state.raw_finish = str(raw)
        state.finish = self.normalize_finish(str(raw), bool(state.tools))
        if self.events:
            out.append(StreamEnd(state.finish, state.raw_finish, cand))
        return out

    def normalize_finish(self, raw: str, has_tools: bool) -> str:
        reason = self.termination.get(raw, raw)
        if reason == "stop" and has_tools:
            return "tool_calls"
        return reason

    def finish(self) -> list[StreamEvent]:
        """End of input: close open tool calls."""
        self.finished = True
        out: list[StreamEvent] = []
        for cand in sorted(self.cands):
            if self.cands[cand].tools:  # (nothing to close otherwise)
                out.extend(self._close_tools(cand))
        return out

    def current_usage(self) -> Usage:
        u = self.usage
        inp, outp = u.get("input_tokens", 0), u.get("output_tokens", 0)
        if "input_excludes_cache" in self.usage_flags:  # Anthropic counts cache reads apart
            inp += u.get("cached_tokens", 0) + u.get("cache_creation_tokens", 0)
        if "output_excludes_reasoning" in self.usage_flags:  # Gemini counts thoughts apart
            outp += u.get("reasoning_tokens", 0)
        return Usage(  # positional (fields in order: tests/unit/test_hot_path_fields.py)
            inp,  # input_tokens
            outp,  # output_tokens
            u.get("total_tokens", inp + outp),
            u.get("cached_tokens", 0),
            u.get("reasoning_tokens", 0),
            u.get("cache_creation_tokens", 0),
            u.get("audio_input_tokens", 0),
            u.get("audio_output_tokens", 0),
        )

    def response(self, *, request_id: str | None = None, raw: Any = None) -> ChatResponse:
        """The accumulated response (candidate 0 first; all in ``candidates``)."""
        candidates = []
        for index in sorted(self.cands) or [0]:
            state = self._cand(index)
            calls = [t.call() for _, t in sorted(state.tools.items())]
            candidates.append(
                Candidate(
                    index,
                    "".join(state.content),
                    calls,
                    state.finish,
                    "".join(state.reasoning) or None,
                    "".join(state.refusal) or None,
                )
            )
        first = candidates[0]
        state = self._cand(first.index)
        blocks = (
            [
                ContentBlock("redacted_thinking", data=data)
                if data is not None
                else ContentBlock.thinking(text, sig)
                for text, sig, data in state.thinking
            ]
            if state.thinking
            else []
        )
        return ChatResponse(  # positional (fields in order: tests/unit/test_hot_path_fields.py)
            first.content,
            first.tool_calls,
            first.finish_reason,
            self.current_usage(),
            request_id,
            raw,
            self.meta.get("model") or self.default_model,
            self.meta.get("id"),  # id
            first.reasoning,
            first.refusal,
            state.raw_finish,  # raw_finish_reason
            candidates,
            blocks,  # thinking_blocks
            state.audio.output() if state.audio is not None else None,
        )


def _str_or(value: Any, default: str | None) -> str | None:
    return value if isinstance(value, str) and value else default


def _audio_bytes(value: Any) -> bytes:
    """Decoded base64 audio; text that is not base64 is a typed error, not silent noise."""
    if not isinstance(value, str) or not value:
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        try:  # base64 wrapped over lines, or in the URL-safe alphabet, is still base64
            return base64.b64decode(plain_base64(value), validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError(
                f"the response's audio data is not valid base64: {value[:40]!r}"
            ) from None


def _text(value: Any) -> Any:
    """Text fields may be a list of parts (a ``[*]`` path): joined in order."""
    if type(value) is list:
        return "".join(v for v in value if isinstance(v, str))
    return value


def _int(value: Any, default: int) -> int:
    return value if type(value) is int else default
