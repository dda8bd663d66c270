"""Roles (RL): named permission sets, of type deployment (for users) or channel (for members)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from chinwag.context import Context, Row
from chinwag.domain.roles import SERVICE_ROLE_POINTERS, unknown_permissions
from chinwag.model.errors import ApiError, MissingParameter
from chinwag.model.resource import VERSIONS, BackendOnly, Field, Resource
from chinwag.resources.services import SERVICE
from chinwag.store.errors import RowGone


def _dedupe(permissions: list[str]) -> list[str]:
    return list(dict.fromkeys(permissions))


def _check(role_type: str, permissions: list[str]) -> list[str]:
    if not permissions or permissions == [""]:
        raise MissingParameter("Permission")
    unknown = unknown_permissions(role_type, permissions)
    if unknown:
        raise ApiError(
            400, 50104, f"Permission not found: {unknown[0]!r} is not a {role_type} permission"
        )
    return _dedupe(permissions)


async def require_role(call: Context, sid: str, role_type: str) -> None:
    """400 unless `sid` is a role of `role_type` in the call's service. The role stays until
    the caller's transaction ends (a key-share lock on PostgreSQL, which a permissions update
    does not wait for): a delete of it on another writer either finds this holder, or waits
    and is found gone (see `RoleRules.before_delete`)."""
    roles = call.tables["role"]
    query = select(roles.c.type).where(
        roles.c.service_sid == call.parent("service")["sid"], roles.c.sid == sid
    )
    query = query.with_for_update(read=True, key_share=True)
    found = (await call.conn.execute(query)).scalar()
    if found is None:
        raise ApiError(400, 50100, f"Role not found: {sid} is not a role of this service")
    if found != role_type:
        raise ApiError(400, 50100, f"Role {sid} is a {found} role; a {role_type} role is needed")


class RoleRules(BackendOnly):
    async def before_create(self, call: Context, values: dict[str, Any]) -> None:
        values["permissions"] = _check(values["type"], values["permissions"])

    async def before_update(self, call: Context, row: Row, changes: dict[str, Any]) -> None:
        # Update takes only Permission, required, and replaces the whole set.
        if "permissions" not in changes:
            raise MissingParameter("Permission")
        changes["permissions"] = _check(row["type"], changes["permissions"])

    async def before_delete(self, call: Context, row: Row) -> None:
        """409 while the service points at the role or anything holds it. The role is locked
        first: a user, member or invite given it by another writer's transaction meanwhile
        holds its key-share lock (`require_role`), so the check below sees it committed, or it
        waits for this delete and finds the role gone (400), never a holder of no role."""
        roles = call.tables["role"]
        locked = select(roles.c.pk).where(roles.c.pk == row["pk"]).with_for_update()
        if (await call.conn.execute(locked)).first() is None:
            raise RowGone("role")
        service = call.parent("service")
        for column in SERVICE_ROLE_POINTERS:
            if service[column] == row["sid"]:
                raise ApiError(
                    409,
                    50100,
                    f"Role {row['sid']} is the service's {column} and cannot be deleted;"
                    " point the service at another role first",
                )
        for holder in ("user", "member", "invite"):
            t = call.tables[holder]
            query = select(t.c.sid).where(t.c.role_sid == row["sid"]).limit(1)
            if (await call.conn.execute(query)).first() is not None:
                raise ApiError(
                    409,
                    50100,
                    f"Role {row['sid']} is still assigned to a {holder} and cannot be deleted",
                )


ROLE = Resource(
    name="role",
    sid_prefix="RL",
    path="/Services/{ServiceSid}/Roles",
    list_key="roles",
    schema="service.role",
    parent=SERVICE,
    ref_param="RoleSid",
    versions=VERSIONS,
    rules=RoleRules(),
    fields=(
        Field(
            "friendly_name",
            param="FriendlyName",
            create=True,
            required=True,
            max_length=64,
            code=50003,
        ),
        Field(
            "type",
            param="Type",
            create=True,
            required=True,
            choices=("channel", "deployment"),
            code=50105,
        ),
        Field("permissions", "list", "Permission", create=True, update=True, required=True),
    ),
)
