"""SchemaGenerator for every schema source (attrs, dataclass, TypedDict, pydantic, a JSON
Schema dict), the strict form and reference inlining; pydantic is never needed."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import subprocess
import sys
import uuid
from typing import Any, Literal, Optional, TypedDict

import attrs
import jsonschema
import pytest

from ailib.errors import InvalidRequestError
from ailib.structured import OutputValidator, SchemaGenerator
from ailib.structured.schema import can_be_strict, inline_refs, is_pydantic_model, strict_schema

if sys.version_info >= (3, 11):
    from typing import NotRequired
else:  # pragma: no cover
    from typing_extensions import NotRequired


class Unit(enum.Enum):
    C = "C"
    F = "F"


@attrs.frozen
class Weather:
    """Today's weather.

    Attributes:
        city: The city asked about.
    """

    city: str
    temperature_c: float = attrs.field(metadata={"description": "degrees Celsius"})
    conditions: list[str]
    unit: Unit = Unit.C
    humidity: Optional[float] = None  # noqa: UP045 (the old spelling must work too)


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0
    label: str | None = dataclasses.field(default=None, metadata={"description": "a name"})


class Person(TypedDict):
    name: str
    age: int
    nickname: NotRequired[str]


class Partial(TypedDict, total=False):
    a: int


@attrs.frozen
class Node:
    value: int
    children: list[Node] = attrs.field(factory=list)


@attrs.frozen
class Everything:
    when: datetime.datetime
    day: datetime.date
    id: uuid.UUID
    mode: Literal["fast", "slow"]
    pair: tuple[int, str]
    many: tuple[int, ...]
    tags: set[str]
    counts: dict[str, int]
    either: int | str
    where: Point
    anything: Any = None


def test_attrs_class() -> None:
    schema = SchemaGenerator().generate(Weather)
    assert schema["type"] == "object" and schema["title"] == "Weather"
    assert schema["description"] == "Today's weather."
    assert schema["required"] == ["city", "temperature_c", "conditions"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["city"] == {"type": "string", "description": "The city asked about."}
    assert props["temperature_c"] == {"type": "number", "description": "degrees Celsius"}
    assert props["conditions"] == {"type": "array", "items": {"type": "string"}}
    assert props["unit"] == {"type": "string", "enum": ["C", "F"]}
    assert props["humidity"] == {"anyOf": [{"type": "number"}, {"type": "null"}]}
    jsonschema.Draft202012Validator.check_schema(schema)


def test_dataclass_and_typed_dicts() -> None:
    schema = SchemaGenerator().generate(Point)
    assert schema["required"] == ["x"] and "description" not in schema  # generated doc skipped
    assert schema["properties"]["label"]["description"] == "a name"
    person = SchemaGenerator().generate(Person)
    assert person["required"] == ["name", "age"]
    assert set(person["properties"]) == {"name", "age", "nickname"}
    assert SchemaGenerator().generate(Partial)["required"] == []


def test_nested_and_recursive_classes_use_defs() -> None:
    schema = SchemaGenerator().generate(Everything)
    assert schema["properties"]["where"] == {"$ref": "#/$defs/Point"}
    assert schema["$defs"]["Point"]["required"] == ["x"]
    props = schema["properties"]
    assert props["when"] == {"type": "string", "format": "date-time"}
    assert props["id"] == {"type": "string", "format": "uuid"}
    assert props["mode"] == {"type": "string", "enum": ["fast", "slow"]}
    assert props["pair"]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]
    assert props["many"] == {"type": "array", "items": {"type": "integer"}}
    assert props["tags"]["uniqueItems"] is True
    assert props["counts"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["either"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert props["anything"] == {}
    recursive = SchemaGenerator().generate(Node)
    assert recursive["$ref"] == "#/$defs/Node"
    node = recursive["$defs"]["Node"]
    assert node["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    jsonschema.validate({"value": 1, "children": [{"value": 2, "children": []}]}, recursive)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"value": 1, "children": [{"value": "x"}]}, recursive)


def test_strict_form_requires_everything_and_allows_nulls_for_optional_fields() -> None:
    schema = SchemaGenerator(strict=True).generate(Weather)
    assert schema["required"] == ["city", "temperature_c", "conditions", "unit", "humidity"]
    assert can_be_strict(schema)
    assert not can_be_strict(SchemaGenerator().generate(Weather))
    point = SchemaGenerator(strict=True).generate(Point)
    assert point["properties"]["y"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    nested = SchemaGenerator(strict=True).generate(Everything)
    assert nested["$defs"]["Point"]["required"] == ["x", "y", "label"]
    assert not can_be_strict(nested)  # dict[str, int]: a free-form object cannot be strict
    given = {"type": "object", "properties": {"a": {"type": "integer", "default": 1}}}
    out = strict_schema(given)
    assert out == {
        "type": "object",
        "properties": {"a": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
        "required": ["a"],
        "additionalProperties": False,
    }
    assert given["properties"]["a"] == {"type": "integer", "default": 1}  # not changed


def test_inline_refs_keeps_recursive_references() -> None:
    schema = SchemaGenerator(inline_refs=True).generate(Everything)
    assert "$defs" not in schema and schema["properties"]["where"]["required"] == ["x"]
    recursive = inline_refs(SchemaGenerator().generate(Node))
    assert recursive["$defs"]["Node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    jsonschema.validate({"value": 1, "children": [{"value": 2}]}, recursive)


def test_json_schema_dict_is_copied_and_checked() -> None:
    given = {"type": "object", "properties": {"a": {"type": "integer"}}, "title": "My thing!"}
    schema = SchemaGenerator().generate(given)
    assert schema == given and schema is not given
    schema["properties"]["b"] = {}
    assert "b" not in given["properties"]
    assert SchemaGenerator.name_of(given) == "My_thing"
    assert SchemaGenerator.name_of(Weather) == "Weather"
    assert SchemaGenerator.name_of({}) == "response"
    with pytest.raises(InvalidRequestError):
        SchemaGenerator().generate({"type": 3})


def test_unresolvable_and_unknown_types_are_clear_errors() -> None:
    @attrs.frozen
    class Local:
        inner: LocalInner  # noqa: F821 (defined in a function: not resolvable)

    with pytest.raises(InvalidRequestError, match="module level"):
        SchemaGenerator().generate(Local)

    @attrs.frozen
    class Odd:
        f: complex

    with pytest.raises(InvalidRequestError, match="complex"):
        SchemaGenerator().generate(Odd)


def test_pydantic_model_when_installed() -> None:
    pydantic = pytest.importorskip("pydantic")

    class City(pydantic.BaseModel):  # type: ignore[misc,name-defined]
        name: str
        population: int = 0

    assert is_pydantic_model(City) and not is_pydantic_model(Weather)
    schema = SchemaGenerator().generate(City)
    assert schema["properties"]["name"]["type"] == "string"
    strict = SchemaGenerator(strict=True).generate(City)
    assert strict["required"] == ["name", "population"]
    assert strict["additionalProperties"] is False
    city = OutputValidator(City).parse('{"name": "Paris", "population": 2}')
    assert isinstance(city, City) and city.population == 2


def test_no_pydantic_installed_path() -> None:
    """Without pydantic (an import of it fails), every other source works and ailib
    never tries to import it."""
    code = r"""
import sys, json
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "pydantic" or name.startswith("pydantic."):
            raise ImportError("pydantic is not installed here")
sys.meta_path.insert(0, Block())
import attrs, dataclasses
from typing import TypedDict
from ailib.structured import OutputValidator, SchemaGenerator
from ailib.structured.schema import is_pydantic_model

@attrs.frozen
class A:
    x: int

@dataclasses.dataclass
class D:
    y: str

class T(TypedDict):
    z: bool

for source in (A, D, T, {"type": "object"}):
    SchemaGenerator(strict=True).generate(source)
assert OutputValidator(A).parse('{"x": 1}') == A(1)
assert OutputValidator(D).parse('{"y": "s"}') == D("s")
assert OutputValidator(T).parse('{"z": true}') == {"z": True}
assert not is_pydantic_model(A)
assert "pydantic" not in sys.modules
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_pydantic_absent_from_sys_modules_means_no_pydantic_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pydantic", None)  # as if an import had failed
    assert not is_pydantic_model(Weather)
    assert SchemaGenerator().generate(Weather)["title"] == "Weather"


def test_generated_schemas_are_valid_json_schema() -> None:
    for source in (Weather, Point, Person, Partial, Node, Everything):
        for strict in (False, True):
            schema = SchemaGenerator(strict=strict).generate(source)
            jsonschema.Draft202012Validator.check_schema(schema)
            json.dumps(schema)  # plain JSON
