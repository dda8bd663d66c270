"""Parameters as declared: a form's values, and their coercion by each field's kind.

A `Form` holds every value of every parameter as sent (REST bodies and queries, the client SDK's
tunnelled requests); `parse` turns the ones a resource's fields accept into stored values, and
a bad one into a Twilio 400 naming it. Unknown parameters are ignored, as Twilio ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from chinwag import times
from chinwag.model.errors import ApiError, InvalidParameter, MissingParameter
from chinwag.model.resource import Field, Filter, Version
from chinwag.sids import is_sid

MAX_LIST_VALUES = 100  # distinct values of one list parameter (docs/behaviour.md)
MAX_JSON_DEPTH = 100  # nesting of arrays and objects in a JSON parameter (docs/behaviour.md)
# ASCII digits only, and nothing after them: `\d` would take "١٢" and `$` a trailing newline.
INT_RE = re.compile(r"\A[+-]?[0-9]{1,18}\Z")
COUNT_RE = re.compile(r"\A[0-9]{1,18}\Z")  # the same, unsigned
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

    def holding_nul(self) -> str | None:
        """The first parameter with a NUL in a value (no column holds one), if any."""
        return next((n for n, vs in self.values.items() if any("\x00" in v for v in vs)), None)


def count(text: str) -> int | None:
    """`text` as a number no less than 0 that a BIGINT holds (page sizes, positions in page
    tokens), or None: `str.isdigit` takes "²", which `int` refuses, and any number of digits."""
    return int(text) if COUNT_RE.match(text) else None


def coerce(f: Field, values: list[str]) -> Any:
    """The stored value of `f` from its form values; a bad one is a Twilio 400 naming it."""
    if f.kind == "list":
        distinct = list(dict.fromkeys(values))  # a repeated value says nothing more
        if len(distinct) > MAX_LIST_VALUES:
            raise InvalidParameter(
                f.param or f.name, f"more than {MAX_LIST_VALUES} distinct values", f.code
            )
        return [_check_text(f, v) for v in distinct]
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
        parsed = times.parse(value)
    except ValueError:
        raise InvalidParameter(
            f.param or f.name, f"{value!r} is not an ISO 8601 date", f.code
        ) from None
    if not times.EARLIEST <= parsed <= times.LATEST:
        raise InvalidParameter(
            f.param or f.name,
            f"{value!r} is not between {times.render(times.EARLIEST)} and "
            f"{times.render(times.LATEST)}",
            f.code,
        )
    return parsed


def _to_sid(f: Field, value: str) -> str:
    if not is_sid(value, f.sid_prefix):
        raise InvalidParameter(f.param or f.name, f"{value!r} is not a {f.sid_prefix} SID", f.code)
    return value


def _to_url(f: Field, value: str) -> str:
    """An absolute http(s) URL that a webhook can be sent to as it is: a host, a port that is
    a number, and printable ASCII only (a request line carries the URL as it is: a space or a
    control character would break it, and other characters must be percent-encoded)."""
    try:
        parts = urlsplit(value)
        sendable = parts.scheme in ("http", "https") and bool(parts.hostname)
        sendable = sendable and parts.port != 0  # `.port` raises for a port that is no number
    except ValueError:  # "http://[::1": an IPv6 host left open
        sendable = False
    if not sendable or any(not " " < c < "\x7f" for c in value):
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
    """JSON text that every client reads back as sent; the text itself is what is stored.

    Read strictly (orjson): RFC 8259 without NaN or Infinity, numbers within a double, no
    unpaired surrogate escapes; nested at most `MAX_JSON_DEPTH` deep.
    """
    param = f.param or f.name
    if f.max_length is not None and len(value) > f.max_length:
        raise InvalidParameter(param, f"longer than {f.max_length} characters", 50303)
    try:
        parsed = orjson.loads(value)  # it stops at 1,024 levels itself: never a stack overflow
    except orjson.JSONDecodeError as err:
        deep = "depth" in str(err)  # past orjson's own limit, far past ours
        why = f"nested deeper than {MAX_JSON_DEPTH} levels" if deep else "not valid JSON"
        raise InvalidParameter(param, why, f.code) from None
    brackets = value.count("[") + value.count("{")  # cheap: most values are never walked
    if brackets > MAX_JSON_DEPTH and json_depth(parsed) > MAX_JSON_DEPTH:
        raise InvalidParameter(param, f"nested deeper than {MAX_JSON_DEPTH} levels", f.code)
    return value  # Twilio stores the text and returns it as sent


def json_depth(parsed: Any) -> int:
    """How deeply arrays and objects nest in `parsed` (a scalar is 0), walked without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(parsed, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in node)
    return deepest


def _check_text(f: Field, value: str) -> str:
    param = f.param or f.name
    if "\x00" in value:
        raise InvalidParameter(param, "contains a NUL character", f.code)
    if f.choices and value not in f.choices:
        raise InvalidParameter(param, f"{value!r} is not one of {', '.join(f.choices)}", f.code)
    if f.max_length is not None and len(value) > f.max_length:
        raise InvalidParameter(param, f"longer than {f.max_length} characters", f.code)
    return value


def check_filter(flt: Filter, value: str) -> None:
    """A list query's filter value is one of its choices, and never holds a NUL."""
    if flt.choices and value not in flt.choices:
        raise ApiError(400, 20001, f"Invalid parameter {flt.param}: {value!r}")
    if "\x00" in value:  # no column can hold it (PostgreSQL refuses it outright)
        raise InvalidParameter(flt.param, "contains a NUL character")


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
