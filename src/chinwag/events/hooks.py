"""Which webhooks an action raises, where they go, and when.

Twilio's rules, with chinwag's `--rest-webhooks` setting on top:
- pre-events are synchronous and may veto or rewrite the action; Twilio raised them only for
  client-side actions, so a REST action raises them only under `--rest-webhooks all`;
- post-events are written to the outbox in the action's own transaction; a REST action raises
  them when it sends `X-Twilio-Webhook-Enabled: true`, or always under `post` and `all`.
Targets: the service's pre/post URL (only for events listed in `webhook_filters`), v1's
per-event `webhooks.<event>` URLs, and (post-events) the channel's webhooks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select

from chinwag.context import Context
from chinwag.domain.events import V1_EVENT_TARGETS
from chinwag.events import outbox
from chinwag.model.resource import snake_case

V1_TARGETS = {name[0].lower() + name[1:]: snake_case(name) for name in V1_EVENT_TARGETS}


@dataclass(frozen=True)
class Target:
    url: str
    method: str
    retries: int
    extra: Mapping[str, str] = field(default_factory=dict)  # channel webhooks name themselves


def post_enabled(call: Context) -> bool:
    """A client's action always raises its post-event; a REST one as `--rest-webhooks` says."""
    mode = call.settings.rest_webhooks if call.settings else "twilio"
    return bool(call.identity is not None or mode in ("post", "all") or call.webhooks_enabled)


def _filters(service: Mapping[Any, Any]) -> list[str]:
    raw = service["webhook_filters"]
    return list(orjson.loads(raw)) if raw else []


def service_targets(service: Mapping[Any, Any], event: str, phase: str) -> list[Target]:
    """The service's pre or post URL (if the event is filtered in) and v1's per-event URL."""
    targets = []
    url = service[f"{phase}_webhook_url"]
    if url and event in _filters(service):
        retries = service[f"{phase}_webhook_retry_count"] or 0
        targets.append(Target(url, service["webhook_method"] or "POST", retries))
    legacy = V1_TARGETS.get(event)
    if legacy and service[f"webhooks_{legacy}_url"]:
        method = service[f"webhooks_{legacy}_method"] or "POST"
        targets.append(Target(service[f"webhooks_{legacy}_url"], method, 0))
    return targets


def _triggered(triggers: list[str], body: str) -> bool:
    return any(re.search(rf"\b{re.escape(t)}\b", body, re.IGNORECASE) for t in triggers)


async def channel_targets(call: Context, channel_sid: str, event: str, body: str) -> list[Target]:
    """The channel's own webhooks: `webhook` by its filters, `trigger` by keywords in a body."""
    hooks = call.tables["channel_webhook"]
    rows = (
        await call.conn.execute(select(hooks).where(hooks.c.channel_sid == channel_sid))
    ).mappings()
    targets = []
    for row in rows:
        extra = {"WebhookSid": row["sid"], "WebhookType": row["type"]}
        method = row["configuration_method"] or "POST"
        retries = row["configuration_retry_count"] or 0
        if (
            row["type"] == "webhook" and event in orjson.loads(row["configuration_filters"] or "[]")
        ) or (
            row["type"] == "trigger"
            and event == "onMessageSent"
            and _triggered(orjson.loads(row["configuration_triggers"] or "[]"), body)
        ):
            targets.append(Target(row["configuration_url"], method, retries, extra))
        # `studio` webhooks are stored and listed; there is no Studio to run them.
    return targets


def common_params(call: Context, event: str, phase: str = "post") -> dict[str, str]:
    """Every event's parameters; Twilio named the acting client (`ClientIdentity`) in
    pre-events only (shared/behaviour.md section 2)."""
    service = call.parent("service")
    params = {
        "EventType": event,
        "AccountSid": service["account_sid"],
        "InstanceSid": service["sid"],
        "Source": call.source,
    }
    if phase == "pre" and call.identity is not None:
        params["ClientIdentity"] = call.identity
    return params


def as_form(params: Mapping[Any, Any]) -> dict[str, str]:
    """Twilio's form values: strings, booleans lowercase, nulls left out."""
    out = {}
    for name, value in params.items():
        if value is None:
            continue
        out[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


async def record_post(call: Context, row: Mapping[Any, Any]) -> None:
    """Enqueue the post-event of the call's action on `row`, in the call's transaction."""
    res = call.resource
    _, event = res.rules.event_names(res, call.action, row)
    if event is None or not post_enabled(call):
        return
    service = call.parent("service")
    channel_sid = row.get("channel_sid") or (row["sid"] if res.name == "channel" else None)
    targets = service_targets(service, event, "post")
    # The channel's own count of webhooks spares the query when it has none (None: not known).
    hooked = (call.parents.get("channel") or row).get("webhooks_count")
    if channel_sid and hooked != 0:
        targets += await channel_targets(call, channel_sid, event, str(row.get("body") or ""))
    if not targets:
        return
    params = as_form({**common_params(call, event), **res.rules.event_params(call, row)})
    for target in targets:
        await outbox.enqueue(
            call.conn,
            call.tables,
            account_sid=service["account_sid"],
            service_sid=service["sid"],
            queue=f"{target.url}|{channel_sid or service['sid']}",
            kind="webhook",
            event=event,
            url=target.url,
            method=target.method,
            params={**params, **target.extra},
            retry_limit=target.retries,
        )
    call.delivered_later = True
