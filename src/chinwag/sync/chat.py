"""The Sync objects of Programmable Chat: their names, and a user's own objects.

Names are chinwag's choice (the SDK only follows them): per channel `CH….channel` (document),
`CH….messages` (list), `CH….roster` (map); per user `US….channels` (the my-channels map, only
its owner reads it) and `US….info` (the user-info map: friendlyName, attributes, reachability).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chinwag.store.db import Connection
from chinwag.store.tables import Tables
from chinwag.sync import engine


def channel_names(channel_sid: str) -> dict[str, str]:
    return {
        "channel": f"{channel_sid}.channel",
        "messages": f"{channel_sid}.messages",
        "roster": f"{channel_sid}.roster",
    }


def channel_of(unique_name: str) -> str | None:
    """The channel SID of one of its objects' names, None for any other object."""
    sid, _, role = unique_name.partition(".")
    return sid if sid.startswith("CH") and role in ("channel", "messages", "roster") else None


def my_channels_name(user_sid: str) -> str:
    return f"{user_sid}.channels"


def user_info_name(user_sid: str) -> str:
    return f"{user_sid}.info"


@dataclass(frozen=True)
class UserObjects:
    my_channels: engine.SyncObject
    info: engine.SyncObject


async def ensure_user_objects(
    conn: Connection,
    tables: Tables,
    user: dict[str, Any],
    *,
    reachability: bool,
) -> UserObjects:
    """The user's my-channels and user-info maps, made with their first items when new."""
    scope = {"account_sid": user["account_sid"], "service_sid": user["service_sid"]}
    mine = await engine.ensure(
        conn,
        tables,
        kind="map",
        unique_name=my_channels_name(user["sid"]),
        owner_sid=user["sid"],
        **scope,
    )
    info = await engine.ensure(
        conn, tables, kind="map", unique_name=user_info_name(user["sid"]), **scope
    )
    if info.last_event_id == 0:
        items: dict[str, Any] = {
            "friendlyName": {"value": user.get("friendly_name")},
            "attributes": {"value": user.get("attributes") or "{}"},
        }
        if reachability:  # the SDK listens for this item's updates, so it exists from the start
            items["reachability"] = {
                "online": bool(user.get("online_connections") or 0),
                "notifiable": bool(user.get("push_registrations") or 0),
            }
        for key, value in items.items():
            await engine.set_item(conn, tables, info.sid, key, value)
    return UserObjects(mine, info)
