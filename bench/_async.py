"""Async throughput: N requests through asyncio.gather under a semaphore of C."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from _common import API_KEY, OPENAI_MODEL, PROMPT, Row, Settings, have, judge, median, rotate

from ailib import AsyncAiClient
from ailib.testing import MockServer

THROUGHPUT_TARGET = 1.0  # ailib req/s >= 1.0x raw httpx
#: ailib's AsyncEngine pool (src/ailib/runtime/_async_engine.py); raw httpx gets the same
POOL = httpx.Limits(max_connections=100, max_keepalive_connections=100)
TIMEOUT = 60.0  # ailib's DEFAULT_TIMEOUT

Call = Callable[[], Awaitable[Any]]
Close = Callable[[], Awaitable[None]]


async def _raw(server: MockServer) -> tuple[Call, Close]:
    client = httpx.AsyncClient(limits=POOL, timeout=TIMEOUT)
    url = server.base_url("openai") + "/chat/completions"
    body = {"model": OPENAI_MODEL, "messages": [{"role": "user", "content": PROMPT}]}
    headers = {"authorization": f"Bearer {API_KEY}"}

    async def call() -> Any:
        resp = await client.post(url, json=body, headers=headers)
        return json.loads(resp.content)["choices"][0]["message"]["content"]

    return call, client.aclose


async def _ailib(server: MockServer) -> tuple[Call, Close]:
    client = await AsyncAiClient.create(
        f"openai/{OPENAI_MODEL}", api_key=API_KEY, base_url=server.base_url("openai")
    )

    async def call() -> Any:
        return (await client.chat().user(PROMPT).execute()).content

    return call, client.aclose


async def _ailib_httpx2(server: MockServer) -> tuple[Call, Close]:
    """ailib with an httpx2 client plugged into its transport seam (what openai-python uses)."""
    import httpx2

    client = await AsyncAiClient.create(
        f"openai/{OPENAI_MODEL}",
        api_key=API_KEY,
        base_url=server.base_url("openai"),
        http_client=httpx2.AsyncClient(),
    )

    async def call() -> Any:
        return (await client.chat().user(PROMPT).execute()).content

    return call, client.aclose


async def _openai(server: MockServer) -> tuple[Call, Close]:
    import openai

    client = openai.AsyncOpenAI(base_url=server.base_url("openai"), api_key=API_KEY)
    messages: Any = [{"role": "user", "content": PROMPT}]

    async def call() -> Any:
        resp = await client.chat.completions.create(model=OPENAI_MODEL, messages=messages)
        return resp.choices[0].message.content

    return call, client.close


async def _throughput(
    factory: Callable[[MockServer], Awaitable[tuple[Call, Close]]],
    server: MockServer,
    requests: int,
    concurrency: int,
) -> float:
    """Requests per second for ``requests`` calls, at most ``concurrency`` in flight."""
    call, close = await factory(server)
    sem = asyncio.Semaphore(concurrency)

    async def one() -> Any:
        async with sem:
            return await call()

    try:
        warm = await asyncio.gather(*(one() for _ in range(concurrency)))  # fill the pool
        if warm[0] != f"echo: {PROMPT}":
            raise RuntimeError(f"unexpected answer {warm[0]!r}")
        t0 = time.perf_counter_ns()
        await asyncio.gather(*(one() for _ in range(requests)))
        elapsed = time.perf_counter_ns() - t0
    finally:
        await close()
    return requests / (elapsed / 1e9)


def bench_async(server: MockServer, settings: Settings) -> list[Row]:
    """Median req/s per contender over ``async_rounds`` interleaved rounds."""
    server.set_default(None)
    group: list[tuple[str, Any]] = [("raw httpx", _raw), ("ailib", _ailib)]
    if have("httpx2"):
        group.append(("ailib + httpx2 client (transport seam)", _ailib_httpx2))
    if have("openai"):
        group.append(("openai-python", _openai))
    samples: dict[str, list[float]] = {name: [] for name, _ in group}
    for r in range(settings.async_rounds):
        for name, factory in rotate(group, r):
            rps = asyncio.run(
                _throughput(factory, server, settings.async_requests, settings.concurrency)
            )
            samples[name].append(rps)
            server.reset()  # drop the recorded requests
    base = median(samples["raw httpx"])
    section = (
        f"3. async openai, {settings.async_requests} req @ {settings.concurrency} concurrent "
        "(median req/s)"
    )
    rows = []
    for name, _ in group:
        value = median(samples[name])
        row = Row(section, name, value, "req/s", value / base)
        row.extra = {"samples_rps": samples[name]}
        if name == "ailib":
            row.target, row.passed = judge(value / base, THROUGHPUT_TARGET, higher_is_better=True)
        rows.append(row)
    return rows
