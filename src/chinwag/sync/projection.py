"""The chat projection: every change to channels, members, messages and users, whichever front
door made it (REST or the SDK), written into the Sync objects the SDK follows, in the change's
own transaction (registered as a write observer of the operations layer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, select

from chinwag import times
from chinwag.context import Context, Row
from chinwag.store import statements, sweeper
from chinwag.store.errors import RowGone
from chinwag.sync import engine, fused, reachability
from chinwag.sync.chat import (
    channel_names,
    ensure_user_objects,
    my_channels_name,
    user_info_name,
)


def channel_data(channel: Row, last_message: Any = None) -> dict[str, Any]:
    names = channel_names(channel["sid"])
    data = {
        "friendlyName": channel["friendly_name"],
        "uniqueName": channel["unique_name"],
        "type": channel["type"],
        "attributes": channel["attributes"] or "{}",
        "createdBy": channel["created_by"],
        "dateCreated": times.render(channel["date_created"]),
        "dateUpdated": times.render(channel["date_updated"]),
        "messages": names["messages"],
        "roster": names["roster"],
    }
    if last_message is not None:
        data["lastMessage"] = last_message
    return data


def member_data(member: Row) -> dict[str, Any]:
    return {
        "identity": member["identity"],
        "roleSid": member["role_sid"],
        "attributes": member["attributes"] or "{}",
        "dateCreated": times.render(member["date_created"]),
        "dateUpdated": times.render(member["date_updated"]),
        "type": "chat",
        "lastConsumedMessageIndex": member["last_consumed_message_index"],
        "lastConsumptionTimestamp": times.render(member["last_consumption_timestamp"]),
        "userInfo": user_info_name(member["user_sid"]),
    }


def my_channel_data(channel: Row, member: Row | None) -> dict[str, Any]:
    """The user's entry for a channel: joined (as `member`), or invited (no member yet)."""
    names = channel_names(channel["sid"])
    if member is None:
        return {
            "status": "invited",
            "channel": names["channel"],
            "messages": names["messages"],
            "roster": names["roster"],
            "type": channel["type"],
            "lastConsumedMessageIndex": None,
            "notificationLevel": "default",
        }
    return {
        "status": "joined",
        "channel": names["channel"],
        "messages": names["messages"],
        "roster": names["roster"],
        "type": channel["type"],
        "lastConsumedMessageIndex": member["last_consumed_message_index"],
        "notificationLevel": member["notification_level"] or "default",
    }


def message_data(message: Row, member_sid: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "sid": message["sid"],
        "text": message["body"],
        "author": message["from"],
        "attributes": message["attributes"] or "{}",
        "timestamp": times.render(message["date_created"]),
        "dateUpdated": times.render(message["date_updated"]),
        "lastUpdatedBy": message["last_updated_by"],
        "type": "media" if message["media_sid"] else "text",
        "memberSid": member_sid,
    }
    if message["media_sid"]:
        data["media"] = {
            "sid": message["media_sid"],
            "filename": message["media_filename"],
            "contentType": message["media_content_type"],
            "size": message["media_size"],
        }
    return data


ROLES = (("channel", "document"), ("messages", "list"), ("roster", "map"))


async def channel_objects(call: Context, channel: Row) -> dict[str, engine.SyncObject]:
    """The channel's document, messages list and roster map, read in one query (made if the
    channel predates them)."""
    names = channel_names(channel["sid"])
    t = call.tables.sync_objects
    params = {"service": channel["service_sid"]}
    params.update({f"n{i}": names[role] for i, (role, _) in enumerate(ROLES)})
    rows = (await call.conn.execute(engine.by_names(t, len(ROLES)), params)).all()
    known = {row.unique_name: engine.SyncObject.of(row) for row in rows}
    scope = {"account_sid": channel["account_sid"], "service_sid": channel["service_sid"]}
    found = {}
    for role, kind in ROLES:
        found[role] = known.get(names[role]) or await engine.ensure(
            call.conn,
            call.tables,
            kind=kind,
            unique_name=names[role],
            data=channel_data(channel) if kind == "document" else None,
            **scope,
        )
    if any(obj.removed for obj in found.values()):
        # Removed with the channel, by another writer's transaction since this one located
        # it (on PostgreSQL: the channel's delete by SID, this write by unique name, or the
        # other way round): run again, the operation finds the channel gone.
        raise RowGone("the channel")
    return found


async def _user(call: Context, user_sid: str | None) -> dict[str, Any] | None:
    if user_sid is None:
        return None
    u = call.tables["user"]
    row = (await call.conn.execute(select(u).where(u.c.sid == user_sid))).first()
    return dict(row._mapping) if row else None


async def _my_channels(call: Context, user_sid: str | None) -> engine.SyncObject | None:
    user = await _user(call, user_sid)
    if user is None:
        return None
    service = call.parents.get("service")
    reachability = bool(service["reachability_enabled"]) if service else False
    objects = await ensure_user_objects(call.conn, call.tables, user, reachability=reachability)
    return objects.my_channels


async def on_channel(call: Context, before: Row | None, after: Row | None) -> None:
    if after is None:
        assert before is not None  # noqa: S101
        await _channel_removed(call, before)
        return
    objects = await channel_objects(call, after)
    if before is not None:
        doc = objects["channel"]
        last = doc.data.get("lastMessage") if isinstance(doc.data, dict) else None
        await engine.set_document(call.conn, call.tables, doc.sid, channel_data(after, last))


async def _channel_removed(call: Context, channel: Row) -> None:
    """The members went with the channel (by cascade): take it off their my-channels maps."""
    names = channel_names(channel["sid"])
    t, i = call.tables.sync_objects, call.tables.sync_items
    named = and_(t.c.service_sid == channel["service_sid"], t.c.date_removed.is_(None))
    rows = await call.conn.execute(
        select(t.c.sid, t.c.unique_name).where(named, t.c.unique_name.in_(list(names.values())))
    )
    objects = {r.unique_name: r.sid for r in rows}
    roster = objects.get(names["roster"])
    if roster is not None:
        items = await call.conn.execute(select(i.c.data).where(i.c.object_sid == roster))
        for item in items.all():
            user_sid = str(_loads(item.data).get("userInfo", "")).removesuffix(".info")
            mine = await _find(call, channel["service_sid"], my_channels_name(user_sid))
            if mine is not None:
                await engine.remove_item(call.conn, call.tables, mine, channel["sid"])
    invites = call.tables["invite"]  # still there: the cascade follows this observer
    invited = await call.conn.execute(
        select(invites.c.user_sid).where(invites.c.channel_sid == channel["sid"])
    )
    for row in invited.all():
        mine = await _find(call, channel["service_sid"], my_channels_name(row.user_sid))
        if mine is not None:
            await engine.remove_item(call.conn, call.tables, mine, channel["sid"])
    for sid in objects.values():
        await engine.remove_object(call.conn, call.tables, sid)


async def _member_left(
    call: Context, roster: str, member_sid: str, mine: str | None, channel_sid: str
) -> None:
    """A member leaves: out of its channel's roster and its user's my-channels map (if any)."""
    await engine.remove_item(call.conn, call.tables, roster, member_sid, call.base_url)
    if mine is not None:
        await engine.remove_item(call.conn, call.tables, mine, channel_sid)


async def _user_removed(call: Context, user: Row) -> None:
    """The user's memberships go with it (by cascade): each leaves its channel's roster, so
    the other members' SDKs see `memberLeft` and no longer list the user, and its my-channels
    map (if it has one: none is made now), as when a member leaves, so the user's own SDK, if
    connected, sees `channelLeft`. Then its my-channels and user-info maps are removed, as a
    channel's objects are (their items swept later; the SDK's Sync client unsubscribes from a
    removed map and the chat client listens for nothing more): a service whose users come and
    go keeps nothing of those gone. A user's channels are bounded by the service's
    `Limits.UserChannels`."""
    members, channels = call.tables["member"], call.tables["channel"]
    rows = await call.conn.execute(
        select(members.c.sid.label("member_sid"), channels)
        .join(channels, channels.c.sid == members.c.channel_sid)
        .where(members.c.user_sid == user["sid"])
    )
    mine = await _find(call, user["service_sid"], my_channels_name(user["sid"]))
    for row in rows.mappings().all():
        channel = {c.name: row[c.name] for c in channels.c}
        roster = (await channel_objects(call, channel))["roster"].sid
        await _member_left(call, roster, row["member_sid"], mine, channel["sid"])
    info = await _find(call, user["service_sid"], user_info_name(user["sid"]))
    for sid in (mine, info):
        if sid is not None:
            await engine.remove_object(call.conn, call.tables, sid)


def _loads(text: str) -> dict[str, Any]:
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {}


async def _find(call: Context, service_sid: str, unique_name: str) -> str | None:
    t = call.tables.sync_objects
    named = and_(
        t.c.service_sid == service_sid, t.c.unique_name == unique_name, t.c.date_removed.is_(None)
    )
    row = (await call.conn.execute(select(t.c.sid).where(named))).first()
    return str(row.sid) if row else None


async def on_member(call: Context, before: Row | None, after: Row | None) -> None:
    await _project_member(call, call.parent("channel"), before, after)


async def on_user_channel(call: Context, before: Row | None, after: Row | None) -> None:
    """A REST or SDK change through User Channels (read horizon, notification level, leaving)
    is a change of the membership: the roster and the my-channels map follow."""
    row = after if after is not None else before
    if row is None or row.get("status") != "joined":
        return  # an invite declined: not a membership
    c = call.tables["channel"]
    found = (await call.conn.execute(select(c).where(c.c.sid == row["channel_sid"]))).first()
    if found is not None:
        await _project_member(call, dict(found._mapping), before, after)


async def _project_member(
    call: Context, channel: Row, before: Row | None, after: Row | None
) -> None:
    objects = await channel_objects(call, channel)
    roster = objects["roster"].sid
    member = after if after is not None else before
    assert member is not None  # noqa: S101
    mine = await _my_channels(call, member["user_sid"])
    if after is None:
        mine_sid = mine.sid if mine is not None else None
        await _member_left(call, roster, member["sid"], mine_sid, channel["sid"])
        return
    await engine.set_item(
        call.conn, call.tables, roster, after["sid"], member_data(after), call.base_url
    )
    if mine is not None:
        item = my_channel_data(channel, after)
        await engine.set_item(call.conn, call.tables, mine.sid, channel["sid"], item)


async def on_invite(call: Context, before: Row | None, after: Row | None) -> None:
    """The invitee's my-channels map lists the channel as invited until the invite goes (an
    accepted invite is replaced by the membership's entry instead)."""
    invite = after if after is not None else before
    assert invite is not None  # noqa: S101
    mine = await _my_channels(call, invite["user_sid"])
    if mine is None:
        return
    channel = call.parent("channel")
    await channel_objects(call, channel)  # the invitee opens the channel's document
    if after is None:
        await engine.remove_item(call.conn, call.tables, mine.sid, channel["sid"])
        return
    await engine.set_item(
        call.conn, call.tables, mine.sid, channel["sid"], my_channel_data(channel, None)
    )


async def _member_sid(call: Context, channel_sid: str, identity: str | None) -> str | None:
    if identity is None:
        return None
    m = call.tables["member"]
    query = statements.once(
        ("sync.member_sid", id(m)),
        lambda: select(m.c.sid).where(
            m.c.channel_sid == bindparam("channel"), m.c.identity == bindparam("identity")
        ),
    )
    row = (await call.conn.execute(query, {"channel": channel_sid, "identity": identity})).first()
    return str(row.sid) if row else None


async def on_message(call: Context, before: Row | None, after: Row | None) -> None:
    channel = call.parent("channel")
    if before is None and after is not None:
        await _message_added(call, channel, after)
        return
    objects = await channel_objects(call, channel)
    messages = objects["messages"].sid
    if after is None:
        assert before is not None  # noqa: S101
        await engine.remove_item(call.conn, call.tables, messages, before["index"], call.base_url)
        return
    data = message_data(after, await _member_sid(call, channel["sid"], after["from"]))
    await engine.set_item(call.conn, call.tables, messages, after["index"], data, call.base_url)


async def _message_added(call: Context, channel: Row, message: Row) -> None:
    """The hot path of every create: the item (its author's member SID read by the same
    statement) and the channel document's `lastMessage`, by the SIDs of earlier commits, in one
    statement on PostgreSQL (`engine.write_all`). An object whose SID is not known (a bounded
    cache may forget one of a channel's SIDs and not the others) or that is gone since, is
    looked up (or made) and written on its own."""
    data = message_data(message, None)
    author = _author(call, channel["sid"], message["from"])
    last = {"index": message["index"], "timestamp": data["timestamp"]}
    document = channel_data(channel, last)
    names, service = channel_names(channel["sid"]), channel["service_sid"]

    def write(role: str, sid: str) -> engine.ItemAdded | engine.DocumentSet:
        if role == "messages":
            return engine.ItemAdded(sid, message["index"], data, call.base_url, author)
        return engine.DocumentSet(sid, document)

    known = {role: engine.known_sid(service, names[role]) for role in ("messages", "channel")}
    present = {role: sid for role, sid in known.items() if sid is not None}
    missing = [role for role, sid in known.items() if sid is None]
    if present:
        writes = [write(role, sid) for role, sid in present.items()]
        # Handed over to the end of the batch where it may be: nothing here reads it back.
        ids = await engine.write_all_later(call.conn, call.tables, writes)
        for role, got in zip(present, ids, strict=True) if ids is not None else ():
            if got is None:  # gone since: look again
                engine.forget(service, names[role])
                missing.append(role)

    async def add(sid: str) -> None:
        await engine.put_list_item(
            call.conn, call.tables, sid, message["index"], data, call.base_url, author
        )

    async def touch(sid: str) -> None:
        await engine.set_document(call.conn, call.tables, sid, document)

    for role in missing:
        await _write_to(call, channel, role, add if role == "messages" else touch)


async def _write_to(
    call: Context, channel: Row, role: str, write: Callable[[str], Awaitable[Any]]
) -> None:
    """`write` to the channel's object `role` by its known SID, else (or if it is gone) by the
    SID read now (the object made if the channel predates it), then known after the commit."""
    names, service = channel_names(channel["sid"]), channel["service_sid"]
    sid = engine.known_sid(service, names[role])
    if sid is not None:
        try:
            await write(sid)
            return
        except engine.SyncError:
            engine.forget(service, names[role])
    objects = await channel_objects(call, channel)
    for each, obj in objects.items():
        if not obj.removed:
            engine.remember(call.conn, service, names[each], obj.sid)
    await write(objects[role].sid)


def _author(call: Context, channel_sid: str, identity: str | None) -> fused.Lookup | None:
    """The message author's member SID (null if not a member), for the item's `memberSid`."""
    if identity is None:
        return None
    m = call.tables["member"]
    query = statements.once(
        ("sync.author", id(m)),
        lambda: (
            select(m.c.sid)
            .where(
                m.c.channel_sid == bindparam("m_channel"), m.c.identity == bindparam("m_identity")
            )
            .scalar_subquery()
        ),
    )
    return fused.Lookup("memberSid", query, {"m_channel": channel_sid, "m_identity": identity})


async def on_user(call: Context, before: Row | None, after: Row | None) -> None:
    if after is None:
        if before is not None:
            await _user_removed(call, before)
        return
    if before is None:
        return  # a new user's maps are made when first needed
    changed = {"friendlyName": "friendly_name", "attributes": "attributes"}
    info = None
    for key, column in changed.items():
        if before[column] == after[column]:
            continue
        if info is None:
            service = call.parent("service")
            reachable = bool(service["reachability_enabled"])
            objects = await ensure_user_objects(
                call.conn, call.tables, dict(after), reachability=reachable
            )
            info = objects.info
        value = after[column] if column == "friendly_name" else after[column] or "{}"
        await engine.set_item(call.conn, call.tables, info.sid, key, {"value": value})


async def on_binding(call: Context, before: Row | None, after: Row | None) -> None:
    """A push registration made or removed: the user's `notifiable` may have changed."""
    row = after if after is not None else before
    assert row is not None  # noqa: S101
    await reachability.publish(call.conn, call.tables, row["service_sid"], row["user_sid"])


async def on_service(call: Context, before: Row | None, after: Row | None) -> None:
    """A deleted service's Sync objects: their items (a message list's, one a message) are
    left to the sweeper, as a removed object's are (a removed one's are swept already). No
    REST request reaches them (each names the service); a client SDK still connected to the
    service could read them until swept (before, they were never removed at all). The objects
    themselves are a few rows a channel or user, and stay."""
    if after is not None or before is None:
        return
    t = call.tables.sync_objects
    await sweeper.leave_each(
        call.conn,
        call.tables,
        "sync_items",
        select(t.c.sid).where(t.c.service_sid == before["sid"], t.c.date_removed.is_(None)),
    )


PROJECTIONS = {
    "service": on_service,
    "channel": on_channel,
    "member": on_member,
    "user_channel": on_user_channel,
    "message": on_message,
    "user": on_user,
    "binding": on_binding,
    "invite": on_invite,
}


async def project(call: Context, before: Row | None, after: Row | None) -> None:
    """The write observer: the change's Sync events, in its transaction."""
    handler = PROJECTIONS.get(call.resource.name)
    if handler is not None:
        try:
            await handler(call, before, after)
        except engine.ObjectRemoved as exc:
            # Removed with its channel by another writer's transaction, committed while this
            # one waited for the object's row: run again, the operation finds the channel gone.
            raise RowGone("the channel's Sync object") from exc
