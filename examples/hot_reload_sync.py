"""Overrides and hot reload: edit a manifest overlay while the client runs (seed "Hot
Reload"; README "Overrides and hot reload")."""

import tempfile
import time
from pathlib import Path

from _target import provider_or_mock

from ailib import AiClient
from ailib.protocol import ProtocolLoader

provider_or_mock("openai")

overrides = Path(tempfile.mkdtemp())
overlay = overrides / "openai.yaml"  # deep-merged onto the built-in openai manifest


def set_price(input_per_1m: float) -> None:
    overlay.write_text(
        f"metadata:\n  models:\n    gpt-4o:\n      pricing: {{input_per_1m: {input_per_1m}}}\n"
    )


set_price(2.5)
loader = ProtocolLoader([overrides], hot_reload=True, poll_interval=0.1)
with AiClient.create("openai/gpt-4o", loader=loader) as client:
    before = client.chat().user("Hi").execute().cost
    print(f"input cost at $2.5/1M: ${before.input_cost:.8f}")

    set_price(250.0)  # the next request uses the edited manifest
    time.sleep(0.3)
    after = client.chat().user("Hi").execute().cost
    print(f"input cost at $250/1M: ${after.input_cost:.8f}")

    overlay.write_text("metadata: [not, a, mapping\n")  # an invalid edit is rejected...
    time.sleep(0.3)
    still = client.chat().user("Hi").execute().cost
    print(f"after a bad edit: ${still.input_cost:.8f} (last good manifest kept)")
    print(f"loader.errors: {sorted(loader.errors)}")
