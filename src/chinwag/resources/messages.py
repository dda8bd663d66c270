"""Messages (IM): a channel's history, indexed from 0 without gaps or reuse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from chinwag import times
from chinwag.context import Context, Row
from chinwag.domain import activity
from chinwag.domain.counters import bump
from chinwag.model.errors import ApiError
from chinwag.model.resource import V2, VERSIONS, Action, Field, Resource, Rules
from chinwag.resources import fields
from chinwag.resources.channels import CHANNEL
from chinwag.sids import new_sid
from chinwag.store import statements

BODY_MAX_BYTES = 32 * 1024  # Twilio's 50504
MEDIA_COPIES = ("filename", "content_type", "size")  # copied from the media row: it never changes


def _check_body(body: str | None) -> None:
    if body is not None and len(body.encode()) > BODY_MAX_BYTES:
        raise ApiError(400, 50504, "Message body parameter is too long")


async def _attach_media(call: Context, values: dict[str, Any]) -> None:
    media = call.tables["media"]
    query = select(media).where(
        media.c.service_sid == call.parent("service")["sid"], media.c.sid == values["media_sid"]
    )
    row = (await call.conn.execute(query)).mappings().first()
    if row is None:
        raise ApiError(400, 50507, f"Media not found: {values['media_sid']}")
    if row["message_sid"] is not None:
        raise ApiError(400, 50508, "Media already sent with another message")
    values["type"] = "media"
    values.update({f"media_{name}": row[name] for name in MEDIA_COPIES})


class MessageRules(Rules):
    create_rechecks_parent = True  # the index's counter: the channel's row (before_create)
    # Its checks (body, media) read before the counted INSERT; after it, only a race fails it
    # (the media claimed by a message on another channel's writer meanwhile).
    create_fails_before_writing = True

    async def before_create(self, call: Context, values: dict[str, Any]) -> None:
        if values.get("body") is None:
            values["body"] = ""  # v2: "can be an empty string or null, which sets ''"
        _check_body(values["body"])
        if values.get("media_sid"):
            await _attach_media(call, values)
        channel = call.parent("channel")
        values["sid"] = new_sid("IM")
        # The index comes from the channel's counter in this transaction: gap-free, never reused.
        if call.conn.dialect_name == "postgresql":  # moved by the INSERT itself: a round trip less
            values["index"] = statements.Counted(
                call.tables["channel"],
                channel["sid"],
                "message_counter",
                offset=-1,
                assign={"last_message_sid": values["sid"]},
                also={"messages_count": 1},
            )
            return
        counter = await bump(
            call.conn,
            call.tables["channel"],
            channel["sid"],
            "message_counter",
            assign={"last_message_sid": values["sid"]},
            messages_count=1,
        )
        assert counter is not None  # noqa: S101  (no limit: a number, or RowGone)
        values["index"] = counter - 1

    async def after_create(self, call: Context, row: Row) -> None:
        await activity.count(call, row)
        if row["media_sid"]:
            media = call.tables["media"]
            claimed = await call.conn.execute(
                media.update()
                .where(media.c.sid == row["media_sid"], media.c.message_sid.is_(None))
                .values(message_sid=row["sid"], channel_sid=row["channel_sid"])
            )
            if claimed.rowcount != 1:  # a concurrent message took it first
                raise ApiError(400, 50508, "Media already sent with another message")

    async def before_update(self, call: Context, row: Row, changes: dict[str, Any]) -> None:
        if "body" in changes and row["type"] == "media":
            raise ApiError(400, 50509, "Media message body cannot be updated")
        _check_body(changes.get("body"))
        if "body" in changes or "attributes" in changes:
            changes["was_edited"] = True
        moved = changes.get("date_created")
        if moved is not None:
            await activity.move(call, row, moved)

    async def before_delete(self, call: Context, row: Row) -> None:
        channels, messages = call.tables["channel"], call.tables["message"]
        await bump(call.conn, channels, row["channel_sid"], "messages_count", by=-1)
        await activity.uncount(call, row)  # after the channel, as a create counts (lock order)
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

    def client_permissions(
        self, call: Context, row: Row | None, values: Mapping[str, Any]
    ) -> tuple[str, ...] | None:
        if call.action == "create":
            if values.get("from") not in (None, call.identity):
                return None  # a client sends as itself only
            return ("sendMediaMessage",) if values.get("media_sid") else ("sendMessage",)
        if row is None:
            return ()  # list
        whose = "Own" if row["from"] == call.identity else "Any"
        if call.action == "delete":
            return (f"delete{whose}Message",)
        if call.action == "update":
            needed = {f"edit{whose}Message"} if "body" in values or "from" in values else set()
            if "attributes" in values:
                needed.add(f"edit{whose}MessageAttributes")
            return tuple(sorted(needed)) or (f"edit{whose}Message",)
        return ()

    def event_names(
        self, res: Resource, action: Action, row: Mapping[Any, Any]
    ) -> tuple[str | None, str | None]:
        if action == "create" and row.get("media_sid"):
            return ("onMediaMessageSend", "onMediaMessageSent")
        return super().event_names(res, action, row)

    def event_params(self, call: Context, row: Mapping[Any, Any]) -> dict[str, Any]:
        params = {
            "MessageSid": row.get("sid"),
            "Index": row.get("index"),
            "ChannelSid": row.get("channel_sid"),
            "To": row.get("channel_sid"),
            "Body": row.get("body"),
            "Attributes": row.get("attributes"),
            "From": row.get("from"),
            "DateCreated": times.render(row.get("date_created")),
        }
        if row.get("media_sid"):
            params.update(
                MediaSid=row["media_sid"],
                MediaFilename=row.get("media_filename"),
                MediaContentType=row.get("media_content_type"),
                MediaSize=row.get("media_size"),
            )
        if call.action == "update":
            params["ModifiedBy"] = row.get("last_updated_by") or "system"
            params["DateUpdated"] = times.render(row.get("date_updated"))
        if call.action == "delete":
            params["RemovedBy"] = "system"
            params["DateRemoved"] = times.render(times.now())
        return params

    def render(self, call: Context, row: Row, body: dict[str, Any]) -> None:
        body["to"] = row["channel_sid"]
        fields.v1_list_attributes(call, row, body)
        if call.version == "v2":
            body["media"] = None
            if row["media_sid"]:
                body["media"] = {"sid": row["media_sid"]}
                body["media"].update({name: row[f"media_{name}"] for name in MEDIA_COPIES})


MESSAGE = Resource(
    name="message",
    sid_prefix="IM",
    path="/Services/{ServiceSid}/Channels/{ChannelSid}/Messages",
    list_key="messages",
    schema="service.channel.message",
    parent=CHANNEL,
    ref_param="MessageSid",
    versions=VERSIONS,
    import_dates=True,
    webhook_header=frozenset({"create", "update", "delete"}),
    events={
        "create": ("onMessageSend", "onMessageSent"),
        "update": ("onMessageUpdate", "onMessageUpdated"),
        "delete": ("onMessageRemove", "onMessageRemoved"),
    },
    push={"create": "new_message"},
    sort_column="index",
    swept=True,
    rules=MessageRules(),
    fields=(
        Field("body", param="Body", create=True, update=True, required=True, optional_in=V2),
        Field(
            "from",
            param="From",
            create=True,
            update=V2,
            default="system",
            max_length=256,
            code=50310,
        ),
        fields.attributes(),
        Field("to", stored=False),
        Field("index", "int"),
        Field("was_edited", "bool", default=False),
        Field("type", default="text", versions=V2),
        Field("media", stored=False, versions=V2),
        Field(
            "last_updated_by",
            param="LastUpdatedBy",
            create=V2,
            update=V2,
            max_length=256,
            code=50505,
            versions=V2,
        ),
        Field(
            "media_sid",
            "sid",
            "MediaSid",
            create=V2,
            sid_prefix="ME",
            hidden=True,
            code=50507,
            versions=V2,
        ),
    ),
    extra_columns=(
        Field("media_filename"),
        Field("media_content_type"),
        Field("media_size", "int"),
    ),
)
