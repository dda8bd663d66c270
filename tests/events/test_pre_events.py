"""Pre-event webhooks under `--rest-webhooks all`: asked before the action, able to veto it
(non-2xx: 403/50056; no answer in time: 403/50076, and nothing written) or to rewrite the
message body and attributes with a 2xx JSON answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.events.conftest import Chinwag, Cluster, Hooks, Reply, channel_with

TIMEOUT = 1.0  # --webhook-timeout of the module's server
MESSAGE_EVENTS = ["onMessageSend", "onMessageSent"]


@pytest.fixture(scope="module")
def chinwag(cluster: Cluster) -> Chinwag:
    """A server that runs pre-events for REST actions, with a 1 s webhook timeout."""
    return cluster.start(
        "--rest-webhooks", "all", "--webhook-backoff", "0.05", "--webhook-timeout", str(TIMEOUT)
    )


def moderated(chinwag: Chinwag, hooks: Hooks, filters: list[str] = MESSAGE_EVENTS) -> Any:
    """A service with pre- and post-event URLs on the receiver."""
    return chinwag.new_service(
        pre_webhook_url=hooks.url("pre"),
        post_webhook_url=hooks.url("post"),
        webhook_filters=filters,
    )


def rejected(call: Callable[[], Any], code: int) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as err:
        call()
    assert err.value.status == 403, err.value
    assert err.value.code == code, err.value
    return err.value


def check_pre(hit: Any, chinwag: Chinwag, service_sid: str, event: str) -> dict[str, str]:
    params: dict[str, str] = hit.params
    assert params["EventType"] == event, params
    assert params["AccountSid"] == chinwag.server.account_sid
    assert params["InstanceSid"] == service_sid
    assert params["Source"] == "API"
    assert params["RetryCount"] == "0"
    assert hit.token
    assert "chinwag" in hit.headers.get("user-agent", "").lower()
    assert hit.signed_by(chinwag.token)
    return params


class TestArrival:
    def test_message_send_is_asked_before_the_message_exists(
        self, chinwag: Chinwag, hooks: Hooks
    ) -> None:
        """onMessageSend arrives while the message is not yet written, without the SID or index
        of the message being created; the post-event follows once it is."""
        svc = moderated(chinwag, hooks)
        channel = channel_with(chinwag, svc.sid)
        url = f"{chinwag.url}/v1/Services/{svc.sid}/Channels/{channel.sid}/Messages"

        def stored() -> int:
            body = requests.get(url, auth=chinwag.auth, timeout=10).json()
            return len(body["messages"])

        hooks.reply("pre", Reply(200, probe=stored))
        message = (
            chinwag.chat.services(svc.sid)
            .channels(channel.sid)
            .messages.create(body="hello", from_="alice", attributes=json.dumps({"a": 1}))
        )

        (pre,) = hooks.hits("pre")
        assert pre.probe == 0, "the message was written before the pre-event was answered"
        params = check_pre(pre, chinwag, svc.sid, "onMessageSend")
        assert params["ChannelSid"] == channel.sid
        assert params["Body"] == "hello"
        assert params["From"] == "alice"
        assert json.loads(params["Attributes"]) == {"a": 1}
        assert "MessageSid" not in params
        assert "Index" not in params
        (post,) = hooks.wait("post", 1)
        assert post.params["EventType"] == "onMessageSent"
        assert post.params["MessageSid"] == message.sid
        assert post.at > pre.at
        assert post.token != pre.token

    def test_each_action_asks_its_pre_event(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """Channel, member, message and user actions ask onChannelAdd/Update/Destroy,
        onMemberAdd/Update/Remove, onMessageUpdate/Remove and onUserUpdate, in order."""
        events = [
            "onChannelAdd",
            "onMemberAdd",
            "onMessageSend",
            "onMessageUpdate",
            "onMemberUpdate",
            "onMessageRemove",
            "onMemberRemove",
            "onUserUpdate",
            "onChannelUpdate",
            "onChannelDestroy",
        ]
        svc = moderated(chinwag, hooks, events)
        service = chinwag.chat.services(svc.sid)
        channel = service.channels.create(friendly_name="Lobby", unique_name="lobby")
        room = service.channels(channel.sid)
        member = room.members.create(identity="alice")
        message = room.messages.create(body="hi", from_="alice")
        room.messages(message.sid).update(body="hi!")
        room.members(member.sid).update(last_consumed_message_index=0)
        room.messages(message.sid).delete()
        room.members(member.sid).delete()
        service.users("alice").update(friendly_name="Alice")
        room.update(friendly_name="Hall")
        room.delete()

        hits = hooks.hits("pre")
        assert [h.event for h in hits] == events
        by_event = {str(h.event): check_pre(h, chinwag, svc.sid, str(h.event)) for h in hits}
        add = by_event["onChannelAdd"]
        assert (add["FriendlyName"], add["UniqueName"], add["ChannelType"]) == (
            "Lobby",
            "lobby",
            "public",
        )
        assert "ChannelSid" not in add
        assert by_event["onMemberAdd"]["Identity"] == "alice"
        assert by_event["onMemberAdd"]["ChannelSid"] == channel.sid
        assert "MemberSid" not in by_event["onMemberAdd"]
        assert by_event["onMessageUpdate"]["MessageSid"] == message.sid
        assert by_event["onMessageUpdate"]["Body"] == "hi!"
        assert by_event["onMemberUpdate"]["MemberSid"] == member.sid
        assert by_event["onMessageRemove"]["MessageSid"] == message.sid
        assert by_event["onMemberRemove"]["MemberSid"] == member.sid
        assert by_event["onMemberRemove"]["Identity"] == "alice"
        assert by_event["onUserUpdate"]["Identity"] == "alice"
        assert by_event["onUserUpdate"]["FriendlyName"] == "Alice"
        assert by_event["onChannelUpdate"]["ChannelSid"] == channel.sid
        assert by_event["onChannelUpdate"]["FriendlyName"] == "Hall"
        assert by_event["onChannelDestroy"]["ChannelSid"] == channel.sid


class TestRejection:
    @pytest.mark.parametrize("status", [302, 400, 403, 500])
    def test_non_2xx_rejects_the_message(self, chinwag: Chinwag, hooks: Hooks, status: int) -> None:
        """Any answer but a 2xx rejects the message (403/50056): it is not stored, takes no
        index, and raises no post-event."""
        svc = moderated(chinwag, hooks)
        channel = channel_with(chinwag, svc.sid)
        room = chinwag.chat.services(svc.sid).channels(channel.sid)
        hooks.reply("pre", Reply(status, {"body": "ignored"}))
        rejected(lambda: room.messages.create(body="bad", from_="alice"), 50056)
        assert room.messages.list() == []
        assert room.fetch().messages_count == 0

        good = room.messages.create(body="good", from_="alice")
        assert good.index == 0
        (post,) = hooks.wait("post", 1)
        assert post.params["Body"] == "good"
        assert [h.params["Body"] for h in hooks.hits("pre")] == ["bad", "good"]

    def test_rejected_channel_member_and_user_actions_write_nothing(
        self, chinwag: Chinwag, hooks: Hooks
    ) -> None:
        """Rejected channel create/update/destroy, member add/remove and user update change
        nothing, and queue no post-event."""
        events = [
            "onChannelAdd",
            "onChannelUpdate",
            "onChannelDestroy",
            "onMemberAdd",
            "onMemberRemove",
            "onUserUpdate",
            "onChannelAdded",
            "onChannelUpdated",
            "onChannelDestroyed",
            "onMemberAdded",
            "onMemberRemoved",
            "onUserUpdated",
        ]
        svc = chinwag.new_service()  # hooks attached after the setup
        service = chinwag.chat.services(svc.sid)
        channel = service.channels.create(friendly_name="Lobby")
        room = service.channels(channel.sid)
        member = room.members.create(identity="alice")
        chinwag.chat.services(svc.sid).update(
            pre_webhook_url=hooks.url("pre"),
            post_webhook_url=hooks.url("post"),
            webhook_filters=events,
        )
        hooks.reply("pre", then=Reply(403))

        rejected(lambda: service.channels.create(friendly_name="Other"), 50056)
        rejected(lambda: room.update(friendly_name="Hall"), 50056)
        rejected(lambda: room.delete(), 50056)
        rejected(lambda: room.members.create(identity="bob"), 50056)
        rejected(lambda: room.members(member.sid).delete(), 50056)
        rejected(lambda: service.users("alice").update(friendly_name="Alice"), 50056)

        assert [c.sid for c in service.channels.list()] == [channel.sid]
        after = room.fetch()
        assert after.friendly_name == "Lobby"
        assert after.members_count == 1
        assert [m.identity for m in room.members.list()] == ["alice"]
        assert [u.identity for u in service.users.list()] == ["alice"]
        assert service.users("alice").fetch().friendly_name is None
        assert len(hooks.hits("pre")) == 6
        assert chinwag.outbox(service=svc.sid) == []

    def test_rejected_removal_keeps_the_message(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """A rejected onMessageRemove leaves the message in place, unchanged."""
        svc = moderated(chinwag, hooks, ["onMessageRemove", "onMessageUpdate"])
        channel = channel_with(chinwag, svc.sid)
        room = chinwag.chat.services(svc.sid).channels(channel.sid)
        message = room.messages.create(body="keep me", from_="alice")
        hooks.reply("pre", Reply(403), Reply(500))
        rejected(lambda: room.messages(message.sid).delete(), 50056)
        rejected(lambda: room.messages(message.sid).update(body="changed"), 50056)
        assert [(m.sid, m.body) for m in room.messages.list()] == [(message.sid, "keep me")]


class TestTargets:
    def test_get_pre_hook(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """With webhook_method GET the pre-event's parameters are in the signed URL's query,
        and a non-2xx answer still rejects."""
        svc = chinwag.new_service(
            pre_webhook_url=hooks.url("pre"),
            webhook_filters=["onMessageSend"],
            webhook_method="GET",
        )
        room = chinwag.chat.services(svc.sid).channels(channel_with(chinwag, svc.sid).sid)
        hooks.reply("pre", Reply(200), Reply(403))
        room.messages.create(body="fine & dandy", from_="alice")
        rejected(lambda: room.messages.create(body="not fine", from_="alice"), 50056)
        hits = hooks.hits("pre")
        assert [h.method for h in hits] == ["GET", "GET"]
        assert [h.params["Body"] for h in hits] == ["fine & dandy", "not fine"]
        assert all(h.body == b"" and h.signed_by(chinwag.token) for h in hits)
        assert [m.body for m in room.messages.list()] == ["fine & dandy"]

    def test_v1_per_event_pre_target(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """v1's webhooks.on_message_send.url is asked without any filters, and may reject."""
        svc = chinwag.new_service(webhooks_on_message_send_url=hooks.url("send"))
        room = chinwag.chat.services(svc.sid).channels(channel_with(chinwag, svc.sid).sid)
        hooks.reply("send", Reply(403))
        rejected(lambda: room.messages.create(body="vetoed", from_="alice"), 50056)
        (hit,) = hooks.hits("send")
        assert check_pre(hit, chinwag, svc.sid, "onMessageSend")["Body"] == "vetoed"
        assert room.messages.list() == []


class TestTimeout:
    def test_slow_hook_rejects_with_50076(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """A pre-event hook that does not answer within --webhook-timeout rejects the action
        (403/50076) at the timeout, and nothing is written."""
        svc = moderated(chinwag, hooks)
        channel = channel_with(chinwag, svc.sid)
        room = chinwag.chat.services(svc.sid).channels(channel.sid)
        hooks.reply("pre", Reply(200, delay=TIMEOUT + 2.5))
        started = time.monotonic()
        rejected(lambda: room.messages.create(body="slow", from_="alice"), 50076)
        elapsed = time.monotonic() - started
        assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 2.0, elapsed
        assert room.messages.list() == []

        assert room.messages.create(body="fast", from_="alice").index == 0
        (post,) = hooks.wait("post", 1)
        assert post.params["Body"] == "fast"


class TestModification:
    def test_body_rewritten(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """A 2xx JSON answer {"body": ...} replaces the body that is stored and announced."""
        svc = moderated(chinwag, hooks)
        room = chinwag.chat.services(svc.sid).channels(channel_with(chinwag, svc.sid).sid)
        hooks.reply("pre", Reply(200, {"body": "clean words"}))
        message = room.messages.create(body="dirty words", from_="alice")
        assert message.body == "clean words"
        assert room.messages(message.sid).fetch().body == "clean words"
        (post,) = hooks.wait("post", 1)
        assert post.params["Body"] == "clean words"

    def test_attributes_rewritten(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """A 2xx JSON answer {"attributes": {...}} replaces the stored attributes."""
        svc = moderated(chinwag, hooks)
        room = chinwag.chat.services(svc.sid).channels(channel_with(chinwag, svc.sid).sid)
        hooks.reply("pre", Reply(200, {"attributes": {"flagged": True}}))
        message = room.messages.create(body="hm", from_="alice", attributes='{"a": 1}')
        assert json.loads(message.attributes) == {"flagged": True}
        assert json.loads(room.messages(message.sid).fetch().attributes) == {"flagged": True}
        assert message.body == "hm"

    def test_update_rewritten(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """onMessageUpdate may rewrite the new body too."""
        svc = moderated(chinwag, hooks, ["onMessageUpdate"])
        room = chinwag.chat.services(svc.sid).channels(channel_with(chinwag, svc.sid).sid)
        message = room.messages.create(body="first", from_="alice")
        hooks.reply("pre", Reply(200, {"body": "second, moderated"}))
        assert room.messages(message.sid).update(body="second").body == "second, moderated"
        assert room.messages(message.sid).fetch().body == "second, moderated"

    def test_channel_friendly_name_rewritten(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """onChannelAdd may rewrite the channel's friendly_name."""
        svc = moderated(chinwag, hooks, ["onChannelAdd"])
        hooks.reply("pre", Reply(200, {"friendly_name": "Renamed"}))
        channel = chinwag.chat.services(svc.sid).channels.create(friendly_name="Original")
        assert channel.friendly_name == "Renamed"

    @pytest.mark.parametrize(
        "answer",
        [{"attributes": "not json"}, "<html>not json</html>", [1, 2]],
        ids=["bad-attributes", "not-json", "not-an-object"],
    )
    def test_invalid_answer_ignored(self, chinwag: Chinwag, hooks: Hooks, answer: Any) -> None:
        """A 2xx answer that is not a valid change is ignored: the original is stored."""
        svc = moderated(chinwag, hooks)
        room = chinwag.chat.services(svc.sid).channels(channel_with(chinwag, svc.sid).sid)
        hooks.reply("pre", Reply(200, answer))
        message = room.messages.create(body="original", from_="alice", attributes='{"a": 1}')
        assert message.body == "original"
        assert json.loads(message.attributes) == {"a": 1}
        stored = room.messages(message.sid).fetch()
        assert (stored.body, json.loads(stored.attributes)) == ("original", {"a": 1})


class TestRetries:
    def test_retry_count_retries_a_503(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """With pre_webhook_retry_count 2, two 503s are retried (same token, RetryCount 0,1,2)
        and the third answer lets the message through."""
        svc = moderated(chinwag, hooks)
        chinwag.chat2.services(svc.sid).update(pre_webhook_retry_count=2)
        room = chinwag.chat.services(svc.sid).channels(channel_with(chinwag, svc.sid).sid)
        hooks.reply("pre", Reply(503), Reply(503))
        message = room.messages.create(body="persistent", from_="alice")
        assert message.body == "persistent"
        hits = hooks.hits("pre")
        assert [h.params["RetryCount"] for h in hits] == ["0", "1", "2"]
        assert len({h.token for h in hits}) == 1
        assert all(h.signed_by(chinwag.token) for h in hits)

    def test_no_retry_by_default(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """Without a retry count a 503 rejects at once, after a single attempt."""
        svc = moderated(chinwag, hooks)
        room = chinwag.chat.services(svc.sid).channels(channel_with(chinwag, svc.sid).sid)
        hooks.reply("pre", Reply(503))
        rejected(lambda: room.messages.create(body="once", from_="alice"), 50056)
        assert len(hooks.hits("pre")) == 1
        assert room.messages.list() == []

    def test_500_is_not_retried(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """Only timeouts, 429, 503 and 504 are retried: a 500 rejects after one attempt."""
        svc = moderated(chinwag, hooks)
        chinwag.chat2.services(svc.sid).update(pre_webhook_retry_count=3)
        room = chinwag.chat.services(svc.sid).channels(channel_with(chinwag, svc.sid).sid)
        hooks.reply("pre", Reply(500))
        rejected(lambda: room.messages.create(body="once", from_="alice"), 50056)
        assert len(hooks.hits("pre")) == 1
