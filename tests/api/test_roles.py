"""Roles through the official client: defaults, create, fetch, update, delete, list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.api.conftest import Raw, rejected

DEFAULT_ROLES = {
    "service admin": (
        "deployment",
        {
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
        },
    ),
    "service user": ("deployment", {"createChannel", "joinChannel", "editOwnUserInfo"}),
    "channel admin": (
        "channel",
        {
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
        },
    ),
    "channel user": (
        "channel",
        {
            "sendMessage",
            "sendMediaMessage",
            "leaveChannel",
            "editNotificationLevel",
            "editOwnMemberAttributes",
            "editOwnMessage",
            "editOwnMessageAttributes",
            "deleteOwnMessage",
        },
    ),
}
POINTERS = {
    "default_service_role_sid": "deployment",
    "default_channel_role_sid": "channel",
    "default_channel_creator_role_sid": "channel",
}
A_PERMISSION = {"deployment": "createChannel", "channel": "sendMessage"}


@pytest.fixture
def roles(chat: Any, service: Any) -> Any:
    """The roles list of the test's service."""
    return chat.services(service.sid).roles


class TestDefaults:
    def test_four_default_roles(self, roles: Any) -> None:
        """A new service has Twilio's four default roles, with their types and permissions."""
        found = {r.friendly_name: (r.type, set(r.permissions)) for r in roles.list()}
        assert found == DEFAULT_ROLES

    def test_pointers_name_defaults(self, roles: Any, service: Any) -> None:
        """The service's default pointers name service user, channel user and channel admin."""
        by_sid = {r.sid: r.friendly_name for r in roles.list()}
        assert by_sid[service.default_service_role_sid] == "service user"
        assert by_sid[service.default_channel_role_sid] == "channel user"
        assert by_sid[service.default_channel_creator_role_sid] == "channel admin"

    def test_each_service_has_its_own(self, chat: Any, roles: Any, unique: Any) -> None:
        """Two services never share a default role."""
        other = chat.services.create(friendly_name=unique("other"))
        try:
            theirs = {r.sid for r in chat.services(other.sid).roles.list()}
            assert not theirs & {r.sid for r in roles.list()}
        finally:
            chat.services(other.sid).delete()


class TestCreate:
    def test_channel_role(self, roles: Any, service: Any, server: Any, unique: Any) -> None:
        """Create answers the role with its SID, service, type, permissions, dates and url."""
        name = unique("mods")
        role = roles.create(
            friendly_name=name, type="channel", permission=["sendMessage", "leaveChannel"]
        )
        assert role.sid.startswith("RL")
        assert len(role.sid) == 34
        assert role.account_sid == server.account_sid
        assert role.service_sid == service.sid
        assert role.friendly_name == name
        assert role.type == "channel"
        assert role.permissions == ["sendMessage", "leaveChannel"]
        assert isinstance(role.date_created, datetime)
        assert isinstance(role.date_updated, datetime)
        assert role.url == f"{server.url}/v1/Services/{service.sid}/Roles/{role.sid}"

    def test_deployment_role(self, roles: Any, unique: Any) -> None:
        """A deployment role takes deployment permissions."""
        role = roles.create(
            friendly_name=unique("ops"),
            type="deployment",
            permission=["createChannel", "editAnyUserInfo"],
        )
        assert role.type == "deployment"
        assert role.permissions == ["createChannel", "editAnyUserInfo"]

    def test_repeated_permission_once(self, roles: Any, unique: Any) -> None:
        """A permission given twice is held once."""
        role = roles.create(
            friendly_name=unique("dup"),
            type="channel",
            permission=["sendMessage", "sendMessage", "leaveChannel"],
        )
        assert role.permissions == ["sendMessage", "leaveChannel"]

    def test_friendly_name_required(self, roles: Any) -> None:
        """FriendlyName is required: 400."""
        rejected(
            lambda: roles.create(friendly_name=None, type="channel", permission=["sendMessage"])
        )

    def test_friendly_name_too_long(self, roles: Any) -> None:
        """A FriendlyName over 64 characters is 400 with 50003."""
        create = roles.create
        rejected(
            lambda: create(friendly_name="x" * 65, type="channel", permission=["sendMessage"]),
            400,
            50003,
        )

    def test_type_required(self, roles: Any, unique: Any) -> None:
        """Type is required: 400."""
        rejected(
            lambda: roles.create(friendly_name=unique("r"), type=None, permission=["sendMessage"])
        )

    def test_permission_required(self, roles: Any, unique: Any) -> None:
        """At least one Permission is required: 400 naming Permission."""
        err = rejected(
            lambda: roles.create(friendly_name=unique("r"), type="channel", permission=[])
        )
        assert "Permission" in err.msg

    def test_empty_permission(self, raw: Raw, service: Any, unique: Any) -> None:
        """An empty Permission value is no permission: 400."""
        response = raw.post(
            f"/v1/Services/{service.sid}/Roles",
            data={"FriendlyName": unique("r"), "Type": "channel", "Permission": ""},
        )
        raw.error(response, 400)

    @pytest.mark.parametrize("bad", ["admin", "Channel", ""])
    def test_bad_type(self, roles: Any, unique: Any, bad: str) -> None:
        """A Type other than channel or deployment is 400 with 50105."""
        create = roles.create
        rejected(
            lambda: create(friendly_name=unique("r"), type=bad, permission=["sendMessage"]),
            400,
            50105,
        )

    @pytest.mark.parametrize(
        ("role_type", "permission"),
        [
            ("deployment", "sendMessage"),  # a channel permission
            ("channel", "createChannel"),  # a deployment permission
            ("channel", "flyToTheMoon"),  # no permission at all
            ("deployment", "createchannel"),  # names are case-sensitive
        ],
    )
    def test_permission_of_wrong_type(
        self, roles: Any, unique: Any, role_type: str, permission: str
    ) -> None:
        """A permission that is not valid for the role's type is 400 with 50104 naming it."""
        create = roles.create
        err = rejected(
            lambda: create(
                friendly_name=unique("r"),
                type=role_type,
                permission=[A_PERMISSION[role_type], permission],
            ),
            400,
            50104,
        )
        assert permission in err.msg

    def test_unknown_service_is_404(self, chat: Any, unique: Any) -> None:
        """Creating a role under an unknown service is 404 with 20404."""
        create = chat.services("IS" + "0" * 32).roles.create
        rejected(
            lambda: create(friendly_name=unique("r"), type="channel", permission=["sendMessage"]),
            404,
            20404,
        )


class TestFetchUpdateDelete:
    def test_fetch(self, roles: Any, unique: Any) -> None:
        """A role is fetched by its SID, as created."""
        role = roles.create(friendly_name=unique("r"), type="channel", permission=["sendMessage"])
        fetched = roles(role.sid).fetch()
        assert (fetched.sid, fetched.friendly_name, fetched.type) == (
            role.sid,
            role.friendly_name,
            "channel",
        )
        assert fetched.permissions == ["sendMessage"]

    def test_update_replaces_permissions(self, roles: Any, unique: Any) -> None:
        """Update replaces the whole permission set with the one given."""
        role = roles.create(
            friendly_name=unique("r"), type="channel", permission=["sendMessage", "leaveChannel"]
        )
        updated = roles(role.sid).update(permission=["editOwnMessage", "deleteOwnMessage"])
        assert updated.permissions == ["editOwnMessage", "deleteOwnMessage"]
        assert roles(role.sid).fetch().permissions == ["editOwnMessage", "deleteOwnMessage"]

    def test_update_default_role(self, roles: Any, service: Any) -> None:
        """A default role's permissions can be changed too."""
        updated = roles(service.default_service_role_sid).update(permission=["joinChannel"])
        assert updated.permissions == ["joinChannel"]
        assert updated.friendly_name == "service user"

    def test_update_requires_permission(self, raw: Raw, service: Any) -> None:
        """Update without Permission is 400 naming Permission, and changes nothing."""
        path = f"/v1/Services/{service.sid}/Roles/{service.default_channel_role_sid}"
        before = raw.get(path).json()["permissions"]
        body = raw.error(raw.post(path, data={"FriendlyName": "renamed"}), 400)
        assert "Permission" in body["message"]
        after = raw.get(path).json()
        assert after["permissions"] == before
        assert after["friendly_name"] == "channel user"

    def test_update_checks_type(self, roles: Any, service: Any) -> None:
        """Update validates permissions against the role's own type: 400 with 50104."""
        update = roles(service.default_channel_role_sid).update
        err = rejected(lambda: update(permission=["createChannel"]), 400, 50104)
        assert "createChannel" in err.msg

    def test_type_is_fixed(self, raw: Raw, service: Any) -> None:
        """A role's type cannot be changed: Type on update is ignored."""
        path = f"/v1/Services/{service.sid}/Roles/{service.default_channel_role_sid}"
        response = raw.post(path, data={"Type": "deployment", "Permission": "sendMessage"})
        assert response.status_code == 200, response.text
        assert response.json()["type"] == "channel"

    def test_delete(self, roles: Any, unique: Any) -> None:
        """A deleted role is gone: fetching it is 404."""
        role = roles.create(friendly_name=unique("r"), type="channel", permission=["sendMessage"])
        assert roles(role.sid).delete() is True
        rejected(lambda: roles(role.sid).fetch(), 404, 20404)
        rejected(roles(role.sid).delete, 404, 20404)

    def test_delete_non_default_builtin(self, roles: Any) -> None:
        """service admin is no service default, so it can be deleted."""
        admin = next(r for r in roles.list() if r.friendly_name == "service admin")
        assert roles(admin.sid).delete() is True
        assert "service admin" not in {r.friendly_name for r in roles.list()}

    @pytest.mark.parametrize("pointer", list(POINTERS))
    def test_default_role_cannot_be_deleted(
        self, chat: Any, roles: Any, service: Any, unique: Any, pointer: str
    ) -> None:
        """A role the service points at is 409 on delete, and deletable once it points elsewhere."""
        current = getattr(service, pointer)
        rejected(roles(current).delete, 409)
        assert roles(current).fetch().sid == current
        role_type = POINTERS[pointer]
        replacement = roles.create(
            friendly_name=unique("new"), type=role_type, permission=[A_PERMISSION[role_type]]
        )
        chat.services(service.sid).update(**{pointer: replacement.sid})
        assert roles(current).delete() is True
        rejected(lambda: roles(current).fetch(), 404)

    def test_unknown_is_404(self, roles: Any) -> None:
        """An unknown role SID is 404 with 20404 on fetch, update and delete."""
        ghost = roles("RL" + "0" * 32)
        rejected(ghost.fetch, 404, 20404)
        rejected(lambda: ghost.update(permission=["sendMessage"]), 404, 20404)
        rejected(ghost.delete, 404, 20404)


class TestOtherService:
    @pytest.fixture
    def foreign_role(self, chat: Any, unique: Any) -> Iterator[str]:
        """A role of another service of the same account."""
        other = chat.services.create(friendly_name=unique("other"))
        role = chat.services(other.sid).roles.create(
            friendly_name=unique("theirs"), type="channel", permission=["sendMessage"]
        )
        yield role.sid
        chat.services(other.sid).delete()

    def test_fetch_is_404(self, roles: Any, foreign_role: str) -> None:
        """Another service's role SID under this service is 404."""
        rejected(roles(foreign_role).fetch, 404, 20404)

    def test_update_and_delete_are_404(self, roles: Any, foreign_role: str) -> None:
        """Another service's role cannot be updated or deleted through this service."""
        rejected(lambda: roles(foreign_role).update(permission=["leaveChannel"]), 404, 20404)
        rejected(roles(foreign_role).delete, 404, 20404)

    def test_not_listed(self, roles: Any, foreign_role: str) -> None:
        """A service's role list holds its own roles only."""
        assert foreign_role not in {r.sid for r in roles.list()}


class TestList:
    @pytest.fixture
    def created(self, roles: Any, unique: Any) -> list[str]:
        """Five new channel roles, in creation order."""
        return [
            roles.create(
                friendly_name=unique(f"r{i}"), type="channel", permission=["sendMessage"]
            ).sid
            for i in range(5)
        ]

    def test_all_pages(self, roles: Any, service: Any, created: list[str]) -> None:
        """list(page_size=2) sees the 4 defaults, then the new roles in creation order, once each."""
        seen = [r.sid for r in roles.list(page_size=2)]
        assert len(seen) == 9
        assert seen[4:] == created
        assert {
            service.default_service_role_sid,
            service.default_channel_role_sid,
            service.default_channel_creator_role_sid,
        } < set(seen[:4])

    def test_next_and_previous(self, roles: Any, created: list[str]) -> None:
        """page() then next_page() and previous_page() walk the list both ways."""
        first = roles.page(page_size=3)
        second = first.next_page()
        assert len(list(second)) == 3
        assert [r.sid for r in second.previous_page()] == [r.sid for r in first]
        third = second.next_page()
        assert [r.sid for r in third] == created[2:]
        assert third.next_page() is None

    def test_meta(self, raw: Raw, server: Any, service: Any) -> None:
        """The roles list's meta key is roles and its URLs are absolute."""
        path = f"/v1/Services/{service.sid}/Roles"
        meta = raw.get(path).json()["meta"]
        assert meta["key"] == "roles"
        assert meta["first_page_url"] == f"{server.url}{path}?PageSize=50&Page=0"

    def test_page_size_clamped(self, raw: Raw, service: Any) -> None:
        """PageSize above 1000 is clamped to 1000 on the roles list."""
        response = raw.get(f"/v1/Services/{service.sid}/Roles", params={"PageSize": 5000})
        assert response.status_code == 200, response.text
        assert response.json()["meta"]["page_size"] == 1000

    def test_unknown_service_is_404(self, raw: Raw) -> None:
        """Listing the roles of an unknown service is 404 with 20404."""
        raw.error(raw.get(f"/v1/Services/IS{'0' * 32}/Roles"), 404, 20404)
