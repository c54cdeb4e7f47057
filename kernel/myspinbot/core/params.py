"""Reading a job type's parameters from a request: JSON strictly, form fields by the schema's types.

JSON carries types, so a JSON body is validated in pydantic's strict JSON mode: `false` or `"17"`
for an integer is refused, as the OpenAPI schema says, instead of being stored as `0` or `17`.
Multipart form fields are always text, so each is first turned into the JSON value its field's
schema asks for ("17" → 17, "true" → true, "768" → 768 for an enum of integers) and then goes
through the same strict validation; text that fits no type is passed on and refused there.
This is the kernel's job, so no plugin needs "before" validators that loosen its own types.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from myspinbot_client.params import schema_alternatives

Model = TypeVar("Model", bound=BaseModel)
Schema = Mapping[str, Any]

INTEGER = re.compile(r"^[+-]?\d+$")
TRUE_WORDS = frozenset({"true", "on", "yes", "1"})
FALSE_WORDS = frozenset({"false", "off", "no", "0"})


def params_from_json(model: type[Model], body: bytes | str) -> Model:
    """Validate a JSON body strictly: no bool or string coerced into a number (raises ValidationError)."""
    return model.model_validate_json(body, strict=True)


def params_from_form(model: type[Model], fields: Mapping[str, str]) -> Model:
    """Validate multipart text fields, each first typed by its field's JSON schema (raises ValidationError).

    A blank field means "use the default": HTML forms send every input, filled in or not.
    """
    schema = model.model_json_schema()
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    typed = {
        name: typed_form_value(text, properties[name], schema) if name in properties else text
        for name, text in fields.items()
        if text.strip()
    }
    return params_from_json(model, json.dumps(typed))


def typed_form_value(text: str, node: Schema, root: Schema) -> Any:
    """The JSON value a form field's text stands for under its schema `node`; the text itself if none fits."""
    alternatives = list(schema_alternatives(node, root))
    if any(alt.get("type") == "string" and "enum" not in alt and "const" not in alt for alt in alternatives):
        return text  # a free string takes any text as it is
    for alt in alternatives:
        value = parse_as(text.strip(), alt)
        if value is not NO_VALUE:
            return value
    return text


NO_VALUE = object()


def parse_as(text: str, node: Schema) -> Any:
    """`text` as a value of one schema alternative, or NO_VALUE when it is not one."""
    if "enum" in node or "const" in node:
        choices = list(node["enum"]) if "enum" in node else [node["const"]]
        return next((choice for choice in choices if json.dumps(choice) == text or choice == text), NO_VALUE)
    kind = node.get("type")
    if kind == "integer" and INTEGER.match(text):
        return int(text)
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            return NO_VALUE
        if not math.isfinite(number):
            return NO_VALUE
        return int(text) if INTEGER.match(text) else number
    if kind == "boolean" and text.lower() in TRUE_WORDS | FALSE_WORDS:
        return text.lower() in TRUE_WORDS
    if kind == "null" and text.lower() == "null":
        return None
    if kind in ("array", "object"):
        try:
            value = json.loads(text)
        except ValueError:
            return NO_VALUE
        return value if isinstance(value, list if kind == "array" else dict) else NO_VALUE
    return NO_VALUE


def allowed_form(node: Schema, root: Schema) -> str:
    """What a field takes, in words, from its schema: "an integer from 128 to 1920, a multiple of 16"."""
    described = [describe(alt) for alt in schema_alternatives(node, root)]
    return " or ".join(dict.fromkeys(text for text in described if text))


def describe(node: Schema) -> str:
    """One schema alternative in words (empty when the schema says nothing checkable)."""
    if "enum" in node or "const" in node:
        choices = list(node["enum"]) if "enum" in node else [node["const"]]
        return "one of " + ", ".join(json.dumps(choice) for choice in choices)
    kind = node.get("type")
    if kind in ("integer", "number"):
        text = ("an integer" if kind == "integer" else "a number") + numeric_range(node)
        if "multipleOf" in node:
            text += f", a multiple of {node['multipleOf']}"
        return text
    if kind == "string":
        low, high = node.get("minLength"), node.get("maxLength")
        text = "text"
        if low is not None and high is not None:
            text += f" of {low} to {high} characters"
        elif high is not None:
            text += f" of at most {high} characters"
        elif low is not None:
            text += f" of at least {low} characters"
        if "pattern" in node:
            text += f" matching {node['pattern']}"
        return text
    return {"boolean": "true or false", "null": "null", "array": "a list", "object": "an object"}.get(str(kind), "")


def numeric_range(node: Schema) -> str:
    """ " from 128 to 1920", " ≥ 0", " > 0 and ≤ 1", or "" for a number without bounds."""
    low, high = node.get("minimum"), node.get("maximum")
    above, below = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
    if low is not None and high is not None:
        return f" from {low} to {high}"
    parts = []
    if low is not None:
        parts.append(f"≥ {low}")
    if above is not None:
        parts.append(f"> {above}")
    if high is not None:
        parts.append(f"≤ {high}")
    if below is not None:
        parts.append(f"< {below}")
    return " " + " and ".join(parts) if parts else ""
