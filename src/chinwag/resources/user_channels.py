"""User Channels: a view of the channels a user is a member of, or invited to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, literal, null, select, union_all

from chinwag.api.call import Call, Row
from chinwag.api.resource import Action, Field, Resource, Rules
from chinwag.resources.users import USER


def unread(last_consumed: int | None, message_counter: int) -> int | None:
    """Messages after the read horizon; null until the member reports one (as the SDK does)."""
    if last_consumed is None:
        return None
    return max(0, message_counter - 1 - last_consumed)


class UserChannelRules(Rules):
    def list_query(self, call: Call) -> tuple[Select[Any], ColumnElement[Any]]:
        """Memberships and invites of the user, in the order their channels were created.

        A user is never both a member and an invitee of one channel (joining consumes the
        invite), so the channel's row number is a unique keyset across both.
        """
        members, invites = call.tables["member"], call.tables["invite"]
        channels = call.tables["channel"]
        user_sid = call.parent("user")["sid"]
        joined = select(
            members.c.channel_sid,
            members.c.sid.label("member_sid"),
            literal("joined").label("status"),
            members.c.last_consumed_message_index,
            channels.c.message_counter,
            channels.c.pk.label("key"),
        ).join(channels, channels.c.sid == members.c.channel_sid)
        invited = select(
            invites.c.channel_sid,
            null().label("member_sid"),
            literal("invited").label("status"),
            null().label("last_consumed_message_index"),
            channels.c.message_counter,
            channels.c.pk.label("key"),
        ).join(channels, channels.c.sid == invites.c.channel_sid)
        both = union_all(
            joined.where(members.c.user_sid == user_sid),
            invited.where(invites.c.user_sid == user_sid),
        ).subquery()
        return select(both), both.c.key

    def to_json(self, call: Call, row: Row) -> dict[str, Any]:
        user = call.parent("user")
        service_url = f"{call.base_url}/{call.version}/Services/{user['service_sid']}"
        channel_url = f"{service_url}/Channels/{row['channel_sid']}"
        links = {"channel": channel_url, "member": None}
        if row["member_sid"]:
            links["member"] = f"{channel_url}/Members/{row['member_sid']}"
        return {
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


USER_CHANNEL_ACTIONS: frozenset[Action] = frozenset({"list"})

USER_CHANNEL = Resource(
    name="user_channel",
    sid_prefix="",
    path="/Services/{ServiceSid}/Users/{UserSid}/Channels",
    list_key="channels",
    schema="service.user.user_channel",
    parent=USER,
    actions=USER_CHANNEL_ACTIONS,
    has_table=False,
    page_size_max={"v1": 1000, "v2": 50},
    rules=UserChannelRules(),
    fields=(
        Field("channel_sid", "sid", stored=False),
        Field("member_sid", "sid", stored=False),
        Field("status", stored=False),
        Field("last_consumed_message_index", "int", stored=False),
        Field("unread_messages_count", "int", stored=False),
    ),
)
