"""The loopback mock server in its own process, for benchmarks.

Usage::

    with served(chunks=0) as base:      # echo answers
        ...                              # base: the OpenAI-wire base URL on 127.0.0.1
    with served(chunks=2000) as base:   # every answer a stream of about 2,000 chunks

A server in the benchmark's own process shares its interpreter lock: the client's time
would include the server's and a cheap client would look no cheaper. In its own process
(another core), the server keeps up and the client's own cost decides calls per second.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_TEXT = ("lorem", "ipsum", "dolor", "sit")


@contextmanager
def served(chunks: int = 0) -> Iterator[str]:
    """Start the server process, yield its OpenAI base URL, stop it (by its PID) after."""
    proc = subprocess.Popen(
        [sys.executable, __file__, str(chunks)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the mock server did not start: {line!r}")
        yield line
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _serve(chunks: int) -> None:
    from ailib.testing import MockServer, Scenario

    server = MockServer(host="127.0.0.1").start()
    if chunks:
        text = " ".join(_TEXT * (chunks // 4))[: chunks * 4]
        server.set_default(Scenario(text=text, chunks=chunks))
    print(server.base_url("openai"), flush=True)
    try:
        sys.stdin.read()  # until the parent closes the pipe or terminates this process
    finally:
        server.stop()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
