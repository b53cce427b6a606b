"""The state store's operations, the same on MemoryStore and on a real Redis, sync and async."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ailib.errors import ConfigurationError, StateStoreError
from ailib.resilience.state import MemoryStore, RedisStore, StateStore


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, namespace: str) -> Iterator[StateStore]:
    if request.param == "memory":
        yield MemoryStore(namespace=namespace)
        return
    made = RedisStore(request.getfixturevalue("redis_url"), namespace=namespace)
    yield made
    made.close()


def _count_up(record: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
    n = (record or {"n": 0})["n"] + 1
    return {"n": n}, n


# ---- sync --------------------------------------------------------------------------------


def test_records_round_trip_and_delete(store: StateStore) -> None:
    backend = store.backend(asynchronous=False)
    assert backend.get("rec") is None
    backend.set("rec", {"state": "open", "until": 12.5, "list": [1, 2]}, ttl=30)
    assert backend.get("rec") == {"state": "open", "until": 12.5, "list": [1, 2]}
    backend.delete("rec")
    assert backend.get("rec") is None


def test_records_expire_after_their_ttl(store: StateStore) -> None:
    backend = store.backend(asynchronous=False)
    backend.set("short", {"a": 1}, ttl=0.05)
    backend.set("long", {"a": 2}, ttl=60)
    time.sleep(0.3)
    assert backend.get("short") is None
    assert backend.get("long") == {"a": 2}


def test_compare_and_set(store: StateStore) -> None:
    backend = store.backend(asynchronous=False)
    assert backend.compare_and_set("k", None, {"v": 1}) is True
    assert backend.compare_and_set("k", None, {"v": 2}) is False  # no longer missing
    assert backend.compare_and_set("k", {"v": 9}, {"v": 2}) is False
    assert backend.get("k") == {"v": 1}
    assert backend.compare_and_set("k", {"v": 1}, {"v": 2}, ttl=10) is True
    assert backend.get("k") == {"v": 2}
    assert backend.compare_and_set("k", {"v": 2}, None) is True  # None deletes
    assert backend.get("k") is None


def test_update_writes_keeps_or_deletes(store: StateStore) -> None:
    backend = store.backend(asynchronous=False)
    assert backend.update("u", _count_up, ttl=10) == 1
    assert backend.update("u", _count_up, ttl=10) == 2
    assert backend.update("u", lambda rec: (rec, "kept")) == "kept"
    assert backend.get("u") == {"n": 2}
    assert backend.update("u", lambda rec: (None, "gone")) == "gone"
    assert backend.get("u") is None


def test_update_is_atomic_across_threads(store: StateStore) -> None:
    backend = store.backend(asynchronous=False)

    def work() -> None:
        for _ in range(25):
            backend.update("shared", _count_up, ttl=30)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert backend.get("shared") == {"n": 200}


def test_counters(store: StateStore) -> None:
    backend = store.backend(asynchronous=False)
    assert backend.counter("c") == 0
    assert backend.incr("c", ttl=30) == 1
    assert backend.incr("c", 4) == 5
    assert backend.decr("c", 2) == 3
    assert backend.decr("c", 10) == 0  # never below zero
    assert backend.counter("c") == 0
    assert backend.incr("c") == 1


def test_counters_expire_after_their_ttl(store: StateStore) -> None:
    backend = store.backend(asynchronous=False)
    backend.incr("inflight", 3, ttl=0.05)
    time.sleep(0.3)
    assert backend.counter("inflight") == 0


def test_counters_are_atomic_across_threads(store: StateStore) -> None:
    backend = store.backend(asynchronous=False)

    def work() -> None:
        for _ in range(50):
            backend.incr("n", ttl=30)
            backend.decr("n", ttl=30)
            backend.incr("total", ttl=30)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert backend.counter("n") == 0
    assert backend.counter("total") == 200


def test_keys_are_namespaced(store: StateStore) -> None:
    backend = store.backend(asynchronous=False)
    backend.set("breaker:x", {"a": 1})
    assert backend.full_key("breaker:x") == f"{store.namespace}:breaker:x"
    other = (
        MemoryStore(namespace="other")
        if isinstance(store, MemoryStore)
        else RedisStore(store.url, namespace=f"{store.namespace}-other")
    )
    if isinstance(store, MemoryStore):  # the same data, another namespace
        other.core = store.core
    assert other.backend(asynchronous=False).get("breaker:x") is None
    if isinstance(store, RedisStore):
        raw = store.sync_client().get(f"{store.namespace}:breaker:x")
        assert raw == '{"a":1}'
        other.close()


def test_a_counter_is_not_a_record(store: StateStore) -> None:
    backend = store.backend(asynchronous=False)
    backend.incr("num")
    with pytest.raises(StateStoreError, match="does not hold a JSON record"):
        backend.get("num")
    backend.set("rec", {"a": 1})
    with pytest.raises(StateStoreError, match="does not hold a counter"):
        backend.counter("rec")


def test_bad_ttl_is_refused(store: StateStore) -> None:
    backend = store.backend(asynchronous=False)
    with pytest.raises(ConfigurationError, match="TTL must be > 0"):
        backend.set("k", {"a": 1}, ttl=0)


# ---- async -------------------------------------------------------------------------------


async def test_async_records_and_counters(store: StateStore) -> None:
    backend = store.backend(asynchronous=True)
    assert await backend.get("rec") is None
    await backend.set("rec", {"x": [1, "two"]}, ttl=30)
    assert await backend.get("rec") == {"x": [1, "two"]}
    assert await backend.compare_and_set("rec", {"x": [1, "two"]}, {"x": 3}) is True
    assert await backend.compare_and_set("rec", {"x": [1, "two"]}, {"x": 4}) is False
    assert await backend.update("rec", lambda rec: ({"x": rec["x"] + 1} if rec else None, 0)) == 0
    assert await backend.get("rec") == {"x": 4}
    await backend.delete("rec")
    assert await backend.get("rec") is None
    assert await backend.incr("c", 2, ttl=30) == 2
    assert await backend.decr("c", 5) == 0
    assert await backend.counter("c") == 0


async def test_async_update_is_atomic_under_interleaving(store: StateStore) -> None:
    backend = store.backend(asynchronous=True)
    await asyncio.gather(*(backend.update("shared", _count_up, ttl=30) for _ in range(60)))
    assert await backend.get("shared") == {"n": 60}
    await asyncio.gather(*(backend.incr("c", ttl=30) for _ in range(60)))
    assert await backend.counter("c") == 60


async def test_async_records_expire(store: StateStore) -> None:
    backend = store.backend(asynchronous=True)
    await backend.set("short", {"a": 1}, ttl=0.05)
    await asyncio.sleep(0.3)
    assert await backend.get("short") is None


async def test_sync_and_async_sides_share_the_data(store: StateStore) -> None:
    await store.backend(asynchronous=True).set("both", {"from": "async"})
    assert store.backend(asynchronous=False).get("both") == {"from": "async"}
    store.backend(asynchronous=False).incr("n", 3)
    assert await store.backend(asynchronous=True).counter("n") == 3
    await store.aclose()


# ---- Redis only -----------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_redis_out_of_reach_is_a_typed_error_without_the_password() -> None:
    pytest.importorskip("redis")
    store = RedisStore(f"redis://:hunter2secret@127.0.0.1:{_closed_port()}/0", socket_timeout=0.5)
    assert "hunter2secret" not in repr(store)
    with pytest.raises(StateStoreError) as info:
        store.backend(asynchronous=False).get("k")
    assert "127.0.0.1" in str(info.value)
    assert "hunter2secret" not in str(info.value)


async def test_redis_out_of_reach_is_a_typed_error_async() -> None:
    pytest.importorskip("redis")
    store = RedisStore(f"redis://127.0.0.1:{_closed_port()}/0", socket_timeout=0.5)
    with pytest.raises(StateStoreError, match=r"state store redis://127\.0\.0\.1"):
        await store.backend(asynchronous=True).incr("k")


def test_redis_scripts_survive_a_script_flush(redis_url: str, namespace: str) -> None:
    store = RedisStore(redis_url, namespace=namespace)
    backend = store.backend(asynchronous=False)
    assert backend.incr("c") == 1
    store.sync_client().script_flush()
    assert backend.incr("c") == 2
    assert backend.compare_and_set("r", None, {"a": 1}) is True
    store.close()


def test_redis_async_side_works_on_several_event_loops(redis_url: str, namespace: str) -> None:
    store = RedisStore(redis_url, namespace=namespace)
    backend = store.backend(asynchronous=True)
    assert asyncio.run(backend.incr("c")) == 1
    assert asyncio.run(backend.incr("c")) == 2  # a new loop gets its own connections

    async def read_and_close() -> int:
        try:
            return await backend.counter("c")
        finally:
            await store.aclose()

    assert asyncio.run(read_and_close()) == 2


def test_redis_ttl_is_set_on_the_server(redis_url: str, namespace: str) -> None:
    store = RedisStore(redis_url, namespace=namespace)
    backend = store.backend(asynchronous=False)
    backend.set("r", {"a": 1}, ttl=30)
    backend.incr("c", ttl=20)
    backend.update("u", _count_up, ttl=40)
    client = store.sync_client()
    assert 25_000 < client.pttl(f"{namespace}:r") <= 30_000
    assert 15_000 < client.pttl(f"{namespace}:c") <= 20_000
    assert 35_000 < client.pttl(f"{namespace}:u") <= 40_000
    backend.incr("c")  # no ttl: keeps the one it had
    assert client.pttl(f"{namespace}:c") > 0
    store.close()
