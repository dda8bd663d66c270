"""The five generic actions (create, fetch, update, delete, list) every resource is served by.

A request's path: auth -> form -> one transaction (resolve the path's resources, the action with
its resource's rules) -> JSON. The transaction commits before the response is sent, and a
request that fails writes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response

from chinwag import times
from chinwag.api.auth import authenticate_request, request_credentials
from chinwag.api.call import Call, Row
from chinwag.api.errors import ApiError, Conflict
from chinwag.api.forms import Form, parse, read_body, read_query
from chinwag.api.locate import located_call
from chinwag.api.lookup import scope, table, target
from chinwag.api.paging import fetch_page, meta, page_request
from chinwag.api.render import dumps, to_json
from chinwag.api.resource import Action, Field, Resource, Version
from chinwag.domain import ratelimit
from chinwag.events.hooks import record_post
from chinwag.events.pre import asks_pre_event, run_pre_event
from chinwag.events.push import record_push
from chinwag.runtime import Runtime
from chinwag.sids import new_sid

Handler = Callable[[Request], Awaitable[Response]]
WRITES: frozenset[Action] = frozenset({"create", "update", "delete"})


def endpoint(res: Resource, action: Action, version: Version) -> Handler:
    """The Starlette endpoint of one action of one resource in one API version."""
    run = ACTIONS[action]

    async def handle(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        request_credentials(request)  # 401 before reading a body
        form = await read_body(request) if action in WRITES else read_query(request)
        if action in WRITES and asks_pre_event(runtime.settings, res, action):
            account = await authenticate_request(request, runtime)
            form = await run_pre_event(runtime, request, account, res, action, version, form)
        transaction = runtime.db.write() if action in WRITES else runtime.db.read()
        try:
            async with transaction as conn:
                call = await located_call(runtime, conn, request, res, action, version)
                call.webhooks_enabled = webhook_header(request, res, action, version)
                if action in WRITES and runtime.settings.rate_limits == "twilio":
                    await ratelimit.charge(call)
                status, body = await run(call, form)
        except IntegrityError:
            raise _lost_race(res) from None
        if call.delivered_later and runtime.deliverer is not None:
            runtime.deliverer.notify()
        if status == 204:
            return Response(status_code=204)
        return Response(dumps(body), status, media_type="application/json")

    return handle


def webhook_header(request: Request, res: Resource, action: Action, version: Version) -> bool:
    """X-Twilio-Webhook-Enabled, where v2 takes it: true or false, anything else is a 400."""
    raw = request.headers.get("x-twilio-webhook-enabled")
    if raw is None or version != "v2" or action not in res.webhook_header:
        return False
    if raw.lower() not in ("true", "false"):
        raise ApiError(400, 20001, f"Invalid header X-Twilio-Webhook-Enabled: {raw!r}")
    return raw.lower() == "true"


def stored(f: Field, value: Any) -> Any:
    if f.kind == "list" and value is not None:
        return orjson.dumps(value).decode()
    return value


def _encode(res: Resource, values: dict[str, Any]) -> dict[str, Any]:
    kinds = {f.column: f for f in (*res.fields, *res.extra_columns)}
    return {col: stored(kinds[col], v) if col in kinds else v for col, v in values.items()}


def _lost_race(res: Resource) -> ApiError:
    """The 409 for a constraint a concurrent request broke first (the pre-checks saw none)."""
    if not res.unique:
        return Conflict(20409, "Conflicting concurrent modification")
    return Conflict(res.unique[0].code, res.unique[0].message)


async def check_unique(call: Call, merged: dict[str, Any], changed: set[str], sid: str) -> None:
    """409 with the rule's code when a changed unique column clashes with another row."""
    res = call.resource
    t = table(call)
    for rule in res.unique:
        if not changed.intersection(rule.columns) or any(merged[c] is None for c in rule.columns):
            continue
        clash = select(t.c.sid).where(
            scope(call, res, t), t.c.sid != sid, *(t.c[c] == merged[c] for c in rule.columns)
        )
        if (await call.conn.execute(clash.limit(1))).first() is not None:
            raise Conflict(rule.code, rule.message)


async def _announce(call: Call, row: Row) -> None:
    """The action's post-event webhooks and push notifications, into the outbox."""
    await record_post(call, row)
    await record_push(call, row)


async def create(call: Call, form: Form) -> tuple[int, Any]:
    res = call.resource
    values = {
        **res.defaults(call),
        **parse(res.writable("create", call.version), form, creating=True, version=call.version),
    }
    await res.rules.before_create(call, values)
    sid = values.pop("sid", None) or new_sid(res.sid_prefix)
    await check_unique(call, values, set(values), sid)
    now = times.now()
    values.setdefault("date_created", now)
    values.setdefault("date_updated", values["date_created"])
    for anc in res.ancestors:
        values[anc.ref_column] = call.parents[anc.name]["sid"]
    t = table(call)
    insert = t.insert().values(sid=sid, account_sid=call.account.sid, **_encode(res, values))
    inserted = (await call.conn.execute(insert.returning(*t.c))).mappings().one()
    row = await res.rules.after_create(call, inserted) or inserted
    await _announce(call, row)
    return 201, to_json(call, row)


async def fetch(call: Call, form: Form) -> tuple[int, Any]:
    return 200, to_json(call, await target(call))


async def update(call: Call, form: Form) -> tuple[int, Any]:
    res = call.resource
    row = await target(call)
    changes = parse(
        res.writable("update", call.version), form, creating=False, version=call.version
    )
    await res.rules.before_update(call, row, changes)
    if not changes:
        return 200, to_json(call, row)
    await check_unique(call, {**row, **changes}, set(changes), row["sid"])
    changes.setdefault("date_updated", times.now())
    t = table(call)
    statement = t.update().where(t.c.pk == row["pk"]).values(**_encode(res, changes))
    updated = (await call.conn.execute(statement.returning(*t.c))).mappings().one()
    after = await res.rules.after_update(call, row, updated) or updated
    await _announce(call, after)
    return 200, to_json(call, after)


async def delete(call: Call, form: Form) -> tuple[int, Any]:
    res = call.resource
    row = await target(call)
    await res.rules.before_delete(call, row)
    await _announce(call, row)  # before the row (and its channel's webhooks) are gone
    t = table(call)
    await call.conn.execute(t.delete().where(t.c.pk == row["pk"]))
    return 204, None


async def list_(call: Call, form: Form) -> tuple[int, Any]:
    res = call.resource
    custom = res.rules.list_query(call)
    key: ColumnElement[Any]
    if custom is None:
        t = table(call)
        query, key = select(t).where(scope(call, res, t)), t.c[res.sort_column]
    else:
        query, key = custom
    echoed: list[tuple[str, str]] = []
    for flt in res.filters:
        chosen = form.getlist(flt.param)
        for value in chosen:
            if flt.choices and value not in flt.choices:
                raise ApiError(400, 20001, f"Invalid parameter {flt.param}: {value!r}")
            echoed.append((flt.param, value))
        if not chosen and res.default_filter is not None:
            chosen = list(res.default_filter(call).get(flt.param, ()))
        if chosen:
            query = query.where(query.selected_columns[flt.column].in_(chosen))
    descending = False
    if res.sort_column != "pk":  # ordered lists (messages) take Order=asc|desc
        order = form.get("Order")
        if order not in (None, "asc", "desc"):
            raise ApiError(400, 20001, f"Invalid parameter Order: {order!r}")
        if order:
            echoed.append(("Order", order))
        descending = order == "desc"
    request = page_request(form, res.page_size_max[call.version])
    page = await fetch_page(call.conn, query, key, request, descending)
    list_url = call.base_url + call.request.url.path
    body = {
        res.list_key: [to_json(call, row) for row in page.rows],
        "meta": meta(list_url, res.list_key, echoed, request, page, res.sort_column),
    }
    return 200, body


ACTIONS: dict[Action, Callable[[Call, Form], Awaitable[tuple[int, Any]]]] = {
    "create": create,
    "fetch": fetch,
    "update": update,
    "delete": delete,
    "list": list_,
}
