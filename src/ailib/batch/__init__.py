"""Many calls at once, locally: batch executors, request collectors, resumable runs.

Example (the seed README's, with ailib names)::

    from ailib import AsyncAiClient
    from ailib.batch import AsyncBatchExecutor, BatchConfig

    async def process_question(question: str) -> str:
        client = await AsyncAiClient.create("openai/gpt-4o")
        response = await client.chat().user(question).execute()
        await client.close()
        return response.content

    executor = AsyncBatchExecutor(process_question, max_concurrent=5)
    result = await executor.execute(["What is AI?", "What is Python?"])
    print(result.successful_count, result.failed_count)

``BatchExecutor`` is the same on threads (``executor.execute(items)`` without await).
Names load on first use: ``import ailib.batch`` imports none of the executors.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ailib.batch._async_collector import AsyncBatchCollector
    from ailib.batch._async_executor import AsyncBatchExecutor, batch_execute
    from ailib.batch.config import BatchConfig
    from ailib.batch.result import BatchResult
    from ailib.batch.run import item_time_left
    from ailib.batch.thread_collector import BatchCollector
    from ailib.batch.thread_executor import BatchExecutor

_HOMES = {
    "AsyncBatchCollector": "_async_collector",
    "AsyncBatchExecutor": "_async_executor",
    "batch_execute": "_async_executor",
    "BatchConfig": "config",
    "BatchResult": "result",
    "item_time_left": "run",
    "BatchCollector": "thread_collector",
    "BatchExecutor": "thread_executor",
}

__all__ = [
    "AsyncBatchCollector",
    "AsyncBatchExecutor",
    "BatchCollector",
    "BatchConfig",
    "BatchExecutor",
    "BatchResult",
    "batch_execute",
    "item_time_left",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ailib.batch' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ailib.batch.{home}"), name)
    globals()[name] = value
    return value
