"""Runners for manifest-level cases: loading (01), error classification (02), retry and
fallback decisions (06, 07), capability guards and declarations (07, 08), credentials (09).

Each runner calls the ailib code path named in the case and returns what it observed, in
the case's vocabulary (see ``_expect.check``).
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path
from typing import Any

import attrs
import pytest

from ailib.dialects import ChatRequest
from ailib.errors import AiLibError, ManifestError, RemoteError
from ailib.protocol.loader import (
    builtin_manifest,
    load_manifest_file,
    load_manifest_text,
    parse_text,
    validate,
)
from ailib.protocol.manifest import Manifest, resolve_extends
from ailib.protocol.upgrade import to_ailib
from ailib.runtime._sync_engine import SyncEngine
from ailib.runtime.classify import classify
from ailib.runtime.request import auth_headers, prepare, resolve_api_key
from ailib.runtime.spec import ProviderSpec
from ailib.types.messages import Message

from ._expect import Range
from .conftest import Case

Observed = dict[str, Any]


@attrs.frozen
class Ctx:
    """What a runner needs: the case, the suite folder and pytest's env/log fixtures."""

    case: Case
    root: Path
    monkeypatch: pytest.MonkeyPatch
    caplog: pytest.LogCaptureFixture

    @property
    def input(self) -> dict[str, Any]:
        value: dict[str, Any] = self.case.data["input"]
        return value

    def path(self, relative: str) -> Path:
        """Fixture paths are relative to the suite folder, ``../`` ones to the case file."""
        first = self.root / relative
        return first if first.exists() else (self.case.file.parent / relative).resolve()

    def manifest(self) -> Manifest:
        return load_manifest_file(self.path(self.case.data["setup"]["manifest_path"]))

    def spec(self) -> ProviderSpec:
        return ProviderSpec.interpreted(self.manifest())


def upstream_version(manifest: Manifest) -> str:
    """The protocol version the manifest was written in (before ailib's upgrade)."""
    upstream = manifest.data.get("upstream") or {}
    return str(upstream.get("protocol_version") or manifest.data["protocol_version"])


# ---- 01 protocol loading ------------------------------------------------------------------


def protocol_loading(ctx: Ctx) -> Observed:
    try:
        manifest = load_manifest_file(ctx.path(ctx.input["manifest_path"]))
        ProviderSpec.interpreted(manifest)  # the runtime can build on what it loaded
    except ManifestError as exc:
        return {"valid": False, "errors": [exc.message]}
    return {
        "valid": True,
        "errors": [],
        "provider_id": manifest.id,
        "protocol_version": upstream_version(manifest),
        "runtime_deserialize": True,
    }


# ---- 02 error classification / 06 retry / 07 fallback ---------------------------------------


def error_classification(ctx: Ctx) -> Observed:
    err = classify(
        ctx.spec().errors, status=ctx.input["http_status"], body=ctx.input["response_body"]
    )
    return {
        "valid": True,
        "error_code": err.code,
        "error_name": err.name,
        "error_type": err.name,
        "retryable": err.retryable,
        "fallbackable": err.fallbackable,
    }


def retry_decision(ctx: Ctx) -> Observed:
    """The engine's own rules: ``retry_policy.should_retry`` and ``retry_policy.delay``; 1 + max_retries attempts."""
    failed = int(ctx.input["attempt"])  # the attempt that just failed (1 = the first)
    err = RemoteError("compliance", code=ctx.input["error"]["error_code"])
    engine = SyncEngine(
        api_key="k", base_url="http://127.0.0.1:9", spec=ctx.spec(),
        retry_policy=ctx.input.get("retry_policy"),
    )  # fmt: skip
    with engine:
        should = engine.retry_policy.should_retry(err) and failed <= engine.max_retries
        out: Observed = {"should_retry": should}
        if should:  # every delay the jitter can pick: its lowest and its highest draw
            seconds = []
            for pick in (min, max):
                with pytest.MonkeyPatch.context() as patch:
                    patch.setattr(random, "uniform", lambda a, b, p=pick: p(a, b))
                    seconds.append(engine.retry_policy.delay(err, failed + 1))
            out["delay_ms"] = Range(min(seconds) * 1000, max(seconds) * 1000)
    return out


def fallback_decision(ctx: Ctx) -> Observed:
    return {"should_fallback": AiLibError("compliance", code=ctx.input["error_code"]).fallbackable}


# ---- 07 / 08 capabilities -----------------------------------------------------------------

GUARDED_CALLS = {"Reason": {"reasoning": "medium"}}  # ailib's request for the guarded call


def capability_guard(ctx: Ctx) -> Observed:
    """The call is prepared (validated and encoded) but never sent: it must be refused."""
    data = load_manifest_text(ctx.input["manifest"], f"{ctx.case.key}.yaml")
    spec = ProviderSpec.interpreted(Manifest.from_dict(data))
    req = ChatRequest("model", [Message.user("hi")], GUARDED_CALLS[ctx.input["method"]])
    try:
        prepare(spec, req, base_url="http://127.0.0.1:9", query={})
    except AiLibError as exc:
        return {"error_code": exc.code}
    return {"error_code": None}


def capability_check(ctx: Ctx) -> Observed:
    """A v1 capability list (the case's) declared in the fixture, upgraded and loaded."""
    path = ctx.path(ctx.case.data["setup"]["manifest_path"])
    raw = parse_text(path.read_text(encoding="utf-8"), str(path))[0]
    raw["capabilities"] = ctx.input["capabilities"]
    data = resolve_extends(to_ailib(raw, str(path)), builtin_manifest)
    validate(data, None, str(path))
    caps = Manifest.from_dict(data).data["capabilities"]
    return {
        "valid": True,
        "capabilities_present": {"required": caps["required"], "optional": caps["optional"]},
        "feature_flags": caps.get("feature_flags", {}),
    }


# ---- 09 credentials ---------------------------------------------------------------------------


def _credential_env(ctx: Ctx) -> None:
    """Only the case's variables: clear every variable the case or the manifest names."""
    setup = ctx.case.data["setup"]
    expected = ctx.case.data["expected"]
    names = set(setup.get("env") or {}) | set(expected.get("required") or [])
    names |= set(expected.get("conventional_fallbacks") or [])
    names |= set(expected.get("shadowed_envs_must_not_resolve") or [])
    names |= {f"{str(setup['provider']).upper()}_API_KEY"}
    for name in names:
        ctx.monkeypatch.delenv(name, raising=False)
    for name, value in (setup.get("env") or {}).items():
        ctx.monkeypatch.setenv(name, str(value))


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def credential_resolution(ctx: Ctx, *, attach: bool = False) -> Observed:
    """The key ailib resolves (``resolve_api_key``) and, to attach it, ``auth_headers``."""
    _credential_env(ctx)
    explicit = ctx.input.get("explicit_credential")
    with ctx.caplog.at_level(logging.DEBUG, logger="ailib"):
        spec = ctx.spec()
        key = resolve_api_key(spec, explicit)
        headers, query = auth_headers(spec, key)
    auth = spec.manifest.auth
    declared = _as_list(auth.get("token_env"))
    candidates = spec.manifest.token_env
    if explicit:
        kind, name = "explicit", "explicit"
    elif key:
        name = next(n for n in candidates if os.environ.get(n) == key.reveal())
        kind = "manifest_env" if name in declared else "conventional_env"
    else:
        kind, name = "none", None
    diagnostic = ctx.caplog.text
    shown = [repr(key), str(key), diagnostic]
    if attach:  # the request's credential carriers, as they print
        shown += [repr(headers), str(headers), repr(query), str(query)]
    secret = key.reveal()
    return {
        "status": "available" if key else "missing",
        "source_kind": kind,
        "source_name": name,
        "required": declared,
        "conventional_fallbacks": _as_list(auth.get("token_env_fallbacks")),
        "candidates": candidates,
        "diagnostic": diagnostic,
        "value_redacted": not secret or all(secret not in s for s in shown[:2]),
        "headers": _redacted(headers, secret),
        "query_params": _redacted(query, secret),
        "_text": "\n".join(shown),
    }


def _redacted(values: dict[str, str], secret: str) -> dict[str, str]:
    """Header / query values that carry the credential, shown as the case writes them."""
    return {k: "<redacted>" if secret and secret in v else v for k, v in values.items()}


def auth_attachment(ctx: Ctx) -> Observed:
    return credential_resolution(ctx, attach=True)
