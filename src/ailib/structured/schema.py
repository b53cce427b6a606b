"""JSON Schemas for structured output, from the user's types.

Sources: attrs classes, dataclasses, TypedDicts, pydantic models (when pydantic is
installed; ailib never imports it itself) and plain JSON Schema dicts. Nested classes
go to ``$defs`` and are referenced, so recursive types work.

Example::

    @attrs.frozen
    class Weather:
        city: str
        temperature_c: float
        conditions: list[str]

    SchemaGenerator().generate(Weather)
    # {'type': 'object', 'title': 'Weather', 'properties': {...},
    #  'required': ['city', 'temperature_c', 'conditions'], 'additionalProperties': False}
    SchemaGenerator(strict=True).generate(Weather)  # every property required (OpenAI strict)
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import decimal
import enum
import inspect
import re
import sys
import types
import typing
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from ailib.errors import InvalidRequestError

__all__ = ["SchemaGenerator", "can_be_strict", "inline_refs", "is_pydantic_model", "strict_schema"]

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.time: {"type": "string", "format": "time"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    decimal.Decimal: {"type": "number"},
}
_ARRAYS = (list, collections.abc.Sequence, collections.abc.MutableSequence)
_SETS = (set, frozenset, collections.abc.Set, collections.abc.MutableSet)
_OBJECTS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)
_WRAPPERS = tuple(
    getattr(typing, n) for n in ("Required", "NotRequired", "ReadOnly") if hasattr(typing, n)
)
_NAME = re.compile(r"[^a-zA-Z0-9_-]+")
#: what a response-format / tool name may be on every wire (OpenAI's rule)
NAME_LIMIT = 64


def is_pydantic_model(source: Any) -> bool:
    """Whether ``source`` is a pydantic model class (pydantic is never imported here)."""
    pydantic = sys.modules.get("pydantic")
    base = getattr(pydantic, "BaseModel", None)
    return isinstance(source, type) and base is not None and issubclass(source, base)


def is_schema_class(source: Any) -> bool:
    """An attrs class, dataclass, TypedDict or pydantic model."""
    return isinstance(source, type) and (
        attrs.has(source)
        or dataclasses.is_dataclass(source)
        or typing.is_typeddict(source)
        or is_pydantic_model(source)
    )


class SchemaGenerator:
    """Turns a type (or a JSON Schema dict) into the JSON Schema of its JSON form.

    ``strict=True`` gives the form OpenAI's strict mode takes: every object lists all its
    properties as required and allows no others (an optional field becomes a required
    one that may be null). ``inline_refs=True`` replaces ``$ref`` by the definitions
    (for wires that do not resolve references; recursive definitions stay references).

    Example::

        schema = SchemaGenerator(strict=True).generate(Weather)
        name = SchemaGenerator.name_of(Weather)  # "Weather"
    """

    def __init__(self, *, strict: bool = False, inline_refs: bool = False) -> None:
        self.strict = strict
        self.inline_refs = inline_refs

    def generate(self, source: Any) -> dict[str, Any]:
        """The JSON Schema of ``source`` (a class, a type hint or a JSON Schema dict)."""
        if isinstance(source, Mapping):
            schema = _plain(source)
        elif is_pydantic_model(source):
            schema = source.model_json_schema()
        else:
            schema = _Builder().root(source)
        if self.strict:
            schema = strict_schema(schema)
        if self.inline_refs:
            schema = inline_refs(schema)
        return schema

    @staticmethod
    def name_of(source: Any, default: str = "response") -> str:
        """A name for the schema on the wire: the class name or the schema's ``title``."""
        if isinstance(source, Mapping):
            raw = source.get("title")
        else:
            raw = getattr(source, "__name__", None)
        name = _NAME.sub("_", raw).strip("_") if isinstance(raw, str) else ""
        return (name or default)[:NAME_LIMIT]


def _plain(source: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a JSON Schema dict (the caller's object is never changed)."""
    import copy

    schema = copy.deepcopy(dict(source))
    if not isinstance(schema.get("type", "object"), (str, list)):
        raise InvalidRequestError(f"not a JSON Schema: 'type' is {schema['type']!r}")
    return schema


class _Builder:
    """One schema: ``$defs`` collected on the way."""

    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        self.names: dict[type, str] = {}

    def root(self, source: Any) -> dict[str, Any]:
        if isinstance(source, type) and is_schema_class(source):
            schema = self.class_schema(source)
            name = self.names.get(source)
            if name is not None and self._references(name):  # recursive: the root is a $ref
                schema = {"$ref": f"#/$defs/{name}"}
            elif name is not None:
                del self.defs[name]
        else:
            schema = self.of(source)
        if self.defs:
            schema = {**schema, "$defs": dict(sorted(self.defs.items()))}
        return schema

    def _references(self, name: str) -> bool:
        target = repr(f"#/$defs/{name}")
        return any(target in repr(d) for d in self.defs.values())

    def of(self, hint: Any) -> dict[str, Any]:
        """The schema of one type hint (``{}`` for ``Any``)."""
        if hint is Any or hint is object:
            return {}
        if isinstance(hint, str):
            raise InvalidRequestError(
                f"cannot resolve the type hint {hint!r}: define the classes of a structured "
                "output at module level (forward references must be importable)"
            )
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin is typing.Annotated:
            notes = [a for a in hint.__metadata__ if isinstance(a, str)]
            return _described(self.of(args[0]), notes[0] if notes else None)
        if origin in _WRAPPERS:
            return self.of(args[0])
        if origin is typing.Literal:
            values = [a.value if isinstance(a, enum.Enum) else a for a in args]
            return _enum_values(values)
        if origin in (typing.Union, types.UnionType):
            options = [self.of(a) for a in args]
            return options[0] if len(options) == 1 else {"anyOf": options}
        if origin is tuple or hint is tuple:
            return self._tuple(args)
        if origin in _SETS or hint in _SETS:
            element = self.of(args[0]) if args else {}
            return {"type": "array", "items": element, "uniqueItems": True}
        if origin in _ARRAYS or hint in _ARRAYS:
            return {"type": "array", "items": self.of(args[0]) if args else {}}
        if origin in _OBJECTS or hint in _OBJECTS:
            mapped = self.of(args[1]) if len(args) == 2 else {}
            return {"type": "object", "additionalProperties": mapped}
        if isinstance(hint, type):
            return self.typed(hint)
        raise InvalidRequestError(f"no JSON Schema for the type {hint!r}")

    def typed(self, cls: type) -> dict[str, Any]:
        if cls in _SCALARS:
            return dict(_SCALARS[cls])
        if issubclass(cls, enum.Enum):
            return _enum_values([m.value for m in cls])
        if is_schema_class(cls):
            name = self.names.get(cls)
            if name is None:
                self.class_schema(cls)
                name = self.names[cls]
            return {"$ref": f"#/$defs/{name}"}
        for base, schema in _SCALARS.items():  # subclasses of str, int, ...
            if base is not type(None) and issubclass(cls, base):
                return dict(schema)
        raise InvalidRequestError(f"no JSON Schema for the class {cls.__qualname__!r}")

    def class_schema(self, cls: type) -> dict[str, Any]:
        """The object schema of a class, registered in ``$defs`` under a unique name."""
        name = self._name(cls)
        self.names[cls] = name
        self.defs[name] = {}  # registered first: a recursive reference finds it
        if is_pydantic_model(cls):
            model: Any = cls
            schema: dict[str, Any] = model.model_json_schema(ref_template="#/$defs/{model}")
            self.defs.update(schema.pop("$defs", {}))
        else:
            schema = self._fields_schema(cls)
        self.defs[name] = schema
        return schema

    def _name(self, cls: type) -> str:
        base = SchemaGenerator.name_of(cls, "Model")
        name, n = base, 2
        while name in self.defs:
            name, n = f"{base}{n}", n + 1
        return name

    def _fields_schema(self, cls: type) -> dict[str, Any]:
        from ailib.types.tool_schema import argument_docs, summary

        doc = inspect.cleandoc(cls.__doc__ or "")
        if doc.startswith(f"{cls.__name__}("):  # a dataclass's generated docstring
            doc = ""
        docs = argument_docs(doc)
        props: dict[str, Any] = {}
        required: list[str] = []
        for name, hint, needed, note in _fields(cls):
            props[name] = _described(self.of(hint), note or docs.get(name))
            if needed:
                required.append(name)
        schema: dict[str, Any] = {"type": "object", "title": cls.__name__}
        description = summary(doc)
        if description:
            schema["description"] = description
        schema["properties"] = props
        schema["required"] = required
        schema["additionalProperties"] = False
        return schema

    def _tuple(self, args: tuple[Any, ...]) -> dict[str, Any]:
        if not args:
            return {"type": "array"}
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": self.of(args[0])}
        if args == ((),):
            return {"type": "array", "maxItems": 0}
        return {
            "type": "array",
            "prefixItems": [self.of(a) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }


def _fields(cls: type) -> list[tuple[str, Any, bool, str | None]]:
    """``(name, type hint, required, description)`` of each field of a class."""
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except NameError as exc:
        raise InvalidRequestError(
            f"cannot resolve the type hints of {cls.__qualname__}: {exc}; define the classes "
            "of a structured output at module level"
        ) from None
    if typing.is_typeddict(cls):
        needed = cls.__required_keys__  # type: ignore[attr-defined]
        out: list[tuple[str, Any, bool, str | None]] = []
        for name, hint in hints.items():
            marker = getattr(typing.get_origin(hint), "_name", None)
            required = {"Required": True, "NotRequired": False}.get(str(marker), name in needed)
            out.append((name, hint, required, None))
        return out
    if dataclasses.is_dataclass(cls):
        return [
            (
                f.name,
                hints.get(f.name, f.type),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
                f.metadata.get("description"),
            )
            for f in dataclasses.fields(cls)
            if f.init
        ]
    return [
        (
            f.alias or f.name,
            hints.get(f.name, f.type),
            f.default is attrs.NOTHING,
            f.metadata.get("description"),
        )
        for f in attrs.fields(cls)
        if f.init
    ]


def _enum_values(values: list[Any]) -> dict[str, Any]:
    kinds = {type(v) for v in values}
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if len(kinds) == 1 and next(iter(kinds)) in names:
        return {"type": names[next(iter(kinds))], "enum": values}
    return {"enum": values}


def _described(schema: dict[str, Any], text: str | None) -> dict[str, Any]:
    if text and "description" not in schema and "$ref" not in schema:
        return {**schema, "description": text}
    return schema


# ---- transforms of a schema ----------------------------------------------------------

_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SUBSCHEMA_ONE = ("items", "additionalProperties", "not", "contains")


def _walk(schema: Any, visit: Any) -> Any:
    """A copy of ``schema`` with ``visit`` applied to every subschema, deepest first."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_walk(s, visit) for s in out[key]]
    for key in _SUBSCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {k: _walk(s, visit) for k, s in out[key].items()}
    for key in _SUBSCHEMA_ONE:
        if isinstance(out.get(key), dict):
            out[key] = _walk(out[key], visit)
    result: dict[str, Any] = visit(out)
    return result


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` in the form strict modes take: in every object with ``properties``,
    all of them required (those that were optional may now be null) and no others
    allowed; ``default`` values dropped. The caller's dict is not changed."""

    def visit(node: dict[str, Any]) -> dict[str, Any]:
        node.pop("default", None)
        props = node.get("properties")
        if isinstance(props, dict) and (node.get("type") in (None, "object")):
            required = set(node.get("required", []))
            for name, sub in props.items():
                if name not in required:
                    props[name] = _nullable(sub)
            node["required"] = list(props)
            node.setdefault("additionalProperties", False)
        return node

    return dict(_walk(schema, visit))


def _nullable(schema: Any) -> Any:
    if not isinstance(schema, dict) or schema == {}:
        return schema
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return schema
    options = schema.get("anyOf")
    if isinstance(options, list):
        if any(o.get("type") == "null" for o in options if isinstance(o, dict)):
            return schema
        return {**schema, "anyOf": [*options, {"type": "null"}]}
    return {"anyOf": [schema, {"type": "null"}]}


def can_be_strict(schema: Any) -> bool:
    """Whether every object of ``schema`` already has the strict form (all properties
    required, ``additionalProperties: false``), so a strict mode can take it as it is."""
    ok = True

    def visit(node: dict[str, Any]) -> dict[str, Any]:
        nonlocal ok
        if node.get("type") == "object" or "properties" in node:
            props = node.get("properties")
            closed = isinstance(props, dict) and node.get("additionalProperties") is False
            if not closed or set(node.get("required", [])) != set(props or {}):
                ok = False
        return node

    _walk(schema, visit)
    return ok


def inline_refs(schema: dict[str, Any], *, max_depth: int = 32) -> dict[str, Any]:
    """``schema`` with each local ``$ref`` (``#/$defs/X``) replaced by its definition;
    definitions that refer to themselves (recursive types) keep their references."""
    defs = dict(schema.get("$defs") or schema.get("definitions") or {})
    if not defs:
        return schema

    def resolve(node: Any, trail: tuple[str, ...]) -> tuple[Any, bool]:
        """(node with references inlined, whether a recursive reference was kept)"""
        if isinstance(node, list):
            pairs = [resolve(n, trail) for n in node]
            return [p[0] for p in pairs], any(p[1] for p in pairs)
        if not isinstance(node, dict):
            return node, False
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.split("/")[-1] in defs and ref.startswith("#/"):
            name = ref.split("/")[-1]
            if name in trail or len(trail) >= max_depth:
                return node, True
            inner, kept = resolve(defs[name], (*trail, name))
            extra = {k: v for k, v in node.items() if k != "$ref"}
            return ({**inner, **extra} if isinstance(inner, dict) else inner), kept
        kept_any = False
        out = {}
        for key, value in node.items():
            if key in ("$defs", "definitions"):
                continue
            out[key], kept = resolve(value, trail)
            kept_any = kept_any or kept
        return out, kept_any

    body, kept = resolve(schema, ())
    if kept:  # recursive definitions: their references need the definitions
        body["$defs"] = defs
    return dict(body)
