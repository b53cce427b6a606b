"""Overrides and hot reload, async: a client watching its manifest overlay (seed "Hot
Reload"; README "Overrides and hot reload")."""

import asyncio
import tempfile
from pathlib import Path

from _target import provider_or_mock

from ailib import AsyncAiClient

provider_or_mock("openai")


async def main() -> None:
    overrides = Path(tempfile.mkdtemp())
    overlay = overrides / "openai.yaml"  # deep-merged onto the built-in openai manifest
    overlay.write_text("metadata:\n  models:\n    gpt-4o:\n      pricing: {output_per_1m: 10}\n")

    client = await AsyncAiClient.create(
        "openai/gpt-4o", manifest_paths=[overrides], hot_reload=True
    )
    async with client:
        response = await client.chat().user("Hi").execute()
        print(f"output cost at $10/1M: ${response.cost.output_cost:.8f}")

        overlay.write_text(
            "metadata:\n  models:\n    gpt-4o:\n      pricing: {output_per_1m: 1000}\n"
        )
        await asyncio.sleep(1.2)  # the default poll interval is one second
        response = await client.chat().user("Hi").execute()
        print(f"output cost at $1000/1M: ${response.cost.output_cost:.8f}")


asyncio.run(main())
