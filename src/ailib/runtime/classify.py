"""Error classification: provider error → typed error with a standard code.

Order: provider code found in the body → the provider's HTTP override → the standard
HTTP map → message patterns → E9999.

Example::

    err = classify(tables, status=429, body=body, headers=headers)
    err.code, err.retryable, err.retry_after
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ailib.errors import STANDARD_HTTP_MAP, RemoteError, standard_code
from ailib.runtime.redact import redact_deep, redact_text


@attrs.frozen
class ErrorTables:
    """The classification data of one provider (dict literals when compiled)."""

    provider: str
    by_code: Mapping[str, str]
    by_status: Mapping[int, str]
    patterns: tuple[tuple[re.Pattern[str], str], ...]
    codes_of: Callable[[Any], list[str]]
    message_of: Callable[[Any], str | None]
    request_id_headers: tuple[str, ...] = ("x-request-id", "request-id")
    retry_after_headers: tuple[str, ...] = ("retry-after",)
    retry_after_ms_headers: tuple[str, ...] = ("retry-after-ms",)
    # headers naming the error (AWS: ``x-amzn-errortype: ValidationException:http://...``)
    code_headers: tuple[str, ...] = ()


#: the longest Retry-After kept (a day): ``err.retry_after`` is always safe to sleep on
MAX_RETRY_AFTER = 86400.0


def _seconds(value: float) -> float | None:
    """A server's wait, within [0, MAX_RETRY_AFTER]; None for NaN."""
    return None if math.isnan(value) else min(max(0.0, value), MAX_RETRY_AFTER)


def parse_retry_after(headers: Mapping[str, str], tables: ErrorTables) -> float | None:
    """Seconds to wait from retry-after-ms / Retry-After (delta seconds or HTTP date).

    Garbage is ignored; the result is never negative, NaN or over ``MAX_RETRY_AFTER``.
    """
    for name in tables.retry_after_ms_headers:
        value = headers.get(name)
        if value:
            try:
                seconds = _seconds(float(value) / 1000.0)
            except ValueError:
                continue
            if seconds is not None:
                return seconds
    for name in tables.retry_after_headers:
        value = headers.get(name)
        if not value:
            continue
        try:
            seconds = _seconds(float(value))
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                try:
                    return _seconds(email.utils.mktime_tz(parsed) - time.time())
                except (OverflowError, ValueError):
                    continue
            continue
        if seconds is not None:
            return seconds
    return None


def standard_name(tables: ErrorTables, status: int | None, codes: list[str], message: str) -> str:
    for code in codes:
        name = tables.by_code.get(code)
        if name:
            return name
    if status is not None:
        name = tables.by_status.get(status)
        if name:
            return name
        std = STANDARD_HTTP_MAP.get(status)
        if std:
            return std
    for pattern, name in tables.patterns:
        if pattern.search(message):
            return name
    if status is not None and status >= 500:
        return "E3001"
    return "E9999"


def classify(
    tables: ErrorTables,
    *,
    status: int | None,
    body: Any,
    headers: Mapping[str, str] | None = None,
    text: str = "",
    secrets: Sequence[str] = (),
) -> RemoteError:
    """Build the typed error for an HTTP error response or an in-stream error.

    ``secrets`` (the caller's keys) are redacted from the message and the body: servers
    echo keys back ("Incorrect API key provided: sk-abc...wxyz").
    """
    headers = headers or {}
    codes = tables.codes_of(body) if body is not None else []
    for name in tables.code_headers:
        value = headers.get(name)
        if value:
            codes.insert(0, value.split(":", 1)[0].strip())
    message = tables.message_of(body) if body is not None else None
    if not message:
        message = text[:500] or (f"HTTP {status}" if status else "provider error")
    name = standard_name(tables, status, codes, message)
    request_id = next((headers[h] for h in tables.request_id_headers if headers.get(h)), None)
    if request_id is None and isinstance(body, dict) and isinstance(body.get("request_id"), str):
        request_id = body["request_id"]
    return RemoteError(
        redact_text(message, secrets) if secrets else message,
        code=standard_code(name).code,
        status=status,
        provider_code=codes[0] if codes else None,
        request_id=request_id,
        retry_after=parse_retry_after(headers, tables),
        provider=tables.provider,
        body=redact_deep(body, list(secrets)),
    )


def stream_error(
    tables: ErrorTables, fields: dict[str, Any], secrets: Sequence[str] = ()
) -> RemoteError:
    """The typed error for an error event inside a 200 stream (``secrets`` redacted).

    A numeric code (OpenRouter sends ``{"error": {"code": 400, ...}}``) is read as the
    HTTP status the request would have had.
    """
    codes = [str(fields[k]) for k in ("code", "type") if fields.get(k) is not None]
    message = str(fields.get("message") or "error in stream")
    status = next((int(c) for c in codes if c.isdigit() and 100 <= int(c) <= 599), None)
    name = standard_name(tables, status, [c for c in codes if not c.isdigit()], message)
    return RemoteError(
        redact_text(message, secrets) if secrets else message,
        code=standard_code(name).code,
        status=status,
        provider_code=codes[0] if codes else None,
        provider=tables.provider,
        body=redact_deep(fields, list(secrets)),
    )
