"""Checks of what a caller passes to the builder or a typed ``chat()``, before sending.

A common mistake becomes a typed :class:`~ailib.errors.InvalidRequestError` (E1001)
that names the argument, never a raw ``TypeError`` from deep inside. OpenAI-shaped
message and tool dicts (pasted from other code) are accepted and converted.

Example::

    coerce_messages([{"role": "user", "content": "hi"}])  # [Message.user("hi")]
    check_param("temperature", float("nan"))  # ParameterError (an InvalidRequestError)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ailib.dialects import EFFORT_BUDGETS
from ailib.errors import InvalidRequestError, ParameterError
from ailib.types.message_dicts import message_from_dict
from ailib.types.messages import Message
from ailib.types.tools import ToolDefinition

__all__ = [
    "check_extra_body",
    "check_model",
    "check_param",
    "coerce_message",
    "coerce_messages",
    "coerce_tools",
]

#: reasoning efforts accepted by ``.reasoning("...")`` (OpenAI's documented ones)
EFFORTS = tuple(EFFORT_BUDGETS)
#: keys of a ``.reasoning({...})`` dict: portable ones, then those of one wire each
#: (Responses ``summary``/``generate_summary``, Gemini ``include_thoughts``, Ollama ``think``)
REASONING_KEYS = (
    "effort",
    "budget_tokens",
    "summary",
    "generate_summary",
    "include_thoughts",
    "think",
)


def check_model(value: Any) -> None:
    """The model id sent on the wire: a non-empty str without whitespace."""
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise InvalidRequestError(
            f"model must be a non-empty model id (a str such as 'gpt-4o'), got {value!r:.80}"
        )


def coerce_messages(value: Any, where: str = "messages") -> list[Message]:
    """A list of Message from Messages and OpenAI-style message dicts."""
    if isinstance(value, str | bytes):
        raise InvalidRequestError(
            f"{where} must be a list of Message (or OpenAI-style message dicts), not a "
            f"{type(value).__name__}: use [Message.user(text)], or .user(text) on the builder"
        )
    if isinstance(value, Message | Mapping) or not isinstance(value, Iterable):
        raise InvalidRequestError(
            f"{where} must be a list of Message (or OpenAI-style message dicts), got a "
            f"{type(value).__name__}" + (": wrap it in a list" if _is_one(value) else "")
        )
    return [coerce_message(item, f"{where}[{i}]") for i, item in enumerate(value)]


def coerce_message(item: Any, where: str = "message") -> Message:
    """A Message, or an OpenAI-style message dict converted to one."""
    if isinstance(item, Message):
        return item
    if isinstance(item, Mapping):
        return message_from_dict(item, where)
    raise InvalidRequestError(
        f"{where} must be a Message or an OpenAI-style message dict, got a {type(item).__name__}"
    )


def coerce_tools(value: Any, where: str = "tools") -> list[ToolDefinition]:
    """A list of ToolDefinition from definitions and OpenAI-style tool dicts."""
    if value is None:
        return []
    if isinstance(value, str | bytes | ToolDefinition | Mapping) or not isinstance(value, Iterable):
        raise InvalidRequestError(
            f"{where} must be a list of ToolDefinition (or OpenAI-style tool dicts), got a "
            f"{type(value).__name__}" + (": wrap it in a list" if _is_one(value) else "")
        )
    out: list[ToolDefinition] = []
    for i, item in enumerate(value):
        if isinstance(item, ToolDefinition):
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(ToolDefinition.from_dict(item))
        else:
            raise InvalidRequestError(
                f"{where}[{i}] must be a ToolDefinition or an OpenAI-style tool dict, got a "
                f"{type(item).__name__} (ToolDefinition.from_function(func) builds one)"
            )
    return out


def _is_one(value: Any) -> bool:
    return isinstance(value, Message | ToolDefinition | Mapping)


def check_json_value(
    where: str, value: Any, error: type[InvalidRequestError] = InvalidRequestError
) -> None:
    """``value`` must be plain JSON: str, number, bool, None, list, dict; no NaN or inf."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError as exc:  # NaN/inf, or a circular reference
        raise error(f"{where} is not valid JSON: {exc} (got {value!r})") from None
    except TypeError as exc:  # a set, a datetime, an object
        raise error(
            f"{where} must be JSON-serialisable (str, number, bool, None, list, dict): {exc}"
        ) from None
    except RecursionError:
        raise error(f"{where} is nested too deeply to send") from None


def check_param(name: Any, value: Any) -> None:
    """A parameter value fit to send; ``stop`` and ``reasoning`` are checked closer.

    Raises ParameterError (an InvalidRequestError, E1001) naming the parameter.
    """
    if not isinstance(name, str) or not name:
        raise ParameterError(f"a parameter name must be a non-empty str, got {name!r}")
    if value is None:
        return
    check_json_value(f"parameter {name!r}", value, ParameterError)
    if name == "stop":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(s, str) for s in items):
            raise ParameterError(f"parameter 'stop' must be a str or a list of str, got {value!r}")
        if any(s == "" for s in items):  # providers refuse it, or stop at once
            raise ParameterError(f"parameter 'stop' has an empty stop sequence: {value!r}")
    elif name == "reasoning":
        check_reasoning(value)


def check_reasoning(value: Any) -> None:
    """An effort name, a token budget (int >= 0), a bool, or a dict of those."""
    efforts = ", ".join(repr(e) for e in EFFORTS)
    if isinstance(value, bool):
        return
    if isinstance(value, str):
        if value not in EFFORTS:
            raise ParameterError(f"reasoning effort must be one of {efforts}, got {value!r}")
    elif isinstance(value, int):
        if value < 0:
            raise ParameterError(f"a reasoning budget must be >= 0 tokens, got {value}")
    elif isinstance(value, dict):
        unknown = [k for k in value if k not in REASONING_KEYS]
        if unknown:
            known = ", ".join(repr(k) for k in REASONING_KEYS)
            raise ParameterError(f"reasoning has no key {unknown[0]!r} (known keys: {known})")
        effort, budget = value.get("effort"), value.get("budget_tokens")
        if effort is not None and effort not in EFFORTS:
            raise ParameterError(f"reasoning['effort'] must be one of {efforts}, got {effort!r}")
        if budget is not None and (
            not isinstance(budget, int) or isinstance(budget, bool) or budget < 0
        ):
            raise ParameterError(f"reasoning['budget_tokens'] must be an int >= 0, got {budget!r}")
    else:
        raise ParameterError(
            f"reasoning must be an effort ({efforts}), a token budget (int) or a dict, "
            f"got {type(value).__name__}"
        )


def check_extra_body(value: Any) -> dict[str, Any]:
    """``extra_body`` as a dict of plain JSON values."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"extra_body must be a dict, got {type(value).__name__}")
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidRequestError(f"extra_body keys must be str, got {key!r}")
        check_json_value(f"extra_body[{key!r}]", item)
    return dict(value)
