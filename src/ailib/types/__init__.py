"""Unified types shared by every provider."""

from ailib.types.audio import AudioOutput
from ailib.types.events import (
    AudioDelta,
    ContentDelta,
    RefusalDelta,
    StreamEnd,
    StreamEvent,
    ThinkingDelta,
    ToolCallArgumentsDelta,
    ToolCallEnded,
    ToolCallStarted,
    UnknownEvent,
    UsageEvent,
)
from ailib.types.messages import ContentBlock, Message, MessageRole
from ailib.types.response import Candidate, ChatResponse, Usage
from ailib.types.tools import ToolCall, ToolDefinition

__all__ = [
    "AudioDelta",
    "AudioOutput",
    "Candidate",
    "ChatResponse",
    "ContentBlock",
    "ContentDelta",
    "Message",
    "MessageRole",
    "RefusalDelta",
    "StreamEnd",
    "StreamEvent",
    "ThinkingDelta",
    "ToolCall",
    "ToolCallArgumentsDelta",
    "ToolCallEnded",
    "ToolCallStarted",
    "ToolDefinition",
    "UnknownEvent",
    "Usage",
    "UsageEvent",
]
