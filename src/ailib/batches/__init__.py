"""Provider batch APIs behind ``client.batches``: OpenAI Batch, Anthropic Message
Batches and Gemini batch mode, declared in each manifest's ``batch:`` section.

Example::

    from ailib import AiClient
    from ailib.batches import BatchStatus

    client = AiClient.create("anthropic/claude-sonnet-4-5")
    job = client.batches.create({"q1": client.chat().user("2+2?")})
    job = client.batches.wait(job.id, poll_interval=60)
    assert job.status is BatchStatus.COMPLETED
    for custom_id, outcome in client.batches.results(job.id):
        print(custom_id, outcome)   # a ChatResponse, or a typed AiLibError

The async twin is ``AsyncBatches`` (``await client.batches.create(...)``,
``async for ... in client.batches.results(...)``).
"""

from ailib.batches._async_batches import AsyncBatches
from ailib.batches._sync_batches import Batches
from ailib.batches._types import BatchJob, BatchOutcome, BatchStatus, RequestCounts

__all__ = ["AsyncBatches", "BatchJob", "BatchOutcome", "BatchStatus", "Batches", "RequestCounts"]
