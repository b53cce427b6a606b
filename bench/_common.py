"""Shared helpers for the benchmark: result rows, timing, machine info, table output."""

from __future__ import annotations

import gc
import importlib.util
import os
import platform
import statistics
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

#: fixed chat inputs shared by every contender
PROMPT = "hi"
OPENAI_MODEL = "gpt-4o"
ANTHROPIC_MODEL = "claude-sonnet-4-5"
ANTHROPIC_MAX_TOKENS = 4096  # ailib's default for the anthropic manifest
API_KEY = "sk-bench"


@dataclass
class Row:
    """One measured number; ``ratio`` is relative to the raw-httpx baseline of its group."""

    section: str
    name: str
    value: float
    unit: str
    ratio: float | None = None
    target: str | None = None
    passed: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the JSON report."""
        return asdict(self)


@dataclass
class Settings:
    """Knobs derived from ``--quick`` / default mode."""

    quick: bool
    import_runs: int
    sync_calls: int
    sync_block: int
    async_requests: int
    async_rounds: int
    concurrency: int
    stream_chunks: int
    stream_runs: int
    disable_gc: bool = True

    @classmethod
    def make(cls, quick: bool, disable_gc: bool = True) -> Settings:
        """Default run (~1-2 min) or quick smoke run (~15 s)."""
        if quick:
            return cls(True, 3, 60, 20, 128, 1, 64, 2000, 2, disable_gc)
        # httpx's async pool tops out near ~110 req/s at 64 in flight here, so the
        # async phase (3 rounds x 700 = 2,100 requests per contender) dominates.
        return cls(False, 7, 4000, 50, 700, 3, 64, 2000, 15, disable_gc)


def have(module: str) -> bool:
    """Whether ``module`` is importable (without importing it)."""
    return importlib.util.find_spec(module) is not None


def median(values: list[float]) -> float:
    """Median, or NaN for an empty list."""
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@contextmanager
def quiet_gc(disable: bool) -> Iterator[None]:
    """Collect, then keep the cyclic GC off for the timed block (if ``disable``).

    Survivors are frozen (``gc.freeze``) so the next collection only scans new
    objects: a full collection with the SDKs loaded costs ~0.1 s.
    """
    gc.collect()
    gc.freeze()
    was_enabled = gc.isenabled()
    if disable:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def rotate(items: list[Any], shift: int) -> list[Any]:
    """``items`` rotated left by ``shift`` (alternates who runs first in each round)."""
    if not items:
        return items
    shift %= len(items)
    return items[shift:] + items[:shift]


def judge(ratio: float, limit: float, higher_is_better: bool = False) -> tuple[str, bool]:
    """Target text and pass/fail for a ratio against ``limit``."""
    if higher_is_better:
        return f">= {limit:.2f}x", ratio >= limit
    return f"<= {limit:.2f}x", ratio <= limit


def machine_info() -> dict[str, Any]:
    """Python, OS and CPU facts printed in the report header."""
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    if hasattr(os, "getloadavg"):
        info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for dist in ("ailib", "httpx", "httpcore", "h11", "openai", "anthropic", "litellm"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:
            continue
    info["versions"] = versions
    return info


def fmt_value(value: float, unit: str) -> str:
    """Human formatting of a value with its unit."""
    if value != value:  # NaN
        return "n/a"
    if value >= 1000:
        return f"{value:,.0f} {unit}"
    if value >= 100:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def render_table(rows: list[Row]) -> str:
    """Fixed-width table grouped by section."""
    header = ("benchmark", "value", "vs raw", "target", "result")
    lines: list[list[str]] = []
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines.append([f"[{section}]", "", "", "", ""])
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        result = "" if row.passed is None else ("PASS" if row.passed else "FAIL")
        lines.append(
            ["  " + row.name, fmt_value(row.value, row.unit), ratio, row.target or "", result]
        )
    widths = [max([len(h), *(len(line[i]) for line in lines)]) for i, h in enumerate(header)]
    out = []
    sep = "-+-".join("-" * w for w in widths)
    out.append(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    out.append(sep)
    for line in lines:
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(w) for cell, w in zip(line[1:], widths[1:], strict=True)]
        out.append(" | ".join(cells).rstrip())
    return "\n".join(out)


def safe(label: str, fn: Callable[[], list[Row]], errors: list[str]) -> list[Row]:
    """Run one benchmark section; record (not raise) a failure so the run goes on."""
    try:
        return fn()
    except Exception as exc:  # a measurement script must keep going
        errors.append(f"{label}: {type(exc).__name__}: {exc}")
        return []
