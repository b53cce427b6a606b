"""Keeping credentials out of logs, reprs and error messages.

Used by the engines, ``Prepared``'s repr and error classification:

* :func:`looks_secret` -- whether a header or query-parameter name carries a credential
  (``Authorization``, ``x-api-key``, ``X-Custom-Token``, ``cookie``...).
* :func:`mask_url` / :func:`redact_text` -- a URL or a text with credential query values,
  URL passwords and known key values (and long fragments of them) replaced by ``***``.
* :class:`Secret` / :class:`MaskedDict` -- a key and a header dict that never show a
  credential in their reprs.
* :func:`register` -- keys the log filter removes from every record of the HTTP loggers
  (``httpx`` writes each request's URL at INFO, with a query-parameter key in it).

Example::

    mask_url("https://h/v1/models/m:generateContent?key=AIza123")
    # 'https://h/v1/models/m:generateContent?key=***'
    redact_text("Incorrect API key provided: sk-abc12345***wxyz", ["sk-abc1234567890wxyz"])
    # 'Incorrect API key provided: ******wxyz'
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "MaskedDict",
    "Secret",
    "looks_secret",
    "mask_known",
    "mask_url",
    "mask_whole_keys",
    "masked_options",
    "redact_deep",
    "redact_text",
    "register",
]

MASK = "***"
#: name parts of headers and query parameters that carry credentials
SECRET_NAME_PARTS = (
    "auth",
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "cookie",
    "credential",
    "signature",
)
#: shorter values are not searched for in text (they would hit ordinary words)
MIN_SECRET = 8
#: a run of this many characters of a key, echoed anywhere, is redacted
FRAGMENT = 8
#: loggers whose records can carry request URLs or headers (records are filtered where
#: they are created, so each logger that emits is named, not only the parents)
HTTP_LOGGERS = (
    "ailib",
    "ailib.protocol",
    "httpx",
    "httpcore.connection",
    "httpcore.connection_pool",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "hpack.hpack",
    "hpack.table",
    # the other transport backends (ailib.transport.backends)
    "httpx2",
    "httpcore2.connection",
    "httpcore2.connection_pool",
    "httpcore2.http11",
    "httpcore2.http2",
    "httpcore2.proxy",
    "httpcore2.socks",
    "aiohttp.client",
    "aiohttp.internal",
)

_QUERY_PAIR = re.compile(r"(?<=[?&;])([^=&#;\s\"'<>]+)=([^&#;\s\"'<>]*)")
_USERINFO = re.compile(r"(?<=://)([^/@:\s\"'<>]*):([^/@\s\"'<>]+)@")

_lock = threading.RLock()  # re-entrant: a record logged while collecting garbage
_secrets: weakref.WeakSet[Secret] = weakref.WeakSet()
_param_names: set[str] = set()


class Secret:
    """An API key that never shows itself in repr, str or logs.

    Example::

        key = Secret("sk-...")
        repr(key), key.reveal()  # ("Secret('***')", "sk-...")
    """

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


class MaskedDict(dict[str, str]):
    """Headers or query parameters whose credential values never show in a repr.

    Masked: the known credential names, any name that looks like one (``*key*``,
    ``*token*``, ``*secret*``, ``*auth*``, ``cookie``...) and the manifest's own
    (``extra_secret``). The values stay: it is a plain ``dict`` for httpx::

        MaskedDict({"X-Custom-Key": "k", "accept": "json"})
        # MaskedDict({'X-Custom-Key': '***', 'accept': 'json'})
    """

    secret_names = frozenset(
        {"authorization", "x-api-key", "api-key", "x-goog-api-key", "key", "x-amz-security-token"}
    )
    extra_secret: frozenset[str] = frozenset()  # a manifest's own credential header/param

    def hides(self, name: str) -> bool:
        """Whether the value under ``name`` is a credential (never shown)."""
        low = name.lower()
        return low in self.secret_names or low in self.extra_secret or looks_secret(low)

    def __repr__(self) -> str:
        shown = {k: MASK if self.hides(k) else v for k, v in self.items()}
        return f"MaskedDict({shown!r})"

    __str__ = __repr__


def looks_secret(name: str) -> bool:
    """Whether a header or query-parameter name looks like it carries a credential."""
    low = name.lower()
    return low in _param_names or any(part in low for part in SECRET_NAME_PARTS)


def mask_url(url: str) -> str:
    """``url`` (or any text holding URLs) with credential query values and passwords masked."""
    if "=" in url:
        url = _QUERY_PAIR.sub(_mask_pair, url)
    if "@" in url:
        url = _USERINFO.sub(rf"\1:{MASK}@", url)
    return url


def mask_known(text: str) -> str:
    """:func:`mask_url` plus every registered key's value removed (reprs, error messages)."""
    return redact_text(mask_url(text), registered_secrets())


def mask_whole_keys(text: str) -> str:
    """:func:`mask_url` plus every registered key removed where it appears whole (also
    URL-encoded): for any error text, where a fragment search could hit ordinary data."""
    return _replace_whole(mask_url(text), registered_secrets())


def _replace_whole(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, MASK)
        for form in {quote(secret, safe=""), quote_plus(secret)} - {secret}:  # %2B or %2b
            text = re.sub(re.escape(form), MASK, text, flags=re.IGNORECASE)
    return text


def _mask_pair(match: re.Match[str]) -> str:
    name = match.group(1)
    return f"{name}={MASK}" if looks_secret(name) else match.group(0)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` without the secrets: each whole (also URL-encoded) and each run of
    :data:`FRAGMENT` or more of its characters (servers echo keys partly: ``sk-abc...wxyz``).
    """
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True):
        text = _redact_fragments(_replace_whole(text, [secret]), secret)
    return text


def _redact_fragments(text: str, secret: str) -> str:
    grams = {secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)}
    covered = bytearray(len(text))
    for gram in grams:
        start = text.find(gram)
        while start != -1:
            covered[start : start + FRAGMENT] = b"\1" * FRAGMENT
            start = text.find(gram, start + 1)
    if b"\1" not in covered:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append(MASK)
        else:
            j = covered.find(b"\1", i)
            j = len(text) if j == -1 else j
            out.append(text[i:j])
            i = j
    return "".join(out)


def redact_deep(value: Any, secrets: list[str]) -> Any:
    """A parsed JSON value (an error body) with the secrets removed from every string."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {redact_deep(k, secrets): redact_deep(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_deep(v, secrets) for v in value]
    return value


def register(secrets: Iterable[Secret], param_names: Iterable[str] = ()) -> None:
    """Keys (held weakly) and credential query names removed from HTTP log records.

    Installs the log filter once on each of :data:`HTTP_LOGGERS`; a user's own filters
    and handlers are left as they are.
    """
    with _lock:
        for secret in secrets:
            if secret:
                _secrets.add(secret)
        _param_names.update(name.lower() for name in param_names)
        for name in HTTP_LOGGERS:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


def registered_secrets() -> list[str]:
    """The values of the registered keys still held by some engine."""
    with _lock:
        return [s.reveal() for s in list(_secrets)]


class RedactingFilter(logging.Filter):
    """Rewrites a record whose message shows a credential; the record itself passes.

    The message is formatted here and stored without ``args``, so a handler that
    formats the record later sees only the masked text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's to report
            return True
        clean = mask_known(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:  # the traceback text, formatted once here
            record.exc_text = mask_known(_FORMATTER.formatException(record.exc_info))
        return True


_FORMATTER = logging.Formatter()


_FILTER = RedactingFilter()


def masked_options(options: dict[str, Any]) -> dict[str, Any]:
    """Engine keyword arguments kept for later engines, with the key and headers masked."""
    out = dict(options)
    if isinstance(out.get("api_key"), str):
        out["api_key"] = Secret(out["api_key"])
    if isinstance(out.get("default_headers"), dict):
        out["default_headers"] = MaskedDict(out["default_headers"])
    return out
