"""TokenCounter: tokens of a text or a chat request, exact for OpenAI models with tiktoken.

Messages count as OpenAI documents for its chat models: 3 tokens per message plus its
role, content and name (1 more for a name), 3 for the reply's priming; tool definitions
with the documented per-function, per-property and per-enum constants; images by their
size (see :mod:`ailib.tokens.images`). Without tiktoken, or for models whose tokenizer is
not public, the same structure is sized by :mod:`ailib.tokens.heuristic`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ailib.errors import InvalidRequestError, TokenizerUnavailableError
from ailib.tokens._tiktoken import (
    EXTRA_HINT,
    bare_model,
    encoding_for_model,
    load_encoding,
    tiktoken_installed,
)
from ailib.tokens.heuristic import FAMILIES, Family, HeuristicEstimator, family_of
from ailib.tokens.images import (
    UNKNOWN_SIZE,
    anthropic_image_tokens,
    gemini_image_tokens,
    image_size_base64,
    openai_image_tokens,
)
from ailib.types.messages import ContentBlock, Message
from ailib.types.tools import ToolCall, ToolDefinition

# OpenAI's function-definition constants: (per function, properties start, per property,
# enum start, per enum item, end of all functions).
_TOOL_CONSTANTS_4O = (7, 3, 3, -3, 3, 12)
_TOOL_CONSTANTS_OLDER = (10, 3, 3, -3, 3, 12)


log = logging.getLogger("ailib")
_WARNED: set[str] = set()


def _warn_once(encoding: str, exc: TokenizerUnavailableError) -> None:
    """Say once per encoding that counts are estimated because its file is missing."""
    if encoding not in _WARNED:
        _WARNED.add(encoding)
        log.warning("ailib: estimating token counts: %s", exc)


class TokenCounter:
    """Counts tokens for one model: exact with tiktoken (OpenAI encodings), else estimated.

    Example::

        counter = TokenCounter.for_model("gpt-4o")
        counter.count("Hello, how are you?")                   # 6
        counter.count_messages([Message.user("Hi")])           # 8
        counter.count_messages(history, tools=[weather_tool])  # with the tool definitions
        counter.is_exact, counter.method                       # True, 'tiktoken:o200k_base'
    """

    def __init__(self, model: str, *, encoding: str | None = None) -> None:
        """A counter for ``model`` using tiktoken ``encoding``, or the estimate when None."""
        self.model = model
        self.encoding = encoding
        self._family: Family = FAMILIES["openai"] if encoding else family_of(model)
        self._estimator = HeuristicEstimator(self._family)
        self._tiktoken: Any = load_encoding(encoding) if encoding else None

    @classmethod
    def for_model(cls, model: str, *, exact: bool | None = None) -> TokenCounter:
        """The counter for ``model`` (``"gpt-4o"`` or ``"openai/gpt-4o"``).

        ``exact=None``: tiktoken when it is installed and the model has an OpenAI
        encoding whose file can be had (cached, or downloaded), else the estimate (a
        warning logged once). ``exact=True``: tiktoken or a TokenizerUnavailableError (not
        installed, no public encoding for this model, file not reachable offline).
        ``exact=False``: always the estimate.
        """
        if not isinstance(model, str) or not model:
            raise InvalidRequestError(f"model must be a non-empty str, got {model!r}")
        encoding = encoding_for_model(model)
        if exact is False:
            return cls(model)
        if exact and encoding is None:
            raise TokenizerUnavailableError(
                f"no public tokenizer for {model!r}: exact counts exist for OpenAI models "
                "(o200k_base, cl100k_base); use the provider's count_tokens endpoint "
                "(client.count_tokens) or exact=False for an estimate"
            )
        if encoding is not None and exact:
            return cls(model, encoding=encoding)
        if encoding is not None and tiktoken_installed():
            try:
                return cls(model, encoding=encoding)
            except TokenizerUnavailableError as exc:  # offline, no cached file: estimate
                _warn_once(encoding, exc)
        if exact:
            raise TokenizerUnavailableError(f"exact counting needs tiktoken: {EXTRA_HINT}")
        return cls(model)

    @property
    def is_exact(self) -> bool:
        return self._tiktoken is not None

    @property
    def method(self) -> str:
        """``"tiktoken:<encoding>"`` or ``"estimate:<family>"``."""
        if self.encoding:
            return f"tiktoken:{self.encoding}"
        return f"estimate:{self._family.name}"

    def __repr__(self) -> str:
        return f"TokenCounter(model={self.model!r}, method={self.method!r})"

    def count(self, text: str) -> int:
        """Tokens in ``text`` (special tokens counted as plain text)."""
        if not isinstance(text, str):
            raise InvalidRequestError(f"count() takes a str, got {type(text).__name__}")
        if self._tiktoken is not None:
            return len(self._tiktoken.encode(text, disallowed_special=()))
        return self._estimator.count(text)

    def count_messages(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolDefinition] | None = None,
        response_format: Mapping[str, Any] | None = None,
    ) -> int:
        """Input tokens of a chat request: messages, their images and tool calls, tools,
        and a structured-output JSON Schema (``response_format``, counted as its JSON text).
        """
        messages = _checked_messages(messages)
        family = self._family
        total = family.per_request
        for message in messages:
            total += family.per_message + self.count(message.role.value)
            total += self._content_tokens(message.content)
            if message.name:
                total += 1 + self.count(message.name)
            total += sum(self._tool_call_tokens(call) for call in message.tool_calls)
        if tools:
            total += self.count_tools(tools)
        if response_format:
            total += self.count(json.dumps(response_format, separators=(",", ":")))
        return total

    def count_tools(self, tools: Iterable[ToolDefinition]) -> int:
        """Tokens of tool definitions (OpenAI's documented constants for its models)."""
        listed = [t for t in tools if isinstance(t, ToolDefinition)]
        if not listed:
            return 0
        older = self.encoding == "cl100k_base"
        per_function, props_start, per_prop, enum_start, per_enum, end = (
            _TOOL_CONSTANTS_OLDER if older else _TOOL_CONSTANTS_4O
        )
        if not self.is_exact:
            per_function += self._family.per_tool - 8
        total = end + (0 if self.is_exact else self._family.tools_prompt)
        for tool in listed:
            total += per_function + self.count(f"{tool.name}:{_strip_period(tool.description)}")
            properties = tool.parameters.get("properties") or {}
            if not isinstance(properties, dict) or not properties:
                continue
            total += props_start
            for key, schema in properties.items():
                schema = schema if isinstance(schema, dict) else {}
                total += per_prop
                enum = schema.get("enum")
                if isinstance(enum, list):
                    total += enum_start + sum(per_enum + self.count(str(v)) for v in enum)
                kind = schema.get("type", "")
                described = _strip_period(str(schema.get("description", "")))
                total += self.count(f"{key}:{_type_text(kind)}:{described}")
                nested = {k: v for k, v in schema.items() if k not in _PLAIN_KEYS}
                if nested:  # nested objects, arrays of objects: their schema as JSON text
                    total += self.count(json.dumps(nested, separators=(",", ":")))
        return total

    def _content_tokens(self, content: str | list[ContentBlock]) -> int:
        if isinstance(content, str):
            return self.count(content)
        total = 0
        for block in content:
            if block.type == "image":
                total += self.image_tokens(block)
            elif block.type == "document":
                total += self._document_tokens(block)
            else:
                total += self.count(block.text_value or "")
        return total

    def image_tokens(self, block: ContentBlock) -> int:
        """Tokens of one image block: from its size when inline, else a 1024x1024 image."""
        size = image_size_base64(block.data) if block.data else None
        width, height = size or UNKNOWN_SIZE
        if self._family.name == "anthropic":
            return anthropic_image_tokens(width, height)
        if self._family.name == "gemini":
            return gemini_image_tokens(width, height)
        if self._family.name == "openai":
            return openai_image_tokens(bare_model(self.model), width, height, block.detail)
        return self._family.image if size is None else openai_image_tokens("", width, height)

    def _document_tokens(self, block: ContentBlock) -> int:
        # A PDF's text is not read here: about one page of text per 3 kB of file, ~800
        # tokens a page (a rough estimate; the provider's count_tokens is exact).
        size = len(block.data or "") * 3 // 4
        return max(800, size // 3000 * 800)

    def _tool_call_tokens(self, call: ToolCall) -> int:
        framing = 4 if self.is_exact else self._family.per_tool_call
        return framing + self.count(call.function_name) + self.count(call.raw_arguments or "{}")


_PLAIN_KEYS = {"type", "description", "enum", "title", "default"}


def _strip_period(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


def _type_text(kind: Any) -> str:
    if isinstance(kind, list):
        return "|".join(str(k) for k in kind)
    return str(kind)


def _checked_messages(messages: Sequence[Message]) -> Sequence[Message]:
    if isinstance(messages, Message):
        return [messages]
    if isinstance(messages, str) or not all(isinstance(m, Message) for m in messages):
        raise InvalidRequestError(
            "count_messages() takes a list of Message (Message.user('Hi'), ...)"
        )
    return messages
