"""Tests for the sans-IO stream decoders (ailib.pipeline.decoders)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from ailib.errors import StreamDecodeError
from ailib.pipeline import json_array
from ailib.pipeline.decoders import (
    JsonArrayDecoder,
    NdjsonDecoder,
    SseDecoder,
    SseEvent,
    make_decoder,
)

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"

Decoder = SseDecoder | NdjsonDecoder | JsonArrayDecoder


def corpus_body(case: str) -> bytes:
    """The recorded response body of a corpus case, e.g. ``"anthropic/anthropic-chat-stream"``."""
    doc = json.loads((CORPUS / f"{case}.json").read_text(encoding="utf-8"))
    body: str = doc["response"]["body_text"]
    return body.encode("utf-8")


def run(decoder: Decoder, chunks: Iterable[bytes]) -> list[Any]:
    out: list[Any] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.flush()


def sse(*chunks: bytes) -> list[SseEvent]:
    return run(SseDecoder(), chunks)


def one_byte_chunks(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


def random_chunks(body: bytes, rng: random.Random, max_cuts: int = 12) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(body)), min(max_cuts, len(body) - 1)))
    return [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]


def reference_sse(body: bytes) -> list[SseEvent]:
    """A deliberately naive, whole-body SSE parser to cross-check the incremental one."""
    text = body.decode("utf-8").removeprefix("\ufeff")
    lines = re.split(r"\r\n|\r|\n", text)
    events: list[SseEvent] = []
    data: list[str] = []
    event, retry = "", None
    last_id: str | None = None
    pending_id: str | None = None
    for line in [*lines, ""]:
        if line == "":
            last_id = pending_id
            if data:
                events.append(SseEvent(event or "message", "\n".join(data), last_id, retry))
            data, event, retry = [], "", None
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id" and "\0" not in value:
                pending_id = value or None
            elif name == "retry" and re.fullmatch(r"[0-9]+", value):
                retry = int(value)
    return events


REAL_SSE = [
    "anthropic/anthropic-chat-stream",
    "anthropic/anthropic-tools-stream-followup",  # non-ASCII (an emoji) in the data
    "gemini/gemini-chat-stream-sse",  # CRLF line ends
    "openrouter/openrouter-stream-reasoning",  # ": OPENROUTER PROCESSING" comments
    "openai/openai-chat-stream-include-usage",  # ends with data: [DONE]
]

# A synthetic stream using every SSE feature, the three line ends and multi-byte UTF-8.
MIXED_SSE = (
    "\ufeff: comment\r\n"
    "event: greet\r\ndata: héllo 世界 🎉\r\nid: 7\r\nretry: 1500\r\n\r\n"
    "data: line 1\rdata: line 2\r\rdata\n\n"
    ':\nevent: tool\ndata:{"a": [1, 2]}\nunknown: x\nData: ignored\nid: 8\0\n\n'
    "event: no-data\n\n"
    "data:  two spaces\r\nid:\r\n\r\n"
    "data: tail without blank line"
).encode()


# --- SSE: field rules -------------------------------------------------------------------


def test_sse_event_defaults_to_message_and_keeps_event_name() -> None:
    assert sse(b"data: a\n\nevent: ping\ndata: b\n\n") == [
        SseEvent("message", "a"),
        SseEvent("ping", "b"),
    ]


def test_sse_multi_line_data_is_joined_with_newline() -> None:
    assert sse(b"data: one\ndata: two\ndata:\ndata: four\n\n") == [
        SseEvent("message", "one\ntwo\n\nfour")
    ]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_sse_line_end_variants_give_the_same_events(eol: bytes) -> None:
    body = eol.join([b"event: a", b"data: 1", b"data: 2", b"", b"data: 3", b"", b""])
    assert sse(body) == [SseEvent("a", "1\n2"), SseEvent("message", "3")]
    assert sse(*one_byte_chunks(body)) == [SseEvent("a", "1\n2"), SseEvent("message", "3")]


def test_sse_crlf_split_between_chunks_is_one_line_end() -> None:
    # If the LF were a second line end, "a" and "b" would be two separate events.
    assert sse(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [SseEvent("message", "a\nb")]


def test_sse_lone_cr_at_chunk_end_followed_by_other_text() -> None:
    assert sse(b"data: a\r", b"data: b\r", b"\r") == [SseEvent("message", "a\nb")]


def test_sse_bom_at_stream_start_is_skipped_even_when_split() -> None:
    assert sse(b"\xef", b"\xbb", b"\xbfdata: x\n\n") == [SseEvent("message", "x")]


def test_sse_bom_later_in_the_stream_is_not_skipped() -> None:
    # After the start a BOM is just part of the field name, which is then unknown.
    assert sse(b"data: x\n\n\xef\xbb\xbfdata: y\n\n") == [SseEvent("message", "x")]


def test_sse_comments_are_ignored_but_counted() -> None:
    decoder = SseDecoder()
    events = decoder.feed(b": keep-alive\n:\ndata: x\n: inside an event\n\n")
    assert events == [SseEvent("message", "x")]
    assert decoder.comments == 3


def test_sse_field_without_colon_has_an_empty_value() -> None:
    assert sse(b"data\n\n") == [SseEvent("message", "")]
    assert sse(b"event: x\nevent\ndata: d\n\n") == [SseEvent("message", "d")]


def test_sse_only_one_leading_space_is_removed() -> None:
    assert sse(b"data:  two\n\ndata:none\n\ndata:\tx \n\n") == [
        SseEvent("message", " two"),
        SseEvent("message", "none"),
        SseEvent("message", "\tx "),
    ]


def test_sse_value_may_contain_colons() -> None:
    assert sse(b'data: {"a": "b:c"}\n\n') == [SseEvent("message", '{"a": "b:c"}')]


def test_sse_id_sets_last_event_id_and_carries_over() -> None:
    decoder = SseDecoder()
    events = decoder.feed(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n")
    assert [e.id for e in events] == ["1", "1", "2"]
    assert decoder.last_event_id == "2"


def test_sse_id_containing_nul_is_ignored() -> None:
    decoder = SseDecoder()
    events = decoder.feed(b"id: ok\ndata: a\n\nid: b\x00d\ndata: b\n\n")
    assert [e.id for e in events] == ["ok", "ok"]
    assert decoder.last_event_id == "ok"


def test_sse_empty_id_resets_last_event_id() -> None:
    decoder = SseDecoder()
    events = decoder.feed(b"id: 1\ndata: a\n\nid\ndata: b\n\n")
    assert [e.id for e in events] == ["1", None]
    assert decoder.last_event_id is None


def test_sse_id_without_data_still_updates_last_event_id_on_blank_line() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"id: 5\n") == []
    assert decoder.last_event_id is None  # set on dispatch, not when the field is read
    assert decoder.feed(b"\n") == []
    assert decoder.last_event_id == "5"


def test_sse_retry_accepts_only_ascii_digits() -> None:
    decoder = SseDecoder()
    events = decoder.feed(
        b"retry: 3000\ndata: a\n\n"
        b"retry: 12a\ndata: b\n\n"
        b"retry: -1\ndata: c\n\n"
        b"retry: \xef\xbc\x93\ndata: d\n\n"  # FULLWIDTH DIGIT THREE is a digit, not ASCII
        b"retry:\ndata: e\n\n"
    )
    assert [e.retry for e in events] == [3000, None, None, None, None]
    assert decoder.retry == 3000


def test_sse_retry_alone_is_kept_by_the_decoder() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"retry: 10\n\n") == []
    assert decoder.retry == 10


def test_sse_unknown_and_miscased_fields_are_ignored() -> None:
    assert sse(b"foo: bar\nData: x\nEVENT: y\ndata: z\n\n") == [SseEvent("message", "z")]


def test_sse_event_without_data_is_not_dispatched() -> None:
    assert sse(b"event: lonely\n\n\n\nevent: x\nid: 3\n\n") == []


def test_sse_event_type_is_reset_after_dispatch() -> None:
    assert sse(b"event: a\n\ndata: x\n\n") == [SseEvent("message", "x")]


def test_sse_done_marker_is_returned_raw() -> None:
    assert sse(b"data: [DONE]\n\n") == [SseEvent("message", "[DONE]")]


def test_sse_feed_returns_events_as_soon_as_the_blank_line_arrives() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\ndata: b") == [SseEvent("message", "a")]
    assert decoder.feed(b"\n\n") == [SseEvent("message", "b")]
    assert decoder.flush() == []


# --- SSE: end of stream -----------------------------------------------------------------


def test_sse_flush_dispatches_pending_event_with_data() -> None:
    # Deliberate deviation from the spec (which drops it): providers omit the final blank.
    decoder = SseDecoder()
    assert decoder.feed(b"event: last\ndata: x\n") == []
    assert decoder.flush() == [SseEvent("last", "x")]


def test_sse_flush_parses_an_unterminated_last_line() -> None:
    assert sse(b"data: a\n\ndata: b") == [SseEvent("message", "a"), SseEvent("message", "b")]


def test_sse_flush_does_not_dispatch_pending_event_without_data() -> None:
    decoder = SseDecoder()
    decoder.feed(b"data: a\n\nevent: x\nid: 9")
    assert decoder.flush() == []


def test_sse_flush_after_trailing_cr_gives_nothing_more() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"data: a\r\r") == [SseEvent("message", "a")]
    assert decoder.flush() == []


def test_sse_bytes_seen_counts_every_fed_byte() -> None:
    decoder = SseDecoder()
    decoder.feed(b"data: a\r")
    decoder.feed(b"\n\r\n")
    decoder.feed(b"data: b")
    assert decoder.bytes_seen == 18


# --- SSE: UTF-8 -------------------------------------------------------------------------


def test_sse_utf8_split_inside_characters_at_every_byte() -> None:
    text = "héllo 世界 🎉"
    body = f"data: {text}\n\n".encode()
    for cut in range(len(body) + 1):
        assert sse(body[:cut], body[cut:]) == [SseEvent("message", text)], cut
    assert sse(*one_byte_chunks(body)) == [SseEvent("message", text)]


def test_sse_invalid_utf8_raises_with_offset_of_the_bad_bytes() -> None:
    with pytest.raises(StreamDecodeError) as info:
        sse(b"data: ok\n\ndata: b\xffd\n\n")
    assert info.value.offset == 17
    assert info.value.data.startswith(b"\xff")
    assert "17" in str(info.value)


def test_sse_invalid_utf8_offset_is_absolute_across_chunks() -> None:
    decoder = SseDecoder()
    decoder.feed(b"data: 0123456789\n\n")  # 18 bytes
    decoder.feed(b"data: \xe4\xb8")  # a truncated 3-byte character ...
    with pytest.raises(StreamDecodeError) as info:
        decoder.feed(b"x\n\n")  # ... that the next chunk does not complete
    assert info.value.offset == 24
    assert info.value.data.startswith(b"\xe4\xb8")


def test_sse_invalid_utf8_in_unterminated_last_line_raises_at_flush() -> None:
    decoder = SseDecoder()
    decoder.feed(b"data: a\n\ndata: \xc3")
    with pytest.raises(StreamDecodeError) as info:
        decoder.flush()
    assert info.value.offset == 15


# --- SSE: property tests over chunk boundaries ------------------------------------------


@pytest.mark.parametrize("case", REAL_SSE)
def test_sse_real_stream_split_at_every_byte_gives_identical_events(case: str) -> None:
    body = corpus_body(case)
    whole = sse(body)
    assert whole == reference_sse(body)
    assert len(whole) > 1
    for cut in range(1, len(body)):
        assert sse(body[:cut], body[cut:]) == whole, f"split at byte {cut}"
    assert sse(*one_byte_chunks(body)) == whole


def test_sse_mixed_stream_matches_reference_under_random_chunking() -> None:
    expected = reference_sse(MIXED_SSE)
    assert expected == [
        SseEvent("greet", "héllo 世界 🎉", "7", 1500),
        SseEvent("message", "line 1\nline 2", "7"),
        SseEvent("message", "", "7"),
        SseEvent("tool", '{"a": [1, 2]}', "7"),
        SseEvent("message", " two spaces", None),
        SseEvent("message", "tail without blank line", None),
    ]
    assert sse(MIXED_SSE) == expected
    for cut in range(len(MIXED_SSE) + 1):
        assert sse(MIXED_SSE[:cut], MIXED_SSE[cut:]) == expected, cut
    rng = random.Random(20240601)
    for _ in range(300):
        assert sse(*random_chunks(MIXED_SSE, rng)) == expected


def test_sse_anthropic_stream_event_names_and_json_data() -> None:
    events = sse(corpus_body("anthropic/anthropic-chat-stream"))
    assert [e.event for e in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(json.loads(e.data)["type"] == e.event for e in events)


def test_sse_gemini_crlf_stream_gives_json_data() -> None:
    events = sse(corpus_body("gemini/gemini-chat-stream-sse"))
    assert events and all(e.event == "message" for e in events)
    assert all("candidates" in json.loads(e.data) for e in events)
    assert all("\r" not in e.data for e in events)


def test_sse_openrouter_processing_comments_are_counted() -> None:
    body = corpus_body("openrouter/openrouter-stream-reasoning")
    decoder = SseDecoder()
    events = run(decoder, [body])
    assert decoder.comments == body.count(b": OPENROUTER PROCESSING") > 0
    assert events[-1].data == "[DONE]"
    assert all(json.loads(e.data)["object"] == "chat.completion.chunk" for e in events[:-1])


# --- NDJSON -----------------------------------------------------------------------------


def test_ndjson_real_ollama_stream() -> None:
    body = corpus_body("ollama/ollama-native-chat-stream")
    expected = [json.loads(line) for line in body.splitlines()]
    assert run(NdjsonDecoder(), [body]) == expected
    assert expected[-1]["done"] is True
    for cut in range(1, len(body)):
        assert run(NdjsonDecoder(), [body[:cut], body[cut:]]) == expected, cut
    assert run(NdjsonDecoder(), one_byte_chunks(body)) == expected


def test_ndjson_tolerates_crlf_and_blank_lines() -> None:
    body = b'{"a": 1}\r\n\r\n\n  \n{"b": "\xc3\xa9"}\r\n[1, 2]\n'
    expected = [{"a": 1}, {"b": "é"}, [1, 2]]
    assert run(NdjsonDecoder(), [body]) == expected
    assert run(NdjsonDecoder(), one_byte_chunks(body)) == expected


def test_ndjson_trailing_line_without_newline_is_decoded_at_flush() -> None:
    decoder = NdjsonDecoder()
    assert decoder.feed(b'{"a": 1}\n{"b": 2}') == [{"a": 1}]
    assert decoder.flush() == [{"b": 2}]


def test_ndjson_blank_tail_at_flush_gives_nothing() -> None:
    decoder = NdjsonDecoder()
    assert decoder.feed(b"1\n \r") == [1]
    assert decoder.flush() == []


def test_ndjson_malformed_line_raises_with_line_start_offset_and_bytes() -> None:
    decoder = NdjsonDecoder()
    assert decoder.feed(b'{"ok": true}\n') == [{"ok": True}]  # 13 bytes
    with pytest.raises(StreamDecodeError) as info:
        decoder.feed(b'\n{"ok": tru}\n{"x": 1}\n')
    assert info.value.offset == 14
    assert info.value.data == b'{"ok": tru}'
    assert "14" in str(info.value)


def test_ndjson_malformed_line_split_across_chunks() -> None:
    decoder = NdjsonDecoder()
    decoder.feed(b'{"a": 1}\r\n{"b": ')
    with pytest.raises(StreamDecodeError) as info:
        decoder.feed(b"oops}\r\n")
    assert info.value.offset == 10
    assert info.value.data == b'{"b": oops}\r'


def test_ndjson_malformed_trailing_line_raises_at_flush() -> None:
    decoder = NdjsonDecoder()
    decoder.feed(b"1\n2\n{")
    with pytest.raises(StreamDecodeError) as info:
        decoder.flush()
    assert info.value.offset == 4
    assert info.value.data == b"{"


def test_ndjson_two_values_on_one_line_is_malformed() -> None:
    with pytest.raises(StreamDecodeError) as info:
        run(NdjsonDecoder(), [b"1\n{} {}\n"])
    assert info.value.offset == 2


def test_ndjson_invalid_utf8_raises_with_offset() -> None:
    with pytest.raises(StreamDecodeError) as info:
        run(NdjsonDecoder(), [b'{"a": 1}\n{"b": "\x80"}\n'])
    assert info.value.offset == 16


# --- JSON array -------------------------------------------------------------------------

GEMINI_ARRAYS = ["gemini/gemini-chat-stream-json-array", "gemini/gemini-tools-stream-json-array"]

TRICKY_ARRAY = (
    '[ {"t": "a]b}c[d{", "q": "say \\"hi\\" \\\\", "n": [[1, [2]], {"x": {}}]},\n'
    '"str ]with, brackets", 12.5e-1, -3, true, false, null, [], {},\r\n'
    '{"u": "h\\u00e9llo 世界 🎉", "esc": "\\\\\\"\\\\"}, "\\\\" ]  \n'
).encode()


@pytest.mark.parametrize("case", GEMINI_ARRAYS)
def test_json_array_real_gemini_stream(case: str) -> None:
    body = corpus_body(case)
    expected = json.loads(body)
    assert len(expected) > 1
    assert run(JsonArrayDecoder(), [body]) == expected
    for cut in range(1, len(body)):
        assert run(JsonArrayDecoder(), [body[:cut], body[cut:]]) == expected, cut
    assert run(JsonArrayDecoder(), one_byte_chunks(body)) == expected


def test_json_array_yields_each_element_as_soon_as_it_is_complete() -> None:
    body = corpus_body("gemini/gemini-chat-stream-json-array")
    first_end = body.index(b"\n}\n,") + 2
    decoder = JsonArrayDecoder()
    assert decoder.feed(body[: first_end - 1]) == []
    assert decoder.feed(body[first_end - 1 : first_end]) == [json.loads(body)[0]]


def test_json_array_tricky_strings_nesting_and_scalars() -> None:
    expected = json.loads(TRICKY_ARRAY)
    assert len(expected) == 11
    assert run(JsonArrayDecoder(), [TRICKY_ARRAY]) == expected
    for cut in range(1, len(TRICKY_ARRAY)):
        assert run(JsonArrayDecoder(), [TRICKY_ARRAY[:cut], TRICKY_ARRAY[cut:]]) == expected
    assert run(JsonArrayDecoder(), one_byte_chunks(TRICKY_ARRAY)) == expected


def test_json_array_escape_split_from_the_escaped_quote() -> None:
    decoder = JsonArrayDecoder()
    assert decoder.feed(b'[{"a": "x\\') == []
    assert decoder.feed(b'"}"}, "\\\\') == [{"a": 'x"}'}]
    assert decoder.feed(b'"]') == ["\\"]
    assert decoder.flush() == []


@pytest.mark.parametrize(
    ("body", "expected"), [(b"[]", []), (b" \r\n[ \n ] \n", []), (b"[1]", [1])]
)
def test_json_array_empty_and_minimal(body: bytes, expected: list[Any]) -> None:
    assert run(JsonArrayDecoder(), [body]) == expected


@pytest.mark.parametrize("window", [1, 2, 5, 1024])
def test_json_array_random_documents_under_random_chunking(
    window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_array, "_WINDOW", window)  # exercise the growing scan windows
    rng = random.Random(window)
    alphabet = ["a", '"', "\\", "[", "]", "{", "}", ",", " ", "é", "世", "🎉", "\n", '\\"']

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))

    def value(depth: int = 0) -> Any:
        kind = rng.randint(0, 5 if depth < 4 else 2)
        if kind == 0:
            return text()
        if kind == 1:
            return rng.choice([0, -2.5, 1e10, True, False, None, 12345])
        if kind in (2, 3):
            return {text(): value(depth + 1) for _ in range(rng.randint(0, 4))}
        return [value(depth + 1) for _ in range(rng.randint(0, 4))]

    for _ in range(150):
        array = [value() for _ in range(rng.randint(0, 5))]
        body = json.dumps(array, indent=rng.choice([None, 2]), ensure_ascii=rng.random() < 0.5)
        data = body.encode()
        assert run(JsonArrayDecoder(), random_chunks(data, rng, 20)) == array, body


def test_json_array_large_element_spanning_many_windows() -> None:
    element = {"parts": [{"text": "x]" * 5000, "n": list(range(3000))}], "s": "\\" * 7}
    body = json.dumps([element, element]).encode()
    assert run(JsonArrayDecoder(), [body]) == [element, element]
    chunks = [body[i : i + 997] for i in range(0, len(body), 997)]
    assert run(JsonArrayDecoder(), chunks) == [element, element]


@pytest.mark.parametrize(
    ("body", "offset", "shown"),
    [
        (b"data: [1]", 0, b"data: [1]"),  # garbage before '['
        (b'  \n{"a": 1}', 3, b'{"a": 1}'),  # not an array at all
        (b"[1] x", 4, b"x"),  # data after the end of the array
        (b"[{} {}]", 4, b"{}]"),  # missing comma
        (b"[1,]", 3, b"]"),  # trailing comma
        (b"[,1]", 1, b",1]"),  # missing element
        (b'[{"a": 1}, {"a" 1}]', 16, b"1}"),  # invalid element: offset of the bad token
        (b"[1, tru]", 4, b"tru"),  # bad literal
        (b'[1, {"a": 1]]', 11, b"]]"),  # mismatched brackets: offset of the bad one
    ],
)
def test_json_array_malformed_input_raises_with_offset(
    body: bytes, offset: int, shown: bytes
) -> None:
    with pytest.raises(StreamDecodeError) as info:
        run(JsonArrayDecoder(), [body])
    assert info.value.offset == offset
    assert info.value.data.startswith(shown)
    with pytest.raises(StreamDecodeError) as info:
        run(JsonArrayDecoder(), one_byte_chunks(body))
    assert info.value.offset == offset


def test_json_array_invalid_utf8_in_element_raises_with_offset() -> None:
    with pytest.raises(StreamDecodeError) as info:
        run(JsonArrayDecoder(), [b'[{"a": "\xe4\xb8\xad"},\n {"b": "x\xe4\xb8"}]'])
    assert info.value.offset == 24
    assert info.value.data.startswith(b"\xe4\xb8")


@pytest.mark.parametrize(
    ("body", "offset"),
    [
        (b"", 0),  # empty stream
        (b"  \n", 3),  # never opened
        (b'[{"a": 1}', 9),  # not closed after a complete element
        (b'[{"a": 1},', 10),  # not closed after a comma
        (b'[{"a": 1}, {"b": [1, 2', 11),  # element incomplete: offset of its start
        (b'["abc', 1),  # string element incomplete
        (b"[12", 1),  # number at the end of the stream is incomplete
    ],
)
def test_json_array_flush_raises_unless_closed(body: bytes, offset: int) -> None:
    decoder = JsonArrayDecoder()
    decoder.feed(body)
    with pytest.raises(StreamDecodeError) as info:
        decoder.flush()
    assert info.value.offset == offset


def test_json_array_decoder_counts_bytes() -> None:
    decoder = JsonArrayDecoder()
    decoder.feed(b"[1, ")
    decoder.feed(b"2]")
    assert decoder.bytes_seen == 6


# --- make_decoder -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("sse", SseDecoder),
        ("anthropic_sse", SseDecoder),
        ("gemini_sse", SseDecoder),
        ("openai_sse", SseDecoder),
        ("ndjson", NdjsonDecoder),
        ("jsonl", NdjsonDecoder),
        ("json_array", JsonArrayDecoder),
    ],
)
def test_make_decoder_maps_format_names(name: str, kind: type[Decoder]) -> None:
    decoder = make_decoder(name)
    assert type(decoder) is kind
    assert make_decoder(name) is not decoder  # a fresh decoder each time


def test_make_decoder_unknown_format_names_it_and_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'protobuf'") as info:
        make_decoder("protobuf")
    for known in ("sse", "openai_sse", "ndjson", "jsonl", "json_array"):
        assert known in str(info.value)
