"""cProfile of ailib's hot paths and ``-X importtime`` of ``from ailib import AiClient``."""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import re
import subprocess
import sys
import timeit
from collections.abc import Callable
from typing import Any

import httpx
from _common import API_KEY, OPENAI_MODEL, PROMPT, Settings
from _sync import stream_text

from ailib import AiClient
from ailib.testing import MockServer, Scenario


def _stats(profile: cProfile.Profile, sort: str, top: int, only: str | None = None) -> str:
    """pstats listing; ``only`` is a regex on the file path (e.g. ailib's own code)."""
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats(sort)
    if only:
        stats.print_stats(only, top)
    else:
        stats.print_stats(top)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    text = "\n".join(lines[start:]).rstrip()
    return _PATHS.sub("", text)


#: shortens ".../site-packages/" and ".../src/" prefixes in pstats output
_PATHS = re.compile(r"(?:/[^\s:()]+/(?:site-packages|src|lib/python3\.\d+)/)")


def profile_calls(server: MockServer, calls: int, top: int = 15) -> str:
    """Profile ``calls`` sync non-streaming ailib calls (OpenAI dialect)."""
    server.set_default(None)
    with AiClient.create(
        f"openai/{OPENAI_MODEL}", api_key=API_KEY, base_url=server.base_url("openai")
    ) as client:
        for _ in range(50):
            client.chat().user(PROMPT).execute()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(calls):
            client.chat().user(PROMPT).execute()
        prof.disable()
    server.reset()
    head = f"ailib sync execute() x{calls} (openai dialect)"
    return _report(head, prof, top)


def profile_stream(server: MockServer, streams: int, chunks: int, top: int = 15) -> str:
    """Profile iterating ``streams`` ailib streams of ``chunks`` deltas each (OpenAI dialect)."""
    server.set_default(Scenario(text=stream_text(chunks), chunks=chunks))
    with AiClient.create(
        f"openai/{OPENAI_MODEL}", api_key=API_KEY, base_url=server.base_url("openai")
    ) as client:
        with client.chat().user("x").stream() as s:  # warm-up
            for _ in s:
                pass
        prof = cProfile.Profile()
        for _ in range(streams):
            with client.chat().user("x").stream() as s:
                prof.enable()
                for _ in s:
                    pass
                prof.disable()
    server.reset()
    head = f"ailib sync stream iteration x{streams} streams of {chunks} chunks (openai dialect)"
    return _report(head, prof, top)


def _report(head: str, prof: cProfile.Profile, top: int) -> str:
    parts = [f"=== {head}: top {top} by tottime ===", _stats(prof, "tottime", top)]
    parts += [f"=== {head}: top {top} by cumulative ===", _stats(prof, "cumulative", top)]
    parts += [
        f"=== {head}: ailib/tenacity/attrs functions, top {top} by tottime ===",
        _stats(prof, "tottime", top, only=r"/ailib/|/tenacity/|/attr/|/cattrs/"),
    ]
    return "\n".join(parts)


def import_profile(stmt: str = "from ailib import AiClient", top: int = 15) -> str:
    """Top modules by cumulative and self time from ``python -X importtime``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    subprocess.run([sys.executable, "-c", stmt], env=env, check=True, capture_output=True)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", stmt],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:") :].split("|")
        rows.append((int(self_us), int(cum_us), name.rstrip()))
    total = sum(r[0] for r in rows)
    out = [f"=== python -X importtime -c {stmt!r}: total {total / 1000:.1f} ms ==="]
    out.append(f"top {top} by self time (µs):")
    out += [f"  {s:>8} {c:>8} {n.strip()}" for s, c, n in sorted(rows, reverse=True)[:top]]
    out.append(f"top {top} by cumulative time (µs), packages only:")
    tops = [r for r in rows if "." not in r[2].strip()]
    tops.sort(key=lambda r: r[1], reverse=True)
    out += [f"  {s:>8} {c:>8} {n.strip()}" for s, c, n in tops[:top]]
    return "\n".join(out)


def _per_op(fn: Callable[[], object], number: int) -> float:
    """Best-of-5 µs per call of ``fn`` (no I/O, so the minimum is the stable figure)."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def _timed_lines(ops: dict[str, tuple[Callable[[], object], int, int]]) -> list[str]:
    """``label -> (fn, calls per repeat, divisor)``; failures print as n/a (internal APIs move)."""
    lines = []
    for label, (fn, number, per) in ops.items():
        try:
            lines.append(f"  {_per_op(fn, number) / per:8.2f}  {label}")
        except Exception as exc:
            lines.append(f"       n/a  {label} ({type(exc).__name__}: {exc})")
    return lines


def _recorded_transport(server: MockServer, chunks: int) -> httpx.MockTransport:
    """Replays the mock server's real OpenAI replies (one stream event per read)."""
    url = server.base_url("openai") + "/chat/completions"
    body = {"model": OPENAI_MODEL, "messages": [{"role": "user", "content": PROMPT}]}
    server.set_default(None)
    with httpx.Client() as http:
        plain = http.post(url, json=body)
        server.set_default(Scenario(text=stream_text(chunks), chunks=chunks))
        streamed = http.post(url, json={**body, "stream": True})
    server.reset()
    events = [e + b"\n\n" for e in streamed.content.split(b"\n\n") if e]
    plain_headers = [(k, v) for k, v in plain.headers.items() if k != "content-length"]
    stream_headers = [(k, v) for k, v in streamed.headers.items() if k != "transfer-encoding"]

    def handler(request: httpx.Request) -> httpx.Response:
        if b'"stream":true' in request.content.replace(b" ", b""):
            return httpx.Response(200, headers=stream_headers, content=iter(events))
        return httpx.Response(200, headers=plain_headers, content=plain.content)

    return httpx.MockTransport(handler)


def breakdown(server: MockServer, chunks: int) -> str:
    """ailib vs raw httpx CPU with the network replaced by a replaying MockTransport."""
    transport = _recorded_transport(server, chunks)
    url = server.base_url("openai") + "/chat/completions"
    body = {"model": OPENAI_MODEL, "messages": [{"role": "user", "content": PROMPT}]}
    headers = {"authorization": f"Bearer {API_KEY}"}
    lines = ["=== CPU without the network (httpx.MockTransport replay, best of 5, µs) ==="]
    with (
        httpx.Client(transport=transport) as http,
        AiClient.create(
            f"openai/{OPENAI_MODEL}",
            api_key=API_KEY,
            base_url=server.base_url("openai"),
            http_client=httpx.Client(transport=transport),
        ) as client,
    ):
        engine: Any = client.provider

        def raw_call() -> object:
            return json.loads(http.post(url, json=body, headers=headers).content)["choices"][0]

        def raw_stream() -> None:
            with http.stream("POST", url, json={**body, "stream": True}, headers=headers) as r:
                for line in r.iter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        json.loads(line[6:])

        def ailib_stream() -> None:
            with client.chat().user("x").stream() as s:
                for _ in s:
                    pass

        req = client.chat().user(PROMPT).build(stream=False)
        resp = http.post(url, json=body, headers=headers)
        parsed = json.loads(resp.content)
        ops: dict[str, tuple[Callable[[], object], int, int]] = {
            "per call: raw httpx post + json.loads": (raw_call, 1000, 1),
            "per call: ailib chat().user().execute()": (
                lambda: client.chat().user(PROMPT).execute(),
                1000,
                1,
            ),
            "  of which chat().user().build()": (
                lambda: client.chat().user(PROMPT).build(stream=False),
                2000,
                1,
            ),
            "  of which provider.prepare(req)": (lambda: engine.prepare(req), 2000, 1),
            "  of which provider.parse_response()": (
                lambda: engine.parse_response(parsed, resp.headers),
                2000,
                1,
            ),
            "per chunk: raw httpx iter_lines + json.loads": (raw_stream, 3, chunks),
            "per chunk: ailib stream iteration": (ailib_stream, 3, chunks),
        }
        lines += _timed_lines(ops)
    return "\n".join(lines)


def run(server: MockServer, settings: Settings) -> str:
    """All profiles as one printable text block."""
    calls = 100 if settings.quick else 1000
    streams = 2 if settings.quick else 10
    return "\n\n".join(
        [
            import_profile(),
            breakdown(server, settings.stream_chunks),
            profile_calls(server, calls),
            profile_stream(server, streams, settings.stream_chunks),
        ]
    )
