"""Checks of the options given to ``create()`` and the provider constructors.

A mistake in the configuration is refused where it is made, with a typed error
(:class:`~ailib.errors.ConfigurationError`, E1001) that names the value and what is
expected, before any request is sent:

* :func:`resolve_base_url` -- the base URL in force (the option, else the manifest's with
  ``{region}`` filled), which must be an ``http://`` or ``https://`` URL with a host, no
  whitespace and no user/password part (a password is never echoed).
* :func:`manifest_path_list` -- ``manifest_paths`` as a tuple: one ``str`` or path is one
  path, not a sequence of characters.
* :func:`check_model_arg` -- ``model`` is a ``"provider/model-id"`` str.
* :func:`check_engine_args` -- ``timeout`` is a positive finite number or an
  ``httpx.Timeout`` (not a numeric string), ``max_retries`` an int >= 0.

Example::

    resolve_base_url(spec, "localhost:8080")
    # ConfigurationError: [E1001 invalid_request] base_url 'localhost:8080' has no scheme:
    # expected an http:// or https:// URL such as 'http://localhost:8080'
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ailib.errors import ConfigurationError

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from ailib.runtime.spec import ProviderSpec


def urlsplit(url: str) -> SplitResult:
    """``urllib.parse.urlsplit``, imported on first use (``import ailib`` stays light)."""
    from urllib.parse import urlsplit as split

    return split(url)


__all__ = [
    "check_base_url",
    "check_engine_args",
    "check_model_arg",
    "manifest_path_list",
    "resolve_base_url",
    "shown_url",
]

#: a manifest_paths entry: a path given as str or os.PathLike
PathEntry = str | os.PathLike[str]
_SCHEMES = ("http", "https")
_EXAMPLE = "https://api.example.com/v1"


def shown_url(url: str) -> str:
    """``url`` fit for a message: any ``user:password@`` part replaced by ``***@``, and
    any query or fragment by ``?...`` (a query may carry a key)."""
    cut = min((i for i in (url.find("?"), url.find("#")) if i != -1), default=-1)
    if cut != -1:
        url = url[:cut] + "?..."
    head, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    return head + sep + authority + slash + tail


def check_base_url(url: object, *, origin: str = "base_url", provider: str | None = None) -> str:
    """``url`` without trailing slashes, if it is a usable base URL; else ConfigurationError.

    ``origin`` names where the URL came from in the message (the option, or a manifest).
    """

    def refuse(problem: str, expected: str) -> ConfigurationError:
        return ConfigurationError(f"{origin} {problem}: {expected}", provider=provider)

    if not isinstance(url, str):
        raise refuse(f"is a {type(url).__name__}", f"expected a str such as {_EXAMPLE!r}")
    shown = repr(shown_url(url))
    if not url:
        raise refuse("is empty", f"expected an http:// or https:// URL such as {_EXAMPLE!r}")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise refuse(f"{shown} contains whitespace or a control character", "remove it")
    if "://" not in url:
        bare = url.split(":", 1)[1].lstrip("/") if url.lower().startswith(_SCHEMES) else url
        local = bare.startswith(("localhost", "127.", "[::1]"))
        hint = ("http://" if local else "https://") + bare  # "https:/host" -> "https://host"
        raise refuse(
            f"{shown} has no scheme",
            f"expected an http:// or https:// URL such as {hint!r}",
        )
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is not a number raises ValueError here
    except ValueError as exc:
        raise refuse(f"{shown} is not a valid URL ({exc})", f"expected e.g. {_EXAMPLE!r}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise refuse(
            f"{shown} has the scheme {scheme + '://'!r}",
            "only http:// and https:// are supported",
        )
    if "@" in parts.netloc:
        raise refuse(
            f"{shown} carries a user or password",
            "pass credentials with api_key= or default_headers=, not in the URL",
        )
    host = parts.hostname or ""
    if not host or host.startswith(".") or host.endswith("..") or ".." in host:
        raise refuse(f"{shown} has no valid host", f"expected e.g. {_EXAMPLE!r}")
    if port == 0:
        raise refuse(f"{shown} has port 0", "expected a port from 1 to 65535")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise refuse(  # the chat path is appended to the base URL: "?x=1/chat/completions"
            f"{shown} has a query or fragment",
            "the base URL ends at its path, e.g. 'https://host/v1' (extra query parameters "
            "belong in the manifest's chat path)",
        )
    _check_host_encodes(url, refuse, shown)
    return url.rstrip("/")


def _check_host_encodes(url: str, refuse: Any, shown: str) -> None:
    """The host must be one httpx can send to (IDNA-encodable), else refused here."""
    import httpx

    try:
        httpx.Request("GET", url)  # encodes the host as a request would
    except (httpx.InvalidURL, ValueError) as exc:  # idna.IDNAError is a ValueError
        raise refuse(
            f"{shown} has a host that cannot be encoded ({exc})", "check the host"
        ) from None


def resolve_base_url(spec: ProviderSpec, base_url: object) -> str:
    """The base URL an engine sends to: the option, else the manifest's, checked.

    ``{region}`` in the URL is filled from the manifest's ``region_env`` variables or its
    ``default_region``; when none is set the error names the variables.
    """
    from ailib.transport import resolve_region

    given = base_url is not None
    origin = "base_url" if given else f"manifest {spec.id!r} base_url"
    url = base_url if given else spec.manifest.base_url
    if isinstance(url, str) and "{region}" in url:
        region = resolve_region(spec)
        if not region:
            names = spec.manifest.endpoint.get("region_env", ["AWS_REGION", "AWS_DEFAULT_REGION"])
            raise ConfigurationError(
                f"{origin} {shown_url(url)!r} needs a region: set {' or '.join(names)}"
                + ("" if given else ", or pass base_url="),
                provider=spec.id,
            )
        url = url.replace("{region}", region)
    return check_base_url(url, origin=origin, provider=spec.id)


def host_and_port(url: object) -> str:
    """``host:port`` of a request URL (the scheme's default port if none), for messages.

    Nothing else of the URL is shown: its query may carry a key.
    """
    try:
        parts = urlsplit(str(url))
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    except ValueError:
        return "?"
    host = parts.hostname or "?"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def manifest_path_list(paths: PathEntry | Sequence[PathEntry] | None) -> tuple[PathEntry, ...]:
    """``manifest_paths`` as a tuple of paths; a single str or PathLike is one path."""
    if paths is None:
        return ()
    if isinstance(paths, (str, os.PathLike)):
        return (paths,)
    if isinstance(paths, bytes) or not isinstance(paths, Sequence):
        raise ConfigurationError(
            f"manifest_paths is a {type(paths).__name__}: expected a path (str or "
            "os.PathLike) or a list of them"
        )
    for entry in paths:
        if not isinstance(entry, (str, os.PathLike)):
            raise ConfigurationError(
                f"manifest_paths holds a {type(entry).__name__} ({entry!r}): expected paths "
                "(str or os.PathLike)"
            )
    return tuple(paths)


def check_model_arg(model: object) -> str:
    """``model`` if it is a str (the ``provider/model-id`` split checks the rest)."""
    if not isinstance(model, str):
        raise ConfigurationError(
            f"model is a {type(model).__name__} ({model!r}): expected a str such as 'openai/gpt-4o'"
        )
    return model


def check_engine_args(
    *,
    timeout: Any = None,
    max_retries: Any = None,
    api_key: Any = None,
    default_headers: Any = None,
    retry_policy: Any = None,
    limits: Any = None,
) -> None:
    """``timeout``: None, a positive finite number of seconds or an ``httpx.Timeout``;
    ``max_retries``: None or an int >= 0; ``api_key`` a str; ``default_headers`` a dict of
    str; ``retry_policy`` a dict of the manifest's retry keys; ``limits`` a ``Limits``.
    Else ConfigurationError naming the option (never showing a key or header value)."""
    _check_secrets(api_key, default_headers)
    _check_retry_policy(retry_policy)
    if limits is not None:
        from ailib.runtime.limits import Limits

        if not isinstance(limits, Limits):
            raise ConfigurationError(
                f"limits is a {type(limits).__name__}: expected ailib.Limits(...)"
            )
    if timeout is not None and not _is_httpx_timeout(timeout):
        number = isinstance(timeout, int | float) and not isinstance(timeout, bool)
        if not number or not math.isfinite(timeout) or timeout <= 0:
            raise ConfigurationError(
                f"timeout is {timeout!r} ({type(timeout).__name__}): expected a positive "
                "number of seconds (e.g. timeout=10.0) or an httpx.Timeout"
            )
    if max_retries is not None and (
        not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0
    ):
        raise ConfigurationError(
            f"max_retries is {max_retries!r} ({type(max_retries).__name__}): expected an int "
            ">= 0 (0 turns retries off)"
        )


def _is_httpx_timeout(value: object) -> bool:
    import httpx

    return isinstance(value, httpx.Timeout)


#: an HTTP header name (RFC 9110 token)
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: what may not stand in a header value: CR, LF, NUL and the other controls but tab
_HEADER_BREAK = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _check_secrets(api_key: Any, default_headers: Any) -> None:
    from ailib.runtime.request import Secret

    if api_key is not None and not isinstance(api_key, str | Secret):
        raise ConfigurationError(f"api_key is a {type(api_key).__name__}: expected a str")
    if isinstance(api_key, str) and _HEADER_BREAK.search(api_key):
        raise ConfigurationError(  # never the value: it is a key
            "api_key holds a line break or a control character: it would split the HTTP "
            "header it is sent in (a copy-paste with a trailing newline?)"
        )
    if default_headers is None:
        return
    if not isinstance(default_headers, Mapping):
        raise ConfigurationError(
            f"default_headers is a {type(default_headers).__name__}: expected a dict of "
            "header name -> str value"
        )
    for name, value in default_headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            shown = repr(name) if isinstance(name, str) else type(name).__name__
            raise ConfigurationError(  # the value may be a key: only its type is shown
                f"default_headers[{shown}] must map a str name to a str value, got a "
                f"{type(value).__name__} value"
            )
        if not _HEADER_NAME.fullmatch(name):
            raise ConfigurationError(
                f"default_headers name {name[:80]!r} is not an HTTP header name (letters, "
                "digits and !#$%&'*+-.^_`|~ only)"
            )
        if _HEADER_BREAK.search(value):
            raise ConfigurationError(  # the value may be a key: not shown
                f"default_headers[{name!r}] holds a line break or a control character: it "
                "would split the request's headers"
            )


#: ``retry_policy`` keys and what each must be
_RETRY_KEYS = {
    "max_retries": "an int >= 0",
    "min_delay_ms": "a number >= 0",
    "max_delay_ms": "a number >= 0",
    "jitter": "one of 'full', 'equal', 'none'",
    "retry_on_http_status": "a list of HTTP status ints",
    "strategy": "a str",
}


def _check_retry_policy(policy: Any) -> None:
    if policy is None:
        return
    if not isinstance(policy, Mapping):
        raise ConfigurationError(
            f"retry_policy is a {type(policy).__name__}: expected a dict such as "
            "{'max_retries': 3, 'min_delay_ms': 500}"
        )
    for key, value in policy.items():
        expected = _RETRY_KEYS.get(key)
        if expected is None:  # other AI-Protocol keys pass; a near miss is a typo
            import difflib

            close = difflib.get_close_matches(str(key), list(_RETRY_KEYS), n=1, cutoff=0.8)
            if close:
                raise ConfigurationError(
                    f"retry_policy has no key {key!r}; did you mean {close[0]!r}?"
                )
            continue
        if not _retry_value_ok(key, value):
            raise ConfigurationError(f"retry_policy[{key!r}] is {value!r:.80}: expected {expected}")


def _retry_value_ok(key: str, value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if key == "max_retries":
        return number and isinstance(value, int) and value >= 0
    if key in ("min_delay_ms", "max_delay_ms"):
        return number and math.isfinite(value) and value >= 0
    if key == "jitter":
        return value in ("full", "equal", "none")
    if key == "retry_on_http_status":
        return isinstance(value, list | tuple | set | frozenset) and all(
            isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in value
        )
    return isinstance(value, str)


def check_http_client(client: Any, *, asynchronous: bool) -> None:
    """``http_client`` is an httpx-compatible client of the engine's kind (sync or async)."""
    if client is None:
        return
    import inspect

    send = getattr(client, "send", None)
    if not callable(send) or not callable(getattr(client, "build_request", None)):
        raise ConfigurationError(
            f"http_client is a {type(client).__name__}: expected an httpx.Client-like client "
            "(with build_request and send)"
        )
    if inspect.iscoroutinefunction(send) != asynchronous:
        given = "a sync" if asynchronous else "an async"
        kind, needed = ("async", "httpx.AsyncClient") if asynchronous else ("sync", "httpx.Client")
        raise ConfigurationError(
            f"http_client is {given} client ({type(client).__name__}); this {kind} client "
            f"needs an {needed} (or a compatible one)"
        )


def check_seconds(name: str, value: Any) -> float | None:
    """A positive number of seconds, or None; anything else is a ConfigurationError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"{name} must be a number of seconds > 0, got {value!r:.80}")
    if value != value or value == float("inf"):
        raise ConfigurationError(f"{name} must be a finite number of seconds, got {value!r}")
    return float(value)
