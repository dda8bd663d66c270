"""Invites (IN): an identity asked to join a channel, with the role it will get."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from chinwag.context import Context, Row
from chinwag.model.errors import ApiError
from chinwag.model.resource import VERSIONS, Action, Field, Filter, Resource, Rules, Unique
from chinwag.resources import fields
from chinwag.resources.channels import CHANNEL
from chinwag.resources.roles import require_role


class InviteRules(Rules):
    async def before_create(self, call: Context, values: dict[str, Any]) -> None:
        users, members = call.tables["user"], call.tables["member"]
        service, channel = call.parent("service"), call.parent("channel")
        identity = values["identity"]
        # The user kept (a share lock) before its membership is looked for: a join of this
        # channel on another writer (which moves the user's count) either committed first and
        # is seen, or waits for this invite and consumes it. Never both member and invitee.
        query = select(users.c.sid).where(
            users.c.service_sid == service["sid"], users.c.identity == identity
        )
        user_sid = (await call.conn.execute(query.with_for_update(read=True))).scalar()
        if user_sid is None:
            # Observed on Twilio: inviting an identity with no User is a plain 404.
            raise call.not_found()
        seated = select(members.c.sid).where(
            members.c.channel_sid == channel["sid"], members.c.user_sid == user_sid
        )
        if (await call.conn.execute(seated)).first() is not None:
            raise ApiError(409, 50404, "Member already exists")
        values["user_sid"] = user_sid
        if call.identity is not None:
            values["created_by"] = call.identity  # a client's invite names its inviter
        if values["role_sid"] is None:
            values["role_sid"] = service["default_channel_role_sid"]
        else:
            await require_role(call, values["role_sid"], "channel")

    def client_permissions(
        self, call: Context, row: Row | None, values: Mapping[str, Any]
    ) -> tuple[str, ...] | None:
        if call.action == "create":
            return ("inviteMember",) if values.get("role_sid") is None else None
        if call.action == "delete" and row is not None and row["identity"] != call.identity:
            return ("inviteMember",)  # taking back another's invite; one's own is declined
        return ()


INVITE_ACTIONS: frozenset[Action] = frozenset({"create", "fetch", "delete", "list"})

INVITE = Resource(
    name="invite",
    sid_prefix="IN",
    path="/Services/{ServiceSid}/Channels/{ChannelSid}/Invites",
    list_key="invites",
    schema="service.channel.invite",
    parent=CHANNEL,
    ref_param="InviteSid",
    versions=VERSIONS,
    actions=INVITE_ACTIONS,
    lookup=("identity",),  # the SDK declines its invite by identity: `Invites/{identity}`
    unique=(Unique(("identity",), 50212, "User already invited"),),
    filters=(Filter("Identity", "identity"),),
    indexes=(("user_sid", "pk"), ("role_sid",)),
    rules=InviteRules(),
    push={"create": "invited_to_channel"},
    fields=(
        fields.identity(),
        fields.role(update=False),
        Field("created_by", default="system"),
    ),
    extra_columns=(Field("user_sid", "sid", references="users"),),
)
