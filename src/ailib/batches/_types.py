"""The provider-neutral view of a batch job: its status, request counts and outcomes.

Example::

    job = client.batches.retrieve("batch_abc123")
    if job.status is BatchStatus.COMPLETED:
        print(job.counts.succeeded, "of", job.counts.total, "answered")
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, NamedTuple

import attrs

from ailib.errors import AiLibError
from ailib.types.response import ChatResponse


class BatchStatus(str, enum.Enum):
    """Where a batch job is, in one vocabulary for every provider.

    The manifest's ``batch.status.map`` maps each provider status onto one of these
    (Anthropic's ``ended`` is ``completed``; Gemini's ``BATCH_STATE_PENDING`` is
    ``validating``). A status the manifest does not map raises ``BatchJobError``.
    """

    VALIDATING = "validating"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        """Whether the job has stopped for good (completed, failed, expired, cancelled)."""
        return self in TERMINAL


TERMINAL = frozenset(
    {BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.EXPIRED, BatchStatus.CANCELLED}
)


@attrs.frozen
class RequestCounts:
    """How many of a job's requests are in each state (what the provider reports).

    ``total`` is the provider's own total, or the sum of the others where it gives none.
    """

    total: int = 0
    processing: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    expired: int = 0


@attrs.frozen
class BatchJob:
    """One batch job as last seen: ``id`` (what ``retrieve``/``results``/``cancel``
    take), ``status``, ``counts``, ``created_at``/``ended_at`` (UTC, None when not
    reported) and the provider's own body in ``raw``.

    Example::

        job = await client.batches.wait(job.id, poll_interval=30)
        print(job.status.value, job.counts, job.ended_at)
    """

    id: str
    status: BatchStatus
    provider: str
    counts: RequestCounts = attrs.field(factory=RequestCounts)
    created_at: datetime | None = None
    ended_at: datetime | None = None
    raw: Any = attrs.field(default=None, repr=False, eq=False)

    @property
    def done(self) -> bool:
        """Whether the job has stopped for good (its results can be read)."""
        return self.status.done


class BatchOutcome(NamedTuple):
    """One item of a job's results: its ``custom_id`` and either the answer (a
    ``ChatResponse``) or a typed error (``RemoteError`` with the provider's error
    classified to a standard code, ``BatchJobError`` for a cancelled, expired or
    malformed item). Unpacks as a pair::

        for custom_id, outcome in client.batches.results(job.id):
            print(custom_id, outcome.content if isinstance(outcome, ChatResponse) else outcome)

    ``custom_id`` is None only for a results line too malformed to name its item.
    """

    custom_id: str | None
    outcome: ChatResponse | AiLibError

    @property
    def ok(self) -> bool:
        """Whether the item was answered."""
        return isinstance(self.outcome, ChatResponse)
