"""ailib vs raw httpx (and the official SDKs) against the loopback mock server.

Usage::

    python bench/run.py               # default run (~1-2 minutes)
    python bench/run.py --quick       # smoke run (~15 s)
    python bench/run.py --json out.json --profile

Measures (1) import time, (2) sync per-call latency, (3) async throughput and
(4) per-chunk streaming cost.  Targets are printed next to the ratios; the exit
status is always 0 because this is a measurement, not a test.  Only 127.0.0.1
is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers, also under `python -m`

import _async
import _imports
import _profile
import _sync
from _common import Row, Settings, machine_info, render_table, safe

from ailib.testing import MockServer

STEPS = ("imports", "calls", "async", "streams")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few iterations (smoke run)")
    parser.add_argument("--json", metavar="PATH", help="write machine-readable results here")
    parser.add_argument(
        "--profile", action="store_true", help="also print cProfile/importtime of ailib hot paths"
    )
    parser.add_argument(
        "--gc", action="store_true", help="keep the cyclic GC enabled inside timed loops"
    )
    parser.add_argument(
        "--only",
        default=",".join(STEPS),
        help=f"comma-separated subset of: {','.join(STEPS)} (default: all)",
    )
    return parser.parse_args(argv)


def print_header(info: dict[str, Any], settings: Settings) -> None:
    """Machine facts and run parameters."""
    versions = info.get("versions") or {}
    print("ailib benchmark" + (" (--quick)" if settings.quick else ""))
    print(f"  python     {info['python']} ({info['implementation']}) on {info['platform']}")
    cpu = info.get("cpu_model", info["machine"])
    print(f"  cpu        {cpu}; cpu_count={info['cpu_count']} usable={info.get('cpus_usable')}")
    load = info.get("loadavg")
    if load:
        busy = "  (busy machine: expect noise)" if load[0] > 0.5 * (info["cpu_count"] or 1) else ""
        print(f"  loadavg    {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} before the run{busy}")
    print("  versions   " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(
        f"  settings   import runs={settings.import_runs}, sync calls={settings.sync_calls}"
        f" (blocks of {settings.sync_block}), async {settings.async_requests} req"
        f" x {settings.async_rounds} rounds @ {settings.concurrency},"
        f" streams {settings.stream_runs} x {settings.stream_chunks} chunks,"
        f" gc {'off' if settings.disable_gc else 'on'} in timed loops"
    )
    print(flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks, print the table, optionally write JSON."""
    args = parse_args(argv)
    warnings.simplefilter("ignore")  # e.g. SDK model-deprecation warnings
    settings = Settings.make(args.quick, disable_gc=not args.gc)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    unknown = only - set(STEPS)
    if unknown:
        print(f"note: ignoring unknown --only names: {', '.join(sorted(unknown))}", file=sys.stderr)
    info = machine_info()
    print_header(info, settings)

    started = time.perf_counter()
    rows: list[Row] = []
    errors: list[str] = []
    durations: dict[str, float] = {}

    def step(label: str, fn: Callable[[], list[Row]]) -> None:
        t0 = time.perf_counter()
        print(f"running {label} ...", flush=True)
        rows.extend(safe(label, fn, errors))
        durations[label] = round(time.perf_counter() - t0, 2)

    if "imports" in only:
        step("imports", lambda: _imports.run(settings))
    server = MockServer(host="127.0.0.1").start()
    profile_text = ""
    try:
        if "calls" in only:
            step("calls", lambda: _sync.bench_calls(server, settings))
        if "async" in only:
            step("async", lambda: _async.bench_async(server, settings))
        if "streams" in only:
            step("streams", lambda: _sync.bench_streams(server, settings))
        if args.profile:
            try:
                profile_text = _profile.run(server, settings)
            except Exception as exc:
                errors.append(f"profile: {type(exc).__name__}: {exc}")
    finally:
        server.stop()
    elapsed = time.perf_counter() - started

    print()
    print(render_table(rows))
    print()
    print("vs raw: value / raw-httpx value of the same group (req/s: higher is better;")
    print("        µs and ms: lower is better). Stream µs/chunk covers iteration only,")
    print("        after the response headers arrived; import ratios are vs `import httpx`.")
    checked = [r for r in rows if r.passed is not None]
    passed = sum(1 for r in checked if r.passed)
    print(f"targets met: {passed}/{len(checked)}; total runtime {elapsed:.1f} s")
    if hasattr(os, "getloadavg"):
        print("loadavg after the run: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    for error in errors:
        print(f"ERROR {error}")
    if profile_text:
        print()
        print(profile_text)

    if args.json:
        report = {
            "machine": info,
            "settings": settings.__dict__,
            "rows": [row.to_dict() for row in rows],
            "errors": errors,
            "durations_s": durations,
            "runtime_s": round(elapsed, 2),
        }
        Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a measurement: report, but never fail the caller
        traceback.print_exc()
    sys.exit(0)
