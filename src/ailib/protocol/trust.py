"""The trust model of the manifest search path: overrides of where keys go are logged.

A manifest or overlay found on the search path (``manifest_paths``, ``AI_PROTOCOL_PATH``,
the user config dir) may change anything about a provider, including where requests go
and which credential is sent. That is what overrides are for (a gateway, a proxy), but a
file that changes a *built-in* provider's base URL origin (scheme, host, port) or its
credential source (``auth.type``, ``auth.header``, ``auth.param``, or a ``token_env`` /
fallback variable the built-in does not read) is logged at WARNING on the
``ailib.protocol`` logger, naming the file, once per file, provider and change in a
process.

Example::

    changes = credential_changes(builtin_data, effective_data)
    # {'base URL origin': ('https://api.openai.com', 'http://127.0.0.1:8080'), ...}
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("ailib.protocol")

_warned: set[tuple[str, str, str]] = set()
_warned_lock = threading.Lock()


def _origin(base_url: Any) -> str:
    try:
        parts = urlsplit(str(base_url))
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:  # a malformed port: the text itself is what changed
        return str(base_url)
    return f"{parts.scheme}://{(parts.hostname or '')}{port}"


def _token_env(auth: dict[str, Any]) -> tuple[str, ...]:
    env = auth.get("token_env")
    names = [env] if isinstance(env, str) else list(env or [])
    names.extend(auth.get("token_env_fallbacks") or [])
    return tuple(str(n) for n in names)


def trust_view(data: dict[str, Any]) -> dict[str, Any]:
    """The parts of a manifest that decide where requests go and which key they carry."""
    endpoint = data.get("endpoint")
    endpoint = endpoint if isinstance(endpoint, dict) else {}
    auth = endpoint.get("auth")
    auth = auth if isinstance(auth, dict) else {}
    return {
        "base URL origin": _origin(endpoint.get("base_url", "")),
        "auth.type": auth.get("type"),
        "auth.header": auth.get("header"),
        "auth.param": auth.get("param"),
        "token_env": _token_env(auth),
    }


def _differs(field: str, before: Any, after: Any) -> bool:
    if field == "token_env":  # reading fewer of the same variables sends no other secret
        return not set(after) <= set(before)
    return bool(before != after)


def credential_changes(
    builtin: dict[str, Any], effective: dict[str, Any]
) -> dict[str, tuple[Any, Any]]:
    """What ``effective`` changes of ``builtin``'s trust view: {field: (before, after)}.

    ``token_env`` counts as changed when it names a variable the built-in does not read.
    """
    before, after = trust_view(builtin), trust_view(effective)
    return {k: (before[k], after[k]) for k in before if _differs(k, before[k], after[k])}


def blame(
    builtin: dict[str, Any], steps: list[tuple[str, dict[str, Any]]], final: dict[str, Any]
) -> dict[str, dict[str, tuple[Any, Any]]]:
    """Which file made each change: {source: {field: (built-in value, final value)}}.

    ``steps`` are (source, data after that layer), lowest layer first; a change is blamed
    on the last layer that changed that field (else on the last layer).
    """
    changes = credential_changes(builtin, final)
    out: dict[str, dict[str, tuple[Any, Any]]] = {}
    if not changes or not steps:
        return out
    views = [(source, trust_view(data)) for source, data in steps]
    previous = trust_view(builtin)
    culprit = {field: views[-1][0] for field in changes}
    for source, view in views:
        for field in changes:
            if _differs(field, previous[field], view[field]):
                culprit[field] = source
        previous = view
    for field, change in changes.items():
        out.setdefault(culprit[field], {})[field] = change
    return out


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Control characters escaped: manifest text must not forge log lines or drive a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return printable(", ".join(value)) or "(none)"
    return "(none)" if value is None else printable(str(value))


def warn_overrides(
    provider_id: str,
    builtin: dict[str, Any],
    steps: list[tuple[str, dict[str, Any]]],
    final: dict[str, Any],
) -> None:
    """Log (once) each file that redirects a built-in provider's requests or credentials."""
    for source, changes in blame(builtin, steps, final).items():
        described = "; ".join(
            f"{field} {_show(old)} -> {_show(new)}" for field, (old, new) in sorted(changes.items())
        )
        key = (source, provider_id, described)
        with _warned_lock:
            if key in _warned:
                continue
            _warned.add(key)
        log.warning(
            "ailib: %s changes where built-in provider %r sends requests or which credential "
            "it uses: %s",
            printable(source),
            provider_id,
            described,
        )
