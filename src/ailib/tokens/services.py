"""Sans-IO: the provider endpoints for counting tokens and listing models, from manifests.

A manifest declares them under ``services`` (AI-Protocol's name for endpoints besides
chat)::

    services:
      count_tokens:
        path: /messages/count_tokens      # {model} is filled in
        method: POST
        request: anthropic                # how the chat body becomes the count body
        response: {input_tokens: $.input_tokens}
      list_models:
        path: /models
        method: GET
        response_binding: data            # where the list is
        fields: {id: "@.id", created: "@.created"}
        pagination: {next: $.last_id, when: $.has_more, param: after_id}

Request shapes (``request``): ``anthropic`` keeps the fields Anthropic's endpoint takes
(model, messages, system, tools, tool_choice, thinking); ``gemini`` sends ``contents``
alone, or the whole ``generateContentRequest`` when there is more (system, tools).
The I/O is in ``_async_endpoints.py`` (and its generated sync twin).
"""

from __future__ import annotations

from typing import Any

import attrs

from ailib.errors import CapabilityError, ProtocolError
from ailib.protocol.expr import Path, lookup, parse_path

ANTHROPIC_COUNT_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking")
REQUEST_SHAPES = ("anthropic", "gemini", "chat")
#: Most pages a models listing follows (a provider's bug could loop forever).
MAX_PAGES = 50


@attrs.frozen
class TokenCount:
    """Input tokens of a request, as counted by the provider (or locally, see ``source``).

    ``source`` is ``"provider"`` (its count_tokens endpoint), ``"tiktoken"`` or
    ``"estimate"`` (no endpoint: counted by :class:`ailib.tokens.TokenCounter`).
    ``int(count)`` is ``input_tokens``.

    Example::

        count = client.count_tokens([Message.user("Hello")])
        print(count.input_tokens, count.source)
    """

    input_tokens: int
    model: str
    source: str = "provider"
    request_id: str | None = None
    raw: Any = attrs.field(default=None, repr=False, eq=False)

    @property
    def exact(self) -> bool:
        return self.source != "estimate"

    def __int__(self) -> int:
        return self.input_tokens


@attrs.frozen
class ModelInfo:
    """One model a provider lists (``client.list_models()``).

    Example::

        for info in client.list_models():
            print(info.id, info.context_window)
    """

    id: str
    display_name: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    created: str | int | None = None
    owned_by: str | None = None
    raw: Any = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen
class CountTokensService:
    """A manifest's ``services.count_tokens``."""

    path: str
    shape: str
    input_tokens: Path

    def body(self, chat_payload: dict[str, Any], model: str) -> dict[str, Any]:
        """The count request body from the body a chat request would send."""
        if self.shape == "anthropic":
            body = {k: chat_payload[k] for k in ANTHROPIC_COUNT_FIELDS if k in chat_payload}
            body.setdefault("model", model)
            return body
        if self.shape == "gemini":
            if set(chat_payload) <= {"contents"}:
                return {"contents": chat_payload.get("contents", [])}
            body = {k: v for k, v in chat_payload.items() if k != "generationConfig"}
            return {"generateContentRequest": {"model": f"models/{model}", **body}}
        return dict(chat_payload)

    def tokens(self, body: Any) -> int | None:
        value = lookup(self.input_tokens, body, None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return int(value)


@attrs.frozen
class ListModelsService:
    """A manifest's ``services.list_models``."""

    path: str
    binding: Path
    fields: dict[str, Path]
    id_prefix: str = ""
    query: dict[str, str] = attrs.field(factory=dict)
    next_token: Path | None = None
    more: Path | None = None
    page_param: str | None = None

    def listed(self, body: Any) -> bool:
        """Whether ``body`` holds a model list where the manifest says (even an empty one)."""
        return isinstance(lookup(self.binding, body, None), list)

    def models(self, body: Any) -> list[ModelInfo]:
        """The models of one page."""
        items = lookup(self.binding, body, None)
        if not isinstance(items, list):
            return []
        return [info for item in items if (info := self._info(item)) is not None]

    def _info(self, item: Any) -> ModelInfo | None:
        if not isinstance(item, dict):
            return None
        values = {name: lookup(path, item, item) for name, path in self.fields.items()}
        model_id = values.get("id")
        if not isinstance(model_id, str) or not model_id:
            return None
        model_id = model_id.removeprefix(self.id_prefix) if self.id_prefix else model_id
        return ModelInfo(
            id=model_id,
            display_name=_str(values.get("display_name")),
            context_window=_int(values.get("context_window")),
            max_output_tokens=_int(values.get("max_output_tokens")),
            created=values.get("created") if isinstance(values.get("created"), str | int) else None,
            owned_by=_str(values.get("owned_by")),
            raw=item,
        )

    def next_query(self, body: Any) -> dict[str, str] | None:
        """The query for the next page, or None when this was the last one."""
        if self.next_token is None or self.page_param is None:
            return None
        if self.more is not None and lookup(self.more, body, None) is not True:
            return None
        token = lookup(self.next_token, body, None)
        if not isinstance(token, str | int) or token in ("", None):
            return None
        return {**self.query, self.page_param: str(token)}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _endpoint(cfg: dict[str, Any], service: str) -> str:
    path = str(cfg["path"])
    if not path.startswith("/"):  # upstream manifests may name a whole URL elsewhere
        raise ProtocolError(
            f"services.{service}.path must be a path under the provider's base URL "
            f"(starting with '/'), got {path!r}"
        )
    return path


def _path(value: Any, where: str, *, relative: bool = False) -> Path:
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"{where} must be a field path such as '$.input_tokens'")
    if not value.startswith(("$", "@")):
        value = ("@." if relative else "$.") + value
    return parse_path(value)


def count_tokens_service(manifest: Any) -> CountTokensService | None:
    """The manifest's ``services.count_tokens``, or None when it declares none."""
    cfg = manifest.services.get("count_tokens")
    if not isinstance(cfg, dict) or not cfg.get("path"):
        return None
    shape = str(cfg.get("request", "chat"))
    if shape not in REQUEST_SHAPES:
        raise ProtocolError(
            f"services.count_tokens.request must be one of {', '.join(REQUEST_SHAPES)}, "
            f"got {shape!r}"
        )
    response = cfg.get("response") or {}
    where = "services.count_tokens.response.input_tokens"
    return CountTokensService(
        _endpoint(cfg, "count_tokens"),
        shape,
        _path(response.get("input_tokens", "$.input_tokens"), where),
    )


def list_models_service(manifest: Any) -> ListModelsService | None:
    """The manifest's ``services.list_models``, or None when it declares none."""
    cfg = manifest.services.get("list_models")
    if not isinstance(cfg, dict) or not cfg.get("path"):
        return None
    fields_cfg = cfg.get("fields") or {"id": "@.id"}
    fields = {
        str(name): _path(path, f"services.list_models.fields.{name}", relative=True)
        for name, path in fields_cfg.items()
    }
    paging = cfg.get("pagination") or {}
    return ListModelsService(
        path=_endpoint(cfg, "list_models"),
        binding=_path(cfg.get("response_binding", "data"), "services.list_models.response_binding"),
        fields=fields,
        id_prefix=str(cfg.get("id_prefix", "")),
        query={str(k): str(v) for k, v in (cfg.get("query") or {}).items()},
        next_token=_path(paging["next"], "pagination.next") if paging.get("next") else None,
        more=_path(paging["when"], "pagination.when") if paging.get("when") else None,
        page_param=str(paging["param"]) if paging.get("param") else None,
    )


def no_service(provider: str, service: str) -> CapabilityError:
    return CapabilityError(
        f"provider {provider!r} declares no {service} endpoint (manifest 'services.{service}')",
        provider=provider,
    )
