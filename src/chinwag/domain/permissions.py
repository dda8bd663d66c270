"""What a client (an SDK user) may do: its service role's and channel role's permissions.

A user's permissions in a channel are those of its service role (a `deployment` role on the
User) together with those of its channel role (a `channel` role on its Member, when it is
one). A private channel is visible only to its members, invitees and creator: to anyone else
it does not exist. REST with account credentials is never judged here (the backend acts as admin).
Both roles are read at the moment of the action, so a role changed through REST (its
permissions, a member's or a user's `role_sid`) counts from the next action on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, select

from chinwag.model.errors import ApiError
from chinwag.store import statements
from chinwag.store.db import Connection
from chinwag.store.tables import Tables


def denied() -> ApiError:
    """Twilio's answer to a client whose roles lack the permission (its SDKs show 50107)."""
    return ApiError(403, 50107, "User not authorized for command")


def hidden() -> ApiError:
    """A private channel to a non-member: as if it did not exist."""
    return ApiError(404, 50300, "Channel not found")


@dataclass(frozen=True)
class Standing:
    """A user's place in a channel (or in the service alone, when no channel is concerned)."""

    service_permissions: frozenset[str] = frozenset()
    channel_permissions: frozenset[str] = frozenset()
    member: bool = False
    invited: bool = False
    creator: bool = False  # the channel's `created_by`: it may see and join what it made

    def holds(self, permission: str) -> bool:
        """`permission`, or its "Any" form for an "Own" one (editing anyone's message covers
        one's own: channel admin has only the Any forms)."""
        names = {permission, permission.replace("Own", "Any", 1)}
        return any(n in self.service_permissions or n in self.channel_permissions for n in names)

    def sees(self, channel_type: str | None) -> bool:
        return channel_type != "private" or self.member or self.invited or self.creator


def judge(
    needed: tuple[str, ...] | None, standing: Standing, channel_type: str | None = None
) -> ApiError | None:
    """The error for an action needing every permission of `needed` (None: no client may),
    by a user of `standing` in a channel of `channel_type` (None: no channel); None if allowed."""
    if not standing.sees(channel_type):
        return hidden()
    if needed is None or not all(standing.holds(p) for p in needed):
        return denied()
    return None


def _permissions(text: Any) -> frozenset[str]:
    if not text:
        return frozenset()
    value = orjson.loads(text)
    return frozenset(str(p) for p in value) if isinstance(value, list) else frozenset()


def _standing_query(tables: Tables) -> Any:
    users, roles = tables["user"], tables["role"]
    members, invites = tables["member"], tables["invite"]
    user_role, member_role = roles.alias("user_role"), roles.alias("member_role")
    return (
        select(
            user_role.c.permissions.label("service_permissions"),
            members.c.sid.label("member_sid"),
            member_role.c.permissions.label("channel_permissions"),
            invites.c.sid.label("invite_sid"),
        )
        .select_from(users)
        .outerjoin(user_role, user_role.c.sid == users.c.role_sid)
        .outerjoin(
            members,
            and_(members.c.channel_sid == bindparam("channel"), members.c.user_sid == users.c.sid),
        )
        .outerjoin(member_role, member_role.c.sid == members.c.role_sid)
        .outerjoin(
            invites,
            and_(invites.c.channel_sid == bindparam("channel"), invites.c.user_sid == users.c.sid),
        )
        .where(
            users.c.service_sid == bindparam("service"), users.c.identity == bindparam("identity")
        )
        .limit(1)
    )


async def visible(
    conn: Connection, tables: Tables, service_sid: str, identity: str, channel_sid: str
) -> bool:
    """Whether the user may see the channel: public, or private with the user a member, invitee
    or its creator (a channel already gone hides nothing: its removal is replayed to those who
    followed it)."""
    channels = tables["channel"]
    query = statements.once(
        ("permissions.channel", id(tables)),
        lambda: select(channels.c.sid, channels.c.type, channels.c.created_by).where(
            channels.c.service_sid == bindparam("service"), channels.c.sid == bindparam("channel")
        ),
    )
    params = {"service": service_sid, "channel": channel_sid}
    channel = (await conn.execute(query, params)).mappings().first()
    if channel is None or channel["type"] != "private":
        return True
    mine = await standing(conn, tables, service_sid, identity, channel)
    return mine.sees(channel["type"])


async def standing(
    conn: Connection,
    tables: Tables,
    service_sid: str,
    identity: str,
    channel: Mapping[str, Any] | None,
) -> Standing:
    """The user's roles' permissions and membership or invite in `channel` (a channel row, or
    None for the service alone), in one query."""
    query = statements.once(("permissions.standing", id(tables)), lambda: _standing_query(tables))
    channel_sid = channel["sid"] if channel is not None else ""
    params = {"service": service_sid, "identity": identity, "channel": channel_sid}
    row = (await conn.execute(query, params)).first()
    creator = channel is not None and channel["created_by"] == identity
    if row is None:
        return Standing(creator=creator)
    return Standing(
        _permissions(row.service_permissions),
        _permissions(row.channel_permissions),
        member=row.member_sid is not None,
        invited=row.invite_sid is not None,
        creator=creator,
    )
