"""The loopback mock server in its own process, for benchmarks.

Usage::

    with served(chunks=0) as urls:      # echo answers
        urls["openai"], urls["anthropic"], urls["root"]   # base URLs on 127.0.0.1
    with served(chunks=2000) as urls:   # every answer a stream of about 2,000 chunks

A server in the benchmark's own process shares its interpreter lock: the client's time
would include the server's and a cheap client would look no cheaper. In its own process
(another core), the server keeps up and the client's own cost decides calls per second.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_TEXT = ("lorem", "ipsum", "dolor", "sit")


@contextmanager
def served(chunks: int = 0) -> Iterator[dict[str, str]]:
    """Start the server process, yield its base URLs, stop it (by its PID) after."""
    proc = subprocess.Popen(
        [sys.executable, __file__, str(chunks)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith('{"root": "http://127.0.0.1:'):
            raise RuntimeError(f"the mock server did not start: {line!r}")
        urls: dict[str, str] = json.loads(line)
        yield urls
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _serve(chunks: int) -> None:
    from ailib.testing import MockServer, Scenario

    server = MockServer(host="127.0.0.1").start()
    if chunks:
        text = " ".join(_TEXT * (chunks // 4))[: chunks * 4]
        server.set_default(Scenario(text=text, chunks=chunks))
    urls = {"root": server.url, **{d: server.base_url(d) for d in ("openai", "anthropic")}}
    print(json.dumps(urls), flush=True)
    try:
        sys.stdin.read()  # until the parent closes the pipe or terminates this process
    finally:
        server.stop()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
