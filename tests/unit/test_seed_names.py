"""The seed's names, where the seed puts them (issue 11 §1).

Every ``from ai_lib_python.X import ...`` in the seed README (the copy under
tests/fixtures/seed, with its provenance line) and every class its "API Reference" lists
is importable from the matching ailib module (``ai_lib_python`` -> ``ailib``). Where the
seed's class is async-only, our pairing must exist too (``AiClient`` / ``AsyncAiClient``).
Package ``__init__``s stay lazy: ``import ailib`` imports none of the heavy modules.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SEED = Path(__file__).parents[1] / "fixtures" / "seed" / "ai-lib-python-README.md"

#: "API Reference" section -> the ailib module its classes are imported from
SECTION_MODULES = {
    "Core Classes": "ailib",
    "Resilience Classes": "ailib.resilience",
    "Routing Classes": "ailib.routing",
    "Telemetry Classes": "ailib.telemetry",
    "Embedding Classes": "ailib.embeddings",
    "Token Classes": "ailib.tokens",
    "Cache Classes": "ailib.cache",
    "Batch Classes": "ailib.batch",
    "Plugin Classes": "ailib.plugins",
    "Transport Classes": "ailib.transport",
    "Cancellation Classes": "ailib.client",  # the seed's cancellation example imports from .client
    "Error Classes": "ailib.errors",
}

#: seed classes that are async-only there -> our async twin (both names must exist)
ASYNC_PAIRS = {
    ("ailib", "AiClient"): "AsyncAiClient",
    ("ailib.embeddings", "EmbeddingClient"): "AsyncEmbeddingClient",
    ("ailib.batch", "BatchExecutor"): "AsyncBatchExecutor",
    ("ailib.batch", "BatchCollector"): "AsyncBatchCollector",
    ("ailib.routing", "ModelArray"): "AsyncModelArray",
    ("ailib.resilience", "FallbackChain"): "AsyncFallbackChain",
    ("ailib.resilience", "RateLimiter"): "AsyncRateLimiter",
    ("ailib.resilience", "Backpressure"): "AsyncBackpressure",
}

#: names the seed's examples use without importing them (results of its calls)
USED_NOT_IMPORTED = [("ailib.batch", "BatchResult")]

#: the seed's name -> ours, where the seed's name is an alias kept for its users
ALIASES = {
    ("ailib", "StreamingEvent"): "StreamEvent",
    ("ailib.telemetry", "AiLibLogger"): "StructuredLogger",
    ("ailib.routing", "ModelSelectionStrategy"): "Selector",
}

_IMPORT = re.compile(r"^from ai_lib_python((?:\.\w+)*) import (\([^)]*\)|[^\n]*)", re.MULTILINE)
_LISTED = re.compile(r"^- \*\*`(\w+)`\*\*", re.MULTILINE)


def seed_text() -> str:
    text = SEED.read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    assert first.startswith("<!-- Provenance:"), "the fixture starts with its provenance line"
    return rest


def imported_names(text: str) -> list[tuple[str, str]]:
    """(ailib module, name) for every ``from ai_lib_python.X import ...`` in the text."""
    out = []
    for match in _IMPORT.finditer(text):
        module = "ailib" + match.group(1)
        names = re.split(r"[\s,()]+", match.group(2).split("#")[0])
        out += [(module, name) for name in names if name]
    return out


def listed_names(text: str) -> list[tuple[str, str]]:
    """(ailib module, name) for every class the "API Reference" section lists."""
    reference = text[text.index("## API Reference") :]
    reference = reference[: reference.index("\n## ", 1)]
    out = []
    for section in reference.split("\n### ")[1:]:
        title, _, body = section.partition("\n")
        module = SECTION_MODULES[title.strip()]  # a new section needs its module here
        out += [(module, name) for name in _LISTED.findall(body)]
    return out


def seed_names() -> list[tuple[str, str]]:
    text = seed_text()
    names = imported_names(text) + listed_names(text)
    names += [(module, twin) for (module, _), twin in ASYNC_PAIRS.items()]
    names += USED_NOT_IMPORTED
    return sorted(set(names))


NAMES = seed_names()


def test_the_copy_is_the_seed_and_every_name_is_collected() -> None:
    shared = Path(__file__).parents[3] / "shared" / "seed" / "ai-lib-python-README.md"
    if shared.exists():
        assert seed_text() == shared.read_text(encoding="utf-8")
    text = seed_text()
    assert len(imported_names(text)) >= 45 and len(listed_names(text)) >= 45
    for expected in [
        ("ailib.protocol", "ProtocolLoader"),
        ("ailib", "StreamingEvent"),
        ("ailib.transport", "ConnectionPool"),
        ("ailib.transport", "PoolConfig"),
        ("ailib.batch", "BatchExecutor"),
        ("ailib.batch", "BatchConfig"),
        ("ailib.batch", "BatchCollector"),
        ("ailib.batch", "BatchResult"),
        ("ailib.batch", "AsyncBatchExecutor"),
        ("ailib.client", "create_cancel_pair"),
        ("ailib.errors", "RemoteError"),
    ]:
        assert expected in NAMES


@pytest.mark.parametrize(("module", "name"), NAMES, ids=[f"{m}.{n}" for m, n in NAMES])
def test_seed_name_is_importable(module: str, name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {module} import {name}", namespace)  # the statement users copy
    value = namespace[name]
    assert value is getattr(importlib.import_module(module), name)
    ours = ALIASES.get((module, name))
    if ours is not None:
        assert value is getattr(importlib.import_module(module), ours)
    package = importlib.import_module(module)
    assert name in dir(package) or name in getattr(package, "__all__", ())  # discoverable


def test_async_pairs_are_different_classes() -> None:
    for (module, name), twin in ASYNC_PAIRS.items():
        package = importlib.import_module(module)
        sync, asynchronous = getattr(package, name), getattr(package, twin)
        assert sync is not asynchronous, f"{module}.{name} and {twin} are one class"


def test_unknown_names_are_attribute_errors() -> None:
    for module in ("ailib", "ailib.protocol", "ailib.resilience", "ailib.telemetry"):
        with pytest.raises(AttributeError, match="NoSuchName"):
            _ = importlib.import_module(module).NoSuchName


# ---- import ailib stays light -----------------------------------------------------------

HEAVY = (
    "httpx",
    "httpcore",
    "jsonschema",
    "ruamel",
    "jmespath",
    "tenacity",
    "asyncio",
    "ailib.runtime",
    "ailib.providers",
    "ailib.protocol.hot",
    "ailib.protocol.loader",
)
LIGHT_PACKAGES = (
    "ailib",
    "ailib.protocol",
    "ailib.resilience",
    "ailib.telemetry",
    "ailib.routing",
    "ailib.client",
    "ailib.cache",
    "ailib.plugins",
)


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(out.stdout))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_importing_the_packages_imports_nothing_heavy() -> None:
    modules = _modules_after("\n".join(f"import {name}" for name in LIGHT_PACKAGES))
    assert _heavy(modules) == []


def test_a_seed_alias_loads_only_its_own_module() -> None:
    modules = _modules_after("import ailib\nailib.StreamingEvent\nailib.Message")
    assert "ailib.types.events" in modules
    assert _heavy(modules) == []
