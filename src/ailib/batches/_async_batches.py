"""AsyncBatches: a provider's batch API behind ``client.batches`` (async).

``_sync_batches.py`` is generated from this file by ``python -m codegen`` (unasync).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterable, Mapping
from time import monotonic
from typing import TYPE_CHECKING, Any

from ailib.batches._codec import (
    Answers,
    create_payload,
    jsonl_file,
    multipart_form,
    outcomes_of_file,
    outcomes_of_items,
    request_items,
)
from ailib.batches._config import BatchConfig, batch_config
from ailib.batches._types import BatchJob, BatchOutcome
from ailib.errors import BatchJobError
from ailib.resilience._async_fallback import AsyncFallbackLayer, AsyncPreflightLayer
from ailib.runtime.context import CallContext, Target
from ailib.runtime.request import Prepared

if TYPE_CHECKING:
    from ailib.runtime._async_client import AsyncAiClient
    from ailib.runtime._async_engine import AsyncEngine


class AsyncBatches:
    """The provider's batch API (manifest ``batch:``): half-price answers within a day.

    Requests are ailib chat requests, each sent in the provider's own dialect exactly as
    ``execute()`` would send it; answers come back as ``ChatResponse`` values, failed
    items as typed errors. Every call goes through the client's pipeline (retry,
    breaker, rate limit; no fallback: a job lives at one provider).

    Example::

        async with await AsyncAiClient.create("openai/gpt-4o-mini") as client:
            job = await client.batches.create(
                [("q1", client.chat().user("2+2?")), ("q2", client.chat().user("Hi"))]
            )
            job = await client.batches.wait(job.id, poll_interval=30)
            async for custom_id, outcome in client.batches.results(job.id):
                print(custom_id, outcome)

    A provider whose manifest declares no batch API raises CapabilityError (E1005).
    """

    def __init__(self, client: AsyncAiClient) -> None:
        self._client = client
        self._config()  # refuse a provider without a batch API right away

    def _engine(self) -> AsyncEngine:
        return self._client._current()  # the manifest in force now (hot reload)

    def _config(self, engine: AsyncEngine | None = None) -> BatchConfig:
        spec = (engine or self._engine()).spec
        return batch_config(spec.manifest, spec.id)

    async def _send(
        self,
        operation: str,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        content: tuple[bytes, str] | None = None,
    ) -> Any:
        """One call through the client's pipeline; the JSON body (bytes: "download")."""
        engine = self._engine()
        model = self._client.model
        prepared = engine.prepare_post(path, payload if operation == "post" else None, model)
        if content is not None:  # a multipart upload: its own body and media type
            prepared = Prepared(prepared.url, content[0], {}, False, content[1])
        # no payload in the context: a job's requests are not this call's tokens (limiter)
        ctx = CallContext(operation, Target(engine, model), path=path)
        ctx.set_prepared(prepared)
        pipeline = self._client.pipeline.without(AsyncFallbackLayer).without(AsyncPreflightLayer)
        body, _headers = await pipeline.run(ctx)
        return body

    async def create(
        self,
        requests: Iterable[Any] | Mapping[str, Any],
        *,
        display_name: str | None = None,
    ) -> BatchJob:
        """Start a batch job; returns it as first seen (usually ``validating``).

        ``requests``: chat builders (``client.chat().user(...)``) or ``ChatRequest``
        objects, each alone or as a ``(custom_id, request)`` pair, or a mapping
        ``{custom_id: request}``; an item without an id is ``request-<index>``.
        Each is checked and encoded before anything is sent (CapabilityError,
        ParameterError, BatchJobError for a bad or repeated custom_id).
        ``display_name`` names the job where the provider keeps one (Gemini).
        """
        engine = self._engine()
        config = self._config(engine)
        items = request_items(config, engine, requests)
        create = config.section["create"]
        if config.format == "openai_files":
            upload = config.section.get("upload") or {}
            form = {"purpose": str(upload.get("purpose", "batch"))}
            content = multipart_form(form, "batch.jsonl", jsonl_file(config, items))
            uploaded = await self._send("post", config.path("upload"), content=content)
            found = uploaded.get("id") if isinstance(uploaded, dict) else None
            payload = {
                "input_file_id": config.check_id(found, "file id from the server"),
                "endpoint": create.get("endpoint", "/v1/chat/completions"),
                "completion_window": create.get("completion_window", "24h"),
            }
        else:
            payload = create_payload(config, items, display_name=display_name)
        body = await self._send("post", config.path("create"), payload)
        return config.job(body)

    async def retrieve(self, batch_id: str) -> BatchJob:
        """The job as it is now (its id is checked before it goes into the URL)."""
        config = self._config()
        checked = config.check_id(batch_id)
        return config.job(await self._send("get", config.path("retrieve", checked)), checked)

    async def status(self, batch_id: str) -> BatchJob:
        """The same as :meth:`retrieve` (one poll)."""
        return await self.retrieve(batch_id)

    async def wait(
        self, batch_id: str, *, poll_interval: float = 30.0, timeout: float | None = None
    ) -> BatchJob:
        """Poll every ``poll_interval`` seconds until the job is done (completed, failed,
        expired or cancelled); BatchJobError (E3003) after ``timeout`` seconds."""
        if not _seconds(poll_interval) or (timeout is not None and not _seconds(timeout)):
            raise BatchJobError(
                f"poll_interval and timeout must be finite seconds >= 0 (timeout may be None),"
                f" got poll_interval={poll_interval!r}, timeout={timeout!r}",
                code="E1001",
            )
        ends_at = None if timeout is None else monotonic() + timeout
        while True:
            job = await self.retrieve(batch_id)
            if job.done:
                return job
            if ends_at is not None and monotonic() + poll_interval > ends_at:
                raise BatchJobError(
                    f"{job.provider}: batch {job.id} still {job.status.value} after "
                    f"{timeout:g}s (wait timeout)",
                    code="E3003",
                    provider=job.provider,
                )
            await asyncio.sleep(poll_interval)

    async def cancel(self, batch_id: str) -> BatchJob:
        """Ask the provider to stop the job; returns it (``cancelling`` or already done).

        Items answered before the cancel keep their answers in :meth:`results`.
        """
        config = self._config()
        checked = config.check_id(batch_id)
        body = await self._send("post", config.path("cancel", checked), {})
        if config.describes_job(body):
            return config.job(body, checked)
        return await self.retrieve(checked)  # e.g. Gemini answers a cancel with {}

    async def results(self, batch_id: str) -> AsyncIterator[BatchOutcome]:
        """The job's outcomes as ``(custom_id, ChatResponse | AiLibError)`` pairs.

        Raises BatchJobError (E1001) while the job is not done. Files are read within
        the client's ``Limits`` (``max_body_bytes``; each line ``max_line_bytes``) and
        decoded line by line: a malformed line is one BatchJobError naming its line
        number, and the other lines are still delivered.
        """
        job = await self.retrieve(batch_id)
        if not job.done:
            raise BatchJobError(
                f"{job.provider}: batch {job.id} is {job.status.value}; results come once it "
                "is done (see wait())",
                code="E1001",
                provider=job.provider,
            )
        engine = self._engine()
        config = self._config(engine)
        answers = Answers(engine, self._client.model)
        source = config.section["results"]["source"]
        if source == "inline":
            for outcome in outcomes_of_items(config, config.inline_items(job), answers):
                yield outcome
            return
        file_ids = config.file_ids(job) if source == "files" else [job.id]
        for file_id in file_ids:
            data = await self._send("download", config.path("results", file_id))
            for outcome in outcomes_of_file(config, data, engine.limits, answers):
                yield outcome

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self._client.provider_id!r})"


def _seconds(value: Any) -> bool:
    """A finite, non-negative number of seconds (not a bool, not a string)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )
