"""JSON of a resource: fields in spec order, dotted names nested, absolute `url` and `links`.

Each resource's rows render through a function written once per API version from its
declaration (`renderer`): straight-line Python, one statement per field, instead of a loop that
asks each field how it renders for every row. A page renders 50 rows, and the loop cost about
twice as much per row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from chinwag import times
from chinwag.context import Context, Row
from chinwag.model.resource import Field, Resource, Version

Renderer = Callable[[Row, str], dict[str, Any]]  # (row, base URL) -> JSON before rules.render

_RENDERERS: dict[tuple[str, str], Renderer] = {}


def _list(raw: Any) -> Any:
    return orjson.loads(raw) if isinstance(raw, str) else raw


# How a stored value of a kind becomes JSON; the generated code calls each as `convert_<kind>`.
_CONVERT: dict[str, Callable[[Any], Any]] = {"date": times.render, "list": _list}


def renderer(res: Resource, version: Version) -> Renderer:
    """The function that renders a row of `res` in `version`, but for its Rules' `render`."""
    key = (res.name, version)
    if key not in _RENDERERS:
        _RENDERERS[key] = _compile(res, version)
    return _RENDERERS[key]


def _assign(f: Field) -> list[str]:
    """The statements that put field `f` of `row` into `body` (nothing for a computed field
    that is left out when null: its Rules' `render` sets it)."""
    *groups, leaf = f.name.split(".")
    target = "body" + "".join(f".setdefault({g!r}, {{}})" for g in groups) + f"[{leaf!r}]"
    if not f.stored:
        return [] if f.omit_null else [f"{target} = None"]
    value = f"row[{f.column!r}]"
    convert = f.kind in _CONVERT
    if not convert and not f.omit_null:
        return [f"{target} = {value}"]
    converted = f"convert_{f.kind}(value)" if convert else "value"
    if f.omit_null:
        return [f"value = {value}", f"if value is not None: {target} = {converted}"]
    return [f"value = {value}", f"{target} = None if value is None else {converted}"]


def _compile(res: Resource, version: Version) -> Renderer:
    body = ["body = {'sid': row['sid'], 'account_sid': row['account_sid']}"]
    body += [f"body[{a.ref_column!r}] = row[{a.ref_column!r}]" for a in res.ancestors]
    for f in res.rendered(version):
        body += _assign(f)
    body += [
        "body['date_created'] = convert_date(row['date_created'])",
        "body['date_updated'] = convert_date(row['date_updated'])",
    ]
    path = f"/{version}{res.path}/" + "{row['sid']}"  # /v1/Services/IS.../Channels/CH...
    for anc in res.ancestors:
        path = path.replace("{" + anc.ref_param + "}", "{row[" + repr(anc.ref_column) + "]}")
    body += [f"url = base + f{path!r}", "body['url'] = url"]
    links = [(link.name, link.path) for link in res.links if version in link.versions]
    if links:
        pairs = ", ".join(f"{name!r}: url + {'/' + sub!r}" for name, sub in links)
        body.append(f"body['links'] = {{{pairs}}}")
    body.append("return body")
    source = "def render(row, base):\n" + "".join(f"    {line}\n" for line in body)
    namespace: dict[str, Any] = {f"convert_{kind}": fn for kind, fn in _CONVERT.items()}
    exec(compile(source, f"<render {res.name} {version}>", "exec"), namespace)  # noqa: S102  (built from our declarations, never from input)
    render: Renderer = namespace["render"]
    return render


def to_json(call: Context, row: Row, res: Resource | None = None) -> dict[str, Any]:
    res = res or call.resource
    custom = res.rules.to_json(call, row)
    if custom is not None:
        return custom
    body = renderer(res, call.version)(row, call.base_url)
    res.rules.render(call, row, body)
    return body


def dumps(body: Any) -> bytes:
    return orjson.dumps(body)
