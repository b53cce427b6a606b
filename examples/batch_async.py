"""Many calls at once, async, with a concurrency limit (seed "Batch Processing")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient
from ailib.batch import AsyncBatchExecutor, BatchConfig

provider_or_mock("openai")


async def process_question(question: str) -> str:
    client = await AsyncAiClient.create("openai/gpt-4o")
    response = await client.chat().user(question).execute()
    await client.close()
    return response.content


async def main() -> None:
    questions = ["What is AI?", "What is Python?", "What is async?"]

    executor = AsyncBatchExecutor(process_question, max_concurrent=5)
    result = await executor.execute(questions)

    print(f"Successful: {result.successful_count}")
    print(f"Failed: {result.failed_count}")
    for answer in result.get_successful_results():
        print(answer)

    # settings in one place: a per-item timeout, a callback after each item
    def on_progress(done: int, total: int) -> None:
        print(f"  {done}/{total} done")

    config = BatchConfig(max_concurrent=2, timeout=30, progress=on_progress)
    again = await AsyncBatchExecutor(process_question, config=config).execute(questions)
    print(f"with BatchConfig: {again.successful_count} of {len(questions)}")


asyncio.run(main())
