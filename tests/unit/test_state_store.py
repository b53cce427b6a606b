"""The state store facade: URLs, the environment, memory expiry, the update loop.

The operations themselves run against both MemoryStore and a real Redis in
``tests/redis/test_state_store_shared.py``.
"""

from __future__ import annotations

import sys

import pytest

from ailib.errors import ConfigurationError, StateStoreError
from ailib.resilience import MemoryStore, RedisStore, StateStore, store_from_url
from ailib.resilience._async_state import AsyncStateBackend
from ailib.resilience._sync_state import SyncStateBackend
from ailib.resilience.state import MAX_UPDATE_TRIES, store_from_env


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_store_from_url_picks_the_kind() -> None:
    assert isinstance(store_from_url("memory://"), MemoryStore)
    for url in ("redis://127.0.0.1:6379/0", "rediss://cache.example:6380/1", "unix:///tmp/r.sock"):
        store = store_from_url(url)
        assert isinstance(store, RedisStore) and store.url == url and store.shared
    assert store_from_url("memory://", namespace="app").namespace == "app"


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "redis", "", "memcached://x"])
def test_store_from_url_refuses_unknown_urls(url: str) -> None:
    with pytest.raises(ConfigurationError, match="state store URL"):
        store_from_url(url)


def test_store_url_errors_and_reprs_hide_the_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        store_from_url("http://user:s3cretpw@host:1/0")
    assert "s3cretpw" not in str(info.value)
    store = RedisStore("redis://user:s3cretpw@127.0.0.1:6379/0")
    assert "s3cretpw" not in repr(store) and "***" in store.label
    assert store.url.endswith("@127.0.0.1:6379/0")  # the real URL is kept to connect


def test_store_from_url_refuses_non_strings() -> None:
    with pytest.raises(ConfigurationError, match="must be a str"):
        store_from_url(6379)  # type: ignore[arg-type]


def test_store_from_env() -> None:
    assert store_from_env({}) is None
    assert store_from_env({"AI_LIB_STATE_URL": "  "}) is None
    assert isinstance(store_from_env({"AI_LIB_STATE_URL": "memory://"}), MemoryStore)
    store = store_from_env({"AI_LIB_STATE_URL": "redis://127.0.0.1:6390/2"})
    assert isinstance(store, RedisStore) and store.url == "redis://127.0.0.1:6390/2"
    with pytest.raises(ConfigurationError, match="AI_LIB_STATE_URL"):
        store_from_env({"AI_LIB_STATE_URL": "ftp://x"})


def test_missing_redis_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'ailib\[redis\]'"):
        RedisStore("redis://127.0.0.1:6379/0")
    assert isinstance(store_from_url("memory://"), MemoryStore)  # memory needs nothing


def test_namespace_must_be_a_nonempty_string() -> None:
    with pytest.raises(ConfigurationError, match="namespace"):
        MemoryStore(namespace="")


def test_a_store_hands_out_one_backend_per_side_over_the_same_data() -> None:
    store = MemoryStore()
    sync_side = store.backend(asynchronous=False)
    async_side = store.backend(asynchronous=True)
    assert store.backend(asynchronous=False) is sync_side
    assert isinstance(sync_side, SyncStateBackend) and isinstance(async_side, AsyncStateBackend)
    sync_side.set("k", {"a": 1})
    assert store.core.get("ailib:k") == '{"a":1}'
    assert isinstance(store, StateStore) and not store.shared


def test_memory_records_and_counters_expire_on_the_injected_clock() -> None:
    clock = Clock()
    backend = MemoryStore(clock=clock).backend(asynchronous=False)
    backend.set("r", {"a": 1}, ttl=10)
    backend.incr("c", 2, ttl=5)
    clock.now += 4.9
    assert backend.get("r") == {"a": 1} and backend.counter("c") == 2
    backend.incr("c")  # without a ttl the counter keeps its expiry
    clock.now += 0.2
    assert backend.counter("c") == 0
    clock.now += 5
    assert backend.get("r") is None
    backend.update("u", lambda rec: ({"n": 1}, None), ttl=1)
    clock.now += 1
    assert backend.get("u") is None


def test_memory_store_drops_expired_keys_as_it_goes() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    backend = store.backend(asynchronous=False)
    for i in range(1000):
        backend.set(f"old{i}", {"i": i}, ttl=1)
    clock.now += 2
    for i in range(100):
        backend.set(f"new{i}", {"i": i}, ttl=60)
    assert len(store.core._data) < 200


async def test_memory_async_side_uses_the_same_clock() -> None:
    clock = Clock()
    backend = MemoryStore(clock=clock).backend(asynchronous=True)
    await backend.set("r", {"a": 1}, ttl=1)
    clock.now += 1
    assert await backend.get("r") is None


class _Contended(SyncStateBackend):
    """A backend whose record changes between every read and write."""

    def __init__(self) -> None:
        super().__init__("ns", "test://")
        self.reads = 0

    def _get_raw(self, key: str) -> str | None:
        self.reads += 1
        return f'{{"n":{self.reads}}}'

    def _cas_raw(self, key: str, expected: str | None, new: str | None, ttl: float | None) -> bool:
        return False


class _AsyncContended(AsyncStateBackend):
    def __init__(self) -> None:
        super().__init__("ns", "test://")

    async def _get_raw(self, key: str) -> str | None:
        return '{"n":1}'

    async def _cas_raw(
        self, key: str, expected: str | None, new: str | None, ttl: float | None
    ) -> bool:
        return False


def test_update_gives_up_under_endless_contention() -> None:
    backend = _Contended()
    with pytest.raises(StateStoreError, match="kept changing"):
        backend.update("k", lambda rec: ({"n": 0}, None))
    assert backend.reads == MAX_UPDATE_TRIES


async def test_update_gives_up_under_endless_contention_async() -> None:
    with pytest.raises(StateStoreError, match="kept changing"):
        await _AsyncContended().update("k", lambda rec: ({"n": 0}, None))


# ---- URLs: every way to write a password stays hidden; a bad URL is refused at once ---------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0?password=s3cretpw", "redis://127.0.0.1:6379/0?password=***"),
        (
            "unix:///tmp/r.sock?db=0&password=s3cretpw",
            "unix:///tmp/r.sock?db=0&password=***",
        ),
        ("rediss://:s3cretpw@[::1]:6380/0", "rediss://:***@[::1]:6380/0"),
        ("redis://user:s3cretpw@cache.example/1", "redis://user:***@cache.example/1"),
    ],
)
def test_a_password_in_the_query_or_an_ipv6_url_is_hidden(url: str, shown: str) -> None:
    from ailib.resilience._sync_breaker_layer import BreakerLayer
    from ailib.resilience._sync_gates import BackpressureLayer
    from ailib.resilience.config import BackpressureConfig

    store = store_from_url(url)
    assert store.label == shown
    assert "s3cretpw" not in repr(store)
    assert "s3cretpw" not in BreakerLayer(store=store).describe()
    assert "s3cretpw" not in BackpressureLayer(BackpressureConfig(), store=store).describe()


@pytest.mark.parametrize(
    "url",
    [
        "redis://:s3cretpw@127.0.0.1:notaport/0",
        "redis://:s3cretpw@127.0.0.1:99999/0",
        "redis://:s3cretpw@[::1/0",
        "redis://default:s3cretpw",  # the @host forgotten: the password reads as a port
    ],
)
def test_a_malformed_redis_url_is_refused_without_its_password(url: str) -> None:
    for make in (store_from_url, RedisStore):
        with pytest.raises(ConfigurationError) as info:
            make(url)
        assert "s3cretpw" not in str(info.value)
        assert "URL" in str(info.value)


def test_an_endless_ttl_is_clamped_not_an_overflow() -> None:
    from ailib.resilience.state import ttl_ms

    assert 0 < ttl_ms(float("inf")) <= 2**62
    assert ttl_ms(1e300) == ttl_ms(float("inf"))
    backend = MemoryStore().backend(asynchronous=False)
    backend.set("k", {"a": 1}, ttl=float("inf"))
    assert backend.get("k") == {"a": 1}


def test_the_builder_refuses_a_store_that_is_neither_a_url_nor_a_store() -> None:
    from ailib import AiClient

    with pytest.raises(ConfigurationError, match="with_state_store"):
        AiClient.builder().with_state_store(6379)
    with pytest.raises(ConfigurationError, match="state store URL"):
        AiClient.builder().with_state_store("ftp://:s3cretpw@host/")
    builder = AiClient.builder().with_state_store(MemoryStore())
    assert isinstance(builder._state_store, MemoryStore)
