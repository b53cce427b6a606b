"""Sync benchmarks: per-call latency and per-chunk streaming cost against the mock server."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from _common import (
    ANTHROPIC_MAX_TOKENS,
    ANTHROPIC_MODEL,
    API_KEY,
    OPENAI_MODEL,
    PROMPT,
    Row,
    Settings,
    have,
    judge,
    median,
    percentile,
    quiet_gc,
    rotate,
)

from ailib import AiClient
from ailib.testing import MockServer, Scenario

CALL_TARGET = 1.2  # ailib per call <= 1.2x raw httpx
CHUNK_TARGET = 1.5  # ailib per chunk <= 1.5x raw httpx
READY_TARGET = 1.05  # production_ready() <= 1.05x the plain ailib client

Call = Callable[[], Any]
#: a stream run returns (ns to open, ns to iterate all events, events seen)
StreamRun = Callable[[], tuple[int, int, int]]


def _messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def openai_raw(
    server: MockServer,
) -> tuple[httpx.Client, str, dict[str, Any], dict[str, str]]:
    """Raw httpx client, URL, body and headers equivalent to ailib's OpenAI request."""
    body = {"model": OPENAI_MODEL, "messages": _messages(PROMPT)}
    headers = {"authorization": f"Bearer {API_KEY}"}
    return httpx.Client(), server.base_url("openai") + "/chat/completions", body, headers


def anthropic_raw(
    server: MockServer,
) -> tuple[httpx.Client, str, dict[str, Any], dict[str, str]]:
    """Raw httpx client, URL, body and headers equivalent to ailib's Anthropic request."""
    body = {
        "model": ANTHROPIC_MODEL,
        "messages": _messages(PROMPT),
        "max_tokens": ANTHROPIC_MAX_TOKENS,
    }
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    return httpx.Client(), server.url + "/v1/messages", body, headers


# ---------------------------------------------------------------- per-call contenders


def call_contenders(
    server: MockServer, stack: contextlib.ExitStack
) -> dict[str, list[tuple[str, Call]]]:
    """Per-call functions grouped by wire dialect; the first entry is the raw baseline."""
    groups: dict[str, list[tuple[str, Call]]] = {}

    http, url, body, headers = openai_raw(server)
    stack.enter_context(http)
    ai = stack.enter_context(
        AiClient.create(
            f"openai/{OPENAI_MODEL}", api_key=API_KEY, base_url=server.base_url("openai")
        )
    )

    def raw_openai() -> Any:
        resp = http.post(url, json=body, headers=headers)
        return json.loads(resp.content)["choices"][0]["message"]["content"]

    ready = stack.enter_context(
        AiClient.builder()
        .model(f"openai/{OPENAI_MODEL}")
        .api_key(API_KEY)
        .base_url(server.base_url("openai"))
        .production_ready()  # retry, breaker, in-flight cap: no I/O on the plain path
        .build()
    )
    group = [
        ("raw httpx", raw_openai),
        ("ailib", lambda: ai.chat().user(PROMPT).execute().content),
        ("ailib production_ready()", lambda: ready.chat().user(PROMPT).execute().content),
    ]
    if have("openai"):
        import openai

        oc = stack.enter_context(openai.OpenAI(base_url=server.base_url("openai"), api_key=API_KEY))
        msgs: Any = _messages(PROMPT)

        def sdk_openai() -> Any:
            resp = oc.chat.completions.create(model=OPENAI_MODEL, messages=msgs)
            return resp.choices[0].message.content

        group.append(("openai-python", sdk_openai))
    groups["openai"] = group

    a_http, a_url, a_body, a_headers = anthropic_raw(server)
    stack.enter_context(a_http)
    a_ai = stack.enter_context(
        AiClient.create(
            f"anthropic/{ANTHROPIC_MODEL}", api_key=API_KEY, base_url=server.base_url("anthropic")
        )
    )

    def raw_anthropic() -> Any:
        resp = a_http.post(a_url, json=a_body, headers=a_headers)
        return json.loads(resp.content)["content"][0]["text"]

    group = [
        ("raw httpx", raw_anthropic),
        ("ailib", lambda: a_ai.chat().user(PROMPT).execute().content),
    ]
    if have("anthropic"):
        import anthropic

        ac = stack.enter_context(anthropic.Anthropic(base_url=server.url, api_key=API_KEY))
        a_msgs: Any = _messages(PROMPT)

        def sdk_anthropic() -> Any:
            resp = ac.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=ANTHROPIC_MAX_TOKENS, messages=a_msgs
            )
            return resp.content[0].text

        group.append(("anthropic-python", sdk_anthropic))
    groups["anthropic"] = group
    return groups


def bench_calls(server: MockServer, settings: Settings) -> list[Row]:
    """Median µs per call; contenders alternate in blocks so drift hits all of them."""
    server.set_default(None)  # echo: "echo: hi"
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        rows += _measure_calls(server, settings, call_contenders(server, stack))
    return rows


def _measure_calls(
    server: MockServer, settings: Settings, groups: dict[str, list[tuple[str, Call]]]
) -> list[Row]:
    rows: list[Row] = []
    for dialect, group in groups.items():
        for name, fn in group:  # sanity check + warm-up (connections, caches)
            answer = fn()
            if answer != f"echo: {PROMPT}":
                raise RuntimeError(f"{dialect}/{name} returned {answer!r}")
            for _ in range(max(20, settings.sync_block)):
                fn()
        samples: dict[str, list[float]] = {name: [] for name, _ in group}
        #: each round's block median per contender: ratios are judged round by round
        blocks: dict[str, list[float]] = {name: [] for name, _ in group}
        rounds = max(1, settings.sync_calls // settings.sync_block)
        for r in range(rounds):
            for name, fn in rotate(group, r):
                out: list[float] = []
                with quiet_gc(settings.disable_gc):
                    for _ in range(settings.sync_block):
                        t0 = time.perf_counter_ns()
                        fn()
                        out.append((time.perf_counter_ns() - t0) / 1000)
                samples[name] += out
                blocks[name].append(median(out))
        server.reset()  # drop the recorded requests
        base = median(samples["raw httpx"])
        section = f"2. sync call, {dialect} (median µs/call)"
        for name, _ in group:
            value = median(samples[name])
            row = Row(section, name, value, "µs", value / base)
            row.extra = {"p90_us": percentile(samples[name], 90), "n": len(samples[name])}
            if name == "ailib":
                paired = paired_ratio(blocks[name], blocks["raw httpx"])
                target, row.passed = judge(paired, CALL_TARGET)
                row.target = f"{target} (paired {paired:.3f}x)"
                row.extra["paired_vs_raw"] = paired
            if name == "ailib production_ready()":  # <= 5% over the plain client
                paired = paired_ratio(blocks[name], blocks["ailib"])
                target, row.passed = judge(paired, READY_TARGET)
                row.target = f"{target} plain ailib (paired {paired:.3f}x)"
                row.extra["vs_plain_ailib"] = paired
            rows.append(row)
    return rows


def paired_ratio(mine: list[float], theirs: list[float]) -> float:
    """Median over rounds of (my block median / theirs in the same round).

    Blocks of one round run back to back (in rotating order), so a load change on a
    shared machine moves both sides of each ratio; a ratio of whole-run medians is not
    protected from that drift.
    """
    return median([a / b for a, b in zip(mine, theirs, strict=True) if b > 0])


# ---------------------------------------------------------------- streaming contenders


def stream_contenders(
    server: MockServer, stack: contextlib.ExitStack
) -> dict[str, list[tuple[str, StreamRun]]]:
    """Functions streaming one full response; the first of each group is the raw baseline."""
    groups: dict[str, list[tuple[str, StreamRun]]] = {}
    clock = time.perf_counter_ns

    http, url, body, headers = openai_raw(server)
    body = {**body, "stream": True}
    stack.enter_context(http)
    ai = stack.enter_context(
        AiClient.create(
            f"openai/{OPENAI_MODEL}", api_key=API_KEY, base_url=server.base_url("openai")
        )
    )

    def raw_openai() -> tuple[int, int, int]:
        t0 = clock()
        n = 0
        with http.stream("POST", url, json=body, headers=headers) as r:
            t1 = clock()
            for line in r.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    json.loads(line[6:])
                    n += 1
        return t1 - t0, clock() - t1, n

    def ailib_openai() -> tuple[int, int, int]:
        return _ailib_stream(ai)

    group: list[tuple[str, StreamRun]] = [("raw httpx", raw_openai), ("ailib", ailib_openai)]
    if have("openai"):
        import openai

        oc = stack.enter_context(openai.OpenAI(base_url=server.base_url("openai"), api_key=API_KEY))

        def sdk_openai() -> tuple[int, int, int]:
            t0 = clock()
            n = 0
            msgs: Any = _messages("x")
            with oc.chat.completions.create(model=OPENAI_MODEL, messages=msgs, stream=True) as s:
                t1 = clock()
                for _ in s:
                    n += 1
            return t1 - t0, clock() - t1, n

        group.append(("openai-python", sdk_openai))
    groups["openai"] = group

    a_http, a_url, a_body, a_headers = anthropic_raw(server)
    a_body = {**a_body, "stream": True}
    stack.enter_context(a_http)
    a_ai = stack.enter_context(
        AiClient.create(
            f"anthropic/{ANTHROPIC_MODEL}", api_key=API_KEY, base_url=server.base_url("anthropic")
        )
    )

    def raw_anthropic() -> tuple[int, int, int]:
        t0 = clock()
        n = 0
        with a_http.stream("POST", a_url, json=a_body, headers=a_headers) as r:
            t1 = clock()
            for line in r.iter_lines():
                if line.startswith("data: "):
                    json.loads(line[6:])
                    n += 1
        return t1 - t0, clock() - t1, n

    def ailib_anthropic() -> tuple[int, int, int]:
        return _ailib_stream(a_ai)

    group = [("raw httpx", raw_anthropic), ("ailib", ailib_anthropic)]
    if have("anthropic"):
        import anthropic

        ac = stack.enter_context(anthropic.Anthropic(base_url=server.url, api_key=API_KEY))

        def sdk_anthropic() -> tuple[int, int, int]:
            t0 = clock()
            n = 0
            msgs: Any = _messages("x")
            with ac.messages.stream(
                model=ANTHROPIC_MODEL, max_tokens=ANTHROPIC_MAX_TOKENS, messages=msgs
            ) as s:
                t1 = clock()
                for _ in s:
                    n += 1
            return t1 - t0, clock() - t1, n

        group.append(("anthropic-python", sdk_anthropic))
    groups["anthropic"] = group
    return groups


def _ailib_stream(client: AiClient) -> tuple[int, int, int]:
    clock = time.perf_counter_ns
    t0 = clock()
    n = 0
    with client.chat().user("x").stream() as s:
        t1 = clock()
        for _ in s:
            n += 1
    return t1 - t0, clock() - t1, n


def stream_text(chunks: int) -> str:
    """Deterministic text that splits into ``chunks`` token-like pieces of ~4 characters."""
    words = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit")
    return " ".join(words[i % len(words)] for i in range(chunks))[: chunks * 4]


def bench_streams(server: MockServer, settings: Settings) -> list[Row]:
    """µs per chunk of iterating a ``stream_chunks``-delta stream (after headers arrived)."""
    scenario = Scenario(text=stream_text(settings.stream_chunks), chunks=settings.stream_chunks)
    server.set_default(scenario)
    rows: list[Row] = []
    try:
        with contextlib.ExitStack() as stack:
            for dialect, group in stream_contenders(server, stack).items():
                rows += _measure_streams(dialect, group, settings)
                server.reset()  # drop the recorded requests
                server.set_default(scenario)
    finally:
        server.set_default(None)
    return rows


def _measure_streams(
    dialect: str, group: list[tuple[str, StreamRun]], settings: Settings
) -> list[Row]:
    chunks = settings.stream_chunks
    events = {name: fn()[2] for name, fn in group}  # warm-up, and events per stream
    iterate: dict[str, list[float]] = {name: [] for name, _ in group}
    total: dict[str, list[float]] = {name: [] for name, _ in group}
    for r in range(settings.stream_runs):
        for name, fn in rotate(group, r):
            with quiet_gc(settings.disable_gc):
                t_open, t_iter, _ = fn()
            iterate[name].append(t_iter / chunks / 1000)
            total[name].append((t_open + t_iter) / 1e6)
    base = median(iterate["raw httpx"])
    section = f"4. stream {chunks} chunks, {dialect} (median µs/chunk, excl. request)"
    rows = []
    for name, _ in group:
        value = median(iterate[name])
        row = Row(section, name, value, "µs", value / base)
        row.extra = {
            "stream_total_ms": median(total[name]),
            "events_per_stream": events[name],
            "runs": len(iterate[name]),
        }
        if name == "ailib":
            row.target, row.passed = judge(value / base, CHUNK_TARGET)
        rows.append(row)
    return rows
