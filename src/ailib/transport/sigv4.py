"""AWS Signature Version 4 request signing (for Bedrock), from the standard AWS variables.

Credentials come from ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and optionally
``AWS_SESSION_TOKEN``; the region from ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` (or the
manifest's default). An ``api_key`` given to the client is used as an AWS bearer token
(``AWS_BEARER_TOKEN_BEDROCK``) instead of signing.

The steps of the algorithm are public so each one can be checked against AWS's published
test suite: ``canonical_request`` -> ``string_to_sign`` -> ``signature``. The URL given is
the one sent: its path is URI-encoded once more (the rule for every service but S3) after
dot segments and repeated slashes are removed, and its query is decoded, re-encoded and
sorted.

Example::

    sign = signer_from_env(service="bedrock", region="us-east-1")
    extra_headers = sign("POST", url, body, {"content-type": "application/json"})
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import quote, unquote, urlsplit

from ailib.errors import AiLibError

ALGORITHM = "AWS4-HMAC-SHA256"
_UNRESERVED = "-_.~"  # with letters and digits: the characters SigV4 never encodes
#: Headers the signer sets itself; values given for them are replaced.
_SIGNER_HEADERS = frozenset({"host", "x-amz-date", "x-amz-security-token", "authorization"})

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(name), str(value)) for name, value in items]


def normalize_path(path: str) -> str:
    """The path without ``.``/``..`` segments and repeated slashes (RFC 3986 5.2.4)."""
    kept: list[str] = []
    segments = path.split("/")
    for segment in segments:
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    trailing = bool(kept) and segments[-1] in ("", ".", "..")
    return "/" + "/".join(kept) + ("/" if trailing else "")


def canonical_uri(path: str, *, normalize: bool = True) -> str:
    """The path as SigV4 signs it: normalized, then URI-encoded (``/`` kept)."""
    path = path or "/"
    return quote(normalize_path(path) if normalize else path, safe="/" + _UNRESERVED)


def canonical_query(query: str) -> str:
    """``name=value`` pairs decoded, re-encoded strictly, sorted by name then value."""
    pairs = []
    for part in query.split("&") if query else []:
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append(
            (quote(unquote(name), safe=_UNRESERVED), quote(unquote(value), safe=_UNRESERVED))
        )
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_headers(headers: Headers) -> tuple[str, str]:
    """(canonical header block, signed header names) of every header given.

    Names are lower-cased and sorted; a value is trimmed with inner runs of whitespace
    collapsed to one space; values of a repeated name are joined with commas in order.
    """
    merged: dict[str, list[str]] = {}
    for name, value in _pairs(headers):
        merged.setdefault(name.strip().lower(), []).append(" ".join(value.split()))
    names = sorted(merged)
    block = "".join(f"{name}:{','.join(merged[name])}\n" for name in names)
    return block, ";".join(names)


def canonical_request(
    method: str, url: str, headers: Headers, body: bytes = b"", *, normalize: bool = True
) -> str:
    """Task 1 of SigV4: the canonical request of ``method url`` with exactly these headers."""
    parts = urlsplit(url)
    block, signed = canonical_headers(headers)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(parts.path, normalize=normalize),
            canonical_query(parts.query),
            block,
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """Task 2 of SigV4: algorithm, timestamp, scope and the canonical request's hash."""
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return "\n".join([ALGORITHM, amz_date, scope, digest])


def signature(secret_key: str, scope: str, to_sign: str) -> str:
    """Task 3 of SigV4: HMAC chain over the scope's date, region, service, then the text."""
    key = ("AWS4" + secret_key).encode()
    for part in scope.split("/"):  # day, region, service, "aws4_request"
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = parts.port
    return host if port is None or port == default else f"{host}:{port}"


def sign(
    method: str,
    url: str,
    body: bytes,
    headers: Headers,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    session_token: str | None = None,
    now: datetime.datetime | None = None,
    normalize: bool = True,
) -> dict[str, str]:
    """Headers to add to a request so AWS accepts it (SigV4, signed payload).

    Every header given is signed, plus ``host``, ``x-amz-date`` and (with a session
    token) ``x-amz-security-token``, which the signer sets itself.
    """
    moment = now or datetime.datetime.now(datetime.timezone.utc)
    if moment.tzinfo is not None:  # a naive time is taken as UTC already
        moment = moment.astimezone(datetime.timezone.utc)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    added = {"x-amz-date": amz_date}
    if session_token:
        added["x-amz-security-token"] = session_token
    signed = [(k, v) for k, v in _pairs(headers) if k.strip().lower() not in _SIGNER_HEADERS]
    signed += [("host", _host(url)), *added.items()]
    canonical = canonical_request(method, url, signed, body, normalize=normalize)
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    proof = signature(secret_key, scope, string_to_sign(amz_date, scope, canonical))
    added["authorization"] = (
        f"{ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={canonical_headers(signed)[1]}, Signature={proof}"
    )
    return added


def signer_from_env(
    *, service: str, region: str | None, api_key: str | None = None
) -> Callable[[str, str, bytes, dict[str, str]], dict[str, str]]:
    """A signer reading AWS credentials from the environment when each request is signed."""

    def signer(method: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        bearer = api_key or os.environ.get("AWS_BEARER_TOKEN_BEDROCK")
        if bearer:
            return {"authorization": f"Bearer {bearer}"}
        access = os.environ.get("AWS_ACCESS_KEY_ID")
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not access or not secret:
            raise AiLibError(
                "AWS credentials not found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(and AWS_SESSION_TOKEN for temporary credentials), or AWS_BEARER_TOKEN_BEDROCK",
                code="E1002",
            )
        if not region:
            raise AiLibError("AWS region not set: set AWS_REGION", code="E1001")
        return sign(
            method,
            url,
            body,
            headers,
            access_key=access,
            secret_key=secret,
            region=region,
            service=service,
            session_token=os.environ.get("AWS_SESSION_TOKEN"),
        )

    return signer
