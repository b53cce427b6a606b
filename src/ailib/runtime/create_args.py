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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ailib.errors import ConfigurationError

if TYPE_CHECKING:
    from ailib.runtime.spec import ProviderSpec

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
    """``url`` fit for a message: any ``user:password@`` part replaced by ``***@``."""
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
        hint = ("http://" if url.startswith(("localhost", "127.", "[::1]")) else "https://") + url
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
    return url.rstrip("/")


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


def check_engine_args(*, timeout: Any = None, max_retries: Any = None) -> None:
    """``timeout``: None, a positive finite number of seconds or an ``httpx.Timeout``;
    ``max_retries``: None or an int >= 0. Else ConfigurationError naming the option."""
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
