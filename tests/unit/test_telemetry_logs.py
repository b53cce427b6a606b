"""Structured logging: keyword fields, no handlers installed, credentials never shown."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from ailib.errors import ConfigurationError
from ailib.runtime.redact import RedactingFilter, Secret, register
from ailib.telemetry import JsonFormatter, get_logger
from ailib.telemetry.logs import clean_fields

KEY = "sk-telemetry-logs-0123456789abcdef"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[Capture]:
    handler = Capture()
    logger = logging.getLogger("tele_test")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)


def test_fields_become_record_attributes_and_record_fields(captured: Capture) -> None:
    logger = get_logger("tele_test")
    logger.info("Request started", model="gpt-4o", tokens=100)
    (record,) = captured.records
    assert record.getMessage() == "Request started"
    assert record.model == "gpt-4o" and record.tokens == 100  # type: ignore[attr-defined]
    assert record.fields == {"model": "gpt-4o", "tokens": 100}  # type: ignore[attr-defined]
    assert record.funcName == "test_fields_become_record_attributes_and_record_fields"


def test_fields_named_like_record_attributes_stay_in_fields(captured: Capture) -> None:
    get_logger("tele_test").warning("x", name="mine", message="m", args="a")
    (record,) = captured.records
    assert record.name == "tele_test"
    assert record.fields == {"name": "mine", "message": "m", "args": "a"}  # type: ignore[attr-defined]


def test_bind_adds_fields_and_levels_are_respected(captured: Capture) -> None:
    log = get_logger("tele_test", service="search").bind(region="eu")
    logging.getLogger("tele_test").setLevel(logging.INFO)
    log.debug("hidden", x=1)
    log.error("shown %s", "here", x=2)
    (record,) = captured.records
    assert record.getMessage() == "shown here"
    assert record.fields == {"service": "search", "region": "eu", "x": 2}  # type: ignore[attr-defined]


def test_credentials_never_reach_a_record(captured: Capture) -> None:
    secret = Secret(KEY)
    register([secret])
    log = get_logger("tele_test")
    log.debug(
        f"calling with {KEY}",
        api_key=KEY,
        headers={"Authorization": f"Bearer {KEY}", "accept": "json"},
        url=f"https://h/v1?key={KEY}&x=1",
        note=f"the key {KEY} echoed",
        nested=[{"token": "t0ken-value-123"}, KEY],
        obj=ValueError(KEY),
    )
    try:
        raise RuntimeError(f"failed with {KEY}")
    except RuntimeError:
        log.exception("boom", detail=KEY)
    assert len(captured.records) == 2
    for record in captured.records:
        assert KEY not in record.getMessage() and KEY[:12] not in str(record.fields)  # type: ignore[attr-defined]
        assert KEY[:12] not in str({k: v for k, v in vars(record).items() if k != "exc_info"})
    assert captured.records[1].exc_text and KEY not in captured.records[1].exc_text
    first = captured.records[0].fields  # type: ignore[attr-defined]
    assert first["api_key"] == "***" and first["headers"]["Authorization"] == "***"
    assert first["headers"]["accept"] == "json" and "key=***" in first["url"]
    assert first["nested"][0]["token"] == "***"
    del secret


def test_clean_fields_keeps_numbers_and_bounds_depth() -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(20):
        node["d"] = {}
        node = node["d"]  # type: ignore[assignment]
    out = clean_fields({"n": 1, "f": 0.5, "b": True, "none": None, "deep": deep})
    assert out["n"] == 1 and out["f"] == 0.5 and out["b"] is True and out["none"] is None
    assert "..." in json.dumps(out)


def test_no_handler_is_installed_and_the_filter_is() -> None:
    logger = get_logger("tele_test_handlers").logger
    assert logger.handlers == []
    assert any(isinstance(f, RedactingFilter) for f in logger.filters)
    get_logger("tele_test_handlers")  # once only
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    assert logging.getLogger("ailib").handlers == []
    assert logging.getLogger("ailib.telemetry").handlers == []


def test_get_logger_refuses_a_bad_name() -> None:
    with pytest.raises(ConfigurationError, match="logger name"):
        get_logger("")


def test_json_formatter_writes_message_and_fields(captured: Capture) -> None:
    get_logger("tele_test").info("done %d", 3, model="m", latency_ms=1.5)
    line = JsonFormatter().format(captured.records[0])
    data = json.loads(line)
    assert data["message"] == "done 3" and data["model"] == "m" and data["latency_ms"] == 1.5
    assert data["level"] == "INFO" and data["logger"] == "tele_test"
