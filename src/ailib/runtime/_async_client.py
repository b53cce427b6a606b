"""AsyncAiClient: ``"provider/model"`` in, unified responses out (async).

``_sync_client.py`` is generated from this file by ``python -m codegen``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, overload

from ailib.errors import AiLibError, StructuredOutputError
from ailib.runtime.builder import ChatBuilderBase, call_context
from ailib.runtime.client_builder import ClientBuilderBase
from ailib.runtime.create_args import check_base_url, check_model_arg, manifest_path_list
from ailib.runtime.registry import has_overrides, interpreted_spec, provider_class, split_model
from ailib.structured._typing import ParsedT, SchemaT

if TYPE_CHECKING:  # the engine, httpx and the types load on create(), keeping import light
    import httpx
    from typing_extensions import Self  # typing.Self needs Python 3.11

    from ailib.batches._async_batches import AsyncBatches
    from ailib.protocol.hot import ProtocolLoader
    from ailib.protocol.manifest import Manifest
    from ailib.resilience.signals import ResilienceStats, SignalsSnapshot
    from ailib.runtime._async_engine import AsyncChatStream, AsyncEngine
    from ailib.runtime._async_pipeline import AsyncPipeline
    from ailib.runtime.context import CallContext
    from ailib.runtime.limits import Limits
    from ailib.structured.json_mode import JsonModeConfig, StructuredMode
    from ailib.tokens.services import ModelInfo, TokenCount
    from ailib.transport import AsyncHttpClient
    from ailib.transport.pool import ConnectionPool
    from ailib.types.messages import Message
    from ailib.types.response import ChatResponse
    from ailib.types.tools import ToolDefinition


class AsyncChatBuilder(ChatBuilderBase, Generic[ParsedT]):
    """Fluent request builder; finish with ``await .execute()`` or ``.stream()``."""

    def __init__(self, client: AsyncAiClient | AsyncEngine, model: str) -> None:
        super().__init__(model)
        self._client = client

    @overload
    def response_format(self, schema: JsonModeConfig[SchemaT]) -> AsyncChatBuilder[SchemaT]: ...
    @overload
    def response_format(
        self,
        schema: type[SchemaT],
        *,
        mode: StructuredMode | None = None,
        max_repairs: int | None = None,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
    ) -> AsyncChatBuilder[SchemaT]: ...
    @overload
    def response_format(
        self,
        schema: Mapping[str, Any],
        *,
        mode: StructuredMode | None = None,
        max_repairs: int | None = None,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
    ) -> AsyncChatBuilder[Any]: ...
    def response_format(
        self,
        schema: Any,
        *,
        mode: StructuredMode | None = None,
        max_repairs: int | None = None,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
    ) -> AsyncChatBuilder[Any]:
        """Ask for JSON fitting ``schema`` and get it back typed in ``resp.parsed``.

        ``schema``: an attrs class, dataclass, TypedDict, pydantic model, JSON Schema dict,
        provider-shaped ``response_format`` dict or :class:`JsonModeConfig`. ``mode``:
        ``"native"`` (the provider's own structured output; CapabilityError before sending
        where it has none) or ``"prompt"`` (the schema in the system prompt).
        ``max_repairs``: how often an invalid answer goes back to the model with the
        problem before StructuredOutputError is raised.
        """
        options = {"mode": mode, "max_repairs": max_repairs, "name": name}
        self._set_response_format(schema, description=description, strict=strict, **options)
        return self

    async def execute(self) -> ChatResponse[ParsedT]:
        """Send the request through the client's pipeline; the unified response.

        With ``.response_format(...)`` the answer is validated into ``parsed``; an invalid
        one is sent back for repair up to ``max_repairs`` times (each a new call through
        the pipeline), then raises StructuredOutputError.
        """
        req = self.build(stream=False)
        config = self._structured
        if config is None:
            return await self._client.execute(req)
        attempts = 0
        while True:
            response = await self._client.execute(req)
            attempts += 1
            try:
                return config.finish(response)
            except StructuredOutputError as err:
                err.attempts = attempts
                if attempts > config.max_repairs:
                    raise
                req = config.repair_request(req, err)

    def stream(self) -> AsyncChatStream[ParsedT]:
        """The streamed events; open with ``async with`` or iterate (the call starts then)."""
        stream = self._client.stream(self.build(stream=True))
        stream.structured = self._structured
        return stream


class AsyncClientBuilder(ClientBuilderBase):
    """Builds an :class:`AsyncAiClient` with resilience, fallbacks and plugins.

    Example::

        client = await (AsyncAiClient.builder()
                        .model("openai/gpt-4o")
                        .production_ready()
                        .with_fallbacks(["anthropic/claude-sonnet-4-5"])
                        .build())
    """

    async def build(self) -> AsyncAiClient:
        from ailib.runtime.assemble_client import fallback_options

        model = self._checked_model()
        client = await AsyncAiClient.create(model, **self._options)
        try:
            for target in self._fallbacks:
                options = fallback_options(self._options, target, client.provider_id)
                client._fallback_clients.append(await AsyncAiClient.create(target.model, **options))
            client._install(self)
        except BaseException:
            await client.aclose()
            raise
        return client


class AsyncAiClient:
    """One client for every provider, addressed as ``provider/model``.

    Example::

        async with await AsyncAiClient.create("anthropic/claude-sonnet-4-5") as client:
            resp = await client.chat().user("Hello").execute()
    """

    def __init__(
        self,
        engine: AsyncEngine,
        model: str,
        *,
        loader: ProtocolLoader | None = None,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        self._engine = self._root = engine
        self.model = model
        self.loader = loader
        self._owns_loader = False
        from ailib.runtime.redact import masked_options  # loaded with the engine, not on import

        self._options = masked_options(engine_options or {})
        self._refused: object = None  # a reloaded spec no engine could be built from
        from ailib.resilience.signals import ResilienceStats
        from ailib.runtime.assemble_client import async_pipeline

        self.stats: ResilienceStats = ResilienceStats()
        self._fallback_clients: list[AsyncAiClient] = []
        self._layers: dict[str, Any] = {}
        self._store: Any = None  # the state store the layers share (breaker, limiter...)
        self._pipeline: AsyncPipeline = async_pipeline(self, None)
        self._eager = True  # refuse a request the target cannot carry at .execute()/.stream()

    @classmethod
    def builder(cls) -> AsyncClientBuilder:
        """A builder for a client with resilience, fallbacks and plugins::

        client = await AsyncAiClient.builder().model("openai/gpt-4o").production_ready().build()
        """
        return AsyncClientBuilder()

    def _install(self, settings: ClientBuilderBase) -> None:
        """Build the pipeline the builder's settings describe (called by ``build()``)."""
        from ailib.runtime.assemble_client import async_pipeline

        self._pipeline = async_pipeline(self, settings)
        self._eager = not self._fallback_clients

    @classmethod
    async def create(
        cls,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        retry_policy: dict[str, Any] | None = None,
        http_client: AsyncHttpClient | None = None,
        drop_unsupported: bool = False,
        default_headers: dict[str, str] | None = None,
        manifest: str | os.PathLike[str] | Manifest | None = None,
        manifest_paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] = (),
        hot_reload: bool = False,
        loader: ProtocolLoader | None = None,
        limits: Limits | None = None,
        allow_insecure_http: bool = False,
        stream_idle_timeout: float | None = None,
        stream_timeout: float | None = None,
        transport: str | None = None,
        pool: ConnectionPool | None = None,
    ) -> AsyncAiClient:
        """Create a client for ``provider/model-id``; the key defaults to the manifest's env var.

        ``manifest`` (a path or a Manifest) serves a provider that was not compiled: the
        runtime interprets it, with the same results as a generated module.
        ``retry_policy`` overrides keys of the manifest's policy (``max_retries``,
        ``min_delay_ms``, ``max_delay_ms``, ``jitter``, ``retry_on_http_status``).
        ``manifest_paths`` come first on the manifest search path (then AI_PROTOCOL_PATH,
        the user config dir, the built-ins; one str or path is one entry);
        ``hot_reload=True`` watches those files and applies a changed manifest to the next
        request. A ``base_url`` that is not an http(s) URL with a host raises
        ``ConfigurationError`` here, before any request.
        Credentials are never sent over plain ``http://`` to a host that is not loopback
        (``InsecureTransportError`` here) unless ``allow_insecure_http=True``.
        ``timeout`` (seconds) also bounds each non-streamed attempt as a whole: connect,
        headers and body (an ``httpx.Timeout``: its largest value; E3003 when exceeded).
        ``limits`` bounds response bodies, lines and inflation (``Limits``).
        ``stream_idle_timeout`` / ``stream_timeout``: a stream fails (E3003, with its
        partial) after that long without content / in all.
        ``transport`` picks the HTTP backend (``"httpx"``, ``"httpx2"``, ``"aiohttp"``;
        default: ``AI_LIB_TRANSPORT``, else httpx); ``pool`` shares an
        ``ailib.transport.ConnectionPool``'s connections with other clients.
        Environment: ``AI_HTTP_TIMEOUT_SECS`` is the default ``timeout``; a set
        ``AI_LIB_RPS`` / ``AI_LIB_MAX_INFLIGHT`` adds a rate limiter / an in-flight cap.
        """
        provider_id, model_id = split_model(check_model_arg(model))
        if http_client is not None:  # transport= / pool= would be ignored beside it
            from ailib.transport.backends import check_transport_choice

            check_transport_choice(http_client, transport, pool)
        paths = manifest_path_list(manifest_paths)  # one str is one path, not characters
        if base_url is not None:
            check_base_url(base_url, provider=provider_id)  # before any file or connection
        if timeout is None and os.environ.get("AI_HTTP_TIMEOUT_SECS", "").strip():
            from ailib.resilience.config import env_timeout

            timeout = env_timeout()
        kwargs: dict[str, Any] = {
            "api_key": api_key,
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
            "retry_policy": retry_policy,
            "http_client": http_client,
            "drop_unsupported": drop_unsupported,
            "default_headers": default_headers,
            "limits": limits,
            "allow_insecure_http": allow_insecure_http,
            "stream_idle_timeout": stream_idle_timeout,
            "stream_timeout": stream_timeout,
            "transport": transport,
            "pool": pool,
        }
        from ailib.protocol.hot import ProtocolLoader
        from ailib.runtime._async_engine import AsyncEngine

        if manifest is not None:
            engine = AsyncEngine(spec=interpreted_spec(manifest, provider_id), **kwargs)
            return cls(engine, model_id)
        owns_loader = loader is None
        if loader is None and (paths or hot_reload or has_overrides(provider_id)):
            loader = ProtocolLoader(paths, hot_reload=hot_reload)
        if loader is None:  # the compiled fast path: no file on the search path
            typed = provider_class(provider_id, asynchronous=True)
            return cls(typed(spec=typed.spec, **kwargs), model_id)
        spec = loader.get(provider_id)
        if spec.compiled:
            engine = provider_class(provider_id, asynchronous=True)(spec=spec, **kwargs)
        else:
            engine = AsyncEngine(spec=spec, **kwargs)
        options = {**kwargs, "http_client": engine._client}
        client = cls(
            engine, model_id, loader=loader if loader.hot_reload else None, engine_options=options
        )
        client._owns_loader = owns_loader
        return client

    def _current(self) -> AsyncEngine:
        """The engine for the manifest in force now (a new one after a hot reload)."""
        if self.loader is not None:
            spec = self.loader.get(self.provider_id)
            if spec is not self._engine.spec and spec is not self._refused:
                from ailib.runtime._async_engine import AsyncEngine

                try:
                    self._engine = AsyncEngine(spec=spec, **self._options)
                except AiLibError as exc:  # e.g. a bad base_url: keep the last good engine
                    self._refused = spec
                    self.loader.errors[self.provider_id] = exc
                    import logging  # only here: `from ailib import AiClient` stays light

                    logging.getLogger("ailib").error(
                        "ailib: rejected manifest change for %r, keeping the last good one: %s",
                        self.provider_id,
                        exc,
                    )
        return self._engine

    @property
    def provider(self) -> AsyncEngine:
        """The typed provider object behind this client."""
        return self._engine

    @property
    def provider_id(self) -> str:
        return self._root.spec.id

    def chat(self) -> AsyncChatBuilder:
        return AsyncChatBuilder(self, self.model)

    # ---- calls, through the pipeline ---------------------------------------------------

    def _context(self, operation: str, req: Any) -> CallContext:
        engine = self._engine if self.loader is None else self._current()
        ctx = call_context(operation, engine, self.model, req)
        if self._eager:
            ctx.prepared()  # refused here, before any layer runs (no fallback to go to)
        return ctx

    async def execute(self, req: Any) -> ChatResponse:
        """Run a built ``ChatRequest`` through the pipeline (``chat()...execute()`` calls this)."""
        response: ChatResponse = await self._pipeline.run(self._context("chat", req))
        return response

    def stream(self, req: Any) -> AsyncChatStream:
        """A stream of a built ``ChatRequest`` (``chat()...stream()`` calls this)."""
        from ailib.runtime._async_stream import AsyncChatStream

        return AsyncChatStream(self._pipeline, self._context("stream", req))

    async def count_tokens(
        self,
        messages: Sequence[Message | dict[str, Any]],
        *,
        tools: Sequence[ToolDefinition | dict[str, Any]] | None = None,
    ) -> TokenCount:
        """Input tokens of a request: the provider's own count_tokens endpoint where its
        manifest declares one (Anthropic, Gemini), else counted locally (tiktoken/estimate).
        The endpoint is called through this client's pipeline (operation ``"post"``)."""
        from ailib.tokens import _async_endpoints as endpoints

        engine, pipeline = self._current(), self._pipeline
        return await endpoints.acount_tokens(
            engine, self.model, messages, tools=tools, pipeline=pipeline
        )

    async def list_models(self) -> list[ModelInfo]:
        """The provider's models (manifest ``services.list_models``); CapabilityError if none.
        Each page is fetched through this client's pipeline (operation ``"get"``)."""
        from ailib.tokens import _async_endpoints as endpoints

        return await endpoints.alist_models(
            self._current(), model=self.model, pipeline=self._pipeline
        )

    @property
    def batches(self) -> AsyncBatches:
        """The provider's batch API (manifest ``batch:``; CapabilityError if none)::

        job = await client.batches.create([client.chat().user("Hi")])
        """
        from ailib.batches._async_batches import AsyncBatches

        return AsyncBatches(self)

    # ---- what the pipeline holds and knows ---------------------------------------------

    @property
    def pipeline(self) -> AsyncPipeline:
        """The chain of layers every call passes through; ``print(client.pipeline)``."""
        return self._pipeline

    @property
    def circuit_state(self) -> str | None:
        """The breaker state of this client's target (``"closed"``, ``"open"``,
        ``"half_open"``; as last seen by this process), or None without a breaker."""
        breaker = self._layers.get("breaker")
        if breaker is None:
            return None
        from ailib.runtime.context import Target

        return str(breaker.cached_state(Target(self._engine, self.model).key))

    @property
    def current_inflight(self) -> int:
        """Calls of this client in flight now (streams count until they end); those still
        waiting for a backpressure slot are ``get_resilience_stats().queued``."""
        signals = self._layers.get("signals")
        return max(0, int(signals.in_flight) - self.stats.queued) if signals is not None else 0

    def get_resilience_stats(self) -> SignalsSnapshot:
        """One snapshot of attempts, retries, waits, breaker, in-flight and fallback hops."""
        return self.stats.snapshot(in_flight=self.current_inflight)

    async def aclose(self) -> None:
        for fallback in self._fallback_clients:
            await fallback.aclose()
        if self._store is not None:
            store, self._store = self._store, None
            await store.aclose()
        await self._root.aclose()  # owns the connection pool every engine shares
        if self.loader is not None and self._owns_loader:
            self.loader.close()  # stops the file watcher it started

    async def close(self) -> None:  # unasync: skip
        await self.aclose()  # unasync: skip

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.provider_id + '/' + self.model!r})"
