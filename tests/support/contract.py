"""The contract: Twilio's OpenAPI documents in the repository's spec/, as JSON Schema for responses.

Every response the API suite receives is checked here: a 2xx against the schema of its path,
method and status (every declared property present, none extra, dates in Twilio's format), an
error against Twilio's error shape.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"
SPECS = {"v1": "twilio_chat_v1.json", "v2": "twilio_chat_v2.json"}
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ERROR_KEYS = {"code", "message", "more_info", "status"}

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time")
def _date(value: object) -> bool:
    return not isinstance(value, str) or DATE_RE.match(value) is not None


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or value.startswith(("http://", "https://"))


def require_spec() -> None:
    """Every document is there: the spec is part of the repository, so its absence fails."""
    for version in SPECS:
        load(version)


@cache
def load(version: str) -> dict[str, Any]:
    path = SPEC_DIR / SPECS[version]
    if not path.exists():
        raise FileNotFoundError(f"Twilio's spec is missing: {path} belongs to the repository")
    with open(path) as f:
        spec: dict[str, Any] = json.load(f)
    return spec


def _strict(node: Any, components: dict[str, Any]) -> Any:
    """OpenAPI 3.0 -> JSON Schema: refs inlined, `nullable` as a null type, objects closed."""
    if isinstance(node, list):
        return [_strict(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _strict(components[node["$ref"].rsplit("/", 1)[1]], components)
    out = {
        k: _strict(v, components) for k, v in node.items() if k not in ("description", "x-twilio")
    }
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if out.get("properties"):
        out["required"] = sorted(out["properties"])
        out["additionalProperties"] = False
    return out


@cache
def _routes(version: str) -> list[tuple[re.Pattern[str], str]]:
    routes = []
    for template in load(version)["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        routes.append((re.compile(pattern), template))
    return sorted(routes, key=lambda r: -r[1].count("/"))


def template_of(path: str) -> tuple[str, str] | None:
    """The version and the spec's path template that `path` is an instance of, if any."""
    version = path.split("/")[1]
    if version not in SPECS:
        return None
    return next(((version, t) for p, t in _routes(version) if p.match(path)), None)


@cache
def _schema(version: str, template: str, method: str, status: int) -> dict[str, Any] | None:
    spec = load(version)
    operation = spec["paths"][template].get(method)
    if operation is None:
        return None
    response = operation["responses"].get(str(status))
    if response is None:
        raise AssertionError(f"{method.upper()} {template}: status {status} is not in the spec")
    content = response.get("content", {}).get("application/json")
    if content is None:
        return {}
    return dict(_strict(content["schema"], spec["components"]["schemas"]))


@cache
def _validator(version: str, template: str, method: str, status: int) -> Validator:
    """The schema's validator, checked against its metaschema once: checking it again for every
    response cost 5 ms of the test process's CPU a request."""
    schema = _schema(version, template, method, status)
    assert schema, "check() asks only for responses with a body"
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: Validator = cls(schema, format_checker=FORMATS)
    return validator


def check(method: str, path: str, status: int, text: str) -> None:
    """Raise AssertionError if this response breaks the contract."""
    if status >= 400:
        body = json.loads(text)
        assert set(body) == ERROR_KEYS, f"{method} {path}: error body {body}"
        assert body["status"] == status, f"{method} {path}: {body}"
        assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}"
        return
    found = template_of(path)
    schema = None if found is None else _schema(*found, method.lower(), status)
    if schema is None:
        return  # not a spec path (a chinwag extension)
    if not schema:
        assert text == "", f"{method} {path}: {status} must have an empty body"
        return
    assert found is not None
    validator = _validator(*found, method.lower(), status)
    error = jsonschema.exceptions.best_match(validator.iter_errors(json.loads(text)))
    if error is not None:
        raise error
