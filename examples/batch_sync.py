"""Many calls at once with a concurrency limit, results in input order (seed "Batch
Processing")."""

from _target import provider_or_mock

from ailib import AiClient
from ailib.batch import BatchCollector, BatchExecutor

provider_or_mock("openai")

with AiClient.create("openai/gpt-4o") as client:  # one client, shared by the worker threads

    def process_question(question: str) -> str:
        return client.chat().user(question).execute().content

    questions = ["What is AI?", "What is Python?", "What is async?"]
    executor = BatchExecutor(process_question, max_concurrent=5)
    result = executor.execute(questions)

    print(f"Successful: {result.successful_count}")
    print(f"Failed: {result.failed_count}")
    for answer in result.get_successful_results():
        print(answer)

    # a collector groups single requests into batches for a handler that takes many:
    # up to max_batch_size items, or what came within max_wait seconds (close() sends the rest)
    group_sizes: list[int] = []

    def answer_all(group: list[str]) -> list[str]:
        group_sizes.append(len(group))
        return [process_question(q) for q in group]

    with BatchCollector(answer_all, max_batch_size=2, max_wait=1.0) as collector:
        futures = [collector.submit(q) for q in questions]
    print([future.result() for future in futures])
    print(f"handler calls: {len(group_sizes)}, group sizes {sorted(group_sizes)}")
