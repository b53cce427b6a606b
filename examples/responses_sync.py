"""What a response carries: text, finish reason, usage, ids, candidates (README
"Responses")."""

from _target import provider_or_mock

from ailib import AiClient

provider_or_mock("openai")

with AiClient.create("openai/gpt-4o") as client:
    resp = client.chat().user("Name a colour").param("n", 2).execute()
    print(f"content: {resp.content!r}")
    print(f"finish_reason: {resp.finish_reason} (provider said {resp.raw_finish_reason!r})")
    usage = resp.usage
    print(f"usage: {usage.input_tokens} in + {usage.output_tokens} out = {usage.total_tokens}")
    print(f"model: {resp.model}, id: {resp.id}, request_id: {resp.request_id}")
    print(f"candidates: {[c.content for c in resp.candidates]}")
    print(f"reasoning: {resp.reasoning!r}, refusal: {resp.refusal!r}")
    print(f"raw keys: {sorted(resp.raw)}")
