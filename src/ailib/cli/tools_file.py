"""``ailib chat --tools file.py``: the typed functions of a Python file, offered as tools.

The file is the user's own code, imported as a module from its path. Its public
functions (or those in its ``__all__``) become tools through
``ToolDefinition.from_function``; each parameter needs a type hint.

Example::

    tools = ToolFile.load("calc.py")       # UsageError, one line, when it cannot be used
    tools.definitions                      # [ToolDefinition(name='add', ...)]
    tools.run(call)                        # 5, or {"error": "..."} for the model to read
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from ailib.cli.terminal import UsageError
from ailib.types.tools import ToolCall, ToolDefinition


class ToolFile:
    """The tools a file defines and how to run the calls a model makes to them.

    Example::

        tools = ToolFile.load("calc.py")
        result = tools.run(resp.tool_calls[0])
    """

    def __init__(self, path: str, functions: dict[str, Callable[..., Any]]) -> None:
        self.path = path
        self.functions = functions
        self.definitions = [ToolDefinition.from_function(f) for f in functions.values()]

    @classmethod
    def load(cls, path: str) -> ToolFile:
        """Import ``path`` and collect its typed functions (UsageError when it cannot)."""
        module = _import(path)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [
                name
                for name, value in vars(module).items()
                if not name.startswith("_")
                and inspect.isfunction(value)
                and value.__module__ == module.__name__
            ]
        functions: dict[str, Callable[..., Any]] = {}
        for name in names:
            func = getattr(module, name, None)
            if not callable(func):
                raise UsageError(f"--tools {path}: __all__ names {name!r}, not a function")
            _check_hints(path, name, func)
            functions[name] = func
        if not functions:
            raise UsageError(f"--tools {path}: no public functions to offer as tools")
        return cls(path, functions)

    def run(self, call: ToolCall) -> Any:
        """The function's result for ``call``, or ``{"error": ...}`` the model can read."""
        func = self.functions.get(call.function_name)
        if func is None:
            return {"error": f"no tool named {call.function_name!r}"}
        if call.arguments is None:
            return {"error": f"arguments are not a JSON object: {call.arguments_error}"}
        try:
            return func(**call.arguments)
        except Exception as exc:  # the user's code: its failure goes back to the model
            return {"error": f"{type(exc).__name__}: {exc}"}


def _import(path: str) -> ModuleType:
    file = Path(path)
    if file.is_dir():
        raise UsageError(f"--tools {path}: is a directory; give a Python file (tools.py)")
    if not file.is_file():
        raise UsageError(f"--tools {path}: no such file")
    name = f"ailib_cli_tools_{abs(hash(str(file.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise UsageError(f"--tools {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look the module up by name
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise UsageError(f"--tools {path}: cannot import: line {exc.lineno}: {exc.msg}") from exc
    except BaseException as exc:  # the user's code may raise anything, SystemExit too
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise UsageError(f"--tools {path}: cannot import: {type(exc).__name__}: {exc}") from exc
    return module


def _check_hints(path: str, name: str, func: Callable[..., Any]) -> None:
    try:
        hints = typing.get_type_hints(func)
        parameters = inspect.signature(func).parameters
    except Exception as exc:  # unresolvable annotations, no signature
        raise UsageError(f"--tools {path}: cannot read the hints of {name}(): {exc}") from exc
    for param in parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name not in hints:
            raise UsageError(
                f"--tools {path}: function {name}() has no type hint for parameter "
                f"{param.name!r} (e.g. {param.name}: str)"
            )
