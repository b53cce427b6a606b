"""Red-team checks of ailib.batch, ailib.batches, the ailib command, FallbackChain and the
docs pages, found by using them as a careless user and as an attacker would.

Each test failed before its fix, except the FallbackChain and providers-index tests,
which were sound already and guard that behaviour.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ailib.batch import AsyncBatchExecutor, BatchExecutor
from ailib.batch.checkpoint import FORMAT, Checkpoint, item_keys
from ailib.errors import BatchCheckpointError, BatchTimeoutError


def book(path: Path, items: list[Any]) -> Checkpoint:
    return Checkpoint(path, item_keys(items, None), encode=None, decode=None)


def test_a_header_nested_too_deep_is_a_typed_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_bytes(b"[" * 200_000 + b"\n")
    with pytest.raises(BatchCheckpointError, match="line 1"):
        book(path, ["a"]).load()


def test_a_file_without_a_newline_that_is_no_checkpoint_is_refused_not_wiped(
    tmp_path: Path,
) -> None:
    """``checkpoint="data.json"`` naming an existing JSON file (json.dump writes no final
    newline) must not cut the user's file to nothing."""
    path = tmp_path / "data.json"
    precious = json.dumps({"precious": [1, 2, 3]})
    path.write_text(precious)
    with pytest.raises(BatchCheckpointError, match="not an ailib batch checkpoint"):
        BatchExecutor(lambda x: x, checkpoint=path).execute(["a"])
    assert path.read_text() == precious


def test_a_header_cut_by_a_crash_still_resumes(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps({"format": FORMAT})[:10])  # the crash came mid-header
    assert book(path, ["a"]).load() == {}
    result = BatchExecutor(lambda x: x.upper(), checkpoint=path).execute(["a"])
    assert result.results == ["A"]
    assert [json.loads(line)["i"] for line in path.read_text().splitlines()[1:]] == [0]


def test_a_checkpoint_path_that_is_a_directory_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(BatchCheckpointError, match="directory"):
        BatchExecutor(lambda x: x, checkpoint=tmp_path).execute(["a"])


@pytest.mark.parametrize("kind", ["threads", "async"])
def test_two_runs_on_one_checkpoint_at_once_the_second_is_refused(
    kind: str, tmp_path: Path
) -> None:
    """Two runs appending to one file would duplicate work and could write two headers
    (a file no later run can load): the second is refused while the first holds it."""
    path = tmp_path / "run.jsonl"
    first = book(path, ["a", "b"])
    first.load()
    first.start()
    try:
        with pytest.raises(BatchCheckpointError, match="another run"):
            if kind == "threads":
                BatchExecutor(lambda x: x, checkpoint=path).execute(["a", "b"])
            else:

                async def echo(item: str) -> str:
                    return item

                asyncio.run(AsyncBatchExecutor(echo, checkpoint=path).execute(["a", "b"]))
    finally:
        first.close()
    # once the first run let go, the next run works and the file still loads
    result = BatchExecutor(lambda x: x, checkpoint=path).execute(["a", "b"])
    assert result.results == ["a", "b"]


def test_timed_out_items_do_not_pile_up_live_threads() -> None:
    """A hung item past its timeout leaves its thread behind; the executor must not start a
    new thread per item regardless (100k hung items would be 100k threads)."""
    release = threading.Event()
    live: list[int] = []
    lock = threading.Lock()
    running = 0

    def hang(_item: int) -> int:
        nonlocal running
        with lock:
            running += 1
            live.append(running)
        try:
            release.wait(10)
        finally:
            with lock:
                running -= 1
        return 0

    def let_go() -> None:
        time.sleep(1.0)
        release.set()

    threading.Thread(target=let_go, daemon=True).start()
    result = BatchExecutor(hang, max_concurrent=2, timeout=0.02).execute(range(60))
    assert all(isinstance(e, BatchTimeoutError) for e in result.errors[:4])
    # every item ran: timed out, or answered once the hung threads were let go
    for value, error in zip(result.results, result.errors, strict=True):
        assert isinstance(error, BatchTimeoutError) or (error is None and value == 0)
    assert max(live) <= 4, f"{max(live)} item threads alive at once with max_concurrent=2"


def test_the_usage_and_cost_lines_show_a_hostile_currency_escaped() -> None:
    """The currency comes from a manifest (overrides, hot reload): like every other
    manifest text the command prints, its control characters must not reach the terminal."""
    from ailib.cli.session import Totals
    from ailib.types.response import ChatResponse, Cost, Usage

    totals = Totals()
    hostile = "\x1b]0;pwned\x07\x9b2J"
    totals.add(
        ChatResponse(content="", usage=Usage(1, 2, 3), cost=Cost(0.1, 0.2, currency=hostile))
    )
    shown = totals.describe()
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "\\x1b]0;pwned" in shown


def test_debug_tracebacks_show_error_text_escaped_and_never_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--debug prints the traceback: a server's error message in it must not drive the
    terminal (retitle, clear the screen), and the key given with --api-key never shows."""
    import ailib.cli as cli
    from ailib.errors import RemoteError

    key = "sk-redteam-0123456789abcdef"

    def hostile(_args: Any) -> int:
        raise RemoteError(f"\x1b]0;pwned\x07 bad \x9b2J key {key}", code="E1001", status=400)

    monkeypatch.setattr(cli, "_run", hostile)
    status = cli.main(["--debug", "chat", "--model", "mock/echo", "--api-key", key, "hi"])
    err = capsys.readouterr().err
    assert status == 1  # a provider's refusal (HTTP 400): exit 1, as documented
    assert "Traceback" in err and "\\x1b]0;pwned" in err
    assert "\x1b" not in err and "\x07" not in err and "\x9b" not in err
    assert key not in err


@pytest.mark.parametrize("encoded", [{1, 2}, float("nan"), object()])
def test_an_encode_that_returns_no_json_data_is_a_typed_checkpoint_error(
    encoded: Any, tmp_path: Path
) -> None:
    executor = BatchExecutor(
        lambda x: x,
        checkpoint=tmp_path / "run.jsonl",
        encode=lambda _value: encoded,
        decode=lambda data: data,
    )
    with pytest.raises(BatchCheckpointError, match="encode"):
        executor.execute(["a"])


def test_the_thread_executor_refuses_an_async_function() -> None:
    """An ``async def`` handed to BatchExecutor never ran: its 'results' were un-awaited
    coroutines counted as successes."""
    from ailib.errors import ConfigurationError

    async def ask(item: str) -> str:
        return item

    with pytest.raises(ConfigurationError, match="AsyncBatchExecutor"):
        BatchExecutor(ask)
    result = BatchExecutor(lambda item: ask(item)).execute(["a", "b"])  # hidden behind a lambda
    assert result.successful_count == 0
    assert all("AsyncBatchExecutor" in str(e) for e in result.errors)


def test_the_async_executor_stops_at_the_first_plain_result_of_a_sync_function() -> None:
    """A plain function handed to AsyncBatchExecutor ran for every item (each a paid call,
    blocking the loop) and every result was then thrown away as a bare TypeError."""
    from ailib.errors import ConfigurationError

    calls: list[int] = []

    def ask(item: int) -> int:
        calls.append(item)
        return item * 2

    with pytest.raises(ConfigurationError, match="BatchExecutor"):
        asyncio.run(AsyncBatchExecutor(ask, max_concurrent=1).execute(range(50)))
    assert calls == [0]


# ---- FallbackChain: what falls back, what surfaces (checked sound; kept as guards) ------


def _chain_errors() -> dict[str, BaseException]:
    from ailib.errors import RemoteError

    return {
        "a": RemoteError("overloaded", code="E3002", status=529),
        "b": RemoteError("bad request", code="E1001", status=400),
        "c": RemoteError("bad key", code="E1002", status=401),
        "d": RemoteError("still overloaded", code="E3002", status=503),
        "e": ValueError("a bug in the operation"),
        "k": KeyboardInterrupt(),
    }


def _run_chain(kind: str, targets: list[str]) -> tuple[Any, list[str], Any]:
    """(outcome or raised exception, targets tried, last_hops) on the sync or async chain."""
    from ailib.resilience.chain import AsyncFallbackChain, FallbackChain

    errors = _chain_errors()
    tried: list[str] = []

    def operation(target: str) -> str:
        tried.append(target)
        if target in errors:
            raise errors[target]
        return f"answer from {target}"

    async def async_operation(target: str) -> str:
        return operation(target)

    chain: Any = FallbackChain(targets) if kind == "sync" else AsyncFallbackChain(targets)
    try:
        if kind == "sync":
            outcome: Any = chain.execute(operation)
        else:
            outcome = asyncio.run(chain.execute(async_operation))
    except BaseException as exc:  # KeyboardInterrupt too: what the chain let through
        outcome = exc
    return outcome, tried, chain.last_hops


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_chain_falls_back_on_overload_and_auth_but_not_on_a_bad_request(kind: str) -> None:
    outcome, tried, hops = _run_chain(kind, ["a", "c", "ok"])
    assert outcome == "answer from ok" and tried == ["a", "c", "ok"]
    assert [h.code for h in hops] == ["E3002", "E1002"]
    outcome, tried, hops = _run_chain(kind, ["b", "ok"])  # HTTP 400: the request is wrong
    assert getattr(outcome, "code", None) == "E1001" and tried == ["b"] and hops == []
    outcome, tried, _ = _run_chain(kind, ["e", "ok"])  # not an ailib error: a bug, raised
    assert isinstance(outcome, ValueError) and tried == ["e"]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_chain_all_failing_raises_the_last_error_and_records_the_others(kind: str) -> None:
    outcome, tried, hops = _run_chain(kind, ["a", "d"])
    assert getattr(outcome, "message", None) == "still overloaded" and tried == ["a", "d"]
    assert [h.code for h in hops] == ["E3002"]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_chain_lets_keyboard_interrupt_through_without_falling_back(kind: str) -> None:
    outcome, tried, hops = _run_chain(kind, ["a", "k", "ok"])
    assert isinstance(outcome, KeyboardInterrupt) and tried == ["a", "k"]
    assert [h.code for h in hops] == ["E3002"]


# ---- docs: the providers index page (not covered by the hostile provider-page tests) -----


def test_the_providers_index_shows_hostile_manifest_values_as_text() -> None:
    from codegen.docs import docs_env, plan_page

    hostile = "<script>alert(1)</script> | [x](javascript:alert(1)) *em* `c`\n\x1b[2J"
    data = {
        "id": "evil",
        "name": hostile,
        "dialect": hostile,
        "endpoint": {"base_url": "https://x.example", "auth": {"token_env": hostile}},
        "capabilities": {"required": [hostile], "optional": [hostile]},
        "metadata": {"models": {hostile: {"context_window": 1}}},
    }
    root = Path(__file__).resolve().parents[2]
    plan = plan_page(data, "manifests/providers/evil.yaml", [hostile])
    page = docs_env(root).get_template("docs_providers_index.md.jinja").render(providers=[plan])
    body = page.split("\n", 1)[1]  # the generated-page comment is the template's own HTML
    shown = re.sub(r"`[^`\n]*`", "", body)  # the template's own inline code (`<id>`)
    assert set(re.findall(r"<(/?[a-zA-Z]+)", shown)) <= {"code", "/code"}
    assert "<script" not in body and "](javascript" not in body and "\x1b" not in body
    row = next(line for line in body.splitlines() if line.startswith("| [evil]"))
    header = next(line for line in body.splitlines() if line.startswith("| id |"))
    assert row.count("|") == header.count("|")


# ---- the ailib command: --tools paths ------------------------------------------------------


def test_a_tools_path_that_is_a_directory_or_missing_is_a_usage_error_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import ailib.cli as cli

    status = cli.main(["chat", "--model", "mock/echo", "--tools", str(tmp_path), "hi"])
    err = capsys.readouterr().err
    assert status == 2 and "is a directory" in err and err.count("\n") == 1
    missing = tmp_path / "nope.py"
    status = cli.main(["chat", "--model", "mock/echo", "--tools", str(missing), "hi"])
    err = capsys.readouterr().err
    assert status == 2 and "no such file" in err and err.count("\n") == 1


def test_an_answer_with_a_lone_surrogate_prints_instead_of_crashing() -> None:
    """A JSON escape such as "\\ud800" (a stream that split an emoji) decodes to a lone
    surrogate, which no UTF-8 terminal can take: the command died with an internal
    error and lost the answer. It is shown escaped, like a control character."""
    import io

    from ailib.cli.terminal import clean, json_line

    shown = clean("bad \ud800 pair \udcff", keep_lines=True)
    assert shown == "bad \\ud800 pair \\udcff"
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # strict, as a terminal
    out.write(shown)
    line = json_line({"content": "bad \ud800"})
    out.write(line)
    assert json.loads(line) == {"content": "bad \ud800"}


# ---- collectors ----------------------------------------------------------------------------


def test_a_collector_handler_raising_base_exception_still_resolves_every_future() -> None:
    """A handler that raises SystemExit (or KeyboardInterrupt) on the pool thread left its
    items' futures pending forever: ``add()`` never returned."""
    from ailib.batch import BatchCollector

    def handler(items: list[str]) -> list[str]:
        raise SystemExit(3)

    with BatchCollector(handler, max_batch_size=2, max_wait=0.01) as collector:
        futures = [collector.submit("a"), collector.submit("b"), collector.submit("c")]
        for future in futures:
            assert isinstance(future.exception(timeout=10), SystemExit)


# ---- provider batches ----------------------------------------------------------------------


def _gemini_operation(count: str) -> dict[str, Any]:
    return {
        "name": "batches/abc123",
        "metadata": {
            "state": "BATCH_STATE_RUNNING",
            "batchStats": {"requestCount": count, "successfulRequestCount": "1"},
        },
    }


@pytest.mark.parametrize("count", ["²", "1²", "٣"])
def test_a_count_of_unicode_digits_is_read_or_zero_never_a_crash_sync(count: str) -> None:
    """str.isdigit() is true for "²", which int() refuses: retrieve() died with a bare
    ValueError on a server's count."""
    respx = pytest.importorskip("respx", reason="respx is a dev dependency")
    from ailib import AiClient

    base = "http://127.0.0.1:9/v1beta"
    with respx.mock(base_url=base, assert_all_called=False) as router:
        router.get("/batches/abc123").respond(json=_gemini_operation(count))
        with AiClient.create("gemini/gemini-2.0-flash", base_url=base, api_key="g") as client:
            job = client.batches.retrieve("abc123")
    assert job.counts.succeeded == 1 and job.counts.total in (0, 3)


@pytest.mark.parametrize("count", ["²", "1²", "٣"])
async def test_a_count_of_unicode_digits_is_read_or_zero_never_a_crash_async(count: str) -> None:
    respx = pytest.importorskip("respx", reason="respx is a dev dependency")
    from ailib import AsyncAiClient

    base = "http://127.0.0.1:9/v1beta"
    with respx.mock(base_url=base, assert_all_called=False) as router:
        router.get("/batches/abc123").respond(json=_gemini_operation(count))
        client = await AsyncAiClient.create("gemini/gemini-2.0-flash", base_url=base, api_key="g")
        async with client:
            job = await client.batches.retrieve("abc123")
    assert job.counts.succeeded == 1 and job.counts.total in (0, 3)


def test_session_totals_never_add_up_different_currencies() -> None:
    """`/model` from a USD-priced model to a CNY-priced one (doubao) then `/cost`: the
    amounts were summed and the sum labelled with the last currency."""
    from ailib.cli.session import Totals
    from ailib.types.response import ChatResponse, Cost, Usage

    totals = Totals()
    totals.add(ChatResponse("a", usage=Usage(1, 1, 2), cost=Cost(1.0, 1.0)))
    totals.add(ChatResponse("b", usage=Usage(1, 1, 2), cost=Cost(5.0, 5.0, currency="CNY")))
    totals.add(ChatResponse("c", usage=Usage(1, 1, 2), cost=Cost(0.5, 0.5)))
    shown = totals.describe()
    assert "$3.000000" in shown and "10.000000 CNY" in shown, shown
    assert "13" not in shown


BAD_WAITS = [
    {"poll_interval": float("nan")},  # time.sleep(nan): a bare ValueError after a poll
    {"poll_interval": float("inf")},  # polls once, then sleeps forever
    {"poll_interval": "30"},  # a bare TypeError
    {"poll_interval": 1.0, "timeout": float("nan")},  # never times out
]


@pytest.mark.parametrize("options", BAD_WAITS)
def test_wait_refuses_poll_and_timeout_values_that_are_not_finite_seconds_sync(
    options: dict[str, Any],
) -> None:
    from ailib import AiClient
    from ailib.errors import BatchJobError

    client = AiClient.create("openai/gpt-4o", base_url="http://127.0.0.1:9/v1", api_key="k")
    with client, pytest.raises(BatchJobError, match="poll_interval") as caught:
        client.batches.wait("batch_1", **options)
    assert caught.value.code == "E1001"


@pytest.mark.parametrize("options", BAD_WAITS)
async def test_wait_refuses_poll_and_timeout_values_that_are_not_finite_seconds_async(
    options: dict[str, Any],
) -> None:
    from ailib import AsyncAiClient
    from ailib.errors import BatchJobError

    client = await AsyncAiClient.create(
        "openai/gpt-4o", base_url="http://127.0.0.1:9/v1", api_key="k"
    )
    async with client:
        with pytest.raises(BatchJobError, match="poll_interval") as caught:
            await client.batches.wait("batch_1", **options)
    assert caught.value.code == "E1001"
