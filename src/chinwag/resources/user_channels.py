"""User Channels: a view of the channels a user is a member of, or invited to.

v1 lists them; v2 also fetches, updates (notification level, read horizon) and deletes one,
which means leaving the channel. Rows are memberships, so the view is stored in `members`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, literal, null, select, union_all

from chinwag.context import Context, Row
from chinwag.domain.consumption import unread
from chinwag.model.errors import ApiError
from chinwag.model.resource import V2, VERSIONS, Action, Field, Resource, Rules
from chinwag.ops.lookup import find
from chinwag.resources.channels import CHANNEL
from chinwag.resources.members import MEMBER, leave, member_event_params
from chinwag.resources.users import USER

NOTIFICATION_LEVELS = ("default", "muted")
NOT_A_MEMBER = ApiError(403, 50400, "User not member of channel")


def _membership(call: Context) -> Select[Any]:
    """Memberships with what their JSON needs from the channel, shaped like the list rows."""
    members, channels = call.tables["member"], call.tables["channel"]
    return select(
        members,
        members.c.sid.label("member_sid"),
        literal("joined").label("status"),
        channels.c.message_counter,
        channels.c.pk.label("key"),
    ).join(channels, channels.c.sid == members.c.channel_sid)


async def _invitation(call: Context, channel: Row, user_sid: str) -> Row | None:
    """The user's invite to `channel`, shaped like a membership row of the view."""
    invites = call.tables["invite"]
    query = select(invites.c.sid, invites.c.date_created).where(
        invites.c.channel_sid == channel["sid"], invites.c.user_sid == user_sid
    )
    invite = (await call.conn.execute(query)).mappings().first()
    if invite is None:
        return None
    return {
        "pk": None,  # not a member row: the generic delete of the member table matches nothing
        "sid": None,
        "invite_sid": invite["sid"],
        "channel_sid": channel["sid"],
        "member_sid": None,
        "status": "invited",
        "last_consumed_message_index": None,
        "notification_level": "default",
        "message_counter": channel["message_counter"],
        "date_created": invite["date_created"],
    }


class UserChannelRules(Rules):
    def list_query(self, call: Context) -> tuple[Select[Any], ColumnElement[Any]]:
        """Memberships and invites of the user, in the order their channels were created.

        A user is never both a member and an invitee of one channel (joining consumes the
        invite), so the channel's row number is a unique keyset across both; it is named
        `pk`, the key every list pages by.
        """
        members, invites = call.tables["member"], call.tables["invite"]
        channels = call.tables["channel"]
        user_sid = bindparam("l_scope", type_=members.c.user_sid.type)  # the path's user
        joined = select(
            members.c.channel_sid,
            members.c.sid.label("member_sid"),
            literal("joined").label("status"),
            members.c.last_consumed_message_index,
            members.c.notification_level,
            channels.c.message_counter,
            channels.c.pk.label("pk"),
        ).join(channels, channels.c.sid == members.c.channel_sid)
        invited = select(
            invites.c.channel_sid,
            null().label("member_sid"),
            literal("invited").label("status"),
            null().label("last_consumed_message_index"),
            literal("default").label("notification_level"),
            channels.c.message_counter,
            channels.c.pk.label("pk"),
        ).join(channels, channels.c.sid == invites.c.channel_sid)
        both = union_all(
            joined.where(members.c.user_sid == user_sid),
            invited.where(invites.c.user_sid == user_sid),
        ).subquery()
        return select(both), both.c.pk

    async def find(self, call: Context, ident: str) -> Row:
        """The user's membership of the channel the path names (by SID or unique name), or
        else the user's invite to it: a listed entry's `url` always answers."""
        channel = await find(call, CHANNEL, ident)
        user_sid = call.parent("user")["sid"]
        members = call.tables["member"]
        query = _membership(call).where(
            members.c.channel_sid == channel["sid"], members.c.user_sid == user_sid
        )
        row: Row | None = (await call.conn.execute(query)).mappings().first()
        if row is None:
            row = await _invitation(call, channel, user_sid)
        if row is None:
            raise call.not_found()
        return row

    async def before_update(self, call: Context, row: Row, changes: dict[str, Any]) -> None:
        if row["status"] == "invited" and changes:
            # Notification level and read horizon belong to a membership; an invitee has none.
            raise NOT_A_MEMBER
        await MEMBER.rules.before_update(call, row, changes)

    async def after_update(self, call: Context, before: Row, after: Row) -> Row:
        return await self.find(call, after["channel_sid"])

    async def before_delete(self, call: Context, row: Row) -> None:
        """Leave the channel; for an invitee, decline the invite (as deleting the Invite does)."""
        if row["status"] == "invited":
            invites = call.tables["invite"]
            await call.conn.execute(invites.delete().where(invites.c.sid == row["invite_sid"]))
            return
        await leave(call, row)

    def client_permissions(
        self, call: Context, row: Row | None, values: Mapping[str, Any]
    ) -> tuple[str, ...] | None:
        if call.parent("user")["identity"] != call.identity:
            return None  # a user's channel list is its own
        if row is not None and row["status"] == "invited" and call.action == "delete":
            return ()  # declining one's invite
        if call.action == "delete":
            return ("leaveChannel",)
        return ("editNotificationLevel",) if "notification_level" in values else ()

    async def client_channel(self, call: Context, row: Row | None) -> Row | None:
        return None if row is None else await find(call, CHANNEL, row["channel_sid"])

    def event_names(
        self, res: Resource, action: Action, row: Mapping[Any, Any]
    ) -> tuple[str | None, str | None]:
        if row.get("status") == "invited":
            return (None, None)  # deleting an Invite raises no event either
        return super().event_names(res, action, row)

    def push_kind(self, res: Resource, action: Action, row: Mapping[Any, Any]) -> str | None:
        return None if row.get("status") == "invited" else super().push_kind(res, action, row)

    def event_params(self, call: Context, row: Mapping[Any, Any]) -> dict[str, Any]:
        return member_event_params(call, row)

    def to_json(self, call: Context, row: Row) -> dict[str, Any]:
        user = call.parent("user")
        service_url = f"{call.base_url}/{call.version}/Services/{user['service_sid']}"
        channel_url = f"{service_url}/Channels/{row['channel_sid']}"
        links = {"channel": channel_url, "member": None}
        if row["member_sid"]:
            links["member"] = f"{channel_url}/Members/{row['member_sid']}"
        body: dict[str, Any] = {
            "account_sid": user["account_sid"],
            "service_sid": user["service_sid"],
            "channel_sid": row["channel_sid"],
            "member_sid": row["member_sid"],
            "status": row["status"],
            "last_consumed_message_index": row["last_consumed_message_index"],
            "unread_messages_count": unread(
                row["last_consumed_message_index"], row["message_counter"]
            ),
            "links": links,
        }
        if call.version == "v2":
            body["user_sid"] = user["sid"]
            body["notification_level"] = row["notification_level"]
            body["url"] = f"{service_url}/Users/{user['sid']}/Channels/{row['channel_sid']}"
        return body


UPDATES: frozenset[Action] = frozenset({"list", "fetch", "update", "delete"})

USER_CHANNEL = Resource(
    name="user_channel",
    sid_prefix="",
    path="/Services/{ServiceSid}/Users/{UserSid}/Channels",
    list_key="channels",
    schema="service.user.user_channel",
    parent=USER,
    has_table=False,
    table_of="member",
    instance_param="ChannelSid",
    versions=VERSIONS,
    actions=UPDATES,
    only_in={"fetch": V2, "update": V2, "delete": V2},
    webhook_header=frozenset({"delete"}),
    events={"delete": ("onMemberRemove", "onMemberRemoved")},
    push={"delete": "removed_from_channel"},
    page_size_max={"v1": 1000, "v2": 50},
    rules=UserChannelRules(),
    fields=(
        Field("channel_sid", "sid", stored=False),
        Field("member_sid", "sid", stored=False),
        Field("status", stored=False),
        Field(
            "notification_level",
            param="NotificationLevel",
            update=V2,
            choices=NOTIFICATION_LEVELS,
            code=50210,
            stored=False,
            versions=V2,
        ),
        Field(
            "last_consumed_message_index",
            "int",
            "LastConsumedMessageIndex",
            update=V2,
            empty_is_null=True,
            minimum=0,
            code=50406,
            stored=False,
        ),
        Field(
            "last_consumption_timestamp",
            "date",
            "LastConsumptionTimestamp",
            update=V2,
            code=50405,
            stored=False,
            hidden=True,
        ),
        Field("unread_messages_count", "int", stored=False),
    ),
)
