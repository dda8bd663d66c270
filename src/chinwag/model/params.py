"""Parameters as declared: a form's values, and their coercion by each field's kind.

A `Form` holds every value of every parameter as sent (REST bodies and queries, the client SDK's
tunnelled requests); `parse` turns the ones a resource's fields accept into stored values, and
a bad one into a Twilio 400 naming it. Unknown parameters are ignored, as Twilio ignores them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from chinwag import times
from chinwag.model.errors import ApiError, InvalidParameter, MissingParameter
from chinwag.model.resource import Field, Version
from chinwag.sids import is_sid

INT_RE = re.compile(r"^[+-]?\d{1,18}$")
BOOLS = {"true": True, "false": False}


class Form:
    """Parameters by name, each with every value it was given, in order."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self.values: dict[str, list[str]] = {}
        for name, value in pairs:
            self.values.setdefault(name, []).append(value)

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str) -> str | None:
        found = self.values.get(name)
        return found[0] if found else None

    def getlist(self, name: str) -> list[str]:
        return self.values.get(name, [])


def coerce(f: Field, values: list[str]) -> Any:
    """The stored value of `f` from its form values; a bad one is a Twilio 400 naming it."""
    if f.kind == "list":
        return [_check_text(f, v) for v in values]
    value = values[0]
    if value == "" and f.empty_is_null:
        return None
    return COERCE.get(f.kind, _check_text)(f, value)


def _to_bool(f: Field, value: str) -> bool:
    if value.lower() not in BOOLS:
        raise InvalidParameter(f.param or f.name, f"{value!r} is not true or false", f.code)
    return BOOLS[value.lower()]


def _to_date(f: Field, value: str) -> datetime:
    try:
        return times.parse(value)
    except ValueError:
        raise InvalidParameter(
            f.param or f.name, f"{value!r} is not an ISO 8601 date", f.code
        ) from None


def _to_sid(f: Field, value: str) -> str:
    if not is_sid(value, f.sid_prefix):
        raise InvalidParameter(f.param or f.name, f"{value!r} is not a {f.sid_prefix} SID", f.code)
    return value


def _to_url(f: Field, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidParameter(f.param or f.name, f"{value!r} is not an http(s) URL", f.code)
    return _check_text(f, value)


def _to_int(f: Field, value: str) -> int:
    param = f.param or f.name
    if not INT_RE.match(value):
        raise InvalidParameter(param, f"{value!r} is not an integer", f.code)
    number = int(value)
    if f.minimum is not None and number < f.minimum:
        raise InvalidParameter(param, f"must be at least {f.minimum}", f.code)
    if f.maximum is not None and number > f.maximum:
        raise InvalidParameter(param, f"must be at most {f.maximum}", f.code)
    return number


def _to_json_text(f: Field, value: str) -> str:
    try:
        json.loads(value)
    except ValueError:
        raise ApiError(400, f.code, f"Invalid parameter {f.param}: not valid JSON") from None
    if f.max_length is not None and len(value) > f.max_length:
        raise InvalidParameter(f.param or f.name, f"longer than {f.max_length} characters", 50303)
    return value  # Twilio stores the text and returns it as sent


def _check_text(f: Field, value: str) -> str:
    param = f.param or f.name
    if "\x00" in value:
        raise InvalidParameter(param, "contains a NUL character", f.code)
    if f.choices and value not in f.choices:
        raise InvalidParameter(param, f"{value!r} is not one of {', '.join(f.choices)}", f.code)
    if f.max_length is not None and len(value) > f.max_length:
        raise InvalidParameter(param, f"longer than {f.max_length} characters", f.code)
    return value


COERCE: dict[str, Callable[[Field, str], Any]] = {
    "int": _to_int,
    "bool": _to_bool,
    "json": _to_json_text,
    "date": _to_date,
    "sid": _to_sid,
    "url": _to_url,
}


def parse(
    fields: Iterable[Field], form: Form, *, creating: bool, version: Version
) -> dict[str, Any]:
    """Column -> value for every field `form` sets; on create, the required checks too."""
    values: dict[str, Any] = {}
    for f in fields:
        param = f.param or f.name
        if param in form:
            values[f.column] = coerce(f, form.getlist(param))
        elif creating and f.required_in(version):
            raise MissingParameter(param, f.missing_code)
    return values
