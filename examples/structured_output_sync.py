"""Structured output: answers parsed into your own class, also while streaming (README
"Structured output")."""

import attrs
from _target import provider_or_mock

from ailib import AiClient, StructuredOutputError
from ailib.structured import OutputValidator, SchemaGenerator

provider_or_mock("openai")


@attrs.frozen
class Weather:
    city: str
    temperature_c: float
    conditions: list[str]


with AiClient.create("openai/gpt-4o") as client:
    resp = client.chat().user("Weather in Paris?").response_format(Weather).execute()
    print(f"parsed: {resp.parsed}")

    with client.chat().user("Weather in Lyon?").response_format(Weather).stream() as stream:
        for event in stream:
            if event.is_content_delta:
                print(f"  partial: {event.as_content_delta.partial}")
        print(f"streamed: {stream.final_response().parsed}")

print(f"schema sent: {sorted(SchemaGenerator(strict=True).generate(Weather)['properties'])}")
try:
    OutputValidator(Weather).parse('{"city": "Nice", "temperature_c": "warm", "conditions": []}')
except StructuredOutputError as err:
    print(f"{err.code}: {err.path} {err.problem}")
