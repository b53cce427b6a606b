"""The fluent chat builder shared by the sync and async clients (no I/O here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ailib.dialects import ChatRequest
    from ailib.runtime.context import CallContext
    from ailib.structured.json_mode import JsonModeConfig, StructuredMode
    from ailib.types.messages import ContentBlock, Message
    from ailib.types.tools import ToolDefinition

_B = TypeVar("_B", bound="ChatBuilderBase")

#: Message and ChatRequest, imported on first use (``import ailib`` stays light) and kept
#: here: an import statement costs more than the rest of ``.user(...)``
_message_type: Any = None
_request_type: Any = None
_context_types: Any = None


def _message() -> Any:
    global _message_type
    if _message_type is None:
        from ailib.types.messages import Message

        _message_type = Message
    return _message_type


def _request() -> Any:
    global _request_type
    if _request_type is None:
        from ailib.dialects import ChatRequest

        _request_type = ChatRequest
    return _request_type


def call_context(operation: str, engine: Any, model: str, req: Any) -> CallContext:
    """``CallContext(operation, Target(engine, model), request=req)`` (the clients' calls),
    its module imported once."""
    global _context_types
    if _context_types is None:
        from ailib.runtime.context import CallContext, Target

        _context_types = (CallContext, Target)
    context, target = _context_types
    ctx: CallContext = context(operation, target(engine, model), request=req)
    return ctx


class ChatBuilderBase:
    """Collects messages, tools and parameters; ``execute()``/``stream()`` live in subclasses."""

    def __init__(self, model: str) -> None:
        self._model = model
        self._messages: list[Message] = []
        self._tools: list[ToolDefinition] = []
        self._params: dict[str, Any] = {}
        self._extra_body: dict[str, Any] = {}
        self._structured: JsonModeConfig[Any] | None = None

    def system(self: _B, content: str) -> _B:
        self._messages.append(_message().system(content))
        return self

    def user(self: _B, content: str | list[ContentBlock]) -> _B:
        self._messages.append(_message().user(content))
        return self

    def assistant(self: _B, content: str) -> _B:
        self._messages.append(_message().assistant(content))
        return self

    def message(self: _B, message: Message | Mapping[str, Any]) -> _B:
        """Append one Message (or an OpenAI-style message dict)."""
        from ailib.runtime.input_check import coerce_message

        self._messages.append(coerce_message(message))
        return self

    def messages(self: _B, messages: Iterable[Message | Mapping[str, Any]]) -> _B:
        """Append Messages; OpenAI-style dicts (``{"role": "user", "content": "hi"}``) work too."""
        from ailib.runtime.input_check import coerce_messages

        self._messages.extend(coerce_messages(messages))
        return self

    def tools(self: _B, tools: Iterable[ToolDefinition | Mapping[str, Any]]) -> _B:
        """Offer tools; OpenAI-style tool dicts are converted with ToolDefinition.from_dict."""
        from ailib.runtime.input_check import coerce_tools

        self._tools.extend(coerce_tools(tools))
        return self

    def tool_choice(self: _B, choice: str | dict[str, Any]) -> _B:
        return self.param("tool_choice", choice)

    def temperature(self: _B, value: float) -> _B:
        return self.param("temperature", value)

    def max_tokens(self: _B, value: int) -> _B:
        return self.param("max_tokens", value)

    def top_p(self: _B, value: float) -> _B:
        return self.param("top_p", value)

    def stop(self: _B, value: str | list[str]) -> _B:
        """Stop sequences: a str or a list of str (else ParameterError here)."""
        return self.param("stop", value)

    def seed(self: _B, value: int) -> _B:
        return self.param("seed", value)

    def _set_response_format(self, value: Any, **options: Any) -> None:
        """What ``response_format(...)`` (typed in the client's builder) records."""
        from ailib.structured.json_mode import JsonModeConfig

        if isinstance(value, Mapping) and value.get("type") == "text":  # plain text: as is
            self._structured = None
            self.param("response_format", dict(value))
            return
        self._structured = JsonModeConfig.of(value, **options)
        self._params.pop("response_format", None)

    def json_mode(self: _B, *, mode: StructuredMode = "native", max_repairs: int = 0) -> _B:
        """Ask for any JSON value (``parsed`` is the decoded value): the provider's JSON
        mode, or with ``mode="prompt"`` an instruction in the system prompt."""
        self._set_response_format(None, mode=mode, max_repairs=max_repairs)
        return self

    def reasoning(self: _B, value: str | int | dict[str, Any] = "medium") -> _B:
        """Ask for reasoning: an effort ('none', 'minimal', 'low', 'medium', 'high', 'xhigh'),
        a token budget or a dict; anything else raises ParameterError here."""
        return self.param("reasoning", value)

    def audio_output(self: _B, voice: str, format: str | None = None) -> _B:
        """Ask for a spoken answer too: modalities ["text", "audio"] and audio {voice, format}."""
        self.param("modalities", ["text", "audio"])
        return self.param("audio", {"voice": voice, **({"format": format} if format else {})})

    def param(self: _B, name: str, value: Any) -> _B:
        """Set any parameter the provider's manifest declares (checked before sending).

        The value must be plain JSON (no NaN, sets or objects): InvalidRequestError here.
        """
        from ailib.runtime.input_check import check_param

        check_param(name, value)
        self._params[name] = value
        return self

    def extra_body(self: _B, body: dict[str, Any]) -> _B:
        """Raw wire fields deep-merged into the request body (only checked to be JSON)."""
        from ailib.runtime.input_check import check_extra_body

        self._extra_body.update(check_extra_body(body))
        return self

    def build(self, *, stream: bool = False) -> ChatRequest:
        messages, params = list(self._messages), dict(self._params)
        if self._structured is not None:  # the JSON asked for: a parameter or a prompt
            from ailib.structured.json_mode import with_instruction

            fmt = self._structured.response_format()
            if fmt is not None:
                params["response_format"] = fmt
            instruction = self._structured.instruction()
            if instruction is not None:
                messages = with_instruction(messages, instruction)
        request: ChatRequest = _request()(  # positional: tests/unit/test_prepare_fields.py
            self._model,  # model
            messages,
            params,
            list(self._tools),  # tools
            stream,
            dict(self._extra_body),  # extra_body
        )
        return request
