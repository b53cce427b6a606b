"""The runtime manifest model: a validated provider manifest with typed accessors.

Example::

    m = Manifest.from_dict(data, source="openai.yaml")
    m.base_url, m.chat_path(stream=True), m.declared_parameters
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs

#: What a provider id (and an ``extends:`` target, an alias) may look like: it names files
#: on the search path, so it can never hold a path separator, ``..`` or a leading dot.
PROVIDER_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def is_provider_id(value: object) -> bool:
    """Whether ``value`` is a valid provider id (``openai``, ``azure-openai``, ``zai``)."""
    return isinstance(value, str) and PROVIDER_ID.fullmatch(value) is not None


def provider_id_problem(value: object) -> str | None:
    """Why ``value`` is not a provider id (for error messages), or None when it is one."""
    if is_provider_id(value):
        return None
    return (
        f"invalid provider id {value!r}: ids are 1-64 lowercase letters, digits, '-' or '_', "
        "starting with a letter or digit (never a path)"
    )


DEFAULT_RETRY: dict[str, Any] = {
    "max_retries": 2,
    "min_delay_ms": 500,
    "max_delay_ms": 30000,
    "jitter": "full",
    "retry_on_http_status": [408, 409, 429, 500, 502, 503, 504, 529],
}


@attrs.frozen
class Manifest:
    """A provider manifest (AI-Protocol v2 plus ailib extensions) as read at runtime."""

    data: dict[str, Any] = attrs.field(repr=False)
    source: str = "<builtin>"
    #: facts derived from ``data`` once (a manifest is never changed: a reload makes a new one)
    _memo: dict[str, Any] = attrs.field(factory=dict, init=False, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<builtin>") -> Manifest:
        return cls(data, source)

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def name(self) -> str:
        return str(self.data.get("name", self.id))

    @property
    def dialect(self) -> str:
        return str(self.data.get("dialect", "openai_chat"))

    @property
    def endpoint(self) -> dict[str, Any]:
        ep: dict[str, Any] = self.data.get("endpoint", {})
        return ep

    @property
    def base_url(self) -> str:
        return str(self.endpoint.get("base_url", "")).rstrip("/")

    def chat_path(self, *, stream: bool) -> str:
        ep = self.endpoint
        if stream and ep.get("chat_stream"):
            return str(ep["chat_stream"])
        return str(ep.get("chat", "/chat/completions"))

    @property
    def auth(self) -> dict[str, Any]:
        auth: dict[str, Any] = self.endpoint.get("auth", {})
        return auth

    @property
    def token_env(self) -> list[str]:
        env = self.auth.get("token_env") or f"{self.id.upper().replace('-', '_')}_API_KEY"
        names = [env] if isinstance(env, str) else list(env)
        names.extend(self.auth.get("token_env_fallbacks", []))
        return names

    @property
    def declared_parameters(self) -> dict[str, dict[str, Any]]:
        params: dict[str, dict[str, Any]] = self.data.get("parameters", {})
        return params

    @property
    def streaming(self) -> dict[str, Any]:
        s: dict[str, Any] = self.data.get("streaming", {})
        return s

    @property
    def response(self) -> dict[str, Any]:
        r: dict[str, Any] = self.data.get("response", {})
        return r

    @property
    def errors(self) -> dict[str, Any]:
        e: dict[str, Any] = self.data.get("error_classification", {})
        return e

    @property
    def retry_policy(self) -> dict[str, Any]:
        return {**DEFAULT_RETRY, **self.data.get("retry_policy", {})}

    @property
    def rate_limit_headers(self) -> dict[str, str]:
        h: dict[str, str] = self.data.get("rate_limit_headers", {})
        return h

    @property
    def request_id_headers(self) -> list[str]:
        return list(self.data.get("request_id_headers", ["x-request-id", "request-id"]))

    @property
    def termination(self) -> dict[str, str]:
        t: dict[str, str] = self.data.get("termination", {}).get("mapping", {})
        return t

    @property
    def models(self) -> dict[str, Any]:
        m: dict[str, Any] = self.data.get("metadata", {}).get("models", {}) or self.data.get(
            "models", {}
        )
        return m

    @property
    def prices_as_of(self) -> str | None:
        """The date the model prices were read from the provider (``metadata.prices_as_of``)."""
        value = (self.data.get("metadata") or {}).get("prices_as_of")
        return str(value) if value else None

    @property
    def services(self) -> dict[str, Any]:
        """Endpoints besides chat (AI-Protocol ``services``): ``count_tokens``, ``list_models``."""
        s: dict[str, Any] = self.data.get("services", {}) or {}
        return s

    @property
    def capabilities(self) -> frozenset[str]:
        found: frozenset[str] | None = self._memo.get("capabilities")
        if found is None:
            caps = self.data.get("capabilities", {})
            if isinstance(caps, list):
                found = frozenset(caps)
            else:
                found = frozenset(caps.get("required", [])) | frozenset(caps.get("optional", []))
            self._memo["capabilities"] = found
        return found

    @property
    def required_defaults(self) -> dict[str, Any]:
        """Declared parameters that are required and have a default: name → default."""
        found: dict[str, Any] | None = self._memo.get("required_defaults")
        if found is None:
            found = self._memo["required_defaults"] = {
                name: spec["default"]
                for name, spec in self.declared_parameters.items()
                if spec.get("required") and "default" in spec
            }
        return found

    def with_overrides(self, overlay: dict[str, Any], source: str) -> Manifest:
        return Manifest(deep_merge(self.data, overlay), f"{self.source} + {source}")


NOT_INHERITED = ("id", "name", "class_name", "metadata", "extends")
#: Most ``extends`` steps followed (a base of a base of ...); real chains have 1 or 2.
MAX_EXTENDS = 16


def resolve_extends(
    data: dict[str, Any], load: Callable[[str], dict[str, Any]], seen: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Apply ``extends: <provider id>``: the base manifest deep-merged under this one.

    The base's identity and model list (``id``, ``name``, ``class_name``, ``metadata``)
    are not inherited; a key set to null in the child removes it.
    """
    base_id = data.get("extends")
    if not base_id:
        return data
    problem = provider_id_problem(base_id)
    if problem is not None:  # checked before any file is looked up
        raise ValueError(f"'extends' names an {problem}")
    if base_id in seen or base_id == data.get("id"):
        raise ValueError(f"manifest 'extends' loop: {' -> '.join((*seen, str(base_id)))}")
    if len(seen) >= 2 * MAX_EXTENDS:
        raise ValueError(
            f"manifest 'extends' chain has more than {MAX_EXTENDS} steps (at {str(base_id)!r})"
        )
    base = resolve_extends(load(str(base_id)), load, (*seen, str(data.get("id")), str(base_id)))
    inherited = {k: v for k, v in base.items() if k not in NOT_INHERITED}
    merged = deep_merge(inherited, {k: v for k, v in data.items() if k != "extends"})
    return merged


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` onto ``base``: dicts recursively, others replaced, null deletes."""
    out = dict(base)
    for key, value in overlay.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
