"""Batch wire formats without I/O: requests in, the provider's create body out; result
lines or items in, :class:`BatchOutcome` values out.

Each request body is the provider's own chat body, built by ``engine.prepare`` exactly
as a single ``execute()`` would send it; each answer is read by ``engine.parse_response``
as a single answer would be, and each item error is classified by the manifest's
``error_classification`` into a standard code.

Example::

    items = request_items(config, engine, [("q1", req)])
    data = jsonl_file(config, items)                      # openai_files
    for outcome in outcomes_of_file(config, data, limits, answers):
        print(outcome.custom_id, outcome.ok)
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

import attrs
import httpx

from ailib.batches._config import BatchConfig, _shown
from ailib.batches._types import BatchOutcome
from ailib.dialects import ChatRequest
from ailib.errors import AiLibError, BatchJobError, StreamDecodeError
from ailib.pipeline.safejson import loads
from ailib.runtime.classify import classify
from ailib.runtime.limits import Limits
from ailib.types.response import ChatResponse


class _Buildable(Protocol):
    def build(self, *, stream: bool = False) -> ChatRequest: ...


def _as_request(item: Any, provider: str) -> ChatRequest:
    if isinstance(item, ChatRequest):
        return attrs.evolve(item, stream=False) if item.stream else item
    if callable(getattr(item, "build", None)):  # a chat builder: client.chat().user(...)
        built = item.build(stream=False)
        if isinstance(built, ChatRequest):
            return built
    raise BatchJobError(
        f"{provider}: a batch item must be a ChatRequest or a chat builder "
        f"(client.chat().user(...)), got {type(item).__name__}",
        code="E1001",
        provider=provider,
    )


def request_items(
    config: BatchConfig, engine: Any, requests: Any
) -> list[tuple[str, ChatRequest, dict[str, Any]]]:
    """``(custom_id, request, provider body)`` for each request, checked before sending.

    ``requests``: a mapping ``{custom_id: request}`` or a sequence of requests and
    ``(custom_id, request)`` pairs (an item without an id is ``request-<index>``).
    """
    provider = config.provider
    if isinstance(requests, Mapping):
        pairs: Iterable[Any] = list(requests.items())
    elif isinstance(requests, str | bytes) or not isinstance(requests, Iterable):
        raise BatchJobError(
            f"{provider}: batches.create() takes a list of requests or a {{custom_id: request}} "
            f"mapping, got {type(requests).__name__}",
            code="E1001",
            provider=provider,
        )
    else:
        pairs = requests
    out: list[tuple[str, ChatRequest, dict[str, Any]]] = []
    seen: set[str] = set()
    for index, entry in enumerate(pairs):
        custom_id: Any = f"request-{index}"
        if isinstance(entry, tuple) and len(entry) == 2:
            custom_id, entry = entry
        custom_id = config.check_custom_id(custom_id, seen)
        request = _as_request(entry, provider)
        out.append((custom_id, request, dict(engine.prepare(request).payload)))
    if not out:
        raise BatchJobError(f"{provider}: a batch needs at least one request", code="E1001")
    return out


def jsonl_file(config: BatchConfig, items: list[tuple[str, ChatRequest, dict[str, Any]]]) -> bytes:
    """openai_files: the input file, one ``{custom_id, method, url, body}`` line each."""
    url = config.section["create"].get("endpoint", "/v1/chat/completions")
    lines = [
        json.dumps(
            {"custom_id": cid, "method": "POST", "url": url, "body": body},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for cid, _, body in items
    ]
    return ("\n".join(lines) + "\n").encode()


def multipart_form(fields: Mapping[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with ``fields`` and one file; (body, content type)."""
    boundary = "ailib-" + secrets.token_hex(16)
    while boundary.encode() in content:  # 128 random bits: practically never loops
        boundary = "ailib-" + secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/jsonl\r\n\r\n"
    )
    parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def create_payload(
    config: BatchConfig,
    items: list[tuple[str, ChatRequest, dict[str, Any]]],
    *,
    display_name: str | None = None,
) -> dict[str, Any]:
    """anthropic_messages / gemini_inline: the JSON body that creates the job."""
    if config.format == "anthropic_messages":
        return {"requests": [{"custom_id": cid, "params": body} for cid, _, body in items]}
    models = {request.model for _, request, _ in items}
    if len(models) > 1:  # the model is in the URL: one per batch
        raise BatchJobError(
            f"{config.provider}: one batch serves one model, got {', '.join(sorted(models))}",
            code="E1001",
            provider=config.provider,
        )
    requests = [{"request": body, "metadata": {"key": cid}} for cid, _, body in items]
    return {
        "batch": {
            "displayName": display_name or "ailib-batch",
            "inputConfig": {"requests": {"requests": requests}},
        }
    }


class Answers:
    """Reads one item's answer or error as the engine reads a single call's.

    Example::

        answers = Answers(engine, model="gpt-4o-mini")
        answers.response({"choices": [...]})   # ChatResponse
        answers.error(400, {"error": {...}})   # RemoteError, standard code
    """

    def __init__(self, engine: Any, model: str) -> None:
        self._engine = engine
        self._model = model

    def response(self, body: Any, request_id: Any = None) -> ChatResponse | AiLibError:
        headers = httpx.Headers()
        if isinstance(request_id, str):
            for name in self._engine.spec.errors.request_id_headers[:1]:
                headers[name] = request_id
        try:
            parsed: ChatResponse = self._engine.parse_response(body, headers, model=self._model)
        except AiLibError as exc:
            return exc
        return parsed

    def error(self, status: Any, body: Any) -> AiLibError:
        code = status if isinstance(status, int) and 100 <= status <= 599 else None
        keys = [s.reveal() for s in self._engine._secrets]
        return classify(self._engine.spec.errors, status=code, body=body, secrets=keys)


def _malformed(config: BatchConfig, line: int, why: str, custom_id: Any = None) -> BatchOutcome:
    cid = custom_id if isinstance(custom_id, str) else None
    error = BatchJobError(
        f"{config.provider}: results line {line} {why}",
        provider=config.provider,
        line=line,
        custom_id=cid,
    )
    return BatchOutcome(cid, error)


def _item(config: BatchConfig, item: Any, line: int, answers: Answers) -> BatchOutcome:
    """One results line / inline item as an outcome (a malformed one as BatchJobError)."""
    if not isinstance(item, dict):
        return _malformed(config, line, f"is not a JSON object: {_shown(item)}")
    if config.format == "gemini_inline":
        meta = item.get("metadata")
        key = meta.get("key") if isinstance(meta, dict) else None
        named = key if isinstance(key, str) else None
        if isinstance(item.get("response"), dict):
            return BatchOutcome(named, answers.response(item["response"]))
        error = item.get("error")
        if isinstance(error, dict):
            return BatchOutcome(named, answers.error(error.get("code"), {"error": error}))
        return _malformed(config, line, "has neither a response nor an error", named)
    cid = item.get("custom_id")
    if not isinstance(cid, str):
        return _malformed(config, line, "has no custom_id")
    if config.format == "openai_files":
        response, error = item.get("response"), item.get("error")
        if isinstance(response, dict) and isinstance(response.get("status_code"), int):
            status, body = response["status_code"], response.get("body")
            if status < 400:
                return BatchOutcome(cid, answers.response(body, response.get("request_id")))
            return BatchOutcome(cid, answers.error(status, body))
        if isinstance(error, dict):
            return BatchOutcome(cid, answers.error(None, {"error": error}))
        return _malformed(config, line, "has neither a response nor an error", cid)
    result = item.get("result")
    kind = result.get("type") if isinstance(result, dict) else None
    if kind == "succeeded" and isinstance(result, dict):
        return BatchOutcome(cid, answers.response(result.get("message")))
    if kind == "errored" and isinstance(result, dict):
        return BatchOutcome(cid, answers.error(None, result.get("error")))
    if kind in ("canceled", "expired"):
        what = "was cancelled" if kind == "canceled" else "expired"
        error_code = "E4002" if kind == "canceled" else "E3003"
        message = f"{config.provider}: batch item {cid!r} {what} before it was answered"
        err = BatchJobError(message, code=error_code, provider=config.provider, custom_id=cid)
        return BatchOutcome(cid, err)
    return _malformed(config, line, f"has an unknown result type {_shown(kind)}", cid)


def outcomes_of_file(
    config: BatchConfig, data: bytes, limits: Limits, answers: Answers, *, first_line: int = 1
) -> Iterator[BatchOutcome]:
    """The outcomes of a JSONL results file, line by line (blank lines skipped).

    A line that is too long, not JSON, nested too deep or not shaped like a result is
    one BatchJobError naming its line number; the other lines are still delivered.
    """
    for number, raw in enumerate(data.split(b"\n"), start=first_line):
        line = raw.strip()
        if not line:
            continue
        if len(line) > limits.max_line_bytes:
            too_long = f"is longer than {limits.max_line_bytes} bytes (Limits.max_line_bytes)"
            yield _malformed(config, number, too_long)
            continue
        try:
            item = loads(line, max_depth=limits.max_json_depth, what=f"results line {number}")
        except StreamDecodeError as exc:
            yield _malformed(config, number, f"is nested too deep: {exc.message}")
            continue
        except ValueError as exc:
            yield _malformed(config, number, f"is not valid JSON ({exc})")
            continue
        yield _item(config, item, number, answers)


def outcomes_of_items(
    config: BatchConfig, items: list[Any], answers: Answers
) -> Iterator[BatchOutcome]:
    """The outcomes of answers held inline in the job (Gemini); item ``n`` is "line" n."""
    for number, item in enumerate(items, start=1):
        yield _item(config, item, number, answers)
