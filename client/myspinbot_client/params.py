"""Turn `key=value` text and `--file` paths into a submission a job type accepts, before sending it.

Values are typed by the job type's JSON schema (as `GET /api/job-types` gives it): integers,
numbers, booleans, strings, enums, nullable and list fields. Unknown keys, missing required
fields and bad uploads are refused with an `InputError` naming the field. The API checks
everything again; this only spares a round trip and gives the message before any upload.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from myspinbot_client.models import FileField, JobType

__all__ = ["InputError", "assign_files", "parse_params", "parse_value", "split_assignments"]

Schema = Mapping[str, Any]
TRUE = frozenset({"true", "yes", "on", "1"})
FALSE = frozenset({"false", "no", "off", "0"})


class InputError(ValueError):
    """A parameter or upload the job type would refuse; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def split_assignments(items: Sequence[str]) -> dict[str, str]:
    """`["a=1", "b=x=y"]` as `{"a": "1", "b": "x=y"}`; refuses items without `=` and repeated keys."""
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(item, "expected key=value")
        if key in values:
            raise InputError(key, "given twice")
        values[key] = value
    return values


def parse_params(job_type: JobType, values: Mapping[str, str]) -> dict[str, Any]:
    """Typed parameters for `job_type` from their text; raises `InputError` naming the first bad one."""
    schema = job_type.params_schema
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    for key in values:
        if key not in properties:
            known = ", ".join(sorted(properties)) or "none"
            raise InputError(key, f"unknown parameter for job type {job_type.name!r} (it takes: {known})")
    parsed = {key: parse_value(properties[key], text, schema, key) for key, text in values.items()}
    for name in schema.get("required") or ():
        if name not in values:
            description = _resolve(properties.get(name, {}), schema).get("description")
            raise InputError(name, "required parameter missing" + (f" ({description})" if description else ""))
    return parsed


def parse_value(node: Schema, text: str, root: Schema, field: str) -> Any:
    """One value typed by its schema `node`, tried against each alternative of an `anyOf` in order.

    `root` is the whole parameters schema (it resolves `$ref`s); `field` names the value in the
    `InputError` raised when the text fits no alternative. Used by the CLI and the dashboard's forms.
    """
    alternatives = schema_alternatives(node, root)
    if any(alt.get("type") == "null" for alt in alternatives) and text.strip().lower() == "null":
        return None
    problems = []
    for alt in alternatives:
        if alt.get("type") == "null":
            continue
        try:
            return _parse_one(alt, text, root, field)
        except InputError as error:
            problems.append(error.message)
    if not problems:
        return text
    raise InputError(field, " or ".join(dict.fromkeys(problems)))


def assign_files(job_type: JobType, specs: Sequence[str]) -> dict[str, list[Path]]:
    """Uploads by multipart field from `PATH` (the first declared field) or `FIELD=PATH`, checked."""
    if specs and not job_type.files:
        raise InputError("--file", f"job type {job_type.name!r} takes no files")
    uploads: dict[str, list[Path]] = {}
    for spec in specs:
        name, sep, rest = spec.partition("=")
        chosen = job_type.file_field(name) if sep else None
        field, path = (chosen, Path(rest)) if chosen else (job_type.files[0], Path(spec))
        _check_file(field, path, job_type)
        uploads.setdefault(field.field, []).append(path)
    for field in job_type.files:
        count = len(uploads.get(field.field, ()))
        if count > field.max_count:
            raise InputError(field.field, f"at most {field.max_count} file(s), got {count}")
        if count < field.min_count:
            raise InputError(field.field, f"needs at least {field.min_count} file(s) ({_accepted(field)}), got {count}")
    return uploads


def _check_file(field: FileField, path: Path, job_type: JobType) -> None:
    if not path.is_file():
        fields = ", ".join(f.field for f in job_type.files)
        hint = f"to pick a field, use --file FIELD=PATH; fields: {fields}"
        raise InputError(field.field, f"{path}: no such file ({hint})")
    if not field.accepts(path.name):
        raise InputError(field.field, f"{path.name}: not an accepted file ({_accepted(field)})")
    size = path.stat().st_size
    if field.max_bytes is not None and size > field.max_bytes:
        raise InputError(field.field, f"{path.name} is {size} bytes, over the limit of {field.max_bytes}")


def _accepted(field: FileField) -> str:
    return "accepts " + ", ".join(field.accepted) if field.accepted else "any file"


def _parse_one(node: Schema, text: str, root: Schema, field: str) -> Any:
    if "enum" in node or "const" in node:
        choices = list(node["enum"]) if "enum" in node else [node["const"]]
        for choice in choices:
            if _matches(choice, text):
                return choice
        raise InputError(field, "must be one of " + ", ".join(json.dumps(choice) for choice in choices))
    kind = node.get("type")
    if kind == "integer":
        try:
            value: Any = int(text.strip())
        except ValueError:
            raise InputError(field, f"expected an integer, got {text!r}") from None
        return _in_bounds(node, value, field)
    if kind == "number":
        try:
            value = float(text.strip())
        except ValueError:
            raise InputError(field, f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise InputError(field, f"expected a finite number, got {text!r}")
        return _in_bounds(node, int(value) if value.is_integer() and "." not in text else value, field)
    if kind == "boolean":
        word = text.strip().lower()
        if word in TRUE or word in FALSE:
            return word in TRUE
        raise InputError(field, f"expected true or false, got {text!r}")
    if kind == "array":
        return _parse_list(node, text, root, field)
    if kind == "object":
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise InputError(field, "expected a JSON object")
        return value
    if kind == "string":
        return _check_length(node, text, field)
    try:  # no type: take JSON when it is JSON, else the text
        return json.loads(text)
    except ValueError:
        return text


def _parse_list(node: Schema, text: str, root: Schema, field: str) -> list[Any]:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            raw = json.loads(stripped)
        except ValueError:
            raise InputError(field, "expected a JSON list or comma-separated values") from None
        parts = [item if isinstance(item, str) else json.dumps(item) for item in raw]
    else:
        parts = [part.strip() for part in stripped.split(",")] if stripped else []
    items = node.get("items") or {}
    values = [parse_value(items, part, root, field) for part in parts]
    if len(values) < node.get("minItems", 0):
        raise InputError(field, f"needs at least {node['minItems']} items")
    if "maxItems" in node and len(values) > node["maxItems"]:
        raise InputError(field, f"takes at most {node['maxItems']} items")
    return values


def _in_bounds(node: Schema, value: float, field: str) -> float:
    low, high = node.get("minimum"), node.get("maximum")
    above, below = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
    if low is not None and value < low:
        raise InputError(field, f"must be ≥ {low}, got {value}")
    if high is not None and value > high:
        raise InputError(field, f"must be ≤ {high}, got {value}")
    if above is not None and value <= above:
        raise InputError(field, f"must be > {above}, got {value}")
    if below is not None and value >= below:
        raise InputError(field, f"must be < {below}, got {value}")
    step = node.get("multipleOf")
    if step and not math.isclose(value / step, round(value / step)):
        raise InputError(field, f"must be a multiple of {step}, got {value}")
    return value


def _check_length(node: Schema, text: str, field: str) -> str:
    if len(text) < node.get("minLength", 0):
        raise InputError(field, f"must be at least {node['minLength']} characters")
    if "maxLength" in node and len(text) > node["maxLength"]:
        raise InputError(field, f"must be at most {node['maxLength']} characters")
    pattern = node.get("pattern")
    if isinstance(pattern, str) and _compiles(pattern) and not re.search(pattern, text):
        raise InputError(field, f"must match {pattern}, got {text!r}")
    return text


def _compiles(pattern: str) -> bool:
    """JSON schema patterns are ECMA regexes; check only those Python reads the same way."""
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _matches(choice: object, text: str) -> bool:
    if isinstance(choice, bool):
        word = text.strip().lower()
        return word in (TRUE if choice else FALSE)
    if isinstance(choice, int | float):
        try:
            return float(text) == choice
        except ValueError:
            return False
    if choice is None:
        return text.strip().lower() == "null"
    return choice == text


def schema_alternatives(node: Schema, root: Schema) -> list[Schema]:
    """The alternatives of a schema node: `$ref`s resolved, `anyOf`/`oneOf` spread, type lists split.

    Shared with the kernel's form-field parsing, so the API and its clients read a schema alike."""
    node = _resolve(node, root)
    for key in ("anyOf", "oneOf"):
        if key in node:
            return [alt for sub in node[key] for alt in schema_alternatives(sub, root)]
    kind = node.get("type")
    if isinstance(kind, list):
        return [{**node, "type": one} for one in kind]
    return [node]


def _resolve(node: Schema, root: Schema) -> Schema:
    """Follow `$ref` (to `#/$defs/...`) and single-item `allOf`, keeping the node's own keys."""
    for _ in range(32):  # refs may chain, never loop forever
        if "$ref" in node:
            target: Any = root
            for part in str(node["$ref"]).lstrip("#/").split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) else {}
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        elif isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
            node = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
        else:
            break
    return node
