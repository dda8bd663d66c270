"""The tunnelled Sync ("cds") API: objects, item pages, and subscriptions with replay."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import orjson

from chinwag.domain.permissions import visible
from chinwag.model.errors import ApiError
from chinwag.model.params import count
from chinwag.realtime.upstream import ROUTER, PathMatch, Reply, Request
from chinwag.sync import catchup
from chinwag.sync.chat import channel_of
from chinwag.sync.engine import SyncObject
from chinwag.sync.live import notification_body
from chinwag.sync.queries import (
    DEFAULT_PAGE,
    MAX_PAGE,
    find,
    items_page,
    render_item,
    render_object,
)

if TYPE_CHECKING:
    from chinwag.realtime.connection import Session

KINDS = {"Documents": "document", "Lists": "list", "Maps": "map"}
MAX_REQUESTS = 100  # objects per subscription request


def not_found(what: str = "Sync object") -> ApiError:
    return ApiError(404, 54100, f"The requested {what} was not found")


async def readable(session: Session, ident: str, kind: str | None = None) -> SyncObject:
    """The object, if it exists in the session's service and its user may read it: not
    another user's own object, nor an object of a private channel the user is not in."""
    assert session.who is not None  # noqa: S101
    service_sid = session.who.grant.service_sid
    async with session.db.read() as conn:
        obj = await find(conn, session.tables, service_sid, ident)
        if obj is None or (kind and obj.kind != kind):
            raise not_found()
        if obj.owner_sid is not None and obj.owner_sid != session.who.user["sid"]:
            raise not_found()  # another user's own object: as if it did not exist
        channel_sid = channel_of(obj.unique_name)
        if channel_sid is not None and not await visible(
            conn, session.tables, service_sid, session.who.identity, channel_sid
        ):
            raise not_found()
    return obj


@ROUTER.add("GET", r"v3/(Documents|Lists|Maps)/([^/]+)")
async def fetch_object(session: Session, request: Request, match: PathMatch) -> Reply:
    obj = await readable(session, match.group(2), KINDS[match.group(1)])
    body = render_object(session.base, obj)
    if obj.kind == "map" and request.param("Include") == "items":
        page = await _page(session, obj, request)
        body["items"] = page["items"]
    return Reply(200, body)


@ROUTER.add("GET", r"v3/(Lists|Maps)/([^/]+)/Items")
async def list_items(session: Session, request: Request, match: PathMatch) -> Reply:
    obj = await readable(session, match.group(2), KINDS[match.group(1)])
    return Reply(200, await _page(session, obj, request))


def _token(descending: bool, at: Any, size: int) -> str:
    """A page token carries the page size: SDK 5.x follows a token without PageSize."""
    raw = orjson.dumps([descending, at, size])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _untoken(token: str) -> tuple[bool, Any, int | None]:
    try:
        fields = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        descending, at, *rest = fields
    except (ValueError, TypeError) as exc:
        raise ApiError(400, 20001, "Invalid PageToken") from exc
    size = rest[0] if rest else None  # a token made before tokens carried their size
    if (
        not isinstance(descending, bool)
        or not isinstance(at, int | str)
        or len(rest) > 1
        or not (size is None or (type(size) is int and 1 <= size <= MAX_PAGE))
    ):
        raise ApiError(400, 20001, "Invalid PageToken")
    return descending, at, size


def _start(obj: SyncObject, value: str) -> int | str:
    if obj.kind != "list":
        return value
    index = count(value)
    if index is None:
        raise ApiError(400, 20001, "Invalid Index or From: not an index")
    return index


def _position(obj: SyncObject, at: Any) -> int | str:
    """A page token's position, of the object's kind: a list's index, a map's key."""
    if obj.kind == "list" and type(at) is int and 0 <= at < 2**63:
        return at
    if obj.kind != "list" and isinstance(at, str):
        return at
    raise ApiError(400, 20001, "Invalid PageToken")


async def _page(session: Session, obj: SyncObject, request: Request) -> dict[str, Any]:
    """One page of items: Index/Key (one item), From, PageSize, Order or PageToken."""
    size_text = request.param("PageSize")
    size = DEFAULT_PAGE if size_text is None else count(size_text)
    if size is None or not 1 <= size <= MAX_PAGE:
        raise ApiError(400, 20001, f"Invalid PageSize: 1 to {MAX_PAGE}")
    order = (request.param("Order") or "asc").lower()
    if order not in ("asc", "desc"):
        raise ApiError(400, 20001, "Invalid Order: asc or desc")
    descending, inclusive = order == "desc", True
    single = request.param("Index" if obj.kind == "list" else "Key")
    start: int | str | None = None
    if request.param("PageToken"):
        descending, at, token_size = _untoken(request.param("PageToken") or "")
        start = _position(obj, at)
        size = token_size if size_text is None and token_size is not None else size
        inclusive = False
    elif single is not None:
        start, size, descending = _start(obj, single), 1, False
    elif request.param("From") is not None:
        start = _start(obj, request.param("From") or "")
    async with session.db.read() as conn:
        page = await items_page(
            conn,
            session.tables,
            obj,
            start=start,
            inclusive=inclusive,
            descending=descending,
            size=size,
        )
    items = page.items
    if single is not None:
        items = [
            i for i in items if str(i["item_index" if obj.kind == "list" else "item_key"]) == single
        ]
    slot = "item_index" if obj.kind == "list" else "item_key"
    after = items[-1][slot] if items and page.has_after and single is None else None
    before = items[0][slot] if items and page.has_before and single is None else None
    return {
        "items": [render_item(session.base, obj, i) for i in items],
        "meta": {
            "previous_token": _token(not descending, before, size) if before is not None else None,
            "next_token": _token(descending, after, size) if after is not None else None,
        },
    }


@ROUTER.add("POST", r"v4/Subscriptions")
async def subscriptions(session: Session, request: Request, match: PathMatch) -> Reply:
    body = request.body if isinstance(request.body, dict) else {}
    action, wanted = body.get("action"), body.get("requests")
    if action not in ("establish", "cancel") or not isinstance(wanted, list):
        raise ApiError(400, 20001, "Invalid subscription request")
    if len(wanted) > MAX_REQUESTS:
        raise ApiError(400, 20001, f"At most {MAX_REQUESTS} objects per request")
    correlation = body.get("correlation_id")
    asks: dict[str, int] = {}  # an object asked for twice is replayed once, from the last ask
    for item in wanted:
        if not isinstance(item, dict) or not isinstance(item.get("object_sid"), str):
            raise ApiError(400, 20001, "Invalid subscription request")
        last = item.get("last_event_id")
        asks[item["object_sid"]] = last if type(last) is int else 0
    # Runs after this reply is queued: the replay and confirmations follow it, in order.
    work = _establish if action == "establish" else _cancel
    session.spawn(work(session, list(asks.items()), correlation))
    return Reply(202, {"estimated_delivery_in_ms": 5000, "max_batch_size": 100, "ttl_in_s": -1})


async def _establish(session: Session, asks: list[tuple[str, int]], correlation: Any) -> None:
    refused: list[tuple[str, ApiError]] = []
    for sid, last in asks:
        try:
            obj = await readable(session, sid)
        except ApiError as error:
            refused.append((sid, error))
            continue
        channel_sid = channel_of(obj.unique_name)
        if channel_sid is not None:  # ended if the user stops seeing the channel
            await session.follows().follow(channel_sid, obj.sid)
        # No event past the object's last has happened: a client that says it saw one (a
        # number past any BIGINT, or from a database since restored) goes on from the last.
        last = await _catch_up(session, obj, max(0, min(last, obj.last_event_id)))
        await session.hub.subscribe(session, obj.sid, last)
        position = session.hub.position(session, obj.sid)  # after the replay
        event = {"object_sid": sid, "replay_status": "completed", "last_event_id": position}
        # One notification per object with a singular `event`: twilio-sync 1.x reads only that.
        session.notify(
            "twilio.sync.event", _confirm("subscription_established", correlation, event)
        )
    if refused:
        await _refuse(session, refused, correlation)


async def _refuse(session: Session, refused: list[tuple[str, ApiError]], correlation: Any) -> None:
    """Refusals go last, after the user's channel list has caught up: a 404 makes twilio-sync
    drop the object as removed, and a private channel's document dropped before the list's
    `item_removed` arrives makes the SDK emit `channelRemoved` without `channelLeft` (a client
    that asks again just after being removed, or re-subscribes everything on reconnect)."""
    assert session.who is not None  # noqa: S101
    await session.hub.catch_up(session.who.objects.my_channels.sid)
    for sid, error in refused:
        event: dict[str, Any] = {"object_sid": sid, "error": error.body()}
        session.notify("twilio.sync.event", _confirm("subscription_failed", correlation, event))


async def _catch_up(session: Session, obj: SyncObject, last: int) -> int:
    """A subscriber whose `last` the log no longer reaches gets the object's state in short
    (sync/catchup.py); the event id live delivery goes on from."""
    async with session.db.read() as conn:
        if not await catchup.too_old(conn, session.tables, obj, last):
            return last
        events, position = await catchup.snapshot(conn, session.tables, obj, last, session.base)
    for ev in events:
        session.deliver(
            obj.sid, ev.event_id, notification_body(ev.event_type, ev.event_id, ev.payload)
        )
    return position


async def _cancel(session: Session, asks: list[tuple[str, int]], correlation: Any) -> None:
    for sid, _ in asks:
        session.hub.unsubscribe(session, sid)
        session.follows().unfollow(sid)
        event = {"object_sid": sid}
        session.notify("twilio.sync.event", _confirm("subscription_canceled", correlation, event))


def _confirm(event_type: str, correlation: Any, event: dict[str, Any]) -> dict[str, Any]:
    return {"event_type": event_type, "correlation_id": correlation, "event": event}
