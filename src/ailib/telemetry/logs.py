"""Structured logging on the standard library, with keys kept out of every record.

ailib logs under the ``ailib`` logger hierarchy and installs no handlers: records go
wherever the application's logging configuration sends them. A client built with
``.with_telemetry()`` writes one record per call (``ailib.telemetry``, INFO; WARNING
when it failed) and one per failed attempt, each with structured extras: ``provider``,
``model``, ``status``, ``code``, ``attempt``, ``latency_ms``, ``tokens_in``,
``tokens_out``, ``request_id``... (also together as ``record.fields``).

Every field passes :func:`clean_fields` first: a field whose name looks like a
credential (``api_key``, ``authorization``, ``x-goog-api-key``...) is shown as ``***``
and every text has known keys and URL credentials masked; the logger also carries the
redacting filter of ``ailib.runtime.redact`` for the message and tracebacks.

Example::

    logger = get_logger("my_app")
    logger.info("Request started", model="gpt-4o", tokens=100)
    # record.model == "gpt-4o", record.fields == {"model": "gpt-4o", "tokens": 100}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from ailib.runtime.redact import MASK, RedactingFilter, looks_secret, mask_known, register

__all__ = ["TELEMETRY_LOGGER", "JsonFormatter", "StructuredLogger", "clean_fields", "get_logger"]

#: the logger of ailib's per-call and per-attempt records
TELEMETRY_LOGGER = "ailib.telemetry"

#: LogRecord attributes a field must not overwrite (it is then kept in ``record.fields`` only)
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "fields"}
_MAX_DEPTH = 6


def clean_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with credentials masked: by name (``***``) and inside every text.

    Example::

        clean_fields({"api_key": "sk-1", "headers": {"Authorization": "Bearer x"}})
        # {'api_key': '***', 'headers': {'Authorization': '***'}}
    """
    return {str(k): _clean(str(k), v, 0) for k, v in fields.items()}


def _clean(name: str, value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if looks_secret(name):
        return MASK
    if isinstance(value, str):
        return mask_known(value)
    if depth >= _MAX_DEPTH:
        return "..."
    if isinstance(value, Mapping):
        return {str(k): _clean(str(k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean("", v, depth + 1) for v in value]
    return mask_known(str(value))


def ensure_filtered(logger: logging.Logger) -> logging.Logger:
    """Give ``logger`` the redacting filter (once) and return it."""
    register(())  # the filter on every ailib and HTTP logger
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


class StructuredLogger:
    """A stdlib logger whose methods take keyword fields, kept free of credentials.

    Fields become attributes of the record (``record.model``) and all of them are in
    ``record.fields``; ``bind(**fields)`` returns a logger adding them to every record.

    Example::

        log = get_logger("my_app").bind(service="search")
        log.warning("slow call", latency_ms=2300.0, model="gpt-4o")
    """

    __slots__ = ("_bound", "logger")

    def __init__(self, logger: logging.Logger, fields: Mapping[str, Any] | None = None) -> None:
        self.logger = logger
        self._bound = dict(fields or {})

    @property
    def name(self) -> str:
        return self.logger.name

    def bind(self, **fields: Any) -> StructuredLogger:
        """A logger that adds ``fields`` to each record (on top of the bound ones)."""
        return StructuredLogger(self.logger, {**self._bound, **fields})

    def is_enabled_for(self, level: int) -> bool:
        return self.logger.isEnabledFor(level)

    def log(self, level: int, msg: str, *args: Any, exc_info: Any = None, **fields: Any) -> None:
        """Log ``msg`` at ``level`` with ``fields`` as structured extras."""
        if self.logger.isEnabledFor(level):
            self._emit(level, msg, args, exc_info, fields)

    def debug(self, msg: str, *args: Any, exc_info: Any = None, **fields: Any) -> None:
        if self.logger.isEnabledFor(logging.DEBUG):
            self._emit(logging.DEBUG, msg, args, exc_info, fields)

    def info(self, msg: str, *args: Any, exc_info: Any = None, **fields: Any) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            self._emit(logging.INFO, msg, args, exc_info, fields)

    def warning(self, msg: str, *args: Any, exc_info: Any = None, **fields: Any) -> None:
        if self.logger.isEnabledFor(logging.WARNING):
            self._emit(logging.WARNING, msg, args, exc_info, fields)

    def error(self, msg: str, *args: Any, exc_info: Any = None, **fields: Any) -> None:
        if self.logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, msg, args, exc_info, fields)

    def critical(self, msg: str, *args: Any, exc_info: Any = None, **fields: Any) -> None:
        if self.logger.isEnabledFor(logging.CRITICAL):
            self._emit(logging.CRITICAL, msg, args, exc_info, fields)

    def exception(self, msg: str, *args: Any, **fields: Any) -> None:
        """An ERROR record with the current exception's traceback (masked)."""
        if self.logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, msg, args, True, fields)

    def _emit(
        self, level: int, msg: str, args: tuple[Any, ...], exc_info: Any, fields: dict[str, Any]
    ) -> None:
        clean = clean_fields({**self._bound, **fields}) if self._bound or fields else {}
        extra = {k: v for k, v in clean.items() if k not in _RESERVED}
        extra["fields"] = clean
        # stacklevel 3: the record names the caller of info()/warning(), not this module
        self.logger.log(level, msg, *args, exc_info=exc_info, extra=extra, stacklevel=3)

    def __repr__(self) -> str:
        return f"StructuredLogger({self.logger.name!r})"


#: The seed project's name for the structured, masking logger.
AiLibLogger = StructuredLogger


def get_logger(name: str = "ailib", **fields: Any) -> StructuredLogger:
    """A :class:`StructuredLogger` for the stdlib logger ``name`` (no handler added).

    ``fields`` are bound to every record. The logger gets the redacting filter, so a
    key in a message, a field or a traceback is masked.

    Example::

        logger = get_logger("my_app")
        logger.info("Request started", model="gpt-4o", tokens=100)
    """
    if not isinstance(name, str) or not name:
        from ailib.errors import ConfigurationError

        raise ConfigurationError(f"get_logger() takes a logger name, got {name!r}")
    return StructuredLogger(ensure_filtered(logging.getLogger(name)), fields)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the fields.

    Example::

        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.getLogger("ailib").addHandler(handler)
    """

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update({k: v for k, v in fields.items() if k not in out})
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_known(self.formatException(record.exc_info))
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)
