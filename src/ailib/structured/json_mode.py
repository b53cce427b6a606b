"""JsonModeConfig: what a chat call asks for when it wants JSON, and how the answer is read.

``client.chat().response_format(Weather)`` and ``.json_mode()`` build one. It puts the
request on the wire (the provider's native mode, chosen from its manifest, or the schema
in the system prompt with ``mode="prompt"``), reads the answer (a forced tool's
arguments or the text), refusals apart, validates and structures it, and phrases the
repair message when ``max_repairs`` allows another try.

Example::

    config = JsonModeConfig(Weather, max_repairs=1)
    resp = client.chat().user("Weather in Paris?").response_format(config).execute()
    resp.parsed  # Weather(city='Paris', ...)
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal

import attrs

from ailib.errors import InvalidRequestError, StructuredOutputError
from ailib.structured._typing import ParsedT
from ailib.structured.schema import SchemaGenerator, is_schema_class
from ailib.structured.validator import OutputValidator

if TYPE_CHECKING:
    from ailib.dialects import ChatRequest
    from ailib.structured.stream_view import StructuredStreamView
    from ailib.types.messages import Message
    from ailib.types.response import ChatResponse

__all__ = ["MODES", "JsonModeConfig", "StructuredMode", "schema_instruction", "with_instruction"]

#: how the JSON is asked for (see MODES)
StructuredMode = Literal["native", "prompt"]

#: ``native``: the provider's own structured output (from its manifest), refused up front
#: where it has none; ``prompt``: the schema goes into the system prompt, any provider
MODES = ("native", "prompt")
#: the most repair requests one call may make
MAX_REPAIRS = 10
_WIRE_TYPES = ("json_schema", "json_object")


def _check_mode(_: Any, __: Any, value: str) -> None:
    if value not in MODES:
        raise InvalidRequestError(f"structured output mode must be one of {MODES}, got {value!r}")


def _check_repairs(_: Any, __: Any, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_REPAIRS:
        raise InvalidRequestError(
            f"max_repairs must be an int in [0, {MAX_REPAIRS}], got {value!r}"
        )


def _check_source(_: Any, __: Any, value: Any) -> None:
    if value is None or isinstance(value, (Mapping, type)):
        return
    raise InvalidRequestError(
        "response_format takes an attrs class, a dataclass, a TypedDict, a pydantic model or "
        f"a JSON Schema dict, not a {type(value).__name__}"
    )


@attrs.frozen
class JsonModeConfig(Generic[ParsedT]):
    """How a chat call asks for JSON and checks the answer.

    ``schema``: an attrs class, dataclass, TypedDict, pydantic model or JSON Schema dict
    (None: any JSON, the JSON mode). ``mode``: ``"native"`` (the provider's own
    structured output; a provider without one is refused before sending) or
    ``"prompt"`` (the schema in the system prompt; any provider). ``name`` and
    ``description`` label the schema on the wire; ``strict`` overrides the manifest's
    choice of a strict schema mode; ``max_repairs`` is how many times an answer that
    fails validation is sent back to the model with the problem.

    Example::

        JsonModeConfig(Weather, mode="prompt", max_repairs=2)
        JsonModeConfig()  # JSON mode: any JSON value, parsed
    """

    schema: type[ParsedT] | Mapping[str, Any] | None = attrs.field(
        default=None, validator=_check_source
    )
    mode: StructuredMode = attrs.field(default="native", validator=_check_mode)
    name: str | None = None
    description: str | None = None
    strict: bool | None = None
    max_repairs: int = attrs.field(default=0, validator=_check_repairs)
    #: a provider-shaped ``response_format`` given as is (sent unchanged in native mode)
    wire_format: dict[str, Any] | None = attrs.field(default=None, repr=False)
    validator: OutputValidator[ParsedT] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "validator", _validator(self.schema))

    @classmethod
    def of(cls, value: Any, **options: Any) -> JsonModeConfig[Any]:
        """A config from what ``.response_format(...)`` was given: a config, a class, a
        JSON Schema, or a provider-shaped dict (``{"type": "json_schema", ...}``)."""
        given = {k: v for k, v in options.items() if v is not None}
        if isinstance(value, JsonModeConfig):
            return attrs.evolve(value, **given) if given else value
        if isinstance(value, Mapping) and value.get("type") in _WIRE_TYPES:
            wrapper = value.get("json_schema")
            inner = wrapper if isinstance(wrapper, Mapping) else {}
            schema = inner.get("schema") or value.get("schema")
            if value.get("type") == "json_object" and isinstance(wrapper, Mapping) and not schema:
                schema = wrapper  # Cohere's own shape: json_schema is the schema itself
            defaults: dict[str, Any] = {"schema": schema, "wire_format": dict(value)}
            if isinstance(inner.get("name"), str):
                defaults["name"] = inner["name"]
            if isinstance(inner.get("strict"), bool):
                defaults["strict"] = inner["strict"]
            return cls(**{**defaults, **given})
        if value is not None and not isinstance(value, Mapping) and not is_schema_class(value):
            raise InvalidRequestError(
                "response_format takes an attrs class, a dataclass, a TypedDict, a pydantic "
                f"model or a JSON Schema dict, not {value!r:.80}"
            )
        return cls(value, **given)

    # ---- the request ----------------------------------------------------------------

    @property
    def schema_name(self) -> str:
        """The schema's name on the wire (and the forced tool's, where that is the mode)."""
        if self.name:
            return SchemaGenerator.name_of({"title": self.name})
        return SchemaGenerator.name_of(self.schema) if self.schema is not None else "json"

    @property
    def json_schema(self) -> dict[str, Any] | None:
        """The JSON Schema answers are validated against (None: any JSON)."""
        return self.validator.schema

    def wire_schema(self) -> dict[str, Any] | None:
        """The schema sent: for classes, every property required and none other allowed
        (what strict modes take); a JSON Schema dict as given."""
        if self.schema is None:
            return None
        if isinstance(self.schema, Mapping):
            return self.json_schema
        with _LOCK:
            strict = _STRICT.get(self.schema)
        if strict is None:
            strict = SchemaGenerator(strict=True).generate(self.schema)
            with _LOCK:
                strict = _STRICT.setdefault(self.schema, strict)
        return strict

    def response_format(self) -> dict[str, Any] | None:
        """The ``response_format`` parameter of a native request (None in prompt mode)."""
        if self.mode == "prompt" or (self.wire_format or {}).get("type") == "text":
            return None
        if self.wire_format is not None:
            return dict(self.wire_format)
        schema = self.wire_schema()
        if schema is None:
            return {"type": "json_object"}
        inner: dict[str, Any] = {"name": self.schema_name}
        if self.description:
            inner["description"] = self.description
        inner["schema"] = json.loads(json.dumps(schema))  # a copy: the cached one stays as is
        if self.strict is not None:
            inner["strict"] = self.strict
        return {"type": "json_schema", "json_schema": inner}

    def instruction(self) -> str | None:
        """The system-prompt text of prompt mode (None in native mode)."""
        if self.mode != "prompt":
            return None
        return schema_instruction(self.json_schema, self.description)

    # ---- the answer -----------------------------------------------------------------

    def finish(self, resp: ChatResponse[Any]) -> ChatResponse[ParsedT]:
        """``resp`` with ``parsed`` set: a refusal is kept as ``resp.refusal`` (nothing
        parsed); an answer that fails raises StructuredOutputError (``.response`` is it)."""
        refusal = refusal_of(resp)
        if refusal is not None:
            return attrs.evolve(resp, refusal=refusal, parsed=None)
        resp, text = self._answer(resp)
        if text is None:  # the model called the caller's own tools: no answer yet
            return resp
        try:
            parsed = self.validator.parse(text)
        except StructuredOutputError as err:
            if resp.finish_reason == "length":
                err.problem += " (the answer was cut off at max_tokens)"
            err.response = resp
            raise
        return attrs.evolve(resp, parsed=parsed)

    def _answer(self, resp: ChatResponse[Any]) -> tuple[ChatResponse[Any], str | None]:
        """(the response with a forced tool's call turned into text, the answer's text)."""
        name = self.schema_name
        ours = [c for c in resp.tool_calls if c.function_name == name]
        if ours:
            call = ours[0]
            text = call.raw_arguments or (
                json.dumps(call.arguments, ensure_ascii=False) if call.arguments is not None else ""
            )
            others = [c for c in resp.tool_calls if c.function_name != name]
            finish = resp.finish_reason
            if finish == "tool_calls" and not others:
                finish = "stop"
            return attrs.evolve(resp, content=text, tool_calls=others, finish_reason=finish), text
        if resp.tool_calls and not resp.content.strip():
            return resp, None
        return resp, resp.content

    def repair_messages(self, error: StructuredOutputError) -> list[Message]:
        """The turns that show the model its answer and what is wrong with it."""
        from ailib.types.messages import Message

        answer = error.raw if error.raw.strip() else "(no answer)"
        where = "" if error.path == "$" else f" at {error.path}"
        fix = (
            f"Your answer is not valid{where}: {error.problem}. Answer again with only the "
            "corrected JSON, nothing else."
        )
        return [Message.assistant(answer), Message.user(fix)]

    def repair_request(self, req: ChatRequest, error: StructuredOutputError) -> ChatRequest:
        """``req`` with the repair turns appended (the next attempt of ``execute()``)."""
        return attrs.evolve(req, messages=[*req.messages, *self.repair_messages(error)])

    def stream_view(self) -> StructuredStreamView:
        """The per-stream event rewriter: partial values on content deltas, a forced
        tool's argument deltas shown as content."""
        from ailib.structured.stream_view import StructuredStreamView

        return StructuredStreamView(self.schema_name)


#: validators (and strict schemas) of the classes and JSON Schemas seen: built once each
_BY_CLASS: weakref.WeakKeyDictionary[type, OutputValidator[Any]] = weakref.WeakKeyDictionary()
_STRICT: weakref.WeakKeyDictionary[type, dict[str, Any]] = weakref.WeakKeyDictionary()
_BY_SCHEMA: OrderedDict[str, OutputValidator[Any]] = OrderedDict()
_SCHEMAS_KEPT = 256
_LOCK = threading.Lock()


def _validator(source: Any) -> OutputValidator[Any]:
    """The validator of ``source``; a JSON Schema dict is checked here, before sending."""
    if source is None:
        return OutputValidator(None)
    if isinstance(source, type):
        with _LOCK:
            found = _BY_CLASS.get(source)
        if found is None:
            found = OutputValidator(source)
            with _LOCK:
                found = _BY_CLASS.setdefault(source, found)
        return found
    key = json.dumps(source, sort_keys=True, default=repr)
    with _LOCK:
        found = _BY_SCHEMA.get(key)
        if found is not None:
            _BY_SCHEMA.move_to_end(key)
            return found
    found = OutputValidator(source)
    found.check_schema()  # outside the lock: a bad schema raises here, nothing kept
    with _LOCK:
        _BY_SCHEMA[key] = found
        if len(_BY_SCHEMA) > _SCHEMAS_KEPT:
            _BY_SCHEMA.popitem(last=False)
    return found


def refusal_of(resp: ChatResponse[Any]) -> str | None:
    """The refusal text of a response: OpenAI's ``refusal``, Anthropic's stop reason
    ``refusal`` or a content filter's stop (None when the model answered)."""
    if resp.refusal:
        return resp.refusal
    if resp.raw_finish_reason == "refusal" or resp.finish_reason == "content_filter":
        return resp.content.strip() or f"the model refused ({resp.raw_finish_reason})"
    return None


def schema_instruction(schema: dict[str, Any] | None, description: str | None = None) -> str:
    """The system-prompt text asking for JSON (that fits ``schema`` when one is given)."""
    head = "Answer with a single JSON value and nothing else: no prose, no Markdown fences."
    if description:
        head += f" It is: {description}"
    if schema is None:
        return head
    return f"{head}\nThe JSON must conform to this JSON Schema:\n" + json.dumps(
        schema, ensure_ascii=False, separators=(",", ":")
    )


def with_instruction(messages: list[Message], text: str) -> list[Message]:
    """``messages`` with a system message holding ``text`` after the leading system ones."""
    from ailib.types.messages import Message, MessageRole

    at = 0
    while at < len(messages) and messages[at].role is MessageRole.SYSTEM:
        at += 1
    return [*messages[:at], Message.system(text), *messages[at:]]
