"""The mock server's batch APIs: OpenAI Batch (with its file upload), Anthropic Message
Batches and Gemini batch mode, held in memory.

A job is ``validating`` when created, ``in_progress`` from its first poll and done on
poll ``polls_to_complete`` (default 2): then each of its requests gets the answer the
server would give it as a single call (the queued scenarios and the default apply, so
``server.push(Scenario(status=400))`` makes an item fail). A cancelled job ends on its
next poll with its unanswered items cancelled. ``corrupt_lines`` are appended to every
JSONL results file (to test how a client copes with a malformed line).

Example::

    with MockServer() as server:
        server.batches.polls_to_complete = 1
        server.push(Scenario(text="4"), Scenario(status=400))
        # POST /v1/messages/batches ..., GET /v1/messages/batches/{id}, .../results
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from datetime import datetime, timezone
from typing import Any

import attrs

from ailib.testing.dialects import Reply, error_reply, render
from ailib.testing.scenario import Call, RecordedRequest

_OPENAI = re.compile(r"^/v1/(files|batches)(?:/([^/]+))?(/content|/cancel)?$")
_ANTHROPIC = re.compile(r"^/v1/messages/batches(?:/([^/]+))?(/cancel|/results)?$")
_GEMINI_CREATE = re.compile(r"^/v1(?:beta|alpha)?/models/([^/:]+):batchGenerateContent$")
_GEMINI_JOB = re.compile(r"^/v1(?:beta|alpha)?/batches/([^/:]+)(:cancel)?$")
_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main."
_GEMINI_STATES = {
    "validating": "BATCH_STATE_PENDING",
    "in_progress": "BATCH_STATE_RUNNING",
    "cancelling": "BATCH_STATE_RUNNING",
    "completed": "BATCH_STATE_SUCCEEDED",
    "cancelled": "BATCH_STATE_CANCELLED",
}


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


@attrs.define
class MockJob:
    """One batch job: its requests ``(custom_id, model, body)`` and, once done, answers."""

    id: str
    dialect: str
    items: list[tuple[str, str, dict[str, Any]]]
    created: float
    state: str = "validating"
    polls: int = 0
    ended: float | None = None
    cancel_asked: float | None = None
    display_name: str = ""
    input_file_id: str = ""
    #: (custom_id, status, body) per item once done; status 0: cancelled unanswered
    answers: list[tuple[str, int, Any]] = attrs.field(factory=list)


class BatchStore:
    """The batch jobs and files of one :class:`~ailib.testing.MockServer`."""

    def __init__(self) -> None:
        self.polls_to_complete = 2
        self.corrupt_lines: list[bytes] = []
        self.jobs: dict[str, MockJob] = {}
        self.files: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self.jobs.clear()
            self.files.clear()
            self.corrupt_lines = []
            self.polls_to_complete = 2

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}mock"


def dispatch_batch(
    server: Any, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
) -> Reply | None:
    """The answer to a batch API request, or None when ``path`` is no batch endpoint."""
    found = _ANTHROPIC.match(path)
    dialect = "anthropic" if found else ""
    if not found:
        found = _OPENAI.match(path)
        dialect = "openai" if found else ""
    if not found:
        found = _GEMINI_CREATE.match(path) or _GEMINI_JOB.match(path)
        dialect = "gemini" if found else ""
    if not found:
        return None
    with server._lock:
        server.requests.append(RecordedRequest(method, path, query, headers, body, dialect))
        seq = next(server._seq)
    call = Call(dialect, "unknown", {}, False, seq)
    try:
        handler = {"openai": _openai, "anthropic": _anthropic, "gemini": _gemini}[dialect]
        return handler(server, call, method, found, headers, body)
    except _Refused as refused:
        return error_reply(call, refused.status, refused.message)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body) if body else {}
    except ValueError:
        raise _Refused(400, "invalid JSON body") from None
    if not isinstance(payload, dict):
        raise _Refused(400, "the body must be a JSON object")
    return payload


def _reply(call: Call, payload: Any, content_type: str = "application/json") -> Reply:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Reply(200, [("content-type", content_type)], raw)


def _job(server: Any, job_id: str | None, dialect: str) -> MockJob:
    store: BatchStore = server.batches
    job = store.jobs.get(job_id or "")
    if job is None or job.dialect != dialect:
        raise _Refused(404, f"batch {job_id!r} not found")
    return job


def _poll(server: Any, job: MockJob) -> None:
    """One status poll: the job moves on (and answers its items when it completes)."""
    store: BatchStore = server.batches
    with store.lock:
        job.polls += 1
        if job.state in ("completed", "cancelled"):
            return
        if job.state == "cancelling":
            job.state, job.ended = "cancelled", time.time()
            job.answers = [(cid, 0, None) for cid, _, _ in job.items]
            return
        if job.polls < store.polls_to_complete:
            job.state = "in_progress"
            return
    answers = [_answer(server, job.dialect, cid, model, body) for cid, model, body in job.items]
    with store.lock:
        if job.state in ("validating", "in_progress"):
            job.answers, job.state, job.ended = answers, "completed", time.time()


def _answer(server: Any, dialect: str, custom_id: str, model: str, body: dict[str, Any]) -> Any:
    """What the server answers ``body`` as a single non-streamed call: (id, status, body)."""
    with server._lock:
        seq = next(server._seq)
    scenario = server._next_scenario(body)
    reply = render(Call(dialect, model, body, False, seq), scenario, server._next_tool_id)
    return custom_id, reply.status, json.loads(reply.body)


def _cancel(server: Any, job: MockJob) -> None:
    with server.batches.lock:
        if job.state in ("validating", "in_progress"):
            job.state, job.cancel_asked = "cancelling", time.time()


# ---- OpenAI: files + batches -------------------------------------------------------------


def _multipart(headers: dict[str, str], body: bytes) -> dict[str, bytes]:
    """The parts of a ``multipart/form-data`` body by name (enough for a file upload)."""
    found = re.search(r'boundary="?([^";]+)"?', headers.get("content-type", ""))
    if found is None or "multipart/form-data" not in headers.get("content-type", ""):
        raise _Refused(400, "expected a multipart/form-data upload")
    parts: dict[str, bytes] = {}
    for chunk in body.split(b"--" + found.group(1).encode())[1:]:
        head, sep, content = chunk.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        if sep and name is not None:
            parts[name.group(1).decode()] = content.removesuffix(b"\r\n")
    return parts


def _openai_batch(job: MockJob, store: BatchStore) -> dict[str, Any]:
    done = [a for a in job.answers if a[1] != 0]
    ok = sum(1 for a in done if a[1] < 400)
    output = f"file-out-{job.id}" if job.state == "completed" else None
    failed = len(done) != ok or job.state == "cancelled"
    errors = f"file-err-{job.id}" if job.answers and failed else None
    return {
        "id": job.id,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": None,
        "input_file_id": job.input_file_id,
        "completion_window": "24h",
        "status": job.state,
        "output_file_id": output,
        "error_file_id": errors,
        "created_at": int(job.created),
        "in_progress_at": int(job.created) if job.polls else None,
        "expires_at": int(job.created) + 86400,
        "completed_at": int(job.ended) if job.ended and job.state == "completed" else None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": int(job.cancel_asked) if job.cancel_asked else None,
        "cancelled_at": int(job.ended) if job.ended and job.state == "cancelled" else None,
        "request_counts": {"total": len(job.items), "completed": ok, "failed": len(done) - ok},
        "metadata": None,
    }


def _openai_file(store: BatchStore, file_id: str, job: MockJob, errors: bool) -> bytes:
    lines = []
    for index, (cid, status, body) in enumerate(job.answers):
        if (status == 0 or status >= 400) != errors:
            continue
        response = None if status == 0 else {"status_code": status, "request_id": f"req_{index}",
                                              "body": body}  # fmt: skip
        error = {"code": "batch_cancelled", "message": "cancelled"} if status == 0 else None
        line = {"id": f"batch_req_{index}", "custom_id": cid, "response": response, "error": error}
        lines.append(json.dumps(line).encode())
    return b"\n".join([*lines, *store.corrupt_lines]) + b"\n"


def _openai(
    server: Any, call: Call, method: str, found: re.Match[str], headers: dict[str, str], body: bytes
) -> Reply:
    store: BatchStore = server.batches
    kind, ident, tail = found.group(1), found.group(2), found.group(3)
    if kind == "files" and method == "POST" and ident is None:
        parts = _multipart(headers, body)
        if parts.get("purpose") != b"batch" or "file" not in parts:
            raise _Refused(400, "a batch upload needs purpose=batch and a file")
        file_id = store.new_id("file-")
        store.files[file_id] = parts["file"]
        return _reply(call, {"id": file_id, "object": "file", "bytes": len(parts["file"]),
                             "created_at": int(time.time()), "filename": "batch.jsonl",
                             "purpose": "batch"})  # fmt: skip
    if kind == "files" and method == "GET" and tail == "/content" and ident:
        prefix, _, job_id = ident.partition("-")[2].partition("-")
        job = store.jobs.get(job_id)
        if job is None or prefix not in ("out", "err"):
            raise _Refused(404, f"No such File object: {ident}")
        return _reply(call, _openai_file(store, ident, job, prefix == "err"), "application/jsonl")
    if kind == "batches" and method == "POST" and ident is None:
        payload = _json(body)
        data = store.files.get(str(payload.get("input_file_id")))
        if data is None or payload.get("endpoint") != "/v1/chat/completions":
            raise _Refused(400, "input_file_id names no uploaded file, or a bad endpoint")
        items = []
        for line in data.decode().splitlines():
            entry = json.loads(line)
            items.append((entry["custom_id"], str(entry["body"].get("model")), entry["body"]))
        job = MockJob(store.new_id("batch_"), "openai", items, time.time())
        job.input_file_id = str(payload["input_file_id"])
        store.jobs[job.id] = job
        return _reply(call, _openai_batch(job, store))
    if kind == "batches" and ident:
        job = _job(server, ident, "openai")
        if method == "POST" and tail == "/cancel":
            _cancel(server, job)
        elif method == "GET" and tail is None:
            _poll(server, job)
        else:
            raise _Refused(404, "Invalid URL")
        return _reply(call, _openai_batch(job, store))
    raise _Refused(404, f"Invalid URL ({method} {found.group(0)})")


# ---- Anthropic: message batches -----------------------------------------------------------


def _anthropic_batch(server: Any, job: MockJob) -> dict[str, Any]:
    status = {"validating": "in_progress", "cancelling": "canceling"}.get(job.state, job.state)
    if job.state in ("completed", "cancelled"):
        status = "ended"
    done = [a for a in job.answers if a[1] != 0]
    ok = sum(1 for a in done if a[1] < 400)
    return {
        "id": job.id,
        "type": "message_batch",
        "processing_status": status,
        "request_counts": {
            "processing": 0 if job.answers else len(job.items),
            "succeeded": ok,
            "errored": len(done) - ok,
            "canceled": len(job.answers) - len(done),
            "expired": 0,
        },
        "ended_at": _iso(job.ended),
        "created_at": _iso(job.created),
        "expires_at": _iso(job.created + 86400),
        "archived_at": None,
        "cancel_initiated_at": _iso(job.cancel_asked),
        "results_url": f"{server.url}/v1/messages/batches/{job.id}/results" if job.ended else None,
    }


def _anthropic(
    server: Any, call: Call, method: str, found: re.Match[str], headers: dict[str, str], body: bytes
) -> Reply:
    store: BatchStore = server.batches
    ident, tail = found.group(1), found.group(2)
    if method == "POST" and ident is None:
        requests = _json(body).get("requests")
        if not isinstance(requests, list) or not requests:
            raise _Refused(400, "requests: a non-empty list is required")
        items = [(r["custom_id"], str(r["params"].get("model")), r["params"]) for r in requests]
        job = MockJob(store.new_id("msgbatch_"), "anthropic", items, time.time())
        store.jobs[job.id] = job
        return _reply(call, _anthropic_batch(server, job))
    job = _job(server, ident, "anthropic")
    if method == "POST" and tail == "/cancel":
        _cancel(server, job)
    elif method == "GET" and tail == "/results":
        if job.ended is None:
            raise _Refused(400, f"Message Batch {job.id} has not yet ended")
        lines = []
        for cid, status, answer in job.answers:
            if status == 0:
                result: dict[str, Any] = {"type": "canceled"}
            elif status < 400:
                result = {"type": "succeeded", "message": answer}
            else:
                result = {"type": "errored", "error": answer}
            lines.append(json.dumps({"custom_id": cid, "result": result}).encode())
        data = b"\n".join([*lines, *store.corrupt_lines]) + b"\n"
        return _reply(call, data, "application/binary")
    elif method == "GET" and tail is None:
        _poll(server, job)
    else:
        raise _Refused(404, "Not found")
    return _reply(call, _anthropic_batch(server, job))


# ---- Gemini: batch mode (a long-running operation) ----------------------------------------


def _gemini_operation(job: MockJob) -> dict[str, Any]:
    done = [a for a in job.answers if a[1] != 0]
    ok = sum(1 for a in done if a[1] < 400)
    name = f"batches/{job.id}"
    metadata: dict[str, Any] = {
        "@type": _TYPE + "GenerateContentBatch",
        "model": f"models/{job.items[0][1]}",
        "displayName": job.display_name,
        "createTime": _iso(job.created),
        "updateTime": _iso(job.ended or job.created),
        "batchStats": {
            "requestCount": str(len(job.items)),
            "successfulRequestCount": str(ok),
            "failedRequestCount": str(len(done) - ok),
            "pendingRequestCount": str(0 if job.answers else len(job.items)),
        },
        "state": _GEMINI_STATES[job.state],
        "name": name,
    }
    operation: dict[str, Any] = {"name": name, "metadata": metadata}
    if job.ended is not None:
        metadata["endTime"] = _iso(job.ended)
        operation["done"] = True
        inlined = []
        for cid, status, answer in job.answers:
            if status == 0:
                error = {"code": 499, "message": "cancelled", "status": "CANCELLED"}
                inlined.append({"error": error, "metadata": {"key": cid}})
            elif status < 400:
                inlined.append({"response": answer, "metadata": {"key": cid}})
            else:
                inlined.append({"error": answer.get("error", answer), "metadata": {"key": cid}})
        operation["response"] = {
            "@type": _TYPE + "GenerateContentBatchOutput",
            "inlinedResponses": {"inlinedResponses": inlined},
        }
    return operation


def _gemini(
    server: Any, call: Call, method: str, found: re.Match[str], headers: dict[str, str], body: bytes
) -> Reply:
    store: BatchStore = server.batches
    if found.re is _GEMINI_CREATE:
        if method != "POST":
            raise _Refused(404, "Method not found.")
        batch = _json(body).get("batch")
        requests = None
        if isinstance(batch, dict):
            requests = batch.get("inputConfig", {}).get("requests", {}).get("requests")
        if not isinstance(requests, list) or not requests:
            raise _Refused(400, "batch.inputConfig.requests.requests is required")
        model = found.group(1)
        items = [(str(r.get("metadata", {}).get("key")), model, r["request"]) for r in requests]
        job = MockJob(store.new_id("mock"), "gemini", items, time.time())
        job.display_name = str(batch.get("displayName", "")) if isinstance(batch, dict) else ""
        store.jobs[job.id] = job
        return _reply(call, _gemini_operation(job))
    job = _job(server, found.group(1), "gemini")
    if method == "POST" and found.group(2) == ":cancel":
        _cancel(server, job)
        return _reply(call, {})
    if method != "GET" or found.group(2):
        raise _Refused(404, "Method not found.")
    _poll(server, job)
    return _reply(call, _gemini_operation(job))
