"""AsyncEmbeddingClient: ``"provider/model"`` in, vectors out (async).

``_sync.py`` is generated from this file by ``python -m codegen``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ailib.errors import AiLibError

if TYPE_CHECKING:  # the engine and httpx load on create(), keeping import light
    import httpx
    from typing_extensions import Self  # typing.Self needs Python 3.11

    from ailib.embeddings._codec import EmbeddingConfig
    from ailib.embeddings._types import EmbeddingResponse
    from ailib.protocol.hot import ProtocolLoader
    from ailib.protocol.manifest import Manifest
    from ailib.runtime._async_client import AsyncAiClient
    from ailib.runtime._async_engine import AsyncEngine
    from ailib.runtime.limits import Limits
    from ailib.runtime.spec import ProviderSpec
    from ailib.transport import AsyncHttpClient


class AsyncEmbeddingClient:
    """Embeddings for any provider whose manifest has an ``embeddings:`` section.

    Example::

        async with await AsyncEmbeddingClient.create("openai/text-embedding-3-small") as client:
            resp = await client.embed("Hello, world!")
            print(len(resp.first.vector), resp.usage.input_tokens)
            batch = await client.embed_batch(["Hello", "World"], dimensions=256)

    Over a client built with resilience, its layers apply to every embeddings call::

        builder = AsyncAiClient.builder().model("openai/text-embedding-3-small")
        built = await builder.with_circuit_breaker().max_inflight(8).build()
        embedder = AsyncEmbeddingClient(built)
    """

    def __init__(self, client: AsyncAiClient) -> None:
        self._client = client
        self._cached: tuple[ProviderSpec, EmbeddingConfig] | None = None
        self._config()  # refuse a provider or model without embeddings right away

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
    ) -> AsyncEmbeddingClient:
        """Create a client for ``provider/model-id`` (the same options as ``AiClient.create``).

        Raises CapabilityError (E1005) when the provider or model declares no embeddings.
        """
        from ailib.runtime._async_client import AsyncAiClient

        client = await AsyncAiClient.create(
            model,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            http_client=http_client,
            drop_unsupported=drop_unsupported,
            default_headers=default_headers,
            manifest=manifest,
            manifest_paths=manifest_paths,
            hot_reload=hot_reload,
            loader=loader,
            limits=limits,
            allow_insecure_http=allow_insecure_http,
        )
        try:
            return cls(client)
        except BaseException:
            await client.aclose()
            raise

    @property
    def model(self) -> str:
        return self._client.model

    @property
    def provider_id(self) -> str:
        return self._client.provider_id

    @property
    def provider(self) -> AsyncEngine:
        """The typed provider object behind this client."""
        return self._client.provider

    def _engine(self) -> AsyncEngine:
        # the engine for the manifest in force now (a new one after a hot reload)
        return self._client._current()

    def _config(self, engine: AsyncEngine | None = None) -> EmbeddingConfig:
        spec = (engine or self._engine()).spec
        cached = self._cached
        if cached is None or cached[0] is not spec:
            from ailib.embeddings._codec import embedding_config

            cached = self._cached = (spec, embedding_config(spec.manifest, self.model))
        return cached[1]

    async def embed(
        self,
        text: str,
        *,
        dimensions: int | None = None,
        input_type: str | None = None,
        extra_body: dict[str, Any] | None = None,
        **params: Any,
    ) -> EmbeddingResponse:
        """Embed one text; ``resp.first.vector`` is its vector."""
        if not isinstance(text, str):
            raise AiLibError("embed() takes one string; use embed_batch() for a list", code="E1001")
        return await self.embed_batch(
            [text], dimensions=dimensions, input_type=input_type, extra_body=extra_body, **params
        )

    async def embed_batch(
        self,
        texts: Sequence[str],
        *,
        dimensions: int | None = None,
        input_type: str | None = None,
        extra_body: dict[str, Any] | None = None,
        **params: Any,
    ) -> EmbeddingResponse:
        """Embed several texts; ``resp.embeddings[i]`` belongs to ``texts[i]``.

        ``dimensions``, ``input_type`` and ``params`` must be declared by the manifest's
        ``embeddings.parameters`` (ParameterError otherwise, before sending); lists longer
        than the provider's ``max_batch`` are sent as several requests and joined.
        Each request goes through the client's pipeline (operation ``"post"``): its retry,
        circuit breaker, rate limiter, in-flight cap, telemetry, plugins and stats apply.
        """
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise AiLibError("embed_batch() takes a list of strings", code="E1001")
        if not texts:
            raise AiLibError("embed_batch() needs at least one text", code="E1001")
        from ailib.embeddings._codec import build_response
        from ailib.tokens._async_endpoints import send_json

        engine = self._engine()
        pipeline = self._client.pipeline  # the client's layers: retry, breaker, limiter...
        config = self._config(engine)
        named = {"dimensions": dimensions, "input_type": input_type, **params}
        clean = config.check_params(named, drop_unsupported=engine.drop_unsupported)
        parts = []
        raws = []
        request_id = None
        for batch in config.batches(texts):
            payload = config.encode(self.model, batch, clean, extra_body)
            body, headers = await send_json(
                engine, "post", config.path, self.model, pipeline, "embeddings", payload
            )
            missing = functools.partial(engine._unrecognised, body, headers)
            parts.append(config.decode(body, len(batch), missing))
            raws.append(body)
            request_id = request_id or engine._request_id(headers)
        raw = raws[0] if len(raws) == 1 else raws
        return build_response(parts, model=self.model, request_id=request_id, raw=raw)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def close(self) -> None:  # unasync: skip
        await self._client.aclose()  # unasync: skip

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
