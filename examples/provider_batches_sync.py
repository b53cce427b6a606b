"""Provider batch APIs: submit many requests as one job, collect the results later
(OpenAI Batch, Anthropic Message Batches, Gemini batch mode) via client.batches."""

from _target import provider_or_mock

from ailib import AiClient, AiLibError
from ailib.batches import BatchStatus

mock = provider_or_mock("anthropic")
POLL_SECONDS = 0.1 if mock else 60  # real jobs take minutes to hours

with AiClient.create("anthropic/claude-sonnet-4-5") as client:
    job = client.batches.create(
        {
            "q1": client.chat().user("What is 2+2?"),
            "q2": client.chat().user("Name a prime number"),
        }
    )
    print(f"created {job.id}: {job.status.value}")
    job = client.batches.wait(job.id, poll_interval=POLL_SECONDS)
    print(f"status: {job.status.value}, completed: {job.status is BatchStatus.COMPLETED}")
    print(f"counts: {job.counts}")
    for custom_id, outcome in client.batches.results(job.id):  # a response or a typed error
        if isinstance(outcome, AiLibError):
            print(f"{custom_id}: failed with {outcome.code}")
        else:
            print(f"{custom_id}: {outcome.content}")
