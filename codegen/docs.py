"""Render the documentation site's provider pages from the manifests (``python -m codegen``).

One page per manifest (``docs/providers/<id>.md``: capabilities, models with context
windows and prices, environment variables, endpoints, wire dialect, parameters, notes), an
index (``docs/providers/index.md``) and the provider entries of the site's navigation (the
marked region of ``mkdocs.yml``). They are part of the generated file set, so
``python -m codegen --check`` fails when a manifest changed and its page did not.

Manifest values reach the pages only through :mod:`codegen.docs_markdown`: the Jinja
environment escapes every ``{{ ... }}`` unless a helper built it from escaped parts.

Example::

    from pathlib import Path
    from codegen.docs import render_docs

    files = render_docs(Path("."))   # {Path("docs/providers/openai.md"): "...", ...}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2

from ailib.protocol.loader import read_manifest_text
from codegen.docs_markdown import code, code_literal, link, md_text, number, price
from codegen.render import load_manifests

NAV_BEGIN = "      # BEGIN GENERATED provider pages (python -m codegen)"
NAV_END = "      # END GENERATED provider pages"
_PAGE_STEM = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
#: The SigV4 signer reads these itself (``ailib.transport.sigv4``), whatever the manifest says.
AWS_SIGV4_ENV = (
    ("AWS_ACCESS_KEY_ID", "access key id that signs each request (SigV4)"),
    ("AWS_SECRET_ACCESS_KEY", "secret key that signs each request (SigV4)"),
    ("AWS_SESSION_TOKEN", "session token of temporary credentials (optional)"),
)
_PRICE_COLUMNS = (
    ("input_per_1m", "input"),
    ("output_per_1m", "output"),
    ("cached_input_per_1m", "cached input"),
)
_OTHER_RATES = (
    ("cache_read_per_1m", "cache read"),
    ("cache_hit_input_per_1m", "cache hit"),
    ("cache_write_per_1m", "cache write"),
    ("reasoning_per_1m", "reasoning"),
    ("audio_input_per_1m", "audio in"),
    ("audio_output_per_1m", "audio out"),
)


def docs_env(root: Path) -> jinja2.Environment:
    """Templates whose every ``{{ value }}`` is Markdown-escaped (``codegen.docs_markdown``)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root / "codegen/templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=md_text,
    )
    env.filters.update(code=code, link=link, number=number, price=price, py_str=code_literal)
    return env


def header_notes(text: str) -> list[str]:
    """The manifest's leading comment block, as paragraphs of plain text."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            if stripped:
                break
            continue
        body = stripped.lstrip("#").strip()
        if body:
            current.append(body)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _env_vars(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(variable, what it holds) for every environment variable the provider reads."""
    endpoint = data.get("endpoint", {})
    auth = endpoint.get("auth", {})
    kind = auth.get("type", "bearer")
    rows: list[tuple[str, str]] = []
    keys = _names(auth.get("token_env")) + _names(auth.get("token_env_fallbacks"))
    for i, name in enumerate(keys):
        if kind == "aws_sigv4":
            what = "Bedrock API key, sent as a bearer token instead of signing"
        elif kind == "none":
            what = "API key (not sent: this provider takes no credentials)"
        else:
            what = "API key" if i == 0 else "API key, tried when the ones above are unset"
        rows.append((name, what))
    if kind == "aws_sigv4":
        rows += list(AWS_SIGV4_ENV)
    if "{region}" in str(endpoint.get("base_url", "")):
        default = endpoint.get("default_region")
        names = _names(endpoint.get("region_env")) or ["AWS_REGION", "AWS_DEFAULT_REGION"]
        for name in names:
            what = "region (or resource name) filling {region} in the base URL"
            rows.append((name, what + (f"; default {default}" if default else "")))
    return rows


def _auth_summary(auth: dict[str, Any]) -> str:
    kind = auth.get("type", "bearer")
    if kind == "none":
        return "no credentials"
    if kind == "aws_sigv4":
        return f"AWS Signature V4 (service {auth.get('service', 'bedrock')}), or a bearer API key"
    if kind == "query_param":
        where = f"query parameter {auth.get('param', 'key')}"
    elif kind == "bearer":
        where = f"header {auth.get('header', 'Authorization')}: {auth.get('prefix', 'Bearer')} KEY"
    else:
        where = f"header {auth.get('header', 'x-api-key')}"
    optional = "; optional: sent when given, not required" if auth.get("optional") else ""
    return f"{kind}, {where}{optional}"


def _model_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for model_id, info in data.get("metadata", {}).get("models", {}).items():
        pricing = dict(info.get("pricing") or {})
        other = [f"{label} {price(pricing[key])}" for key, label in _OTHER_RATES if key in pricing]
        for tier in pricing.get("tiers", []):
            rates = ", ".join(
                f"{label} {price(tier[key])}"
                for key, label in (*_PRICE_COLUMNS, *_OTHER_RATES)
                if key in tier
            )
            other.append(f"above {number(tier['above_input_tokens'])} input tokens: {rates}")
        if pricing.get("as_of"):
            other.append(f"as of {pricing['as_of']}")
        rows.append(
            {
                "id": model_id,
                "context": info.get("context_window"),
                "max_output": info.get("max_output_tokens"),
                "prices": [pricing.get(key) for key, _ in _PRICE_COLUMNS],
                "currency": pricing.get("currency", "USD") if pricing else None,
                "other": "; ".join(other),
                "capabilities": ", ".join(str(c) for c in info.get("capabilities", [])),
                "status": info.get("status"),
                "quality": info.get("quality"),
            }
        )
    return rows


def _endpoints(data: dict[str, Any]) -> list[tuple[str, str]]:
    endpoint = data.get("endpoint", {})
    rows = [("chat", str(endpoint.get("chat", "")))]
    if endpoint.get("chat_stream"):
        rows.append(("chat, streamed", str(endpoint["chat_stream"])))
    if (data.get("embeddings") or {}).get("path"):
        rows.append(("embeddings", str(data["embeddings"]["path"])))
    for name, service in sorted((data.get("services") or {}).items()):
        if isinstance(service, dict) and service.get("path"):
            label = {"list_models": "models listing", "count_tokens": "token counting"}
            rows.append((label.get(name, str(name)), str(service["path"])))
    return [(what, path) for what, path in rows if path]


def _parameters(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, spec in (data.get("parameters") or {}).items():
        if not isinstance(spec, dict):
            continue
        low, high = (spec.get("range") or [spec.get("min"), spec.get("max")])[:2]
        if low is not None and high is not None:
            bounds = f"{low} to {high}"
        elif low is not None or high is not None:
            bounds = f"at least {low}" if low is not None else f"at most {high}"
        else:
            bounds = ""
        rows.append(
            {
                "name": name,
                "type": spec.get("type", ""),
                "range": bounds,
                "wire": spec.get("wire") or "",
                "encoder": spec.get("encoder") or "",
            }
        )
    return rows


def plan_page(data: dict[str, Any], source: str, notes: list[str]) -> dict[str, Any]:
    """Everything one provider page shows, computed from its (effective) manifest."""
    pid = str(data["id"])
    if _PAGE_STEM.fullmatch(pid) is None:
        raise SystemExit(f"{source}: provider id {pid!r} cannot name a docs page")
    metadata = data.get("metadata", {})
    models = _model_rows(data)
    capabilities = data.get("capabilities", {})
    endpoint = data.get("endpoint", {})
    retry = data.get("retry_policy", {})
    decoder = data.get("streaming", {}).get("decoder", {})
    structured = data.get("structured_output") or {}
    return {
        "id": pid,
        "module": pid.replace("-", "_"),
        "name": data.get("name", pid),
        "class_name": data.get("class_name") or pid.title().replace("-", "").replace("_", ""),
        "source": source,
        "extends": data.get("extends"),
        "aliases": sorted(str(a) for a in data.get("aliases", [])),
        "dialect": data.get("dialect", "openai_chat"),
        "decoder": decoder.get("format", ""),
        "structured_mode": structured.get("mode") if structured else None,
        "tool_name_pattern": data.get("tool_name_pattern"),
        "dialect_options": sorted((data.get("dialect_options") or {}).items()),
        "required": [str(c) for c in capabilities.get("required", [])],
        "optional": [str(c) for c in capabilities.get("optional", [])],
        "base_url": endpoint.get("base_url", ""),
        "auth": _auth_summary(endpoint.get("auth", {})),
        "env": _env_vars(data),
        "endpoints": _endpoints(data),
        "retry": {
            "max_retries": retry.get("max_retries"),
            "statuses": ", ".join(str(s) for s in retry.get("retry_on_http_status", [])),
        },
        "models": models,
        "example_model": models[0]["id"] if models else "model-id",
        "prices_as_of": metadata.get("prices_as_of"),
        "parameters": _parameters(data),
        "docs_url": metadata.get("docs"),
        "compatibility": ", ".join(_names(metadata.get("api_compatibility"))),
        "regional": sorted((metadata.get("regional") or {}).items()),
        "routing": metadata.get("routing"),
        "notes": notes,
    }


def replace_nav(mkdocs_yml: str, pages: list[str]) -> str:
    """``mkdocs.yml`` with the generated provider entries between the markers replaced."""
    start, end = mkdocs_yml.find(NAV_BEGIN), mkdocs_yml.find(NAV_END)
    if start < 0 or end < start:
        raise SystemExit(
            f"mkdocs.yml: the lines {NAV_BEGIN.strip()!r} and {NAV_END.strip()!r} are missing"
        )
    entries = "".join(f"      - providers/{page}.md\n" for page in pages)
    head = mkdocs_yml[: start + len(NAV_BEGIN)]
    return head + "\n" + entries + mkdocs_yml[end:]


def render_docs(root: Path) -> dict[Path, str]:
    """The provider pages, their index and ``mkdocs.yml`` with its provider entries.

    A tree without ``mkdocs.yml`` has no site, so no pages (a stray one is then orphaned).
    """
    mkdocs_yml = root / "mkdocs.yml"
    if not mkdocs_yml.is_file():
        return {}
    env = docs_env(root)
    plans = []
    for data, source in load_manifests(root):
        notes = header_notes(read_manifest_text(root / source))
        plans.append(plan_page(data, source, notes))
    plans.sort(key=lambda plan: plan["id"])
    out = root / "docs/providers"
    files: dict[Path, str] = {}
    page = env.get_template("docs_provider.md.jinja")
    for plan in plans:
        files[out / f"{plan['id']}.md"] = page.render(**plan)
    files[out / "index.md"] = env.get_template("docs_providers_index.md.jinja").render(
        providers=plans
    )
    files[mkdocs_yml] = replace_nav(
        mkdocs_yml.read_text(encoding="utf-8"), [plan["id"] for plan in plans]
    )
    return files
