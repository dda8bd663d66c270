"""Services through `client.chat.v2`: v2's fields, every v2 update parameter, and v1 interplay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from twilio.rest import Client

from tests.api.v2.helpers import error, rejected
from tests.support.servers import Server

KINDS = ("new_message", "added_to_channel", "removed_from_channel", "invited_to_channel")
COMPATIBILITY = "Media messages are not supported by your client"
FRESH_NOTIFICATIONS = {
    "new_message": {"enabled": False, "badge_count_enabled": False},
    "added_to_channel": {"enabled": False},
    "removed_from_channel": {"enabled": False},
    "invited_to_channel": {"enabled": False},
    "log_enabled": False,
}
FRESH_MEDIA = {"size_limit_mb": 150, "compatibility_message": COMPATIBILITY}


class TestCreate:
    def test_v2_fields(self, service2: Any, server: Server) -> None:
        """A v2 service carries media, both retry counts and v2's notifications, at defaults."""
        assert service2.sid.startswith("IS")
        assert len(service2.sid) == 34
        assert service2.account_sid == server.account_sid
        assert service2.media == FRESH_MEDIA
        assert service2.pre_webhook_retry_count == 0
        assert service2.post_webhook_retry_count == 0
        assert service2.notifications == FRESH_NOTIFICATIONS

    def test_shared_defaults(self, service2: Any) -> None:
        """The settings v1 also has start at the same defaults in v2."""
        assert service2.read_status_enabled is True
        assert service2.reachability_enabled is False
        assert service2.typing_indicator_timeout == 5
        assert service2.consumption_report_interval == 10
        assert service2.limits == {"channel_members": 100, "user_channels": 250}
        assert service2.webhook_method == "POST"
        assert service2.webhook_filters is None
        assert service2.pre_webhook_url is None
        assert service2.post_webhook_url is None

    def test_url_and_links(self, service2: Any, server: Server) -> None:
        """A v2 service's url and links are v2 URLs, and links include bindings."""
        url = f"{server.url}/v2/Services/{service2.sid}"
        assert service2.url == url
        assert service2.links == {
            "channels": f"{url}/Channels",
            "roles": f"{url}/Roles",
            "users": f"{url}/Users",
            "bindings": f"{url}/Bindings",
        }

    def test_no_webhooks_key(self, server: Server, auth: tuple[str, str], unique: Any) -> None:
        """v2 dropped v1's per-event `webhooks` object: no response of v2 carries the key."""
        created = requests.post(
            f"{server.url}/v2/Services", data={"FriendlyName": unique("raw")}, auth=auth, timeout=30
        )
        assert created.status_code == 201, created.text
        sid = created.json()["sid"]
        try:
            assert "webhooks" not in created.json()
            fetched = requests.get(f"{server.url}/v2/Services/{sid}", auth=auth, timeout=30)
            assert "webhooks" not in fetched.json()
            listed = requests.get(f"{server.url}/v2/Services", auth=auth, timeout=30).json()
            assert all("webhooks" not in s for s in listed["services"])
        finally:
            requests.delete(f"{server.url}/v2/Services/{sid}", auth=auth, timeout=30)

    def test_default_roles(self, svc2: Any, service2: Any) -> None:
        """A v2 service gets the four default roles, reachable through v2."""
        roles = {r.sid: r.friendly_name for r in svc2.roles.list()}
        assert sorted(roles.values()) == [
            "channel admin",
            "channel user",
            "service admin",
            "service user",
        ]
        assert roles[service2.default_service_role_sid] == "service user"
        assert roles[service2.default_channel_role_sid] == "channel user"
        assert roles[service2.default_channel_creator_role_sid] == "channel admin"

    def test_friendly_name_required(self, chat2: Any) -> None:
        """FriendlyName is required on a v2 create too."""
        rejected(lambda: chat2.services.create(friendly_name=None), 400)


class TestUpdateNotifications:
    @pytest.mark.parametrize("kind", KINDS)
    def test_sound(self, svc2: Any, kind: str) -> None:
        """Notifications.<Kind>.Sound round-trips as notifications.<kind>.sound, alone."""
        updated = svc2.update(**{f"notifications_{kind}_sound": f"{kind}.wav"})
        assert updated.notifications[kind]["sound"] == f"{kind}.wav"
        fetched = svc2.fetch().notifications
        assert fetched[kind]["sound"] == f"{kind}.wav"
        assert fetched[kind]["enabled"] is False
        for other in KINDS:
            if other != kind:
                assert "sound" not in fetched[other]

    def test_sound_cleared(self, svc2: Any) -> None:
        """An empty Sound clears it, as an empty Template does."""
        svc2.update(notifications_added_to_channel_sound="pop.wav")
        cleared = svc2.update(notifications_added_to_channel_sound="")
        assert cleared.notifications["added_to_channel"] == {"enabled": False}

    def test_sound_too_long(self, svc2: Any) -> None:
        """A sound name far beyond any file name is 400 with 50059."""
        update = svc2.update
        rejected(lambda: update(notifications_new_message_sound="s" * 5000), 400, 50059)
        assert "sound" not in svc2.fetch().notifications["new_message"]

    def test_badge_count_enabled(self, svc2: Any) -> None:
        """Notifications.NewMessage.BadgeCountEnabled round-trips both ways."""
        on = svc2.update(notifications_new_message_badge_count_enabled=True)
        assert on.notifications["new_message"]["badge_count_enabled"] is True
        assert svc2.fetch().notifications["new_message"]["badge_count_enabled"] is True
        off = svc2.update(notifications_new_message_badge_count_enabled=False)
        assert off.notifications["new_message"]["badge_count_enabled"] is False

    def test_log_enabled(self, svc2: Any) -> None:
        """Notifications.LogEnabled round-trips both ways, at the top of notifications."""
        assert svc2.update(notifications_log_enabled=True).notifications["log_enabled"] is True
        assert svc2.fetch().notifications["log_enabled"] is True
        assert svc2.update(notifications_log_enabled=False).notifications["log_enabled"] is False

    def test_whole_new_message(self, svc2: Any) -> None:
        """Enabled, Template, Sound and BadgeCountEnabled together fill notifications.new_message."""
        updated = svc2.update(
            notifications_new_message_enabled=True,
            notifications_new_message_template="${USER}: ${MESSAGE}",
            notifications_new_message_sound="ding.caf",
            notifications_new_message_badge_count_enabled=True,
        )
        expected = {
            "enabled": True,
            "template": "${USER}: ${MESSAGE}",
            "sound": "ding.caf",
            "badge_count_enabled": True,
        }
        assert updated.notifications["new_message"] == expected
        assert svc2.fetch().notifications["new_message"] == expected

    def test_bad_boolean(self, server: Server, auth: Any, service2: Any) -> None:
        """A v2 boolean parameter that is neither true nor false is 400 naming it."""
        param = "Notifications.NewMessage.BadgeCountEnabled"
        response = requests.post(
            f"{server.url}/v2/Services/{service2.sid}", data={param: "maybe"}, auth=auth, timeout=30
        )
        assert param in error(response, 400)["message"]


class TestUpdateMediaAndRetries:
    def test_compatibility_message(self, svc2: Any) -> None:
        """Media.CompatibilityMessage round-trips; the size limit stays 150 MB."""
        text = "Update your app to see this picture é"
        updated = svc2.update(media_compatibility_message=text)
        assert updated.media == {"size_limit_mb": 150, "compatibility_message": text}
        assert svc2.fetch().media == {"size_limit_mb": 150, "compatibility_message": text}

    @pytest.mark.parametrize("field", ["pre_webhook_retry_count", "post_webhook_retry_count"])
    @pytest.mark.parametrize("count", [0, 1, 2, 3])
    def test_retry_count(self, svc2: Any, field: str, count: int) -> None:
        """Pre/PostWebhookRetryCount accept 0 to 3 and round-trip, each on its own."""
        updated = svc2.update(**{field: count})
        assert getattr(updated, field) == count
        fetched = svc2.fetch()
        assert getattr(fetched, field) == count
        other = ({"pre_webhook_retry_count", "post_webhook_retry_count"} - {field}).pop()
        assert getattr(fetched, other) == 0

    @pytest.mark.parametrize("field", ["pre_webhook_retry_count", "post_webhook_retry_count"])
    @pytest.mark.parametrize("count", [4, -1])
    def test_retry_count_out_of_range(self, svc2: Any, field: str, count: int) -> None:
        """A retry count outside 0..3 is 400 with 50065 and leaves the count unchanged."""
        svc2.update(**{field: 2})
        rejected(lambda: svc2.update(**{field: count}), 400, 50065)
        assert getattr(svc2.fetch(), field) == 2

    def test_v1_parameters_through_v2(self, svc2: Any) -> None:
        """The parameters v1 also has update the service through v2 as well."""
        updated = svc2.update(
            friendly_name="renamed-in-v2",
            limits_channel_members=7,
            typing_indicator_timeout=9,
            pre_webhook_url="https://hooks.example.com/pre",
            webhook_filters=["onMessageSend", "onMessageSent"],
        )
        assert updated.friendly_name == "renamed-in-v2"
        assert updated.limits == {"channel_members": 7, "user_channels": 250}
        assert updated.typing_indicator_timeout == 9
        assert updated.pre_webhook_url == "https://hooks.example.com/pre"
        assert updated.webhook_filters == ["onMessageSend", "onMessageSent"]

    def test_v1_event_targets_not_taken(
        self, server: Server, auth: Any, chat: Any, service2: Any
    ) -> None:
        """v1's Webhooks.<Event>.Url is not a v2 parameter: ignored, as unknown parameters are."""
        response = requests.post(
            f"{server.url}/v2/Services/{service2.sid}",
            data={"Webhooks.OnMessageSend.Url": "https://hooks.example.com/x"},
            auth=auth,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert "webhooks" not in response.json()
        assert chat.services(service2.sid).fetch().webhooks == {}

    def test_failed_update_writes_nothing(self, svc2: Any) -> None:
        """One bad v2 parameter refuses the whole update."""
        call = svc2.update
        rejected(lambda: call(media_compatibility_message="new", post_webhook_retry_count=9), 400)
        fetched = svc2.fetch()
        assert fetched.media == FRESH_MEDIA
        assert fetched.post_webhook_retry_count == 0


class TestInteroperability:
    def test_v1_service_through_v2(
        self, chat: Any, chat2: Any, server: Server, unique: Callable[[str], str]
    ) -> None:
        """A service created through v1 is fetched through v2 with v2's fields, and updated."""
        svc = chat.services.create(friendly_name=unique("v1"))
        try:
            fetched = chat2.services(svc.sid).fetch()
            assert fetched.friendly_name == svc.friendly_name
            assert fetched.default_channel_role_sid == svc.default_channel_role_sid
            assert fetched.media == FRESH_MEDIA
            assert fetched.notifications == FRESH_NOTIFICATIONS
            assert (fetched.pre_webhook_retry_count, fetched.post_webhook_retry_count) == (0, 0)
            assert fetched.url == f"{server.url}/v2/Services/{svc.sid}"
            name = unique("via-v2")
            updated = chat2.services(svc.sid).update(
                friendly_name=name, pre_webhook_retry_count=2, notifications_log_enabled=True
            )
            assert updated.pre_webhook_retry_count == 2
            again = chat.services(svc.sid).fetch()
            assert again.friendly_name == name
            assert again.notifications == {kind: {"enabled": False} for kind in KINDS}
            assert again.url == f"{server.url}/v1/Services/{svc.sid}"
        finally:
            chat.services(svc.sid).delete()

    def test_v2_service_through_v1(
        self, chat: Any, svc2: Any, service2: Any, server: Server
    ) -> None:
        """A service created through v2 is fetched and updated through v1."""
        v1 = chat.services(service2.sid)
        fetched = v1.fetch()
        assert fetched.friendly_name == service2.friendly_name
        assert fetched.webhooks == {}
        assert set(fetched.links) == {"channels", "roles", "users"}
        assert fetched.url == f"{server.url}/v1/Services/{service2.sid}"
        v1.update(
            friendly_name="renamed-in-v1",
            notifications_invited_to_channel_enabled=True,
            notifications_invited_to_channel_template="join ${CHANNEL}",
            consumption_report_interval=30,
        )
        seen = svc2.fetch()
        assert seen.friendly_name == "renamed-in-v1"
        assert seen.notifications["invited_to_channel"] == {
            "enabled": True,
            "template": "join ${CHANNEL}",
        }
        assert seen.consumption_report_interval == 30

    def test_v2_settings_survive_v1_update(self, chat: Any, svc2: Any, service2: Any) -> None:
        """v2-only settings are kept when the service is then updated through v1."""
        svc2.update(
            post_webhook_retry_count=3,
            media_compatibility_message="upgrade",
            notifications_new_message_sound="a.wav",
            notifications_new_message_badge_count_enabled=True,
        )
        chat.services(service2.sid).update(
            friendly_name="v1-touch", notifications_new_message_enabled=True
        )
        seen = svc2.fetch()
        assert seen.post_webhook_retry_count == 3
        assert seen.media["compatibility_message"] == "upgrade"
        assert seen.notifications["new_message"] == {
            "enabled": True,
            "sound": "a.wav",
            "badge_count_enabled": True,
        }

    def test_lists_show_both(self, chat: Any, chat2: Any, service: Any, service2: Any) -> None:
        """Each version's service list holds services created through either version."""
        v1_sids = {s.sid for s in chat.services.list()}
        v2_sids = {s.sid for s in chat2.services.list()}
        assert {service.sid, service2.sid} <= v1_sids
        assert {service.sid, service2.sid} <= v2_sids

    def test_delete_through_other_version(
        self, chat: Any, chat2: Any, unique: Callable[[str], str]
    ) -> None:
        """A service created through v1 and deleted through v2 is gone from both."""
        svc = chat.services.create(friendly_name=unique("doomed"))
        assert chat2.services(svc.sid).delete() is True
        rejected(lambda: chat.services(svc.sid).fetch(), 404, 20404)
        rejected(lambda: chat2.services(svc.sid).fetch(), 404, 20404)

    def test_ip_messaging_v2(self, client: Client, service2: Any) -> None:
        """ip_messaging.v2 reaches the same service as chat.v2."""
        assert client.ip_messaging.v2.services(service2.sid).fetch().media == FRESH_MEDIA

    def test_v1_channel_and_message_listed_through_v2(
        self, chat: Any, chat2: Any, service: Any, server: Server, unique: Callable[[str], str]
    ) -> None:
        """A channel and message created through v1 are listed through v2 with v2's fields."""
        v1 = chat.services(service.sid)
        channel = v1.channels.create(friendly_name=unique("v1-room"), unique_name=unique("u"))
        message = v1.channels(channel.sid).messages.create(body="hello from v1", from_="alice")
        svc = chat2.services(service.sid)
        (listed,) = [c for c in svc.channels.list() if c.sid == channel.sid]
        url = f"{server.url}/v2/Services/{service.sid}/Channels/{channel.sid}"
        assert listed.url == url
        assert listed.unique_name == channel.unique_name
        assert listed.messages_count == 1
        assert listed.links["webhooks"] == f"{url}/Webhooks"
        assert listed.links["last_message"] == f"{url}/Messages/{message.sid}"
        (seen,) = svc.channels(channel.unique_name).messages.list()
        assert seen.sid == message.sid
        assert seen.body == "hello from v1"
        assert seen._from == "alice"
        assert seen.index == 0
        assert seen.type == "text"
        assert seen.media is None
        assert seen.last_updated_by is None
        assert seen.url == f"{url}/Messages/{message.sid}"

    def test_v2_channel_member_message_through_v1(
        self, chat: Any, svc2: Any, service2: Any, unique: Callable[[str], str]
    ) -> None:
        """A channel, member and message created through v2 are read through v1."""
        channel = svc2.channels.create(friendly_name=unique("v2-room"))
        room = svc2.channels(channel.sid)
        member = room.members.create(identity=unique("bob"), attributes='{"v": 2}')
        message = room.messages.create(body="hi from v2", from_=member.identity)
        v1 = chat.services(service2.sid).channels(channel.sid)
        assert v1.fetch().members_count == 1
        assert [m.sid for m in v1.members.list()] == [member.sid]
        (seen,) = v1.messages.list()
        assert (seen.sid, seen.body, seen._from) == (message.sid, "hi from v2", member.identity)
