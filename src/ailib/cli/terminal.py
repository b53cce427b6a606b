"""What the ``ailib`` command prints: escaped text, JSON lines, one-line errors, exit codes.

Example::

    print(clean("\\x1b]0;pwn"))           # \\x1b]0;pwn  (the ESC shown, never obeyed)
    line, status = explain(err)           # "ailib: E2001 rate_limited: ... -> wait ...", 1
"""

from __future__ import annotations

import json
import re
from typing import Any

from ailib.errors import AiLibError

#: the command worked
EXIT_OK = 0
#: the provider or the runtime failed (network, rate limit, key refused, unknown model...)
EXIT_ERROR = 1
#: the command line is wrong (bad option, bad --tools file, a request refused before sending)
EXIT_USAGE = 2
#: stopped with Ctrl-C (128 + SIGINT)
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "exit codes: 0 ok; 1 provider or runtime error (network, rate limit, key refused, "
    "unknown model); 2 usage error (bad option or --tools file, a request refused before "
    "sending); 130 interrupted (Ctrl-C). Errors are one line on stderr: the standard code "
    "(E1001..E9999) and what to do; --debug adds the traceback."
)

# C0 and C1 controls and DEL: printed raw, manifest text, error messages or model output
# could drive the terminal (retitle it, clear it, fake lines). Shown escaped instead.
# Lone surrogates (a JSON "\ud800" escape) cannot be written to a UTF-8 stream at all.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# what json.dumps(ensure_ascii=False) leaves raw: DEL, the C1 controls, lone surrogates
_RAW_IN_JSON = re.compile("[\x7f-\x9f\ud800-\udfff]")


def clean(text: object, *, keep_lines: bool = False) -> str:
    """``text`` safe for a terminal: each control character shown as a ``\\xNN`` escape.

    Example: an ESC in a model name prints as the four characters ``\\x1b``.
    ``keep_lines`` keeps newlines and tabs (multi-line output such as JSON or an answer).
    """
    pattern = _CONTROL_BUT_LINES if keep_lines else _CONTROL
    return pattern.sub(_escaped, str(text))


def _escaped(match: re.Match[str]) -> str:
    point = ord(match.group())
    return f"\\x{point:02x}" if point <= 0xFF else f"\\u{point:04x}"


def json_line(obj: Any) -> str:
    """``obj`` as one line of JSON, with no control character left raw (``\\u001b``)."""
    text = json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":"))
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class CommandError(Exception):
    """A failure the command itself detects at run time (exit 1), shown as one line."""


class UsageError(Exception):
    """A mistake on the command line found by the command itself (exit 2).

    Example::

        raise UsageError("--tools calc.py: function 'add' has no type hint for 'b'")
    """


_HINTS = {
    "E1001": "check the options (ailib chat --help)",
    "E1002": "check the API key (--api-key or the provider's environment variable)",
    "E1003": "this key has no access to that model; use another model or key",
    "E1004": "check the model name (ailib providers; ailib models PROVIDER)",
    "E1005": "shorten the conversation (/reset) or drop what the model cannot take",
    "E2001": "rate limited: wait and try again, or add --fallback MODEL",
    "E2002": "quota exhausted: check the account's plan or billing, or add --fallback MODEL",
    "E3001": "the provider failed: try again later, or add --fallback MODEL",
    "E3002": "the provider is overloaded: try again later, or add --fallback MODEL",
    "E3003": "timed out: check the network and try again",
    "E4001": "conflict: try again",
    "E4002": "cancelled",
    "E9999": "run again with --debug for details",
}


def explain(
    exc: BaseException, *, key_names: tuple[str, ...] = (), secret: str | None = None
) -> tuple[str, int]:
    """One line for stderr and the exit code for ``exc``.

    ``key_names``: the environment variables the provider's manifest reads its key from
    (named when the key is missing); ``secret``: a key that must never be shown.
    """
    from ailib.errors import (
        CapabilityError,
        InvalidRequestError,
        RemoteError,
        TransportError,
    )

    if isinstance(exc, UsageError):
        return _one_line(f"ailib: usage error: {exc}", secret), EXIT_USAGE
    if isinstance(exc, CommandError):
        return _one_line(f"ailib: error: {exc}", secret), EXIT_ERROR
    if not isinstance(exc, AiLibError):
        text = f"ailib: internal error: {type(exc).__name__}: {exc} (run again with --debug)"
        return _one_line(text, secret), EXIT_ERROR
    where = f"{exc.provider}: " if exc.provider else ""
    head = f"ailib: {exc.code} {exc.name}: {where}{exc.message}"
    if exc.code == "E1002" and "no API key" in exc.message and key_names:
        head = f"ailib: E1002 authentication: no API key for provider {exc.provider!r}"
        tried = ", ".join(key_names)
        hint = (
            f"tried the environment variables {tried}: export {key_names[0]}=... or pass --api-key"
        )
    elif isinstance(exc, TransportError) and "connection" in exc.message:
        hint = "cannot reach the provider: check the network, a proxy, or --base-url"
    elif exc.code == "E2001" and exc.retry_after is not None:
        hint = f"rate limited: wait {exc.retry_after:g}s and try again, or add --fallback MODEL"
    elif isinstance(exc, CapabilityError):
        hint = "the model lacks it: drop that option or pick another model (ailib models PROVIDER)"
    elif exc.code == "E1004" and "unknown provider" in exc.message:
        hint = "ailib providers lists them"
    else:
        hint = _HINTS.get(exc.code, _HINTS["E9999"])
    if isinstance(exc, RemoteError) and exc.status is not None:
        head += f" (HTTP {exc.status})"
    local = isinstance(exc, InvalidRequestError | CapabilityError)
    status = EXIT_USAGE if local else EXIT_ERROR
    return _one_line(f"{head} -> {hint}", secret), status


def _one_line(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "***")
    if len(text) > 600:
        text = text[:600] + "..."
    return clean(text)
