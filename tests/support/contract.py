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


def schema_for(method: str, path: str, status: int) -> dict[str, Any] | None:
    version = path.split("/")[1]
    if version not in SPECS:
        return None
    spec = load(version)
    for pattern, template in _routes(version):
        if pattern.match(path):
            operation = spec["paths"][template].get(method.lower())
            if operation is None:
                return None
            response = operation["responses"].get(str(status))
            if response is None:
                raise AssertionError(f"{method} {path}: status {status} is not in the spec")
            content = response.get("content", {}).get("application/json")
            if content is None:
                return {}
            return dict(_strict(content["schema"], spec["components"]["schemas"]))
    return None


def check(method: str, path: str, status: int, text: str) -> None:
    """Raise AssertionError if this response breaks the contract."""
    if status >= 400:
        body = json.loads(text)
        assert set(body) == ERROR_KEYS, f"{method} {path}: error body {body}"
        assert body["status"] == status, f"{method} {path}: {body}"
        assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}"
        return
    schema = schema_for(method, path, status)
    if schema is None:
        return  # not a spec path (a chinwag extension)
    if not schema:
        assert text == "", f"{method} {path}: {status} must have an empty body"
        return
    jsonschema.validate(json.loads(text), schema, format_checker=FORMATS)
