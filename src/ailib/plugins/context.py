"""What a hook or a middleware sees of a call: :class:`PluginContext`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ailib.errors import InvalidRequestError

if TYPE_CHECKING:
    from ailib.runtime.context import CallContext


class PluginContext:
    """One call as plugins see it: model, provider, request, outcome, metadata.

    Inside a client it is a view of the call: ``model``, ``provider``, ``attempt``,
    ``retries`` and ``elapsed`` are live, ``metadata`` is the call's own dict (shared
    with the other layers), and setting ``request`` (or changing its ``messages`` or
    ``params`` in place, in ``on_before_request`` or a middleware) changes what is sent.
    ``request`` is the provider-neutral :class:`~ailib.dialects.ChatRequest`.

    It can also be built by hand, to drive a registry directly (the seed README)::

        ctx = PluginContext(model="gpt-4o", request={"messages": [...]})
        await registry.trigger_before_request(ctx)
    """

    __slots__ = (
        "_call",
        "_metadata",
        "_model",
        "_operation",
        "_provider",
        "_request",
        "_started",
        "error",
        "event",
        "response",
    )

    def __init__(
        self,
        model: str = "",
        request: Any = None,
        *,
        provider: str | None = None,
        operation: str = "chat",
        response: Any = None,
        error: BaseException | None = None,
        event: Any = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._call: CallContext | None = None
        self._model = model
        self._provider = provider
        self._operation = operation
        self._request = request
        self._metadata = metadata if metadata is not None else {}
        self._started = time.monotonic()
        #: the call's response (``ChatResponse``) once it succeeded; for a stream, the
        #: accumulated response when it ended
        self.response = response
        #: the error the call failed with (``on_error``, ``on_complete``)
        self.error = error
        #: the stream event being delivered (``on_stream_event``)
        self.event = event

    @classmethod
    def for_call(cls, call: CallContext) -> PluginContext:
        """The plugins' view of a pipeline call."""
        ctx = cls(operation=call.operation, metadata=call.metadata)
        ctx._call = call
        return ctx

    @property
    def call(self) -> CallContext | None:
        """The pipeline's CallContext behind this view (None when built by hand)."""
        return self._call

    @property
    def model(self) -> str:
        """The model the call goes to now (a fallback may change it)."""
        return self._call.target.model if self._call is not None else self._model

    @property
    def provider(self) -> str | None:
        """The provider id the call goes to now (``"openai"``...)."""
        return self._call.target.provider if self._call is not None else self._provider

    @property
    def operation(self) -> str:
        """``"chat"``, ``"stream"``, or ``"post"`` / ``"get"`` / ``"download"`` for a
        provider endpoint (``metadata["endpoint"]``: ``"embeddings"``, ``"count_tokens"``,
        ``"list_models"``)."""
        return self._operation

    @property
    def stream(self) -> bool:
        return self._operation == "stream"

    @property
    def request(self) -> Any:
        """The request to send: a ChatRequest inside a client."""
        return self._call.request if self._call is not None else self._request

    @request.setter
    def request(self, value: Any) -> None:
        if self._call is None:
            self._request = value
            return
        from ailib.dialects import ChatRequest

        if self._call.request is None:  # a post/get (embeddings...): sent as prepared
            raise InvalidRequestError(
                f"a {self._operation!r} call ({self._metadata.get('endpoint', 'endpoint')}) "
                "has no chat request to replace"
            )
        if not isinstance(value, ChatRequest):
            raise InvalidRequestError(
                f"ctx.request must be a ChatRequest (use attrs.evolve(ctx.request, ...)), "
                f"got {type(value).__name__}"
            )
        self._call.request = value
        self._call.forget_prepared()  # the new request is what goes on the wire

    @property
    def metadata(self) -> dict[str, Any]:
        """Free room shared by the plugins, middlewares and layers of one call."""
        return self._metadata

    @property
    def attempt(self) -> int:
        """HTTP attempts started so far (0 before the request is sent)."""
        return self._call.attempt if self._call is not None else 0

    @property
    def retries(self) -> int:
        """Retries made so far."""
        return self._call.retries if self._call is not None else 0

    @property
    def served_by(self) -> str | None:
        """``provider/model`` that served the call, once it has a response."""
        if self._call is None:
            return None
        if self._call.served_by is not None:
            return self._call.served_by
        return self._call.target.label if self.response is not None else None

    @property
    def closed_early(self) -> bool:
        """A stream the caller closed (or stopped reading) before its end."""
        return self._call.closed_early if self._call is not None else False

    @property
    def elapsed(self) -> float:
        """Seconds since the call started."""
        if self._call is not None:
            return self._call.elapsed()
        return time.monotonic() - self._started

    def __repr__(self) -> str:
        state = "error" if self.error is not None else "response" if self.response else "pending"
        return (
            f"PluginContext(operation={self._operation!r}, provider={self.provider!r}, "
            f"model={self.model!r}, {state})"
        )
