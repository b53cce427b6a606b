"""Response caching: repeated requests answered from the cache (seed "Response Caching";
README "Response cache")."""

from _target import provider_or_mock

from ailib import AiClient, Message
from ailib.cache import CacheConfig, CacheManager, MemoryCache

provider_or_mock("openai")

cache = CacheManager(
    config=CacheConfig(default_ttl_seconds=3600),
    backend=MemoryCache(max_size=1000),  # or DiskCache(dir), RedisCache(url)
)
client = AiClient.builder().model("openai/gpt-4o").with_cache(cache).build()

with client:
    print(client.chat().user("Capital of France?").execute().content)  # asks the provider
    print(client.chat().user("Capital of France?").execute().content)  # from the cache
    with cache.bypass():  # skips the cache
        client.chat().user("Capital of France?").execute()

    # by hand, as in the seed (sync code: get_sync / set_sync)
    messages = [Message.user("Capital of Italy?")]
    key = cache.generate_key(model="gpt-4o", messages=messages)
    cached = cache.get_sync(key)
    if cached:
        print("Cache hit!")
    else:
        response = client.chat().messages(messages).execute()
        cache.set_sync(key, response)
    print(f"by hand, now cached: {cache.get_sync(key) is not None}")

stats = cache.stats()
print(f"{stats.hits} hit(s), {stats.misses} miss(es), hit ratio {stats.hit_ratio:.0%}")
