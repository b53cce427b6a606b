"""Connection pooling: clients sharing keep-alive connections per host (seed "Connection
Pooling")."""

import asyncio
import os

from _target import base_url, provider_or_mock

from ailib import AsyncAiClient
from ailib.transport import ConnectionPool, PoolConfig

provider_or_mock("openai")
OPENAI = base_url("openai") or "https://api.openai.com/v1"


async def main() -> None:
    pool = ConnectionPool(PoolConfig.high_throughput())

    async with pool:
        # ailib clients given the pool share its connections (one set per host)
        first = await AsyncAiClient.create("openai/gpt-4o", pool=pool)
        second = await AsyncAiClient.create("openai/gpt-4o-mini", pool=pool)
        answers = await asyncio.gather(
            *(c.chat().user("Hello").execute() for c in (first, second, first, second))
        )
        print([a.content for a in answers])
        await first.close()  # the pool's connections stay open for others
        await second.close()

        # or use a pooled HTTP client directly, as in the seed
        client = await pool.get_client("openai", OPENAI)
        payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
        headers = {"Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"}
        response = await client.post("/chat/completions", json=payload, headers=headers)
        print(f"raw POST: {response.status_code}")

        stats = pool.get_stats("openai")
        print(f"Active connections: {stats['openai']['active_connections']}")
        created, reused = (
            stats["openai"]["connections_created"],
            stats["openai"]["connections_reused"],
        )
        print(f"requests: {stats['openai']['requests']}, connections created {created}")
        print(f"connections reused: {reused}")


asyncio.run(main())
