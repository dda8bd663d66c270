"""Channels (CH): rooms of a service, addressed by SID or unique name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from chinwag import times
from chinwag.context import Context, Row
from chinwag.domain.counters import lock, release
from chinwag.model.errors import ApiError, InvalidParameter
from chinwag.model.resource import V2, VERSIONS, Field, Filter, Link, Resource, Rules, Unique
from chinwag.resources import fields
from chinwag.resources.services import SERVICE
from chinwag.sids import SID_RE

NAME_MAX = 256  # the largest any version accepts; `_check_names` applies each one's own
CHANNEL_TYPES = ("public", "private")
# Twilio's pages: FriendlyName and UniqueName "can be up to 64 characters" (v1; v2 create),
# "up to 256 characters" on a v2 update.
NAME_LIMITS = (("friendly_name", "FriendlyName", 50003), ("unique_name", "UniqueName", 50004))


def _check_names(call: Context, values: dict[str, Any]) -> None:
    limit = 256 if call.version == "v2" and call.action == "update" else 64
    for column, param, code in NAME_LIMITS:
        if values.get(column) is not None and len(values[column]) > limit:
            raise InvalidParameter(param, f"longer than {limit} characters", code)
    name = values.get("unique_name")
    if name and SID_RE.match(name) and name.startswith("CH"):
        raise ApiError(400, 50306, "Unique name should not match channel SID pattern")


# The permission a client needs to change each column (any other: editChannelAttributes).
CHANNEL_CHANGES = {"friendly_name": "editChannelName", "unique_name": "editChannelName"}


class ChannelRules(Rules):
    async def before_create(self, call: Context, values: dict[str, Any]) -> None:
        _check_names(call, values)

    async def before_update(self, call: Context, row: Row, changes: dict[str, Any]) -> None:
        _check_names(call, changes)

    async def before_delete(self, call: Context, row: Row) -> None:
        """Members and invites go by cascade (messages later, `store/sweeper.py`); their users
        leave one channel each."""
        members = call.tables["member"]
        seated = select(members.c.user_sid).where(members.c.channel_sid == row["sid"])
        await release(call.conn, call.tables["user"], "joined_channels_count", seated)
        mine = select(members.c.sid).where(members.c.channel_sid == row["sid"])
        await lock(call.conn, members, mine)  # before the projection's Sync objects

    def client_permissions(
        self, call: Context, row: Row | None, values: Mapping[str, Any]
    ) -> tuple[str, ...] | None:
        if call.action == "create":
            return ("createChannel",)
        if call.action == "update":
            return tuple(
                sorted({CHANNEL_CHANGES.get(column, "editChannelAttributes") for column in values})
            )
        if call.action == "delete":
            return ("destroyChannel",)
        return ()  # fetch and list: a private one is hidden from non-members all the same

    async def client_channel(self, call: Context, row: Row | None) -> Row | None:
        return row  # the channel itself (none yet on create)

    def event_params(self, call: Context, row: Mapping[Any, Any]) -> dict[str, Any]:
        params = {
            "ChannelSid": row.get("sid"),
            "FriendlyName": row.get("friendly_name"),
            "UniqueName": row.get("unique_name"),
            "Attributes": row.get("attributes"),
            "ChannelType": row.get("type"),
            "CreatedBy": row.get("created_by"),
            "DateCreated": times.render(row.get("date_created")),
        }
        if call.action == "update":
            params["DateUpdated"] = times.render(row.get("date_updated"))
        if call.action == "delete":
            params["DateDestroyed"] = times.render(times.now())
        return params

    def render(self, call: Context, row: Row, body: dict[str, Any]) -> None:
        fields.v1_list_attributes(call, row, body)
        # Both versions (their examples): the newest message, or null in an empty channel.
        last = row["last_message_sid"]
        body["links"]["last_message"] = f"{body['url']}/Messages/{last}" if last else None


def _public_only(call: Context) -> Mapping[str, tuple[str, ...]]:
    return {"Type": ("public",)}  # Twilio: the Type filter "defaults to public"


CHANNEL = Resource(
    name="channel",
    sid_prefix="CH",
    path="/Services/{ServiceSid}/Channels",
    list_key="channels",
    schema="service.channel",
    parent=SERVICE,
    ref_param="ChannelSid",
    versions=VERSIONS,
    import_dates=True,
    webhook_header=frozenset({"create", "update", "delete"}),
    events={
        "create": ("onChannelAdd", "onChannelAdded"),
        "update": ("onChannelUpdate", "onChannelUpdated"),
        "delete": ("onChannelDestroy", "onChannelDestroyed"),
    },
    lookup=("unique_name",),
    unique=(Unique(("unique_name",), 50307, "Channel with provided unique name already exists"),),
    filters=(Filter("Type", "type", CHANNEL_TYPES),),
    default_filter=_public_only,
    # A list of one type (public by default) reads its own index range in keyset order: a
    # service of a million private channels lists its few public ones at once.
    indexes=(("service_sid", "type", "pk"),),
    links=(
        Link("members", "Members"),
        Link("messages", "Messages"),
        Link("invites", "Invites"),
        Link("webhooks", "Webhooks", versions=V2),
    ),
    rules=ChannelRules(),
    fields=(
        Field(
            "friendly_name",
            param="FriendlyName",
            create=True,
            update=True,
            max_length=NAME_MAX,
            code=50003,
        ),
        Field(
            "unique_name",
            param="UniqueName",
            create=True,
            update=True,
            max_length=NAME_MAX,
            empty_is_null=True,
            code=50004,
        ),
        fields.attributes(),
        Field("type", param="Type", create=True, default="public", choices=CHANNEL_TYPES),
        Field(
            "created_by",
            param="CreatedBy",
            create=V2,
            update=V2,
            default="system",
            max_length=256,
        ),
        Field("members_count", "int", default=0),
        Field("messages_count", "int", default=0),
    ),
    extra_columns=(
        Field("message_counter", "int", default=0),  # the next message's index
        Field("last_message_sid", "sid"),
        Field("webhooks_count", "int", default=0),  # channel webhooks, at most 5
    ),
)
