"""Members (MB): users seated in a channel, with a channel role and a read horizon."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from chinwag import times
from chinwag.context import Context, Row
from chinwag.domain.counters import bump
from chinwag.model.errors import ApiError
from chinwag.model.resource import V2, VERSIONS, Field, Filter, Resource, Rules, Unique
from chinwag.resources import fields
from chinwag.resources.channels import CHANNEL
from chinwag.resources.roles import require_role
from chinwag.resources.users import USER, check_identity
from chinwag.sids import new_sid
from chinwag.store.errors import RowGone
from chinwag.store.queries import insert_ignoring_conflicts

MEMBER_LIMIT = ApiError(403, 50403, "Channel member limit exceeded")
USER_LIMIT = ApiError(403, 50208, "User channel limit exceeded")


async def user_for(call: Context, identity: str) -> Row:
    """The service's user with `identity`, created with the default service role if new.

    Twilio creates the user when the REST API adds an unknown identity as a member.
    """
    service = call.parent("service")
    users = call.tables["user"]
    values = USER.defaults(call)
    now = times.now()
    values.update(
        sid=new_sid("US"),
        account_sid=service["account_sid"],
        service_sid=service["sid"],
        identity=identity,
        role_sid=service["default_service_role_sid"],
        date_created=now,
        date_updated=now,
    )
    await call.conn.execute(insert_ignoring_conflicts(call.conn, users, values))
    query = select(users).where(users.c.service_sid == service["sid"], users.c.identity == identity)
    user = (await call.conn.execute(query)).mappings().first()
    if user is None:  # deleted by another writer's transaction after the INSERT found it
        raise RowGone("user")
    return user


async def join(call: Context, channel: Row, user: Row) -> None:
    """Take a seat in the channel and in the user's channel count, within both limits."""
    service = call.parent("service")
    limits = (service["limits_channel_members"], service["limits_user_channels"])
    if (
        await bump(
            call.conn, call.tables["channel"], channel["sid"], "members_count", limit=limits[0]
        )
        is None
    ):
        raise MEMBER_LIMIT
    if (
        await bump(
            call.conn, call.tables["user"], user["sid"], "joined_channels_count", limit=limits[1]
        )
        is None
    ):
        raise USER_LIMIT
    invites = call.tables["invite"]
    # Joining consumes the user's invite to this channel (Twilio's 50602 wording).
    consumed = await call.conn.execute(
        invites.delete().where(
            invites.c.channel_sid == channel["sid"], invites.c.user_sid == user["sid"]
        )
    )
    if consumed.rowcount == 0 and _needs_invite(call, channel, user):
        # Its invite, seen when the join was allowed, was taken back meanwhile by another
        # writer's transaction: run again, the join is judged without it.
        raise RowGone("the invite")


def _needs_invite(call: Context, channel: Row, user: Row) -> bool:
    """Whether only an invite let this join in: a client joining a private channel it did
    not create (adding another, or the backend's REST call, takes none)."""
    identity = call.identity
    return (
        identity is not None
        and identity == user["identity"]
        and channel["type"] == "private"
        and channel["created_by"] != identity
    )


async def leave(call: Context, member: Row) -> None:
    await bump(call.conn, call.tables["channel"], member["channel_sid"], "members_count", by=-1)
    await bump(call.conn, call.tables["user"], member["user_sid"], "joined_channels_count", by=-1)


def _default_role(call: Context, identity: str) -> Any:
    """A client joining a channel it created gets the service's channel creator role (channel
    admin by default); anyone else, the default channel role."""
    service, channel = call.parent("service"), call.parent("channel")
    if call.identity is not None and identity == call.identity == channel["created_by"]:
        return service["default_channel_creator_role_sid"]
    return service["default_channel_role_sid"]


class MemberRules(Rules):
    async def before_create(self, call: Context, values: dict[str, Any]) -> None:
        check_identity(values["identity"])
        if values["role_sid"] is None:
            values["role_sid"] = _default_role(call, values["identity"])
        else:
            await require_role(call, values["role_sid"], "channel")
        user = await user_for(call, values["identity"])
        values["user_sid"] = user["sid"]
        if (
            values.get("last_consumed_message_index") is not None
            and values.get("last_consumption_timestamp") is None
        ):
            values["last_consumption_timestamp"] = times.now()  # an import may set its own
        await join(call, call.parent("channel"), user)

    async def before_update(self, call: Context, row: Row, changes: dict[str, Any]) -> None:
        if changes.get("role_sid"):
            await require_role(call, changes["role_sid"], "channel")
        if "last_consumed_message_index" in changes:
            # Reporting consumption moves the timestamp, unless an import sets it (v2).
            changes.setdefault("last_consumption_timestamp", times.now())

    async def before_delete(self, call: Context, row: Row) -> None:
        await leave(call, row)

    def client_permissions(
        self, call: Context, row: Row | None, values: Mapping[str, Any]
    ) -> tuple[str, ...] | None:
        return member_permissions(call, row, values)

    def event_params(self, call: Context, row: Mapping[Any, Any]) -> dict[str, Any]:
        return member_event_params(call, row)


def member_permissions(
    call: Context, row: Row | None, values: Mapping[str, Any]
) -> tuple[str, ...] | None:
    """Join (oneself: joinChannel, and in a private channel only with an invite, which the
    visibility rule demands) or add (another: addMember); leave or remove; edit attributes
    (one's own or anyone's). A read horizon is one's own business; a role is the backend's."""
    identity = values.get("identity") if row is None else row["identity"]
    own = identity == call.identity
    if call.action == "create":
        if values.get("role_sid") is not None:
            return None
        return ("joinChannel",) if own else ("addMember",)
    if call.action == "delete":
        return ("leaveChannel",) if own else ("removeMember",)
    if call.action == "update":
        if values.get("role_sid") is not None:
            return None
        needed = set()
        if "attributes" in values:
            needed.add("editOwnMemberAttributes" if own else "editAnyMemberAttributes")
        if "notification_level" in values:
            needed.add("editNotificationLevel" if own else "editAnyMemberAttributes")
        if not own and set(values) & {"last_consumed_message_index", "last_consumption_timestamp"}:
            needed.add("editAnyMemberAttributes")
        return tuple(sorted(needed))
    return ()


def member_event_params(call: Context, row: Mapping[Any, Any]) -> dict[str, Any]:
    """onMember* parameters; REST actions add and remove members, users do not join or leave."""
    params = {
        "MemberSid": row.get("sid"),
        "ChannelSid": row.get("channel_sid"),
        "Identity": row.get("identity"),
        "RoleSid": row.get("role_sid"),
        "DateCreated": times.render(row.get("date_created")),
    }
    if call.action == "create":
        params["Reason"] = "ADDED"
    elif call.action == "update":
        params["Attributes"] = row.get("attributes")
        params["LastConsumedMessageIndex"] = row.get("last_consumed_message_index")
        params["DateUpdated"] = times.render(row.get("date_updated"))
    else:
        params["Reason"] = "REMOVED"
        params["DateRemoved"] = times.render(times.now())
    return params


MEMBER = Resource(
    name="member",
    sid_prefix="MB",
    path="/Services/{ServiceSid}/Channels/{ChannelSid}/Members",
    list_key="members",
    schema="service.channel.member",
    parent=CHANNEL,
    ref_param="MemberSid",
    versions=VERSIONS,
    import_dates=True,
    webhook_header=frozenset({"create", "update", "delete"}),
    events={
        "create": ("onMemberAdd", "onMemberAdded"),
        "update": ("onMemberUpdate", "onMemberUpdated"),
        "delete": ("onMemberRemove", "onMemberRemoved"),
    },
    push={"create": "added_to_channel", "delete": "removed_from_channel"},
    lookup=("identity",),
    unique=(Unique(("identity",), 50404, "Member already exists"),),
    filters=(Filter("Identity", "identity"),),
    indexes=(("user_sid", "pk"), ("role_sid",)),
    rules=MemberRules(),
    fields=(
        fields.identity(),
        fields.role(),
        Field(
            "last_consumed_message_index",
            "int",
            "LastConsumedMessageIndex",
            create=V2,
            update=True,
            empty_is_null=True,
            minimum=0,
            code=50406,
        ),
        Field(
            "last_consumption_timestamp",
            "date",
            "LastConsumptionTimestamp",
            create=V2,
            update=V2,
            code=50405,
        ),
        fields.attributes(create=V2, update=V2, versions=V2),
    ),
    extra_columns=(
        Field("user_sid", "sid", references="users"),
        Field("notification_level", default="default"),  # v2 user channel setting
    ),
)
