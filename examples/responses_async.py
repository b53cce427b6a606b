"""What a response carries, async: the same fields on a call and on a stream's final
response (README "Responses")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient

provider_or_mock("openai")


async def main() -> None:
    async with await AsyncAiClient.create("openai/gpt-4o") as client:
        resp = await client.chat().user("Name a colour").execute()
        async with client.chat().user("Name a fruit").stream() as stream:
            async for _ in stream:
                pass
        streamed = await stream.final_response()

        for label, r in (("call", resp), ("stream", streamed)):
            print(f"{label}: {r.content!r} finish={r.finish_reason} tokens={r.usage.total_tokens}")
            print(f"  model={r.model} id={r.id} request_id={r.request_id}")
            print(f"  tool_calls={r.tool_calls} reasoning={r.reasoning!r} refusal={r.refusal!r}")


asyncio.run(main())
