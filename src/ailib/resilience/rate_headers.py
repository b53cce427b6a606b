"""What a provider's rate-limit response headers say about waiting before the next call.

:func:`provider_wait` reads the headers the manifest's ``rate_limit_headers`` names
(requests / tokens remaining, their resets, ``retry-after``) and :func:`parse_reset`
reads a reset the way providers write it (seconds, ``"6m0s"`` durations, Unix times,
ISO 8601 or HTTP dates). Pure functions, no waiting; the rate limiter
(:mod:`ailib.resilience.limiter`) applies what they find.

Example::

    parse_reset("1m30s")   # 90.0
    provider_wait({"x-ratelimit-remaining-requests": "0",
                   "x-ratelimit-reset-requests": "1.5s"},
                  {"requests_remaining": "x-ratelimit-remaining-requests"})  # (1.5, ...)
"""

from __future__ import annotations

import email.utils
import math
import re
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

_DURATION = re.compile(
    r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?"
)


def parse_reset(value: str | None, now: float | None = None) -> float | None:
    """Seconds until a reset the way providers write it; None when unreadable.

    ``"20"`` / ``"0.5"`` seconds; ``"6m0s"`` / ``"1h2m3s"`` / ``"20ms"`` durations
    (OpenAI, Groq); a Unix time in seconds or milliseconds (OpenRouter); an ISO 8601
    time (Anthropic) or an HTTP date. ``now`` is the wall time (default: ``time.time()``).
    """
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    wall = time.time() if now is None else now
    seconds: float | None = None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if math.isfinite(number):
        if number > 1e12:  # Unix milliseconds
            seconds = number / 1000 - wall
        elif number > 1e9:  # Unix seconds
            seconds = number - wall
        else:
            seconds = number
    elif (match := _DURATION.fullmatch(text)) and any(match.groups()):
        h, m, s, ms = (float(g) if g else 0.0 for g in match.groups())
        seconds = h * 3600 + m * 60 + s + ms / 1000
    else:
        seconds = _date_seconds(text, wall)
    return None if seconds is None else max(seconds, 0.0)


def _date_seconds(text: str, wall: float) -> float | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp() - wall


#: the longest hold-back a provider's headers may impose (a day, like a Retry-After)
MAX_HOLD_SECONDS = 86400.0


def _header(headers: Mapping[str, str], name: Any) -> str | None:
    """The value of header ``name`` (any case); None when absent or ``name`` is no str."""
    if not isinstance(name, str) or not name:
        return None
    value = headers.get(name)
    if value is None and not isinstance(headers, _case_insensitive()):  # a plain dict
        wanted = name.lower()
        value = next(
            (v for k, v in headers.items() if isinstance(k, str) and k.lower() == wanted), None
        )
    return value if isinstance(value, str) else None


def _case_insensitive() -> tuple[type, ...]:
    """The case-insensitive header classes (``httpx.Headers`` once httpx is loaded)."""
    module = sys.modules.get("httpx")
    return (module.Headers,) if module is not None else ()


def _header_number(headers: Mapping[str, str], name: Any) -> float | None:
    raw = _header(headers, name)
    try:
        value = float(raw) if raw is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _reset_name(names: Mapping[str, Any], kind: str) -> str | None:
    """The reset header of ``kind``: declared, or named like its remaining header.

    OpenAI's and Anthropic's manifests name only the remaining headers; their reset
    headers follow the same pattern (``x-ratelimit-remaining-requests`` /
    ``x-ratelimit-reset-requests``, ``anthropic-ratelimit-tokens-remaining`` /
    ``anthropic-ratelimit-tokens-reset``).
    """
    declared = names.get(f"{kind}_reset")
    if isinstance(declared, str) and declared:
        return declared
    remaining = names.get(f"{kind}_remaining")
    if isinstance(remaining, str) and "remaining" in remaining:
        return remaining.replace("remaining", "reset")
    return None


def provider_wait(
    headers: Mapping[str, str] | None, names: Mapping[str, str], now: float | None = None
) -> tuple[float, str] | None:
    """``(seconds, header)`` to hold calls back, from a response's rate-limit headers.

    ``names`` is the manifest's ``rate_limit_headers``. Holds back when the requests or
    tokens remaining are 0 and the matching reset (declared, or named like the remaining
    header) or ``retry-after`` is readable; None otherwise. Never more than
    ``MAX_HOLD_SECONDS``; names that are not strings are ignored.

    Example::

        provider_wait({"x-ratelimit-remaining-requests": "0",
                       "x-ratelimit-reset-requests": "1.5s"},
                      {"requests_remaining": "x-ratelimit-remaining-requests",
                       "requests_reset": "x-ratelimit-reset-requests"})   # (1.5, ...)
    """
    if not headers or not names:
        return None
    found: tuple[float, str] | None = None
    for kind in ("requests", "tokens"):
        remaining = _header_number(headers, names.get(f"{kind}_remaining"))
        if remaining is None or remaining > 0:
            continue
        reset_name: Any = _reset_name(names, kind)
        wait = parse_reset(_header(headers, reset_name), now)
        if wait is None:
            reset_name = names.get("retry_after", "retry-after")
            wait = parse_reset(_header(headers, reset_name), now)
            ms = _header_number(headers, names.get("retry_after_ms"))
            if ms is not None and ms >= 0:
                wait, reset_name = ms / 1000, names["retry_after_ms"]
        if wait is not None and wait > 0 and (found is None or wait > found[0]):
            found = (min(wait, MAX_HOLD_SECONDS), f"{names[f'{kind}_remaining']} = 0, {reset_name}")
    return found
