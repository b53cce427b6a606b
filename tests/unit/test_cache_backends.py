"""Cache backends: MemoryCache (LRU, TTL, bounds), NullCache, DiskCache (persistent,
tamper-proof), each through its sync methods and its async twins."""

from __future__ import annotations

import asyncio
import os
import pickle
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ailib.cache import CacheBackend, DiskCache, MemoryCache, NullCache
from ailib.errors import ConfigurationError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Side:
    """One backend seen through its sync methods or its async twins (same calls)."""

    def __init__(self, backend: CacheBackend, asynchronous: bool) -> None:
        self.backend = backend
        self.asynchronous = asynchronous

    def _run(self, name: str, *args: Any) -> Any:
        if self.asynchronous:
            return asyncio.run(getattr(self.backend, "a" + name)(*args))
        return getattr(self.backend, name)(*args)

    def get(self, key: str) -> bytes | None:
        return self._run("get", key)  # type: ignore[no-any-return]

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._run("set", key, value, ttl)

    def delete(self, key: str) -> bool:
        return self._run("delete", key)  # type: ignore[no-any-return]

    def clear(self) -> None:
        self._run("clear")

    def size(self) -> int:
        return self._run("size")  # type: ignore[no-any-return]


SIDES = pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])


# ---- MemoryCache --------------------------------------------------------------------------


@SIDES
def test_memory_stores_reads_deletes_and_clears(asynchronous: bool) -> None:
    side = Side(MemoryCache(max_size=10), asynchronous)
    assert side.get("a") is None
    side.set("a", b"1")
    side.set("b", b"22")
    assert side.get("a") == b"1" and side.size() == 2
    assert side.delete("a") is True and side.delete("a") is False
    assert side.get("a") is None
    side.clear()
    assert side.size() == 0 and side.get("b") is None


@SIDES
def test_memory_entries_expire_after_their_ttl(asynchronous: bool) -> None:
    clock = Clock()
    side = Side(MemoryCache(clock=clock), asynchronous)
    side.set("short", b"x", 10)
    side.set("forever", b"y", None)
    clock.now += 9.9
    assert side.get("short") == b"x"
    clock.now += 0.2
    assert side.get("short") is None
    assert side.get("forever") == b"y"
    assert side.size() == 1


@SIDES
def test_memory_evicts_the_least_recently_used_entry(asynchronous: bool) -> None:
    backend = MemoryCache(max_size=3)
    side = Side(backend, asynchronous)
    for key in "abc":
        side.set(key, key.encode())
    assert side.get("a") == b"a"  # a is now the most recently used
    side.set("d", b"d")
    assert side.get("b") is None  # b was the least recently used
    assert [side.get(k) for k in "acd"] == [b"a", b"c", b"d"]
    assert backend.evictions == 1


@SIDES
def test_memory_is_bounded_by_bytes_too(asynchronous: bool) -> None:
    backend = MemoryCache(max_size=100, max_bytes=10)
    side = Side(backend, asynchronous)
    side.set("a", b"12345")
    side.set("b", b"12345")
    assert backend.bytes_used == 10
    side.set("c", b"123")
    assert side.get("a") is None and side.get("b") == b"12345" and side.get("c") == b"123"
    assert backend.bytes_used == 8
    side.set("huge", b"x" * 11)  # could never fit: not stored, nothing evicted for it
    assert side.get("huge") is None and side.size() == 2
    side.set("b", b"1")  # replacing an entry counts its new size only
    assert backend.bytes_used == 4


@pytest.mark.parametrize(
    "kwargs", [{"max_size": 0}, {"max_size": "10"}, {"max_size": True}, {"max_bytes": 0}]
)
def test_memory_refuses_bad_bounds(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="MemoryCache"):
        MemoryCache(**kwargs)


@SIDES
def test_null_cache_stores_nothing(asynchronous: bool) -> None:
    side = Side(NullCache(), asynchronous)
    side.set("a", b"1")
    assert side.get("a") is None and side.size() == 0 and side.delete("a") is False
    side.clear()


# ---- DiskCache ----------------------------------------------------------------------------


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[DiskCache]:
    backend = DiskCache(tmp_path / "cache")
    yield backend
    backend.close()


@SIDES
def test_disk_stores_reads_deletes_and_clears(disk: DiskCache, asynchronous: bool) -> None:
    side = Side(disk, asynchronous)
    assert side.get("a") is None
    side.set("a", b"1")
    side.set("big", b"x" * 100_000)  # over the inline limit: kept in a file
    assert side.get("a") == b"1" and side.get("big") == b"x" * 100_000
    assert side.size() == 2
    assert side.delete("a") is True and side.delete("a") is False
    side.clear()
    assert side.size() == 0


@SIDES
def test_disk_entries_expire(disk: DiskCache, asynchronous: bool) -> None:
    side = Side(disk, asynchronous)
    side.set("gone", b"x", 0.05)
    side.set("kept", b"y", 60)
    deadline = 0
    while side.get("gone") is not None and deadline < 200:  # generous: a loaded machine
        asyncio.run(asyncio.sleep(0.02))
        deadline += 1
    assert side.get("gone") is None and side.get("kept") == b"y"


def test_disk_entries_survive_a_reopen(tmp_path: Path) -> None:
    first = DiskCache(tmp_path / "c")
    first.set("k", b"persisted", None)
    first.close()
    second = DiskCache(tmp_path / "c")
    assert second.get("k") == b"persisted"
    second.close()


def test_disk_expands_the_home_directory_and_keeps_it_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    backend = DiskCache("~/.cache/myapp")
    assert backend.directory == str(tmp_path / ".cache" / "myapp")
    assert (os.stat(backend.directory).st_mode & 0o777) == 0o700
    backend.close()


def test_disk_refuses_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="eviction_policy"):
        DiskCache(tmp_path, eviction_policy="random")
    with pytest.raises(ConfigurationError, match="size_limit_bytes"):
        DiskCache(tmp_path, size_limit_bytes=0)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigurationError, match="cannot open"):
        DiskCache(blocker)


class _Opens:
    """Unpickling this calls open(path, "w"): proof that pickle ran code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str, str]]:
        return (open, (str(self.path), "w"))


def test_disk_never_unpickles_what_diskcache_pickled(disk: DiskCache, tmp_path: Path) -> None:
    """diskcache pickles non-bytes values by default; a row like that is refused unread."""
    import diskcache

    marker = tmp_path / "pwned"
    plain = diskcache.Cache(disk.directory)  # default Disk: pickles
    plain.set("evil", _Opens(marker))
    plain.set("text", "a str value")
    plain.close()
    with pytest.raises(ValueError, match="ailib never writes"):
        disk.get("evil")
    with pytest.raises(ValueError, match="holding a str"):
        disk.get("text")
    assert not marker.exists()
    assert pickle.loads(pickle.dumps(1)) == 1  # (pickle itself works: it was never called)


def test_disk_reads_and_deletes_no_file_outside_its_directory(
    disk: DiskCache, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.val"
    outside.write_bytes(b"secret")
    disk.set("k", b"x" * 100_000, None)  # a file-backed entry
    db = sqlite3.connect(os.path.join(disk.directory, "cache.db"))
    db.execute("UPDATE Cache SET filename = ? WHERE key = ?", ("../outside.val", "k"))
    db.commit()
    db.close()
    with pytest.raises(ValueError, match="outside the cache directory"):
        disk.get("k")
    disk.delete("k")
    assert outside.read_bytes() == b"secret"  # diskcache would have removed it


def test_missing_diskcache_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "diskcache", None)
    with pytest.raises(ConfigurationError, match=r"ailib\[cache\]"):
        DiskCache(tmp_path)
