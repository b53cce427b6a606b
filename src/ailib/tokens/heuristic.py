"""A token estimate without a tokenizer: text split as BPE tokenizers split it, then sized.

Used when tiktoken is not installed and for models whose tokenizer is not public
(Claude, Gemini, Llama, Mistral, ...). Text is cut into the pieces a GPT-style
pre-tokenizer makes (words with their leading space, digit groups, punctuation runs,
whitespace); each piece counts by its length and script (see :func:`estimate_text_tokens`).
A per-family ``scale`` accounts for tokenizers that cut finer than OpenAI's o200k.

Its error, measured on the recorded exchanges of the corpus (README, "Token counting"),
is what the README states; ``tests/unit/test_tokens_accuracy.py`` keeps it within bound.

Example::

    estimate_text_tokens("Hello, how are you?")          # 6
    HeuristicEstimator.for_model("claude-sonnet-4-5").count("Hello, how are you?")
"""

from __future__ import annotations

import math
import re

import attrs

# CJK ideographs, kana and hangul: about one token per character.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_PIECES = re.compile(
    rf"[{_CJK}]+"  # CJK characters
    rf"| ?[A-Za-z_]+"  # an ASCII word (or identifier) with its leading space
    rf"| ?[^\W\d_{_CJK}]+"  # a word in another script
    r"|\d{1,3}"  # digits, in groups of three as o200k/cl100k cut them
    r"| ?[^\w\s]+"  # punctuation run (with a leading space)
    r"|\s*\n\s*"  # line breaks and the indentation that follows
    r"|\s+",  # other whitespace
)
#: Characters per token inside an ASCII word; longer words split into more tokens.
ASCII_WORD_CHARS = 10.0
#: Characters per token inside a word in another script (accented Latin, Cyrillic, ...).
OTHER_WORD_CHARS = 5.0
#: Tokens per CJK character (o200k merges frequent pairs).
CJK_PER_CHAR = 0.8
#: Characters per token in a punctuation run (``"},`` is one or two tokens).
PUNCT_CHARS = 3.0
#: Spaces per token in a run of spaces (indentation).
SPACE_CHARS = 8.0


def estimate_text_tokens(text: str) -> int:
    """An estimate of the o200k_base token count of ``text`` (no tokenizer needed)."""
    total = 0.0
    for piece in _PIECES.findall(text):
        head = piece[0]
        if head == " " and len(piece) > 1 and not piece.isspace():
            piece = piece[1:]  # the leading space rides with the word
            head = piece[0]
        if head.isascii() and (head.isalpha() or head == "_"):
            total += math.ceil(len(piece) / ASCII_WORD_CHARS)
        elif head.isdigit():
            total += 1
        elif head.isspace():
            total += 1 if "\n" in piece else math.ceil(len(piece) / SPACE_CHARS)
        elif _is_cjk(head):
            total += math.ceil(len(piece) * CJK_PER_CHAR)
        elif head.isalpha() or head.isnumeric():
            total += math.ceil(len(piece) / OTHER_WORD_CHARS)
        else:
            total += math.ceil(len(piece) / PUNCT_CHARS)
    return int(total)


def _is_cjk(char: str) -> bool:
    return re.match(rf"[{_CJK}]", char) is not None


@attrs.frozen
class Family:
    """How one vendor's models count: a scale on text and fixed overheads (tokens)."""

    name: str
    scale: float = 1.0  # tokenizer granularity relative to o200k_base
    per_message: int = 3  # role and separators around each message
    per_request: int = 3  # the reply's priming (``<|start|>assistant``)
    per_tool: int = 8  # a tool definition's framing, beyond its name, text and schema
    per_tool_call: int = 4  # an assistant tool call's framing, beyond name and arguments
    tools_prompt: int = 0  # instructions the provider adds once when tools are given
    image: int = 765  # an image of unknown size (OpenAI: 1024x1024, high detail)


# Fitted on the corpus recordings (tests/unit/tokens_corpus.py measures them): hidden
# vendor prompts (Anthropic's tool-use instructions) show up as tools_prompt.
FAMILIES = {
    "openai": Family("openai"),
    "anthropic": Family(
        "anthropic", per_message=0, per_request=15, per_tool=20, tools_prompt=300, image=1600
    ),
    "gemini": Family("gemini", per_message=0, per_request=0, per_tool=2, image=258),
    "cohere": Family("cohere", per_message=0, per_request=0, per_tool=2),
    "other": Family("other", scale=1.2, per_message=2, per_request=0, per_tool=20),
}

_FAMILY_PREFIXES = (
    ("anthropic", ("claude", "anthropic.")),
    ("gemini", ("gemini", "gemma", "learnlm")),
    ("cohere", ("command", "c4ai")),
    ("openai", ("gpt-", "gpt4", "chatgpt", "o1", "o3", "o4", "text-embedding")),
)


def family_of(model: str) -> Family:
    """The estimate family of a model id (vendor prefixes like ``us.`` or ``openai/`` ignored)."""
    name = model.rsplit("/", 1)[-1].lower()
    for region in ("us.", "eu.", "apac.", "global."):
        if name.startswith(region):
            name = name[len(region) :]
    for family, prefixes in _FAMILY_PREFIXES:
        if name.startswith(prefixes):
            return FAMILIES[family]
    return FAMILIES["other"]


@attrs.frozen
class HeuristicEstimator:
    """Estimates tokens for one model family; ``count`` sizes text.

    Example::

        est = HeuristicEstimator.for_model("gemini-2.5-flash")
        est.count("Hello, world!")
    """

    family: Family = FAMILIES["other"]

    @classmethod
    def for_model(cls, model: str) -> HeuristicEstimator:
        return cls(family_of(model))

    def count(self, text: str) -> int:
        if not text:
            return 0
        return max(1, round(estimate_text_tokens(text) * self.family.scale))
