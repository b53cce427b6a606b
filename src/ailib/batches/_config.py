"""The manifest's ``batch:`` section, read once: paths, id checks and the job decoder.

No I/O here (shared by the sync and the async ``client.batches``). The section (see
``manifests/schema/README.md``)::

    batch:
      format: openai_files                  # openai_files | anthropic_messages | gemini_inline
      upload: {path: /files, purpose: batch}            # openai_files: the JSONL upload
      create: {path: /batches, endpoint: /v1/chat/completions, completion_window: 24h}
      retrieve: /batches/{id}
      cancel: /batches/{id}/cancel
      results: {source: files, path: "/files/{id}/content", files: [$.output_file_id]}
      id_pattern: '^[A-Za-z0-9_-]{1,128}$'  # what a batch or file id may be
      custom_id_pattern: '^[a-zA-Z0-9_-]{1,64}$'
      status: {path: $.status, map: {in_progress: in_progress, ended: completed}}
      fields: {id: $.id, created_at: $.created_at, ended_at: [$.completed_at, $.failed_at]}
      counts: {total: $.request_counts.total, succeeded: $.request_counts.completed}

Example::

    config = batch_config(engine.spec.manifest, provider="openai")
    url_path = config.path("retrieve", config.check_id("batch_abc"))
    job = config.job(body)
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import attrs

from ailib.batches._types import BatchJob, BatchStatus, RequestCounts
from ailib.errors import BatchJobError, CapabilityError, ManifestError
from ailib.protocol.expr import lookup, parse_path
from ailib.protocol.manifest import Manifest

#: every id that goes into a URL path matches this too, whatever the manifest says:
#: no ``/``, ``?``, ``#``, ``%``, ``.``, space or control character can reach the path
SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,256}")
FORMATS = ("openai_files", "anthropic_messages", "gemini_inline")
_FRACTION = re.compile(r"(\.\d{6})\d+")


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _find(body: Any, paths: Any) -> Any:
    """The first non-null value at ``paths`` (one path or a list of them) in ``body``."""
    for text in paths if isinstance(paths, list) else [paths]:
        value = lookup(parse_path(text), body, body)
        if value is not None:
            return value
    return None


def _count(value: Any) -> int:
    """A count as sent (Gemini sends int64 as a string); anything else is 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and value.isdecimal() and len(value) < 19:  # not "²"
        return int(value)
    return 0


def _time(value: Any) -> datetime | None:
    """Unix seconds or an RFC 3339 string as an aware UTC datetime; else None."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        if isinstance(value, str) and len(value) <= 64:
            parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.replace("Z", "+00:00")))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return None


@attrs.frozen
class BatchConfig:
    """One provider's batch section, checked; see the module docstring for its keys."""

    provider: str
    section: dict[str, Any]

    @property
    def format(self) -> str:
        return str(self.section["format"])

    def path(self, name: str, id_: str | None = None) -> str:
        """The URL path of endpoint ``name`` with a checked id filled in."""
        entry = self.section.get(name)
        raw = entry.get("path") if isinstance(entry, dict) else entry
        if not isinstance(raw, str):
            raise CapabilityError(
                f"{self.provider}: the manifest's batch section declares no {name!r} endpoint",
                provider=self.provider,
            )
        if id_ is not None:
            raw = raw.replace("{id}", quote(id_, safe=""))
        return raw

    def check_id(self, value: Any, what: str = "batch id") -> str:
        """``value`` fit to go into a URL path (a declared prefix such as ``batches/`` is
        dropped), else BatchJobError (E1001) before anything is sent."""
        if not isinstance(value, str):
            raise BatchJobError(
                f"{self.provider}: a {what} must be a string, got {type(value).__name__}",
                code="E1001",
                provider=self.provider,
            )
        prefix = self.section.get("id_prefix")
        if isinstance(prefix, str) and prefix and value.startswith(prefix):
            value = value[len(prefix) :]
        pattern = self.section.get("id_pattern")
        if SAFE_ID.fullmatch(value) is None or (
            isinstance(pattern, str) and re.fullmatch(pattern, value) is None
        ):
            raise BatchJobError(
                f"{self.provider}: refused {what} {_shown(value)}: it does not match the "
                f"manifest's id_pattern (letters, digits, _ and - only; no '/', '?', '#', '.')",
                code="E1001",
                provider=self.provider,
            )
        return str(value)

    def check_custom_id(self, value: Any, seen: set[str]) -> str:
        """A request's ``custom_id``: a string the provider takes, not used twice."""
        pattern = self.section.get("custom_id_pattern") or r"[^\x00-\x1f]{1,512}"
        if not isinstance(value, str) or re.fullmatch(pattern, value) is None:
            raise BatchJobError(
                f"{self.provider}: custom_id {_shown(value)} does not match {pattern!r}",
                code="E1001",
                provider=self.provider,
            )
        if value in seen:
            raise BatchJobError(
                f"{self.provider}: custom_id {value!r} is used twice in one batch",
                code="E1001",
                provider=self.provider,
                custom_id=value,
            )
        seen.add(value)
        return value

    def status(self, body: Any) -> BatchStatus:
        """The common status of a job body; an unmapped one raises BatchJobError."""
        declared = self.section["status"]
        value = _find(body, declared["path"])
        mapped = declared["map"].get(value) if isinstance(value, str) else None
        if mapped is None:
            raise BatchJobError(
                f"{self.provider}: batch status {_shown(value)} is not one the manifest maps "
                f"(batch.status.map: {', '.join(declared['map'])})",
                provider=self.provider,
            )
        return BatchStatus(mapped)

    def describes_job(self, body: Any) -> bool:
        """Whether ``body`` is a job (it has a status), not e.g. an empty answer."""
        return isinstance(body, dict) and _find(body, self.section["status"]["path"]) is not None

    def job(self, body: Any, id_: str | None = None) -> BatchJob:
        """The :class:`BatchJob` a provider's job body describes (its id checked)."""
        if not isinstance(body, dict):
            raise BatchJobError(
                f"{self.provider}: a batch job body must be a JSON object, got {_shown(body)}",
                provider=self.provider,
            )
        fields = self.section["fields"]
        found = _find(body, fields["id"])
        job_id = self.check_id(found if found is not None else id_, "batch id from the server")
        counts = {k: _count(_find(body, v)) for k, v in (self.section.get("counts") or {}).items()}
        if "total" not in counts:
            counts["total"] = sum(counts.values())
        return BatchJob(
            id=job_id,
            status=self.status(body),
            provider=self.provider,
            counts=RequestCounts(**counts),
            created_at=_time(_find(body, fields["created_at"])) if "created_at" in fields else None,
            ended_at=_time(_find(body, fields["ended_at"])) if "ended_at" in fields else None,
            raw=body,
        )

    def file_ids(self, job: BatchJob) -> list[str]:
        """The ids of a finished job's result files (``results.files``), checked."""
        found = [_find(job.raw, p) for p in self.section["results"].get("files", [])]
        return [self.check_id(f, "file id from the server") for f in found if f is not None]

    def inline_items(self, job: BatchJob) -> list[Any]:
        """The answers a finished job holds in its own body (``results.items``)."""
        items = _find(job.raw, self.section["results"].get("items", "$.none"))
        if items is None:  # e.g. a job cancelled before any answer
            return []
        if not isinstance(items, list):
            raise BatchJobError(
                f"{self.provider}: batch {job.id} holds answers that are not a list: "
                f"{_shown(items)}",
                provider=self.provider,
            )
        return items


def batch_config(manifest: Manifest, provider: str) -> BatchConfig:
    """The checked ``batch:`` section of ``manifest``; CapabilityError (E1005) naming
    the provider where it declares none."""
    section = manifest.data.get("batch")
    if not section:
        raise CapabilityError(
            f"{provider} declares no batch API (no 'batch:' section in its manifest); "
            "client.batches works with openai, anthropic and gemini",
            provider=provider,
        )
    if not isinstance(section, dict) or section.get("format") not in FORMATS:
        raise ManifestError(
            f"{provider}: batch.format must be one of {', '.join(FORMATS)}", key="batch.format"
        )
    return BatchConfig(provider, section)
