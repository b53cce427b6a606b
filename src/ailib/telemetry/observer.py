"""What the telemetry layers do for one call and one attempt (sans-IO, sync and async).

:class:`Telemetry` is built once per client from :class:`TelemetryOptions`; the layers
(``_async_layers.py`` and its generated sync twin) call :meth:`Telemetry.start_call`
per user call and :meth:`Telemetry.start_attempt` per HTTP attempt. The call's outcome
arrives through ``ctx.when_done`` (a stream's when it ends): then its span ends, its
metrics are recorded and its log record is written.

Example::

    telemetry = Telemetry(TelemetryOptions(metrics=MetricsCollector(), tracing=True))
    call = telemetry.start_call(ctx)        # span "chat gpt-4o", hooks registered
    with call.active():                     # the span is current while the call runs
        ...
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

from ailib.runtime.context import CHAT_OPERATIONS, ENDPOINT
from ailib.telemetry import genai
from ailib.telemetry.logs import TELEMETRY_LOGGER, get_logger
from ailib.telemetry.metrics import MetricLabels, MetricsCollector
from ailib.telemetry.otel_metrics import GenAiInstruments
from ailib.telemetry.series import LabelGuard
from ailib.telemetry.tracing import Span, Tracer, require_otel

if TYPE_CHECKING:
    from ailib.resilience.signals import ResilienceStats
    from ailib.runtime.context import CallContext

#: the operations telemetry watches: chat calls and the provider's own endpoints
#: (embeddings, token counts, model listing, batch jobs: ``"post"``, ``"get"``, ``"download"``)
OPERATIONS = ("chat", "stream", "post", "get", "download")
#: stream events that carry output (the first one is the time to first token)
CHUNK_KINDS = frozenset(
    {"content_delta", "refusal_delta", "audio_delta", "thinking_delta",
     "tool_call_started", "tool_call_delta"}
)  # fmt: skip
_SPAN = "ailib.telemetry.call"


@attrs.frozen
class TelemetryOptions:
    """What ``.with_telemetry(...)`` asked for.

    * ``metrics``: a :class:`MetricsCollector` fed by every call (None: none);
    * ``tracing``: OpenTelemetry spans (GenAI conventions) on ``tracer_provider`` (None:
      the global one); ``otel_metrics``: the GenAI client metrics on ``meter_provider``
      (None: on when tracing is);
    * ``logs``: one record per call and per failed attempt on ``logger``;
    * ``log_content`` / ``capture_content``: prompts and completions in log records /
      span attributes (off by default).
    """

    metrics: MetricsCollector | None = None
    tracing: bool = False
    tracer_provider: Any = None
    meter_provider: Any = None
    otel_metrics: bool | None = None
    logs: bool = True
    log_content: bool = False
    capture_content: bool = False
    logger: str = TELEMETRY_LOGGER


class Telemetry:
    """The telemetry of one client: collector, tracer, GenAI instruments, logger."""

    def __init__(self, options: TelemetryOptions, stats: ResilienceStats | None = None) -> None:
        self.options = options
        self.collector = options.metrics
        self.tracer: Tracer | None = None
        if options.tracing:
            require_otel("with_telemetry(tracing=True)")
            self.tracer = Tracer("ailib", tracer_provider=options.tracer_provider)
        want_metrics = options.tracing if options.otel_metrics is None else options.otel_metrics
        self.instruments = GenAiInstruments(options.meter_provider) if want_metrics else None
        self.log = get_logger(options.logger) if options.logs else None
        self.stats = stats
        self._opens_seen = 0
        self._guard = LabelGuard(100)  # OpenTelemetry metric attributes are bounded too

    def describe(self) -> str:
        parts = [
            name
            for name, on in (
                ("metrics", self.collector is not None),
                ("traces", self.tracer is not None),
                ("otel-metrics", self.instruments is not None),
                ("logs", self.log is not None),
            )
            if on
        ]
        return f"telemetry({', '.join(parts) or 'off'})"

    def start_call(self, ctx: CallContext) -> CallWatch:
        watch = CallWatch(self, ctx)
        ctx.metadata[_SPAN] = watch.span
        ctx.when_done(watch.finish)
        if ctx.operation == "stream":
            ctx.event_hooks.append(watch.on_event)
        return watch

    def start_attempt(self, ctx: CallContext) -> AttemptWatch:
        return AttemptWatch(self, ctx)

    # ---- helpers for the watches ---------------------------------------------------------

    def metric_attributes(self, ctx: CallContext, attrs_: dict[str, Any]) -> dict[str, Any]:
        keep = (genai.OPERATION_NAME, genai.PROVIDER_NAME, genai.SERVER_ADDRESS, genai.SERVER_PORT)
        out = {k: attrs_[k] for k in keep if k in attrs_}
        for key in (genai.REQUEST_MODEL, genai.RESPONSE_MODEL):
            if key in attrs_:
                out[key] = self._guard.admit(key, attrs_[key])
        return out

    def breaker_opens(self) -> list[MetricLabels]:
        """Targets whose breaker opened since the last look (from the client's signals)."""
        if self.stats is None:
            return []
        snap = self.stats.snapshot()
        new = snap.breaker_opens - self._opens_seen
        if new <= 0:
            return []
        self._opens_seen = snap.breaker_opens
        opened = [key for key, _old, state in snap.breaker_transitions if state == "open"]
        out = []
        for key in opened[-new:]:
            provider, _, rest = key.partition("|")
            out.append(MetricLabels(provider, rest.rpartition("|")[2] or "unknown"))
        return out


class CallWatch:
    """One user call: its span, stream timings and, when it ends, every record."""

    __slots__ = (
        "chunk_attributes", "chunks", "ctx", "first", "last", "span", "started", "telemetry",
        "ttft",
    )  # fmt: skip

    def __init__(self, telemetry: Telemetry, ctx: CallContext) -> None:
        self.telemetry = telemetry
        self.ctx = ctx
        self.started = time.monotonic()
        self.first: float | None = None
        self.last: float | None = None
        self.chunks = 0
        self.ttft: float | None = None
        self.chunk_attributes: dict[str, Any] | None = None
        tracer = telemetry.tracer
        if tracer is None:
            self.span: Span | None = None
        else:
            attributes = genai.request_attributes(ctx)
            if telemetry.options.capture_content:
                attributes.update(genai.content_attributes(ctx))
            name = f"{genai.operation_of(ctx)} {ctx.target.model}"
            self.span = tracer.start_span(name, attributes, kind="client")

    def active(self) -> Any:
        """The call's span made current while the chain runs (not ended on exit)."""
        span = self.span
        if span is None or span.otel_span is None:
            return contextlib.nullcontext()
        return _current(span)

    def on_event(self, ctx: CallContext, event: Any) -> None:
        if getattr(event, "kind", None) not in CHUNK_KINDS:
            return
        now = time.monotonic()
        self.chunks += 1
        if self.first is None:
            self.first = now
            self.ttft = now - self.started
            if self.span is not None:
                self.span.set_attribute(genai.RESPONSE_TTFC, self.ttft)
        elif self.last is not None and self.telemetry.instruments is not None:
            if self.chunk_attributes is None:  # once per stream, not per chunk
                attributes = genai.target_attributes(ctx)
                self.chunk_attributes = self.telemetry.metric_attributes(ctx, attributes)
            self.telemetry.instruments.per_chunk.record(now - self.last, self.chunk_attributes)
        self.last = now

    def finish(self, ctx: CallContext) -> None:
        """The call's outcome is final: end its span, record its metrics, log it."""
        try:
            self._finish(ctx)
        except Exception:  # telemetry never fails a call; its own bug is reported
            logging.getLogger(TELEMETRY_LOGGER).warning(
                "ailib telemetry failed to record a call", exc_info=True
            )

    def _finish(self, ctx: CallContext) -> None:
        telemetry = self.telemetry
        latency = time.monotonic() - self.started
        error = ctx.error
        response = ctx.response
        status = "error" if error is not None else "cancelled" if ctx.closed_early else "success"
        attributes: dict[str, Any] = {}
        if self.span is not None or telemetry.instruments is not None:  # OpenTelemetry's
            attributes = genai.target_attributes(ctx)
            if response is not None:
                attributes.update(genai.response_attributes(response))
            if error is not None:
                attributes[genai.ERROR_TYPE] = genai.error_type(error)
        usage = response.usage if response is not None else None
        tokens_in = usage.input_tokens if usage is not None else 0
        tokens_out = usage.output_tokens if usage is not None else 0
        tpot = None
        if self.first is not None and self.last is not None and self.last > self.first:
            steps = (tokens_out or self.chunks) - 1
            tpot = (self.last - self.first) / steps if steps > 0 else None
        if self.span is not None:
            self._end_span(ctx, attributes, response, error)
        if telemetry.instruments is not None:
            self._record_otel(ctx, attributes, latency, tokens_in, tokens_out)
        collector = telemetry.collector
        labels = MetricLabels(ctx.target.provider, ctx.target.model, operation_label(ctx))
        if collector is not None:
            cost = response.cost if response is not None else None
            collector.record_request(
                labels,
                latency,
                status,
                tokens_in,
                tokens_out,
                error_code=genai.error_type(error) if error is not None else None,
                cost=cost.total_cost if cost is not None else 0.0,
                currency=cost.currency if cost is not None else "USD",
                ttft=self.ttft,
                time_per_output_token=tpot,
                retries=ctx.retries,
            )
            for hop in ctx.hops:
                collector.record_fallback(
                    MetricLabels.parse(hop.target, operation=operation_label(ctx))
                )
            if error is not None or ctx.hops or ctx.retries:
                for opened in telemetry.breaker_opens():
                    collector.record_breaker_open(opened)
        if telemetry.log is not None:
            self._log(ctx, status, latency, tokens_in, tokens_out, tpot)

    def _end_span(
        self, ctx: CallContext, attributes: dict[str, Any], response: Any, error: Any
    ) -> None:
        span = self.span
        assert span is not None
        span.set_attributes(attributes)
        span.set_attribute("ailib.attempts", ctx.attempt)
        span.set_attribute("ailib.retries", ctx.retries)
        if ctx.served_by:
            span.set_attribute("ailib.served_by", ctx.served_by)
        for hop in ctx.hops:
            span.add_event(
                "ailib.fallback",
                {"ailib.fallback.from": hop.target, "ailib.fallback.reason": hop.reason,
                 "ailib.fallback.code": hop.code or "", "ailib.fallback.sent": hop.sent},
            )  # fmt: skip
        if ctx.closed_early:
            span.set_attribute("ailib.closed_early", True)
        if response is not None and self.telemetry.options.capture_content:
            span.set_attributes(genai.output_attributes(response))
        if error is not None:
            span.record_exception(error).set_error(error)
        span.end()

    def _record_otel(
        self,
        ctx: CallContext,
        attributes: dict[str, Any],
        latency: float,
        tokens_in: int,
        tokens_out: int,
    ) -> None:
        instruments = self.telemetry.instruments
        assert instruments is not None
        shared = self.telemetry.metric_attributes(ctx, attributes)
        if genai.ERROR_TYPE in attributes:
            shared[genai.ERROR_TYPE] = attributes[genai.ERROR_TYPE]
        instruments.duration.record(latency, shared)
        if self.ttft is not None:
            instruments.first_chunk.record(self.ttft, shared)
        if tokens_in or tokens_out:
            without_error = {k: v for k, v in shared.items() if k != genai.ERROR_TYPE}
            instruments.tokens.record(tokens_in, {**without_error, genai.TOKEN_TYPE: "input"})
            instruments.tokens.record(tokens_out, {**without_error, genai.TOKEN_TYPE: "output"})

    def _log(
        self,
        ctx: CallContext,
        status: str,
        latency: float,
        tokens_in: int,
        tokens_out: int,
        tpot: float | None,
    ) -> None:
        log = self.telemetry.log
        assert log is not None
        error = ctx.error
        level = logging.WARNING if error is not None else logging.INFO
        if not log.is_enabled_for(level):
            return
        response = ctx.response
        fields: dict[str, Any] = {
            "event": "ailib.call",
            "operation": operation_label(ctx),
            "provider": ctx.target.provider,
            "model": ctx.target.model,
            "status": status,
            "attempt": ctx.attempt,
            "retries": ctx.retries,
            "latency_ms": round(latency * 1000.0, 3),
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "request_id": _request_id(ctx),
        }
        if error is not None:
            fields["code"] = genai.error_type(error)
            fields["http_status"] = getattr(error, "status", None)
            fields["error"] = str(error)[:500]
        if response is not None:
            fields["response_id"] = response.id
            fields["finish_reason"] = response.finish_reason
            if response.cost is not None:
                fields["cost"] = response.cost.total_cost
        if self.ttft is not None:
            fields["ttft_ms"] = round(self.ttft * 1000.0, 3)
        if tpot is not None:
            fields["time_per_token_ms"] = round(tpot * 1000.0, 3)
        if ctx.hops:
            fields["fallbacks"] = [f"{h.target} ({h.reason})" for h in ctx.hops]
            fields["served_by"] = ctx.served_by
        if self.telemetry.options.log_content:
            fields.update(_content_fields(ctx))
        what = f"{operation_label(ctx)} {ctx.target.label}"
        log.log(level, "%s %s in %.1f ms", what, status, latency * 1000.0, **fields)


class AttemptWatch:
    """One HTTP attempt: a child span of the call's, a record when it fails."""

    __slots__ = ("ctx", "number", "span", "started", "telemetry")

    def __init__(self, telemetry: Telemetry, ctx: CallContext) -> None:
        self.telemetry = telemetry
        self.ctx = ctx
        self.number = ctx.attempt + 1
        self.started = time.monotonic()
        self.span: Span | None = None
        if telemetry.tracer is not None:
            attributes = genai.target_attributes(ctx)
            attributes["ailib.attempt.number"] = self.number
            parent = ctx.metadata.get(_SPAN)
            self.span = telemetry.tracer.start_span(
                "ailib.attempt", attributes, kind="client", parent=parent
            )
            if self.number > 1 and isinstance(parent, Span):
                parent.add_event("ailib.retry", {"ailib.attempt.number": self.number})
        log = telemetry.log
        if log is not None and log.is_enabled_for(logging.DEBUG):
            _log_request(log, ctx, self.number, telemetry.options.log_content)

    def active(self) -> Any:
        span = self.span
        if span is None or span.otel_span is None:
            return contextlib.nullcontext()
        return _current(span)

    def succeeded(self, result: Any) -> None:
        status = getattr(result, "status_code", None)  # a stream's opened response
        if status is not None:
            headers = getattr(result, "headers", None)
            request_id = self.ctx.target.engine._request_id(headers) if headers else None
            if request_id:
                self.ctx.metadata["telemetry.request_id"] = request_id
        if self.span is not None:
            if isinstance(status, int):
                self.span.set_attribute("http.response.status_code", status)
            self.span.end()
        log = self.telemetry.log
        if log is not None and log.is_enabled_for(logging.DEBUG):
            log.debug(
                "%s attempt %d ok", self.ctx.target.label, self.number,
                event="ailib.attempt", attempt=self.number, provider=self.ctx.target.provider,
                model=self.ctx.target.model, status="success",
                latency_ms=round((time.monotonic() - self.started) * 1000.0, 3),
            )  # fmt: skip

    def failed(self, error: BaseException) -> None:
        if not isinstance(error, Exception):  # cancelled, closed: no failure to report
            if self.span is not None:
                self.span.set_attribute("ailib.cancelled", True)
                self.span.end()
            return
        if self.span is not None:
            status = getattr(error, "status", None)
            if isinstance(status, int):
                self.span.set_attribute("http.response.status_code", status)
            self.span.record_exception(error).set_error(error)
            self.span.end()
        log = self.telemetry.log
        if log is not None and log.is_enabled_for(logging.INFO):
            code = genai.error_type(error)
            log.info(
                "%s attempt %d failed: %s", self.ctx.target.label, self.number, code,
                event="ailib.attempt", attempt=self.number, provider=self.ctx.target.provider,
                model=self.ctx.target.model, status="error", code=code,
                http_status=getattr(error, "status", None),
                retryable=getattr(error, "retryable", None),
                request_id=getattr(error, "request_id", None),
                latency_ms=round((time.monotonic() - self.started) * 1000.0, 3),
                error=str(error)[:500],
            )  # fmt: skip


def operation_label(ctx: CallContext) -> str:
    """The call's ``operation`` label: ``chat``, ``stream``, or the endpoint of a post or
    get the client made (``embeddings``, ``count_tokens``, ``list_models``)."""
    if ctx.operation in CHAT_OPERATIONS:
        return ctx.operation
    return str(ctx.metadata.get(ENDPOINT) or ctx.operation)


@contextlib.contextmanager
def _current(span: Span) -> Iterator[None]:
    context = importlib.import_module("opentelemetry.context")
    trace = importlib.import_module("opentelemetry.trace")
    token = context.attach(trace.set_span_in_context(span.otel_span))
    try:
        yield
    finally:
        context.detach(token)


def _request_id(ctx: CallContext) -> str | None:
    if ctx.response is not None and ctx.response.request_id:
        return ctx.response.request_id
    found = getattr(ctx.error, "request_id", None)
    if found:
        return str(found)
    value = ctx.metadata.get("telemetry.request_id")
    return str(value) if value else None


def _content_fields(ctx: CallContext) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ctx.request is not None:
        out["prompt"] = [
            {"role": m.role.value, "content": m.content if isinstance(m.content, str) else
             [b.text_value if b.type == "text" else f"[{b.type}]" for b in m.content]}
            for m in ctx.request.messages
        ]  # fmt: skip
    if ctx.response is not None:
        out["completion"] = ctx.response.content
    return out


def _log_request(log: Any, ctx: CallContext, number: int, with_body: bool) -> None:
    """The DEBUG dump of an attempt's request: URL and headers masked, body on opt-in."""
    from ailib.runtime.redact import MASK, mask_known

    try:
        prepared = ctx.prepared()
    except Exception:  # a request the target cannot carry: the engine says so next
        return
    headers = getattr(ctx.target.engine, "_headers", {}) or {}
    hides = getattr(headers, "hides", None)
    shown = {k: MASK if (hides(k) if hides else True) else v for k, v in headers.items()}
    fields: dict[str, Any] = {
        "event": "ailib.request",
        "attempt": number,
        "provider": ctx.target.provider,
        "model": ctx.target.model,
        "url": mask_known(prepared.url),
        "headers": shown,
    }
    if with_body:
        fields["body"] = prepared.body.decode("utf-8", "replace")
    method = "GET" if ctx.operation in ("get", "download") else "POST"
    what = f"%s request attempt %d: {method} %s"
    log.debug(what, ctx.target.label, number, fields["url"], **fields)
