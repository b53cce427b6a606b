"""Import-time benchmark: each statement timed in fresh interpreters, rounds interleaved."""

from __future__ import annotations

import os
import subprocess
import sys

from _common import Row, Settings, have, judge, median, rotate

IMPORT_TARGET = 1.5  # ailib <= 1.5x httpx

_PROBE = (
    "import time\n"
    "c0, t0 = time.process_time_ns(), time.perf_counter_ns()\n"
    "{stmt}\n"
    "t1, c1 = time.perf_counter_ns(), time.process_time_ns()\n"
    "print(t1 - t0, c1 - c0)\n"
)


def _statements() -> list[tuple[str, str]]:
    """(label, statement) pairs; third-party SDKs only when installed."""
    items = [
        ("import httpx", "import httpx"),
        ("import ailib", "import ailib"),
        ("from ailib import AiClient", "from ailib import AiClient"),
    ]
    for module in ("openai", "anthropic", "litellm"):
        if have(module):
            items.append((f"import {module}", f"import {module}"))
    # Import plus a ready client (no request): what a script pays before its first call.
    items.append(("import httpx; httpx.Client()", "import httpx; httpx.Client()"))
    items.append(
        (
            "ailib: import + AiClient.create()",
            "from ailib import AiClient; AiClient.create('openai/gpt-4o', api_key='k')",
        )
    )
    for module, ctor in (("openai", "OpenAI"), ("anthropic", "Anthropic")):
        if have(module):
            items.append(
                (f"{module}: import + {ctor}()", f"import {module}; {module}.{ctor}(api_key='k')")
            )
    return items


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONWARNINGS", "PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    return env


def _time_once(stmt: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU milliseconds spent in ``stmt`` inside a brand-new interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(stmt=stmt)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    wall, cpu = proc.stdout.split()[-2:]
    return int(wall) / 1e6, int(cpu) / 1e6


def run(settings: Settings) -> list[Row]:
    """Median import time of each statement over ``settings.import_runs`` fresh processes."""
    env = _env()
    items = _statements()
    if not settings.quick:
        for _, stmt in items:  # warm-up: byte-compile, fill the OS page cache
            _time_once(stmt, env)
    samples: dict[str, list[float]] = {label: [] for label, _ in items}
    cpu: dict[str, list[float]] = {label: [] for label, _ in items}
    for i in range(settings.import_runs):
        for label, stmt in rotate(items, i):
            wall_ms, cpu_ms = _time_once(stmt, env)
            samples[label].append(wall_ms)
            cpu[label].append(cpu_ms)
    base = median(samples["import httpx"])
    ready_base = median(samples["import httpx; httpx.Client()"])
    rows = []
    for label, _ in items:
        value = median(samples[label])
        ratio = value / (ready_base if ":" in label or "Client()" in label else base)
        row = Row("1. import time (fresh process, median)", label, value, "ms", ratio)
        row.extra = {"samples_ms": samples[label], "cpu_median_ms": median(cpu[label])}
        if label in ("import ailib", "from ailib import AiClient"):
            row.target, row.passed = judge(ratio, IMPORT_TARGET)
        rows.append(row)
    return rows
