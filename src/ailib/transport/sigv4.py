"""AWS Signature Version 4 request signing (for Bedrock), from the standard AWS variables.

Credentials come from ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and optionally
``AWS_SESSION_TOKEN``; the region from ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` (or the
manifest's default). An ``api_key`` given to the client is used as an AWS bearer token
(``AWS_BEARER_TOKEN_BEDROCK``) instead of signing.

Example::

    sign = signer_from_env(service="bedrock", region="us-east-1")
    extra_headers = sign("POST", url, body, {"content-type": "application/json"})
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from ailib.errors import AiLibError

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _canonical_query(query: str) -> str:
    pairs = []
    for part in query.split("&") if query else []:
        name, _, value = part.partition("=")
        pairs.append((quote(name, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def sign(
    method: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    session_token: str | None = None,
    now: datetime.datetime | None = None,
) -> dict[str, str]:
    """Headers to add to a request so AWS accepts it (SigV4, signed payload)."""
    moment = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    parts = urlsplit(url)
    payload_hash = hashlib.sha256(body).hexdigest()
    added = {"x-amz-date": amz_date}
    if session_token:
        added["x-amz-security-token"] = session_token
    signed = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed.update(added)
    signed["host"] = parts.netloc
    names = sorted(signed)
    canonical = "\n".join(
        [
            method.upper(),
            quote(parts.path or "/", safe="/-_.~"),
            _canonical_query(parts.query),
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret_key).encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    added["authorization"] = (
        f"{ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
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
