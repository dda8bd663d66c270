"""Pre-event webhooks: asked before an action is written, able to veto or rewrite it.

The hook is called outside any transaction (a slow endpoint must not hold the database's write
lock), on a preview of the row the action would write. A non-2xx answer, or none within the
timeout, rejects the action and nothing is written. A 2xx with a JSON object may replace
writable fields (`body`, `attributes`, `friendly_name`, ...; snake_case or the form's PascalCase
name) before the action runs; an answer that would not pass the action's own validation is
ignored and logged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import orjson
from starlette.requests import Request

from chinwag.api.call import Call
from chinwag.api.errors import ApiError
from chinwag.api.forms import Form, parse
from chinwag.api.locate import located_call
from chinwag.api.lookup import target
from chinwag.api.resource import Action, Resource, Version
from chinwag.events.delivery import Outcome, backoff, form_request, send
from chinwag.events.hooks import Target, as_form, common_params, service_targets
from chinwag.events.http import Client
from chinwag.runtime import Runtime
from chinwag.settings import Settings
from chinwag.store.accounts import Account

log = logging.getLogger("chinwag.events")

REJECTED = "Webhook disabled processing of command"
TIMED_OUT = "Webhook failed to execute successfully due to timeout"


async def _preview(call: Call, form: Form) -> dict[str, Any]:
    """The row the action would leave behind (create, update) or remove (delete)."""
    res, action = call.resource, call.action
    if action == "delete":
        return dict(await target(call))
    fields = res.writable(action, call.version)
    values = parse(fields, form, creating=action == "create", version=call.version)
    if action == "update":
        return {**(await target(call)), **values}
    preview = {**res.defaults(call), **values}
    for anc in res.ancestors:
        preview[anc.ref_column] = call.parents[anc.name]["sid"]
    return preview


async def _plan(
    runtime: Runtime,
    request: Request,
    account: Account,
    res: Resource,
    action: Action,
    version: Version,
    form: Form,
) -> tuple[Call, str, list[Target], dict[str, str]] | None:
    async with runtime.db.read() as conn:
        call = await located_call(runtime, conn, request, res, action, version)
        preview = await _preview(call, form)
        event, _ = call.resource.rules.event_names(call.resource, call.action, preview)
        if event is None:
            return None
        targets = service_targets(call.parent("service"), event, "pre")
        params = {**common_params(call, event), **call.resource.rules.event_params(call, preview)}
    return (call, event, targets, as_form(params)) if targets else None


async def _ask(
    client: Client,
    account: Account,
    target: Target,
    params: dict[str, str],
    runtime: Runtime,
) -> Outcome:
    settings = runtime.settings
    outcome = Outcome(None)
    token = secrets.token_hex(16)  # one per event, the same on each retry
    for attempt in range(target.retries + 1):
        request = form_request(
            account.auth_token,
            target.url,
            target.method,
            {**params, "RetryCount": str(attempt)},
            token=token,
        )
        outcome = await send(client, request, settings.webhook_timeout)
        if outcome.ok or not outcome.retryable:
            break
        if attempt < target.retries:
            await asyncio.sleep(min(backoff(settings.webhook_backoff, attempt + 1), 2.0))
    return outcome


def _modified(call: Call, form: Form, answer: bytes) -> Form:
    """`form` with the fields a pre-event's JSON answer replaces, if they are valid."""
    if not answer.strip():
        return form
    try:
        changes = orjson.loads(answer)
    except orjson.JSONDecodeError:
        log.warning("pre-event answer is not JSON; ignored")
        return form
    if not isinstance(changes, dict):
        return form
    res = call.resource
    values = {name: list(vs) for name, vs in form.values.items()}
    for f in res.writable(call.action, call.version):
        given = changes.get(f.name, changes.get(f.param or ""))
        if given is None:
            continue
        if isinstance(given, list):
            values[f.param or f.name] = [str(v) for v in given]
        elif isinstance(given, dict):
            values[f.param or f.name] = [orjson.dumps(given).decode()]
        else:
            values[f.param or f.name] = [
                str(given).lower() if isinstance(given, bool) else str(given)
            ]
    modified = Form((name, v) for name, vs in values.items() for v in vs)
    try:
        parse(
            res.writable(call.action, call.version), modified, creating=False, version=call.version
        )
    except ApiError as exc:
        log.warning("pre-event answer ignored: %s", exc.message)
        return form
    return modified


def asks_pre_event(settings: Settings, res: Resource, action: Action) -> bool:
    """Whether this action may call pre-event hooks at all (no database needed to tell)."""
    return settings.rest_webhooks == "all" and res.events.get(action, (None, None))[0] is not None


async def run_pre_event(
    runtime: Runtime,
    request: Request,
    account: Account,
    res: Resource,
    action: Action,
    version: Version,
    form: Form,
) -> Form:
    """Ask the pre-event hooks; the form to act on, or a Twilio error that rejects the action."""
    if runtime.deliverer is None or not asks_pre_event(runtime.settings, res, action):
        return form
    plan = await _plan(runtime, request, account, res, action, version, form)
    if plan is None:
        return form
    call, event, targets, params = plan
    for hook in targets:
        outcome = await _ask(runtime.deliverer.client, account, hook, params, runtime)
        if outcome.status is None:
            log.info("pre-event %s -> %s: %s", event, hook.url, outcome.error)
            raise ApiError(403, 50076, TIMED_OUT)
        if not outcome.ok:
            log.info("pre-event %s -> %s: rejected with HTTP %s", event, hook.url, outcome.status)
            raise ApiError(403, 50056, REJECTED)
        form = _modified(call, form, outcome.body)
    return form
