"""The tunnelled Chat ("aim") API the SDK reads: Configuration, channel lists, channels, users.

Paths are chinwag's choice (the Configuration hands them to the SDK as links):
`Client/v1/Services/{IS}/Conversations[/{CH or unique name}]`,
`Client/v1/Services/{IS}/Users/{identity}[/Conversations]`, `…/Typing`.
Writes are in realtime/writes.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import and_, or_, select

from chinwag import times
from chinwag.domain import reachability
from chinwag.domain.permissions import hidden, visible
from chinwag.model.errors import ApiError
from chinwag.model.params import count
from chinwag.ops.paging import planned
from chinwag.realtime.upstream import ROUTER, PathMatch, Reply, Request
from chinwag.store.db import Connection
from chinwag.sync.chat import channel_names, ensure_user_objects, user_info_name

if TYPE_CHECKING:
    from chinwag.realtime.connection import Session

PAGE = 50
SERVICE = r"Client/v1/Services/(IS[0-9a-fA-F]{32})"


def _links(session: Session) -> dict[str, str]:
    assert session.who is not None  # noqa: S101
    root = f"{session.base}/Client/v1/Services/{session.who.grant.service_sid}"
    me = f"{root}/Users/{quote(session.who.identity, safe='')}"
    return {
        "my_conversations": f"{me}/Conversations",
        "conversations": f"{root}/Conversations",
        "users": f"{root}/Users",
        "current_user": me,
        "typing": f"{root}/Typing",
        "media_service": f"{session.base}/mcs/v1/Services/{session.who.grant.service_sid}/Media",
        "messages_receipts": f"{root}/Receipts",
    }


@ROUTER.add("GET", r"Client/v1/Configuration")
async def configuration(session: Session, request: Request, match: PathMatch) -> Reply:
    assert session.who is not None  # noqa: S101
    service = session.who.service
    return Reply(
        200,
        {
            "identity": session.who.identity,
            "links": _links(session),
            "options": {
                "user_infos_to_subscribe": 100,
                "reachability_enabled": bool(service["reachability_enabled"]),
                "http_cache_interval": "PT5S",
                "consumption_report_interval": f"PT{service['consumption_report_interval']}S",
            },
            "sync_objects": {
                "my_user_info": session.who.objects.info.sid,
                "my_conversations": session.who.objects.my_channels.sid,
            },
        },
    )


def _own_service(session: Session, match: PathMatch) -> str:
    """The service in the path, which must be the token's."""
    assert session.who is not None  # noqa: S101
    if match.group(1) != session.who.grant.service_sid:
        raise ApiError(403, 20403, "The token does not grant this service")
    return match.group(1)


def own_channels(session: Session, match: PathMatch) -> tuple[str, str]:
    """The path's service and user, which must be the token's: a user's channel list and read
    horizons are for that user alone."""
    service_sid = _own_service(session, match)
    assert session.who is not None  # noqa: S101
    if match.group(2) != session.who.identity:
        raise ApiError(403, 20403, "Only your own channels")
    return service_sid, session.who.identity


def _page_after(request: Request) -> int:
    token = request.param("PageToken")
    if token is None:
        return 0
    after = count(token[2:]) if token.startswith("PA") else None
    if after is None:
        raise ApiError(400, 20001, "Invalid PageToken")
    return after


def _meta(rows: Sequence[Any], size: int, key: str) -> dict[str, Any]:
    more = len(rows) > size
    return {
        "previous_token": None,
        "next_token": f"PA{rows[size - 1]._mapping[key]}" if more else None,
        "page_size": size,
    }


def channel_json(session: Session, row: Any) -> dict[str, Any]:
    """A channel descriptor as the SDK reads it (ChannelDescriptor fields, links, sync objects)."""
    m = row._mapping if hasattr(row, "_mapping") else row
    url = f"{_links(session)['conversations']}/{m['sid']}"
    names = channel_names(m["sid"])
    return {
        "sid": m["sid"],
        "conversation_sid": m["sid"],
        "unique_name": m["unique_name"],
        "friendly_name": m["friendly_name"],
        "attributes": m["attributes"] or "{}",
        "type": m["type"],
        "created_by": m["created_by"],
        "date_created": times.render(m["date_created"]),
        "date_updated": times.render(m["date_updated"]),
        "messages_count": m["messages_count"] or 0,
        "participants_count": m["members_count"] or 0,
        "url": url,
        "links": {
            "participants": f"{url}/Participants",
            "messages": f"{url}/Messages",
            "invites": f"{url}/Invites",
        },
        "sync_objects": {"conversation": names["channel"], "messages": names["messages"]},
    }


@ROUTER.add("GET", SERVICE + r"/Users/([^/]+)/Conversations")
async def my_channels(session: Session, request: Request, match: PathMatch) -> Reply:
    """The user's channels: joined ones (paged by membership, `PA<pk>`), then the ones it is
    invited to (by invite, `PI<pk>`)."""
    service_sid, identity = own_channels(session, match)
    token = request.param("PageToken") or ""
    invites_from = _invites_after(token)
    items: list[dict[str, Any]] = []
    next_token = None
    async with session.db.read() as conn:
        user_sid = await _user_sid(session, conn, service_sid, identity)
        if invites_from is None:
            rows = await _joined(session, conn, user_sid, _page_after(request))
            for row in rows[:PAGE]:
                body = channel_json(session, row)
                body["status"] = "joined"
                body["last_consumed_message_index"] = row.last_consumed_message_index
                body["notification_level"] = row.notification_level or "default"
                items.append(body)
            next_token = _meta(rows, PAGE, "member_pk")["next_token"]
            invites_from = 0
        if next_token is None:  # the memberships are all listed: invites fill the page
            room = PAGE - len(items)
            rows = await _invited(session, conn, user_sid, invites_from, room)
            for row in rows[:room]:
                body = channel_json(session, row)
                body.update(status="invited", last_consumed_message_index=None)
                body["notification_level"] = "default"
                items.append(body)
            if len(rows) > room:
                next_token = f"PI{rows[room - 1].invite_pk}" if room else f"PI{invites_from}"
    meta = {"previous_token": None, "next_token": next_token, "page_size": PAGE}
    return Reply(200, {"conversations": items, "meta": meta})


def _invites_after(token: str) -> int | None:
    if not token.startswith("PI"):
        return None
    after = count(token[2:])
    if after is None:
        raise ApiError(400, 20001, "Invalid PageToken")
    return after


async def _user_sid(
    session: Session, conn: Connection, service_sid: str, identity: str
) -> str | None:
    """The user's SID, for its memberships' and invites' own index `(user_sid, pk)`: by
    service and identity, neither of which they have an index for, a page read every
    membership of every account from the page's position."""
    u = session.tables["user"]
    which = and_(u.c.service_sid == service_sid, u.c.identity == identity)
    row = (await conn.execute(select(u.c.sid).where(which))).first()
    return None if row is None else str(row.sid)


# The pages below are planned for their user on PostgreSQL (`paging.planned`): planned for any
# user, it took one as holding its share of every membership (beside a user of 1,000,000 it
# expects 500,000 a user) and read the primary key in order for the few of a user who has
# some (161 ms a page there).


async def _joined(
    session: Session, conn: Connection, user_sid: str | None, after: int
) -> Sequence[Any]:
    if user_sid is None:
        return []
    c, m = session.tables["channel"], session.tables["member"]
    query = (
        select(
            c,
            m.c.pk.label("member_pk"),
            m.c.last_consumed_message_index,
            m.c.notification_level,
        )
        .join(m, m.c.channel_sid == c.c.sid)
        .where(and_(m.c.user_sid == user_sid, m.c.pk > after))
        .order_by(m.c.pk)
        .limit(PAGE + 1)
    )
    return (await conn.execute(planned(conn, query))).all()


async def _invited(
    session: Session, conn: Connection, user_sid: str | None, after: int, room: int
) -> Sequence[Any]:
    if user_sid is None:
        return []
    c, i = session.tables["channel"], session.tables["invite"]
    query = (
        select(c, i.c.pk.label("invite_pk"))
        .join(i, i.c.channel_sid == c.c.sid)
        .where(and_(i.c.user_sid == user_sid, i.c.pk > after))
        .order_by(i.c.pk)
        .limit(room + 1)
    )
    return (await conn.execute(planned(conn, query))).all()


@ROUTER.add("GET", SERVICE + r"/Conversations")
async def public_channels(session: Session, request: Request, match: PathMatch) -> Reply:
    service_sid = _own_service(session, match)
    c = session.tables["channel"]
    query = (
        select(c)
        .where(
            and_(
                c.c.service_sid == service_sid, c.c.type == "public", c.c.pk > _page_after(request)
            )
        )
        .order_by(c.c.pk)
        .limit(PAGE + 1)
    )
    async with session.db.read() as conn:
        rows = (await conn.execute(query)).all()
    items = [channel_json(session, row) for row in rows[:PAGE]]
    return Reply(200, {"conversations": items, "meta": _meta(rows, PAGE, "pk")})


@ROUTER.add("GET", SERVICE + r"/Conversations/([^/]+)")
async def one_channel(session: Session, request: Request, match: PathMatch) -> Reply:
    """A channel by SID or unique name: public ones, and private ones the user is in or
    invited to (domain/permissions.py)."""
    service_sid = _own_service(session, match)
    assert session.who is not None  # noqa: S101
    c = session.tables["channel"]
    ident = match.group(2)
    which = or_(c.c.sid == ident, c.c.unique_name == ident)
    async with session.db.read() as conn:
        row = (
            await conn.execute(select(c).where(and_(c.c.service_sid == service_sid, which)))
        ).first()
        seen = row is not None and (
            row.type == "public"
            or await visible(conn, session.tables, service_sid, session.who.identity, row.sid)
        )
    if row is None or not seen:
        raise hidden()
    return Reply(200, channel_json(session, row))


def user_json(service: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """A user descriptor as the SDK reads it, with the user-info map it then opens; reachability
    as REST reports it (domain/reachability.py)."""
    return {
        "identity": user["identity"],
        "friendly_name": user["friendly_name"],
        "attributes": user["attributes"] or "{}",
        "is_online": reachability.is_online(service, user),
        "is_notifiable": reachability.is_notifiable(service, user),
        "sync_objects": {"user_info_map": user_info_name(user["sid"])},
        "sync_unique_name": user_info_name(user["sid"]),
    }


@ROUTER.add("GET", SERVICE + r"/Users/([^/]+)")
async def one_user(session: Session, request: Request, match: PathMatch) -> Reply:
    """A user descriptor, with the user-info map the SDK then opens."""
    service_sid = _own_service(session, match)
    assert session.who is not None  # noqa: S101
    u = session.tables["user"]
    where = and_(u.c.service_sid == service_sid, u.c.identity == match.group(2))
    async with session.db.read() as conn:
        row = (await conn.execute(select(u).where(where))).first()
    if row is None:
        raise ApiError(404, 20404, f"User {match.group(2)} not found")
    user = dict(row._mapping)
    reachable = bool(session.who.service["reachability_enabled"])
    async with session.db.write() as conn:  # a user who never connected has no map yet
        await ensure_user_objects(conn, session.tables, user, reachability=reachable)
    return Reply(200, user_json(session.who.service, user))


@ROUTER.add("GET", SERVICE + r"/Users")
async def channel_users(session: Session, request: Request, match: PathMatch) -> Reply:
    """`channel.getUserDescriptors()`: the users of a channel's members, paged in the order
    they joined (`?ConversationSid=CH…`, a channel the user may see)."""
    service_sid = _own_service(session, match)
    assert session.who is not None  # noqa: S101
    channel_sid = request.param("ConversationSid") or request.param("ChannelSid")
    if not channel_sid:
        raise ApiError(400, 20001, "ConversationSid is required")
    c, m, u = session.tables["channel"], session.tables["member"], session.tables["user"]
    which = and_(c.c.service_sid == service_sid, c.c.sid == channel_sid)
    query = (
        select(u, m.c.pk.label("member_pk"))
        .join(m, m.c.user_sid == u.c.sid)
        .where(m.c.channel_sid == channel_sid, m.c.pk > _page_after(request))
        .order_by(m.c.pk)
        .limit(PAGE + 1)
    )
    async with session.db.read() as conn:
        channel = (await conn.execute(select(c.c.type).where(which))).first()
        mine = and_(m.c.channel_sid == channel_sid, m.c.identity == session.who.identity)
        member = (await conn.execute(select(m.c.pk).where(mine))).first()
        rows = (await conn.execute(query)).all() if channel is not None else []
    if channel is None or (channel.type != "public" and member is None):
        raise ApiError(404, 50300, "Channel not found")
    users = [user_json(session.who.service, dict(row._mapping)) for row in rows[:PAGE]]
    meta = _meta(rows, PAGE, "member_pk")
    meta["prev_token"] = meta["previous_token"]  # the SDK's paginator reads this name
    return Reply(200, {"users": users, "meta": meta})
