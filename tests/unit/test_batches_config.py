"""The manifests' ``batch:`` sections: schema-valid, mapping onto the common statuses, and
the I/O-free id checks and job decoding of ``ailib.batches``."""

from __future__ import annotations

import copy
from datetime import timezone
from typing import Any

import pytest

from ailib.batches import BatchStatus
from ailib.batches._codec import jsonl_file, multipart_form
from ailib.batches._config import batch_config
from ailib.errors import BatchJobError, CapabilityError, ManifestError
from ailib.protocol.loader import builtin_manifest, validate
from ailib.protocol.manifest import Manifest

DECLARING = ["openai", "anthropic", "gemini", "google"]


@pytest.mark.parametrize("provider", DECLARING)
def test_declared_sections_map_onto_the_common_statuses(provider: str) -> None:
    config = batch_config(Manifest.from_dict(builtin_manifest(provider)), provider)
    mapped = set(config.section["status"]["map"].values())
    assert mapped <= {s.value for s in BatchStatus}
    assert "completed" in mapped and "in_progress" in mapped


@pytest.mark.parametrize("provider", ["openai-compatible", "groq", "mock", "azure-openai"])
def test_inheritors_do_not_claim_openai_batches(provider: str) -> None:
    with pytest.raises(CapabilityError) as caught:
        batch_config(Manifest.from_dict(builtin_manifest(provider)), provider)
    assert caught.value.code == "E1005" and provider in str(caught.value)


def test_the_schema_refuses_a_bad_batch_section() -> None:
    data = copy.deepcopy(builtin_manifest("anthropic"))
    validate(data, None, "anthropic (test)")  # as shipped
    for bad in (
        {"format": "carrier_pigeon"},
        {"status": {"path": "$.s", "map": {"ended": "finished"}}},  # not a common status
        {"retrieve": "messages/batches/{id}"},  # a path starts with /
        {"surprise": True},
    ):
        broken = {**data, "batch": {**data["batch"], **bad}}
        with pytest.raises(ManifestError):
            validate(broken, None, "anthropic (test)")


def test_a_section_with_an_unknown_format_is_refused() -> None:
    data: dict[str, Any] = {"id": "x", "batch": {"format": "fax"}}
    with pytest.raises(ManifestError):
        batch_config(Manifest.from_dict(data), "x")


def config(provider: str = "openai") -> Any:
    return batch_config(Manifest.from_dict(builtin_manifest(provider)), provider)


@pytest.mark.parametrize("good", ["batch_abc123", "file-XYZ_9", "a"])
def test_ids_that_may_go_into_a_path(good: str) -> None:
    assert config().check_id(good) == good


@pytest.mark.parametrize(
    "bad", ["../x", "..", ".", "a/b", "a?b", "a#b", "a%2Fb", "a b", "a\nb", "é", "", "x" * 300, 7]
)
def test_ids_that_may_not(bad: Any) -> None:
    with pytest.raises(BatchJobError) as caught:
        config().check_id(bad)
    assert caught.value.code == "E1001"


def test_gemini_drops_the_operation_prefix_once() -> None:
    gemini = config("gemini")
    assert gemini.check_id("batches/abc") == "abc"
    with pytest.raises(BatchJobError):
        gemini.check_id("batches/batches/abc")
    assert gemini.path("cancel", "abc") == "/batches/abc:cancel"


def test_custom_ids_follow_the_provider_pattern_and_are_unique() -> None:
    anthropic = config("anthropic")
    seen: set[str] = set()
    assert anthropic.check_custom_id("q-1_a", seen) == "q-1_a"
    for bad in ("q-1_a", "with space", "x" * 65, None):
        with pytest.raises(BatchJobError):
            anthropic.check_custom_id(bad, seen)
    assert config("openai").check_custom_id("any text: é", set()) == "any text: é"


def test_job_decoding_openai() -> None:
    body = {
        "id": "batch_1",
        "status": "finalizing",
        "created_at": 1_700_000_000,
        "completed_at": None,
        "failed_at": 1_700_000_100,
        "request_counts": {"total": 4, "completed": 3, "failed": 1},
    }
    job = config().job(body)
    assert job.status is BatchStatus.FINALIZING and not job.done
    assert job.counts.total == 4 and job.counts.succeeded == 3 and job.counts.failed == 1
    assert job.created_at is not None and job.created_at.tzinfo is timezone.utc
    assert job.ended_at is not None and int(job.ended_at.timestamp()) == 1_700_000_100


def test_job_counts_never_negative_or_absurd() -> None:
    body = {
        "id": "b",
        "status": "completed",
        "request_counts": {"total": -5, "completed": "9" * 40},
    }
    job = config().job(body)
    assert job.counts.total == 0 and job.counts.succeeded == 0


def test_anthropic_total_is_the_sum_when_not_sent() -> None:
    body = {"id": "msgbatch_1", "processing_status": "in_progress",
            "request_counts": {"processing": 2, "succeeded": 1, "errored": 1, "canceled": 0,
                               "expired": 1}}  # fmt: skip
    job = config("anthropic").job(body)
    assert job.counts.total == 5 and job.counts.expired == 1


def test_jsonl_lines_are_one_request_each() -> None:
    from ailib.dialects import ChatRequest

    req = ChatRequest(model="gpt-4o-mini", messages=[])
    data = jsonl_file(config(), [("a", req, {"x": "line\nbreak"}), ("b", req, {"y": 1})])
    lines = data.decode().splitlines()
    assert len(lines) == 2 and '"custom_id":"a"' in lines[0] and "\\n" in lines[0]


def test_multipart_boundary_never_in_the_content() -> None:
    body, ctype = multipart_form({"purpose": "batch"}, "batch.jsonl", b"--ailib-x\n")
    boundary = ctype.split("boundary=", 1)[1]
    assert body.count(boundary.encode()) == 3  # purpose, file, closing
    assert body.endswith(f"--{boundary}--\r\n".encode())
