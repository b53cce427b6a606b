"""prepare() rebuilds the ChatRequest field by field: a new field must be carried too."""

from __future__ import annotations

import attrs

from ailib.dialects import ChatRequest


def test_prepare_names_every_chat_request_field() -> None:
    # runtime/request.py builds ChatRequest(model=..., ..., options=...) instead of
    # attrs.evolve; a field added to ChatRequest must be added there as well.
    assert [f.name for f in attrs.fields(ChatRequest)] == [
        "model",
        "messages",
        "params",
        "tools",
        "stream",
        "extra_body",
        "options",
    ]
