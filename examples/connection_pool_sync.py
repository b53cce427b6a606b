"""Connection pooling: sync clients sharing keep-alive connections per host (seed
"Connection Pooling")."""

import os
from concurrent.futures import ThreadPoolExecutor

from _target import base_url, provider_or_mock

from ailib import AiClient
from ailib.transport import ConnectionPool, PoolConfig

provider_or_mock("openai")
OPENAI = base_url("openai") or "https://api.openai.com/v1"

with ConnectionPool(PoolConfig(max_connections=4, keepalive_expiry=30)) as pool:
    clients = [
        AiClient.create(model, pool=pool) for model in ("openai/gpt-4o", "openai/gpt-4o-mini")
    ]
    with ThreadPoolExecutor(max_workers=4) as threads:
        jobs = [threads.submit(clients[i % 2].chat().user(f"Q{i}").execute) for i in range(6)]
        print([job.result().content for job in jobs])
    for client in clients:
        client.close()  # the pool's connections stay open for others

    # or use a pooled HTTP client directly
    http = pool.get_sync_client("openai", OPENAI)
    payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
    headers = {"Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"}
    print(f"raw POST: {http.post('/chat/completions', json=payload, headers=headers).status_code}")

    stats = pool.get_stats("openai")["openai"]
    print(f"requests: {stats['requests']}, connections created {stats['connections_created']}")
    print(f"at most 4 connections: {stats['connections_created'] <= 4}")
