"""JSON Schemas for a Python function's parameters, used by ``ToolDefinition.from_function``.

Type hints become schemas (``list[int]``, ``dict[str, X]``, ``tuple[int, str]``,
``Literal``, ``Enum``, ``Optional``, dataclasses, attrs classes and TypedDicts), and the
docstring's ``Args:`` (Google), ``:param x:`` (Sphinx) or ``Parameters`` (NumPy) entries
become property descriptions.

Example::

    def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        '''Current weather.

        Args:
            city: City name, e.g. "Paris".
        '''

    parameters_schema(get_weather)["properties"]["city"]
    # {'type': 'string', 'description': 'City name, e.g. "Paris".'}
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any

import attrs

_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
    type(None): "null",
}
_ARRAYS = (
    list,
    set,
    frozenset,
    collections.abc.Sequence,
    collections.abc.Set,
    collections.abc.Iterable,
)
_OBJECTS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)
# TypedDict key markers (Python 3.11+): the schema is the wrapped type's
_WRAPPERS = tuple(
    getattr(typing, n) for n in ("Required", "NotRequired", "ReadOnly") if hasattr(typing, n)
)


def unwrap_partial(func: Callable[..., Any]) -> tuple[Callable[..., Any], set[str]]:
    """The function under any ``functools.partial`` layers, and the keywords they bind."""
    bound: set[str] = set()
    while isinstance(func, functools.partial):
        bound.update(func.keywords)
        func = func.func
    return func, bound


def parameters_schema(func: Callable[..., Any]) -> dict[str, Any]:
    """The object schema of ``func``'s parameters (``*args`` skipped, bound partial args gone)."""
    target, bound = unwrap_partial(func)
    hints = _hints(target)
    docs = argument_docs(inspect.getdoc(target) or "")
    props: dict[str, Any] = {}
    required: list[str] = []
    extra: Any = None
    for name, param in inspect.signature(func).parameters.items():
        annotation = hints.get(name, param.annotation)
        if param.kind is param.VAR_POSITIONAL or name in bound:
            continue
        if param.kind is param.VAR_KEYWORD:  # **kwargs: any further named arguments
            extra = schema_for(annotation) or True
            continue
        props[name] = _described(schema_for(annotation), docs.get(name))
        if param.default is inspect.Parameter.empty:
            required.append(name)
    schema: dict[str, Any] = {"type": "object", "properties": props, "required": required}
    if extra is not None:
        schema["additionalProperties"] = extra
    return schema


def schema_for(annotation: Any, _seen: tuple[Any, ...] = ()) -> dict[str, Any]:
    """The JSON Schema of one type hint (``{}``, any value, when it has no JSON meaning)."""
    if annotation in (Any, inspect.Parameter.empty) or isinstance(annotation, str):
        return {}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        notes = [a for a in annotation.__metadata__ if isinstance(a, str)]
        return _described(schema_for(args[0], _seen), notes[0] if notes else None)
    if origin in _WRAPPERS:
        return schema_for(args[0], _seen)
    if origin is typing.Literal:
        return {"enum": [a.value if isinstance(a, enum.Enum) else a for a in args]}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # Optional[X]
            return schema_for(options[0], _seen)
        return {"anyOf": [schema_for(a, _seen) for a in options]}
    if origin is tuple or annotation is tuple:
        return _tuple_schema(args, _seen)
    if origin in _ARRAYS or annotation in _ARRAYS:
        return {"type": "array", "items": schema_for(args[0], _seen)} if args else {"type": "array"}
    if origin in _OBJECTS or annotation in _OBJECTS:
        values = schema_for(args[1], _seen) if len(args) == 2 else {}
        return {"type": "object", "additionalProperties": values} if values else {"type": "object"}
    if isinstance(annotation, type):
        return _class_schema(annotation, _seen)
    return {}


def _tuple_schema(args: tuple[Any, ...], seen: tuple[Any, ...]) -> dict[str, Any]:
    if not args:
        return {"type": "array"}
    if len(args) == 2 and args[1] is Ellipsis:  # tuple[int, ...]
        return {"type": "array", "items": schema_for(args[0], seen)}
    if args == ((),):  # tuple[()]
        return {"type": "array", "maxItems": 0}
    return {
        "type": "array",
        "prefixItems": [schema_for(a, seen) for a in args],
        "minItems": len(args),
        "maxItems": len(args),
    }


def _class_schema(cls: type, seen: tuple[Any, ...]) -> dict[str, Any]:
    if cls in _JSON_TYPES:
        return {"type": _JSON_TYPES[cls]}
    if issubclass(cls, enum.Enum):
        return _enum_schema(cls)
    if cls in seen:  # a recursive structure: stop at "some object"
        return {"type": "object"}
    fields = _fields(cls)
    if fields is None:
        for base, name in _JSON_TYPES.items():  # subclasses of str, int, ...
            if base is not type(None) and issubclass(cls, base):
                return {"type": name}
        return {}
    docs = argument_docs(inspect.getdoc(cls) or "")
    seen = (*seen, cls)
    props = {n: _described(schema_for(t, seen), docs.get(n)) for n, (t, _) in fields.items()}
    required = [n for n, (_, needed) in fields.items() if needed]
    return {"type": "object", "properties": props, "required": required}


def _enum_schema(cls: type[enum.Enum]) -> dict[str, Any]:
    values = [m.value for m in cls]
    if not all(isinstance(v, (str, int, float, bool)) or v is None for v in values):
        values = [m.name for m in cls]  # values with no JSON form: the model picks a name
    kinds = {_JSON_TYPES.get(type(v)) for v in values}
    if kinds == {"integer", "number"}:
        kinds = {"number"}
    if len(kinds) == 1 and None not in kinds:
        return {"type": kinds.pop(), "enum": values}
    return {"enum": values}


def _fields(cls: type) -> dict[str, tuple[Any, bool]] | None:
    """``{name: (type hint, required)}`` of a dataclass, attrs class or TypedDict."""
    hints = _hints(cls)
    if typing.is_typeddict(cls):
        needed = cls.__required_keys__  # type: ignore[attr-defined]
        return {n: (t, _typed_dict_required(t, n in needed)) for n, t in hints.items()}
    if dataclasses.is_dataclass(cls):
        return {
            f.name: (
                hints.get(f.name, f.type),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(cls)
            if f.init
        }
    if attrs.has(cls):
        return {
            (f.alias or f.name): (hints.get(f.name, f.type), f.default is attrs.NOTHING)
            for f in attrs.fields(cls)
            if f.init
        }
    return None


def _typed_dict_required(hint: Any, default: bool) -> bool:
    # the explicit marker wins: under `from __future__ import annotations` the class
    # cannot see it when it is created, so __required_keys__ may be wrong
    marker = getattr(typing.get_origin(hint), "_name", None)
    return {"Required": True, "NotRequired": False}.get(str(marker), default)


def _hints(obj: Any) -> dict[str, Any]:
    routine_or_class = inspect.isroutine(obj) or isinstance(obj, type)
    target = obj if routine_or_class else type(obj).__call__  # callable objects
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # unresolvable forward references: the raw annotations are used
        return {}


def _described(schema: dict[str, Any], text: str | None) -> dict[str, Any]:
    if text and "description" not in schema:
        return {**schema, "description": text}
    return schema


# ---- docstrings ---------------------------------------------------------------------------

_GOOGLE_SECTIONS = re.compile(
    r"(args|arguments|parameters|params|keyword args|keyword arguments|attributes)\s*:",
    re.IGNORECASE,
)
_ANY_GOOGLE_SECTION = re.compile(r"[A-Z][A-Za-z ]*:")
_GOOGLE_ENTRY = re.compile(r"\*{0,2}([A-Za-z_]\w*)\s*(?:\([^)]*\))?\s*:(.*)")
_SPHINX_ENTRY = re.compile(r":param\s+(?:[^:]*\s)?([A-Za-z_]\w*)\s*:(.*)")
_NUMPY_SECTIONS = ("parameters", "other parameters", "attributes")
_NUMPY_ENTRY = re.compile(r"\*{0,2}([A-Za-z_]\w*)\s*(?::.*)?")


def summary(doc: str) -> str:
    """The docstring's first paragraph, before any section (``Args:``, ``:param``, ...)."""
    lines: list[str] = []
    for line in doc.strip().splitlines():
        text = line.strip()
        if not text or text.startswith(":") or _GOOGLE_SECTIONS.fullmatch(text):
            break
        lines.append(line)
    return "\n".join(lines).strip()


def argument_docs(doc: str) -> dict[str, str]:
    """``{argument: description}`` from Google ``Args:``, Sphinx ``:param`` or NumPy sections."""
    found: dict[str, list[str]] = {}
    lines = doc.expandtabs().splitlines()
    current: list[str] | None = None
    mode = ""  # "google", "numpy", "sphinx" or "" (outside any argument section)
    header = entry = 0  # indents of the section header and of its entries
    for i, line in enumerate(lines):
        text = line.strip()
        indent = len(line) - len(text) if text else 0
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        numpy_header = bool(following) and set(following) == {"-"}
        if not text:
            continue
        ends = mode != "numpy" or numpy_header or _ANY_GOOGLE_SECTION.fullmatch(text)
        if mode and indent <= header and ends and not text.startswith(":param"):
            mode, current = "", None
        if _GOOGLE_SECTIONS.fullmatch(text):
            mode, header, entry, current = "google", indent, -1, None
        elif numpy_header and text.lower() in _NUMPY_SECTIONS:
            mode, header, entry, current = "numpy", indent, indent, None
        elif set(text) == {"-"} and mode == "numpy":
            continue
        elif (m := _SPHINX_ENTRY.fullmatch(text)) is not None:
            mode, header, current = "sphinx", indent, [m.group(2).strip()]
            found[m.group(1)] = current
        elif mode == "google":
            entry = indent if entry < 0 else entry
            if indent == entry and (m := _GOOGLE_ENTRY.fullmatch(text)):
                current = found[m.group(1)] = [m.group(2).strip()]
            elif indent > entry and current is not None:
                current.append(text)
        elif mode == "numpy":
            if indent == entry and (m := _NUMPY_ENTRY.fullmatch(text)):
                current = found[m.group(1)] = []
            elif indent > entry and current is not None:
                current.append(text)
        elif mode == "sphinx" and current is not None and indent > header:
            current.append(text)
    return {name: " ".join(p for p in parts if p) for name, parts in found.items() if any(parts)}
