"""Decoding non-streamed bodies: depth-bounded JSON, and refusing a 200 with no response.

A server can answer 200 with a body that holds no response at all: ``{}``, ``null``,
``[1, 2]``, a string, or an error object (``{"error": {...}}``, Anthropic's
``{"type": "error", "error": {...}}``). Returning an empty ``ChatResponse`` for those would
lose the failure silently. What "a response" is comes from the manifest, not from
provider names: the body must be a JSON object and the manifest's response map must find
at least one of an id, content, a tool call, reasoning, a refusal, a finish reason or
usage in it. Otherwise:

* the body carries an error the manifest's error rules recognise (its error code or
  message paths, or an ``error`` emission of its stream map): the :class:`RemoteError`
  classified from it. Its ``status`` is the HTTP-like numeric code the error object
  carries (Gemini's ``"code": 429``), else ``None``, as for an error inside a 200
  stream; the HTTP status itself was 200. It is not retried by the engine (the request
  was answered), but ``retryable`` tells the caller whether trying again may help;
* anything else: :class:`ResponseDecodeError` showing the start of the body.

Example::

    body = body_json(raw, limits)  # ResponseDecodeError if not JSON or nested too deep
    if not recognised(asm):
        raise unrecognised(spec, body, headers, limits)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ailib.errors import AiLibError, ResponseDecodeError, StreamDecodeError
from ailib.pipeline.safejson import loads
from ailib.runtime.classify import classify, stream_error
from ailib.runtime.limits import Limits

if TYPE_CHECKING:
    from ailib.pipeline.assemble import Assembler
    from ailib.runtime.spec import ProviderSpec

__all__ = ["body_json", "error_body_json", "recognised", "unrecognised"]

_CHAT_MISSING = "the manifest's response map finds no id, content, tool call, finish or usage"
_JSON_TYPES = {
    dict: "a JSON object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def body_json(raw: bytes, limits: Limits, what: str = "response body") -> Any:
    """The JSON value of a 200 body; :class:`ResponseDecodeError` if it is not JSON."""
    try:
        return loads(
            raw,
            max_depth=limits.max_json_depth,
            what=what,
            error=ResponseDecodeError,
            excerpt_bytes=limits.excerpt_bytes,
        )
    except ValueError:
        message = f"{what} is not JSON" if raw.strip() else f"{what} is empty"
        raise ResponseDecodeError(
            message, offset=0, data=raw, excerpt_bytes=limits.excerpt_bytes
        ) from None


def error_body_json(raw: bytes, limits: Limits) -> Any:
    """The JSON value of an HTTP error body, or None (not JSON, or nested too deep)."""
    if not raw:
        return None
    try:
        return loads(raw, max_depth=limits.max_json_depth)
    except (ValueError, StreamDecodeError):  # the status and the text still classify it
        return None


def recognised(asm: Assembler) -> bool:
    """Whether the response map found anything of a response in the body."""
    if asm.usage or asm.meta.get("id"):
        return True
    return any(
        c.content or c.tools or c.finish or c.reasoning or c.refusal or c.thinking
        for c in asm.cands.values()
    )


def unrecognised(
    spec: ProviderSpec,
    body: Any,
    headers: Mapping[str, str],
    limits: Limits,
    secrets: Sequence[str] = (),
    missing: str = _CHAT_MISSING,
) -> AiLibError:
    """The error for a 200 body without a response (see the module docstring).

    ``missing`` says what the manifest's map did not find, for the message.
    """
    tables = spec.errors
    if isinstance(body, dict):
        codes = tables.codes_of(body)
        if codes or tables.message_of(body):
            status = next((int(c) for c in codes if c.isdigit() and 100 <= int(c) <= 599), None)
            return classify(tables, status=status, body=body, headers=headers, secrets=secrets)
        for kind, _, fields in spec.map_stream(body):  # the shape of its in-stream errors
            if kind == "error":
                return stream_error(tables, fields, secrets)
    shown = json.dumps(body, ensure_ascii=False)[: limits.excerpt_bytes].encode()
    what = _JSON_TYPES.get(type(body), "JSON value")
    return ResponseDecodeError(
        f"200 response body holds no recognisable response ({what}; {missing})",
        offset=0,
        data=shown,
        excerpt_bytes=limits.excerpt_bytes,
    )
