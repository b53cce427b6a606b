"""Parameter checks done before any request is sent.

Example::

    clean = check_params(manifest, {"temperature": 0.2}, drop_unsupported=False)
"""

from __future__ import annotations

import difflib
import logging
from typing import Any

from ailib.dialects import reasoning_off
from ailib.errors import CapabilityError, ParameterError
from ailib.protocol.manifest import Manifest
from ailib.runtime.input_check import check_param

log = logging.getLogger("ailib")

#: parameters that stand for a capability: undeclared, the capability is missing (E1005)
CAPABILITY_PARAMETERS = {
    "reasoning": "reasoning",
    "response_format": "structured_output",
    "parallel_tool_calls": "parallel_tools",
}

_TYPES: dict[str, tuple[type, ...]] = {
    "float": (int, float),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "string": (str,),
    "object": (dict,),
    "array": (list, tuple),
    "string_or_array": (str, list, tuple),
    "reasoning": (str, int, dict, bool),
    "tool_choice": (str, dict),
}


def check_params(
    manifest: Manifest, params: dict[str, Any], *, drop_unsupported: bool = False
) -> dict[str, Any]:
    """Validate names, types and ranges; fill required defaults.

    Raises ParameterError (E1001) for an undeclared or ill-typed parameter, and
    CapabilityError (E1005) for an undeclared parameter that stands for a capability.

    Every value must be plain JSON (no NaN/inf, sets or objects): InvalidRequestError.
    """
    declared = manifest.declared_parameters
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None or (name == "stop" and isinstance(value, list | tuple) and not value):
            continue  # unset; no stop sequences at all is the same as none given
        spec = declared.get(name)
        if spec is None:
            if drop_unsupported:
                log.warning("ailib: %s does not declare parameter %r; dropped", manifest.id, name)
                continue
            if name in CAPABILITY_PARAMETERS:  # a missing capability, not a typo: E1005
                raise CapabilityError(
                    f"provider {manifest.id!r} does not declare the "
                    f"{CAPABILITY_PARAMETERS[name]!r} capability (no {name!r} parameter)",
                    provider=manifest.id,
                )
            close = difflib.get_close_matches(name, list(declared), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ParameterError(
                f"provider {manifest.id!r} does not declare parameter {name!r}{hint} "
                f"(declared: {', '.join(sorted(declared))}). Pass drop_unsupported=True to drop "
                "it, or .extra_body({...}) to send raw wire fields.",
                provider=manifest.id,
            )
        _check_value(manifest.id, name, spec, value)
        check_param(name, value)  # plain JSON, no NaN; stop and reasoning shapes
        out[name] = value
    for name, default in manifest.required_defaults.items():
        if name not in out:
            out[name] = default
    return out


def _check_value(provider: str, name: str, spec: dict[str, Any], value: Any) -> None:
    kind = spec.get("type", "")
    allowed = _TYPES.get(kind)
    bad_bool = isinstance(value, bool) and kind in ("float", "number", "integer")
    if allowed is not None and (bad_bool or not isinstance(value, allowed)):
        raise ParameterError(
            f"parameter {name!r} of {provider!r} must be {kind}, got {type(value).__name__}",
            code="E1001",
            provider=provider,
        )
    low, high = spec.get("min"), spec.get("max")
    if "range" in spec:
        low, high = spec["range"]
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if numeric and ((low is not None and value < low) or (high is not None and value > high)):
        raise ParameterError(
            f"parameter {name!r} of {provider!r} must be within [{low}, {high}], got {value}",
            code="E1001",
            provider=provider,
        )


def drop_idle_reasoning(manifest: Manifest, model: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without the effort "none" where the provider or model declares no
    reasoning: there is nothing to turn off, and such models refuse the field."""
    value = params.get("reasoning")
    if value is False or not reasoning_off(value):
        return params
    caps = manifest.capabilities
    model_caps = manifest.models.get(model, {}).get("capabilities")
    if (caps and "reasoning" not in caps) or (
        model_caps is not None and "reasoning" not in model_caps
    ):
        return {k: v for k, v in params.items() if k != "reasoning"}
    return params
