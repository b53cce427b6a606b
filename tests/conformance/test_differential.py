"""Differential: compiled provider modules vs the runtime interpretation of their manifests.

For every built-in manifest, ``ailib.providers.<id>.SPEC`` (generated code) and
``ProviderSpec.interpreted(SPEC.manifest)`` (the interpreter) must be indistinguishable:
the same emissions for every frame of every recorded corpus body, the same parameter
encoding, the same error tables, and the same events / ChatResponse through the full
engine. A seeded random-frame test covers inputs the corpus does not.
"""

from __future__ import annotations

import importlib
import json
import random
from typing import Any

import attrs
import pytest

from ailib.dialects import ChatRequest
from ailib.errors import RemoteError
from ailib.pipeline.decoders import JsonArrayDecoder, SseDecoder
from ailib.protocol.expr import Compare, lookup, node_paths, parse_path, parse_predicate
from ailib.runtime._async_engine import AsyncEngine
from ailib.runtime._sync_engine import SyncEngine
from ailib.runtime.classify import ErrorTables, classify
from ailib.runtime.spec import ProviderSpec
from ailib.types.messages import Message

from .conftest import (
    BASE_URL,
    BUILTIN_PROVIDERS,
    CASES,
    DIALECT_SPECS,
    Recorder,
    body_bytes,
    is_error,
    is_stream,
    model_of,
    response_headers,
)


def compiled_spec(provider: str) -> ProviderSpec:
    spec = importlib.import_module(f"ailib.providers.{provider}").SPEC
    assert isinstance(spec, ProviderSpec) and spec.compiled
    return spec


COMPILED = {p: compiled_spec(p) for p in BUILTIN_PROVIDERS}
INTERPRETED = {p: ProviderSpec.interpreted(s.manifest) for p, s in COMPILED.items()}
CASE_PARAMS = [pytest.param(c, id=c["id"]) for c in CASES]


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    """A call's result, or the type of the exception it raised (both sides must agree)."""
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # the exception type is what is compared
        return ("raised", type(exc).__name__)


# ---- frames of the recorded bodies --------------------------------------------------------


def decoded_frames(case: dict[str, Any]) -> list[Any]:
    """Decode a recorded body with ailib's own decoders, as the runtime does."""
    data = body_bytes(case)
    fmt = case["response"]["body_format"]
    if fmt == "sse":
        sse = SseDecoder()
        events = sse.feed(data) + sse.flush()
        return [json.loads(e.data) for e in events if e.data and e.data != "[DONE]"]
    if fmt == "json_array":
        arr = JsonArrayDecoder()
        return arr.feed(data) + arr.flush()
    return [json.loads(data)]


def test_every_case_decodes_to_frames() -> None:
    for case in CASES:
        frames = decoded_frames(case)
        assert frames and all(type(f) is dict for f in frames), case["id"]


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_event_maps_agree_on_corpus_frames(case: dict[str, Any]) -> None:
    """map_stream and map_response, compiled vs interpreted, on every frame of every case."""
    frames = decoded_frames(case)
    for provider in BUILTIN_PROVIDERS:
        comp, interp = COMPILED[provider], INTERPRETED[provider]
        for n, frame in enumerate(frames):
            where = f"{provider} frame {n}"
            assert outcome(comp.map_stream, frame) == outcome(interp.map_stream, frame), where
            assert outcome(comp.map_response, frame) == outcome(interp.map_response, frame), where


def test_event_maps_cover_the_corpus() -> None:
    """The differential is not vacuous: the native mapper emits real data for each case."""
    for case in CASES:
        if is_error(case):
            continue
        provider = DIALECT_SPECS[case["api"]][0]
        spec = COMPILED[provider]
        mapper = spec.map_stream if is_stream(case) else spec.map_response
        kinds = {kind for frame in decoded_frames(case) for kind, _, _ in mapper(frame)}
        assert {"meta", "usage", "finish"} <= kinds, (case["id"], kinds)
        if "refusal" not in case["tags"]:  # a refusal is all the stream carries there
            assert kinds & {"content", "tool_call", "thinking"}, (case["id"], kinds)


# ---- error tables -------------------------------------------------------------------------


def _tables_data(tables: ErrorTables) -> dict[str, Any]:
    return {
        "provider": tables.provider,
        "by_code": dict(tables.by_code),
        "by_status": dict(tables.by_status),
        "patterns": [(p.pattern, p.flags, name) for p, name in tables.patterns],
        "request_id_headers": tuple(tables.request_id_headers),
        "retry_after_headers": tuple(tables.retry_after_headers),
        "retry_after_ms_headers": tuple(tables.retry_after_ms_headers),
    }


@pytest.mark.parametrize("provider", BUILTIN_PROVIDERS)
def test_error_tables_agree(provider: str) -> None:
    assert _tables_data(COMPILED[provider].errors) == _tables_data(INTERPRETED[provider].errors)


def _error_view(err: RemoteError) -> dict[str, Any]:
    return {
        "type": type(err).__name__,
        "message": err.message,
        "code": err.code,
        "status": err.status,
        "provider_code": err.provider_code,
        "request_id": err.request_id,
        "retry_after": err.retry_after,
        "retryable": err.retryable,
        "fallbackable": err.fallbackable,
        "provider": err.provider,
    }


ERROR_BODIES = [c for c in CASES if is_error(c)]


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in ERROR_BODIES])
def test_error_extractors_agree_on_corpus(case: dict[str, Any]) -> None:
    body = json.loads(case["response"]["body_text"])
    status = int(case["response"]["status"])
    headers = response_headers(case)
    for provider in BUILTIN_PROVIDERS:
        comp, interp = COMPILED[provider].errors, INTERPRETED[provider].errors
        assert comp.codes_of(body) == interp.codes_of(body), provider
        assert comp.message_of(body) == interp.message_of(body), provider
        for variant in (body, [body]):  # Gemini sometimes wraps errors in a list
            got = classify(comp, status=status, body=variant, headers=headers)
            want = classify(interp, status=status, body=variant, headers=headers)
            assert _error_view(got) == _error_view(want), provider
    # the case's own provider actually finds a code and a message in it
    native = COMPILED[DIALECT_SPECS[case["api"]][0]].errors
    assert native.codes_of(body) and native.message_of(body)


# ---- parameter encoding -------------------------------------------------------------------

_SAMPLES: dict[str, list[Any]] = {
    "float": [0, 0.0, 0.2, 1, 1.5],
    "number": [0, 0.5, 2],
    "integer": [0, 1, 64, 4096],
    "boolean": [True, False],
    "string": ["", "user-1", "auto"],
    "string_or_array": ["END", ["a", "b"], [], ("x",)],
    "object": [{}, {"k": "v"}, {"type": "json_object"}],
    "array": [[], [{"category": "HARM", "threshold": "BLOCK_NONE"}]],
    "reasoning": ["low", 2048, {"effort": "high"}, True],
    "tool_choice": ["auto", "required", {"type": "function", "name": "f"}],
}


def param_dicts(provider: str, count: int = 60) -> list[dict[str, Any]]:
    declared = COMPILED[provider].manifest.declared_parameters
    rng = random.Random(f"params-{provider}")
    dicts: list[dict[str, Any]] = [{}]
    dicts.append({name: rng.choice(_SAMPLES[spec["type"]]) for name, spec in declared.items()})
    for name, spec in declared.items():
        dicts.extend({name: value} for value in _SAMPLES[spec["type"]])
    for _ in range(count):
        names = rng.sample(sorted(declared), rng.randint(1, len(declared)))
        dicts.append({n: rng.choice(_SAMPLES[declared[n]["type"]]) for n in names})
    return dicts


@pytest.mark.parametrize("provider", BUILTIN_PROVIDERS)
def test_encode_params_agree(provider: str) -> None:
    comp, interp = COMPILED[provider], INTERPRETED[provider]
    dicts = param_dicts(provider)
    assert len(dicts) > 50
    for params in dicts:
        assert outcome(comp.encode_params, dict(params)) == outcome(
            interp.encode_params, dict(params)
        ), params


# ---- the full engine over both specs ------------------------------------------------------

REQUEST_PARAMS = {"temperature": 0.5, "max_tokens": 64, "stop": "END"}
API_PARAMS = [
    pytest.param(c, p, id=f"{p}-{c['id']}") for c in CASES for p in DIALECT_SPECS[c["api"]]
]


def _request(case: dict[str, Any]) -> ChatRequest:
    return ChatRequest(
        model=model_of(case),
        messages=[Message.system("Be brief."), Message.user("x")],
        params=dict(REQUEST_PARAMS),
    )


def _response_view(resp: Any) -> dict[str, Any]:
    data = attrs.asdict(resp)
    data.pop("raw")
    return data


def _sent(rec: Recorder) -> list[tuple[str, str, dict[str, str], Any]]:
    out = []
    for req in rec.requests:
        headers = {k: v for k, v in req.headers.items() if k.lower() != "user-agent"}
        out.append((req.method, str(req.url), headers, json.loads(req.content)))
    return out


def run_engine_sync(case: dict[str, Any], spec: ProviderSpec) -> dict[str, Any]:
    rec = Recorder(case)
    with rec.client() as http:
        engine = SyncEngine(
            api_key="k", base_url=BASE_URL, http_client=http, spec=spec, max_retries=0
        )
        result: dict[str, Any] = {}
        try:
            if is_stream(case):
                with engine.stream(_request(case)) as stream:
                    result["events"] = list(stream)
                    result["response"] = _response_view(stream.final_response())
            else:
                result["response"] = _response_view(engine.execute(_request(case)))
        except RemoteError as err:
            result["error"] = _error_view(err)
    result["sent"] = _sent(rec)
    return result


async def run_engine_async(case: dict[str, Any], spec: ProviderSpec) -> dict[str, Any]:
    rec = Recorder(case, chunk_size=5)
    async with rec.async_client() as http:
        engine = AsyncEngine(
            api_key="k", base_url=BASE_URL, http_client=http, spec=spec, max_retries=0
        )
        result: dict[str, Any] = {}
        try:
            if is_stream(case):
                async with engine.stream(_request(case)) as stream:
                    result["events"] = [ev async for ev in stream]
                    result["response"] = _response_view(await stream.final_response())
            else:
                result["response"] = _response_view(await engine.execute(_request(case)))
        except RemoteError as err:
            result["error"] = _error_view(err)
    result["sent"] = _sent(rec)
    return result


@pytest.mark.parametrize(("case", "provider"), API_PARAMS)
def test_engine_sync_compiled_vs_interpreted(case: dict[str, Any], provider: str) -> None:
    compiled = run_engine_sync(case, COMPILED[provider])
    interpreted = run_engine_sync(case, INTERPRETED[provider])
    assert compiled == interpreted
    assert ("error" in compiled) is is_error(case)
    assert compiled["sent"] and compiled["sent"][0][3]  # a request body was sent


@pytest.mark.parametrize(("case", "provider"), API_PARAMS)
async def test_engine_async_compiled_vs_interpreted(case: dict[str, Any], provider: str) -> None:
    compiled = await run_engine_async(case, COMPILED[provider])
    interpreted = await run_engine_async(case, INTERPRETED[provider])
    assert compiled == interpreted
    # and async (fed in 5-byte chunks) agrees with sync (one chunk)
    sync = run_engine_sync(case, COMPILED[provider])
    assert compiled == sync


def test_generated_provider_classes_use_the_compiled_spec() -> None:
    for provider, spec in COMPILED.items():
        module = importlib.import_module(f"ailib.providers.{provider}")
        classes = [
            v
            for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, SyncEngine | AsyncEngine)
        ]
        classes = [c for c in classes if c not in (SyncEngine, AsyncEngine)]
        assert len(classes) == 2, provider
        assert all(c.spec is spec for c in classes)


# ---- seeded random frames -----------------------------------------------------------------


def _manifest_vocabulary() -> tuple[list[str], list[Any]]:
    """Every key the built-in event maps read, and every literal their predicates compare to."""
    keys: set[str] = {"index", "data", "type"}
    literals: set[Any] = set()

    def add_path(text: str) -> None:
        for kind, arg in parse_path(text).steps:
            if kind == "key":
                keys.add(str(arg))

    for spec in COMPILED.values():
        m = spec.manifest
        for section in (m.streaming, m.response):
            cand = section.get("candidate") or {}
            if cand.get("candidate_id_path"):
                add_path(cand["candidate_id_path"])
            for rule in section.get("event_map", []):
                for field in (rule.get("fields") or rule.get("extract") or {}).values():
                    if isinstance(field, str) and field[:1] in "$@":
                        add_path(field)
                if rule.get("for_each"):
                    add_path(rule["for_each"])
                if rule.get("match"):
                    node = parse_predicate(rule["match"])
                    for path in node_paths(node):
                        add_path(path.text)
                    stack = [node]
                    while stack:
                        n = stack.pop()
                        if isinstance(n, Compare):
                            values = n.value if n.op == "in" else (n.value,)
                            literals.update(values)
                        stack.extend(getattr(n, "operands", ()))
                        if hasattr(n, "operand"):
                            stack.append(n.operand)
        for path in m.errors.get("error_code_paths", []):
            add_path(path)
        add_path(m.errors.get("error_message_path", "$.error.message"))
    return sorted(keys), sorted(literals, key=repr)


KEYS, LITERALS = _manifest_vocabulary()
SCALARS: list[Any] = [None, True, False, 0, 1, -1, 2, 3, 1.0, 0.5, "", "x", "STOP", "[DONE]"]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth >= 5 or roll < 0.35:
        return rng.choice(SCALARS + LITERALS + ["{}", '{"a": 1}', "é✓"])
    if roll < 0.55:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return random_object(rng, depth + 1)


def random_object(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for _ in range(rng.randint(0, 5)):
        key = rng.choice(KEYS) if rng.random() < 0.9 else rng.choice(["zz", "0", "$x"])
        obj[key] = random_value(rng, depth)
    return obj


def mutate(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """A copy of a real frame with a few subtrees replaced by random values."""
    if rng.random() < 0.08 or depth > 8:
        return random_value(rng, depth)
    if isinstance(value, dict):
        out = {k: mutate(rng, v, depth + 1) for k, v in value.items() if rng.random() > 0.05}
        if rng.random() < 0.1:
            out[rng.choice(KEYS)] = random_value(rng, depth + 1)
        return out
    if isinstance(value, list):
        return [mutate(rng, v, depth + 1) for v in value if rng.random() > 0.05]
    return value


def random_frames(seed: str, count: int) -> list[Any]:
    rng = random.Random(seed)
    real = [f for case in CASES for f in decoded_frames(case)]
    frames: list[Any] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.45:
            frames.append(random_object(rng))
        elif roll < 0.9:
            frames.append(mutate(rng, rng.choice(real)))
        else:
            frames.append(random_value(rng))
    return frames


def test_vocabulary_is_harvested() -> None:
    for key in ("choices", "delta", "content_block", "candidates", "parts", "usageMetadata"):
        assert key in KEYS
    for literal in ("message_start", "text_delta", "tool_use", True):
        assert literal in LITERALS


@pytest.mark.parametrize("provider", BUILTIN_PROVIDERS)
def test_random_frames_map_identically(provider: str) -> None:
    comp, interp = COMPILED[provider], INTERPRETED[provider]
    emitted = 0
    for n, frame in enumerate(random_frames(f"frames-{provider}", 3000)):
        for name in ("map_stream", "map_response"):
            got = outcome(getattr(comp, name), frame)
            want = outcome(getattr(interp, name), frame)
            assert got == want, f"{name} frame #{n}: {json.dumps(frame)[:2000]}"
            if got[0] == "ok":
                emitted += sum(kind != "unknown" for kind, _, _ in got[1])
    assert emitted > 500  # the random frames do reach the rules


def _code_value(rng: random.Random) -> Any:
    return rng.choice([*SCALARS, "invalid_api_key", "NOT_FOUND", "API_KEY_INVALID", 404, 0])


def error_shaped(rng: random.Random) -> Any:
    """A body shaped like a provider error, with odd values in the code places."""
    error: dict[str, Any] = {}
    for key in ("code", "type", "status", "message"):
        if rng.random() < 0.7:
            error[key] = _code_value(rng) if rng.random() < 0.85 else random_value(rng, 3)
    if rng.random() < 0.5:
        error["details"] = [
            {"reason": _code_value(rng)} if rng.random() < 0.8 else random_value(rng, 3)
            for _ in range(rng.randint(0, 3))
        ]
    body: Any = {"error": error}
    return [body] if rng.random() < 0.15 else body


def _list_at_plain_code_path(provider: str, body: Any) -> bool:
    """Whether a non-wildcard error-code path of the manifest holds a list (see the xfail)."""
    for text in COMPILED[provider].manifest.errors.get("error_code_paths", []):
        path = parse_path(text)
        if not path.has_wildcard and isinstance(lookup(path, body, None), list):
            return True
    return False


@pytest.mark.parametrize("provider", BUILTIN_PROVIDERS)
def test_random_error_bodies_extract_identically(provider: str) -> None:
    comp, interp = COMPILED[provider].errors, INTERPRETED[provider].errors
    rng = random.Random(f"errors-{provider}")
    bodies = random_frames(f"error-frames-{provider}", 1500)
    bodies += [{"error": random_value(rng)} for _ in range(500)]
    bodies += [error_shaped(rng) for _ in range(1000)]
    found = 0
    for n, body in enumerate(bodies):
        where = f"body #{n}: {json.dumps(body)[:2000]}"
        assert outcome(comp.message_of, body) == outcome(interp.message_of, body), where
        got = outcome(comp.codes_of, body)
        assert got == outcome(interp.codes_of, body), where
        found += bool(got[0] == "ok" and got[1])
    assert found > 200  # the random bodies do carry codes


LIST_CODE_BODIES = {
    "openai": ({"error": {"code": ["rate_limit_exceeded"], "message": "m"}}, 400),
    "mock": ({"error": {"code": ["rate_limit_exceeded"], "message": "m"}}, 400),
    "anthropic": ({"error": {"type": ["rate_limit_error"], "message": "m"}}, 400),
    "gemini": ({"error": {"status": ["RESOURCE_EXHAUSTED"], "message": "m"}}, 400),
}


@pytest.mark.parametrize("provider", BUILTIN_PROVIDERS)
def test_codes_of_list_at_plain_path(provider: str) -> None:
    body, status = LIST_CODE_BODIES[provider]
    comp, interp = COMPILED[provider].errors, INTERPRETED[provider].errors
    assert _list_at_plain_code_path(provider, body)
    assert comp.codes_of(body) == interp.codes_of(body)
    got = classify(comp, status=status, body=body)
    want = classify(interp, status=status, body=body)
    assert _error_view(got) == _error_view(want)
