"""Bounded decoding (issue 6, items 20 and 22): a hostile server cannot exhaust the client.

Lines, SSE events, JSON-array elements and AWS event-stream messages have a maximum size;
JSON from the wire has a maximum nesting depth; a :class:`StreamDecodeError` keeps only an
excerpt of the offending bytes. Every bound raises a typed error, never ``RecursionError``.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import RemoteError, ResponseDecodeError, StreamDecodeError
from ailib.pipeline import safejson
from ailib.pipeline.decoders import JsonArrayDecoder, NdjsonDecoder, SseDecoder, make_decoder
from ailib.pipeline.eventstream import EventStreamDecoder, encode_event, encode_message
from ailib.pipeline.frames import FrameReader
from ailib.pipeline.safejson import first_too_deep, loads
from ailib.runtime.limits import DEFAULT_LIMITS, Limits

DEEP = 100_000  # far past the interpreter's recursion limit
SMALL = Limits(max_line_bytes=1000, max_event_bytes=2000, max_json_depth=8, excerpt_bytes=64)


def deep_array(depth: int = DEEP) -> bytes:
    return b"[" * depth + b"]" * depth


def deep_object(depth: int = DEEP) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# ---- safejson ----------------------------------------------------------------------------


@pytest.mark.parametrize("data", [deep_array(), deep_object(), b"[" * DEEP])
def test_loads_refuses_deep_json_with_a_typed_error(data: bytes) -> None:
    with pytest.raises(StreamDecodeError) as info:
        loads(data)
    err = info.value
    assert "nested deeper than 256" in str(err)
    assert err.offset == data.index(b"[" if data[0] == 0x5B else b"{", 0) + 256 * (
        1 if data[0] == 0x5B else 5
    )
    assert len(err.data) == DEFAULT_LIMITS.excerpt_bytes


def test_loads_of_str_input_and_custom_error_class() -> None:
    with pytest.raises(ResponseDecodeError) as info:
        loads("[" * 50 + "]" * 50, max_depth=10, offset=100, error=ResponseDecodeError)
    assert info.value.offset == 110


def test_loads_accepts_json_up_to_the_depth_and_ignores_brackets_in_strings() -> None:
    assert loads(deep_array(8), max_depth=8) == json.loads(deep_array(8))
    text = json.dumps({"a": "[[[[[[[[[[{{{{{{{{{{", "b": ['\\"[[[[[[[[[[']})
    assert loads(text, max_depth=2) == json.loads(text)
    with pytest.raises(StreamDecodeError):
        loads(deep_array(9), max_depth=8)
    with pytest.raises(ValueError):  # malformed JSON stays a ValueError for the caller
        loads(b"{oops", max_depth=8)


@pytest.mark.parametrize(
    ("data", "depth", "expected"),
    [
        (b'[["]]]]"]]', 1, 1),
        (b"[[1]]", 2, None),
        (b'["\\\\", [[1]]]', 2, 8),  # an escaped backslash does not hide the quote after it
        (b'["\\"[[[[", [1]]', 1, 11),  # an escaped quote does not end the string
        (b'["\\"[[[[", [1]]', 2, None),
        (b'{"a": [{"b": [2]}], "c": [[[[3]]]]}', 3, 13),
        (b'{"a": [{"b": [2]}], "c": [[[[3]]]]}', 4, 28),
        (b"]]]][[[[", 2, None),  # stray closing brackets (json rejects them) lower the depth
    ],
)
def test_first_too_deep_finds_the_bracket(data: bytes, depth: int, expected: int | None) -> None:
    assert first_too_deep(data, depth) == expected
    assert first_too_deep(data.decode(), depth) == expected


def test_loads_turns_a_recursion_error_into_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def recursing(data: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")  # e.g. called deep in a stack

    monkeypatch.setattr(safejson, "plain_loads", recursing)
    with pytest.raises(StreamDecodeError, match="nested deeper than 200"):
        loads(deep_array(120), max_depth=200)


# ---- the excerpt -------------------------------------------------------------------------


def test_stream_decode_error_keeps_a_bounded_excerpt() -> None:
    line = b'{"a": ' + b"x" * 100_000 + b"\n"
    with pytest.raises(StreamDecodeError) as info:
        NdjsonDecoder().feed(line)
    err = info.value
    assert err.data == line[:512]  # not the 100 kB line
    assert len(str(err)) < 1000
    with pytest.raises(StreamDecodeError) as info:
        NdjsonDecoder(Limits(excerpt_bytes=16)).feed(line)
    assert info.value.data == line[:16]


def test_json_array_error_excerpt_is_bounded() -> None:
    body = b"[1, x" + b"y" * 100_000
    with pytest.raises(StreamDecodeError) as info:
        JsonArrayDecoder(SMALL).feed(body)
    assert info.value.offset == 4 and info.value.data == body[4:68]


# ---- SSE ---------------------------------------------------------------------------------


def test_sse_line_without_a_line_end_is_refused_before_it_grows() -> None:
    decoder = SseDecoder(SMALL)
    assert decoder.feed(b"data: {}\n\n") != []
    with pytest.raises(StreamDecodeError) as info:
        for _ in range(100):
            decoder.feed(b"data: " + b"x" * 94)
    err = info.value
    assert "longer than 1000 bytes" in str(err) and err.offset == 10
    assert decoder.bytes_seen <= 10 + 1100  # it stopped at the first chunk past the limit
    assert len(decoder._tail) <= 1000  # never held more than the limit


@pytest.mark.parametrize("end", [b"\n", b"\r", b"\r\n"])
def test_sse_long_complete_line_in_one_chunk_is_refused(end: bytes) -> None:
    body = b"data: 1" + end + end + b"data: " + b"y" * 2000 + end + end
    with pytest.raises(StreamDecodeError) as info:
        SseDecoder(SMALL).feed(body)
    assert info.value.offset == 7 + 2 * len(end)
    assert info.value.data.startswith(b"data: yyy")


def test_sse_event_with_too_much_data_is_refused() -> None:
    decoder = SseDecoder(SMALL)
    with pytest.raises(StreamDecodeError) as info:
        for _ in range(100):
            decoder.feed(b"data: " + b"z" * 93 + b"\n")  # 100-byte lines, no blank line
    err = info.value
    assert "larger than 2000 bytes" in str(err)
    assert err.offset == 100 * 21  # the 22nd data line crosses 2000 bytes of data
    assert len(decoder._data) <= 21


def test_sse_within_bounds_is_unchanged() -> None:
    body = b"".join(b"data: " + b"a" * 900 + b"\n" for _ in range(2)) + b"\n"
    (event,) = SseDecoder(SMALL).feed(body)
    assert event.data == "a" * 900 + "\n" + "a" * 900


# ---- NDJSON ------------------------------------------------------------------------------


def test_ndjson_line_size_is_bounded() -> None:
    decoder = NdjsonDecoder(SMALL)
    assert decoder.feed(b'{"a": 1}\n') == [{"a": 1}]
    with pytest.raises(StreamDecodeError) as info:
        for _ in range(50):
            decoder.feed(b"7" * 100)
    assert info.value.offset == 9 and "NDJSON line longer than 1000" in str(info.value)


def test_ndjson_deep_line_is_refused_with_the_line_offset() -> None:
    decoder = NdjsonDecoder()
    with pytest.raises(StreamDecodeError) as info:
        decoder.feed(b'{"ok": 1}\n' + deep_array() + b"\n")
    assert info.value.offset == 10 + 256
    assert "nested deeper than 256" in str(info.value)


# ---- JSON array --------------------------------------------------------------------------


def test_json_array_open_element_is_bounded() -> None:
    decoder = JsonArrayDecoder(SMALL)
    assert decoder.feed(b'[{"a": 1}, {"b": "') == [{"a": 1}]
    with pytest.raises(StreamDecodeError) as info:
        for _ in range(50):
            decoder.feed(b"q" * 100)
    assert info.value.offset == 11 and "larger than 2000 bytes" in str(info.value)


def test_json_array_complete_element_is_bounded() -> None:
    element = json.dumps({"t": "w" * 3000}).encode()
    with pytest.raises(StreamDecodeError, match="larger than 2000"):
        JsonArrayDecoder(SMALL).feed(b"[" + element + b"]")
    with pytest.raises(StreamDecodeError, match="larger than 2000"):
        JsonArrayDecoder(SMALL).feed(b"[" + b"1" * 3000)  # a number that never ends


def test_json_array_deep_element_is_refused_with_its_offset() -> None:
    with pytest.raises(StreamDecodeError) as info:
        JsonArrayDecoder().feed(b'[{"a": 1},\n' + deep_object() + b"]")
    assert info.value.offset == 11 + 256 * 5
    assert info.value.data.startswith(b'{"a":{"a":')
    chunks = JsonArrayDecoder(SMALL)
    chunks.feed(b"[")
    with pytest.raises(StreamDecodeError, match="nested deeper than 8"):
        for _ in range(20):
            chunks.feed(b"[")


# ---- AWS event stream --------------------------------------------------------------------


def _prelude(total: int) -> bytes:
    head = struct.pack(">II", total, 0)
    return head + struct.pack(">I", zlib.crc32(head))


def test_event_stream_message_size_is_refused_from_the_prelude() -> None:
    decoder = EventStreamDecoder(SMALL)
    good = encode_event("messageStop", {"stopReason": "end_turn"})
    assert decoder.feed(good) == [{"messageStop": {"stopReason": "end_turn"}}]
    with pytest.raises(StreamDecodeError) as info:
        decoder.feed(_prelude(5000))  # only the prelude has arrived
    assert info.value.offset == len(good) and "larger than 1000 bytes" in str(info.value)


def test_event_stream_deep_payload_is_refused() -> None:
    raw = encode_message(
        {
            ":event-type": "contentBlockDelta",
            ":content-type": "application/json",
            ":message-type": "event",
        },
        deep_array(),
    )
    with pytest.raises(StreamDecodeError) as info:
        make_decoder("aws_eventstream").feed(raw)
    assert "event-stream payload nested deeper than 256" in str(info.value)
    assert info.value.data == b"[" * 512


# ---- SSE frames --------------------------------------------------------------------------


def test_frame_reader_refuses_deep_event_data() -> None:
    events = SseDecoder().feed(b"data: " + deep_array() + b"\n\n")
    with pytest.raises(StreamDecodeError, match="stream event data nested deeper than 256"):
        FrameReader({}).frames(events, 123)
    assert FrameReader({}, SMALL).frames(SseDecoder().feed(b"data: [[1]]\n\n"), 0) == [[[1]]]


# ---- through the engine, sync and async --------------------------------------------------

KEY = "sk-test-bounded-0123456789"


def _handler(status: int, body: bytes, ctype: str) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"content-type": ctype}, content=body)

    return handle


def _client(status: int, body: bytes, ctype: str = "application/json", **kw: Any) -> AiClient:
    transport = httpx.MockTransport(_handler(status, body, ctype))
    return AiClient.create(
        "openai/gpt-4o",
        api_key=KEY,
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx.Client(transport=transport),
        max_retries=0,
        **kw,
    )


async def _aclient(
    status: int, body: bytes, ctype: str = "application/json", **kw: Any
) -> AsyncAiClient:
    transport = httpx.MockTransport(_handler(status, body, ctype))
    return await AsyncAiClient.create(
        "openai/gpt-4o",
        api_key=KEY,
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx.AsyncClient(transport=transport),
        max_retries=0,
        **kw,
    )


def _deep_body() -> bytes:
    return b'{"choices": ' + deep_array() + b"}"


def test_deep_200_body_sync() -> None:
    with _client(200, _deep_body()) as client, pytest.raises(ResponseDecodeError) as info:
        client.chat().user("hi").execute()
    assert "response body nested deeper than 256" in str(info.value)


async def test_deep_200_body_async() -> None:
    async with await _aclient(200, _deep_body()) as client:
        with pytest.raises(ResponseDecodeError) as info:
            await client.chat().user("hi").execute()
    assert info.value.offset == 12 + 255  # the outer object is the first level


def test_deep_error_body_is_still_classified_by_status_sync() -> None:
    with _client(429, _deep_body()) as client, pytest.raises(RemoteError) as info:
        client.chat().user("hi").execute()
    assert info.value.status == 429 and info.value.code == "E2001" and info.value.body is None


async def test_deep_error_body_is_still_classified_by_status_async() -> None:
    async with await _aclient(503, _deep_body()) as client:
        with pytest.raises(RemoteError) as info:
            await client.chat().user("hi").execute()
    assert info.value.status == 503 and info.value.retryable


def _deep_stream() -> bytes:
    good = b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
    return good + b"data: " + deep_array() + b"\n\n"


def test_deep_stream_frame_sync() -> None:
    client = _client(200, _deep_stream(), "text/event-stream")
    with (
        client,
        pytest.raises(StreamDecodeError, match="nested deeper than 256"),
        client.chat().user("x").stream() as stream,
    ):
        list(stream)


async def test_deep_stream_frame_async() -> None:
    async with await _aclient(200, _deep_stream(), "text/event-stream") as client:
        with pytest.raises(StreamDecodeError, match="nested deeper than 256"):
            async with client.chat().user("x").stream() as stream:
                async for _ in stream:
                    pass


def _endless_line() -> Iterator[bytes]:
    yield b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
    for _ in range(10_000):  # 10 MB, no line end: refused long before the end
        yield b"data: " + b"x" * 1000


def test_stream_line_limit_comes_from_the_client_limits_sync() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=_endless_line()
        )

    client = AiClient.create(
        "openai/gpt-4o",
        api_key=KEY,
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handle)),
        limits=Limits(max_line_bytes=4096),
    )
    with (
        client,
        pytest.raises(StreamDecodeError, match="SSE line longer than 4096") as info,
        client.chat().user("x").stream() as stream,
    ):
        list(stream)
    assert info.value.offset == 58 and len(info.value.data) == 512


async def test_stream_event_limit_comes_from_the_client_limits_async() -> None:
    async def lines() -> Any:
        for _ in range(10_000):
            yield b"data: " + b"x" * 100 + b"\n"  # one event that never ends

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=lines())

    client = await AsyncAiClient.create(
        "openai/gpt-4o",
        api_key=KEY,
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handle)),
        limits=Limits(max_event_bytes=5000),
    )
    async with client:
        with pytest.raises(StreamDecodeError, match="SSE event data larger than 5000"):
            async with client.chat().user("x").stream() as stream:
                async for _ in stream:
                    pass
