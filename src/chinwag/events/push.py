"""Push notifications: Twilio's four kinds, rendered from the service's templates, fanned out to
each recipient and delivered through the outbox to the push gateway (--push-gateway-url).

Sending straight to FCM or APNs is out of scope: the gateway receives one signed JSON POST per
recipient with the rendered text and the recipient's device bindings, and talks to the stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import select

from chinwag.context import Context
from chinwag.domain.consumption import unread
from chinwag.events import outbox

TEXT_LIMIT = 110  # characters of rendered text; longer text is cut and ends with an ellipsis

# Twilio's default templates (shared/behaviour.md section 6).
DEFAULT_TEMPLATES = {
    "new_message": "${CHANNEL};${USER}: ${MESSAGE}",
    "added_to_channel": "You have been added to channel ${CHANNEL} by ${USER}",
    "invited_to_channel": "${USER} has invited you to join the channel ${CHANNEL}",
    "removed_from_channel": "${USER} has removed you from the channel ${CHANNEL}",
}


def render(template: str, variables: Mapping[str, str]) -> str:
    text = template
    # Longest names first: ${USER_FRIENDLY_NAME} before ${USER}.
    for name in sorted(variables, key=len, reverse=True):
        text = text.replace("${" + name + "}", variables[name])
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "\u2026"


def variables(
    actor: Mapping[Any, Any] | None, actor_identity: str, channel: Mapping[Any, Any], body: str
) -> dict[str, str]:
    friendly = (actor or {}).get("friendly_name") or ""
    channel_friendly = channel["friendly_name"] or ""
    channel_unique = channel["unique_name"] or ""
    return {
        "USER": friendly or actor_identity,
        "USER_FRIENDLY_NAME": friendly,
        "USER_IDENTITY": actor_identity,
        "CHANNEL": channel_friendly or channel_unique or channel["sid"],
        "CHANNEL_FRIENDLY_NAME": channel_friendly,
        "CHANNEL_UNIQUE_NAME": channel_unique,
        "CHANNEL_SID": channel["sid"],
        "MESSAGE": body,
    }


async def _recipients(call: Context, kind: str, row: Mapping[Any, Any], actor: str) -> list[Any]:
    members = call.tables["member"]
    if kind != "new_message":
        return [{"identity": row["identity"], "user_sid": row["user_sid"], "member": row}]
    query = select(members).where(
        members.c.channel_sid == row["channel_sid"],
        members.c.identity != actor,
        members.c.notification_level != "muted",
    )
    return [
        {"identity": m["identity"], "user_sid": m["user_sid"], "member": m}
        for m in (await call.conn.execute(query)).mappings()
    ]


async def _bindings(
    call: Context, user_sids: list[str], kind: str
) -> dict[str, list[dict[str, Any]]]:
    bindings = call.tables["binding"]
    rows = (
        await call.conn.execute(select(bindings).where(bindings.c.user_sid.in_(user_sids)))
    ).mappings()
    found: dict[str, list[dict[str, Any]]] = {}
    for b in rows:
        if f"twilio.channel.{kind}" in orjson.loads(b["message_types"] or "[]"):
            found.setdefault(b["user_sid"], []).append(
                {
                    "binding_sid": b["sid"],
                    "binding_type": b["binding_type"],
                    "address": b["address"],
                    "credential_sid": b["credential_sid"],
                }
            )
    return found


async def record_push(call: Context, row: Mapping[Any, Any]) -> None:
    """Enqueue the push notification of the call's action, if the service enables it."""
    kind = call.resource.push.get(call.action)
    gateway = call.settings.push_gateway_url if call.settings else None
    if kind is None or not gateway:
        return
    service = call.parent("service")
    if not service[f"notifications_{kind}_enabled"]:
        return
    channels, users = call.tables["channel"], call.tables["user"]
    channel = (
        (await call.conn.execute(select(channels).where(channels.c.sid == row["channel_sid"])))
        .mappings()
        .one()
    )
    actor_identity = str(row.get("from") or row.get("created_by") or "system")
    actor = (
        (
            await call.conn.execute(
                select(users).where(
                    users.c.service_sid == service["sid"], users.c.identity == actor_identity
                )
            )
        )
        .mappings()
        .first()
    )
    template = service[f"notifications_{kind}_template"] or DEFAULT_TEMPLATES[kind]
    text = render(template, variables(actor, actor_identity, channel, str(row.get("body") or "")))
    recipients = await _recipients(call, kind, row, actor_identity)
    devices = await _bindings(call, [r["user_sid"] for r in recipients], kind)
    for recipient in recipients:
        payload = {
            "type": f"twilio.channel.{kind}",
            "account_sid": service["account_sid"],
            "service_sid": service["sid"],
            "identity": recipient["identity"],
            "user_sid": recipient["user_sid"],
            "channel_sid": channel["sid"],
            "message_sid": row["sid"] if kind == "new_message" else None,
            "message_index": row["index"] if kind == "new_message" else None,
            "text": text,
            "sound": service[f"notifications_{kind}_sound"],
            "badge": _badge(service, kind, recipient["member"], channel),
            "bindings": devices.get(recipient["user_sid"], []),
        }
        await outbox.enqueue(
            call.conn,
            call.tables,
            account_sid=service["account_sid"],
            service_sid=service["sid"],
            queue=f"push|{recipient['user_sid']}",
            kind="push",
            event=payload["type"],
            url=gateway,
            method="POST",
            params=payload,
            retry_limit=3,
        )
    if recipients:
        call.delivered_later = True


def _badge(
    service: Mapping[Any, Any], kind: str, member: Mapping[Any, Any], channel: Mapping[Any, Any]
) -> int | None:
    """The recipient's unread count in the channel, when the service counts badges."""
    if kind != "new_message" or not service["notifications_new_message_badge_count_enabled"]:
        return None
    last = member.get("last_consumed_message_index")
    return (
        unread(last, channel["message_counter"]) if last is not None else channel["messages_count"]
    )
