"""Red-team checks of session 6's speed work, parsing side: the SSE / JSON fast paths
against the general paths, the attempt deadline's cancellation accounting, and
AiohttpHeaders against httpx.Headers (the transport side: test_redteam_session6.py)."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
import pytest

from ailib.errors import StreamDecodeError
from ailib.pipeline.decoders import SseDecoder
from ailib.pipeline.frames import FrameReader
from ailib.pipeline.safejson import dumps_compact, plain_loads
from ailib.runtime.limits import DEFAULT_LIMITS, Limits

# --- SSE / JSON fast paths against the general paths ------------------------------------

_PIECES = [
    b'data: {"a": 1}\n\n',
    b"data: x\r\n\r\n",
    b"data: y\r\r",
    b"data:z\n\n",
    b"data:\n\n",
    b"data: \n\n",
    b"event: e\ndata: 1\n\n",
    b"id: 7\n",
    b"retry: 5\n",
    b": c\n",
    b"data: \xc3\xa9\n\n",
    b"\xef\xbb\xbfdata: bom\n\n",
    b"data: a\rb\n\n",
    b"data: [DONE]\n\n",
    b"\n",
    b"\r\n",
    b"data: q\n",
    b"data:  two spaces\n\n",
    b"data: \xe2\x82\xac\r\n\n",
    b"data: 0123456789abcdef\n\n",
    b"data: " + b"z" * 40 + b"\n\n",
    b"data: 12345\ndata: 6789\n\n",
]


def _events(decoder: SseDecoder, chunks: list[bytes]) -> list[Any]:
    out: list[Any] = []
    try:
        for chunk in chunks:
            out += decoder.feed(chunk)
        out += decoder.flush()
    except StreamDecodeError as exc:
        out.append(("error", exc.offset))
    return out


@pytest.mark.parametrize("small", [False, True], ids=["default-limits", "tight-limits"])
@pytest.mark.parametrize("seed", range(40))
def test_sse_fast_paths_match_byte_at_a_time(seed: int, small: bool) -> None:
    limits = Limits(max_line_bytes=24, max_event_bytes=14) if small else DEFAULT_LIMITS
    rng = random.Random(seed)
    stream = b"".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 12)))
    if rng.random() < 0.3:
        stream = b"\xef\xbb\xbf" + stream
    if rng.random() < 0.2:
        cut = rng.randrange(len(stream))
        stream = stream[:cut] + b"\xff" + stream[cut:]
    cuts = sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(0, 4))))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    whole = _events(SseDecoder(limits), chunks)
    general = _events(SseDecoder(limits), [bytearray(c) for c in chunks])  # not the fast path
    assert whole == general, (stream, chunks)
    slow = _events(SseDecoder(limits), [stream[i : i + 1] for i in range(len(stream))])
    failed = any(isinstance(item, tuple) for item in whole + slow)
    if not failed:  # (which limit an error names first may depend on the cuts, as before)
        assert whole == slow, (stream, chunks)
    datas: list[Any] = []
    decoder = SseDecoder(limits)
    try:
        for chunk in chunks:
            datas += decoder.feed_data(chunk)
    except StreamDecodeError as exc:
        datas.append(("error", exc.offset))
    expected = [e.data if not isinstance(e, tuple) else e for e in whole]
    assert datas == expected[: len(datas)]


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '{"a": 1}  ',
        '{"a": 1} x',
        '{"a": 1}{}',
        '{"a": NaN}',
        '{"a": -Infinity}',
        '{"a": 1',
        '{"a": "\\ud800"}',
        '{"a":1}\n',
        '{"a":1}\x00',
        "[1] ",
        "[1]]",
        '{"a": 1}\u00a0',
        '{"a": 1}\ufeff',
        '{"a":1,}',
    ],
)
def test_json_fast_paths_match_json_loads(text: str) -> None:
    def outcome(call: Any, value: Any) -> Any:
        try:
            return ("ok", repr(call(value)))
        except (ValueError, StreamDecodeError) as exc:
            return ("error", type(exc).__name__)

    expected = outcome(json.loads, text)
    assert outcome(plain_loads, text) == expected
    assert outcome(plain_loads, text.encode("utf-8", "surrogatepass")) == expected

    def frames(value: str) -> Any:
        return FrameReader({}).data_frames([value], 0)[0]

    got = outcome(frames, text)
    assert got[0] == expected[0] and (got[0] == "error" or got == expected)


def test_json_deep_nesting_is_typed_in_frames() -> None:
    with pytest.raises(StreamDecodeError):
        FrameReader({}).data_frames(['{"a":' * 100_000 + "1" + "}" * 100_000], 0)


@pytest.mark.parametrize(
    "value", [{"a": [1, "é", 1.5, float("nan")]}, [{1: 2, None: True}], {"a": object()}]
)
def test_dumps_compact_matches_json_dumps(value: Any) -> None:
    def outcome(call: Any) -> Any:
        try:
            return call()
        except (TypeError, ValueError) as exc:
            return type(exc)

    expected = outcome(lambda: json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    assert outcome(lambda: dumps_compact(value)) == expected


def test_dumps_compact_cycle_is_json_dumps_error() -> None:
    value: dict[str, Any] = {}
    value["self"] = value
    with pytest.raises(ValueError, match="Circular"):
        dumps_compact(value)


# --- the attempt deadline --------------------------------------------------------------

from ailib.runtime._body import BodyGuard  # noqa: E402
from ailib.runtime.attempt_deadline import _run_within_asyncio, arun_within  # noqa: E402


async def _via_asyncio(guard: BodyGuard, work: Any, *args: Any) -> Any:
    remaining = guard.remaining()
    assert remaining is not None
    return await _run_within_asyncio(guard, remaining, work, *args)


@pytest.mark.parametrize("run", [arun_within, _via_asyncio])
def test_a_deadline_the_work_swallows_returns_its_value_and_clears_the_cancel(run: Any) -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            return "finished anyway"
        return "slept"

    async def main() -> tuple[Any, int, str]:
        guard = BodyGuard(DEFAULT_LIMITS, provider="openai", deadline=0.05)
        value = await run(guard, stubborn)
        task = asyncio.current_task()
        assert task is not None
        await asyncio.sleep(0)  # no cancel left pending on the task
        return value, task.cancelling(), "after"

    assert asyncio.run(main()) == ("finished anyway", 0, "after")


@pytest.mark.parametrize("run", [arun_within, _via_asyncio])
@pytest.mark.parametrize(
    ("outer", "inner", "expected"), [(0.05, 2.0, "outer"), (2.0, 0.05, "E3003")]
)
def test_nested_in_an_outer_timeout_each_deadline_is_its_own(
    run: Any, outer: float, inner: float, expected: str
) -> None:
    async def main() -> str:
        guard = BodyGuard(DEFAULT_LIMITS, provider="openai", deadline=inner)
        try:
            async with asyncio.timeout(outer):
                try:
                    await run(guard, asyncio.sleep, 5)
                except Exception as exc:
                    assert "E3003" in str(exc)
                    return "E3003"
        except TimeoutError:
            return "outer"
        return "no error"

    assert asyncio.run(main()) == expected


# --- AiohttpHeaders against httpx.Headers -----------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        ((b"Content-Type", b"application/json"), (b"X-A", b"1"), (b"x-a", b"2"), (b"X-a", b"3")),
        ((b"Set-Cookie", b"a=1"), (b"SET-COOKIE", b"b=2"), (b"Via", b"")),
        ((b"X-Name", b"caf\xc3\xa9"), (b"X-B", b"1")),  # UTF-8: httpx's own way
        ((b"X-Name", b"caf\xe9"), (b"x-b", b"1")),  # Latin-1
    ],
)
def test_aiohttp_headers_answer_as_httpx_headers(raw: tuple[tuple[bytes, bytes], ...]) -> None:
    multidict = pytest.importorskip("multidict")
    from ailib.transport._aiohttp_headers import AiohttpHeaders

    parsed = multidict.CIMultiDictProxy(
        multidict.CIMultiDict(
            (k.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape"))
            for k, v in raw
        )
    )
    ours, theirs = AiohttpHeaders(raw, parsed), httpx.Headers(raw)
    keys = [
        "content-type",
        "CONTENT-TYPE",
        "x-a",
        "X-A",
        "set-cookie",
        "via",
        "x-name",
        "x-b",
        "missing",
        "caf\u00e9",
        "x-ä",
    ]

    def outcome(call: Any) -> Any:
        try:
            return call()
        except Exception as exc:  # httpx's own error for a key its encoding cannot say
            return type(exc)

    for key in keys:
        for ask in (
            lambda h, k=key: h.get(k),
            lambda h, k=key: k in h,
            lambda h, k=key: h.get_list(k),
            lambda h, k=key: h[k],
        ):
            assert outcome(lambda a=ask: a(ours)) == outcome(lambda a=ask: a(theirs)), key
    assert ours == theirs and dict(ours) == dict(theirs) and len(ours) == len(theirs)
    assert ours.multi_items() == theirs.multi_items() and ours.raw == theirs.raw
    assert repr(ours) == repr(theirs)
    ours["x-a"] = "new"
    theirs["x-a"] = "new"
    assert ours.get("x-a") == theirs.get("x-a") == "new"
    assert ours.multi_items() == theirs.multi_items()


def test_aiohttp_headers_off_a_hostile_wire_answer_as_httpx_headers() -> None:
    aiohttp = pytest.importorskip("aiohttp")
    from ailib.transport._aiohttp_headers import response_headers

    head = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-A:   padded   \r\nx-a:\t\ttab\t\r\n"
        b"X-Empty:\r\nX-Dup: 1\r\nX-DUP: 2\r\nX-Obs: caf\xe9\r\n\r\n"
    )

    async def run() -> None:
        async def hostile(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(head)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(hostile, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        async with aiohttp.ClientSession() as session, session.get(url) as raw:
            ours, theirs = response_headers(raw), httpx.Headers(raw.raw_headers)
            for key in ("x-a", "X-A", "x-empty", "x-dup", "x-obs", "content-length", "nope"):
                assert ours.get(key) == theirs.get(key), key
                assert (key in ours) == (key in theirs), key
        server.close()

    asyncio.run(run())
