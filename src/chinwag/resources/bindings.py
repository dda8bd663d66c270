"""Bindings (BS): devices registered for push notifications, per user (Chat v2).

Twilio created bindings when a client SDK registered a device. chinwag also accepts
`POST /v2/Services/{ServiceSid}/Bindings` (an extension) so that self-hosted deployments and
tests can register devices. Registering an endpoint again replaces its binding, as a device
re-registering on every start expects.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from chinwag.context import Context, Row
from chinwag.domain import reachability
from chinwag.model.errors import ApiError
from chinwag.model.resource import V2, Action, Field, Filter, Resource, Rules
from chinwag.resources.fields import IDENTITY_MAX
from chinwag.resources.members import user_for
from chinwag.resources.services import SERVICE
from chinwag.resources.users import USER, check_identity
from chinwag.sync.reachability import publish

BINDING_TYPES = ("apn", "gcm", "fcm")
MESSAGE_TYPES = (
    "twilio.channel.new_message",
    "twilio.channel.added_to_channel",
    "twilio.channel.invited_to_channel",
    "twilio.channel.removed_from_channel",
)


class BindingRules(Rules):
    async def before_create(self, call: Context, values: dict[str, Any]) -> None:
        check_identity(values["identity"])
        for kind in values["message_types"] or ():
            if kind not in MESSAGE_TYPES:
                raise ApiError(400, 20001, f"Invalid parameter MessageTypes: {kind!r}")
        values["message_types"] = values["message_types"] or list(MESSAGE_TYPES)
        if values["credential_sid"]:
            credentials = call.tables["credential"]
            query = select(credentials.c.sid).where(
                credentials.c.account_sid == call.account.sid,
                credentials.c.sid == values["credential_sid"],
            )
            if (await call.conn.execute(query)).first() is None:
                raise ApiError(400, 20001, f"Credential not found: {values['credential_sid']}")
        user = await user_for(call, values["identity"])
        values["user_sid"] = user["sid"]
        bindings = call.tables["binding"]
        replaced = await call.conn.execute(
            bindings.delete()
            .where(
                bindings.c.service_sid == call.parent("service")["sid"],
                bindings.c.endpoint == values["endpoint"],
                bindings.c.binding_type == values["binding_type"],
            )
            .returning(bindings.c.user_sid)
        )
        gone = Counter(sid for (sid,) in replaced)
        await reachability.registrations_changed(
            call.conn, call.tables["user"], ((sid, -n) for sid, n in gone.items())
        )
        for user_sid in gone:  # the device moved away: the SDK hears `notifiable` change
            if user_sid != user["sid"]:
                await publish(call.conn, call.tables, call.parent("service")["sid"], user_sid)

    async def after_create(self, call: Context, row: Row) -> None:
        users = call.tables["user"]
        await reachability.registrations_changed(call.conn, users, [(row["user_sid"], 1)])

    async def before_delete(self, call: Context, row: Row) -> None:
        """The user has one registration less (a delete that finds the row gone meanwhile is
        run again, this undone with it: `crud.delete`)."""
        users = call.tables["user"]
        await reachability.registrations_changed(call.conn, users, [(row["user_sid"], -1)])

    def render(self, call: Context, row: Row, body: dict[str, Any]) -> None:
        if call.resource.name == "binding":
            user = f"{call.base_url}/v2/Services/{row['service_sid']}/Users/{row['user_sid']}"
            body["links"] = {"user": user}


BINDING_FIELDS = (
    # Indexed: 512 characters of up to 4 bytes stay under PostgreSQL's 2.7 kB index entry (1,024
    # CJK characters, from a token's endpoint_id, answered 500 there).
    Field("endpoint", param="Endpoint", create=True, required=True, max_length=512),
    Field("identity", param="Identity", create=True, required=True, max_length=IDENTITY_MAX),
    Field("credential_sid", "sid", "CredentialSid", create=True, sid_prefix="CR"),
    Field(
        "binding_type",
        param="BindingType",
        create=True,
        required=True,
        choices=BINDING_TYPES,
        code=50209,
    ),
    Field("message_types", "list", "MessageTypes", create=True),
    Field("address", param="Address", create=True, required=True, hidden=True, max_length=4096),
)
LIST_ONLY_EXTENDED: frozenset[Action] = frozenset({"create", "fetch", "delete", "list"})
READ_DELETE: frozenset[Action] = frozenset({"fetch", "delete", "list"})

BINDING = Resource(
    name="binding",
    sid_prefix="BS",
    path="/Services/{ServiceSid}/Bindings",
    list_key="bindings",
    schema="service.binding",
    parent=SERVICE,
    ref_param="BindingSid",
    versions=V2,
    actions=LIST_ONLY_EXTENDED,
    extensions=frozenset({"create"}),
    page_size_max={"v2": 50},
    filters=(Filter("BindingType", "binding_type", BINDING_TYPES), Filter("Identity", "identity")),
    # Identity=..., BindingType=...: the service's bindings of those users or types, each
    # value's range in keyset order (merged when several), not a scan of all.
    indexes=(
        ("user_sid", "pk"),
        ("endpoint",),
        ("service_sid", "identity", "pk"),
        ("service_sid", "binding_type", "pk"),
    ),
    rules=BindingRules(),
    fields=BINDING_FIELDS,
    extra_columns=(Field("user_sid", "sid", references="users"),),
)

USER_BINDING = Resource(
    name="user_binding",
    sid_prefix="BS",
    path="/Services/{ServiceSid}/Users/{UserSid}/Bindings",
    list_key="bindings",
    schema="service.user.user_binding",
    parent=USER,
    table_of="binding",
    versions=V2,
    actions=READ_DELETE,
    page_size_max={"v2": 50},
    filters=(Filter("BindingType", "binding_type", BINDING_TYPES),),
    rules=BindingRules(),
    fields=BINDING_FIELDS,
)
