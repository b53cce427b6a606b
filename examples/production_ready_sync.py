"""Production-ready: retry, breaker, in-flight cap and fallbacks in one pipeline
(seed "Production-Ready Configuration"; README "Production: one request pipeline")."""

from _target import provider_or_mock

from ailib import AiClient

provider_or_mock("openai", "anthropic")

client = (
    AiClient.builder()
    .model("openai/gpt-4o")
    .production_ready()  # enables retry, rate limit (AI_LIB_RPS), circuit breaker, in-flight cap
    .with_fallbacks(["anthropic/claude-sonnet-4-5"])
    .build()
)
with client:
    print(client.pipeline)  # what every call passes through
    response = client.chat().user("Hello").execute()
    print(response.content, "| served by", response.served_by)

    # check resilience status
    print(f"Circuit state: {client.circuit_state}")
    print(f"In-flight requests: {client.current_inflight}")
    stats = client.get_resilience_stats()
    print(f"calls={stats.calls} successes={stats.successes} retries={stats.retries}")
