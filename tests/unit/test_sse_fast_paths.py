"""The SSE decoder's and frame reader's fast paths give what their general paths give.

A chunk holding whole lines (``data: X\\n\\n``, the usual shape of a streamed chunk) is
decoded inline; split into one-byte pieces the same stream goes through the general
line buffer. Events, decoder state, frames and errors (codes, offsets) must agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from ailib.errors import StreamDecodeError
from ailib.pipeline.decoders import SseDecoder
from ailib.pipeline.frames import FrameReader
from ailib.runtime.limits import Limits

EVENT_CHUNKS = [
    b'data: {"a": 1}\n\n',
    b"event: delta\n",  # an event name held over to the next chunk's event
    b'data: {"b": [1, 2]}\n\n',
    b"id: 7\nretry: 250\n\n",  # no data: nothing dispatched, the id carries over
    b'data: {"c": "\xc3\xa9"}\n\n',
    b"data: first\n",  # data pending: the next chunk is not a whole event of its own
    b"data: second\n\n",
    b": a comment\n\n",
    b"data: \n\n",  # empty data is still an event
    b"data:no space\n\n",
    b'data: {"d": 1}\r\n\r\n',  # CRLF line ends
    b'data: {"e": 1}  \n\n',  # blanks after the JSON value
    b"data: [DONE]\n\n",
]


def _events_and_state(chunks: Iterable[bytes], limits: Limits | None = None) -> Any:
    decoder = SseDecoder(limits) if limits is not None else SseDecoder()
    events: list[Any] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.flush()
    state = (decoder.bytes_seen, decoder.last_event_id, decoder.retry, decoder.comments)
    return events, state


def _bytes(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


def test_whole_event_chunks_give_the_events_of_one_byte_chunks() -> None:
    body = b"".join(EVENT_CHUNKS)
    fast = _events_and_state(EVENT_CHUNKS)
    assert fast == _events_and_state(_bytes(body))
    assert fast == _events_and_state([body])
    events, (seen, last_id, retry, comments) = fast
    assert [e.data for e in events][:2] == ['{"a": 1}', '{"b": [1, 2]}']
    assert events[1].event == "delta" and events[2].id == "7" and events[2].retry is None
    assert (seen, last_id, retry, comments) == (len(body), "7", 250, 1)


def test_frames_of_whole_event_chunks_match_json_loads() -> None:
    reader = FrameReader({"done_signal": "[DONE]"})
    decoder = SseDecoder()
    frames: list[Any] = []
    for chunk in EVENT_CHUNKS[:5] + EVENT_CHUNKS[10:]:  # the JSON ones
        frames += reader.frames(decoder.feed(chunk), decoder.bytes_seen)
    assert frames == [{"a": 1}, {"b": [1, 2]}, {"c": "é"}, {"d": 1}, {"e": 1}]
    assert reader.done and reader.count == 5


def test_a_bytearray_chunk_gives_the_same_events() -> None:
    chunks = [bytearray(chunk) for chunk in EVENT_CHUNKS]  # the general path
    assert _events_and_state(chunks) == _events_and_state(EVENT_CHUNKS)  # type: ignore[arg-type]


def test_an_event_over_the_size_bound_raises_the_same_error_either_way() -> None:
    limits = Limits(max_event_bytes=20)
    body = b'data: {"a": 1}\n\n' + b'data: {"long": "0123456789"}\n\n'
    errors = []
    for chunks in ([body[:16], body[16:]], _bytes(body)):
        with pytest.raises(StreamDecodeError) as info:
            _events_and_state(chunks, limits)
        errors.append((info.value.code, info.value.offset, str(info.value)))
    assert errors[0] == errors[1]
    assert errors[0][1] == 16  # the data line that crossed it


def test_an_event_at_the_size_bound_passes_either_way() -> None:
    limits = Limits(max_event_bytes=len('{"a": 12}') + 1)
    chunks = [b'data: {"a": 12}\n\n']
    assert _events_and_state(chunks, limits) == _events_and_state(_bytes(chunks[0]), limits)
    assert _events_and_state(chunks, limits)[0][0].data == '{"a": 12}'


def test_invalid_utf8_in_a_whole_chunk_raises_with_its_offset() -> None:
    body = b'data: {"a": 1}\n\n' + b'data: {"b": "\xff"}\n\n'
    offsets = []
    for chunks in ([body[:16], body[16:]], _bytes(body)):
        with pytest.raises(StreamDecodeError) as info:
            _events_and_state(chunks)
        offsets.append(info.value.offset)
    assert offsets == [16 + 13, 16 + 13]


def test_a_line_over_the_line_bound_raises_the_same_error_either_way() -> None:
    limits = Limits(max_line_bytes=24)
    body = b'data: {"a": 1}\n\n' + b'data: {"b": "0123456789abcdef"}\n\n'
    errors = []
    for chunks in ([body[:16], body[16:]], _bytes(body)):
        with pytest.raises(StreamDecodeError) as info:
            _events_and_state(chunks, limits)
        errors.append((info.value.code, info.value.offset))
    assert errors[0] == errors[1] == (errors[0][0], 16)


@pytest.mark.parametrize(
    "data",
    ['{"a": 1} x', '{"a": 1}{"b": 2}', '{"a": ', '{"a": 1]', "{'a': 1}", "{"],
)
def test_bad_json_after_a_brace_is_the_same_typed_error(data: str) -> None:
    reader = FrameReader({})
    decoder = SseDecoder()
    first = b'data: {"ok": 1}\n\n'
    assert reader.frames(decoder.feed(first), decoder.bytes_seen) == [{"ok": 1}]
    with pytest.raises(json.JSONDecodeError):
        json.loads(data)
    with pytest.raises(StreamDecodeError) as info:
        reader.frames(decoder.feed(f"data: {data}\n\n".encode()), decoder.bytes_seen)
    assert "is not JSON" in str(info.value)
    assert info.value.offset == len(first) + len(data) + 8
    assert reader.count == 1


def test_deep_nesting_is_still_refused_on_the_fast_path() -> None:
    reader = FrameReader({}, Limits(max_json_depth=4))
    data = '{"a": ' * 6 + "1" + "}" * 6
    with pytest.raises(StreamDecodeError) as info:
        reader.frames(SseDecoder().feed(f"data: {data}\n\n".encode()), 0)
    assert "nested deeper than 4 levels" in str(info.value)


def _data_and_state(chunks: Iterable[bytes]) -> Any:
    decoder = SseDecoder()
    datas: list[str] = []
    for chunk in chunks:
        datas += decoder.feed_data(chunk)
    datas += [event.data for event in decoder.flush()]
    state = (decoder.bytes_seen, decoder.last_event_id, decoder.retry, decoder.comments)
    return datas, state


def test_feed_data_gives_the_data_and_state_feed_gives() -> None:
    body = b"".join(EVENT_CHUNKS)
    events, state = _events_and_state(EVENT_CHUNKS)
    expected = ([event.data for event in events], state)
    assert _data_and_state(EVENT_CHUNKS) == expected
    assert _data_and_state(_bytes(body)) == expected
    assert _data_and_state([body]) == expected


def test_data_frames_gives_the_frames_and_errors_frames_gives() -> None:
    chunks = [*EVENT_CHUNKS[:5], *EVENT_CHUNKS[10:12], b'data: {"x": 1]\n\n']
    results = []
    for by_data in (False, True):
        reader, decoder = FrameReader({"done_signal": "[DONE]"}), SseDecoder()
        frames: list[Any] = []
        with pytest.raises(StreamDecodeError) as info:
            for chunk in chunks:
                if by_data:
                    frames += reader.data_frames(decoder.feed_data(chunk), decoder.bytes_seen)
                else:
                    frames += reader.frames(decoder.feed(chunk), decoder.bytes_seen)
        results.append((frames, reader.done, reader.count, info.value.offset, str(info.value)))
    assert results[0] == results[1]
    assert results[0][:3] == ([{"a": 1}, {"b": [1, 2]}, {"c": "é"}, {"d": 1}, {"e": 1}], False, 5)
    assert results[0][3] == sum(map(len, chunks))  # where the bad event ended
