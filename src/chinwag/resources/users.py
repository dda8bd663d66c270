"""Users (US): the identities of a service, addressed by SID or identity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from chinwag import times
from chinwag.context import Context, Row
from chinwag.domain import reachability
from chinwag.domain.counters import lock, release
from chinwag.model.errors import ApiError
from chinwag.model.resource import V2, VERSIONS, Field, Link, Resource, Rules, Unique
from chinwag.resources import fields
from chinwag.resources.roles import require_role
from chinwag.resources.services import SERVICE
from chinwag.sids import SID_RE


def check_identity(identity: str) -> None:
    if SID_RE.match(identity) and identity.startswith("US"):
        raise ApiError(400, 50206, "Identity should not match user SID pattern")
    if identity == "":
        raise ApiError(400, 50204, "Identity not provided")


class UserRules(Rules):
    async def before_create(self, call: Context, values: dict[str, Any]) -> None:
        check_identity(values["identity"])
        if values["role_sid"] is None:
            values["role_sid"] = call.parent("service")["default_service_role_sid"]
        else:
            await require_role(call, values["role_sid"], "deployment")

    async def before_update(self, call: Context, row: Row, changes: dict[str, Any]) -> None:
        if changes.get("role_sid"):
            await require_role(call, changes["role_sid"], "deployment")

    async def lock_ahead(self, call: Context, row: Row) -> None:
        """Its channels, whose counts it changes, before itself (the lock order)."""
        members = call.tables["member"]
        mine = select(members.c.channel_sid).where(members.c.user_sid == row["sid"])
        await lock(call.conn, call.tables["channel"], mine)

    async def before_delete(self, call: Context, row: Row) -> None:
        """Its memberships go with it (by cascade): give their channels back a seat each, and
        lock the memberships before the projection writes their Sync objects (lock order)."""
        members = call.tables["member"]
        mine = members.c.user_sid == row["sid"]
        channels = select(members.c.channel_sid).where(mine)
        await release(call.conn, call.tables["channel"], "members_count", channels)
        await lock(call.conn, members, select(members.c.sid).where(mine))

    def client_permissions(
        self, call: Context, row: Row | None, values: Mapping[str, Any]
    ) -> tuple[str, ...] | None:
        if call.action in ("fetch", "list"):
            return ()
        if call.action != "update" or values.get("role_sid") is not None:
            return None  # users come and go, and get roles, by the backend
        assert row is not None  # noqa: S101
        return ("editOwnUserInfo",) if row["identity"] == call.identity else ("editAnyUserInfo",)

    def event_params(self, call: Context, row: Mapping[Any, Any]) -> dict[str, Any]:
        params = {
            "UserSid": row.get("sid"),
            "Identity": row.get("identity"),
            "FriendlyName": row.get("friendly_name"),
            "RoleSid": row.get("role_sid"),
            "Attributes": row.get("attributes"),
            "DateCreated": times.render(row.get("date_created")),
        }
        if call.action == "update":
            params["DateUpdated"] = times.render(row.get("date_updated"))
        service = call.parent("service")
        params["IsOnline"] = reachability.is_online(service, row)  # null values are left out
        params["IsNotifiable"] = reachability.is_notifiable(service, row)
        return params

    def render(self, call: Context, row: Row, body: dict[str, Any]) -> None:
        # Twilio: "null is always returned by a Read action"; a single resource reports them.
        single = call.action != "list"
        service = call.parent("service")
        body["is_online"] = reachability.is_online(service, row) if single else None
        body["is_notifiable"] = reachability.is_notifiable(service, row) if single else None
        fields.v1_list_attributes(call, row, body)


USER = Resource(
    name="user",
    sid_prefix="US",
    path="/Services/{ServiceSid}/Users",
    list_key="users",
    schema="service.user",
    parent=SERVICE,
    ref_param="UserSid",
    versions=VERSIONS,
    webhook_header=frozenset({"create", "update"}),
    events={"create": (None, "onUserAdded"), "update": ("onUserUpdate", "onUserUpdated")},
    lookup=("identity",),
    unique=(Unique(("identity",), 50201, "User already exists"),),
    indexes=(("role_sid",),),
    links=(Link("user_channels", "Channels"), Link("user_bindings", "Bindings", versions=V2)),
    rules=UserRules(),
    fields=(
        fields.identity(),
        fields.role(),
        fields.attributes(),
        Field("friendly_name", param="FriendlyName", create=True, update=True, max_length=256),
        Field("is_online", "bool", stored=False),
        Field("is_notifiable", "bool", stored=False),
        Field("joined_channels_count", "int", default=0),
    ),
    extra_columns=(
        Field("online_connections", "int"),  # NULL: never online (domain/reachability.py)
        Field("push_registrations", "int"),  # NULL: never had a push binding
    ),
)
