"""AWS event-stream decoding: framing, every header type, any chunking, CRC and garbage errors.

Expected bytes are built here with ``struct`` and ``zlib.crc32`` straight from the format
description (prelude: total length, headers length, prelude CRC; headers; payload;
message CRC), independently of ``ailib.pipeline.eventstream``'s own encoder.
"""

from __future__ import annotations

import base64
import datetime
import json
import random
import struct
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest

from ailib.errors import StreamDecodeError
from ailib.pipeline.decoders import make_decoder
from ailib.pipeline.eventstream import (
    EventStreamDecoder,
    EventStreamMessage,
    TypedHeader,
    encode_event,
    encode_exception,
    encode_message,
    to_frame,
)

RECORDED = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "corpus"
    / "bedrock"
    / "bedrock-converse-stream.json"
)
UTC = datetime.timezone.utc

# ---- an independent builder ----------------------------------------------------------------


def h_string(value: str) -> tuple[int, bytes]:
    raw = value.encode()
    return 7, struct.pack(">H", len(raw)) + raw


def h_bytes(value: bytes) -> tuple[int, bytes]:
    return 6, struct.pack(">H", len(value)) + value


def build(headers: list[tuple[str, tuple[int, bytes]]], payload: bytes = b"") -> bytes:
    head = b"".join(
        bytes([len(name.encode())]) + name.encode() + bytes([kind]) + value
        for name, (kind, value) in headers
    )
    prelude = struct.pack(">II", 16 + len(head) + len(payload), len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + head + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event(kind: str, payload: Any) -> bytes:
    return build(
        [
            (":event-type", h_string(kind)),
            (":content-type", h_string("application/json")),
            (":message-type", h_string("event")),
        ],
        json.dumps(payload).encode(),
    )


def decode_all(data: bytes, cuts: list[int]) -> list[dict[str, Any]]:
    """Feed ``data`` cut at the given positions, then flush."""
    decoder = EventStreamDecoder()
    out: list[dict[str, Any]] = []
    last = 0
    for cut in [*cuts, len(data)]:
        out += decoder.feed(data[last:cut])
        last = cut
    out += decoder.flush()
    assert decoder.bytes_seen == len(data)
    return out


STREAM = b"".join(
    [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Grüße 👋"}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": "end_turn"}),
    ]
)
STREAM_FRAMES = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Grüße 👋"}}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
]

# ---- framing ---------------------------------------------------------------------------------


def test_one_event_becomes_a_frame_keyed_by_its_event_type() -> None:
    decoder = EventStreamDecoder()
    data = event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}})
    assert decoder.feed(data) == [
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hi"}}}
    ]
    assert decoder.flush() == []
    assert decoder.bytes_seen == len(data)
    assert decoder.messages_seen == 1


def test_several_messages_in_one_chunk() -> None:
    assert decode_all(STREAM, []) == STREAM_FRAMES


def test_minimal_message_without_headers_or_payload() -> None:
    data = build([], b"")
    assert len(data) == 16
    (message,) = EventStreamDecoder().feed_messages(data)
    assert message.headers == {} and message.payload == b""
    assert to_frame(message) == {"event": {}}  # an event with no type and an empty payload


def test_messages_know_their_offsets() -> None:
    first = event("messageStart", {"role": "assistant"})
    messages = EventStreamDecoder().feed_messages(STREAM)
    assert [m.offset for m in messages][:2] == [0, len(first)]
    assert messages[0].payload_offset == len(first) - 4 - len(messages[0].payload)
    assert messages[1].event_type == "contentBlockDelta"
    assert messages[1].message_type == "event"


def test_every_header_value_type() -> None:
    moment = datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    ident = uuid.UUID("12345678-1234-5678-9abc-def012345678")
    millis = int((moment - datetime.datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)
    headers = [
        ("t", (0, b"")),
        ("f", (1, b"")),
        ("byte", (2, struct.pack(">b", -5))),
        ("short", (3, struct.pack(">h", -300))),
        ("int", (4, struct.pack(">i", -70000))),
        ("long", (5, struct.pack(">q", -(2**40)))),
        ("bytes", h_bytes(b"\x00\xff\x10")),
        ("string", h_string("héllo ✓")),
        ("time", (8, struct.pack(">q", millis))),
        ("uuid", (9, ident.bytes)),
        ("empty", h_string("")),
    ]
    (message,) = EventStreamDecoder().feed_messages(build(headers, b"{}"))
    assert message.headers == {
        "t": True,
        "f": False,
        "byte": -5,
        "short": -300,
        "int": -70000,
        "long": -(2**40),
        "bytes": b"\x00\xff\x10",
        "string": "héllo ✓",
        "time": moment,
        "uuid": ident,
        "empty": "",
    }
    assert type(message.headers["t"]) is bool and type(message.headers["byte"]) is int


def test_encoder_matches_the_independent_builder_for_every_type() -> None:
    moment = datetime.datetime(2023, 5, 6, 7, 8, 9, 10000, tzinfo=UTC)
    ident = uuid.uuid4()
    millis = int(
        (moment - datetime.datetime(1970, 1, 1, tzinfo=UTC)) / datetime.timedelta(0, 0, 0, 1)
    )
    ours = encode_message(
        {
            "t": True,
            "f": False,
            "b": TypedHeader("byte", 7),
            "s": TypedHeader("short", -2),
            "i": 123456,
            "l": 2**40,
            "raw": b"\x01\x02",
            "str": "x",
            "ts": moment,
            "id": ident,
        },
        b"payload",
    )
    theirs = build(
        [
            ("t", (0, b"")),
            ("f", (1, b"")),
            ("b", (2, struct.pack(">b", 7))),
            ("s", (3, struct.pack(">h", -2))),
            ("i", (4, struct.pack(">i", 123456))),
            ("l", (5, struct.pack(">q", 2**40))),
            ("raw", h_bytes(b"\x01\x02")),
            ("str", h_string("x")),
            ("ts", (8, struct.pack(">q", millis))),
            ("id", (9, ident.bytes)),
        ],
        b"payload",
    )
    assert ours == theirs


def test_encoder_round_trips_and_treats_naive_times_as_utc() -> None:
    naive = datetime.datetime(2020, 2, 2, 2, 2, 2)
    data = encode_message([("when", naive), ("n", TypedHeader("long", 5))], b"")
    (message,) = EventStreamDecoder().feed_messages(data)
    assert message.headers == {"when": naive.replace(tzinfo=UTC), "n": 5}
    with pytest.raises(ValueError):
        TypedHeader("float", 1.5)
    with pytest.raises(TypeError):
        encode_message({"x": 1.5})


def test_event_and_exception_helpers() -> None:
    data = encode_event("messageStop", {"stopReason": "end_turn"})
    data += encode_exception("throttlingException", {"message": "Too many requests"})
    assert decode_all(data, []) == [
        {"messageStop": {"stopReason": "end_turn"}},
        {"exception": {"type": "throttlingException", "message": "Too many requests"}},
    ]


# ---- chunking --------------------------------------------------------------------------------


def test_split_at_every_byte() -> None:
    for cut in range(len(STREAM) + 1):
        assert decode_all(STREAM, [cut]) == STREAM_FRAMES, cut


def test_split_at_every_pair_of_bytes_of_one_message() -> None:
    data = event(
        "contentBlockDelta", {"contentBlockIndex": 3, "delta": {"toolUse": {"input": "{"}}}
    )
    want = [{"contentBlockDelta": {"contentBlockIndex": 3, "delta": {"toolUse": {"input": "{"}}}}]
    for first in range(len(data) + 1):
        for second in range(first, len(data) + 1):
            assert decode_all(data, [first, second]) == want


def test_one_byte_at_a_time() -> None:
    assert decode_all(STREAM, list(range(1, len(STREAM)))) == STREAM_FRAMES


def test_large_payload_in_random_chunks() -> None:
    text = "".join(random.Random(7).choice("abcé€𝄞 ") for _ in range(50_000))
    data = event("contentBlockDelta", {"delta": {"text": text}}) * 3
    rng = random.Random(11)
    cuts = sorted(rng.sample(range(1, len(data)), 200))
    frames = decode_all(data, cuts)
    assert [f["contentBlockDelta"]["delta"]["text"] for f in frames] == [text] * 3


# ---- real recorded bytes -----------------------------------------------------------------------


def recorded() -> tuple[bytes, list[dict[str, Any]]]:
    case = json.loads(RECORDED.read_text(encoding="utf-8"))
    return base64.b64decode(case["response"]["body_base64"]), case["response"][
        "eventstream_decoded"
    ]


def test_recorded_bedrock_stream_decodes_like_the_corpus_helper() -> None:
    data, decoded = recorded()
    messages = EventStreamDecoder().feed_messages(data)
    assert [m.headers for m in messages] == [d["headers"] for d in decoded]
    assert [m.payload.decode() for m in messages] == [d["payload"] for d in decoded]
    want = [{d["headers"][":event-type"]: json.loads(d["payload"])} for d in decoded]
    assert decode_all(data, []) == want


def test_recorded_bedrock_stream_split_at_every_byte() -> None:
    data, decoded = recorded()
    want = [{d["headers"][":event-type"]: json.loads(d["payload"])} for d in decoded]
    for cut in range(0, len(data) + 1, 1):
        assert decode_all(data, [cut]) == want


def test_recorded_bytes_are_what_the_encoder_writes() -> None:
    data, decoded = recorded()
    assert b"".join(encode_message(d["headers"], d["payload"].encode()) for d in decoded) == data


# ---- errors ------------------------------------------------------------------------------------


def test_prelude_crc_mismatch_names_the_offset_and_bytes() -> None:
    first = event("messageStart", {"role": "assistant"})
    second = bytearray(event("messageStop", {"stopReason": "end_turn"}))
    second[9] ^= 0xFF  # inside the prelude CRC
    decoder = EventStreamDecoder()
    assert decoder.feed(first) == [{"messageStart": {"role": "assistant"}}]
    with pytest.raises(StreamDecodeError) as info:
        decoder.feed(bytes(second))
    err = info.value
    assert err.offset == len(first)
    assert err.data == bytes(second)
    assert "prelude CRC" in str(err) and f"offset {len(first)}" in str(err)


def test_message_crc_mismatch_names_the_offset_of_the_message() -> None:
    good = event("messageStart", {"role": "assistant"})
    bad = bytearray(event("contentBlockDelta", {"delta": {"text": "hello"}}))
    bad[-10] ^= 0x01  # a payload byte: only the message CRC can tell
    decoder = EventStreamDecoder()
    with pytest.raises(StreamDecodeError) as info:
        for i in range(0, len(good + bad), 5):
            decoder.feed((good + bad)[i : i + 5])
    assert info.value.offset == len(good)
    assert info.value.data == bytes(bad)
    assert "message CRC" in str(info.value)


def test_wrong_final_crc_bytes() -> None:
    data = bytearray(STREAM)
    data[-1] ^= 0x80
    with pytest.raises(StreamDecodeError) as info:
        decode_all(bytes(data), [])
    last = len(event("messageStop", {"stopReason": "end_turn"}))
    assert info.value.offset == len(STREAM) - last


def test_good_messages_before_an_error_in_the_same_chunk_are_delivered() -> None:
    bad = bytearray(event("messageStop", {"stopReason": "end_turn"}))
    bad[5] ^= 0x01
    decoder = EventStreamDecoder()
    frames = decoder.feed(STREAM[: -len(bad)] + bytes(bad))
    assert frames == STREAM_FRAMES[:3]
    with pytest.raises(StreamDecodeError) as info:
        decoder.flush()
    assert info.value.offset == len(STREAM) - len(bad)


@pytest.mark.parametrize("cut", [1, 5, 11, 12, 20, -5, -1])
def test_truncated_stream_fails_at_flush_with_the_message_offset(cut: int) -> None:
    first = event("messageStart", {"role": "assistant"})
    second = event("messageStop", {"stopReason": "end_turn"})
    partial = second[:cut]
    decoder = EventStreamDecoder()
    assert decoder.feed(first + partial) == [{"messageStart": {"role": "assistant"}}]
    with pytest.raises(StreamDecodeError) as info:
        decoder.flush()
    assert info.value.offset == len(first)
    assert info.value.data == partial
    assert "truncated" in str(info.value)


@pytest.mark.parametrize(
    "garbage",
    [
        b'{"message": "The provided model identifier is invalid."}',
        b"data: {}\n\n" * 3,
        bytes(range(64)),
    ],
    ids=["json", "sse", "binary"],
)
def test_garbage_is_not_an_event_stream(garbage: bytes) -> None:
    with pytest.raises(StreamDecodeError) as info:
        EventStreamDecoder().feed(garbage)
    assert info.value.offset == 0
    assert info.value.data == garbage


def _prelude(total: int, headers_len: int) -> bytes:
    head = struct.pack(">II", total, headers_len)
    return head + struct.pack(">I", zlib.crc32(head))


@pytest.mark.parametrize(
    ("total", "headers_len", "what"),
    [
        (8, 0, "length 8 out of range"),
        (64 * 1024 * 1024, 0, "out of range"),
        (20, 10, "headers length 10"),
        (300_000, 200_000, "headers length 200000"),
    ],
)
def test_impossible_lengths_with_a_valid_prelude_crc(
    total: int, headers_len: int, what: str
) -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(STREAM) == STREAM_FRAMES
    with pytest.raises(StreamDecodeError, match=what) as info:
        decoder.feed(_prelude(total, headers_len))
    assert info.value.offset == len(STREAM)


def test_unknown_header_type_names_the_header_offset() -> None:
    data = build([(":event-type", h_string("x")), ("odd", (42, b""))])
    with pytest.raises(StreamDecodeError, match="header value type 42") as info:
        EventStreamDecoder().feed(data)
    assert info.value.offset == 12 + len(b"\x0b:event-type\x07\x00\x01x")


@pytest.mark.parametrize(
    "raw",
    [
        b"\x05ab",  # name longer than the headers
        b"\x01a\x07\x00\x09abc",  # string longer than the headers
        b"\x01a\x04\x00\x00",  # integer cut short
        b"\x01a\x09" + b"\x00" * 8,  # uuid cut short
        b"\x01a\x08\x00",  # timestamp cut short
        b"\x01a\x06\x00",  # byte-array length cut short
    ],
    ids=["name", "string", "integer", "uuid", "timestamp", "bytes"],
)
def test_truncated_headers(raw: bytes) -> None:
    prelude = struct.pack(">II", 16 + len(raw), len(raw))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw
    message += struct.pack(">I", zlib.crc32(message))
    with pytest.raises(StreamDecodeError, match="truncated") as info:
        EventStreamDecoder().feed(message)
    assert info.value.offset == 12


def test_invalid_utf8_in_a_header_string() -> None:
    data = build([("name", (7, struct.pack(">H", 2) + b"\xff\xfe"))])
    with pytest.raises(StreamDecodeError, match="UTF-8") as info:
        EventStreamDecoder().feed(data)
    assert info.value.offset == 12 + 1 + 4 + 1 + 2


def test_json_payload_that_is_not_json() -> None:
    data = build([(":event-type", h_string("x")), (":message-type", h_string("event"))], b"{oops")
    with pytest.raises(StreamDecodeError, match="not JSON") as info:
        EventStreamDecoder().feed(data)
    assert info.value.offset == len(data) - 4 - 5
    assert info.value.data == b"{oops"


def test_a_bad_payload_after_good_frames_is_raised_on_the_next_call() -> None:
    bad = build([(":event-type", h_string("x"))], b"nope")
    decoder = EventStreamDecoder()
    assert decoder.feed(STREAM + bad) == STREAM_FRAMES
    with pytest.raises(StreamDecodeError):
        decoder.feed(b"")


# ---- message kinds -----------------------------------------------------------------------------


def test_exception_message_becomes_an_exception_frame() -> None:
    data = build(
        [
            (":exception-type", h_string("modelStreamErrorException")),
            (":content-type", h_string("application/json")),
            (":message-type", h_string("exception")),
        ],
        b'{"message":"Model failed","originalStatusCode":424}',
    )
    assert decode_all(data, []) == [
        {
            "exception": {
                "type": "modelStreamErrorException",
                "message": "Model failed",
                "originalStatusCode": 424,
            }
        }
    ]


def test_exception_with_capitalised_message_key() -> None:
    data = build(
        [(":message-type", h_string("exception")), (":exception-type", h_string("Boom"))],
        b'{"Message":"upper"}',
    )
    assert decode_all(data, []) == [
        {"exception": {"Message": "upper", "type": "Boom", "message": "upper"}}
    ]


def test_error_message_type_uses_its_headers() -> None:
    data = build(
        [
            (":message-type", h_string("error")),
            (":error-code", h_string("InternalFailure")),
            (":error-message", h_string("Something broke")),
        ]
    )
    assert decode_all(data, []) == [
        {"exception": {"type": "InternalFailure", "message": "Something broke"}}
    ]
    bare = build([(":message-type", h_string("error"))])
    assert decode_all(bare, []) == [{"exception": {"type": "error"}}]


def test_other_payload_kinds_pass_through() -> None:
    text = build(
        [(":event-type", h_string("note")), (":content-type", h_string("text/plain"))], b"hi"
    )
    binary = build(
        [
            (":event-type", h_string("blob")),
            (":content-type", h_string("application/octet-stream")),
        ],
        b"\x00\x01",
    )
    unknown = build([(":message-type", h_string("initial-response"))], b'{"a":1}')
    empty = build([(":event-type", h_string("ping"))], b"")
    assert decode_all(text + binary + unknown + empty, []) == [
        {"note": "hi"},
        {"blob": "AAE="},
        {"initial-response": {"a": 1}},
        {"ping": {}},
    ]


def test_message_object_defaults() -> None:
    message = EventStreamMessage({}, b"")
    assert message.message_type == "event" and message.event_type is None


def test_make_decoder_knows_aws_eventstream() -> None:
    decoder = make_decoder("aws_eventstream")
    assert isinstance(decoder, EventStreamDecoder)
    assert make_decoder("aws_eventstream") is not decoder
