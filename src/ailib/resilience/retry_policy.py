"""When to retry an attempt and how long to wait: the policy behind the retry layer.

A provider's manifest declares its policy (``retry_policy``: ``max_retries``,
``min_delay_ms``, ``max_delay_ms``, ``jitter``, ``retry_on_http_status``); a
:class:`RetryConfig` given to the client overrides any of those keys. No I/O here.

Example::

    policy = RetryPolicy.from_manifest(spec.manifest.retry_policy, RetryConfig(max_retries=5))
    if policy.should_retry(err):
        time.sleep(policy.delay(err, attempt=2))
"""

from __future__ import annotations

import random
from typing import Any

import attrs

from ailib.errors import AiLibError, ConfigurationError, RemoteError, TransportError

JITTERS = ("full", "equal", "none")
#: the longest time any resilience setting may name (ten years): waits stay sleepable
MAX_SECONDS = 315_360_000.0
#: backoff doubles at most this many times (beyond, it is the cap anyway)
MAX_DOUBLINGS = 64


def _check_nonnegative(name: str, value: float | None, maximum: float = MAX_SECONDS) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= maximum  # NaN fails too
    ):
        raise ConfigurationError(
            f"RetryConfig.{name} must be a number >= 0 and <= {maximum:g}, got {value!r}"
        )


def _check_statuses(value: tuple[Any, ...] | None) -> None:
    if value is None:
        return
    for status in value:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ConfigurationError(
                f"RetryConfig.retry_on_http_status must hold HTTP statuses (ints 100-599), "
                f"got {status!r} in {value!r}"
            )


def _statuses(value: Any) -> tuple[Any, ...]:
    """Statuses as a tuple; one int or a str is refused (not split into characters)."""
    if isinstance(value, str | bytes | int):
        raise ConfigurationError(
            f"RetryConfig.retry_on_http_status must be a list of HTTP statuses, got {value!r}"
        )
    try:
        return tuple(value)
    except TypeError:
        raise ConfigurationError(
            f"RetryConfig.retry_on_http_status must be a list of HTTP statuses, got {value!r}"
        ) from None


@attrs.frozen
class RetryConfig:
    """Retry settings; ``None`` keeps the manifest's value.

    * ``max_retries``: retries after the first attempt (0 disables retrying);
    * ``min_delay_ms`` / ``max_delay_ms``: exponential backoff from the first to the cap;
    * ``jitter``: ``"full"`` (random between the minimum and the backoff), ``"equal"``
      or ``"none"``;
    * ``retry_on_http_status``: statuses worth another attempt (when their error is
      retryable: 429, 5xx...);
    * ``max_retry_after_seconds``: a server's Retry-After is honoured up to this
      (default: ``max_delay_ms``);
    * ``total_timeout_seconds``: no new attempt starts once this much time has passed
      since the call began, and no wait runs past it.

    Example::

        RetryConfig(max_retries=5, min_delay_ms=500, max_delay_ms=30_000)
    """

    max_retries: int | None = None
    min_delay_ms: float | None = None
    max_delay_ms: float | None = None
    jitter: str | None = None
    retry_on_http_status: tuple[int, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_statuses)
    )
    max_retry_after_seconds: float | None = None
    total_timeout_seconds: float | None = None

    def __attrs_post_init__(self) -> None:
        if self.max_retries is not None and (
            isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int)
        ):
            raise ConfigurationError(
                f"RetryConfig.max_retries must be an int, got {self.max_retries!r}"
            )
        for name in ("max_retries", "max_retry_after_seconds", "total_timeout_seconds"):
            _check_nonnegative(name, getattr(self, name))
        for name in ("min_delay_ms", "max_delay_ms"):
            _check_nonnegative(name, getattr(self, name), MAX_SECONDS * 1000)
        _check_statuses(self.retry_on_http_status)
        if self.jitter is not None and self.jitter not in JITTERS:
            raise ConfigurationError(
                f"RetryConfig.jitter must be one of {JITTERS}, got {self.jitter!r}"
            )

    def overrides(self) -> dict[str, Any]:
        """The manifest keys this config sets."""
        keys = ("max_retries", "min_delay_ms", "max_delay_ms", "jitter", "retry_on_http_status")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


@attrs.frozen
class RetryPolicy:
    """A resolved policy: the manifest's values with the user's overrides applied."""

    max_retries: int
    min_delay: float
    max_delay: float
    jitter: str
    statuses: frozenset[int]
    max_retry_after: float
    total_timeout: float | None = None

    @classmethod
    def from_manifest(
        cls, policy: dict[str, Any], config: RetryConfig | None = None, **overrides: Any
    ) -> RetryPolicy:
        """``policy`` (a manifest's ``retry_policy``) with ``config`` and ``overrides``."""
        merged = {**policy, **(config.overrides() if config else {}), **overrides}
        max_delay = float(merged["max_delay_ms"]) / 1000.0
        retry_after_cap = config.max_retry_after_seconds if config else None
        return cls(
            max_retries=int(merged["max_retries"]),
            min_delay=min(max_delay, float(merged["min_delay_ms"]) / 1000.0),
            max_delay=max_delay,
            jitter=str(merged.get("jitter", "full")),
            statuses=frozenset(int(s) for s in merged["retry_on_http_status"]),
            max_retry_after=max_delay if retry_after_cap is None else float(retry_after_cap),
            total_timeout=config.total_timeout_seconds if config else None,
        )

    def with_config(self, config: RetryConfig | None) -> RetryPolicy:
        """This policy with a user's config applied on top."""
        if config is None:
            return self
        changes: dict[str, Any] = {}
        if config.max_retries is not None:
            changes["max_retries"] = config.max_retries
        if config.max_delay_ms is not None:
            changes["max_delay"] = config.max_delay_ms / 1000.0
            changes["max_retry_after"] = changes["max_delay"]
        if config.min_delay_ms is not None:
            changes["min_delay"] = config.min_delay_ms / 1000.0
        if config.jitter is not None:
            changes["jitter"] = config.jitter
        if config.retry_on_http_status is not None:
            changes["statuses"] = frozenset(config.retry_on_http_status)
        if config.max_retry_after_seconds is not None:
            changes["max_retry_after"] = config.max_retry_after_seconds
        if config.total_timeout_seconds is not None:
            changes["total_timeout"] = config.total_timeout_seconds
        policy = attrs.evolve(self, **changes)
        if policy.min_delay > policy.max_delay:
            policy = attrs.evolve(policy, min_delay=policy.max_delay)
        return policy

    def should_retry(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth another attempt under this policy."""
        if isinstance(exc, RemoteError):
            return exc.retryable and (exc.status is None or exc.status in self.statuses)
        return isinstance(exc, TransportError) and exc.retryable

    def delay(self, exc: BaseException | None, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt`` (2 = the first retry).

        A server's Retry-After wins (capped at ``max_retry_after``); otherwise
        exponential backoff from ``min_delay``, capped at ``max_delay``, with jitter:
        ``"none"`` waits ``min_delay * 2**(attempt - 2)``; ``"full"`` draws between
        ``min_delay`` and twice that (so even the first retries of many clients spread
        out); ``"equal"`` draws in the upper half of that range.
        """
        if isinstance(exc, AiLibError) and exc.retry_after is not None:
            return max(0.0, min(exc.retry_after, self.max_retry_after))
        floor = self.min_delay
        doublings = min(max(attempt - 2, 0), MAX_DOUBLINGS)
        backoff = max(floor, min(self.max_delay, floor * 2.0**doublings))
        if self.jitter == "none":
            return backoff
        ceiling = max(floor, min(self.max_delay, backoff * 2))
        if self.jitter == "full":  # anywhere between the policy's minimum and the bound
            return random.uniform(floor, ceiling)
        return max(floor, ceiling / 2 + random.uniform(0, ceiling / 2))  # "equal"

    def describe(self) -> str:
        return (
            f"max_retries={self.max_retries}, delay={self.min_delay:g}-{self.max_delay:g}s, "
            f"jitter={self.jitter}"
        )
