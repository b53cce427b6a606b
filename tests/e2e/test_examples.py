"""Every script in examples/ runs against the local mock server and prints what it shows.

Each script runs as a subprocess, as a user would run it, with every provider key removed
from the environment, so it starts the mock server itself; its first line must say so.
The scripts run in parallel once per session (a thread pool of subprocesses); each test
then checks one script's result against the fragments its output must hold.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
#: the seed README (a copy with its provenance line; the shared original when not there yet)
SEED_README = next(
    (
        p
        for p in (
            ROOT / "tests" / "fixtures" / "seed" / "ai-lib-python-README.md",
            ROOT.parent / "shared" / "seed" / "ai-lib-python-README.md",
        )
        if p.exists()
    ),
    None,
)

#: the seed README's usage sections, each with its pair of scripts (<name>_sync/_async.py)
SEED_SECTIONS = {
    "Basic Usage": "basic",
    "Streaming": "streaming",
    "With Messages List": "messages",
    "Tool Calling (Function Calling)": "tools",
    "Multimodal (Images)": "multimodal",
    "Production-Ready Configuration": "production_ready",
    "Custom Resilience Configuration": "custom_resilience",
    "Context Manager": "context_manager",
    "Token Counting and Cost Estimation": "tokens_cost",
    "Metrics and Telemetry": "telemetry",
    "Batch Processing": "batch",
    "Connection Pooling": "connection_pool",
    "Model Routing & Selection": "routing",
    "Stream Cancellation": "stream_cancellation",
    "User Feedback Collection": "feedback",
    "Embeddings": "embeddings",
    "Response Caching": "caching",
    "Plugin System": "plugins",
    "Hot Reload": "hot_reload",
}

#: sections of our README with a topic of their own (the others merge with a seed topic)
OUR_SECTIONS = {
    "### Responses": "responses",
    "### Tools, multi-turn": "tools",
    "### Images": "multimodal",
    "### Audio": "audio",
    "### Typed provider modules": "typed_providers",
    "### Events": "events",
    "### Errors": "errors",
    "### Structured output": "structured_output",
    "### Tokens and cost": "tokens_cost",
    "### Response cache": "caching",
    "## Production: one request pipeline": "production_ready",
    "### Stream cancellation": "stream_cancellation",
    "### Plugins, hooks and middleware": "plugins",
    "### Shared state across processes": "shared_state",
    "### Faults survived": "mock_server",
    "## Local mock provider": "mock_server",
    "## Telemetry": "telemetry",
    "## Model routing": "routing",
    "## Batch": "batch",
    "### Provider batch APIs": "provider_batches",
    "### Embeddings": "embeddings",
    "## Overrides and hot reload": "hot_reload",
}

ECHO = "echo: "
#: fragments each script's output must contain, in this order
EXPECTED: dict[str, list[str]] = {
    "basic_sync": [ECHO + "Hello! What's 2+2?", "finish=stop tokens="],
    "basic_async": [ECHO + "Hello! What's 2+2?", "finish=stop tokens="],
    "streaming_sync": [ECHO + "Tell me a short story.", "finish=stop output_tokens="],
    "streaming_async": [ECHO + "Tell me a short story."],
    "messages_sync": [ECHO + "How do I read a file in Python?", ECHO + "Thanks!"],
    "messages_async": [ECHO + "How do I read a file in Python?", ECHO + "Thanks!"],
    "tools_sync": [
        "Call get_weather: {'location': 'Tokyo'}",
        "The tool says: {",
        '"temperature": 21',
    ],
    "tools_async": [
        "Call get_weather: {'location': 'Tokyo'}",
        "The tool says: {",
        '"temperature": 21',
    ],
    "multimodal_sync": [ECHO + "What's in this image?", ECHO + "Describe this image:"],
    "multimodal_async": [ECHO + "What's in this image?", ECHO + "Describe this image:"],
    "production_ready_sync": [
        "Pipeline(per call: signals -> fallback[anthropic/claude-sonnet-4-5]",
        "served by openai/gpt-4o",
        "Circuit state: closed",
        "In-flight requests: 0",
        "calls=1 successes=1",
    ],
    "production_ready_async": [
        "AsyncPipeline(per call: signals -> fallback[anthropic/",
        ECHO + "Hi #2 | served by openai/gpt-4o",
        "Circuit state: closed",
        "calls=3 successes=3",
    ],
    "custom_resilience_sync": [
        "retry(max_retries=5, min_delay_ms=1000, max_delay_ms=30000)",
        "rate_limit(10/s",
        ECHO + "Hello",
        "Circuit state: closed",
    ],
    "custom_resilience_async": [
        "backpressure(max_inflight=20",
        "circuit_breaker(threshold=5, cooldown=30s)",
        ECHO + "Hello",
    ],
    "context_manager_sync": [ECHO + "Hello!", "closed"],
    "context_manager_async": [ECHO + "Hello!", "closed"],
    "tokens_cost_sync": [
        "Token count: 6",
        "Estimated cost: $0.0075",
        "Input: $0.0025/1K tokens",
        "Context window: 128000 tokens",
        "cost of this call: $0.0000",
        "counted before sending: TokenCount(",
    ],
    "tokens_cost_async": [
        "Prompt tokens (local count):",
        "context 128000",
        "count_tokens: TokenCount(",
        "cost of this call: $0.0000",
        "Estimated cost: $",
    ],
    "telemetry_sync": [
        "health: healthy",
        "Total requests: 3",
        "P99 latency:",
        'ailib_requests_total{provider="openai",model="gpt-4o",operation="stream",status="success"} 1',
        "traced",
    ],
    "telemetry_async": [
        "health: healthy",
        "Total requests: 2",
        'ailib_tokens_total{provider="openai",model="gpt-4o",operation="chat",type="input"}',
    ],
    "routing_sync": [
        "Code models:",
        "Cheapest: gpt-4o-mini",
        "Best quality:",
        "Recommended for chat:",
        ECHO + "Hello again",
        "|gpt-4o-mini: calls=1 circuit=closed",
    ],
    "routing_async": [
        "models call tools; cheapest:",
        ECHO + "Question 1 | served by openai/gpt-4o-mini",
        "|gpt-4o: calls=2 failures=0",
    ],
    "stream_cancellation_sync": [ECHO + "Write a", "[Cancelled]", "E4002: kept 'echo: Write a'"],
    "stream_cancellation_async": ["[Cancelled]", "E4002 (CancelReason.USER_REQUEST): kept"],
    "feedback_sync": [
        "answer: " + ECHO + "Suggest a name for a cat (request req_",
        "feedback events: 3",
        "RatingFeedback for req_",
        "ThumbsFeedback for req_",
    ],
    "feedback_async": ["feedback events: 3", "RatingFeedback for req_", "ThumbsFeedback for req_"],
    "embeddings_sync": ["Dimensions: ", "Text '", "similarity: ", "self-similarity: 1.0000"],
    "embeddings_async": ["Dimensions: ", "batch: 4 vectors of 256", "similarity: "],
    "caching_sync": [
        ECHO + "Capital of France?",
        ECHO + "Capital of France?",
        "by hand, now cached: True",
        "2 hit(s), 3 miss(es)",
    ],
    "caching_async": [
        "first stream (miss): " + ECHO + "Tell me a story",
        "second stream (hit): " + ECHO + "Tell me a story",
        "by hand, now cached: True",
        "Hit ratio: ",
    ],
    "plugins_sync": [
        "plugins[logging] + hooks[log] + middleware[Timer]",
        "Request to gpt-4o: 1 message(s)",
        "Starting gpt-4o",
        "timer: call took",
        "Response received: 'echo: Hello'",
    ],
    "plugins_async": [
        "Request to gpt-4o: {'messages': []}",
        "Request to gpt-4o: ChatRequest(",
        "Starting gpt-4o",
        "Response received: 'echo: Hello'",
    ],
    "hot_reload_sync": [
        "input cost at $2.5/1M: $0.00000250",
        "input cost at $250/1M: $0.00025000",
        "after a bad edit: $0.00025000 (last good manifest kept)",
        "loader.errors: ['openai']",
    ],
    "hot_reload_async": [
        "output cost at $10/1M: $0.00002000",
        "output cost at $1000/1M: $0.00200000",
    ],
    "responses_sync": [
        "content: 'echo: Name a colour'",
        "finish_reason: stop (provider said 'stop')",
        "usage: 3 in + 4 out = 7",
        "request_id: req_",
        "raw keys: ['choices'",
    ],
    "responses_async": [
        "call: 'echo: Name a colour' finish=stop",
        "stream: 'echo: Name a fruit' finish=stop",
        "tool_calls=[] reasoning=None refusal=None",
    ],
    "audio_sync": [
        ECHO + "What is said? [heard wav audio, 0.50 s]",
        "bytes of wav",
        "said: 'echo: What is said?",
        "audio chunks, joined == final: True",
    ],
    "audio_async": [
        "spoken answer: ",
        "transcript: 'echo: What is said? [heard wav audio",
        ECHO + "Say it slower",
    ],
    "typed_providers_sync": [ECHO + "Hi", "streamed: " + ECHO + "Hi again"],
    "typed_providers_async": [ECHO + "Hi", ECHO + "Hi again"],
    "events_sync": [
        "tool call started: get_weather",
        "arguments so far: {'city': 'Paris'}",
        "tool call ended: get_weather({'city': 'Paris'})",
        "end: tool_calls",
        "usage: ",
    ],
    "events_async": ["[content] echo:", "[content]  blue?", "[end] stop", "final: " + ECHO],
    "errors_sync": [
        "E1001 invalid_request: ParameterError, retryable=False",
        "E1001 invalid_request: InvalidRequestError",
        "E1004 not_found: status=404, retryable=False",
        "E1001 invalid_request: ConfigurationError",
    ],
    "errors_async": [
        "answer: " + ECHO + "Hello",
        "failed: E1004 not_found (status 404",
        "E1001 invalid_request: InsecureTransportError",
    ],
    "structured_output_sync": [
        "parsed: Weather(city=",
        "partial: {",
        "streamed: Weather(city=",
        "schema sent: ['city', 'conditions', 'temperature_c']",
        "$.temperature_c",
    ],
    "structured_output_async": ["min, 1 ingredient(s)", "json_mode parsed:"],
    "shared_state_sync": [
        "state store: memory",
        "worker_a: E3001 TransportError",
        "worker_b: E3002 CircuitOpenError",
        "breaker seen from worker_b: open",
        "healthy target: " + ECHO + "Hello",
    ],
    "shared_state_async": [
        "async calls: ['E3001 TransportError', 'E3001 TransportError']",
        "sync client: E3002 CircuitOpenError",
        "breaker seen from the sync client: open",
    ],
    "mock_server_sync": [
        "after one retry | retries: 1",
        ECHO + "Hello | served by anthropic/claude-sonnet-4-5",
        "E3001 StreamInterruptedError, partial: 'one'",
        "'/v1/messages', '/v1/chat/completions']",
    ],
    "mock_server_async": [
        "E3003 TransportError",
        "E3001 RemoteError",
        "E3002 CircuitOpenError",
        "breaker: open",
        "model=gpt-4o messages=[{'role': 'user', 'content': 'Hello'}]",
    ],
    "batch_sync": [
        "Successful: 3",
        "Failed: 0",
        ECHO + "What is AI?",
        ECHO + "What is async?",
        "['echo: What is AI?', 'echo: What is Python?', 'echo: What is async?']",
        "handler calls: ",
    ],
    "batch_async": [
        "Successful: 3",
        "Failed: 0",
        ECHO + "What is Python?",
        "3/3 done",
        "with BatchConfig: 3 of 3",
    ],
    "connection_pool_sync": [
        "['echo: Q0', 'echo: Q1', 'echo: Q2', 'echo: Q3', 'echo: Q4', 'echo: Q5']",
        "raw POST: 200",
        "requests: 7, connections created",
        "at most 4 connections: True",
    ],
    "connection_pool_async": [
        "['echo: Hello', 'echo: Hello', 'echo: Hello', 'echo: Hello']",
        "raw POST: 200",
        "Active connections: 0",
        "requests: 5, connections created",
    ],
    "provider_batches_sync": [
        "created msgbatch_",
        "status: completed, completed: True",
        "succeeded=2",
        "q1: " + ECHO + "What is 2+2?",
        "q2: " + ECHO + "Name a prime number",
    ],
    "provider_batches_async": [
        "(openai): validating",
        "status: completed",
        "succeeded=3",
        "q0: " + ECHO + "Define word #0",
        "q2: " + ECHO + "Define word #2",
    ],
}

_KEY_VARS = re.compile(r"_(API_KEY|API_TOKEN|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)$")
#: the first line: the mock server was started (the mock_server scripts always start one)
MOCK_LINE = re.compile(
    r"^(no [A-Z_]+_API_KEY: )?using the local mock server at http://127\.0\.0\.1:\d+\b"
)


def scripts() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def _environment(scratch: Path) -> dict[str, str]:
    """This environment without provider keys or ailib settings (no user manifests).

    Bytecode is cached under ``scratch`` (not in the tree), so the scripts after the
    first do not compile ailib again (PYTHONDONTWRITEBYTECODE would make each one pay).
    """
    env = {k: v for k, v in os.environ.items() if not _KEY_VARS.search(k)}
    for name in ("AI_PROTOCOL_PATH", "AI_LIB_STATE_URL", "AI_LIB_RPS", "AI_LIB_MAX_INFLIGHT"):
        env.pop(name, None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    env["XDG_CONFIG_HOME"] = str(scratch / "config")
    return env


_SECONDS: dict[str, float] = {}


def _run(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    try:
        return subprocess.run(
            [sys.executable, str(EXAMPLES / f"{name}.py")],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=str(ROOT),
        )
    finally:
        _SECONDS[name] = time.monotonic() - started


@pytest.fixture(scope="session")
def example_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Each example's finished run; all started at once over a few worker threads."""
    env = _environment(tmp_path_factory.mktemp("examples"))
    started = time.monotonic()
    first, *rest = names = scripts()
    runs = {first: _run(first, env)}  # fills the bytecode cache the others then read
    with ThreadPoolExecutor(max_workers=max(2, min(8, (os.cpu_count() or 2) * 3))) as pool:
        runs.update(zip(rest, pool.map(lambda name: _run(name, env), rest), strict=True))
    slowest = sorted(_SECONDS, key=_SECONDS.__getitem__, reverse=True)[:3]
    print(
        f"\n{len(names)} examples ran in {time.monotonic() - started:.1f} s; slowest: "
        + ", ".join(f"{name} {_SECONDS[name]:.1f} s" for name in slowest)
    )
    return runs


@pytest.mark.parametrize("name", scripts())
def test_example_runs_against_the_mock(
    name: str, example_runs: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    run = example_runs[name]
    assert run.returncode == 0, f"{name} failed:\n{run.stdout}\n{run.stderr}"
    lines = run.stdout.splitlines()
    assert lines and MOCK_LINE.match(lines[0]), f"first line of {name}: {lines[:1]}"
    position = 0
    for fragment in EXPECTED[name]:
        found = run.stdout.find(fragment, position)
        assert found >= 0, f"{name}: {fragment!r} missing (after offset {position}):\n{run.stdout}"
        position = found + len(fragment)


def test_every_example_has_expected_output() -> None:
    assert sorted(EXPECTED) == scripts()


def test_every_section_has_a_sync_and_an_async_script() -> None:
    seed = SEED_README.read_text(encoding="utf-8") if SEED_README is not None else None
    ours = (ROOT / "README.md").read_text(encoding="utf-8")
    if seed is not None:  # every seed section holding Python code is in the table
        sections = re.split(r"^(?=#{1,3} )", seed, flags=re.M)
        with_code = {
            part.splitlines()[0][4:].strip()
            for part in sections
            if part.startswith("### ") and "```python" in part
        }
        assert with_code == set(SEED_SECTIONS), with_code ^ set(SEED_SECTIONS)
    for heading in OUR_SECTIONS:
        assert re.search(rf"^{re.escape(heading)}$", ours, re.M), heading
    missing = [
        f"{topic}_{form}.py"
        for topic in {*SEED_SECTIONS.values(), *OUR_SECTIONS.values()}
        for form in ("sync", "async")
        if not (EXAMPLES / f"{topic}_{form}.py").exists()
    ]
    assert not missing, f"sections without their example: {missing}"
