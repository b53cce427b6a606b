"""Provider batch APIs, async: an OpenAI Batch job through client.batches (uploads the
requests as JSONL, polls the job, reads the output file)."""

import asyncio

from _target import provider_or_mock

from ailib import AiLibError, AsyncAiClient

mock = provider_or_mock("openai")
POLL_SECONDS = 0.1 if mock else 60  # real jobs take minutes to hours


async def main() -> None:
    async with await AsyncAiClient.create("openai/gpt-4o-mini") as client:
        questions = {f"q{i}": client.chat().user(f"Define word #{i}") for i in range(3)}
        job = await client.batches.create(questions)
        print(f"created {job.id} ({job.provider}): {job.status.value}")

        job = await client.batches.wait(job.id, poll_interval=POLL_SECONDS)
        print(f"status: {job.status.value}, counts: {job.counts}")
        async for custom_id, outcome in client.batches.results(job.id):
            if isinstance(outcome, AiLibError):
                print(f"{custom_id}: failed with {outcome.code}")
            else:
                print(f"{custom_id}: {outcome.content}")


asyncio.run(main())
