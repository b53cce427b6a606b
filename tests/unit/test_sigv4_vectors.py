"""SigV4 against AWS's published Signature Version 4 test suite, step by step.

The vectors live in tests/fixtures/sigv4/ (provenance in its README.md): each request is
signed by ``ailib.transport.sigv4`` and its canonical request, string to sign and
Authorization header are compared with AWS's expected files, each step on its own.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import NamedTuple

import pytest

from ailib.transport.sigv4 import (
    canonical_query,
    canonical_request,
    canonical_uri,
    sign,
    signature,
    string_to_sign,
)

SUITE = Path(__file__).resolve().parents[1] / "fixtures" / "sigv4"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AMZ_DATE = "20150830T123600Z"
SCOPE = "20150830/us-east-1/service/aws4_request"
NOW = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.timezone.utc)
#: get-vanilla's .authz is not vendored; get-vanilla-query.sreq signs the same request
SAME_REQUEST = {"get-vanilla": "get-vanilla-query"}


class Request(NamedTuple):
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    authorization: str | None  # the Authorization line of a .sreq


def parse_request(text: str) -> Request:
    """A suite ``.req``/``.sreq``: ``METHOD path HTTP/1.1``, headers, blank line, body."""
    head, _, body = text.partition("\n\n")
    first, *lines = head.split("\n")
    method, _, rest = first.partition(" ")
    path = rest.rsplit(" ", 1)[0]  # the path may hold spaces (get-space)
    headers: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):  # a folded line: another value of the same header
            headers.append((headers[-1][0], line))
            continue
        name, _, value = line.partition(":")
        headers.append((name, value))
    authorization = None
    for name, value in headers:
        if name.lower() == "authorization":
            authorization = value.strip()
    headers = [(n, v) for n, v in headers if n.lower() != "authorization"]
    return Request(
        method, "https://example.amazonaws.com" + path, headers, body.encode(), authorization
    )


def cases(*exts: str) -> list[str]:
    names = {p.stem for p in SUITE.iterdir() if p.suffix in (".req", ".sreq")}
    return sorted(n for n in names if all((SUITE / f"{n}{e}").exists() for e in exts))


def read(name: str, ext: str) -> str:
    return (SUITE / f"{name}{ext}").read_text(encoding="utf-8")


def request(name: str) -> Request:
    ext = ".req" if (SUITE / f"{name}.req").exists() else ".sreq"
    return parse_request(read(name, ext))


def expected_authorization(name: str) -> str:
    name = SAME_REQUEST.get(name, name)
    if (SUITE / f"{name}.authz").exists():
        return read(name, ".authz")
    found = request(name).authorization
    assert found is not None, f"{name}: no .authz and no Authorization line"
    return found


def test_the_suite_is_present() -> None:
    assert len(cases()) >= 25
    assert len(cases(".creq", ".sts", ".authz")) >= 5


@pytest.mark.parametrize("name", cases(".creq"))
def test_canonical_request(name: str) -> None:
    req = request(name)
    assert canonical_request(req.method, req.url, req.headers, req.body) == read(name, ".creq")


@pytest.mark.parametrize("name", cases(".creq", ".sts"))
def test_string_to_sign_from_the_published_canonical_request(name: str) -> None:
    assert string_to_sign(AMZ_DATE, SCOPE, read(name, ".creq")) == read(name, ".sts")


@pytest.mark.parametrize("name", cases(".sts", ".authz"))
def test_signature_from_the_published_string_to_sign(name: str) -> None:
    proof = read(name, ".authz").rsplit("Signature=", 1)[1]
    assert signature(SECRET_KEY, SCOPE, read(name, ".sts")) == proof


@pytest.mark.parametrize("name", cases())
def test_authorization_header(name: str) -> None:
    req = request(name)
    token = next((v for n, v in req.headers if n.lower() == "x-amz-security-token"), None)
    added = sign(
        req.method,
        req.url,
        req.body,
        req.headers,  # host, x-amz-date and the token are set by the signer itself
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region="us-east-1",
        service="service",
        session_token=token,
        now=NOW,
    )
    assert added["x-amz-date"] == AMZ_DATE
    assert added["authorization"] == expected_authorization(name)
    if token:
        assert added["x-amz-security-token"] == token


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/./", "/"),
        ("//example//", "/example/"),
        ("/example1/example2/../..", "/"),
        ("/example space/", "/example%20space/"),
        ("/\u1234", "/%E1%88%B4"),
        # a path as sent on the wire is encoded once more (every service but S3): Bedrock ids
        ("/model/anthropic.claude-v2%3A1/converse", "/model/anthropic.claude-v2%253A1/converse"),
    ],
)
def test_canonical_uri_rules(path: str, canonical: str) -> None:
    assert canonical_uri(path) == canonical


def test_canonical_query_decodes_before_encoding() -> None:
    # a query already percent-encoded on the wire is not encoded twice; order is by name, value
    assert canonical_query("b=x%20y&a=2&a=1&c") == "a=1&a=2&b=x%20y&c="
    assert canonical_query("k=a+b/c") == "k=a%2Bb%2Fc"
