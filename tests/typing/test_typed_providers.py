"""mypy --strict accepts correct calls of the generated modules and rejects misspelt ones."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

GOOD = """
from ailib import Message
from ailib.providers.openai import OpenAI, AsyncOpenAI
from ailib.providers.anthropic import Anthropic
from ailib.runtime._sync_engine import ChatStream
from ailib.runtime._async_engine import AsyncChatStream
from ailib.types.response import ChatResponse

def sync_calls(p: OpenAI, a: Anthropic) -> None:
    r: ChatResponse = p.chat(model="gpt-4o", messages=[Message.user("hi")], temperature=0.2, seed=1)
    s: ChatStream = p.chat(model="gpt-4o", messages=[Message.user("hi")], stream=True)
    t: ChatResponse = a.chat(model="claude-sonnet-4-5", messages=[], top_k=5, stop=["x"])
    print(r.content, s, t.usage.total_tokens)

async def async_calls(p: AsyncOpenAI) -> None:
    r: ChatResponse = await p.chat(model="gpt-4o", messages=[Message.user("hi")], max_tokens=5)
    s: AsyncChatStream = await p.chat(model="gpt-4o", messages=[], stream=True)
    print(r, s)
"""

BAD = """
from ailib import Message
from ailib.providers.openai import OpenAI
from ailib.providers.gemini import Gemini

def calls(p: OpenAI, g: Gemini) -> None:
    p.chat(model="gpt-4o", messages=[Message.user("hi")], temprature=0.2)
    p.chat(model="gpt-4o", messages=[], temperature="hot")
    g.chat(model="gemini-2.5-flash", messages=[], top_k="many")
    p.chat(model="gpt-4o", messages=[], top_k=3)
"""


def _mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    path = tmp_path / "snippet.py"
    path.write_text(source)
    out, err, status = mypy_api.run(
        ["--strict", "--no-error-summary", "--cache-dir", str(tmp_path / ".mypy"), str(path)]
    )
    return out + err, status


def test_correct_calls_type_check(tmp_path: Path) -> None:
    out, status = _mypy(tmp_path, GOOD)
    assert status == 0, out


def test_misspelt_and_mistyped_parameters_are_rejected(tmp_path: Path) -> None:
    out, status = _mypy(tmp_path, BAD)
    assert status == 1
    assert 'Unexpected keyword argument "temprature"' in out
    assert 'Unexpected keyword argument "top_k"' in out  # OpenAI does not declare top_k
    assert out.count("No overload variant") + out.count("incompatible type") >= 2, out


# ---- the type survives `with` / `async with` (issue 6 item 10) -----------------------------

WITH_GOOD = """
from ailib import AiClient, AsyncAiClient, Message
from ailib.embeddings import EmbeddingClient
from ailib.providers.openai import OpenAI, AsyncOpenAI
from ailib.types.response import ChatResponse

def sync_with() -> None:
    with OpenAI(api_key="k") as p:
        r: ChatResponse = p.chat(model="gpt-4o", messages=[Message.user("hi")], temperature=0.2)
        print(r)
    with AiClient.create("openai/gpt-4o") as c:
        c.chat().user("hi")
    with OpenAI(api_key="k") as p, p.chat(model="gpt-4o", messages=[], stream=True) as s:
        print(s.final_response().content)
    with EmbeddingClient.create("openai/text-embedding-3-small") as e:
        print(e.embed("hi").first)

async def async_with() -> None:
    async with AsyncOpenAI(api_key="k") as p:
        r: ChatResponse = await p.chat(model="gpt-4o", messages=[], temperature=0.2)
        s = await p.chat(model="gpt-4o", messages=[], stream=True)
        async with s as stream:
            print(r, await stream.final_response())
    async with await AsyncAiClient.create("openai/gpt-4o") as c:
        c.chat().user("hi")
"""

WITH_BAD = """
from ailib import Message
from ailib.providers.openai import OpenAI, AsyncOpenAI

def sync_with() -> None:
    with OpenAI(api_key="k") as p:
        p.chat(model="gpt-4o", messages=[Message.user("hi")], temprature=0.2)

async def async_with() -> None:
    async with AsyncOpenAI(api_key="k") as p:
        await p.chat(model="gpt-4o", messages=[Message.user("hi")], temprature=0.2)
"""


def test_with_keeps_the_typed_class(tmp_path: Path) -> None:
    out, status = _mypy(tmp_path, WITH_GOOD)
    assert status == 0, out


def test_with_rejects_a_misspelt_keyword(tmp_path: Path) -> None:
    out, status = _mypy(tmp_path, WITH_BAD)
    assert status == 1, out
    assert out.count('Unexpected keyword argument "temprature"') == 2, out
    assert "has no attribute" not in out, out
