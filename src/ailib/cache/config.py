"""What a response cache is told (:class:`CacheConfig`) and what it reports (:class:`CacheStats`).

Example::

    config = CacheConfig(default_ttl_seconds=3600, cache_streams=True)
    stats = cache.stats()
    print(f"{stats.hits} hits, {stats.misses} misses, hit ratio {stats.hit_ratio:.0%}")
"""

from __future__ import annotations

from typing import Any

import attrs

from ailib.cache.key import VOLATILE_PARAMS
from ailib.errors import ConfigurationError


def _check_ttl(_config: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(
            f"CacheConfig.{attribute.name} must be a number of seconds > 0 or None (no "
            f"expiry), got {value!r}"
        )


def _check_positive_int(_config: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"CacheConfig.{attribute.name} must be an int >= 1, got {value!r}")


def _check_bool(_config: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(f"CacheConfig.{attribute.name} must be True or False")


def _names(value: Any) -> frozenset[str]:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError("CacheConfig.ignored_params must be a collection of names")
    return frozenset(value)


@attrs.frozen
class CacheConfig:
    """How a :class:`~ailib.cache.CacheManager` caches responses.

    * ``default_ttl_seconds``: how long an entry lives (None: until evicted);
    * ``enabled``: False turns the cache off without removing it from the client;
    * ``cache_streams``: streamed calls are stored (once complete) and replayed;
    * ``max_entry_bytes``: larger entries are neither stored nor read;
    * ``ignored_params``: request parameters left out of keys (they never change the
      answer: stream flags, user and request ids...).

    Example::

        CacheConfig(default_ttl_seconds=24 * 3600, ignored_params=VOLATILE_PARAMS | {"seed"})
    """

    default_ttl_seconds: float | None = attrs.field(default=3600.0, validator=_check_ttl)
    enabled: bool = attrs.field(default=True, validator=_check_bool)
    cache_streams: bool = attrs.field(default=True, validator=_check_bool)
    max_entry_bytes: int = attrs.field(default=8 * 1024 * 1024, validator=_check_positive_int)
    ignored_params: frozenset[str] = attrs.field(default=VOLATILE_PARAMS, converter=_names)


@attrs.frozen
class CacheStats:
    """Counters of one :class:`~ailib.cache.CacheManager` (this process) and its size.

    ``hits`` and ``misses`` count lookups; ``stores`` entries written; ``errors`` backend
    failures and unreadable entries (each also counted as a miss); ``bypassed`` calls that
    skipped the cache; ``size`` the entries the backend holds now (all processes, for a
    shared backend).

    Example::

        stats = cache.stats()
        print(f"{stats.hit_ratio:.2%} of {stats.lookups} lookups hit; {stats.size} entries")
    """

    hits: int = 0
    misses: int = 0
    stores: int = 0
    errors: int = 0
    bypassed: int = 0
    size: int = 0

    @property
    def lookups(self) -> int:
        return self.hits + self.misses

    @property
    def hit_ratio(self) -> float:
        """Hits per lookup (0.0 before the first lookup)."""
        return self.hits / self.lookups if self.lookups else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**attrs.asdict(self), "hit_ratio": self.hit_ratio}
