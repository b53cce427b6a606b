"""Transport backends: ailib on httpx, httpx2 and aiohttp vs each raw client.

Usage::

    python bench/transport.py               # ~1-2 minutes
    python bench/transport.py --quick       # smoke run
    python bench/transport.py --limits      # also raw httpx at several pool limits

Two measurements against the loopback mock server, run in its own process so that it
does not share the client's interpreter lock (OpenAI wire, async, 127.0.0.1 only):

1. throughput: N calls, 64 in flight (median calls/s over interleaved rounds); each
   ailib backend row has its ratio to the raw client of the same backend, and ailib with
   no options its ratio to raw httpx with httpx's default pool (what peers ship).
2. streaming: µs per chunk of iterating a 2,000-chunk stream, ailib vs the raw client of
   the same backend (the raw clients split SSE lines and parse each JSON chunk).

Targets (issue 10): no options >= raw httpx default; aiohttp backend >= 0.8x raw
aiohttp; httpx2 backend >= 0.9x raw httpx2; per-chunk cost <= 1.5x the raw client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ANTHROPIC_MODEL, API_KEY, OPENAI_MODEL, PROMPT, have, rotate
from _server import served

from ailib import AsyncAiClient

BODY = {"model": OPENAI_MODEL, "messages": [{"role": "user", "content": PROMPT}]}
HEADERS = {"authorization": f"Bearer {API_KEY}"}
Call = Callable[[], Awaitable[Any]]
Factory = Callable[[dict[str, str]], Awaitable[tuple[Call, Callable[[], Awaitable[None]]]]]


def _raw_httpx(package: str, **limits: Any) -> Factory:
    async def make(urls: dict[str, str]) -> tuple[Call, Any]:
        module: Any = __import__(package)
        kwargs = {"limits": module.Limits(**limits)} if limits else {}
        client = module.AsyncClient(timeout=60.0, **kwargs)
        url = urls["openai"] + "/chat/completions"

        async def call() -> Any:
            resp = await client.post(url, json=BODY, headers=HEADERS)
            return json.loads(resp.content)["choices"][0]["message"]["content"]

        return call, client.aclose

    return make


async def _raw_aiohttp(urls: dict[str, str]) -> tuple[Call, Any]:
    import aiohttp

    session = aiohttp.ClientSession()
    url = urls["openai"] + "/chat/completions"

    async def call() -> Any:
        async with session.post(url, json=BODY, headers=HEADERS) as resp:
            return json.loads(await resp.read())["choices"][0]["message"]["content"]

    return call, session.close


async def _aiohttp_adapter(urls: dict[str, str]) -> tuple[Call, Any]:
    """ailib's aiohttp adapter and bounded body reader alone (no pipeline, no parsing
    into a response): what the backend costs, apart from the rest of ailib."""
    from ailib.runtime._async_body import aread_body
    from ailib.runtime._body import BodyGuard, wire_errors
    from ailib.runtime.limits import DEFAULT_LIMITS
    from ailib.transport.backends import PoolLimits, make_client

    client = make_client("aiohttp", 60.0, PoolLimits(), asynchronous=True)
    errors = wire_errors(client)
    url = urls["openai"] + "/chat/completions"
    data = json.dumps(BODY).encode()
    headers = {**HEADERS, "content-type": "application/json", "accept-encoding": "gzip, deflate"}

    async def call() -> Any:
        request = client.build_request("POST", url, content=data, headers=headers)
        response = await client.send(request, stream=True)
        guard = BodyGuard(DEFAULT_LIMITS, provider="openai", deadline=60.0)
        raw = await aread_body(response, guard, errors)
        return json.loads(raw)["choices"][0]["message"]["content"]

    return call, client.aclose


def _ailib(transport: str | None, wire: str = "openai") -> Factory:
    async def make(urls: dict[str, str]) -> tuple[Call, Any]:
        options = {} if transport is None else {"transport": transport}
        model = f"openai/{OPENAI_MODEL}" if wire == "openai" else f"anthropic/{ANTHROPIC_MODEL}"
        client = await AsyncAiClient.create(model, api_key=API_KEY, base_url=urls[wire], **options)

        async def call() -> Any:
            return (await client.chat().user(PROMPT).execute()).content

        return call, client.aclose

    return make


async def _openai_sdk(urls: dict[str, str]) -> tuple[Call, Any]:
    import openai

    client = openai.AsyncOpenAI(base_url=urls["openai"], api_key=API_KEY)

    async def call() -> Any:
        resp = await client.chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": PROMPT}]
        )
        return resp.choices[0].message.content

    return call, client.close


async def _anthropic_sdk(urls: dict[str, str]) -> tuple[Call, Any]:
    import anthropic

    client = anthropic.AsyncAnthropic(base_url=urls["root"], api_key=API_KEY)

    async def call() -> Any:
        resp = await client.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=4096,
            messages=[{"role": "user", "content": PROMPT}],
        )
        return resp.content[0].text

    return call, client.close


async def _throughput(
    factory: Factory, urls: dict[str, str], requests: int, concurrency: int
) -> float:
    call, close = await factory(urls)
    sem = asyncio.Semaphore(concurrency)

    async def one() -> Any:
        async with sem:
            return await call()

    try:
        warm = await asyncio.gather(*(one() for _ in range(concurrency)))
        if warm[0] != f"echo: {PROMPT}":
            raise RuntimeError(f"unexpected answer {warm[0]!r}")
        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        return requests / (time.perf_counter() - t0)
    finally:
        await close()


def throughput_contenders(limits: bool) -> list[tuple[str, Factory]]:
    group: list[tuple[str, Factory]] = [
        ("raw httpx (httpx default pool)", _raw_httpx("httpx")),
        ("ailib (no options)", _ailib(None)),
    ]
    if limits:
        for conns, idle in ((100, 100), (100, 10), (100, 5), (100, 0), (16, 16)):
            group.append(
                (
                    f"raw httpx max_connections={conns} keepalive={idle}",
                    _raw_httpx("httpx", max_connections=conns, max_keepalive_connections=idle),
                )
            )
        group.append(  # what openai-python and anthropic-sdk-python set
            (
                "raw httpx with openai/anthropic SDK limits",
                _raw_httpx("httpx", max_connections=1000, max_keepalive_connections=100),
            )
        )
    if have("openai"):  # peers, each with its default settings
        group += [("openai-python (defaults)", _openai_sdk)]
    if have("anthropic"):
        group += [("anthropic-sdk (defaults, Anthropic wire)", _anthropic_sdk)]
        group += [("ailib (no options, Anthropic wire)", _ailib(None, "anthropic"))]
    if have("httpx2"):
        group += [("raw httpx2", _raw_httpx("httpx2"))]
        group += [("ailib transport=httpx2", _ailib("httpx2"))]
    if have("aiohttp"):
        group += [("raw aiohttp", _raw_aiohttp), ("ailib transport=aiohttp", _ailib("aiohttp"))]
        group += [("aiohttp adapter + body reader (no pipeline)", _aiohttp_adapter)]
    return group


# ---- streaming -------------------------------------------------------------------------------


async def _raw_stream_httpx(package: str, base: str) -> Any:
    module: Any = __import__(package)
    client = module.AsyncClient(timeout=60.0)
    body = {**BODY, "stream": True}

    async def run() -> tuple[float, int]:
        n = 0
        async with client.stream(
            "POST", base + "/chat/completions", json=body, headers=HEADERS
        ) as r:
            t0 = time.perf_counter_ns()
            async for line in r.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    json.loads(line[6:])
                    n += 1
        return time.perf_counter_ns() - t0, n

    return run, client.aclose


async def _raw_stream_aiohttp(base: str) -> Any:
    import aiohttp

    session = aiohttp.ClientSession()
    body = {**BODY, "stream": True}

    async def run() -> tuple[float, int]:
        n = 0
        async with session.post(base + "/chat/completions", json=body, headers=HEADERS) as r:
            t0 = time.perf_counter_ns()
            async for raw in r.content:  # lines
                line = raw.decode().rstrip("\r\n")
                if line.startswith("data: ") and line != "data: [DONE]":
                    json.loads(line[6:])
                    n += 1
        return time.perf_counter_ns() - t0, n

    return run, session.close


async def _ailib_stream(transport: str | None, base: str) -> Any:
    options = {} if transport is None else {"transport": transport}
    client = await AsyncAiClient.create(
        f"openai/{OPENAI_MODEL}", api_key=API_KEY, base_url=base, **options
    )

    async def run() -> tuple[float, int]:
        n = 0
        async with client.chat().user("x").stream() as s:
            t0 = time.perf_counter_ns()
            async for _ in s:
                n += 1
        return time.perf_counter_ns() - t0, n

    return run, client.aclose


async def _stream_cost(make: Callable[[], Awaitable[Any]], chunks: int, runs: int) -> float:
    run, close = await make()
    try:
        await run()  # warm-up
        samples = []
        for _ in range(runs):
            elapsed, n = await run()
            if n < chunks // 2:
                raise RuntimeError(f"a stream of {n} events, expected about {chunks}")
            samples.append(elapsed / n / 1000)
        return statistics.median(samples)
    finally:
        await close()


def stream_pairs(base: str) -> list[tuple[str, Any, Any]]:
    """(backend, raw stream factory, ailib stream factory) per installed backend."""
    pairs = [("httpx", lambda: _raw_stream_httpx("httpx", base), lambda: _ailib_stream(None, base))]
    if have("httpx2"):
        pairs.append(
            (
                "httpx2",
                lambda: _raw_stream_httpx("httpx2", base),
                lambda: _ailib_stream("httpx2", base),
            )
        )
    if have("aiohttp"):
        pairs.append(
            ("aiohttp", lambda: _raw_stream_aiohttp(base), lambda: _ailib_stream("aiohttp", base))
        )
    return pairs


# ---- the run -------------------------------------------------------------------------------

#: (ailib row, reference row, target: ailib's calls/s at least this times the reference's)
PAIRS = [
    ("ailib (no options)", "raw httpx (httpx default pool)", 1.0),
    ("ailib (no options)", "openai-python (defaults)", 1.0),
    ("ailib (no options, Anthropic wire)", "anthropic-sdk (defaults, Anthropic wire)", 1.0),
    ("ailib transport=httpx2", "raw httpx2", 0.9),
    ("ailib transport=aiohttp", "raw aiohttp", 0.8),
    ("aiohttp adapter + body reader (no pipeline)", "raw aiohttp", 0.8),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--limits", action="store_true", help="raw httpx at other pool limits")
    parser.add_argument("--requests", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=0)
    args = parser.parse_args(argv)
    requests = args.requests or (300 if args.quick else 1500)
    rounds = args.rounds or (1 if args.quick else 3)
    chunks, runs = 2000, (3 if args.quick else 9)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"transport bench: {requests} calls x {rounds} rounds @ 64 in flight; loadavg {load}")
    group = throughput_contenders(args.limits)
    samples: dict[str, list[float]] = {name: [] for name, _ in group}
    with served() as urls:
        for r in range(rounds):
            for name, factory in rotate(group, r):
                samples[name].append(asyncio.run(_throughput(factory, urls, requests, 64)))
    rps = {name: statistics.median(v) for name, v in samples.items()}
    print("\n1. async throughput, 64 in flight (median calls/s; OpenAI wire unless named)")
    for name, _ in group:
        print(f"  {name:48s} {rps[name]:9.0f}")
    print("\n   ratios (calls/s against calls/s, same run)")
    for ours, reference, target in PAIRS:
        if ours in rps and reference in rps:
            ratio = rps[ours] / rps[reference]
            verdict = "ok" if ratio >= target else "MISSED"
            print(f"  {ours} / {reference}: {ratio:5.2f}x (target >= {target}x: {verdict})")
    print(f"\n2. async stream of {chunks} chunks (median µs/chunk over {runs} runs)")
    with served(chunks) as urls:
        for backend, raw_make, ai_make in stream_pairs(urls["openai"]):
            raw_cost = asyncio.run(_stream_cost(raw_make, chunks, runs))
            ai_cost = asyncio.run(_stream_cost(ai_make, chunks, runs))
            ratio = ai_cost / raw_cost
            verdict = "ok" if ratio <= 1.5 else "MISSED"
            print(
                f"  {backend:8s} raw {raw_cost:6.2f} µs  ailib {ai_cost:6.2f} µs"
                f"   {ratio:5.2f}x (target <= 1.5x: {verdict})"
            )
    after = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"\nloadavg after the run: {after}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
