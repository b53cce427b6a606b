"""Tool definitions (issue 6, item 6): ``ToolDefinition.from_function`` (signatures, types,
docstrings, partials) and ``ToolDefinition.from_dict``; the checks before sending are in
test_tool_checks.py."""

from __future__ import annotations

import dataclasses
import enum
import functools
import sys
from typing import Annotated, Any, Literal, Optional, TypedDict

import attrs
import jsonschema
import pytest

from ailib.errors import ToolDefinitionError
from ailib.providers import openai
from ailib.runtime.tool_check import check_tools
from ailib.types import ToolDefinition

if sys.version_info >= (3, 11):
    from typing import NotRequired
else:  # pragma: no cover
    from typing_extensions import NotRequired

# ---- from_function: signatures ------------------------------------------------------------


def test_var_args_are_not_properties_and_kwargs_allow_more() -> None:
    def f(a: int, *args: int, b: str = "", **kwargs: Any) -> None:
        """F."""

    params = ToolDefinition.from_function(f).parameters
    assert params["properties"] == {"a": {"type": "integer"}, "b": {"type": "string"}}
    assert params["required"] == ["a"]
    assert params["additionalProperties"] is True


def test_typed_kwargs_give_the_schema_of_further_properties() -> None:
    def f(*, scale: float, **extra: int) -> None:
        """F."""

    params = ToolDefinition.from_function(f).parameters
    assert params == {
        "type": "object",
        "properties": {"scale": {"type": "number"}},
        "required": ["scale"],
        "additionalProperties": {"type": "integer"},
    }


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def test_enums_become_typed_enums() -> None:
    def f(unit: Unit, level: Level = Level.LOW, pick: Literal[Unit.CELSIUS] = Unit.CELSIUS) -> None:
        """F."""

    props = ToolDefinition.from_function(f).parameters["properties"]
    assert props["unit"] == {"type": "string", "enum": ["celsius", "fahrenheit"]}
    assert props["level"] == {"type": "integer", "enum": [1, 2]}
    assert props["pick"] == {"enum": ["celsius"]}


@dataclasses.dataclass
class Point:
    """A point.

    Attributes:
        x: Horizontal position.
    """

    x: int
    y: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)


@attrs.define
class Box:
    width: float
    _height: float = 1.0
    corner: Point | None = None


class Movie(TypedDict, total=False):
    title: str
    year: int


class Query(TypedDict):
    text: str
    limit: NotRequired[int]


def test_dataclass_attrs_and_typeddict_become_object_schemas() -> None:
    def f(point: Point, box: Box, movie: Movie, query: Query) -> None:
        """F."""

    props = ToolDefinition.from_function(f).parameters["properties"]
    assert props["point"] == {
        "type": "object",
        "properties": {
            "x": {"type": "integer", "description": "Horizontal position."},
            "y": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["x"],
    }
    assert props["box"] == {
        "type": "object",
        "properties": {
            "width": {"type": "number"},
            "height": {"type": "number"},  # the __init__ name of a private attrs field
            "corner": props["point"],
        },
        "required": ["width"],
    }
    assert props["movie"] == {
        "type": "object",
        "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
        "required": [],
    }
    assert props["query"]["required"] == ["text"]
    assert props["query"]["properties"]["limit"] == {"type": "integer"}


@dataclasses.dataclass
class Node:
    value: int
    children: list[Node] = dataclasses.field(default_factory=list)


def test_recursive_dataclass_stops() -> None:
    def f(tree: Node) -> None:
        """F."""

    tree = ToolDefinition.from_function(f).parameters["properties"]["tree"]
    assert tree["properties"]["children"] == {"type": "array", "items": {"type": "object"}}


def test_tuples_optionals_lists_dicts_and_literals() -> None:
    def f(
        pair: tuple[int, str],
        many: tuple[float, ...],
        maybe: Optional[int],  # noqa: UP045 - the typing.Optional spelling is under test
        either: str | None,
        names: list[str],
        counts: dict[str, int],
        mode: Literal["fast", "deep"],
        mixed: int | str = 0,
        note: Annotated[str, "A free note."] = "",
    ) -> None:
        """F."""

    props = ToolDefinition.from_function(f).parameters["properties"]
    assert props["pair"] == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2,
        "maxItems": 2,
    }
    assert props["many"] == {"type": "array", "items": {"type": "number"}}
    assert props["maybe"] == {"type": "integer"}
    assert props["either"] == {"type": "string"}
    assert props["names"] == {"type": "array", "items": {"type": "string"}}
    assert props["counts"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["mode"] == {"enum": ["fast", "deep"]}
    assert props["mixed"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert props["note"] == {"type": "string", "description": "A free note."}


def test_every_generated_schema_passes_the_checks() -> None:
    def f(pair: tuple[int, str], point: Point, unit: Unit, *a: int, **k: Any) -> None:
        """F."""

    tool = ToolDefinition.from_function(f)
    check_tools(openai.SPEC.manifest, [tool], tool.name)
    jsonschema.Draft202012Validator(tool.parameters).validate(
        {"pair": [1, "a"], "point": {"x": 1}, "unit": "celsius"}
    )


# ---- from_function: docstrings and partials ----------------------------------------------


def test_google_args_become_descriptions_and_summary_the_description() -> None:
    def get_weather(city: str, unit: str = "C", days: int = 1) -> str:
        """Current weather for a city.
        Args:
            city: City name, for example
                "Paris" or "Tokyo".
            unit (str): "C" or "F".

        Returns:
            The weather.
        """
        return ""

    tool = ToolDefinition.from_function(get_weather)
    assert tool.description == "Current weather for a city."
    props = tool.parameters["properties"]
    assert props["city"] == {
        "type": "string",
        "description": 'City name, for example "Paris" or "Tokyo".',
    }
    assert props["unit"]["description"] == '"C" or "F".'
    assert "description" not in props["days"]


def test_sphinx_and_numpy_docstrings() -> None:
    def sphinx(city: str, unit: str = "C") -> None:
        """Weather.

        :param city: The city
            to look up.
        :param str unit: The unit.
        :returns: nothing.
        """

    def numpy(city: str, unit: str = "C") -> None:
        """Weather.

        Parameters
        ----------
        city : str
            The city.
        unit : str, optional
            The unit.

        Returns
        -------
        None
        """

    for func in (sphinx, numpy):
        tool = ToolDefinition.from_function(func)
        assert tool.description == "Weather."
        props = tool.parameters["properties"]
        assert props["city"]["description"].startswith("The city")
        assert props["unit"]["description"] == "The unit."


def test_explicit_description_still_wins() -> None:
    def f(a: int) -> None:
        """Doc.

        Args:
            a: The a.
        """

    assert ToolDefinition.from_function(f, description="Mine").description == "Mine"
    assert ToolDefinition.from_function(f, description="").description == ""


def test_partial_drops_bound_arguments_and_keeps_the_name() -> None:
    def convert(amount: float, source: str, target: str = "EUR", rounding: int = 2) -> float:
        """Convert money.

        Args:
            amount: How much.
            source: From this currency.
        """
        return amount

    tool = ToolDefinition.from_function(functools.partial(convert, 10.0, rounding=0))
    assert tool.name == "convert"
    assert tool.description == "Convert money."
    props = tool.parameters["properties"]
    assert list(props) == ["source", "target"]
    assert props["source"] == {"type": "string", "description": "From this currency."}
    assert tool.parameters["required"] == ["source"]
    nested = functools.partial(functools.partial(convert, source="USD"), target="GBP")
    assert list(ToolDefinition.from_function(nested).parameters["properties"]) == [
        "amount",
        "rounding",
    ]


def test_callable_object() -> None:
    class Lookup:
        """Look a word up."""

        label: str = "x"  # class annotations are not the call's parameters

        def __call__(self, word: str, limit: int = 3) -> list[str]:
            return []

    tool = ToolDefinition.from_function(Lookup())
    assert tool.name == "Lookup"
    assert tool.parameters["properties"] == {
        "word": {"type": "string"},
        "limit": {"type": "integer"},
    }


# ---- from_dict ----------------------------------------------------------------------------

SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}


@pytest.mark.parametrize(
    "data",
    [
        {
            "type": "function",
            "function": {"name": "find", "description": "Find.", "parameters": SCHEMA},
        },
        {"type": "function", "name": "find", "description": "Find.", "parameters": SCHEMA},
        {"name": "find", "description": "Find.", "input_schema": SCHEMA},
    ],
    ids=["openai-chat", "openai-responses", "anthropic"],
)
def test_from_dict_shapes(data: dict[str, Any]) -> None:
    assert ToolDefinition.from_dict(data) == ToolDefinition("find", "Find.", SCHEMA)


def test_from_dict_defaults_and_strict() -> None:
    tool = ToolDefinition.from_dict({"type": "function", "function": {"name": "p", "strict": True}})
    assert tool == ToolDefinition("p", "", {"type": "object", "properties": {}}, strict=True)


@pytest.mark.parametrize("data", [{}, {"type": "web_search"}, {"function": {"name": 3}}, "find"])
def test_from_dict_refuses_what_is_not_a_function_tool(data: Any) -> None:
    with pytest.raises(ToolDefinitionError, match="tool dict"):
        ToolDefinition.from_dict(data)
