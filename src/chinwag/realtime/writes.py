"""The SDK's writes, each the same operation as its REST twin, performed as the acting identity.

Create/update/delete a channel, join/leave/add/remove a member, send/update/remove a message,
consumption horizons and user updates go through `ops.actions.perform` (so pre-events, limits,
post-events and the Sync projection all apply), with `identity` set: webhooks say Source=SDK.
Typing is not a change: it is fanned out to the channel's connected members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select

from chinwag.domain.consumption import unread
from chinwag.model.errors import ApiError
from chinwag.model.params import Form
from chinwag.ops.actions import Operation, Outcome, perform
from chinwag.realtime.aim import SERVICE, _own_service, channel_json, own_channels
from chinwag.realtime.upstream import ROUTER, PathMatch, Reply, Request
from chinwag.resources import REGISTRY
from chinwag.sids import is_sid
from chinwag.sync.chat import channel_names
from chinwag.sync.queries import find

if TYPE_CHECKING:
    from chinwag.realtime.connection import Session

RESOURCES = {res.name: res for res in REGISTRY}
CHANNEL = SERVICE + r"/Conversations/([^/]+)"

# The SDK's JSON names -> the REST parameters of the same operation.
CHANNEL_PARAMS = {
    "friendly_name": "FriendlyName",
    "unique_name": "UniqueName",
    "attributes": "Attributes",
    "type": "Type",
}
MESSAGE_PARAMS = {"body": "Body", "attributes": "Attributes", "media_sid": "MediaSid"}
MEMBER_PARAMS = {"attributes": "Attributes"}
USER_PARAMS = {"friendly_name": "FriendlyName", "attributes": "Attributes"}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        import orjson

        return orjson.dumps(value).decode()
    return "" if value is None else str(value)


def form_of(body: Any, names: dict[str, str], **fixed: str) -> Form:
    """REST parameters from the SDK's JSON (or form) body, plus the identity's own."""
    data = body if isinstance(body, dict) else {}
    pairs = [(param, _text(data[key])) for key, param in names.items() if key in data]
    pairs += list(fixed.items())
    return Form(pairs)


async def act(
    session: Session,
    resource: str,
    action: Any,
    path: str,
    params: dict[str, str],
    form: Form | None = None,
) -> Outcome:
    """Perform one operation of `resource` as the session's identity (v2, as the SDK's API)."""
    assert session.who is not None  # noqa: S101
    op = Operation(
        RESOURCES[resource],
        action,
        "v2",
        session.who.account,
        path,
        {"ServiceSid": session.who.grant.service_sid, **params},
        form or Form(),
        base_url=session.base,
        identity=session.who.identity,
    )
    return await perform(session.runtime, op)


def _rest(session: Session, *parts: str) -> str:
    assert session.who is not None  # noqa: S101
    return "/".join(["/v2/Services", session.who.grant.service_sid, *parts])


def _in_channel(session: Session, match: PathMatch, collection: str) -> tuple[str, dict[str, str]]:
    """The REST path and path parameters of the channel's `collection` (group 2 the channel),
    or of one of its instances when the pattern names one (group 3), once the path's service
    (group 1) is found to be the token's."""
    _own_service(session, match)
    channel, sid = match.group(2), (match.group(3) if match.re.groups >= 3 else None)
    if sid is None:
        return _rest(session, "Channels", channel, collection), {"ChannelSid": channel}
    return _rest(session, "Channels", channel, collection, sid), {"ChannelSid": channel, "Sid": sid}


@ROUTER.add("POST", SERVICE + r"/Conversations")
async def create_channel(session: Session, request: Request, match: PathMatch) -> Reply:
    _own_service(session, match)
    assert session.who is not None  # noqa: S101
    form = form_of(request.body, CHANNEL_PARAMS, CreatedBy=session.who.identity)
    outcome = await act(session, "channel", "create", _rest(session, "Channels"), {}, form)
    assert outcome.row is not None  # noqa: S101
    return Reply(201, channel_json(session, outcome.row))


@ROUTER.add("POST", CHANNEL)
async def update_channel(session: Session, request: Request, match: PathMatch) -> Reply:
    _own_service(session, match)
    path = _rest(session, "Channels", match.group(2))
    form = form_of(request.body, CHANNEL_PARAMS)
    outcome = await act(session, "channel", "update", path, {"Sid": match.group(2)}, form)
    assert outcome.row is not None  # noqa: S101
    return Reply(200, channel_json(session, outcome.row))


@ROUTER.add("DELETE", CHANNEL)
async def delete_channel(session: Session, request: Request, match: PathMatch) -> Reply:
    _own_service(session, match)
    path = _rest(session, "Channels", match.group(2))
    await act(session, "channel", "delete", path, {"Sid": match.group(2)})
    return Reply(204)


@ROUTER.add("POST", CHANNEL + r"/Participants")
async def add_member(session: Session, request: Request, match: PathMatch) -> Reply:
    """`channel.join()` (its own identity) and `channel.add(identity)`."""
    assert session.who is not None  # noqa: S101
    body = request.body if isinstance(request.body, dict) else {}
    identity = _text(body.get("identity")) or session.who.identity
    path, params = _in_channel(session, match, "Members")
    form = Form([("Identity", identity)])
    outcome = await act(session, "member", "create", path, params, form)
    assert outcome.row is not None  # noqa: S101
    return Reply(201, {"sid": outcome.row["sid"], "identity": outcome.row["identity"]})


@ROUTER.add("POST", CHANNEL + r"/Participants/([^/]+)")
async def update_member(session: Session, request: Request, match: PathMatch) -> Reply:
    path, params = _in_channel(session, match, "Members")
    form = form_of(request.body, MEMBER_PARAMS)
    outcome = await act(session, "member", "update", path, params, form)
    assert outcome.row is not None  # noqa: S101
    return Reply(200, {"sid": outcome.row["sid"], "identity": outcome.row["identity"]})


@ROUTER.add("DELETE", CHANNEL + r"/Participants/([^/]+)")
async def remove_member(session: Session, request: Request, match: PathMatch) -> Reply:
    """`channel.leave()` and `channel.removeMember(identity)`."""
    path, params = _in_channel(session, match, "Members")
    await act(session, "member", "delete", path, params)
    return Reply(204)


@ROUTER.add("POST", CHANNEL + r"/Invites")
async def invite(session: Session, request: Request, match: PathMatch) -> Reply:
    """`channel.invite(identity)`: the Invite resource's create, as the inviting user."""
    body = request.body if isinstance(request.body, dict) else {}
    path, params = _in_channel(session, match, "Invites")
    form = Form([("Identity", _text(body.get("identity")))])
    outcome = await act(session, "invite", "create", path, params, form)
    assert outcome.row is not None  # noqa: S101
    return Reply(201, {"sid": outcome.row["sid"], "identity": outcome.row["identity"]})


@ROUTER.add("DELETE", CHANNEL + r"/Invites/([^/]+)")
async def decline(session: Session, request: Request, match: PathMatch) -> Reply:
    """`channel.decline()`: the invitee deletes its own invite (named by its identity)."""
    path, params = _in_channel(session, match, "Invites")
    await act(session, "invite", "delete", path, params)
    return Reply(204)


@ROUTER.add("POST", CHANNEL + r"/Messages")
async def send_message(session: Session, request: Request, match: PathMatch) -> Reply:
    assert session.who is not None  # noqa: S101
    path, params = _in_channel(session, match, "Messages")
    form = form_of(request.body, MESSAGE_PARAMS, From=session.who.identity)
    outcome = await act(session, "message", "create", path, params, form)
    assert outcome.row is not None  # noqa: S101
    return Reply(201, {"sid": outcome.row["sid"], "index": outcome.row["index"]})


@ROUTER.add("POST", CHANNEL + r"/Messages/([^/]+)")
async def update_message(session: Session, request: Request, match: PathMatch) -> Reply:
    assert session.who is not None  # noqa: S101
    path, params = _in_channel(session, match, "Messages")
    form = form_of(request.body, MESSAGE_PARAMS, LastUpdatedBy=session.who.identity)
    outcome = await act(session, "message", "update", path, params, form)
    assert outcome.row is not None  # noqa: S101
    return Reply(200, {"sid": outcome.row["sid"], "index": outcome.row["index"]})


@ROUTER.add("DELETE", CHANNEL + r"/Messages/([^/]+)")
async def remove_message(session: Session, request: Request, match: PathMatch) -> Reply:
    path, params = _in_channel(session, match, "Messages")
    await act(session, "message", "delete", path, params)
    return Reply(204)


@ROUTER.add("POST", SERVICE + r"/Users/([^/]+)/Conversations/([^/]+)")
async def consumption(session: Session, request: Request, match: PathMatch) -> Reply:
    """The read horizon (`last_consumed_message_index`, null for none) or notification level,
    as the member's update; answers the unread count the REST User Channel reports."""
    _, identity = own_channels(session, match)
    body = request.body if isinstance(request.body, dict) else {}
    pairs = []
    if "last_consumed_message_index" in body:
        pairs.append(("LastConsumedMessageIndex", _text(body["last_consumed_message_index"])))
    channel = match.group(3)
    if "notification_level" in body:  # `setUserNotificationLevel`: the User Channel's update
        pairs.append(("NotificationLevel", _text(body["notification_level"])))
        path = _rest(session, "Users", identity, "Channels", channel)
        params = {"UserSid": identity, "ChannelSid": channel}
        outcome = await act(session, "user_channel", "update", path, params, Form(pairs))
        assert outcome.row is not None  # noqa: S101
        left = unread(outcome.row["last_consumed_message_index"], outcome.row["message_counter"])
        return Reply(200, {"channel_sid": channel, "unread_messages_count": left})
    path = _rest(session, "Channels", channel, "Members", identity)
    params = {"ChannelSid": channel, "Sid": identity}
    outcome = await act(session, "member", "update", path, params, Form(pairs))
    assert outcome.row is not None  # noqa: S101
    counter = outcome.context.parent("channel")["message_counter"] or 0
    left = unread(outcome.row["last_consumed_message_index"], counter)
    return Reply(200, {"channel_sid": channel, "unread_messages_count": left})


@ROUTER.add("POST", SERVICE + r"/Users/([^/]+)")
async def update_user(session: Session, request: Request, match: PathMatch) -> Reply:
    """`user.updateFriendlyName/updateAttributes` (editOwnUserInfo, or editAnyUserInfo)."""
    _own_service(session, match)
    path = _rest(session, "Users", match.group(2))
    form = form_of(request.body, USER_PARAMS)
    outcome = await act(session, "user", "update", path, {"Sid": match.group(2)}, form)
    assert outcome.row is not None  # noqa: S101
    return Reply(200, {"identity": outcome.row["identity"]})


@ROUTER.add("POST", SERVICE + r"/Typing")
async def typing(session: Session, request: Request, match: PathMatch) -> Reply:
    """`channel.typing()`: the channel's other connected members hear it for the service's
    typing_indicator_timeout seconds."""
    service_sid = _own_service(session, match)
    assert session.who is not None  # noqa: S101
    body = request.body if isinstance(request.body, dict) else {}
    channel_sid = _text(body.get("ChannelSid") or body.get("channel_sid"))
    if not is_sid(channel_sid, "CH"):  # the SDK sends the channel's SID, never its name
        raise ApiError(404, 50300, "Channel not found")
    m = session.tables["member"]
    mine = and_(
        m.c.service_sid == service_sid,
        m.c.channel_sid == channel_sid,
        m.c.identity == session.who.identity,
    )
    async with session.db.read() as conn:
        member = (await conn.execute(select(m.c.pk).where(mine))).first()
        roster = await find(conn, session.tables, service_sid, channel_names(channel_sid)["roster"])
    if member is None or roster is None:
        raise ApiError(404, 50300, "Channel not found")
    timeout = int(session.who.service["typing_indicator_timeout"] or 5)
    payload = {
        "channel_sid": channel_sid,
        "identity": session.who.identity,
        "typing_timeout": timeout,
    }
    await session.hub.typing(roster.sid, payload)
    return Reply(200, {"typing_timeout": timeout})


@ROUTER.add("GET", SERVICE + r"/Users/([^/]+)/Conversations/([^/]+)")
async def my_channel(session: Session, request: Request, match: PathMatch) -> Reply:
    """`getUnconsumedMessagesCount`: the read horizon and unread count of one's channel."""
    service_sid, identity = own_channels(session, match)
    c, m = session.tables["channel"], session.tables["member"]
    which = and_(
        c.c.service_sid == service_sid,
        (c.c.sid == match.group(3)) | (c.c.unique_name == match.group(3)),
    )
    query = (
        select(
            c.c.sid, c.c.message_counter, m.c.last_consumed_message_index, m.c.notification_level
        )
        .join(m, and_(m.c.channel_sid == c.c.sid, m.c.identity == identity))
        .where(which)
    )
    async with session.db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        raise ApiError(404, 50300, "Channel not found")
    return Reply(
        200,
        {
            "channel_sid": row.sid,
            "conversation_sid": row.sid,
            "last_consumed_message_index": row.last_consumed_message_index,
            "unread_messages_count": unread(
                row.last_consumed_message_index, row.message_counter or 0
            ),
            "notification_level": row.notification_level or "default",
        },
    )
