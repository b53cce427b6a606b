"""A DiskCache shared by several OS processes: one process's answer is another's hit, and
processes writing at the same time lose nothing. (RedisCache: tests/redis/test_cache_redis.py,
with the same child program.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ailib.cache import CacheManager, DiskCache
from ailib.testing import MockServer, Scenario

#: a child process: ``ask <prompt>`` through a cached client, or ``fill <prefix> <n>``
#: entries by hand; prints what it saw as JSON
CHILD = r"""
import json, sys
from ailib import AiClient
from ailib.cache import CacheManager, DiskCache, RedisCache
from ailib.types.response import ChatResponse

kind, where, namespace, action, *args = sys.argv[1:]
backend = DiskCache(where) if kind == "disk" else RedisCache(where, namespace=namespace)
cache = CacheManager(backend=backend)
if action == "ask":
    base_url, prompt = args
    builder = AiClient.builder().model("openai/gpt-4o").api_key("sk-child").base_url(base_url)
    with builder.with_cache(cache).build() as client:
        resp = client.chat().user(prompt).execute()
    out = {"content": resp.content, "hits": cache.stats().hits}
else:
    prefix, count = args[0], int(args[1])
    for i in range(count):
        cache.set_sync(f"{prefix}-{i}", ChatResponse(f"{prefix} answer {i}"))
        cache.set_sync("contended", ChatResponse(f"from {prefix}"))
    out = {"stores": cache.stats().stores}
cache.close()
print(json.dumps(out))
"""


def run_child(*args: str) -> dict[str, Any]:
    """Run CHILD in a new interpreter; its JSON output."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def fill_at_once(*args: str, count: int) -> list[dict[str, Any]]:
    """Two children filling the same cache at the same time (prefixes "a" and "b")."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args, "fill", prefix, str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("a", "b")
    ]
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def test_one_process_answer_is_another_process_hit(mock_server: MockServer, tmp_path: Path) -> None:
    where = str(tmp_path / "shared")
    mock_server.push(Scenario(text="computed once"))
    first = run_child("disk", where, "-", "ask", mock_server.base_url("openai"), "Hello")
    second = run_child("disk", where, "-", "ask", mock_server.base_url("openai"), "Hello")
    assert first == {"content": "computed once", "hits": 0}
    assert second == {"content": "computed once", "hits": 1}
    assert len(mock_server.requests) == 1  # the second process sent nothing


def test_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    where = str(tmp_path / "shared")
    count = 40
    outputs = fill_at_once("disk", where, "-", count=count)
    assert outputs == [{"stores": 2 * count}] * 2
    cache = CacheManager(backend=DiskCache(where))
    for prefix in ("a", "b"):
        for i in range(count):
            found = cache.get_sync(f"{prefix}-{i}")
            assert found is not None and found.content == f"{prefix} answer {i}"
    contended = cache.get_sync("contended")
    assert contended is not None and contended.content in ("from a", "from b")
    assert cache.stats().size == 2 * count + 1
    cache.close()
