"""What every mock provider dialect shares: the :class:`Dialect` base, the :class:`Reply`.

A dialect renders a planned answer in one provider's wire format (see
:mod:`ailib.testing.dialects`); this module holds the base class they subclass, the
rendered response and the JSON / string-template helpers the renderers use.

Example::

    class EchoDialect(Dialect):
        def complete(self, p: Plan) -> bytes:
            return json.dumps({"text": p.text}).encode()
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

import attrs

from ailib.testing.scenario import Call, Plan, compact_json, last_user_text

Headers = list[tuple[str, str]]
_Errors = dict[int, tuple[str, str | None, str]]
_SLOT = "\ue000slot\ue000"
_enc: Callable[[str], str] = json.encoder.encode_basestring  # C-accelerated


def _compact(obj: Any) -> str:
    return compact_json(obj)


def _pretty(obj: Any, indent: int = 2) -> str:
    return json.dumps(obj, indent=indent, ensure_ascii=False)


def _template(rendered: str) -> Callable[[str], str]:
    """Split an event rendered around ``_SLOT`` into a fast string template."""
    pre, post = rendered.split(_enc(_SLOT), 1)
    return lambda piece: pre + _enc(piece) + post


@attrs.frozen
class Reply:
    """A rendered response: a full ``body``, or ``events`` for a chunked stream."""

    status: int
    headers: Headers
    body: bytes = b""
    events: list[bytes] | None = None


class Dialect:
    """Rendering rules of one provider API."""

    tool_prefix = ""
    json_type = "application/json"
    stream_type = "text/event-stream; charset=utf-8"
    #: status -> (error type, error code, message template with ``{model}``)
    errors: ClassVar[_Errors] = {}

    def request_id(self, seq: int) -> tuple[str, str] | None:
        return None

    def headers(self, call: Call, *, error: bool = False) -> Headers:
        ctype = self.stream_type if call.stream and not error else self.json_type
        rid = self.request_id(call.seq)
        return [("content-type", ctype)] + ([rid] if rid else [])

    def error_headers(self, call: Call, status: int) -> Headers:
        """Headers of an error answer (a dialect may add e.g. ``x-amzn-errortype``)."""
        return self.headers(call, error=True)

    def user_text(self, call: Call) -> str:
        """Text of the last user message (what the echo answer repeats)."""
        return last_user_text(call.dialect, call.body)

    def complete(self, p: Plan) -> bytes:
        raise NotImplementedError

    def stream(self, p: Plan) -> list[str] | list[bytes]:
        raise NotImplementedError

    def error_body(self, call: Call, status: int, message: str | None) -> bytes:
        raise NotImplementedError

    def error_entry(self, status: int) -> tuple[str, str | None, str]:
        if status in self.errors:
            return self.errors[status]
        return self.errors[400] if status < 500 else self.errors[500]


def _merge_error(given: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    """``{"error": {...}}`` payload: a dict with an ``error`` key is used verbatim."""
    if "error" in given:
        return given
    inner = default.get("error", default)
    return {"error": {**inner, **given}}
