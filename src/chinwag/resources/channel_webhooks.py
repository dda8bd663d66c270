"""Channel Webhooks (WH): up to five per channel, of type webhook, trigger or studio (v2)."""

from __future__ import annotations

from typing import Any

import orjson

from chinwag.context import Context, Row
from chinwag.domain.counters import bump
from chinwag.domain.events import EVENTS
from chinwag.model.errors import ApiError
from chinwag.model.resource import V2, BackendOnly, Field, Resource
from chinwag.resources.channels import CHANNEL

WEBHOOK_TYPES = ("webhook", "trigger", "studio")
MAX_PER_CHANNEL = 5
MAX_TRIGGERS = 5
URL = "configuration_url"
FILTERS = "configuration_filters"
TRIGGERS = "configuration_triggers"
FLOW = "configuration_flow_sid"

# What each type needs, and Twilio's code when it is missing.
NEEDS = {
    "webhook": ((URL, 50329, "Url"), (FILTERS, 50330, "Filters")),
    "trigger": ((URL, 50329, "Url"), (TRIGGERS, 50331, "Triggers")),
    "studio": ((FLOW, 50327, "FlowSid"),),
}


def _validate(config: dict[str, Any]) -> None:
    for column, code, param in NEEDS[config["type"]]:
        if not config.get(column):
            raise ApiError(400, code, f"Missing required parameter Configuration.{param}")
    for event in config.get(FILTERS) or ():
        if event not in EVENTS:
            raise ApiError(400, 50325, f"Invalid channel webhook filter {event!r}")
    if len(config.get(TRIGGERS) or ()) > MAX_TRIGGERS:
        raise ApiError(400, 50322, f"At most {MAX_TRIGGERS} triggers per channel webhook")


class ChannelWebhookRules(BackendOnly):
    async def before_create(self, call: Context, values: dict[str, Any]) -> None:
        _validate(values)
        if values["type"] != "studio":
            values["configuration_method"] = values["configuration_method"] or "POST"
            values["configuration_retry_count"] = values["configuration_retry_count"] or 0
        channel = call.parent("channel")
        table = call.tables["channel"]
        count = await bump(
            call.conn, table, channel["sid"], "webhooks_count", limit=MAX_PER_CHANNEL
        )
        if count is None:
            raise ApiError(403, 50321, f"A channel has at most {MAX_PER_CHANNEL} webhooks")

    async def before_update(self, call: Context, row: Row, changes: dict[str, Any]) -> None:
        stored = {col: orjson.loads(row[col]) if row[col] else None for col in (FILTERS, TRIGGERS)}
        _validate({**row, **stored, **changes})  # lists are stored as JSON text

    async def before_delete(self, call: Context, row: Row) -> None:
        await bump(call.conn, call.tables["channel"], row["channel_sid"], "webhooks_count", by=-1)


def _config(name: str, kind: Any = "str", **kw: Any) -> Field:
    param = "Configuration." + "".join(part.capitalize() for part in name.split("_"))
    if name == "flow_sid":
        param = "Configuration.FlowSid"
    return Field(
        f"configuration.{name}", kind, param, create=True, update=True, omit_null=True, **kw
    )


CHANNEL_WEBHOOK = Resource(
    name="channel_webhook",
    sid_prefix="WH",
    path="/Services/{ServiceSid}/Channels/{ChannelSid}/Webhooks",
    list_key="webhooks",
    schema="service.channel.channel_webhook",
    parent=CHANNEL,
    ref_param="WebhookSid",
    versions=V2,
    page_size_max={"v2": 5},
    rules=ChannelWebhookRules(),
    fields=(
        Field(
            "type",
            param="Type",
            create=True,
            required=True,
            choices=WEBHOOK_TYPES,
            code=50324,
            missing_code=50328,
        ),
        _config("url", "url", code=50332, max_length=2048),
        _config("method", choices=("GET", "POST"), code=50055),
        _config("filters", "list", code=50325),
        _config("triggers", "list", code=50326, max_length=256),
        _config("flow_sid", "sid", sid_prefix="FW", code=50327),
        _config("retry_count", "int", minimum=0, maximum=3, code=50065),
    ),
)
