"""Response caching, async, with streams replayed from the cache (seed "Response Caching";
README "Response cache")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient, Message
from ailib.cache import CacheConfig, CacheManager, MemoryCache

provider_or_mock("openai")


async def main() -> None:
    cache = CacheManager(config=CacheConfig(default_ttl_seconds=3600), backend=MemoryCache())
    client = await AsyncAiClient.builder().model("openai/gpt-4o").with_cache(cache).build()
    async with client:
        for attempt in ("first", "second"):
            async with client.chat().user("Tell me a story").stream() as stream:
                words = [e.as_content_delta.content async for e in stream if e.is_content_delta]
            status = stream.context.metadata.get("cache_status")
            print(f"{attempt} stream ({status}): {''.join(words)}")

        # by hand, as in the seed
        messages = [Message.user("Capital of France?")]
        key = cache.generate_key(model="gpt-4o", messages=messages)
        cached = await cache.get(key)
        if cached:
            print("Cache hit!")
        else:
            response = await client.chat().messages(messages).execute()
            await cache.set(key, response)
        print(f"by hand, now cached: {await cache.get(key) is not None}")

    stats = cache.stats()
    print(f"Hit ratio: {stats.hit_ratio:.2%}")


asyncio.run(main())
