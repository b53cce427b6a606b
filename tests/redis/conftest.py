"""A real Redis for the tests here: ``redis_url``, and stores in fresh namespaces.

``redis_url`` is ``AILIB_TEST_REDIS_URL`` when set (``.ci/run`` starts a redis-server
and sets it; the server must answer), else a redis-server this fixture starts on a free
loopback port and stops at the end of the session, else the tests skip saying why.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV = "AILIB_TEST_REDIS_URL"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str, seconds: float) -> bool:
    import redis

    deadline = time.monotonic() + seconds
    while True:
        try:
            client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.exceptions.RedisError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Redis the tests may write to (under their own namespaces)."""
    pytest.importorskip("redis", reason="the 'redis' package is missing: pip install -e '.[dev]'")
    url = os.environ.get(ENV, "").strip()
    if url:
        if not _answers(url, 10):
            pytest.fail(f"{ENV}={url} is set but no Redis answers there")
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(f"no Redis: set {ENV} or install redis-server (apt-get install redis-server)")
    port = _free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    log = (workdir / "redis.log").open("wb")
    server = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        if not _answers(url, 10):
            pytest.fail(f"redis-server did not start on port {port}: see {workdir / 'redis.log'}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture
def namespace() -> str:
    """A namespace no other test uses (so tests never see each other's keys)."""
    return f"ailib-test-{uuid.uuid4().hex[:12]}"
