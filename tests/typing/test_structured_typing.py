"""mypy --strict sees ``resp.parsed`` as the user's type after ``.response_format(X)``,
sync and async, executed or streamed; misuse of it is rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

HEADER = """
from typing import Any, TypedDict

import attrs

from ailib import AiClient, AsyncAiClient
from ailib.structured import JsonModeConfig, OutputValidator
from ailib.types.response import ChatResponse


@attrs.frozen
class Weather:
    city: str
    temperature_c: float


class Place(TypedDict):
    name: str
"""

GOOD = (
    HEADER
    + """
def sync_calls(c: AiClient) -> None:
    resp = c.chat().user("x").response_format(Weather).execute()
    maybe: Weather | None = resp.parsed
    if resp.parsed is not None:
        city: str = resp.parsed.city
        print(city)
    chained: ChatResponse[Weather] = (
        c.chat().temperature(0).response_format(Weather, max_repairs=1).user("y").execute()
    )
    place = c.chat().user("x").response_format(Place, mode="prompt").execute().parsed
    if place is not None:
        name: str = place["name"]
        print(name)
    with c.chat().user("x").response_format(Weather).stream() as stream:
        final: Weather | None = stream.final_response().parsed
    config = JsonModeConfig(Weather, mode="prompt")
    from_config: ChatResponse[Weather] = c.chat().user("x").response_format(config).execute()
    plain: ChatResponse = c.chat().user("x").execute()
    any_json: Any = c.chat().user("x").response_format({"type": "object"}).execute().parsed
    direct: Weather = OutputValidator(Weather).parse("{}")
    print(maybe, chained, final, from_config, plain, any_json, direct)


async def async_calls(c: AsyncAiClient) -> None:
    resp = await c.chat().user("x").response_format(Weather).execute()
    maybe: Weather | None = resp.parsed
    async with c.chat().user("x").response_format(Weather).stream() as stream:
        final: Weather | None = (await stream.final_response()).parsed
    print(maybe, final)
"""
)

REVEAL = (
    HEADER
    + """
def calls(c: AiClient) -> None:
    reveal_type(c.chat().user("x").response_format(Weather).execute().parsed)
    reveal_type(c.chat().user("x").execute().parsed)
"""
)

BAD = (
    HEADER
    + """
def calls(c: AiClient) -> None:
    resp = c.chat().user("x").response_format(Weather).execute()
    n: int = resp.parsed
    print(resp.parsed.city)
    wrong: ChatResponse[int] = c.chat().user("x").response_format(Weather).execute()
    c.chat().response_format(Weather, mode=3)
"""
)


def _mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    path = tmp_path / "snippet.py"
    path.write_text(source)
    out, err, status = mypy_api.run(
        ["--strict", "--no-error-summary", "--cache-dir", str(tmp_path / ".mypy"), str(path)]
    )
    return out + err, status


def test_parsed_is_the_users_type(tmp_path: Path) -> None:
    out, status = _mypy(tmp_path, GOOD)
    assert status == 0, out


def test_revealed_types(tmp_path: Path) -> None:
    out, _ = _mypy(tmp_path, REVEAL)
    lines = [line for line in out.splitlines() if "Revealed type" in line]
    assert len(lines) == 2, out
    assert "snippet.Weather | None" in lines[0]
    assert '"Any | None"' in lines[1]


def test_misuse_is_rejected(tmp_path: Path) -> None:
    out, status = _mypy(tmp_path, BAD)
    assert status == 1
    assert 'Incompatible types in assignment (expression has type "Weather | None"' in out
    assert 'Item "None" of "Weather | None" has no attribute "city"' in out
    assert "ChatResponse[Weather]" in out and "ChatResponse[int]" in out
    assert "No overload variant" in out or 'Argument "mode"' in out
