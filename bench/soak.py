"""Soak: many calls through the pipeline with injected faults; nothing lost, nothing grows.

Usage::

    python bench/soak.py                      # 100,000 calls, 5% faults, 32 in flight
    python bench/soak.py --calls 5000         # a short run
    python bench/soak.py --calls 100000 --concurrency 64 --fault-rate 0.05 --json soak.json

A child process runs the loopback mock server behind the faulty proxy (so this process's
RSS is the client's alone) and injects a fault into ``--fault-rate`` of the attempts, an
equal mix of: a 500, a 429 with a 10 ms Retry-After, a reset before the headers, and a
cut (a stream closed after its first word, not retried since an event reached the
caller; a plain body reset mid-way, retried). Half the calls stream. Every call is
checked: one complete answer that is its own (the server echoes each call's id), or one
typed error carrying what was delivered, no event twice.

Reported: calls/s held (overall and the slowest tenth of the run), faults injected,
calls that succeeded after a fault, typed failures by class and code, and the growth of
the resident set after warm-up (target: under 10 MB). Not collected by pytest, not in
CI; only 127.0.0.1 is contacted. Exit status 1 if an untyped error or a broken
invariant was seen.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import random
import re
import sys
import threading
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ailib import AsyncAiClient
from ailib.errors import STANDARD_CODES, AiLibError

MODEL = "openai/gpt-4o"
FALLBACK = "anthropic/claude-sonnet-4-5"
KEY = "sk-soak-0123456789abcdef0123456789"
KINDS = ("500", "429", "reset", "cut")
CALL_ID = re.compile(rb"call-(\d+)")
RSS_TARGET_MB = 10.0


# ---------------------------------------------------------------- the faulty side (child)


class FaultMix:
    """Chooses a fault for ``rate`` of the attempts (seeded) and remembers whom it hit.

    The proxy asks first (it sees every attempt); a fault only the server can make (a
    status, a cut stream) is handed to the server's picker under the call's id.
    """

    def __init__(self, rate: float, seed: int) -> None:
        from ailib.testing import Scenario
        from ailib.testing.faulty_proxy import Fault

        self.rate = rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.pending: dict[int, str] = {}
        self.faults: dict[int, int] = {}  # call id -> faults it met
        self.kinds: Counter[str] = Counter()
        self.attempts = 0
        self._pass, self._reset = Fault.passthrough(), Fault.reset_before_headers()
        self._body_cut = Fault.reset_mid_body(30)
        self._echo = Scenario()
        self._scenarios = {
            "500": Scenario(status=500),
            "429": Scenario(status=429, retry_after=0.01),
            "cut": Scenario(cut_after=2),  # the role event and the first word, then FIN
        }

    def for_proxy(self, raw: bytes) -> Any:
        found = CALL_ID.search(raw)
        call_id = int(found.group(1)) if found else -1
        with self.lock:
            self.attempts += 1
            if self.rng.random() >= self.rate:
                return self._pass
            kind = self.rng.choice(KINDS)
            self.kinds[kind] += 1
            self.faults[call_id] = self.faults.get(call_id, 0) + 1
            if kind == "reset":
                return self._reset
            if kind == "cut" and b'"stream":true' not in raw:
                return self._body_cut
            self.pending[call_id] = kind
            return self._pass

    def for_server(self, body: dict[str, Any]) -> Any:
        text = str(body.get("messages", [{}])[-1].get("content", ""))
        found = CALL_ID.search(text.encode())
        kind = self.pending.pop(int(found.group(1)), None) if found else None
        return self._echo if kind is None else self._scenarios[kind]


def serve(conn: Connection, rate: float, seed: int) -> None:
    """Child process: mock server behind the faulty proxy until told to stop."""
    from ailib.testing import MockServer
    from ailib.testing.faulty_proxy import FaultyProxy

    mix = FaultMix(rate, seed)
    with MockServer() as server, FaultyProxy(server) as proxy:
        server.set_default(mix.for_server)
        proxy.set_default(mix.for_proxy)
        conn.send((proxy.base_url("openai"), proxy.base_url("anthropic")))
        conn.recv()  # "stop"
        with mix.lock:
            conn.send({"attempts": mix.attempts, "kinds": dict(mix.kinds), "faults": mix.faults})


# ---------------------------------------------------------------- the client side


def rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB, from /proc/self/status."""
    values = {}
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    name, kb = line.split()[:2]
                    values[name] = int(kb) / 1024
    except OSError:  # not Linux: the peak from getrusage (KB on Linux, bytes on macOS)
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_mb = peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
        return peak_mb, peak_mb
    return values["VmRSS:"], values["VmHWM:"]


class Tally:
    """Counters only: nothing per call is kept except the ids of failed calls."""

    def __init__(self) -> None:
        self.ok = 0
        self.failures: Counter[str] = Counter()
        self.failed: set[int] = set()
        self.untyped: Counter[str] = Counter()
        self.broken: list[str] = []
        self.broken_count = 0

    def violation(self, call_id: int, text: str) -> None:
        self.broken_count += 1
        if len(self.broken) < 10:
            self.broken.append(f"call {call_id}: {text}")


async def one_call(client: AsyncAiClient, call_id: int, tally: Tally) -> None:
    prompt = f"call-{call_id}"
    expected = f"echo: {prompt}"
    stream = call_id % 2 == 1
    deltas: list[str] = []
    ends = 0
    try:
        if stream:
            async with client.chat().user(prompt).stream() as events:
                async for event in events:
                    if event.is_content_delta:
                        deltas.append(event.as_content_delta.content)
                    elif event.is_stream_end:
                        ends += 1
                response = await events.final_response()
            if "".join(deltas) != response.content or ends != 1:
                tally.violation(call_id, f"deltas {deltas!r} / {ends} ends vs {response.content!r}")
        else:
            response = await client.chat().user(prompt).execute()
    except AiLibError as err:
        tally.failures[f"{type(err).__name__} {err.code}"] += 1
        tally.failed.add(call_id)
        delivered = "".join(deltas)
        partial = getattr(err, "partial", None)
        if err.code not in STANDARD_CODES or not expected.startswith(delivered):
            tally.violation(call_id, f"{err!r} after {delivered!r}")
        elif delivered and (partial is None or partial.content != delivered):
            tally.violation(call_id, f"{err!r} does not carry the delivered {delivered!r}")
        return
    except Exception as exc:  # the invariant says this never happens: counted, shown
        tally.untyped[type(exc).__name__] += 1
        tally.failed.add(call_id)
        tally.violation(call_id, f"untyped {exc!r}")
        return
    if response.content != expected:
        tally.violation(call_id, f"answer {response.content!r} is not {expected!r}")
    else:
        tally.ok += 1


async def make_client(urls: tuple[str, str], args: argparse.Namespace) -> AsyncAiClient:
    """The client under test: the builder's pipeline (retry, breaker, fallback) or, with
    ``--plain``, ``AsyncAiClient.create`` (retry only)."""
    primary, secondary = urls
    if args.plain or not hasattr(AsyncAiClient, "builder"):
        return await AsyncAiClient.create(
            MODEL,
            api_key=KEY,
            base_url=primary,
            timeout=10,
            max_retries=args.retries,
            retry_policy={"min_delay_ms": 1, "max_delay_ms": 20},
        )
    from ailib.resilience import CircuitBreakerConfig, FallbackTarget, RetryConfig

    retry = RetryConfig(max_retries=args.retries, min_delay_ms=1, max_delay_ms=20)
    breaker = CircuitBreakerConfig(failure_threshold=5, cooldown_seconds=1)
    fallback = FallbackTarget(FALLBACK, api_key=KEY, base_url=secondary)  # behind the proxy too
    builder = AsyncAiClient.builder().model(MODEL).api_key(KEY).base_url(primary).timeout(10)
    builder = builder.with_retry(retry).with_circuit_breaker(breaker).with_fallbacks([fallback])
    client: AsyncAiClient = await builder.build()
    return client


def describe(args: argparse.Namespace) -> str:
    if args.plain or not hasattr(AsyncAiClient, "builder"):
        return f"AsyncAiClient.create(max_retries={args.retries})"
    return (
        f"builder: retry(max_retries={args.retries}) + circuit breaker(5 failures, 1 s)"
        f" + fallback to {FALLBACK}"
    )


async def soak(urls: tuple[str, str], args: argparse.Namespace) -> dict[str, Any]:
    tally = Tally()
    client = await make_client(urls, args)
    total, warmup = args.calls, min(2000, max(1, args.calls // 10))
    tenth = max(1, total // 10)
    ids = iter(range(total))
    done = 0
    marks: list[tuple[int, float, float]] = []  # (calls done, time, rss)
    baseline: tuple[float, float] | None = None
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal done, baseline
        for call_id in ids:
            await one_call(client, call_id, tally)
            done += 1
            if done == warmup:
                gc.collect()
                baseline = (time.perf_counter(), rss_mb()[0])
            if done % tenth == 0:
                marks.append((done, time.perf_counter(), rss_mb()[0]))
                if args.progress:
                    rate = done / (marks[-1][1] - started)
                    print(
                        f"  {done:>9,} calls  {rate:8.1f}/s  rss {marks[-1][2]:.1f} MB", flush=True
                    )

    async with client:
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        stats = client.get_resilience_stats() if hasattr(client, "get_resilience_stats") else None
    elapsed = time.perf_counter() - started
    gc.collect()
    final_rss, peak_rss = rss_mb()
    rates = []
    previous = (0, started)
    for count, at, _rss in marks:
        rates.append((count - previous[0]) / max(at - previous[1], 1e-9))
        previous = (count, at)
    base_rss = baseline[1] if baseline else final_rss
    return {
        "tally": tally,
        "elapsed": elapsed,
        "rates": rates,
        "rss": {
            "baseline_mb": base_rss,
            "final_mb": final_rss,
            "peak_mb": peak_rss,
            "growth_mb": final_rss - base_rss,
            "after_calls": warmup,
            "samples_mb": [round(m[2], 1) for m in marks],
        },
        "stats": stats.to_dict() if stats is not None else None,
    }


def report(
    args: argparse.Namespace, result: dict[str, Any], child: dict[str, Any]
) -> dict[str, Any]:
    tally: Tally = result["tally"]
    faults: dict[int, int] = child["faults"]
    survived = sum(1 for call_id in faults if call_id not in tally.failed and call_id >= 0)
    rss = result["rss"]
    rates = result["rates"]
    summary = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "calls": args.calls,
        "concurrency": args.concurrency,
        "fault_rate": args.fault_rate,
        "retries": args.retries,
        "client": describe(args),
        "elapsed_s": round(result["elapsed"], 1),
        "calls_per_s": round(args.calls / result["elapsed"], 1),
        "calls_per_s_slowest_tenth": round(min(rates), 1) if rates else None,
        "attempts": child["attempts"],
        "faults_injected": sum(child["kinds"].values()),
        "faults_by_kind": child["kinds"],
        "calls_hit_by_faults": len(faults),
        "faults_survived": survived,
        "succeeded": tally.ok,
        "typed_failures": dict(tally.failures),
        "untyped_errors": dict(tally.untyped),
        "invariant_broken": tally.broken_count,
        "examples": tally.broken,
        "rss": rss,
        "rss_target_met": rss["growth_mb"] < RSS_TARGET_MB,
        "client_stats": result["stats"],
    }
    print(
        f"soak: {args.calls:,} calls (half streamed), {args.concurrency} in flight, "
        f"{args.fault_rate:.1%} of attempts faulted"
    )
    print(f"  client             {summary['client']}")
    print(f"  elapsed            {summary['elapsed_s']} s")
    slowest = summary["calls_per_s_slowest_tenth"]
    print(f"  calls/s held       {summary['calls_per_s']} overall, slowest tenth {slowest}")
    kinds = ", ".join(f"{k} x{v:,}" for k, v in sorted(child["kinds"].items()))
    print(
        f"  attempts           {child['attempts']:,}; faults injected "
        f"{summary['faults_injected']:,} ({kinds})"
    )
    print(f"  faults survived    {survived:,} of {len(faults):,} calls hit by a fault succeeded")
    failures = ", ".join(f"{k} x{v:,}" for k, v in tally.failures.most_common()) or "none"
    print(f"  typed failures     {sum(tally.failures.values()):,} ({failures})")
    print(f"  succeeded          {tally.ok:,}")
    print(f"  untyped errors     {sum(tally.untyped.values()):,}")
    print(f"  invariant broken   {tally.broken_count:,}")
    for example in tally.broken:
        print(f"    {example}")
    verdict = "PASS" if summary["rss_target_met"] else "FAIL"
    print(
        f"  RSS                {rss['baseline_mb']:.1f} MB after {rss['after_calls']:,} calls"
        f" -> {rss['final_mb']:.1f} MB at the end: growth {rss['growth_mb']:+.1f} MB"
        f" (target < {RSS_TARGET_MB:g} MB) {verdict}; peak {rss['peak_mb']:.1f} MB"
    )
    print(f"  RSS per tenth      {rss['samples_mb']}")
    if result["stats"] is not None:
        stats = result["stats"]
        print(
            f"  client signals     attempts {stats['attempts']:,}, retries {stats['retries']:,},"
            f" breaker opens {stats['breaker_opens']}, fallbacks {stats['fallbacks']}"
        )
    return summary


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100_000, help="calls to make (%(default)s)")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight")
    parser.add_argument("--fault-rate", type=float, default=0.05, help="share of attempts faulted")
    parser.add_argument("--retries", type=int, default=3, help="max_retries of the client")
    parser.add_argument("--seed", type=int, default=7, help="seed of the fault mix")
    parser.add_argument("--progress", action="store_true", help="print each tenth of the run")
    parser.add_argument("--json", metavar="PATH", help="also write the summary as JSON")
    parser.add_argument(
        "--plain", action="store_true", help="AsyncAiClient.create (retry only), no builder"
    )
    args = parser.parse_args(argv)
    if args.calls < 1 or args.concurrency < 1 or not 0 <= args.fault_rate < 1:
        parser.error("--calls and --concurrency must be >= 1, --fault-rate in [0, 1)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    context = multiprocessing.get_context("spawn")
    parent, child_end = context.Pipe()
    child = context.Process(target=serve, args=(child_end, args.fault_rate, args.seed), daemon=True)
    child.start()
    try:
        urls = parent.recv()
        result = asyncio.run(soak(urls, args))
        parent.send("stop")
        child_stats = parent.recv()
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.terminate()
    summary = report(args, result, child_stats)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, default=str) + "\n")
        print(f"wrote {args.json}")
    return 1 if summary["untyped_errors"] or summary["invariant_broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
