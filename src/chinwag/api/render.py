"""JSON of a resource: fields in spec order, dotted names nested, absolute `url` and `links`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from chinwag import times
from chinwag.context import Context, Row
from chinwag.model.resource import Field, Resource, Version


def instance_path(res: Resource, row: Row, version: Version) -> str:
    """`/v1/Services/IS.../Channels/CH...` from the row's own and its ancestors' SIDs."""
    path = res.path
    for anc in res.ancestors:
        path = path.replace("{" + anc.ref_param + "}", row[anc.ref_column])
    return f"/{version}{path}/{row['sid']}"


def value(f: Field, raw: Any) -> Any:
    if f.kind == "date":
        return times.render(raw)
    if f.kind == "list" and isinstance(raw, str):
        return orjson.loads(raw)
    return raw


@dataclass(frozen=True)
class _Plan:
    """What rendering one resource in one version needs, worked out once."""

    fields: tuple[tuple[Field, tuple[str, ...], str], ...]  # field, its JSON path, its leaf
    links: tuple[tuple[str, str], ...]


_PLANS: dict[tuple[str, str], _Plan] = {}


def _plan(res: Resource, version: Version) -> _Plan:
    key = (res.name, version)
    if key not in _PLANS:
        fields = []
        for f in res.rendered(version):
            *groups, leaf = f.name.split(".")
            fields.append((f, tuple(groups), leaf))
        links = tuple((link.name, link.path) for link in res.links if version in link.versions)
        _PLANS[key] = _Plan(tuple(fields), links)
    return _PLANS[key]


def to_json(call: Context, row: Row, res: Resource | None = None) -> dict[str, Any]:
    res = res or call.resource
    custom = res.rules.to_json(call, row)
    if custom is not None:
        return custom
    body: dict[str, Any] = {"sid": row["sid"], "account_sid": row["account_sid"]}
    for anc in res.ancestors:
        body[anc.ref_column] = row[anc.ref_column]
    plan = _plan(res, call.version)
    for f, groups, leaf in plan.fields:
        raw = row[f.column] if f.stored else None
        if raw is None and f.omit_null:
            continue
        node = body
        for group in groups:  # dotted names nest: limits.channel_members
            node = node.setdefault(group, {})
        node[leaf] = value(f, raw)
    body["date_created"] = times.render(row["date_created"])
    body["date_updated"] = times.render(row["date_updated"])
    url = call.base_url + instance_path(res, row, call.version)
    body["url"] = url
    if plan.links:
        body["links"] = {name: f"{url}/{path}" for name, path in plan.links}
    res.rules.render(call, row, body)
    return body


def dumps(body: Any) -> bytes:
    return orjson.dumps(body)
