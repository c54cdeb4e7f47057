"""From a job type's JSON schema to form fields, and from what was typed back to parameters.

Plain Python: `form_of(job_type)` describes one field per parameter (text, integer, number,
choice, switch) and the file pickers for its uploads; `collect` turns the form's values into the
parameters to submit, with a message per field the dashboard can already tell is wrong; the API
checks everything again and `api_errors` places its answer next to the fields it names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from myspinbot_client import ApiError, FileField, InputError, JobType
from myspinbot_client.display import format_size
from myspinbot_client.params import parse_value

Schema = Mapping[str, Any]
# Text longer than this is typed in a multi-line box (a prompt, a caption).
MULTILINE_FROM = 500
FORM_ERROR = ""  # the key of messages about the whole form rather than one field


class FieldKind(StrEnum):
    """How a parameter is typed in: a text box, a number box, a list to choose from, or a switch."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    CHOICE = "choice"
    SWITCH = "switch"


@dataclass(frozen=True)
class FieldSpec:
    """One parameter's form field."""

    name: str
    label: str
    kind: FieldKind
    schema: Schema = field(repr=False)
    description: str = ""
    required: bool = False
    nullable: bool = False
    default: Any = None
    has_default: bool = False
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    multiline: bool = False
    example: str = ""

    @property
    def initial(self) -> str | bool:
        """What the field shows at first: the default as text (a bool for a switch)."""
        if self.kind is FieldKind.SWITCH:
            return bool(self.default)
        if not self.has_default or self.default is None:
            return ""
        return choice_key(self.default) if self.kind is FieldKind.CHOICE else _text(self.default)

    @property
    def help(self) -> str:
        """The line under the field: what it is, its bounds, and whether it may stay empty."""
        parts = [self.description] if self.description else []
        bounds = _bounds(self.minimum, self.maximum)
        if bounds:
            parts.append(bounds)
        if self.nullable and not self.required and self.kind is not FieldKind.SWITCH:
            parts.append("optional")
        return " · ".join(parts)


@dataclass(frozen=True)
class FormSpec:
    """The form of one job type: its parameters, then its upload fields."""

    job_type: str
    title: str
    description: str
    fields: tuple[FieldSpec, ...]
    files: tuple[FileField, ...]
    schema: Schema = field(default_factory=dict, repr=False)

    def param(self, name: str) -> FieldSpec | None:
        """A parameter's field by name."""
        return next((spec for spec in self.fields if spec.name == name), None)

    def names(self) -> set[str]:
        """Every field name of the form, parameters and uploads."""
        return {spec.name for spec in self.fields} | {upload.field for upload in self.files}


@dataclass(frozen=True)
class PickedFile:
    """A file chosen in the browser: its name and size (the bytes go up only on submit)."""

    name: str
    size: int


def form_of(job_type: JobType) -> FormSpec:
    """The form for a job type, one field per property of its parameter schema, in schema order."""
    schema = job_type.params_schema
    required = set(schema.get("required") or ())
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    fields = tuple(field_of(name, node, schema, name in required) for name, node in properties.items())
    return FormSpec(
        job_type.name, job_type.title or job_type.name, job_type.description, fields, job_type.files, schema
    )


def field_of(name: str, node: Schema, root: Schema, required: bool) -> FieldSpec:
    """The form field of one schema property."""
    resolved = _resolve(node, root)
    alternatives = [_resolve(alt, root) for alt in resolved.get("anyOf") or resolved.get("oneOf") or [resolved]]
    nullable = any(alt.get("type") == "null" for alt in alternatives)
    main = next((alt for alt in alternatives if alt.get("type") != "null"), {})
    kind, choices = _kind(main)
    examples = resolved.get("examples") or main.get("examples") or []
    return FieldSpec(
        name=name,
        label=str(resolved.get("title") or name.replace("_", " ").capitalize()),
        kind=kind,
        schema=node,
        description=str(resolved.get("description") or main.get("description") or ""),
        required=required,
        nullable=nullable,
        default=resolved.get("default"),
        has_default="default" in resolved,
        choices=choices,
        minimum=_number(main.get("minimum", main.get("exclusiveMinimum"))),
        maximum=_number(main.get("maximum", main.get("exclusiveMaximum"))),
        multiline=kind is FieldKind.TEXT and int(main.get("maxLength") or 0) >= MULTILINE_FROM,
        example=_text(examples[0]) if examples else "",
    )


def choice_key(value: Any) -> str:
    """The text a choice is listed under (also what `parse_field` reads back)."""
    return value if isinstance(value, str) else json.dumps(value)


def parse_field(spec: FieldSpec, value: str | bool | None, root: Schema) -> tuple[bool, Any]:
    """(whether to send it, the typed value) for what a field holds; raises `InputError` when wrong.

    An empty field is left out so the API applies the default, unless it is required.
    """
    if spec.kind is FieldKind.SWITCH:
        return True, bool(value)
    text = "" if value is None else str(value)
    if not text.strip():
        if spec.required:
            raise InputError(spec.name, "required")
        return False, None
    if spec.kind is FieldKind.CHOICE:
        for choice in spec.choices:
            if choice_key(choice) == text:
                return True, choice
    return True, parse_value(spec.schema, text if spec.kind is FieldKind.TEXT else text.strip(), root, spec.name)


def collect(form: FormSpec, values: Mapping[str, str | bool | None]) -> tuple[dict[str, Any], dict[str, str]]:
    """(parameters to submit, messages by field name) from the form's current values."""
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in form.fields:
        try:
            send, typed = parse_field(spec, values.get(spec.name), form.schema)
        except InputError as error:
            errors[spec.name] = _sentence(error.message)
            continue
        if send:
            params[spec.name] = typed
    return params, errors


def check_files(upload: FileField, picked: Sequence[PickedFile]) -> str | None:
    """What is wrong with the files picked for an upload field, or None."""
    for item in picked:
        if not upload.accepts(item.name):
            return f"{item.name} is not accepted ({accepted_text(upload)})"
        if upload.max_bytes is not None and item.size > upload.max_bytes:
            return f"{item.name} is {format_size(item.size)}, over the limit of {format_size(upload.max_bytes)}"
    if len(picked) > upload.max_count:
        return f"At most {upload.max_count} file(s), {len(picked)} picked"
    if len(picked) < upload.min_count:
        return f"Pick at least {upload.min_count} file(s)"
    return None


def accepted_text(upload: FileField) -> str:
    """The accepted extensions, for a hint: ".png, .jpg or .zip"."""
    extensions = list(upload.accepted)
    if not extensions:
        return "any file"
    return ", ".join(extensions[:-1]) + f" or {extensions[-1]}" if len(extensions) > 1 else extensions[0]


def api_errors(error: ApiError, form: FormSpec) -> dict[str, str]:
    """The API's answer to a submission as messages by field; what names no field goes under FORM_ERROR."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    names = form.names()
    for detail in error.details:
        name = _field_name(detail.field, names)
        if name is None:
            general.append(_sentence(detail.message))
        else:
            by_field[name] = " ".join(filter(None, [by_field.get(name), _sentence(detail.message)]))
    if general or not by_field:
        by_field[FORM_ERROR] = " ".join(general) or _sentence(error.message)
    return by_field


def _field_name(reported: str | None, names: set[str]) -> str | None:
    if not reported:
        return None
    if reported in names:
        return reported
    # A nested location such as "body.width" or "width.0" still names its field.
    for part in reported.replace("[", ".").split("."):
        if part in names:
            return part
    return None


def _kind(node: Schema) -> tuple[FieldKind, tuple[Any, ...]]:
    if "enum" in node:
        return FieldKind.CHOICE, tuple(node["enum"])
    if "const" in node:
        return FieldKind.CHOICE, (node["const"],)
    kind = node.get("type")
    if kind == "boolean":
        return FieldKind.SWITCH, ()
    if kind == "integer":
        return FieldKind.INTEGER, ()
    if kind == "number":
        return FieldKind.NUMBER, ()
    return FieldKind.TEXT, ()


def _resolve(node: Schema, root: Schema) -> Schema:
    """Follow a local `$ref` (pydantic puts enums and nested models under `$defs`)."""
    seen = 0
    while isinstance(node.get("$ref"), str) and seen < 10:
        path = node["$ref"].removeprefix("#/").split("/")
        target: Any = root
        for part in path:
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        merged = {key: value for key, value in node.items() if key != "$ref"}
        node = {**target, **merged} if isinstance(target, Mapping) else merged
        seen += 1
    # A single-entry allOf is how pydantic attaches a title or default to a $ref.
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
        rest = {key: value for key, value in node.items() if key != "allOf"}
        return {**_resolve(all_of[0], root), **rest}
    return node


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return None


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{_text(low)}–{_text(high)}"
    if low is not None:
        return f"≥ {_text(low)}"
    if high is not None:
        return f"≤ {_text(high)}"
    return ""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def _sentence(message: str) -> str:
    message = message.strip()
    first = message.split(" ", 1)[0]
    # "num_frames must be…" names a parameter: leave its spelling alone.
    return message[:1].upper() + message[1:] if first.isalpha() else message
