"""Async engine: the I/O loop shared by every async provider class.

This file is the single source: ``_sync_engine.py`` is generated from it by
``python -m codegen`` (an unasync pass) and checked for freshness in CI.

Example::

    provider = AsyncOpenAI(api_key="...")
    resp = await provider.chat(model="gpt-4o", messages=[Message.user("Hi")])
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import httpx

from ailib.dialects import ChatRequest
from ailib.errors import AiLibError, CancelledError, RemoteError
from ailib.errors import TransportError as AiTransportError
from ailib.pipeline.assemble import Assembler
from ailib.pipeline.safejson import dumps_compact
from ailib.resilience._async_retry import AsyncRetryLayer
from ailib.resilience.retry_policy import RetryPolicy
from ailib.runtime._async_body import aread_body
from ailib.runtime._async_pipeline import AsyncPipeline
from ailib.runtime._async_stream import AsyncChatStream  # re-exported: providers use it
from ailib.runtime._body import (
    BodyGuard,
    arun_within,
    capped_timeout,
    total_deadline,
    wire_errors,
)
from ailib.runtime.classify import classify, stream_error
from ailib.runtime.context import CallContext, Target
from ailib.runtime.create_args import (
    check_engine_args,
    check_http_client,
    check_seconds,
    host_and_port,
    resolve_base_url,
)
from ailib.runtime.decode_body import body_json, error_body_json, recognised, unrecognised
from ailib.runtime.limits import DEFAULT_LIMITS, Limits
from ailib.runtime.redact import mask_known
from ailib.runtime.redirects import (
    follow_hop,
    follows_redirects,
    invalid_location,
    is_redirect,
)
from ailib.runtime.registry import has_overrides, overridden_spec
from ailib.runtime.request import (
    MaskedDict,
    Prepared,
    Secret,
    auth_headers,
    guard_credentials,
    missing_key_error,
    needs_key,
    prepare,
    resolve_api_key,
)
from ailib.runtime.spec import ProviderSpec
from ailib.tokens.pricing import attach_cost
from ailib.transport import AsyncHttpClient, error_classes, request_signer
from ailib.transport.backends import closed_client_error, new_http_client
from ailib.types.response import ChatResponse

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

    from ailib.transport.pool import ConnectionPool


__all__ = ["AsyncChatStream", "AsyncEngine"]

DEFAULT_TIMEOUT = 60.0
#: what a provider object used on its own runs through: the manifest's retry policy
DEFAULT_PIPELINE = AsyncPipeline([AsyncRetryLayer()])


class AsyncEngine:
    """One attempt of I/O for one provider: auth, the wire, typed errors, streams (async).

    Calls made on it directly (``execute``, ``stream``, ``post_json``) pass through
    ``self.pipeline`` (by default: retry under the manifest's policy); a client runs its
    own pipeline and ends each attempt in :meth:`attempt`.
    """

    spec: ProviderSpec
    pipeline: AsyncPipeline = DEFAULT_PIPELINE

    def __init__(
        self,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        *,
        max_retries: int | None = None,
        retry_policy: dict[str, Any] | None = None,
        http_client: AsyncHttpClient | None = None,
        drop_unsupported: bool = False,
        default_headers: dict[str, str] | None = None,
        spec: ProviderSpec | None = None,
        limits: Limits | None = None,
        allow_insecure_http: bool = False,
        stream_idle_timeout: float | None = None,
        stream_timeout: float | None = None,
        transport: str | None = None,
        pool: ConnectionPool | None = None,
    ) -> None:
        check_engine_args(  # each option refused here, typed
            timeout=timeout,
            max_retries=max_retries,
            api_key=api_key,
            default_headers=default_headers,
            retry_policy=retry_policy,
            limits=limits,
        )
        check_http_client(http_client, asynchronous=True)
        self.stream_idle_timeout = check_seconds("stream_idle_timeout", stream_idle_timeout)
        self.stream_timeout = check_seconds("stream_timeout", stream_timeout)
        if spec is not None:
            self.spec = spec
        elif has_overrides(self.spec.id):  # a typed class (OpenAI()) follows the search path
            self.spec = overridden_spec(self.spec.id)
        self.limits = limits or DEFAULT_LIMITS
        self._key = resolve_api_key(self.spec, api_key)
        # a key the manifest's auth needs but nobody gave: refused before any request
        self._missing_key = (
            not self._key and needs_key(self.spec) and not default_headers and http_client is None
        )
        self.base_url = resolve_base_url(self.spec, base_url)  # a bad URL is refused here
        self._signer = request_signer(self.spec, self._key.reveal() if api_key else None)
        self.drop_unsupported = drop_unsupported
        overrides = dict(retry_policy or {})
        if max_retries is not None:
            overrides["max_retries"] = max_retries
        self.retry_policy = RetryPolicy.from_manifest(self.spec.manifest.retry_policy, **overrides)
        self.max_retries = self.retry_policy.max_retries
        self._auth_headers, self._auth_query = auth_headers(self.spec, self._key)
        headers = MaskedDict({"content-type": "application/json", **self._auth_headers})
        headers["accept-encoding"] = "gzip, deflate"  # the codings ailib inflates within bounds
        headers.update(default_headers or {})
        headers.extra_secret = self._auth_headers.extra_secret
        self._headers = headers
        self._secrets = guard_credentials(  # plain http:// to a remote host: refused here
            self.spec,
            self.base_url,
            self._key,
            headers,
            self._auth_query,
            allow_insecure_http,
            http_client,  # its own headers and auth= count as credentials too
        )
        self._owns_client = http_client is None and pool is None  # a pool closes its own
        self._client = http_client or new_http_client(  # transport=, pool=, AI_LIB_TRANSPORT
            transport,
            DEFAULT_TIMEOUT if timeout is None else timeout,
            asynchronous=True,
            pool=pool,
            base_url=self.base_url,
            name=self.spec.id,
        )
        self._timeout_error, self._transport_error = error_classes(self._client)
        self._wire = wire_errors(self._client)  # the body-reading seam's exceptions
        self._deadline = total_deadline(timeout, self._client)  # one non-streamed attempt
        self._attempt_timeout: Any = capped_timeout(self._client, self._deadline)
        if pool is not None and timeout is not None:  # this client's timeout, not the pool's
            phases = httpx.Timeout(timeout)  # as a tuple: every backend's client takes one
            self._attempt_timeout = (phases.connect, phases.read, phases.write, phases.pool)
        follow = follows_redirects(self._client)  # then hops are followed here, not by it
        self._no_follow: dict[str, Any] = {"follow_redirects": False} if follow else {}
        secret_names = [*self._auth_headers, *self._auth_query, *headers.extra_secret]
        self._hop: dict[str, Any] = {"provider": self.spec.id, "signer": self._signer}
        self._hop["secret_names"] = secret_names

    def __repr__(self) -> str:
        base_url = mask_known(self.base_url)
        return f"{type(self).__name__}(provider={self.spec.id!r}, base_url={base_url!r})"

    async def aclose(self) -> None:
        """Close the connection pool (only if this object created it)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ---- request lifecycle ------------------------------------------------------------

    def prepare(self, req: ChatRequest) -> Prepared:
        if self._missing_key:
            raise missing_key_error(self.spec)
        return prepare(
            self.spec,
            req,
            base_url=self.base_url,
            query=self._auth_query,
            drop_unsupported=self.drop_unsupported,
        )

    async def execute(self, req: ChatRequest) -> ChatResponse:
        """Send a non-streaming request and return the unified response."""
        ctx = CallContext("chat", Target(self, req.model), request=req)
        ctx.prepared()  # a request the provider cannot carry is refused here
        response: ChatResponse = await self.pipeline.run(ctx)
        return response

    async def post_json(
        self, path: str, payload: dict[str, Any], *, model: str = ""
    ) -> tuple[Any, httpx.Headers]:
        """POST JSON to ``path`` (``{model}`` filled in) with auth, retries and typed errors.

        The building block of endpoints other than chat (embeddings, token counting)::

            body, headers = await provider.post_json("/embeddings", {"model": m, "input": t})
        """
        ctx = CallContext("post", Target(self, model), payload=payload, path=path)
        ctx.set_prepared(self.prepare_post(path, payload, model))
        result: tuple[Any, httpx.Headers] = await self.pipeline.run(ctx)
        return result

    async def get_json(
        self, path: str, *, query: dict[str, Any] | None = None, model: str = ""
    ) -> tuple[Any, httpx.Headers]:
        """GET JSON from ``path`` (a models listing) with auth, retries and typed errors::

        body, headers = await provider.get_json("/models", query={"pageSize": 100})
        """
        ctx = CallContext("get", Target(self, model), path=path)
        prepared = self.prepare_post(path, None, model)
        if query:
            sep = "&" if "?" in prepared.url else "?"
            prepared = Prepared(prepared.url + sep + urlencode(query), b"", {}, False)
        ctx.set_prepared(prepared)
        result: tuple[Any, httpx.Headers] = await self.pipeline.run(ctx)
        return result

    def prepare_post(self, path: str, payload: dict[str, Any] | None, model: str) -> Prepared:
        """The URL and body of a JSON POST to ``path`` (``{model}`` filled in)."""
        if self._missing_key:
            raise missing_key_error(self.spec)
        url = self.base_url + path.replace("{model}", quote(model, safe=""))
        if self._auth_query:
            url += ("&" if "?" in url else "?") + urlencode(self._auth_query)
        if payload is None:  # a GET
            return Prepared(url, b"", {}, False)
        data = dumps_compact(payload).encode()
        return Prepared(url, data, payload, False)

    async def attempt(self, ctx: CallContext) -> Any:
        """One attempt of ``ctx`` against this provider: the innermost step of a pipeline.

        Returns a ``ChatResponse`` ("chat"), the opened response ("stream": headers
        arrived, status checked), ``(body, headers)`` ("post", "get") or ``(bytes,
        headers)`` ("download": a GET whose body is not JSON). No retries here.
        A cancelled ``ctx.cancel_token`` raises CancelledError (E4002) before sending.
        """
        if ctx.cancel_token is not None:  # cancelled (e.g. between retries): send nothing
            ctx.cancel_token.raise_if_cancelled()
        if ctx.closed_early:  # the caller closed it while it opened (e.g. between retries)
            raise CancelledError("the call was closed before this attempt", provider=self.spec.id)
        ctx.attempt += 1
        deadline = self._deadline if ctx.ends_at is None else self._call_deadline(ctx)
        try:
            if ctx.operation == "stream":  # the headers within the attempt's deadline
                guard = BodyGuard(self.limits, provider=self.spec.id, deadline=deadline)
                return await arun_within(guard, self._send_once, ctx.prepared(), guard)
            method = "GET" if ctx.operation in ("get", "download") else "POST"
            guard = BodyGuard(self.limits, provider=self.spec.id, deadline=deadline)
            response, raw = await arun_within(  # send and read the whole body by the deadline
                guard, self._send_and_read, ctx.prepared(), guard, method
            )
        except RemoteError as exc:
            if exc.headers is not None:  # rate-limit headers of an error answer, for layers
                ctx.metadata["response_headers"] = exc.headers
            raise
        ctx.metadata["response_headers"] = response.headers  # rate-limit headers, for layers
        if ctx.operation == "download":  # the bytes as read (within Limits.max_body_bytes)
            return raw, response.headers
        body = body_json(raw, self.limits)  # ResponseDecodeError: not JSON, or too deep
        if ctx.operation in ("post", "get"):
            return body, response.headers
        return self.parse_response(body, response.headers, model=ctx.target.model)

    def parse_response(
        self, body: Any, headers: httpx.Headers, *, model: str | None = None
    ) -> ChatResponse:
        asm = Assembler(self.spec.manifest.termination, self._stream_error, model, events=False)
        asm.feed(self.spec.map_response(body) if isinstance(body, dict) else [])
        asm.finish()
        if not recognised(asm):  # {}, null, [1, 2], an error object: never an empty response
            raise self._unrecognised(body, headers)
        response = asm.response(request_id=self._request_id(headers), raw=body)
        return attach_cost(response, self.spec, model)

    def _unrecognised(self, body: Any, headers: httpx.Headers, *missing: str) -> AiLibError:
        """The typed error for a 200 body without a response (see runtime/decode_body.py)."""
        secrets = [s.reveal() for s in self._secrets]
        return unrecognised(self.spec, body, headers, self.limits, secrets, *missing)

    def stream(self, req: ChatRequest) -> AsyncChatStream:
        """A stream of events; open it with ``async with`` or just iterate it."""
        ctx = CallContext("stream", Target(self, req.model), request=req)
        ctx.prepared()  # a request the provider cannot carry is refused here
        return AsyncChatStream(self.pipeline, ctx)

    def _request_id(self, headers: httpx.Headers) -> str | None:
        for name in self.spec.errors.request_id_headers:
            value = headers.get(name)
            if value:
                return str(value)
        return None

    def _stream_error(self, fields: dict[str, Any]) -> AiLibError:
        return stream_error(self.spec.errors, fields, [s.reveal() for s in self._secrets])

    # ---- one attempt ---------------------------------------------------------------------

    def _call_deadline(self, ctx: CallContext) -> float | None:
        """This attempt's deadline within what is left of the call's total (a retry
        config's ``total_timeout_seconds``); nothing left: E3003 before sending."""
        left = (ctx.ends_at or 0.0) - time.monotonic()
        if left <= 0:
            raise AiTransportError(
                "the call's total timeout passed before this attempt",
                code="E3003",
                provider=self.spec.id,
            )
        return left if self._deadline is None else min(self._deadline, left)

    async def _send_and_read(
        self, prepared: Prepared, guard: BodyGuard, method: str
    ) -> tuple[Any, bytes]:
        response = await self._send_once(prepared, guard, method)
        return response, await aread_body(response, guard, self._wire)

    async def _send_once(
        self, prepared: Prepared, guard: BodyGuard | None = None, method: str = "POST"
    ) -> Any:
        headers = self._headers
        if prepared.content_type is not None:  # e.g. a multipart upload
            headers = MaskedDict({**headers, "content-type": prepared.content_type})
            headers.extra_secret = self._headers.extra_secret
        if self._signer is not None:  # e.g. AWS SigV4: signs method, URL, body and headers
            headers = MaskedDict(
                {**headers, **self._signer(method, prepared.url, prepared.body, headers)}
            )
        timeout: dict[str, Any] = {}
        if guard is not None and self._attempt_timeout is not None:  # no read beyond the deadline
            timeout["timeout"] = self._attempt_timeout
        content = prepared.body if method == "POST" else None
        request = self._client.build_request(
            method, prepared.url, content=content, headers=headers, **timeout
        )
        response = await self._hop_once(request)
        hops = 0
        while is_redirect(response.status_code):  # followed only if the client asks for it
            await response.aclose()
            request = follow_hop(self._client, request, response, hops, **self._hop)
            hops += 1
            response = await self._hop_once(request)
        guard = (guard or BodyGuard(self.limits, provider=self.spec.id)).for_status(
            response.status_code
        )
        if response.status_code >= 400:
            error = self._http_error(response, await aread_body(response, guard, self._wire))
            error.headers = response.headers  # the limiter reads a 429's rate-limit headers
            raise error
        return response

    async def _hop_once(self, request: Any) -> Any:
        try:
            return await self._client.send(request, stream=True, **self._no_follow)
        except self._timeout_error as exc:
            failure: AiLibError = AiTransportError(
                f"request timed out: {type(exc).__name__}", code="E3003", provider=self.spec.id
            )
        except (self._transport_error, self._wire.invalid_url) as exc:
            failure = invalid_location(exc, self.spec.id) or AiTransportError(
                f"connection to {host_and_port(request.url)} failed: {mask_known(str(exc))[:300]}",
                code="E3001",
                provider=self.spec.id,
            )
        except RuntimeError:  # httpx: "the client has been closed" (e.g. its pool was)
            closed = closed_client_error(self._client, self.spec.id)
            if closed is None:
                raise
            failure = closed
        raise failure  # outside the except blocks: no __context__ holding the raw error

    def _http_error(self, response: httpx.Response, raw: bytes) -> RemoteError:
        text = raw.decode("utf-8", "replace")
        body = error_body_json(raw, self.limits)  # None: not JSON, or nested too deep
        return classify(
            self.spec.errors,
            status=response.status_code,
            body=body,
            headers=response.headers,
            text=text,
            secrets=[s.reveal() for s in self._secrets],
        )
