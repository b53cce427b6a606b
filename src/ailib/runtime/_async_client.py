"""AsyncAiClient: ``"provider/model"`` in, unified responses out (async).

``_sync_client.py`` is generated from this file by ``python -m codegen``.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ailib.runtime.builder import ChatBuilderBase
from ailib.runtime.registry import interpreted_spec, provider_class, split_model

if TYPE_CHECKING:  # the engine, httpx and the types load on create(), keeping import light
    import httpx

    from ailib.protocol.manifest import Manifest
    from ailib.runtime._async_engine import AsyncChatStream, AsyncEngine
    from ailib.transport import AsyncHttpClient
    from ailib.types.response import ChatResponse


class AsyncChatBuilder(ChatBuilderBase):
    """Fluent request builder; finish with ``await .execute()`` or ``.stream()``."""

    def __init__(self, engine: AsyncEngine, model: str) -> None:
        super().__init__(model)
        self._engine = engine

    async def execute(self) -> ChatResponse:
        return await self._engine.execute(self.build(stream=False))

    def stream(self) -> AsyncChatStream:
        return self._engine.stream(self.build(stream=True))


class AsyncAiClient:
    """One client for every provider, addressed as ``provider/model``.

    Example::

        async with await AsyncAiClient.create("anthropic/claude-sonnet-4-5") as client:
            resp = await client.chat().user("Hello").execute()
    """

    def __init__(self, engine: AsyncEngine, model: str) -> None:
        self._engine = engine
        self.model = model

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
    ) -> AsyncAiClient:
        """Create a client for ``provider/model-id``; the key defaults to the manifest's env var.

        ``manifest`` (a path or a Manifest) serves a provider that was not compiled: the
        runtime interprets it, with the same results as a generated module.
        ``retry_policy`` overrides keys of the manifest's policy (``max_retries``,
        ``min_delay_ms``, ``max_delay_ms``, ``jitter``, ``retry_on_http_status``).
        """
        provider_id, model_id = split_model(model)
        kwargs: dict[str, Any] = {
            "api_key": api_key,
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
            "retry_policy": retry_policy,
            "http_client": http_client,
            "drop_unsupported": drop_unsupported,
            "default_headers": default_headers,
        }
        if manifest is not None:
            from ailib.runtime._async_engine import AsyncEngine

            engine = AsyncEngine(spec=interpreted_spec(manifest, provider_id), **kwargs)
        else:
            engine = provider_class(provider_id, asynchronous=True)(**kwargs)
        return cls(engine, model_id)

    @property
    def provider(self) -> AsyncEngine:
        """The typed provider object behind this client."""
        return self._engine

    @property
    def provider_id(self) -> str:
        return self._engine.spec.id

    def chat(self) -> AsyncChatBuilder:
        return AsyncChatBuilder(self._engine, self.model)

    async def aclose(self) -> None:
        await self._engine.aclose()

    async def close(self) -> None:  # unasync: skip
        await self._engine.aclose()  # unasync: skip

    async def __aenter__(self) -> AsyncAiClient:
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
