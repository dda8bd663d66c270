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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from chinwag.context import Context
from chinwag.events.hooks import Target, as_form, common_params, service_targets
from chinwag.events.http import Client
from chinwag.events.sending import Outcome, backoff, form_request, send
from chinwag.model.errors import ApiError
from chinwag.model.params import Form, parse
from chinwag.model.resource import Action, Resource
from chinwag.settings import Settings
from chinwag.store.accounts import Account

log = logging.getLogger("chinwag.events")

REJECTED = "Webhook disabled processing of command"
TIMED_OUT = "Webhook failed to execute successfully due to timeout"


@dataclass(frozen=True)
class PrePlan:
    """The pre-event an action raises, the hooks to ask, and the parameters they get."""

    event: str
    targets: list[Target]
    params: dict[str, str]


def plan(call: Context, preview: Mapping[Any, Any]) -> PrePlan | None:
    """What to ask about `preview` (the row the action would write, or remove), if anything."""
    event, _ = call.resource.rules.event_names(call.resource, call.action, preview)
    if event is None:
        return None
    targets = service_targets(call.parent("service"), event, "pre")
    if not targets:
        return None
    params = {
        **common_params(call, event, "pre"),
        **call.resource.rules.event_params(call, preview),
    }
    return PrePlan(event, targets, as_form(params))


async def _ask(
    client: Client,
    account: Account,
    target: Target,
    params: dict[str, str],
    settings: Settings,
) -> Outcome:
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


def _modified(call: Context, form: Form, answer: bytes) -> Form:
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


def asks_pre_event(settings: Settings, res: Resource, action: Action, from_client: bool) -> bool:
    """Whether this action may call pre-event hooks at all (no database needed to tell):
    always for a client's action, as on Twilio; for REST only under `--rest-webhooks all`."""
    if res.events.get(action, (None, None))[0] is None:
        return False
    return from_client or settings.rest_webhooks == "all"


async def ask(client: Client, settings: Settings, call: Context, pre: PrePlan, form: Form) -> Form:
    """Ask the pre-event hooks; the form to act on, or a Twilio error that rejects the action."""
    for hook in pre.targets:
        outcome = await _ask(client, call.account, hook, pre.params, settings)
        if outcome.status is None:
            log.info("pre-event %s -> %s: %s", pre.event, hook.url, outcome.error)
            raise ApiError(403, 50076, TIMED_OUT)
        if not outcome.ok:
            log.info(
                "pre-event %s -> %s: rejected with HTTP %s", pre.event, hook.url, outcome.status
            )
            raise ApiError(403, 50056, REJECTED)
        form = _modified(call, form, outcome.body)
    return form
