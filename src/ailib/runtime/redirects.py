"""Redirects (3xx): a typed error, or a hop that never carries credentials to another origin.

ailib follows a redirect only when the ``http_client`` passed in was made with
``follow_redirects=True``; it then follows the hops itself (the client is asked not to),
up to the client's ``max_redirects``, and on a hop to another origin (scheme, host or
port differ) drops every credential: ``Authorization``, ``x-api-key``, ``api-key``,
``x-goog-api-key``, the manifest's own auth header, any header or query parameter whose
name looks like a credential (``*key*``, ``*token*``, ``*auth*``, ``cookie``...) and the
AWS SigV4 headers. Otherwise a 3xx raises :class:`~ailib.errors.RedirectError` naming the
status and the ``Location``.

Example::

    client = AiClient.create("openai/gpt-4o", http_client=httpx.Client(follow_redirects=True))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ailib.errors import RedirectError
from ailib.runtime.redact import looks_secret, mask_known

#: statuses that carry a Location to follow
FOLLOWABLE = frozenset({301, 302, 303, 307, 308})
#: credential headers dropped on a cross-origin hop (besides any name that looks secret)
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}

Signer = Callable[[str, str, bytes, dict[str, str]], dict[str, str]]


def is_redirect(status: int) -> bool:
    return 300 <= status < 400


def follows_redirects(client: Any) -> bool:
    """Whether the user's client asked for redirects to be followed."""
    return getattr(client, "follow_redirects", False) is True


def max_hops(client: Any) -> int:
    value = getattr(client, "max_redirects", 20)
    return value if isinstance(value, int) and value >= 0 else 20


def redirect_error(response: Any, provider: str | None, why: str) -> RedirectError:
    """The error naming a redirect that was not followed (``why`` says why not)."""
    location = response.headers.get("location")
    shown = mask_known(str(location)) if location else None
    target = f" to {shown}" if shown else " without a Location"
    return RedirectError(
        f"the server answered HTTP {response.status_code} (redirect){target}; {why}",
        status=response.status_code,
        location=shown,
        provider=provider,
    )


def invalid_location(exc: BaseException, provider: str | None) -> RedirectError | None:
    """A RedirectError for ``exc`` if the http client raised it on a redirect's Location.

    httpx parses a 3xx's ``Location`` even when it does not follow it; a malformed one
    (``javascript:x``, ``http://[::1``) must not escape as a raw or retried error.
    """
    if type(exc).__name__ != "InvalidURL" and "location header" not in str(exc).lower():
        return None
    shown = mask_known(str(exc))[:300]
    return RedirectError(
        f"the server answered a redirect with an invalid Location ({shown})", provider=provider
    )


def follow_hop(
    client: Any,
    request: Any,
    response: Any,
    hops: int,
    *,
    provider: str | None,
    secret_names: Iterable[str] = (),
    signer: Signer | None = None,
) -> Any:
    """The request of the next hop after the redirect ``response``, or the RedirectError."""
    if not follows_redirects(client):
        why = "ailib follows redirects only for an http_client with follow_redirects=True"
        raise redirect_error(response, provider, why)
    if response.status_code not in FOLLOWABLE or not response.headers.get("location"):
        raise redirect_error(response, provider, "not a redirect that can be followed")
    if hops >= max_hops(client):
        raise redirect_error(response, provider, f"too many redirects ({hops} followed)")
    try:
        target = request.url.join(response.headers["location"])
    except Exception:  # a Location the URL parser refuses
        target = None
    if target is None or str(target.scheme).lower() not in _DEFAULT_PORTS or not target.host:
        raise redirect_error(response, provider, "ailib follows only http(s) redirects")
    return next_request(request, response, secret_names=secret_names, signer=signer)


def _origin(url: Any) -> tuple[str, str, int | None]:
    scheme = str(url.scheme).lower()
    return scheme, str(url.host).lower(), url.port or _DEFAULT_PORTS.get(scheme)


def next_request(
    request: Any,
    response: Any,
    *,
    secret_names: Iterable[str] = (),
    signer: Signer | None = None,
) -> Any:
    """The request of the next hop of ``response`` (a followable 3xx with a Location).

    ``secret_names`` are extra header/query names to drop across origins (the
    manifest's own); ``signer`` re-signs a hop that stays on the same origin.
    """
    url = request.url.join(response.headers["location"])
    method = request.method
    status = response.status_code
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"  # what httpx and browsers do: the body is not sent again
    body = request.content if method == request.method else b""
    dropped = {"host", "content-length", "transfer-encoding"}
    if not body:
        dropped.add("content-type")
    cross_origin = _origin(url) != _origin(request.url)
    secret = {name.lower() for name in secret_names} | CREDENTIAL_HEADERS
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        low = name.lower()
        if low in dropped or (low.startswith("x-amz-") and signer is not None):
            continue
        if cross_origin and (low in secret or looks_secret(low) or low.startswith("x-amz-")):
            continue
        if low == "authorization" and signer is not None:
            continue  # a SigV4 signature is for one URL: re-signed below
        headers[name] = value
    if cross_origin:
        for name in list(url.params.keys()):
            if name.lower() in secret or looks_secret(name):
                url = url.copy_remove_param(name)
    elif signer is not None:
        headers.update(signer(method, str(url), body, headers))
    return type(request)(
        method, url, headers=headers, content=body or None, extensions=dict(request.extensions)
    )
