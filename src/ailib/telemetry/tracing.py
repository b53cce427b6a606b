"""Tracing on top of the OpenTelemetry API (optional extra ``ailib[otel]``).

:class:`Tracer` is the seed's API: ``with Tracer("svc").span("name") as span:``. Spans
go to the global tracer provider (or the one given). Without OpenTelemetry installed,
every span is one shared no-op object: nothing is recorded and almost nothing is paid.

Example::

    tracer = Tracer("my_service")
    with tracer.span("api_call") as span:
        span.set_attribute("model", "gpt-4o")
        ...
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any

__all__ = ["NOOP_SPAN", "Span", "Tracer", "otel_available", "require_otel"]

_KINDS = ("internal", "client", "server", "producer", "consumer")
_trace_api: Any = None
_checked = False


def _load() -> Any:
    """The ``opentelemetry.trace`` module, or None (looked up once)."""
    global _trace_api, _checked
    if not _checked:
        try:
            _trace_api = importlib.import_module("opentelemetry.trace")
        except ImportError:
            _trace_api = None
        _checked = True
    return _trace_api


def otel_available() -> bool:
    """Whether the OpenTelemetry API is installed."""
    return _load() is not None


def require_otel(what: str) -> Any:
    """``opentelemetry.trace``, or a ConfigurationError naming the extra to install."""
    api = _load()
    if api is None:
        from ailib.errors import ConfigurationError

        raise ConfigurationError(f"{what} needs the OpenTelemetry API: pip install 'ailib[otel]'")
    return api


class Span:
    """One span: attributes, events, the error; ``end()`` (or leave the ``with``).

    Wraps an OpenTelemetry span (``.otel_span``); the no-op span (no OpenTelemetry)
    accepts the same calls and records nothing.
    """

    __slots__ = ("otel_span",)

    def __init__(self, otel_span: Any = None) -> None:
        self.otel_span = otel_span

    @property
    def is_recording(self) -> bool:
        return self.otel_span is not None and bool(self.otel_span.is_recording())

    def set_attribute(self, key: str, value: Any) -> Span:
        if self.otel_span is not None and value is not None:
            self.otel_span.set_attribute(key, value)
        return self

    def set_attributes(self, attributes: Mapping[str, Any]) -> Span:
        if self.otel_span is not None:
            self.otel_span.set_attributes({k: v for k, v in attributes.items() if v is not None})
        return self

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> Span:
        if self.otel_span is not None:
            self.otel_span.add_event(name, dict(attributes or {}))
        return self

    def set_error(self, error: BaseException | str, error_type: str | None = None) -> Span:
        """Mark the span failed: status ERROR and ``error.type``."""
        if self.otel_span is not None:
            from ailib.telemetry.genai import ERROR_TYPE
            from ailib.telemetry.genai import error_type as type_of

            kind = error_type or (error if isinstance(error, str) else type_of(error))
            self.otel_span.set_attribute(ERROR_TYPE, kind)
            status = importlib.import_module("opentelemetry.trace.status")
            message = kind if isinstance(error, str) else f"{kind}: {_message(error)}"
            self.otel_span.set_status(status.Status(status.StatusCode.ERROR, message))
        return self

    def record_exception(self, error: BaseException) -> Span:
        """Record ``error`` as an event (type and masked message; no traceback)."""
        if self.otel_span is not None:
            self.otel_span.add_event(
                "exception",
                {"exception.type": type(error).__qualname__, "exception.message": _message(error)},
            )
        return self

    def end(self) -> None:
        if self.otel_span is not None:
            self.otel_span.end()

    def __enter__(self) -> Span:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and not isinstance(exc, GeneratorExit):
            self.record_exception(exc).set_error(exc)
        self.end()


def _version() -> str:
    import ailib

    return ailib.__version__


def _message(error: BaseException) -> str:
    from ailib.runtime.redact import mask_known

    return mask_known(str(error))[:500]


#: the span of a tracer without OpenTelemetry: records nothing
NOOP_SPAN = Span()


class _Scope:
    """A started span made current for the ``with`` block; ends it on exit."""

    __slots__ = ("_token", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self._token: Any = None

    def __enter__(self) -> Span:
        context = importlib.import_module("opentelemetry.context")
        api = _load()
        self._token = context.attach(api.set_span_in_context(self.span.otel_span))
        return self.span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        importlib.import_module("opentelemetry.context").detach(self._token)
        self.span.__exit__(exc_type, exc, tb)


class Tracer:
    """Makes spans named by you, on the global (or a given) OpenTelemetry provider.

    Example::

        tracer = Tracer("my_service")
        with tracer.span("api_call", attributes={"model": "gpt-4o"}) as span:
            span.add_event("retrying")
        span = tracer.start_span("background")  # not made current; call span.end()
    """

    __slots__ = ("_tracer", "name")

    def __init__(
        self, name: str = "ailib", *, tracer_provider: Any = None, version: str | None = None
    ) -> None:
        self.name = name
        api = _load()
        if api is None:
            self._tracer: Any = None
        else:
            self._tracer = api.get_tracer(name, version or _version(), tracer_provider)

    @property
    def enabled(self) -> bool:
        """Whether spans reach OpenTelemetry (False: it is not installed)."""
        return self._tracer is not None

    @property
    def otel_tracer(self) -> Any:
        return self._tracer

    def start_span(
        self,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        kind: str = "internal",
        parent: Span | None = None,
    ) -> Span:
        """A started span (a child of ``parent``, else of the current span); not made
        current. End it with ``span.end()``."""
        if self._tracer is None:
            return NOOP_SPAN
        api = _load()
        if kind not in _KINDS:
            from ailib.errors import InvalidRequestError

            raise InvalidRequestError(f"span kind must be one of {_KINDS}, got {kind!r}")
        context = None
        if parent is not None and parent.otel_span is not None:
            context = api.set_span_in_context(parent.otel_span)
        clean = {k: v for k, v in (attributes or {}).items() if v is not None}
        span = self._tracer.start_span(
            name, context=context, kind=getattr(api.SpanKind, kind.upper()), attributes=clean
        )
        return Span(span)

    def span(
        self,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        kind: str = "internal",
        parent: Span | None = None,
    ) -> Any:
        """A span current for the ``with`` block, ended (with the error, if any) on exit."""
        if self._tracer is None:
            return NOOP_SPAN
        return _Scope(self.start_span(name, attributes, kind=kind, parent=parent))

    def __repr__(self) -> str:
        return f"Tracer({self.name!r}, enabled={self.enabled})"
