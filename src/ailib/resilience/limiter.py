"""The rate limiter's pieces that do not wait: budgets, token estimates, provider hints.

The waiting limiters and the pipeline layer are written once in ``_async_gates.py``
(``AsyncRateLimiter``, ``AsyncRateLimitLayer``) with a generated sync twin
(``RateLimiter``, ``RateLimitLayer``); both are importable from here.

* :func:`rate_windows`: a :class:`~ailib.resilience.config.RateLimiterConfig` as budgets
  ("10 requests a second", "90,000 tokens a minute");
* :class:`LocalRateBudget`: those budgets in this process (a sliding log per target, no
  optional package needed); shared budgets (Redis) go through the ``limits`` package
  (``pip install 'ailib[ratelimit]'``), see :class:`LimitsParts`;
* :func:`estimate_tokens`: the tokens a call is charged before it is sent (message
  characters / 4 plus ``max_tokens``), corrected from the response's usage afterwards;
* :func:`provider_wait` (from :mod:`ailib.resilience.rate_headers`, importable here too):
  what the provider's rate-limit headers (named by the manifest's ``rate_limit_headers``)
  say about waiting before the next call.

Example::

    budget = LocalRateBudget(rate_windows(RateLimiterConfig.from_rps(2)))
    budget.try_take("openai|https://api.openai.com/v1|gpt-4o", tokens=0)  # a Grant
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs

from ailib.errors import ConfigurationError, RateLimitExceededError
from ailib.resilience.rate_headers import MAX_HOLD_SECONDS as MAX_HOLD_SECONDS
from ailib.resilience.rate_headers import parse_reset as parse_reset
from ailib.resilience.rate_headers import provider_wait as provider_wait
from ailib.resilience.state import StateStore, store_from_url

if TYPE_CHECKING:
    from ailib.resilience.config import RateLimiterConfig
    from ailib.runtime.context import CallContext

#: the shortest pause between two looks at a budget (seconds)
MIN_PAUSE = 0.005
#: identifies ailib's budgets among other keys of a shared storage
SCOPE = "ailib-rate"
#: how a budget refused because of the provider's own rate-limit headers is named
PROVIDER_LIMIT = "provider_rate_limit"
#: a local budget forgets unused keys once it holds this many logs (then twice as many)
SWEEP_MIN_KEYS = 1024
#: where an attempt may leave its response headers for the limiter (``ctx.metadata``);
#: streams and posts hand theirs over in the result
RESPONSE_HEADERS = "response_headers"


def __getattr__(name: str) -> Any:
    """``RateLimiter`` / ``AsyncRateLimiter`` live in the generated gate modules."""
    if name == "AsyncRateLimiter":
        from ailib.resilience._async_gates import AsyncRateLimiter

        return AsyncRateLimiter
    if name == "RateLimiter":
        from ailib.resilience._sync_gates import RateLimiter

        return RateLimiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---- budgets -------------------------------------------------------------------------------


@attrs.frozen
class RateWindow:
    """One budget: at most ``amount`` requests (or tokens) in any ``seconds``-long window.

    ``limit`` names it as the config does (``"requests_per_second"``...).
    """

    limit: str
    amount: int
    seconds: int
    tokens: bool = False

    def cost(self, tokens: int) -> int:
        """What one call charges this window: 1 request, or its tokens (at most ``amount``:
        an estimate above the whole budget still goes out, alone in its window)."""
        return min(max(tokens, 0), self.amount) if self.tokens else 1

    def describe(self) -> str:
        unit = " tokens" if self.tokens else ""
        per = {1: "s", 60: "min"}.get(self.seconds, f"{self.seconds}s")
        return f"{self.amount}{unit}/{per}"


def _window(limit: str, rate: float, seconds: int, tokens: bool) -> RateWindow:
    """``rate`` per ``seconds`` as whole numbers: 2.5/s is 5 per 2 s, 0.2/s is 1 per 5 s."""
    frac = Fraction(rate).limit_denominator(1000)
    if frac.numerator < 1:
        return RateWindow(limit, 1, max(1, round(seconds / rate)), tokens)
    return RateWindow(limit, frac.numerator, seconds * frac.denominator, tokens)


def rate_windows(config: RateLimiterConfig) -> tuple[RateWindow, ...]:
    """The budgets a config asks for (requests a second / a minute, tokens a minute)."""
    windows = []
    if config.requests_per_second is not None:
        windows.append(_window("requests_per_second", config.requests_per_second, 1, False))
    if config.requests_per_minute is not None:
        windows.append(_window("requests_per_minute", config.requests_per_minute, 60, False))
    if config.tokens_per_minute is not None:
        windows.append(_window("tokens_per_minute", config.tokens_per_minute, 60, True))
    return tuple(windows)


@attrs.define(eq=False)
class Grant:
    """A call let through: what it was charged, kept to correct the token charge later.

    ``waited``: seconds the call waited for it; ``reset_at`` (shared budgets): the wall
    time the token window holding the charge ends (a refund after it is dropped).
    """

    key: str
    tokens: int
    waited: float = 0.0
    entries: list[tuple[_Log, list[float]]] = attrs.field(factory=list, repr=False)
    reset_at: float = 0.0
    settled: bool = False


@attrs.frozen
class Refusal:
    """Not now: the budget ``limit`` has room again in ``wait`` seconds.

    ``detail`` says more (for a hold-back the provider asked for: which headers).
    """

    limit: str
    wait: float
    detail: str = ""


def refusal_error(
    refusal: Refusal, key: str, waited: float, max_wait: float
) -> RateLimitExceededError:
    """The typed error for a call that would wait longer than ``max_wait`` seconds."""
    detail = f" ({refusal.detail})" if refusal.detail else ""
    return RateLimitExceededError(
        f"rate limit {refusal.limit}{detail} of {key} needs a wait of {refusal.wait:.3g}s more "
        f"(waited {waited:.3g}s; max_wait_seconds={max_wait:g})",
        limit=refusal.limit,
        key=key,
        retry_after=round(refusal.wait, 3),
    )


class _Log:
    """The charges of one window for one key, oldest first: ``[time, cost]`` pairs."""

    __slots__ = ("entries", "total")

    def __init__(self) -> None:
        self.entries: deque[list[float]] = deque()
        self.total = 0.0

    def expire(self, horizon: float) -> None:
        entries = self.entries
        while entries and entries[0][0] <= horizon:
            self.total -= entries.popleft()[1]

    def wait_for(self, cost: int, window: RateWindow, now: float) -> float:
        """Seconds until ``cost`` more fits in the window (0: it fits now)."""
        excess = self.total + cost - window.amount
        if excess <= 0:
            return 0.0
        freed = 0.0
        for at, charged in self.entries:
            freed += charged
            if freed >= excess:
                return max(at + window.seconds - now, MIN_PAUSE)
        return float(window.seconds)


class LocalRateBudget:
    """Budgets in this process: a sliding log per (target, window); thread-safe, no I/O.

    Never more than ``amount`` in any window of ``seconds``, exactly. ``clock`` is
    monotonic seconds (tests pass a fake one). The logs of keys whose charges have all
    left their windows are dropped as the number of keys grows (amortised), so a limiter
    keyed per end user does not keep every key it ever saw.

    Example::

        budget = LocalRateBudget(rate_windows(RateLimiterConfig.from_rps(1)))
        budget.try_take("k", 0)     # Grant(...)
        budget.try_take("k", 0)     # Refusal(limit='requests_per_second', wait=1.0)
    """

    def __init__(
        self, windows: tuple[RateWindow, ...], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.windows = windows
        self._clock = clock
        self._lock = threading.Lock()
        self._logs: dict[tuple[str, str], _Log] = {}
        self._blocked: dict[str, tuple[float, str]] = {}
        self._sweep_at = SWEEP_MIN_KEYS  # sweep when this many logs (or holds) exist

    def _sweep(self, now: float) -> None:
        """Drop logs with no charge left in their window and holds that ended."""
        seconds = {w.limit: w.seconds for w in self.windows}
        for name, log in list(self._logs.items()):
            log.expire(now - seconds[name[1]])
            if not log.entries:
                del self._logs[name]
        for key in [k for k, (until, _) in self._blocked.items() if until <= now]:
            del self._blocked[key]
        self._sweep_at = max(SWEEP_MIN_KEYS, 2 * max(len(self._logs), len(self._blocked)))

    def try_take(self, key: str, tokens: int) -> Grant | Refusal:
        """Charge one call of ``tokens`` to ``key`` now, or say how long to wait."""
        with self._lock:
            now = self._clock()
            if max(len(self._logs), len(self._blocked)) >= self._sweep_at:
                self._sweep(now)
            until, reason = self._blocked.get(key, (0.0, ""))
            if until > now:
                return Refusal(PROVIDER_LIMIT, until - now, reason)
            logs = []
            worst: Refusal | None = None
            for window in self.windows:
                log = self._logs.get((key, window.limit))
                if log is None:
                    log = self._logs[(key, window.limit)] = _Log()
                log.expire(now - window.seconds)
                wait = log.wait_for(window.cost(tokens), window, now)
                if wait > 0 and (worst is None or wait > worst.wait):
                    worst = Refusal(window.limit, wait)
                logs.append((log, window))
            if worst is not None:
                return worst
            grant = Grant(key, tokens)
            for log, window in logs:
                entry = [now, float(window.cost(tokens))]
                log.entries.append(entry)
                log.total += entry[1]
                if window.tokens:
                    grant.entries.append((log, entry))
            return grant

    def adjust(self, grant: Grant, used_tokens: int) -> None:
        """Charge ``used_tokens`` instead of the estimate (a refund when fewer)."""
        with self._lock:
            for log, entry in grant.entries:
                if entry in log.entries:  # still in its window
                    log.total += used_tokens - entry[1]
                    entry[1] = float(used_tokens)

    def block(self, key: str, seconds: float, reason: str) -> None:
        """Let nothing through to ``key`` for ``seconds`` (the provider said so)."""
        with self._lock:
            until = self._clock() + seconds
            if until > self._blocked.get(key, (0.0, ""))[0]:
                self._blocked[key] = (until, reason)


# ---- shared budgets: the `limits` package ----------------------------------------------------


def resolve_store(store: StateStore | str | None) -> StateStore | None:
    """A store given as an object or a URL (``"redis://127.0.0.1:6379/0"``); None stays."""
    if store is None or isinstance(store, StateStore):
        return store
    if isinstance(store, str):
        return store_from_url(store)
    raise ConfigurationError(
        f"store must be a StateStore, a URL like 'redis://127.0.0.1:6379/0' or None, "
        f"got {type(store).__name__}"
    )


def limits_target(store: StateStore) -> tuple[str, dict[str, Any]]:
    """The ``limits`` storage URI and options for a shared store (Redis)."""
    url: str = store.url
    if url.startswith("unix://"):
        url = "redis+" + url
    options: dict[str, Any] = {"key_prefix": f"{store.namespace}:limits"}
    timeout = getattr(store, "socket_timeout", None)
    if timeout is not None:
        options.update(socket_timeout=timeout, socket_connect_timeout=timeout)
    return url, options


class LimitsParts:
    """The ``limits`` package's strategies over a storage URI, made on first use.

    ``get()`` returns ``(sliding, fixed, storage, items)``: requests use the
    sliding-window-counter strategy (atomic on Redis), tokens a fixed window, whose
    counter takes the after-the-fact correction (``storage.incr``); ``items[i]`` is the
    ``limits`` item of ``windows[i]``. Given the ``store`` (a RedisStore), the storage
    runs over the store's own connection pool, so closing the store (the client) closes
    its connections too; a new pool after a close gets new parts. Without a store: one
    set (sync) or one per event loop (a Redis connection belongs to one loop).
    """

    def __init__(
        self,
        windows: tuple[RateWindow, ...],
        uri: str,
        options: dict[str, Any],
        *,
        asynchronous: bool,
        store: StateStore | None = None,
    ) -> None:
        self.windows = windows
        self.uri = uri
        self.options = options
        self.asynchronous = asynchronous
        side = "async_client" if asynchronous else "sync_client"
        #: the store's client of this side (``RedisStore.sync_client``...), if it has one
        self._client_of: Callable[[], Any] | None = getattr(store, side, None)
        self._lock = threading.Lock()
        self._sync: tuple[Any, Any, Any, list[Any]] | None = None
        self._by_owner: weakref.WeakKeyDictionary[Any, tuple[Any, Any, Any, list[Any]]] = (
            weakref.WeakKeyDictionary()
        )
        limits = _import_limits()  # a missing package is reported when the limiter is made
        #: what a storage failure raises (``wrap_exceptions=True``)
        self.errors: tuple[type[BaseException], ...] = (limits.errors.StorageError,)

    def get(self) -> tuple[Any, Any, Any, list[Any]]:
        if self._client_of is not None:
            client = self._client_of()  # the store's current client (of this event loop)
            with self._lock:
                found = self._by_owner.get(client)
                if found is None:
                    found = self._by_owner[client] = self._make(client.connection_pool)
                return found
        with self._lock:
            if not self.asynchronous:
                if self._sync is None:
                    self._sync = self._make()
                return self._sync
            loop = asyncio.get_running_loop()
            found = self._by_owner.get(loop)
            if found is None:
                found = self._by_owner[loop] = self._make()
            return found

    def _make(self, pool: Any = None) -> tuple[Any, Any, Any, list[Any]]:
        limits = _import_limits()
        from limits.storage import storage_from_string

        options = {**self.options, "wrap_exceptions": True}
        if pool is not None:  # the store's connections: its timeouts, closed with it
            options = {"key_prefix": options.get("key_prefix"), "wrap_exceptions": True}
            options["connection_pool"] = pool
        if self.asynchronous:
            from limits.aio import strategies

            if self.uri.startswith("redis"):
                options["implementation"] = "redispy"
            storage = storage_from_string("async+" + self.uri, **options)
        else:
            from limits import strategies  # type: ignore[no-redef]

            storage = storage_from_string(self.uri, **options)
        items = [limits.RateLimitItemPerSecond(w.amount, w.seconds) for w in self.windows]
        return (
            strategies.SlidingWindowCounterRateLimiter(storage),
            strategies.FixedWindowRateLimiter(storage),
            storage,
            items,
        )


def _import_limits() -> Any:
    try:
        import limits
    except ImportError as exc:
        raise ConfigurationError(
            "a rate limiter over a shared store needs the optional 'limits' package: "
            "pip install 'ailib[ratelimit]'"
        ) from exc
    return limits


# ---- token estimates ------------------------------------------------------------------------


def _text_chars(value: Any, depth: int = 0) -> int:
    """Characters of the strings in a JSON-like value (bounded depth)."""
    if isinstance(value, str):
        return len(value)
    if depth > 16:
        return 0
    if isinstance(value, Mapping):
        return sum(_text_chars(v, depth + 1) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_text_chars(v, depth + 1) for v in value)
    return 0


def estimate_tokens(ctx: CallContext) -> int:
    """A cheap guess of the tokens a call uses: characters of its text / 4 + ``max_tokens``.

    Counts message text, tool-call arguments and tool definitions of a chat request, or
    the strings of a ``post`` payload (embeddings). Replace it with a real counter through
    ``AsyncRateLimitLayer(..., estimator=my_count)``; the charge is corrected from the
    response's usage anyway.
    """
    request = ctx.request
    if request is None:
        return math.ceil(_text_chars(ctx.payload) / 4)
    chars = 0
    for message in request.messages:
        content = message.content
        if isinstance(content, str):
            chars += len(content)
        else:
            chars += sum(len(block.text_value or "") for block in content)
        chars += sum(len(getattr(call, "raw_arguments", "") or "") for call in message.tool_calls)
    for tool in request.tools:
        chars += len(str(getattr(tool, "name", ""))) + _text_chars(
            getattr(tool, "parameters", None)
        )
        chars += len(str(getattr(tool, "description", "") or ""))
    limit = request.params.get("max_tokens", request.params.get("max_completion_tokens"))
    reserved = limit if isinstance(limit, int) and not isinstance(limit, bool) else 0
    return math.ceil(chars / 4) + max(reserved, 0)


def used_tokens(usage: Any) -> int | None:
    """Total tokens in a response's usage (a ``Usage`` or a usage dict); None if unknown."""
    if usage is None:
        return None
    if isinstance(usage, Mapping):
        total = usage.get("total_tokens")
        if not isinstance(total, int):
            parts = [usage.get(k) for k in ("prompt_tokens", "input_tokens", "output_tokens")]
            total = sum(p for p in parts if isinstance(p, int)) or None
    else:
        total = getattr(usage, "total_tokens", None)
        if not isinstance(total, int) or total <= 0:
            parts = [getattr(usage, k, None) for k in ("input_tokens", "output_tokens")]
            total = sum(p for p in parts if isinstance(p, int) and not isinstance(p, bool))
    return total if isinstance(total, int) and total > 0 else None
