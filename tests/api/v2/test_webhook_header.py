"""`X-Twilio-Webhook-Enabled`: v2 takes true or false on the operations that declare it.

The spec puts the header on create, update and delete of Channels, Members, Messages and Users
(the client sends it on all of those but user delete) and on delete of a User Channel. Its value
is `true` or `false`; anything else is a 400, and the operation then writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.api.v2.helpers import error, rejected
from tests.support.servers import Server

HEADER = "X-Twilio-Webhook-Enabled"


@pytest.fixture(params=["true", "false"])
def enabled(request: pytest.FixtureRequest) -> str:
    """Each value the header may take."""
    return str(request.param)


class TestAccepted:
    def test_channel(self, svc2: Any, enabled: str, unique: Callable[[str], str]) -> None:
        """Channel create, update and delete accept the header."""
        channel = svc2.channels.create(friendly_name=unique("c"), x_twilio_webhook_enabled=enabled)
        ctx = svc2.channels(channel.sid)
        renamed = ctx.update(friendly_name="renamed", x_twilio_webhook_enabled=enabled)
        assert renamed.friendly_name == "renamed"
        assert ctx.delete(x_twilio_webhook_enabled=enabled) is True
        rejected(ctx.fetch, 404, 20404)

    def test_member(self, room2: Any, enabled: str, unique: Callable[[str], str]) -> None:
        """Member create, update and delete accept the header."""
        member = room2.members.create(identity=unique("m"), x_twilio_webhook_enabled=enabled)
        ctx = room2.members(member.sid)
        updated = ctx.update(last_consumed_message_index=0, x_twilio_webhook_enabled=enabled)
        assert updated.last_consumed_message_index == 0
        assert ctx.delete(x_twilio_webhook_enabled=enabled) is True
        assert room2.members.list() == []

    def test_message(self, room2: Any, enabled: str) -> None:
        """Message create, update and delete accept the header."""
        message = room2.messages.create(body="hi", x_twilio_webhook_enabled=enabled)
        ctx = room2.messages(message.sid)
        assert ctx.update(body="edited", x_twilio_webhook_enabled=enabled).body == "edited"
        assert ctx.delete(x_twilio_webhook_enabled=enabled) is True
        assert room2.messages.list() == []

    def test_user(
        self,
        svc2: Any,
        service2: Any,
        server: Server,
        auth: Any,
        enabled: str,
        unique: Callable[[str], str],
    ) -> None:
        """User create and update accept the header, and a user delete carrying it succeeds."""
        user = svc2.users.create(identity=unique("u"), x_twilio_webhook_enabled=enabled)
        ctx = svc2.users(user.sid)
        updated = ctx.update(friendly_name="Ursula", x_twilio_webhook_enabled=enabled)
        assert updated.friendly_name == "Ursula"
        response = requests.delete(
            f"{server.url}/v2/Services/{service2.sid}/Users/{user.sid}",
            headers={HEADER: enabled},
            auth=auth,
            timeout=30,
        )
        assert response.status_code == 204, response.text
        rejected(ctx.fetch, 404, 20404)

    def test_user_channel_delete(
        self, svc2: Any, room2: Any, channel2: Any, enabled: str, unique: Callable[[str], str]
    ) -> None:
        """Leaving a channel through the User Channel accepts the header."""
        member = room2.members.create(identity=unique("leaver"))
        ctx = svc2.users(member.identity).user_channels(channel2.sid)
        assert ctx.delete(x_twilio_webhook_enabled=enabled) is True
        assert room2.members.list() == []

    def test_any_case(
        self, server: Server, auth: Any, service2: Any, unique: Callable[[str], str]
    ) -> None:
        """The header's name is case-insensitive, as every HTTP header's is."""
        response = requests.post(
            f"{server.url}/v2/Services/{service2.sid}/Channels",
            data={"FriendlyName": unique("c")},
            headers={"x-twilio-webhook-enabled": "true"},
            auth=auth,
            timeout=30,
        )
        assert response.status_code == 201, response.text


class TestRejected:
    def bad(self, method: str, url: str, auth: Any, **kwargs: Any) -> dict[str, Any]:
        response = requests.request(
            method, url, headers={HEADER: "maybe"}, auth=auth, timeout=30, **kwargs
        )
        body = error(response, 400)
        assert HEADER in body["message"]
        return body

    def test_channel_create(
        self, server: Server, auth: Any, service2: Any, svc2: Any, unique: Callable[[str], str]
    ) -> None:
        """A bad header value on channel create is 400, and no channel is created."""
        name = unique("never")
        url = f"{server.url}/v2/Services/{service2.sid}/Channels"
        self.bad("POST", url, auth, data={"FriendlyName": name, "UniqueName": name})
        assert svc2.channels.list(type=["public", "private"]) == []
        rejected(lambda: svc2.channels(name).fetch(), 404, 20404)

    def test_channel_update_and_delete(
        self, server: Server, auth: Any, service2: Any, svc2: Any, channel2: Any
    ) -> None:
        """A bad header value on channel update or delete is 400, and the channel is unchanged."""
        url = f"{server.url}/v2/Services/{service2.sid}/Channels/{channel2.sid}"
        self.bad("POST", url, auth, data={"FriendlyName": "changed"})
        self.bad("DELETE", url, auth)
        assert svc2.channels(channel2.sid).fetch().friendly_name == channel2.friendly_name

    def test_member_create(
        self,
        server: Server,
        auth: Any,
        service2: Any,
        svc2: Any,
        room2: Any,
        channel2: Any,
        unique: Callable[[str], str],
    ) -> None:
        """A bad header value on member create is 400: no member, and no user for it."""
        identity = unique("never")
        url = f"{server.url}/v2/Services/{service2.sid}/Channels/{channel2.sid}/Members"
        self.bad("POST", url, auth, data={"Identity": identity})
        assert room2.members.list() == []
        assert identity not in [u.identity for u in svc2.users.list()]

    def test_message_create(
        self, server: Server, auth: Any, service2: Any, room2: Any, channel2: Any
    ) -> None:
        """A bad header value on message create is 400, and no message is written."""
        url = f"{server.url}/v2/Services/{service2.sid}/Channels/{channel2.sid}/Messages"
        self.bad("POST", url, auth, data={"Body": "never"})
        assert room2.messages.list() == []
        assert room2.fetch().messages_count == 0

    def test_user_create(
        self, server: Server, auth: Any, service2: Any, svc2: Any, unique: Callable[[str], str]
    ) -> None:
        """A bad header value on user create is 400, and no user is created."""
        url = f"{server.url}/v2/Services/{service2.sid}/Users"
        self.bad("POST", url, auth, data={"Identity": unique("never")})
        assert svc2.users.list() == []

    def test_user_channel_delete(
        self,
        server: Server,
        auth: Any,
        service2: Any,
        room2: Any,
        channel2: Any,
        unique: Callable[[str], str],
    ) -> None:
        """A bad header value on a User Channel delete is 400, and the user stays a member."""
        member = room2.members.create(identity=unique("stays"))
        base = f"{server.url}/v2/Services/{service2.sid}"
        self.bad("DELETE", f"{base}/Users/{member.identity}/Channels/{channel2.sid}", auth)
        assert [m.sid for m in room2.members.list()] == [member.sid]
