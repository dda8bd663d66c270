"""JSON of a resource: fields in spec order, dotted names nested, absolute `url` and `links`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from chinwag import times
from chinwag.context import Context, Row
from chinwag.model.resource import Resource, Version


def instance_path(res: Resource, row: Row, version: Version) -> str:
    """`/v1/Services/IS.../Channels/CH...` from the row's own and its ancestors' SIDs."""
    path = res.path
    for anc in res.ancestors:
        path = path.replace("{" + anc.ref_param + "}", row[anc.ref_column])
    return f"/{version}{path}/{row['sid']}"


def _list(raw: Any) -> Any:
    return orjson.loads(raw) if isinstance(raw, str) else raw


CONVERT: dict[str, Callable[[Any], Any]] = {"date": times.render, "list": _list}

# One rendered field: its column (None: computed by the rules), the JSON groups it nests in,
# its key, how a stored value becomes JSON (None: as it is), and whether null is left out.
Step = tuple[str | None, tuple[str, ...], str, Callable[[Any], Any] | None, bool]


@dataclass(frozen=True)
class _Plan:
    """What rendering one resource in one version needs, worked out once."""

    ancestors: tuple[str, ...]  # the ancestors' SID columns
    steps: tuple[Step, ...]
    links: tuple[tuple[str, str], ...]


_PLANS: dict[tuple[str, str], _Plan] = {}


def _plan(res: Resource, version: Version) -> _Plan:
    key = (res.name, version)
    if key not in _PLANS:
        steps: list[Step] = []
        for f in res.rendered(version):
            *groups, leaf = f.name.split(".")
            column = f.column if f.stored else None
            steps.append((column, tuple(groups), leaf, CONVERT.get(f.kind), f.omit_null))
        links = tuple((link.name, link.path) for link in res.links if version in link.versions)
        ancestors = tuple(anc.ref_column for anc in res.ancestors)
        _PLANS[key] = _Plan(ancestors, tuple(steps), links)
    return _PLANS[key]


def to_json(call: Context, row: Row, res: Resource | None = None) -> dict[str, Any]:
    res = res or call.resource
    custom = res.rules.to_json(call, row)
    if custom is not None:
        return custom
    plan = _plan(res, call.version)
    body: dict[str, Any] = {"sid": row["sid"], "account_sid": row["account_sid"]}
    for ref_column in plan.ancestors:
        body[ref_column] = row[ref_column]
    for column, groups, leaf, convert, omit_null in plan.steps:
        raw: Any = None if column is None else row[column]
        if raw is None:
            if omit_null:
                continue
        elif convert is not None:
            raw = convert(raw)
        if groups:
            node = body
            for group in groups:  # dotted names nest: limits.channel_members
                node = node.setdefault(group, {})
            node[leaf] = raw
        else:
            body[leaf] = raw
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
