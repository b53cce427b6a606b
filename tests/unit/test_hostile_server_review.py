"""Hostile servers, second pass (issue 6, items 8, 19, 20 and the Retry-After bounds).

Sync and async twins through httpx.MockTransport:

* ``Content-Encoding: gzip, gzip`` (a nested bomb) is inflated in bounded pieces too;
* a redirect to a non-http(s) scheme, or with a Location httpx cannot parse, is a
  :class:`RedirectError` (not a raw ``httpx.InvalidURL`` nor a retried connection error);
* a JSON completion or an HTML page sent without a Content-Type (or as text/plain) to a
  stream request is "not a stream", not "0 frames" marked retryable;
* a Retry-After far in the future, out of range or NaN never crashes and is capped, and a
  server's huge request id is shown bounded in the error's message.
"""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import httpx
import pytest

from ailib.errors import (
    RedirectError,
    RemoteError,
    ResponseTooLargeError,
    StreamDecodeError,
    StreamInterruptedError,
    TransportError,
)
from ailib.runtime.classify import MAX_RETRY_AFTER
from ailib.runtime.limits import MIB, Limits
from tests.unit.test_hostile_bodies import (
    BODY,
    EMBEDDING,
    MODES,
    Chunks,
    chat,
    embed,
    json_reply,
)

# ---- item 20: a bomb inside a bomb --------------------------------------------------------


@pytest.fixture(scope="module")
def nested_bomb() -> bytes:
    """gzip(gzip(64 MiB of zeros)): a few KB on the wire."""
    return gzip.compress(gzip.compress(bytes(64 * MIB), compresslevel=9), compresslevel=9)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stream", [False, True])
def test_nested_gzip_bomb_stops_early(mode: str, stream: bool, nested_bomb: bytes) -> None:
    ctype = "text/event-stream" if stream else "application/json"

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": ctype, "content-encoding": "gzip, gzip"}
        return httpx.Response(200, headers=headers, stream=Chunks(nested_bomb))

    with pytest.raises(ResponseTooLargeError) as info:
        chat(mode, handler, stream=stream, limits=Limits(max_body_bytes=1 << 30))
    assert "max_decompression_ratio" in str(info.value)
    assert info.value.received < 2 * MIB  # stopped after about 1 MiB, never near 64 MiB


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("coding", ["gzip, gzip", "deflate, gzip", "gzip,identity", "x-gzip"])
def test_stacked_codings_within_bounds_decode(mode: str, coding: str) -> None:
    body = json.dumps(BODY["openai"]).encode()
    for name in (c.strip() for c in coding.split(",")):
        if name in ("gzip", "x-gzip"):
            body = gzip.compress(body)
        elif name == "deflate":
            body = zlib.compress(body)

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", "content-encoding": coding}
        return httpx.Response(200, headers=headers, stream=Chunks(body[:7], body[7:]))

    assert chat(mode, handler) == "hi"


# ---- item 19: redirects that cannot be followed ---------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://files.test/x"])
def test_redirect_to_a_non_http_scheme_is_a_redirect_error(mode: str, location: str) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(302, headers={"location": location})

    with pytest.raises(RedirectError) as info:
        chat(mode, handler, client_options={"follow_redirects": True}, max_retries=2)
    assert location in str(info.value) and "http(s)" in str(info.value)
    assert len(calls) == 1 and not info.value.retryable  # refused, not retried


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("follow", [False, True])
@pytest.mark.parametrize("location", ["javascript:alert(1)", "http://[::1"])
def test_redirect_with_a_malformed_location_is_a_redirect_error(
    mode: str, follow: bool, location: str
) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(301, headers={"location": location})

    options = {"follow_redirects": follow}
    with pytest.raises(RedirectError) as info:
        chat(mode, handler, client_options=options, max_retries=2)
    assert "redirect" in str(info.value) and not info.value.retryable
    assert len(calls) == 1


@pytest.mark.parametrize("mode", MODES)
def test_stream_redirect_with_a_malformed_location_is_a_redirect_error(mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "javascript:x"})

    with pytest.raises(RedirectError):
        chat(mode, handler, stream=True, max_retries=2)


# ---- item 8: an untyped non-stream answer ---------------------------------------------------

PAGE = b"<!DOCTYPE html><html><body>Sign in</body></html>"
UNTYPED = [
    (provider, ctype, body)
    for provider in ("openai", "anthropic", "gemini")
    for ctype in (None, "text/plain")
    for body in (json.dumps(BODY[provider]).encode(), b"\n  " + PAGE)
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider,ctype,body", UNTYPED)
def test_untyped_non_stream_answer_to_stream_request(
    mode: str, provider: str, ctype: str | None, body: bytes
) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        response = httpx.Response(200, stream=Chunks(body))
        if ctype is not None:
            response.headers["content-type"] = ctype
        return response

    with pytest.raises(StreamDecodeError) as info:
        chat(mode, handler, provider=provider, stream=True, max_retries=2)
    err = info.value
    assert "not a stream" in str(err) and (ctype or "none") in str(err)
    assert body.strip()[:10] in err.data and not err.retryable and len(calls) == 1


SSE = (
    b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
    b'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ctype", [None, "text/plain; charset=utf-8"])
@pytest.mark.parametrize("lead", [b"", b"\n", b": keep-alive\n\n"])
def test_untyped_sse_still_decodes(mode: str, ctype: str | None, lead: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        response = httpx.Response(200, stream=Chunks(lead[:1], lead[1:] + SSE))
        if ctype is not None:
            response.headers["content-type"] = ctype
        return response

    assert chat(mode, handler, stream=True) == "hi"


# ---- Retry-After and other server-chosen headers --------------------------------------------


def rate_limited(**headers: str) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return json_reply({"error": {"message": "slow down"}}, 429, **headers)

    return handler


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "headers,expected",
    [
        ({"retry-after": "1e308"}, MAX_RETRY_AFTER),
        ({"retry-after": "Fri, 31 Dec 99999999 23:59:59 GMT"}, None),  # year out of range
        ({"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"}, MAX_RETRY_AFTER),
        ({"retry-after": "NaN"}, None),
        ({"retry-after": "-5"}, 0.0),
        ({"retry-after-ms": "inf"}, MAX_RETRY_AFTER),
        ({"retry-after-ms": "nan", "retry-after": "2"}, 2.0),
        ({"retry-after-ms": "soon", "retry-after": "3"}, 3.0),
    ],
)
def test_retry_after_is_bounded_and_never_crashes(
    mode: str, headers: dict[str, str], expected: float | None
) -> None:
    with pytest.raises(RemoteError) as info:
        chat(mode, rate_limited(**headers))
    assert info.value.status == 429 and info.value.retry_after == expected


@pytest.mark.parametrize("mode", MODES)
def test_huge_request_id_is_shown_bounded(mode: str) -> None:
    request_id = "req-" + "A" * 1_000_000

    with pytest.raises(RemoteError) as info:
        chat(mode, rate_limited(**{"x-request-id": request_id}))
    assert info.value.request_id == request_id  # kept whole on the attribute
    assert len(str(info.value)) < 2_000 and "req-AAAA" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ctype", ["application/json", "text/plain", None])
def test_stream_silent_before_its_first_byte_is_interrupted(mode: str, ctype: str | None) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        response = httpx.Response(200, stream=Chunks(error=httpx.ReadTimeout("timed out")))
        if ctype is not None:
            response.headers["content-type"] = ctype
        return response

    with pytest.raises(StreamInterruptedError) as info:
        chat(mode, handler, stream=True)
    assert info.value.code == "E3003" and "0 frames" in str(info.value)


# ---- item 2: a compressed body cut short on a close-delimited connection -------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_compressed_body_cut_short_is_a_retryable_transport_error(mode: str, coding: str) -> None:
    whole = json.dumps(BODY["openai"]).encode()
    body = gzip.compress(whole) if coding == "gzip" else zlib.compress(whole)
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        headers = {"content-type": "application/json", "content-encoding": coding}
        if len(calls) == 1:  # no Content-Length: the end of the connection ends the body
            return httpx.Response(200, headers=headers, stream=Chunks(body[: len(body) // 2]))
        return httpx.Response(200, headers=headers, stream=Chunks(body))

    with pytest.raises(TransportError) as info:
        chat(mode, handler)
    assert info.value.code == "E3001" and info.value.retryable
    assert "ended before its end marker" in str(info.value)
    calls.clear()
    assert chat(mode, handler, max_retries=1) == "hi" and len(calls) == 2  # retried


# ---- embeddings go through the same seams ---------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_embeddings_refuse_nested_bombs_cut_bodies_and_bad_redirects(
    mode: str, nested_bomb: bytes
) -> None:
    coded = {"content-type": "application/json", "content-encoding": "gzip, gzip"}
    half = gzip.compress(gzip.compress(json.dumps(EMBEDDING).encode()))[:20]
    cases: list[tuple[httpx.Response, type[Exception]]] = [
        (httpx.Response(200, headers=coded, stream=Chunks(nested_bomb)), ResponseTooLargeError),
        (httpx.Response(200, headers=coded, stream=Chunks(half)), TransportError),
        (httpx.Response(302, headers={"location": "javascript:x"}), RedirectError),
    ]
    for response, error in cases:
        with pytest.raises(error) as info:
            embed(mode, lambda request, r=response: r, limits=Limits(max_body_bytes=1 << 30))
        assert getattr(info.value, "received", 0) < 2 * MIB  # a bomb stops after ~1 MiB


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("coding", ["gzip, gzip, compress", "br, gzip"])
def test_gzip_mixed_with_other_codings_is_refused(
    mode: str, stream: bool, coding: str, nested_bomb: bytes
) -> None:
    ctype = "text/event-stream" if stream else "application/json"

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": ctype, "content-encoding": coding}
        return httpx.Response(200, headers=headers, stream=Chunks(nested_bomb))

    with pytest.raises(TransportError) as info:  # never handed to the client to inflate whole
        chat(mode, handler, stream=stream, limits=Limits(max_body_bytes=1 << 30))
    assert "cannot be inflated within bounds" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("coding", ["br", "zstd"])
def test_a_coding_ailib_did_not_ask_for_is_refused(mode: str, stream: bool, coding: str) -> None:
    """ailib asks for gzip and deflate only (it inflates those in bounded pieces); a br or
    zstd body (which a client with brotli/zstandard would inflate a chunk at a time,
    unbounded) is refused, never handed over."""
    seen: list[str] = []
    ctype = "text/event-stream" if stream else "application/json"

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("accept-encoding", ""))
        headers = {"content-type": ctype, "content-encoding": coding}
        return httpx.Response(200, headers=headers, stream=Chunks(b"\x0b\x02\x80bomb\x03"))

    with pytest.raises(TransportError) as info:
        chat(mode, handler, stream=stream)
    assert "was not asked for" in str(info.value)
    assert seen == ["gzip, deflate"]
