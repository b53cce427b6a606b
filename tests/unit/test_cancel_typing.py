"""mypy --strict accepts each face of CancellableStream and rejects the other one."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

SNIPPET = """
from ailib import AiClient, AsyncAiClient
from ailib.client import CancellableStream, create_cancel_pair
from ailib.types.response import ChatResponse

def good_sync(c: AiClient) -> ChatResponse:
    token, _ = create_cancel_pair()
    with CancellableStream(c.chat().user("x").stream(), token) as cs:
        for event in cs:
            print(event.is_content_delta)
    return cs.final_response()

async def good_async(c: AsyncAiClient) -> ChatResponse:
    token, _ = create_cancel_pair()
    async with CancellableStream(c.chat().user("x").stream(), token) as cs:
        async for event in cs:
            print(event.is_content_delta)
    return await cs.final_response()

async def bad(c: AsyncAiClient, s: AiClient) -> None:
    token, _ = create_cancel_pair()
    cs = CancellableStream(c.chat().user("x").stream(), token)
    for event in cs:  # BAD: an async stream in a plain for
        print(event)
    r: ChatResponse = cs.final_response()  # BAD: not awaited
    cs2 = CancellableStream(s.chat().user("x").stream(), token)
    async for event in cs2:  # BAD: a sync stream in async for
        print(event, r)
"""


def test_mypy_checks_the_face_of_the_wrapped_stream(tmp_path: Path) -> None:
    path = tmp_path / "snippet.py"
    path.write_text(SNIPPET)
    out, err, _status = mypy_api.run(
        ["--strict", "--no-error-summary", "--cache-dir", str(tmp_path / ".mypy"), str(path)]
    )
    lines = sorted(
        {int(line.split(":")[1]) for line in (out + err).splitlines() if ": error" in line}
    )
    expected = [n for n, line in enumerate(SNIPPET.splitlines(), 1) if "# BAD" in line]
    assert len(expected) == 3 and lines == expected, out + err
