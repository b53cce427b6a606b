"""Every ```python block of the seed README runs with ailib (issue 11, "Done when").

Each block of tests/fixtures/seed/ai-lib-python-README.md is translated only by the package
name (``ai_lib_python`` -> ``ailib``) and, in blocks that use them with ``await``, by the
async pairing of the seed's async-only classes (``AiClient`` -> ``AsyncAiClient``...; the
table is ``ASYNC_PAIRS`` of tests/unit/test_seed_names.py). The block then runs against the
loopback mock server, which a manifest overlay on ``AI_PROTOCOL_PATH`` puts in place of
the providers (as in tests/e2e/test_readme.py); the mock's default answer is the examples'
one (examples/_target.py): it echoes, and calls the first offered tool.

How a block runs: it is compiled with top-level ``await`` allowed and awaited inside an
async main; ``async def`` functions it defines and never uses itself are then called.
Blocks that are fragments of a longer session get a documented prelude (``PRELUDES``)
defining exactly the names they use from earlier blocks; nothing else is added.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ailib.protocol import ProtocolLoader
from ailib.testing import MockServer
from tests.unit.test_seed_names import ASYNC_PAIRS, seed_text

ROOT = Path(__file__).parents[2]
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_HEADING = re.compile(r"^#{2,4} (.+)$", re.M)


def seed_blocks() -> list[tuple[str, str]]:
    """(section title, code) for every python block, titles made unique by a suffix."""
    text = seed_text()
    blocks: list[tuple[str, str]] = []
    for fence in _FENCE.finditer(text):
        if fence.group(1) != "python":
            continue  # bash, yaml and plain blocks are configuration, not code
        headings = _HEADING.findall(text, 0, fence.start())
        title = re.sub(r"[^\w &()/+-]", "", headings[-1]).strip()
        taken = sum(1 for seen, _ in blocks if seen.split(" #")[0] == title)
        blocks.append((f"{title} #{taken + 1}" if taken else title, fence.group(2)))
    return blocks


def translate(code: str) -> str:
    """The seed's code with ailib's names: the package, and async pairs where awaited."""
    code = code.replace("ai_lib_python", "ailib")
    if "await" in code:
        for (_, name), twin in ASYNC_PAIRS.items():
            code = re.sub(rf"\b{name}\b", twin, code)
    return code


# The names a fragment uses from earlier blocks of the seed, defined as the seed defines
# them. Each prelude runs in the block's namespace, inside the same event loop.
_CLIENT = 'client = await AsyncAiClient.create("openai/gpt-4o")  # as in "Basic Usage"\n'
PRELUDES: dict[str, str] = {
    # `Pipeline` and `manifest` are never defined by the seed: the stream operators'
    # class, and a provider's loaded manifest
    "Protocol-Driven Architecture": (
        "from ailib.pipeline import Pipeline\n"
        "from ailib.protocol import ProtocolLoader\n"
        'manifest = ProtocolLoader().get("openai").manifest\n'
    ),
    # uses the streaming client class imported in "Basic Usage"
    "Streaming": "from ailib import AsyncAiClient\n",
    "With Messages List": "from ailib import AsyncAiClient\n" + _CLIENT,
    "Tool Calling (Function Calling)": "from ailib import AsyncAiClient\n" + _CLIENT,
    # `base64` and `MessageRole` are used unimported (the photo.jpg it reads is written
    # by the fixture)
    "Multimodal (Images)": "import base64\nfrom ailib import AsyncAiClient, MessageRole\n"
    + _CLIENT,
    "Context Manager": "from ailib import AsyncAiClient\n",
    # `Message` comes from "With Messages List"
    "Token Counting and Cost Estimation": "from ailib import Message\n",
    "Batch Processing": "from ailib import AsyncAiClient\n",
    "Batch Processing #2": "from ailib import AsyncAiClient\n",
    # `payload` is a chat request body, as the block's POST path implies
    "Connection Pooling": (
        'payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}\n'
    ),
    "Stream Cancellation": "from ailib import AsyncAiClient\n",
    # `client` and `messages` as in "With Messages List"
    "Response Caching": (
        "from ailib import AsyncAiClient, Message\n"
        + _CLIENT
        + 'messages = [Message.user("Hello!")]\n'
    ),
}

#: text each printing block's output must contain (the mock echoes "echo: <question>")
SHOWN: dict[str, list[str]] = {
    "Basic Usage": ["echo: Hello! What's 2+2?"],
    "Streaming": ["echo: Tell me a short story."],
    "Tool Calling (Function Calling)": ["Call get_weather: {'location': 'Tokyo'}"],
    "Production-Ready Configuration": [
        "Circuit state: closed",
        "In-flight requests: 0",
        "SignalsSnapshot(calls=0",
    ],
    "Context Manager": ["echo: Hello!"],
    "Token Counting and Cost Estimation": [
        "Token count: ",
        "Estimated cost: $0.0075",  # 1000 in, 500 out at gpt-4o's list price
        "Context window: 128000 tokens",
    ],
    "Metrics and Telemetry": ["Total requests: 1", "P99 latency: 500.00ms"],
    "Batch Processing": ["Successful: 3", "Failed: 0", "echo: What is async?"],
    "Batch Processing #2": ["Successful: 3", "Failed: 0", "echo: What is async?"],
    "Connection Pooling": ["Active connections: "],
    "Model Routing & Selection": ["Code models: ", "Cheapest: ", "Best quality: "],
    "Stream Cancellation": ["echo: Write a long story..."],
    "Embeddings": ["Dimensions: ", "Text 'World' similarity: "],
    "Response Caching": ["Hit ratio: "],
    "Plugin System": ["Request to gpt-4o: {'messages': [Ellipsis]}"],
}

#: blocks that show something ailib lacks or does differently (strict: fixing them shows)
XFAIL: dict[str, tuple[type[Exception], str]] = {}

#: real provider URLs in the blocks, replaced by the mock's (the block is otherwise as shown)
REAL_URLS = {"https://api.openai.com": "openai"}

BLOCKS = seed_blocks()


def _demo_answer() -> Any:
    spec = importlib.util.spec_from_file_location("_target", ROOT / "examples" / "_target.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._demo_answer


@pytest.fixture
def pointed_at_mock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mock_server: MockServer
) -> Iterator[MockServer]:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    for provider in ("openai", "anthropic", "gemini"):
        (overlay / f"{provider}.yaml").write_text(
            f"endpoint:\n  base_url: {mock_server.base_url(provider)}\n"
        )
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(overlay))
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.setenv(name, "mock-key")
    monkeypatch.chdir(tmp_path)  # files a block writes land here
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 a few bytes")  # "Multimodal" reads it
    mock_server.set_default(_demo_answer())
    yield mock_server


def _uncalled_async_functions(code: str) -> list[str]:
    """Top-level ``async def`` names the block never mentions again (it only defines them)."""
    tree = ast.parse(code)
    defined = [node.name for node in tree.body if isinstance(node, ast.AsyncFunctionDef)]
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return [name for name in defined if name not in used]


async def _run(code: str, prelude: str, namespace: dict[str, Any], opened: list[Any]) -> None:
    for source, filename in ((prelude, "prelude"), (code, "seed-README.md")):
        compiled = compile(source, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(compiled, namespace)  # a coroutine when the source awaits at top level
        if inspect.iscoroutine(result):
            await result
    for name in _uncalled_async_functions(code):
        await namespace[name]()
    for client in opened:  # the prelude's, and those the seed never closes ("Stream
        await client.aclose()  # Cancellation", "Production-Ready..."): no socket left to GC
    for value in namespace.values():
        if isinstance(value, ProtocolLoader):
            value.close()  # "Hot Reload" leaves its file watcher running


def _track_clients(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every AsyncAiClient created from now on (the harness closes them after the block)."""
    from ailib import AsyncAiClient

    opened: list[Any] = []
    original = AsyncAiClient.__init__

    def tracking_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(AsyncAiClient, "__init__", tracking_init)
    return opened


def _runs_its_own_loop(code: str) -> bool:
    return "asyncio.run(" in code


@pytest.mark.parametrize(
    ("title", "block"),
    [
        pytest.param(
            title,
            block,
            marks=[pytest.mark.xfail(strict=True, raises=XFAIL[title][0], reason=XFAIL[title][1])],
        )
        if title in XFAIL
        else (title, block)
        for title, block in BLOCKS
    ],
    ids=[title for title, _ in BLOCKS],
)
def test_seed_block_runs(
    title: str,
    block: str,
    pointed_at_mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = translate(block)
    substituted = [url for url in REAL_URLS if url in code]
    for url in substituted:  # never leave the machine: the mock's URL instead
        code = code.replace(url, pointed_at_mock.base_url(REAL_URLS[url]))
    namespace: dict[str, Any] = {"__name__": "seed_readme"}
    opened = _track_clients(monkeypatch)
    prelude = PRELUDES.get(title, "")
    if _runs_its_own_loop(code):
        exec(compile(prelude + code, "seed-README.md", "exec"), namespace)
    else:
        asyncio.run(_run(code, prelude, namespace, opened))
    shown = capsys.readouterr().out
    if substituted:  # the block's request went to the mock
        assert pointed_at_mock.requests and pointed_at_mock.requests[-1].path.startswith("/v1/")
    for expected in SHOWN.get(title, []):
        assert expected in shown, f"{title}: {expected!r} not in output {shown!r}"


def test_every_python_block_is_collected() -> None:
    titles = [title for title, _ in BLOCKS]
    assert len(BLOCKS) == 21 and len(set(titles)) == len(titles)
    assert set(PRELUDES) <= set(titles) and set(SHOWN) <= set(titles) and set(XFAIL) <= set(titles)


def test_the_protocol_blocks_pipeline_decodes_a_stream_from_its_manifest() -> None:
    from ailib.pipeline import Pipeline

    manifest = ProtocolLoader().get("openai").manifest
    pipeline = Pipeline.from_manifest(manifest)
    assert pipeline.operators[0] == "decoder(sse)" and "frames(done=[DONE])" in repr(pipeline)
    recorded = (
        b'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n\ndata: {"choi'
        b'ces": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    events = pipeline.decode([recorded[:30], recorded[30:77], recorded[77:]])
    text = "".join(e.as_content_delta.content for e in events if e.is_content_delta)
    assert text == "Hello" and events[-1].finish_reason == "stop"
    with pytest.raises(TypeError, match="needs an ailib Manifest"):
        Pipeline.from_manifest({"id": "openai"})  # type: ignore[arg-type]
