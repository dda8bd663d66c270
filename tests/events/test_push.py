"""Push notifications through the push gateway (--push-gateway-url): one signed JSON POST per
recipient, with the service's template rendered, the recipient's bindings, and nothing at all
when the service does not enable the kind.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.events.conftest import Chinwag, Cluster, Hit, Receiver, channel_with, wait_for

TEXT_LIMIT = 110


@pytest.fixture(scope="module")
def gateway(receiver: Receiver) -> str:
    """The receiver's path that plays the push gateway."""
    return f"/gateway-{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def chinwag(cluster: Cluster, receiver: Receiver, gateway: str) -> Chinwag:
    return cluster.start("--push-gateway-url", receiver.url(gateway), "--webhook-backoff", "0.05")


class Pushes:
    """The gateway's requests about one service."""

    def __init__(self, receiver: Receiver, gateway: str, service_sid: str) -> None:
        self.receiver = receiver
        self.gateway = gateway
        self.service_sid = service_sid

    def hits(self) -> list[Hit]:
        return [
            hit
            for hit in self.receiver.at(self.gateway)
            if hit.json().get("service_sid") == self.service_sid
        ]

    def wait(self, count: int) -> list[Hit]:
        return wait_for(
            lambda: (found := self.hits()) and len(found) >= count and found,
            what=f"{count} push(es) for {self.service_sid}",
        )

    def payloads(self, count: int) -> dict[str, Any]:
        """Identity -> payload, once `count` pushes have arrived (one per identity)."""
        hits = self.wait(count)
        by_identity = {hit.json()["identity"]: hit.json() for hit in hits}
        assert len(by_identity) == len(hits), [h.json() for h in hits]
        return by_identity


@pytest.fixture
def people(chinwag: Chinwag, receiver: Receiver, gateway: str) -> Any:
    """A service with users alice ("Alice A."), bob and carol; then `people.channel(...)`."""

    class People:
        def __init__(self) -> None:
            self.svc = chinwag.new_service()
            self.service = chinwag.chat.services(self.svc.sid)
            self.users = {
                "alice": self.service.users.create(identity="alice", friendly_name="Alice A."),
                "bob": self.service.users.create(identity="bob"),
                "carol": self.service.users.create(identity="carol"),
            }
            self.pushes = Pushes(receiver, gateway, self.svc.sid)

        def enable(self, **updates: Any) -> None:
            self.service.update(**updates)

        def channel(self, *identities: str, **params: Any) -> Any:
            params.setdefault("friendly_name", "Lobby")
            return channel_with(chinwag, self.svc.sid, *identities, **params)

        def say(self, channel_sid: str, body: str, author: str = "alice") -> Any:
            return self.service.channels(channel_sid).messages.create(body=body, from_=author)

        def push_rows(self) -> list[Any]:
            return [r for r in chinwag.outbox(service=self.svc.sid) if r.kind == "push"]

    return People()


class TestNewMessage:
    def test_one_signed_post_per_member_but_the_sender(
        self, chinwag: Chinwag, people: Any, receiver: Receiver, gateway: str
    ) -> None:
        """A new message sends each member except its author one signed JSON POST with the
        default template rendered; other kinds, not enabled, send nothing."""
        people.enable(notifications_new_message_enabled=True)
        channel = people.channel("alice", "bob", "carol")
        message = people.say(channel.sid, "hello")

        payloads = people.pushes.payloads(2)
        assert set(payloads) == {"bob", "carol"}
        for identity, payload in payloads.items():
            assert payload["type"] == "twilio.channel.new_message"
            assert payload["account_sid"] == chinwag.server.account_sid
            assert payload["user_sid"] == people.users[identity].sid
            assert payload["channel_sid"] == channel.sid
            assert payload["message_sid"] == message.sid
            assert str(payload["message_index"]) == "0"
            assert payload["text"] == "Lobby;Alice A.: hello"
            assert "badge" in payload
            assert "sound" in payload
            assert payload["bindings"] == []
        hits = people.pushes.hits()
        for hit in hits:
            assert hit.method == "POST"
            assert hit.is_json
            assert hit.path == gateway
            assert "bodySHA256=" in hit.url
            assert hit.signed_by(chinwag.token), hit.url
            assert not hit.signed_by("0" * 32)
            assert "chinwag" in hit.headers.get("user-agent", "").lower()
        assert len({h.token for h in hits}) == 2
        rows = people.push_rows()
        assert sorted(r.event for r in rows) == ["twilio.channel.new_message"] * 2

    def test_muted_member_gets_none(self, chinwag: Chinwag, people: Any) -> None:
        """A member whose user channel is muted (v2 notification_level) gets no new-message push."""
        people.enable(notifications_new_message_enabled=True)
        channel = people.channel("alice", "bob", "carol")
        bob = people.users["bob"].sid
        level = (
            chinwag.chat2.services(people.svc.sid)
            .users(bob)
            .user_channels(channel.sid)
            .update(notification_level="muted")
            .notification_level
        )
        assert level == "muted"
        people.say(channel.sid, "psst")
        assert set(people.pushes.payloads(1)) == {"carol"}
        assert len(people.push_rows()) == 1

    def test_default_template_falls_back(self, people: Any) -> None:
        """${USER} is the author's identity without a friendly name; ${CHANNEL} is the unique
        name without a friendly name, and the SID without either."""
        people.enable(notifications_new_message_enabled=True)
        named = people.channel("carol", friendly_name=None, unique_name="lobby-x")
        bare = people.channel("carol", friendly_name=None)
        people.say(named.sid, "hey", author="bob")
        people.say(bare.sid, "yo", author="bob")
        texts = sorted(h.json()["text"] for h in people.pushes.wait(2))
        assert texts == sorted(["lobby-x;bob: hey", f"{bare.sid};bob: yo"])

    def test_custom_template(self, people: Any) -> None:
        """A template with ${USER_FRIENDLY_NAME}, ${CHANNEL_FRIENDLY_NAME} and ${MESSAGE}."""
        people.enable(
            notifications_new_message_enabled=True,
            notifications_new_message_template=(
                "${USER_FRIENDLY_NAME} in ${CHANNEL_FRIENDLY_NAME} says ${MESSAGE}!"
            ),
        )
        channel = people.channel("alice", "bob")
        people.say(channel.sid, "good morning")
        assert people.pushes.payloads(1)["bob"]["text"] == "Alice A. in Lobby says good morning!"

    def test_long_text_trimmed(self, people: Any) -> None:
        """A rendered text longer than 110 characters is trimmed to 110."""
        people.enable(notifications_new_message_enabled=True)
        channel = people.channel("alice", "bob")
        body = "".join(f"word{n} " for n in range(60))
        people.say(channel.sid, body)
        text = people.pushes.payloads(1)["bob"]["text"]
        full = f"Lobby;Alice A.: {body}"
        assert len(text) == TEXT_LIMIT, text
        assert text[: TEXT_LIMIT - 1] == full[: TEXT_LIMIT - 1]

    def test_sound_and_badge(self, chinwag: Chinwag, people: Any) -> None:
        """v2's sound and badge count: the badge is the recipient's unread count."""
        chinwag.chat2.services(people.svc.sid).update(
            notifications_new_message_enabled=True,
            notifications_new_message_sound="ding",
            notifications_new_message_badge_count_enabled=True,
        )
        channel = people.channel("alice", "bob")
        people.say(channel.sid, "one")
        people.say(channel.sid, "two")
        hits = people.pushes.wait(2)
        assert [h.json()["sound"] for h in hits] == ["ding", "ding"]
        assert sorted(h.json()["badge"] for h in hits) == [1, 2]


class TestMembership:
    def test_added_to_channel(self, people: Any) -> None:
        """Each member added gets an added_to_channel push of its own, and nobody else does."""
        people.enable(notifications_added_to_channel_enabled=True)
        channel = people.channel("alice")
        people.service.channels(channel.sid).members.create(identity="bob")
        payloads = people.pushes.payloads(2)
        assert set(payloads) == {"alice", "bob"}
        bob = payloads["bob"]
        assert bob["type"] == "twilio.channel.added_to_channel"
        assert bob["channel_sid"] == channel.sid
        assert bob["user_sid"] == people.users["bob"].sid
        assert bob["text"].startswith("You have been added to channel Lobby by ")
        assert len(people.push_rows()) == 2

    def test_added_to_channel_custom_template(self, people: Any) -> None:
        """The added_to_channel template renders ${CHANNEL_FRIENDLY_NAME}."""
        people.enable(
            notifications_added_to_channel_enabled=True,
            notifications_added_to_channel_template="Welcome to ${CHANNEL_FRIENDLY_NAME}",
        )
        people.channel("carol")
        assert people.pushes.payloads(1)["carol"]["text"] == "Welcome to Lobby"

    def test_removed_from_channel(self, chinwag: Chinwag, people: Any) -> None:
        """Removing a member, or the user leaving through its v2 user channel, sends that
        member a removed_from_channel push."""
        people.enable(notifications_removed_from_channel_enabled=True)
        channel = people.channel("alice", "bob", "carol")
        room = people.service.channels(channel.sid)
        room.members("bob").delete()
        carol = people.users["carol"].sid
        chinwag.chat2.services(people.svc.sid).users(carol).user_channels(channel.sid).delete()
        payloads = people.pushes.payloads(2)
        assert set(payloads) == {"bob", "carol"}
        for payload in payloads.values():
            assert payload["type"] == "twilio.channel.removed_from_channel"
            assert payload["channel_sid"] == channel.sid
            assert payload["text"].endswith("has removed you from the channel Lobby")

    def test_invited_to_channel(self, people: Any) -> None:
        """Inviting a user sends it an invited_to_channel push."""
        people.enable(notifications_invited_to_channel_enabled=True)
        channel = people.channel("alice")
        people.service.channels(channel.sid).invites.create(identity="carol")
        carol = people.pushes.payloads(1)["carol"]
        assert carol["type"] == "twilio.channel.invited_to_channel"
        assert carol["channel_sid"] == channel.sid
        assert carol["user_sid"] == people.users["carol"].sid
        assert carol["text"].endswith("has invited you to join the channel Lobby")


class TestBindings:
    def test_bindings_in_payload(self, chinwag: Chinwag, people: Any) -> None:
        """Devices registered through POST /v2/Services/{IS}/Bindings appear in their user's
        payload (those registered for the kind only); a user without any gets none."""
        people.enable(notifications_new_message_enabled=True)
        url = f"/v2/Services/{people.svc.sid}/Bindings"
        registered = {}
        for kind, address in (("apn", "apn-token-bob"), ("fcm", "fcm-token-bob")):
            response = chinwag.post(
                url, Endpoint=f"{kind}-device", Identity="bob", BindingType=kind, Address=address
            )
            assert response.status_code == 201, response.text
            registered[address] = response.json()
        other = chinwag.post(
            url,
            Endpoint="added-only",
            Identity="bob",
            BindingType="gcm",
            Address="gcm-added-only",
            MessageTypes="twilio.channel.added_to_channel",
        )
        assert other.status_code == 201, other.text
        channel = people.channel("alice", "bob", "carol")
        people.say(channel.sid, "ring ring")

        payloads = people.pushes.payloads(2)
        bindings = {b["address"]: b for b in payloads["bob"]["bindings"]}
        assert set(bindings) == {"apn-token-bob", "fcm-token-bob"}
        for address, binding in registered.items():
            assert bindings[address]["binding_sid"] == binding["sid"]
            assert bindings[address]["binding_type"] == binding["binding_type"]
        assert payloads["carol"]["bindings"] == []


class TestDisabled:
    def test_nothing_sent_when_disabled(self, people: Any) -> None:
        """With every notification kind disabled (the default), nothing is queued or sent."""
        channel = people.channel("alice", "bob")
        room = people.service.channels(channel.sid)
        people.say(channel.sid, "hello")
        room.invites.create(identity="carol")
        room.members("bob").delete()
        assert people.push_rows() == []
        assert people.pushes.hits() == []

    def test_disabled_kind_sends_nothing(self, people: Any) -> None:
        """Enabling new_message alone: adding members sends no added_to_channel push."""
        people.enable(notifications_new_message_enabled=True)
        people.channel("alice", "bob", "carol")
        assert people.push_rows() == []
