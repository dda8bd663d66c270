"""Services (IS): the container of everything else, with its settings and default roles."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from chinwag import times
from chinwag.context import Context, Row
from chinwag.domain.events import EVENTS, V1_EVENT_TARGETS
from chinwag.domain.roles import DEFAULT_ROLES, SERVICE_ROLE_POINTERS
from chinwag.model.errors import ApiError
from chinwag.model.resource import (
    V1,
    V2,
    VERSIONS,
    BackendOnly,
    Field,
    Link,
    Resource,
    snake_case,
)
from chinwag.sids import new_sid

NOTIFICATION_KINDS = ("NewMessage", "AddedToChannel", "RemovedFromChannel", "InvitedToChannel")
METHODS = ("GET", "POST")
MEDIA_LIMIT_MB = 150  # Twilio's fixed media size limit; v2 reports --media-max-mb (150 unless set)
TEMPLATE_MAX = 1024  # Twilio's 50058 "template too long"; its bound is not documented
SOUND_MAX = 256


def _notification_fields(kind: str) -> tuple[Field, ...]:
    key = f"notifications.{snake_case(kind)}"
    fields = [
        Field(
            f"{key}.enabled", "bool", f"Notifications.{kind}.Enabled", update=True, default=False
        ),
        Field(
            f"{key}.template",
            param=f"Notifications.{kind}.Template",
            update=True,
            omit_null=True,
            empty_is_null=True,
            max_length=TEMPLATE_MAX,
            code=50058,
        ),
        Field(
            f"{key}.sound",
            param=f"Notifications.{kind}.Sound",
            update=True,
            omit_null=True,
            empty_is_null=True,
            max_length=SOUND_MAX,
            code=50059,
            versions=V2,
        ),
    ]
    if kind == "NewMessage":
        fields.append(
            Field(
                f"{key}.badge_count_enabled",
                "bool",
                "Notifications.NewMessage.BadgeCountEnabled",
                update=True,
                default=False,
                versions=V2,
            )
        )
    return tuple(fields)


def _webhook_fields(event: str) -> tuple[Field, ...]:
    key = f"webhooks.{snake_case(event)}"
    return (
        Field(
            f"{key}.url",
            "url",
            f"Webhooks.{event}.Url",
            update=True,
            omit_null=True,
            empty_is_null=True,
            code=50054,
            versions=V1,
        ),
        Field(
            f"{key}.method",
            param=f"Webhooks.{event}.Method",
            update=True,
            omit_null=True,
            choices=METHODS,
            code=50055,
            versions=V1,
        ),
    )


def _role_pointer(name: str, param: str) -> Field:
    return Field(name, "sid", param, update=True, sid_prefix="RL")


class ServiceRules(BackendOnly):
    async def after_create(self, call: Context, row: Row) -> Row:
        """Every new service gets Twilio's four default roles and points its defaults at them."""
        roles = call.tables["role"]
        pointers: dict[str, str] = {}
        now = times.now()
        for role in DEFAULT_ROLES:
            sid = new_sid("RL")
            await call.conn.execute(
                roles.insert().values(
                    sid=sid,
                    account_sid=row["account_sid"],
                    service_sid=row["sid"],
                    friendly_name=role.friendly_name,
                    type=role.type,
                    permissions=_json_list(role.permissions),
                    date_created=now,
                    date_updated=now,
                )
            )
            if role.service_field:
                pointers[role.service_field] = sid
        services = call.tables["service"]
        statement = services.update().where(services.c.pk == row["pk"]).values(**pointers)
        return (await call.conn.execute(statement.returning(*services.c))).mappings().one()

    async def before_update(self, call: Context, row: Row, changes: dict[str, Any]) -> None:
        if changes.get("webhook_filters") == [""]:
            changes["webhook_filters"] = []  # `WebhookFilters=` clears the list
        for event in changes.get("webhook_filters") or ():
            if event not in EVENTS:
                raise ApiError(
                    400, 50054, f"Invalid parameter WebhookFilters: unknown event {event!r}"
                )
        roles = call.tables["role"]
        for column, (role_type, code, message) in SERVICE_ROLE_POINTERS.items():
            sid = changes.get(column)
            if sid is None:
                continue
            found = await call.conn.execute(
                select(roles.c.sid).where(
                    roles.c.service_sid == row["sid"], roles.c.sid == sid, roles.c.type == role_type
                )
            )
            if found.first() is None:
                raise ApiError(
                    400, code, f"{message}: {sid} is not a {role_type} role of this service"
                )

    def render(self, call: Context, row: Row, body: dict[str, Any]) -> None:
        if call.version == "v1":
            # Targets with a URL only (a method alone sends nothing), each {url, method, format}.
            stored = body.get("webhooks", {})
            body["webhooks"] = {event: t for event, t in stored.items() if "url" in t}
            for target in body["webhooks"].values():
                target.setdefault("method", "POST")
                target["format"] = "application/x-www-form-urlencoded"
        else:
            limit = call.settings.media_max_mb if call.settings else MEDIA_LIMIT_MB
            body["media"] = {"size_limit_mb": limit, **body.get("media", {})}


def _json_list(values: tuple[str, ...] | list[str]) -> str:
    return orjson.dumps(list(values)).decode()


SERVICE = Resource(
    name="service",
    sid_prefix="IS",
    path="/Services",
    list_key="services",
    schema="service",
    ref_param="ServiceSid",
    page_size_max={"v1": 100, "v2": 100},
    versions=VERSIONS,
    links=(
        Link("channels", "Channels"),
        Link("roles", "Roles"),
        Link("users", "Users"),
        Link("bindings", "Bindings", versions=V2),
    ),
    rules=ServiceRules(),
    fields=(
        Field(
            "friendly_name",
            param="FriendlyName",
            create=True,
            update=True,
            required=True,
            max_length=64,
            code=50003,
        ),
        _role_pointer("default_service_role_sid", "DefaultServiceRoleSid"),
        _role_pointer("default_channel_role_sid", "DefaultChannelRoleSid"),
        _role_pointer("default_channel_creator_role_sid", "DefaultChannelCreatorRoleSid"),
        Field("read_status_enabled", "bool", "ReadStatusEnabled", update=True, default=True),
        Field("reachability_enabled", "bool", "ReachabilityEnabled", update=True, default=False),
        Field(
            "typing_indicator_timeout",
            "int",
            "TypingIndicatorTimeout",
            update=True,
            default=5,
            minimum=1,
            maximum=600,
            code=50053,
        ),
        Field(
            "consumption_report_interval",
            "int",
            "ConsumptionReportInterval",
            update=True,
            default=10,
            minimum=1,
            maximum=600,
            code=50052,
        ),
        Field(
            "limits.channel_members",
            "int",
            "Limits.ChannelMembers",
            update=True,
            default=100,
            minimum=1,
            maximum=1000,
            code=50061,
        ),
        Field(
            "limits.user_channels",
            "int",
            "Limits.UserChannels",
            update=True,
            default=250,
            minimum=1,
            maximum=1000,
            code=50060,
        ),
        Field(
            "pre_webhook_url", "url", "PreWebhookUrl", update=True, empty_is_null=True, code=50077
        ),
        Field(
            "post_webhook_url", "url", "PostWebhookUrl", update=True, empty_is_null=True, code=50078
        ),
        Field(
            "webhook_method",
            param="WebhookMethod",
            update=True,
            default="POST",
            choices=METHODS,
            code=50055,
        ),
        Field("webhook_filters", "list", "WebhookFilters", update=True, code=50054),
        Field(
            "pre_webhook_retry_count",
            "int",
            "PreWebhookRetryCount",
            update=True,
            default=0,
            minimum=0,
            maximum=3,
            code=50065,
            versions=V2,
        ),
        Field(
            "post_webhook_retry_count",
            "int",
            "PostWebhookRetryCount",
            update=True,
            default=0,
            minimum=0,
            maximum=3,
            code=50065,
            versions=V2,
        ),
        *(f for kind in NOTIFICATION_KINDS for f in _notification_fields(kind)),
        Field(
            "notifications.log_enabled",
            "bool",
            "Notifications.LogEnabled",
            update=True,
            default=False,
            versions=V2,
        ),
        *(f for event in V1_EVENT_TARGETS for f in _webhook_fields(event)),
        Field(
            "media.compatibility_message",
            param="Media.CompatibilityMessage",
            update=True,
            default="Media messages are not supported by your client",
            max_length=1024,
            versions=V2,
        ),
    ),
)
