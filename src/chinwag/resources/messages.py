"""Messages (IM): a channel's history, indexed from 0 without gaps or reuse."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from chinwag.api.call import Call, Row
from chinwag.api.errors import ApiError
from chinwag.api.resource import V2, Field, Resource, Rules
from chinwag.domain.counters import bump
from chinwag.resources.channels import CHANNEL

BODY_MAX_BYTES = 32 * 1024  # Twilio's 50504


def _check_body(body: str | None) -> None:
    if body is not None and len(body.encode()) > BODY_MAX_BYTES:
        raise ApiError(400, 50504, "Message body parameter is too long")


class MessageRules(Rules):
    async def before_create(self, call: Call, values: dict[str, Any]) -> None:
        if values.get("body") is None:
            values["body"] = ""  # v2: "can be an empty string or null, which sets ''"
        _check_body(values["body"])
        channel = call.parent("channel")
        # The index comes from the channel's counter in this transaction: gap-free, never reused.
        counter = await bump(
            call.conn, call.tables["channel"], channel["sid"], "message_counter", messages_count=1
        )
        assert counter is not None  # noqa: S101  (the channel row was just read)
        values["index"] = counter - 1

    async def after_create(self, call: Call, row: Row) -> None:
        channels = call.tables["channel"]
        await call.conn.execute(
            channels.update()
            .where(channels.c.sid == row["channel_sid"])
            .values(last_message_sid=row["sid"])
        )

    async def before_update(self, call: Call, row: Row, changes: dict[str, Any]) -> None:
        _check_body(changes.get("body"))
        if "body" in changes or "attributes" in changes:
            changes["was_edited"] = True

    async def before_delete(self, call: Call, row: Row) -> None:
        channels, messages = call.tables["channel"], call.tables["message"]
        await bump(call.conn, channels, row["channel_sid"], "messages_count", by=-1)
        if call.parent("channel")["last_message_sid"] == row["sid"]:
            previous = (
                select(messages.c.sid)
                .where(
                    messages.c.channel_sid == row["channel_sid"], messages.c.index < row["index"]
                )
                .order_by(messages.c.index.desc())
                .limit(1)
                .scalar_subquery()
            )
            await call.conn.execute(
                channels.update()
                .where(channels.c.sid == row["channel_sid"])
                .values(last_message_sid=previous)
            )

    def render(self, call: Call, row: Row, body: dict[str, Any]) -> None:
        body["to"] = row["channel_sid"]


MESSAGE = Resource(
    name="message",
    sid_prefix="IM",
    path="/Services/{ServiceSid}/Channels/{ChannelSid}/Messages",
    list_key="messages",
    schema="service.channel.message",
    parent=CHANNEL,
    ref_param="MessageSid",
    sort_column="index",
    rules=MessageRules(),
    fields=(
        Field("body", param="Body", create=True, update=True, required=True, optional_in=V2),
        Field(
            "from",
            param="From",
            create=True,
            default="system",
            max_length=256,
            code=50310,
        ),
        Field(
            "attributes",
            "json",
            "Attributes",
            create=True,
            update=True,
            default="{}",
            max_length=16 * 1024,
            code=50304,
        ),
        Field("to", stored=False),
        Field("index", "int"),
        Field("was_edited", "bool", default=False),
        Field("type", default="text", versions=V2),
        Field(
            "last_updated_by",
            param="LastUpdatedBy",
            update=True,
            max_length=256,
            code=50505,
            versions=V2,
        ),
    ),
)
