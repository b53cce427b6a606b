"""OutputValidator: the model's JSON text → checked against the schema → the user's type.

JSON Schema validation (jsonschema) finds the first problem and its path; cattrs then
structures the data into the attrs class, dataclass or TypedDict (a pydantic model
validates itself; a plain JSON Schema gives the JSON value).

Example::

    validator = OutputValidator(Weather)
    weather = validator.parse('{"city": "Paris", "temperature_c": 21.5, "conditions": []}')
    validator.parse('{"city": "Paris"}')  # StructuredOutputError: path "$", 'temperature_c'...
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, cast

from ailib.errors import InvalidRequestError, StructuredOutputError
from ailib.structured._typing import ParsedT
from ailib.structured.schema import SchemaGenerator, is_pydantic_model, is_schema_class

if TYPE_CHECKING:
    import cattrs
    from jsonschema.protocols import Validator

__all__ = ["OutputValidator", "extract_json_text", "json_path"]

_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*[ \t]*\n(.*?)\n?```\s*$", re.DOTALL)
_CONVERTER: cattrs.Converter | None = None


def extract_json_text(text: str) -> str:
    """The JSON in an answer: the text itself, the inside of a Markdown code fence, or
    the first complete JSON object or array in surrounding prose."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced is not None:
        return fenced.group(1).strip()
    if not stripped or stripped[0] in "{[":
        return stripped
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[{\[]", stripped):
        try:
            _, end = decoder.raw_decode(stripped, match.start())
        except ValueError:
            continue
        return stripped[match.start() : end]
    return stripped


def json_path(parts: Any) -> str:
    """``["a", 0, "b"]`` → ``"$.a[0].b"`` (keys that are not identifiers are quoted)."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def converter() -> cattrs.Converter:
    """The cattrs converter of structured outputs (datetimes from ISO text, UUIDs,
    unions of plain types passed through)."""
    global _CONVERTER
    if _CONVERTER is None:
        import datetime
        import decimal
        import uuid

        import cattrs
        from cattrs.strategies import configure_union_passthrough

        conv = cattrs.Converter(forbid_extra_keys=True)
        for kind in (datetime.datetime, datetime.date, datetime.time):
            conv.register_structure_hook(kind, _iso(kind))
        conv.register_structure_hook(uuid.UUID, lambda v, _: uuid.UUID(str(v)))
        conv.register_structure_hook(decimal.Decimal, lambda v, _: decimal.Decimal(str(v)))
        configure_union_passthrough(int | float | str | bool | None, conv)
        _CONVERTER = conv
    return _CONVERTER


def _iso(kind: Any) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if isinstance(value, kind):
            return value
        return kind.fromisoformat(str(value))

    return structure


class OutputValidator(Generic[ParsedT]):
    """Validates JSON against a schema and structures it into the schema's type.

    ``source`` is an attrs class, dataclass, TypedDict, pydantic model, a JSON Schema
    dict, or None (any JSON). :meth:`parse` takes the model's text; :meth:`validate`
    and :meth:`structure` work on decoded JSON. Problems raise
    :class:`~ailib.errors.StructuredOutputError` naming the JSON path.

    Example::

        weather = OutputValidator(Weather).parse(resp.content)
        data = OutputValidator({"type": "array", "items": {"type": "integer"}}).parse("[1, 2]")
    """

    def __init__(self, source: type[ParsedT] | Mapping[str, Any] | None) -> None:
        self.source = source
        self.schema: dict[str, Any] | None = (
            None if source is None else SchemaGenerator().generate(source)
        )
        self._checker: Validator | None = None

    def parse(self, text: str) -> ParsedT:
        """The value of the model's JSON ``text``: decoded, validated, structured."""
        raw = text
        candidate = extract_json_text(text)
        try:
            data = json.loads(candidate)
        except (ValueError, RecursionError) as exc:
            where = f" at character {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
            problem = f"the answer is not JSON{where}: {exc}"
            raise StructuredOutputError(problem, raw=raw, path="$", problem=problem) from None
        self.validate(data, raw=raw)
        return self.structure(data, raw=raw)

    def validate(self, data: Any, *, raw: str | None = None) -> None:
        """Check ``data`` against the schema; StructuredOutputError at the first problem."""
        if self.schema is None:
            return
        checker = self._validator()
        errors = list(checker.iter_errors(data))
        if not errors:
            return
        from jsonschema.exceptions import best_match

        error = best_match(errors)
        path = json_path(error.absolute_path)
        schema_path = "/".join(str(p) for p in error.absolute_schema_path)
        problem = error.message if len(error.message) <= 300 else error.message[:300] + "..."
        text = raw if raw is not None else json.dumps(data, ensure_ascii=False, default=str)
        raise StructuredOutputError(
            f"the answer does not match the schema at {path}: {problem}",
            raw=text,
            path=path,
            schema_path=schema_path,
            problem=problem,
        )

    def structure(self, data: Any, *, raw: str | None = None) -> ParsedT:
        """``data`` (valid JSON) as the source type (the data itself for a JSON Schema)."""
        source = self.source
        if source is None or isinstance(source, Mapping):
            return cast(ParsedT, data)
        text = raw if raw is not None else json.dumps(data, ensure_ascii=False, default=str)
        try:
            if is_pydantic_model(source):
                return cast(ParsedT, source.model_validate(data))  # type: ignore[attr-defined]
            return converter().structure(data, source)
        except Exception as exc:  # cattrs' and pydantic's errors: a typed error with a path
            path, problem = _structure_problem(exc)
            raise StructuredOutputError(
                f"the answer cannot be made a {getattr(source, '__name__', source)} "
                f"at {path}: {problem}",
                raw=text,
                path=path,
                problem=problem,
            ) from exc

    def check_schema(self) -> None:
        """Refuse a schema that is not valid JSON Schema (InvalidRequestError, E1001)."""
        self._validator()

    def _validator(self) -> Validator:
        if self._checker is None:
            from jsonschema.exceptions import SchemaError
            from jsonschema.validators import validator_for

            schema = self.schema or {}
            cls = validator_for(schema)
            try:
                cls.check_schema(schema)
            except SchemaError as exc:
                where = "/".join(str(p) for p in exc.absolute_path) or "the top"
                raise InvalidRequestError(
                    f"the response_format schema is not a valid JSON Schema at {where}: "
                    f"{exc.message}"
                ) from None
            self._checker = cls(schema)
        return self._checker

    @property
    def is_typed(self) -> bool:
        """Whether answers become instances of a class (not plain JSON values)."""
        return is_schema_class(self.source)


def _structure_problem(exc: Exception) -> tuple[str, str]:
    """(JSON path, message) of the first problem cattrs or pydantic reported."""
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic.ValidationError
        try:
            first = errors()[0]
            return json_path(first.get("loc", ())), str(first.get("msg", exc))
        except Exception:
            return "$", str(exc)
    try:
        from cattrs import transform_error

        messages = transform_error(exc)
    except Exception:
        messages = []
    if messages:
        message, _, where = messages[0].rpartition(" @ ")
        return (where or "$"), (message or messages[0])
    return "$", f"{type(exc).__name__}: {exc}"
