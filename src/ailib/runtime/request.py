"""Non-I/O request preparation shared by the sync and async engines.

Example::

    prepared = prepare(spec, settings, ChatRequest(model="gpt-4o", messages=[...]))
    prepared.url, prepared.headers, prepared.body
"""

from __future__ import annotations

import ipaddress
import logging
import os
from typing import Any
from urllib.parse import quote, urlsplit

import attrs

from ailib.dialects import ChatRequest, get_dialect, reasoning_config, wants_reasoning
from ailib.dialects._media import fit_media, media_needs
from ailib.errors import (
    AiLibError,
    CapabilityError,
    InsecureTransportError,
    InvalidRequestError,
)
from ailib.pipeline.safejson import dumps_compact
from ailib.protocol.manifest import Manifest, deep_merge
from ailib.runtime.input_check import check_model
from ailib.runtime.params import check_params, drop_idle_reasoning
from ailib.runtime.redact import MaskedDict as MaskedDict  # re-exported: the engines' import
from ailib.runtime.redact import Secret as Secret
from ailib.runtime.redact import mask_known, register
from ailib.runtime.spec import ProviderSpec
from ailib.runtime.tool_check import check_tools
from ailib.structured.wire import fit_structured_output
from ailib.types.messages import MessageRole

log = logging.getLogger("ailib")


def needs_key(spec: ProviderSpec) -> bool:
    """Whether the manifest's auth sends a key the caller must provide."""
    auth = spec.manifest.auth
    return not auth.get("optional") and auth.get("type", "bearer") not in ("none", "aws_sigv4")


def missing_key_error(spec: ProviderSpec) -> AiLibError:
    names = " or ".join(spec.manifest.token_env)
    return AiLibError(
        f"no API key for provider {spec.id!r}: pass api_key=... or set {names}",
        code="E1002",
        provider=spec.id,
    )


def resolve_api_key(spec: ProviderSpec, api_key: str | Secret | None) -> Secret:
    """The explicit key, else the manifest's environment variables, else none."""
    if isinstance(api_key, Secret) and api_key:
        return api_key
    if isinstance(api_key, str) and api_key:
        return Secret(api_key)
    names = spec.manifest.token_env
    for name in names:
        value = os.environ.get(name)
        if value:
            return Secret(value)
    if needs_key(spec):
        log.debug("ailib: no API key for %r in %s (nor api_key=)", spec.id, ", ".join(names))
    return Secret("")


def auth_headers(spec: ProviderSpec, key: Secret) -> tuple[MaskedDict, MaskedDict]:
    """(headers, query params) that carry the credential and the manifest's extra headers."""
    auth = spec.manifest.auth
    headers = MaskedDict({h["name"]: str(h["value"]) for h in auth.get("extra_headers", [])})
    query = MaskedDict()
    own = frozenset(str(auth[k]).lower() for k in ("header", "param") if auth.get(k))
    headers.extra_secret = query.extra_secret = own
    kind = auth.get("type", "bearer")
    if key and kind not in ("none", "aws_sigv4"):  # SigV4 signs each request itself
        if kind == "query_param":
            query[auth.get("param", "key")] = key.reveal()
        elif kind == "bearer":
            prefix = auth.get("prefix", "Bearer")
            headers[auth.get("header", "Authorization")] = f"{prefix} {key.reveal()}".strip()
        else:
            headers[auth.get("header", "x-api-key")] = key.reveal()
    return headers, query


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 (also IPv4-mapped): traffic that stays on this machine."""
    host = host.lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def guard_credentials(
    spec: ProviderSpec,
    base_url: str,
    key: Secret,
    headers: MaskedDict,
    query: MaskedDict,
    allow_insecure_http: bool = False,
    http_client: object = None,
) -> tuple[Secret, ...]:
    """The credentials an engine sends, registered with the log filter.

    Refuses (:class:`InsecureTransportError`) to send any over plain ``http://`` to a
    host that is not loopback unless ``allow_insecure_http`` is set. Credential headers
    and ``auth=`` set on the user's ``http_client`` count too.
    """
    sigv4 = spec.manifest.auth.get("type") == "aws_sigv4"
    client_headers = getattr(http_client, "headers", None) or {}
    carried = [v for k, v in headers.items() if headers.hides(k)] + list(query.values())
    carried += [str(v) for k, v in client_headers.items() if headers.hides(str(k))]
    client_auth = getattr(http_client, "auth", None) is not None
    if (carried or sigv4 or client_auth) and not allow_insecure_http:
        try:
            parts = urlsplit(base_url)
            scheme, host = parts.scheme.lower(), parts.hostname or ""
        except ValueError:  # an unparsable base URL is refused by its own check
            scheme = host = ""
        if scheme == "http" and not is_loopback(host):
            raise InsecureTransportError(
                f"refusing to send credentials over plain http:// to {host!r} (provider "
                f"{spec.id!r}): use https://, or pass allow_insecure_http=True to opt in",
                provider=spec.id,
            )
    values = [v.split()[-1] for v in carried if v.strip()]  # "Bearer sk-..." -> the key
    if sigv4:
        names = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK")
        values += [os.environ.get(name, "") for name in names]
    secrets = [key] if key else []
    seen = {key.reveal()}
    for value in values:
        if value and value not in seen:
            seen.add(value)
            secrets.append(Secret(value))
    register(secrets, [*query, *headers.extra_secret])
    return tuple(secrets)


@attrs.frozen
class Prepared:
    """One encoded request; its repr masks credential query parameters of the URL."""

    url: str = attrs.field(repr=lambda url: repr(mask_known(url)))
    body: bytes = attrs.field(repr=False)
    payload: dict[str, Any] = attrs.field(repr=False)
    stream: bool
    #: the body's media type when it is not JSON (a multipart file upload)
    content_type: str | None = None


def check_capabilities(spec: ProviderSpec, req: ChatRequest) -> None:
    """Refuse requests needing a capability the provider or model does not declare."""
    manifest = spec.manifest
    caps = manifest.capabilities
    model_caps = manifest.models.get(req.model, {}).get("capabilities")
    needs = ["text"]  # a chat request; embeddings-only providers and models refuse it
    if req.tools:
        needs.append("tools")
    if req.stream:
        needs.append("streaming")
    params = req.params
    if not all(isinstance(m.content, str) for m in req.messages):  # content blocks
        if any(
            not isinstance(m.content, str) and any(b.type == "image" for b in m.content)
            for m in req.messages
            if m.role is MessageRole.USER
        ):
            needs.append("vision")
        needs.extend(media_needs(req))  # audio_in / audio_out
    elif params:  # text only: audio_out is all its media can need
        needs.extend(media_needs(req))
    if params:
        if wants_reasoning(params):
            needs.append("reasoning")
        if "response_format" in params:
            needs.append("structured_output")
        if params.get("parallel_tool_calls") is True:
            needs.append("parallel_tools")
    for need in needs:
        hint = _STRUCTURED_HINT if need == "structured_output" else ""
        if caps and need not in caps:
            raise CapabilityError(
                f"provider {manifest.id!r} does not declare the {need!r} capability{hint}",
                provider=manifest.id,
            )
        if model_caps is not None and need not in model_caps:
            raise CapabilityError(
                f"model {req.model!r} of {manifest.id!r} does not declare the {need!r} "
                f"capability{hint}",
                provider=manifest.id,
            )


_STRUCTURED_HINT = (
    "; .response_format(..., mode='prompt') puts the schema in the system prompt instead"
)


#: (id(manifest), model, stream) -> (manifest, chat path with the model quoted in)
_PATHS: dict[tuple[int, str, bool], tuple[Manifest, str]] = {}


def chat_path(manifest: Manifest, model: str, stream: bool) -> str:
    """The manifest's chat path for ``model`` (``{model}`` quoted in), built once."""
    key = (id(manifest), model, stream)
    found = _PATHS.get(key)
    if found is not None and found[0] is manifest:
        return found[1]
    path = manifest.chat_path(stream=stream).replace("{model}", quote(model, safe=""))
    if len(_PATHS) > 4096:  # many models or hot-reloaded manifests: stay bounded
        _PATHS.clear()
    _PATHS[key] = (manifest, path)
    return path


def prepare(
    spec: ProviderSpec,
    req: ChatRequest,
    *,
    base_url: str,
    query: dict[str, str],
    drop_unsupported: bool = False,
) -> Prepared:
    """Validate and encode a chat request into URL + JSON body (raises before sending)."""
    manifest = spec.manifest
    check_model(req.model)  # the typed chat(model=...) too: a str, not None
    if not req.messages:
        raise InvalidRequestError("a chat request needs at least one message")
    check_capabilities(spec, req)  # first: "no vision here" says more than "no such parameter"
    req = fit_structured_output(manifest, req)  # JSON schema, JSON mode or a forced tool
    params = check_params(manifest, req.params, drop_unsupported=drop_unsupported)
    reasoning = "reasoning" in params  # else neither of the reasoning steps does anything
    if reasoning:
        params = drop_idle_reasoning(manifest, req.model, params)  # "none": nothing reasons
    if req.tools or params.get("tool_choice") is not None:  # (check_tools' own early return)
        check_tools(manifest, req.tools, params.get("tool_choice"))  # names, schemas, choice
    if (
        reasoning
        and wants_reasoning(params)
        and "max_tokens" in params
        and "max_tokens" not in req.params
    ):
        # a defaulted max_tokens must leave room for the thinking budget plus the answer
        budget = int(reasoning_config(params["reasoning"])["budget_tokens"])
        params["max_tokens"] = max(params["max_tokens"], budget + params["max_tokens"])
    options = manifest.data.get("dialect_options", {})
    same_options = options is req.options or (not options and not req.options)
    if not same_options or params != req.params:  # the same values: the request as it is
        req = ChatRequest(  # attrs.evolve without its per-call introspection (every field:
            model=req.model,  # tests/unit/test_prepare_fields.py fails when one is added)
            messages=req.messages,
            params=params,
            tools=req.tools,
            stream=req.stream,
            extra_body=req.extra_body,
            options=options,
        )
    req = fit_media(manifest, req)  # declared image limits and audio formats (extras convert)
    body = get_dialect(manifest.dialect)(req)
    wire = spec.encode_params(params)
    if wire:
        body = deep_merge(body, wire)
    if req.stream:
        body = deep_merge(body, manifest.streaming.get("request", {}))
    if req.extra_body:
        body = deep_merge(body, req.extra_body)
    url = base_url.rstrip("/") + chat_path(manifest, req.model, req.stream)
    if query:
        sep = "&" if "?" in url else "?"
        url += sep + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    data = dumps_compact(body).encode()
    return Prepared(url, data, body, req.stream)
