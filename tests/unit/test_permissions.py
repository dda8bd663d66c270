"""The permission rules underneath: what each client action needs (declared by its resource),
and how a user's service and channel roles answer it (domain/permissions.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from chinwag.domain.permissions import Standing, judge
from chinwag.domain.roles import DEFAULT_ROLES, PERMISSIONS
from chinwag.resources.channels import CHANNEL
from chinwag.resources.invites import INVITE
from chinwag.resources.members import MEMBER
from chinwag.resources.messages import MESSAGE
from chinwag.resources.roles import ROLE
from chinwag.resources.services import SERVICE
from chinwag.resources.users import USER

ROLES = {role.friendly_name: frozenset(role.permissions) for role in DEFAULT_ROLES}


def standing(service_role: str, channel_role: str | None = None, **place: bool) -> Standing:
    channel = ROLES[channel_role] if channel_role else frozenset()
    member = place.pop("member", channel_role is not None)
    return Standing(ROLES[service_role], channel, member=member, **place)


def call(action: str, identity: str = "me") -> Any:
    """What the rules read of an operation's context: its action and acting identity."""
    return SimpleNamespace(action=action, identity=identity)


def needs(resource: Any, action: str, row: Any = None, **values: Any) -> Any:
    return resource.rules.client_permissions(call(action), row, values)


# --- judging a standing -----------------------------------------------------------------------


def test_a_permission_of_either_role_is_enough() -> None:
    plain = standing("service user", "channel user")
    assert judge(("sendMessage",), plain, "public") is None  # the channel role's
    assert judge(("createChannel",), plain) is None  # the service role's
    assert judge(("sendMessage", "createChannel"), plain, "public") is None


def test_a_missing_permission_is_denied_with_50107() -> None:
    error = judge(("editAnyMessage",), standing("service user", "channel user"), "public")
    assert error is not None
    assert (error.status, error.code) == (403, 50107)


def test_every_permission_listed_is_needed() -> None:
    plain = standing("service user", "channel user")
    assert judge(("sendMessage", "destroyChannel"), plain, "public") is not None


def test_none_means_no_client_may() -> None:
    error = judge(None, standing("service admin", "channel admin"), "public")
    assert error is not None
    assert error.code == 50107


def test_no_permission_needed_is_allowed() -> None:
    assert judge((), Standing(), "public") is None


def test_any_covers_own() -> None:
    """Channel admin lists only the Any forms; editing anyone's covers editing one's own."""
    admin = standing("service user", "channel admin")
    assert judge(("editOwnMessage", "deleteOwnMessage"), admin, "public") is None
    assert judge(("editOwnMessageAttributes",), admin, "public") is None
    user = standing("service user", "channel user")
    assert judge(("editAnyMessage",), user, "public") is not None  # own does not cover any


def test_a_service_admin_moderates_public_channels_without_joining() -> None:
    admin = standing("service admin")
    assert judge(("destroyChannel",), admin, "public") is None
    assert judge(("deleteAnyMessage",), admin, "public") is None
    assert judge(("sendMessage",), admin, "public") is not None  # speaking takes a seat


def test_not_a_member_has_no_channel_permissions() -> None:
    assert judge(("sendMessage",), standing("service user"), "public") is not None


@pytest.mark.parametrize(
    ("place", "visible"),
    [
        ({}, False),
        ({"member": True}, True),
        ({"invited": True}, True),
        ({"creator": True}, True),
    ],
)
def test_a_private_channel_is_seen_by_members_invitees_and_its_creator(
    place: dict[str, bool], visible: bool
) -> None:
    mine = Standing(ROLES["service admin"], **place)
    error = judge((), mine, "private")
    if visible:
        assert error is None
    else:
        assert error is not None
        assert (error.status, error.code) == (404, 50300)  # hidden, even from a service admin


def test_a_public_channel_is_seen_by_all() -> None:
    assert Standing().sees("public")
    assert Standing().sees(None)


# --- what each action needs ---------------------------------------------------------------------


def test_messages() -> None:
    mine, theirs = {"from": "me"}, {"from": "you"}
    assert needs(MESSAGE, "create", body="hi", **{"from": "me"}) == ("sendMessage",)
    assert needs(MESSAGE, "create", media_sid="ME1", **{"from": "me"}) == ("sendMediaMessage",)
    assert needs(MESSAGE, "create", body="hi", **{"from": "you"}) is None  # as another
    assert needs(MESSAGE, "update", mine, body="x", last_updated_by="me") == ("editOwnMessage",)
    assert needs(MESSAGE, "update", theirs, body="x") == ("editAnyMessage",)
    assert needs(MESSAGE, "update", mine, attributes="{}") == ("editOwnMessageAttributes",)
    assert needs(MESSAGE, "update", theirs, body="x", attributes="{}") == (
        "editAnyMessage",
        "editAnyMessageAttributes",
    )
    assert needs(MESSAGE, "delete", mine) == ("deleteOwnMessage",)
    assert needs(MESSAGE, "delete", theirs) == ("deleteAnyMessage",)
    assert needs(MESSAGE, "list") == ()


def test_channels() -> None:
    row = {"sid": "CH1", "type": "public"}
    assert needs(CHANNEL, "create", friendly_name="x") == ("createChannel",)
    assert needs(CHANNEL, "update", row, friendly_name="x") == ("editChannelName",)
    assert needs(CHANNEL, "update", row, unique_name="x") == ("editChannelName",)
    assert needs(CHANNEL, "update", row, attributes="{}") == ("editChannelAttributes",)
    assert needs(CHANNEL, "update", row, friendly_name="x", attributes="{}") == (
        "editChannelAttributes",
        "editChannelName",
    )
    assert needs(CHANNEL, "delete", row) == ("destroyChannel",)
    assert needs(CHANNEL, "fetch", row) == ()


def test_members() -> None:
    mine, theirs = {"identity": "me"}, {"identity": "you"}
    assert needs(MEMBER, "create", identity="me", role_sid=None) == ("joinChannel",)
    assert needs(MEMBER, "create", identity="you", role_sid=None) == ("addMember",)
    assert needs(MEMBER, "create", identity="me", role_sid="RL1") is None  # roles: the backend's
    assert needs(MEMBER, "delete", mine) == ("leaveChannel",)
    assert needs(MEMBER, "delete", theirs) == ("removeMember",)
    assert needs(MEMBER, "update", mine, attributes="{}") == ("editOwnMemberAttributes",)
    assert needs(MEMBER, "update", theirs, attributes="{}") == ("editAnyMemberAttributes",)
    assert needs(MEMBER, "update", mine, last_consumed_message_index=3) == ()
    assert needs(MEMBER, "update", theirs, last_consumed_message_index=3) == (
        "editAnyMemberAttributes",
    )
    assert needs(MEMBER, "update", mine, role_sid="RL1") is None


def test_users_and_invites() -> None:
    assert needs(USER, "update", {"identity": "me"}, friendly_name="x") == ("editOwnUserInfo",)
    assert needs(USER, "update", {"identity": "you"}, friendly_name="x") == ("editAnyUserInfo",)
    assert needs(USER, "update", {"identity": "me"}, role_sid="RL1") is None
    assert needs(USER, "create", identity="new") is None
    assert needs(INVITE, "create", identity="you", role_sid=None) == ("inviteMember",)
    assert needs(INVITE, "delete", {"identity": "me"}) == ()  # declining one's own
    assert needs(INVITE, "delete", {"identity": "you"}) == ("inviteMember",)


@pytest.mark.parametrize("resource", [SERVICE, ROLE])
@pytest.mark.parametrize("action", ["create", "fetch", "update", "delete", "list"])
def test_the_backends_resources_refuse_every_client(resource: Any, action: str) -> None:
    assert needs(resource, action, {"sid": "x"}) is None


def test_every_permission_asked_for_is_one_a_role_can_hold() -> None:
    """A name no role can hold would refuse every client for good."""
    known = PERMISSIONS["deployment"] | PERMISSIONS["channel"]
    own, other = {"identity": "me", "from": "me"}, {"identity": "you", "from": "you"}
    asked: set[str] = set()
    for resource in (MESSAGE, CHANNEL, MEMBER, USER, INVITE):
        for action in ("create", "update", "delete"):
            for row in (own, other):
                for values in ({"body": "x"}, {"attributes": "{}"}, {"friendly_name": "x"}):
                    on = None if action == "create" else row
                    sent = {"identity": row["identity"], "from": row["from"], "role_sid": None}
                    found = needs(resource, action, on, **values, **sent)
                    asked.update(found or ())
    assert asked <= known, asked - known
    assert {"editOwnMessage", "deleteAnyMessage", "removeMember", "inviteMember"} <= asked
