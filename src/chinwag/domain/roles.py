"""Roles: the permission names valid for each role type, and the four roles of a new service.

Sources: Twilio's permissions guide and the lists in shared/behaviour.md section 1.
"""

from __future__ import annotations

from dataclasses import dataclass

DEPLOYMENT_PERMISSIONS = frozenset(
    {
        "createChannel",
        "joinChannel",
        "destroyChannel",
        "inviteMember",
        "addMember",
        "removeMember",
        "editChannelName",
        "editChannelAttributes",
        "editAnyMessage",
        "editAnyMessageAttributes",
        "deleteAnyMessage",
        "editAnyMemberAttributes",
        "editAnyUserInfo",
        "editOwnUserInfo",
        "editOwnMessage",
        "editOwnMessageAttributes",
    }
)
CHANNEL_PERMISSIONS = frozenset(
    {
        "sendMessage",
        "sendMediaMessage",
        "leaveChannel",
        "editNotificationLevel",
        "addMember",
        "inviteMember",
        "removeMember",
        "destroyChannel",
        "editChannelName",
        "editChannelAttributes",
        "editOwnMessage",
        "editAnyMessage",
        "editOwnMessageAttributes",
        "editAnyMessageAttributes",
        "deleteOwnMessage",
        "deleteAnyMessage",
        "editOwnMemberAttributes",
        "editAnyMemberAttributes",
        "editOwnUserInfo",
        "editAnyUserInfo",
    }
)
PERMISSIONS = {"deployment": DEPLOYMENT_PERMISSIONS, "channel": CHANNEL_PERMISSIONS}


@dataclass(frozen=True)
class DefaultRole:
    friendly_name: str
    type: str
    permissions: tuple[str, ...]
    service_field: str | None  # the service's default_*_role_sid that points at it


DEFAULT_ROLES = (
    DefaultRole(
        "service admin",
        "deployment",
        (
            "createChannel",
            "joinChannel",
            "destroyChannel",
            "editChannelAttributes",
            "editChannelName",
            "addMember",
            "inviteMember",
            "removeMember",
            "editAnyMemberAttributes",
            "editAnyMessage",
            "deleteAnyMessage",
            "editAnyMessageAttributes",
            "editAnyUserInfo",
        ),
        None,
    ),
    DefaultRole(
        "service user",
        "deployment",
        ("createChannel", "joinChannel", "editOwnUserInfo"),
        "default_service_role_sid",
    ),
    DefaultRole(
        "channel admin",
        "channel",
        (
            "sendMessage",
            "sendMediaMessage",
            "leaveChannel",
            "editNotificationLevel",
            "destroyChannel",
            "inviteMember",
            "removeMember",
            "editChannelName",
            "editChannelAttributes",
            "addMember",
            "editAnyMemberAttributes",
            "editAnyMessage",
            "editAnyMessageAttributes",
            "deleteAnyMessage",
        ),
        "default_channel_creator_role_sid",
    ),
    DefaultRole(
        "channel user",
        "channel",
        (
            "sendMessage",
            "sendMediaMessage",
            "leaveChannel",
            "editNotificationLevel",
            "editOwnMemberAttributes",
            "editOwnMessage",
            "editOwnMessageAttributes",
            "deleteOwnMessage",
        ),
        "default_channel_role_sid",
    ),
)

# Which role type each service pointer needs, and Twilio's code when it names no such role.
SERVICE_ROLE_POINTERS = {
    "default_service_role_sid": ("deployment", 50102, "Deployment role not found"),
    "default_channel_role_sid": ("channel", 50101, "Channel role not found"),
    "default_channel_creator_role_sid": ("channel", 50106, "Channel creator role not found"),
}


def unknown_permissions(role_type: str, permissions: list[str]) -> list[str]:
    valid = PERMISSIONS.get(role_type, frozenset())
    return [p for p in permissions if p not in valid]
