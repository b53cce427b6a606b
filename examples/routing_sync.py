"""Model routing: pick models by capability, cost or quality, and spread calls over
endpoints (seed "Model Routing & Selection"; README "Model routing")."""

from _target import provider_or_mock

from ailib import AiClient
from ailib.resilience import CircuitBreakerConfig
from ailib.routing import (
    CostBasedSelector,
    LeastInFlightSelector,
    ModelArray,
    QualityBasedSelector,
    create_anthropic_models,
    create_openai_models,
)

provider_or_mock("openai")

# models known from the manifests (capabilities, context window, prices, quality)
manager = create_openai_models()
manager.merge(create_anthropic_models())

code_models = manager.filter_by_capability("code_generation")
print(f"Code models: {len(code_models)}, e.g. {[m.name for m in code_models[:3]]}")
cheapest = CostBasedSelector().select(manager.filter_by_capability("chat"))
print(f"Cheapest: {cheapest.name} @ ${cheapest.pricing.input_cost_per_1k}/1K")
best = QualityBasedSelector().select(manager.list_models())  # the seed's form
print(f"Best quality: {best.name}")
print(f"Recommended for chat: {manager.recommend_for('chat').name}")

# one logical model served by several endpoints, used like a client
clients = [
    AiClient.builder()
    .model(model)
    .with_circuit_breaker(CircuitBreakerConfig(failure_threshold=3))
    .build()
    for model in ("openai/gpt-4o", "openai/gpt-4o-mini")
]
with ModelArray("assistant", clients, selector=LeastInFlightSelector()) as array:
    for question in ("Hello", "Hello again"):
        print(array.chat().user(question).execute().content)
    for endpoint, stats in array.stats().items():
        print(f"{endpoint}: calls={stats['calls']} circuit={stats['circuit_state']}")
