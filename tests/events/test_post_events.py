"""Post-event webhooks: what each event carries, where it goes, and when REST actions raise it.

Most tests run against a server with `--rest-webhooks post` (every REST action raises its
post-event); `TestTwilioMode` runs against the default mode, where only v2 requests with
`X-Twilio-Webhook-Enabled: true` do. Events of one channel (or, for users, of one service) to one
URL are delivered in order, so waiting for a later event proves an earlier one was not sent.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from tests.events.conftest import (
    WEBHOOK_ARGS,
    Chinwag,
    Cluster,
    Hit,
    Hooks,
    Reply,
    channel_with,
)

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
POST_EVENTS = [
    "onChannelAdded",
    "onChannelUpdated",
    "onChannelDestroyed",
    "onMemberAdded",
    "onMemberUpdated",
    "onMemberRemoved",
    "onMessageSent",
    "onMessageUpdated",
    "onMessageRemoved",
    "onUserAdded",
    "onUserUpdated",
]
FLOW = "FW" + "0" * 32


@pytest.fixture(scope="module")
def post(cluster: Cluster) -> Chinwag:
    """A server where every REST action raises its post-events."""
    return cluster.start("--rest-webhooks", "post", *WEBHOOK_ARGS)


@pytest.fixture(scope="module")
def twilio_mode(cluster: Cluster) -> Chinwag:
    """A server in the default mode: post-events only with X-Twilio-Webhook-Enabled: true."""
    return cluster.start(*WEBHOOK_ARGS)


def watched(chinwag: Chinwag, url: str, filters: list[str] = POST_EVENTS, **more: Any) -> Any:
    """A service whose post-event URL is `url`, with `filters`."""
    return chinwag.new_service(post_webhook_url=url, webhook_filters=filters, **more)


def twilio_date(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_common(hit: Hit, chinwag: Chinwag, service_sid: str, event: str) -> dict[str, str]:
    """The parameters and headers every post-event has; its parameters."""
    params = hit.params
    assert params["EventType"] == event, params
    assert params["AccountSid"] == chinwag.server.account_sid
    assert params["InstanceSid"] == service_sid
    assert params["Source"] == "API"
    assert params["RetryCount"] == "0"
    assert hit.method == "POST"
    assert hit.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert "chinwag" in hit.headers.get("user-agent", "").lower()
    assert hit.token, "no I-Twilio-Idempotency-Token"
    assert hit.signed_by(chinwag.token), f"signature does not validate for {hit.url}"
    for name in ("DateCreated", "DateUpdated", "DateRemoved", "DateDestroyed"):
        if name in params:
            assert DATE_RE.match(params[name]), (name, params[name])
    return params


class TestChannelEvents:
    def test_added_updated_destroyed(
        self, post: Chinwag, hooks: Hooks, ids: Callable[[str], str]
    ) -> None:
        """onChannelAdded/Updated/Destroyed carry the channel's fields under Twilio's names."""
        svc = watched(post, hooks.url("post"))
        channels = post.chat.services(svc.sid).channels
        unique_name = ids("lobby")
        channel = channels.create(
            friendly_name="Lobby",
            unique_name=unique_name,
            attributes=json.dumps({"topic": "news"}),
            type="private",
        )
        updated = channels(channel.sid).update(friendly_name="Hall")
        channels(channel.sid).delete()

        hits = hooks.wait("post", 3)
        assert [h.event for h in hits] == [
            "onChannelAdded",
            "onChannelUpdated",
            "onChannelDestroyed",
        ]
        added = check_common(hits[0], post, svc.sid, "onChannelAdded")
        assert added["ChannelSid"] == channel.sid
        assert added["FriendlyName"] == "Lobby"
        assert added["UniqueName"] == unique_name
        assert json.loads(added["Attributes"]) == {"topic": "news"}
        assert added["ChannelType"] == "private"
        assert added.get("CreatedBy") == channel.created_by
        assert added["DateCreated"] == twilio_date(channel.date_created)

        changed = check_common(hits[1], post, svc.sid, "onChannelUpdated")
        assert changed["ChannelSid"] == channel.sid
        assert changed["FriendlyName"] == "Hall"
        assert changed["UniqueName"] == unique_name
        assert changed["ChannelType"] == "private"
        assert changed["DateCreated"] == twilio_date(channel.date_created)
        assert changed["DateUpdated"] == twilio_date(updated.date_updated)

        destroyed = check_common(hits[2], post, svc.sid, "onChannelDestroyed")
        assert destroyed["ChannelSid"] == channel.sid
        assert destroyed["FriendlyName"] == "Hall"
        assert destroyed["ChannelType"] == "private"
        assert json.loads(destroyed["Attributes"]) == {"topic": "news"}
        assert "DateDestroyed" in destroyed


class TestMemberEvents:
    def test_added_updated_removed(self, post: Chinwag, hooks: Hooks) -> None:
        """onMemberAdded/Updated/Removed name the member, its channel, identity and role."""
        svc = watched(
            post, hooks.url("post"), ["onMemberAdded", "onMemberUpdated", "onMemberRemoved"]
        )
        room = post.chat.services(svc.sid).channels(channel_with(post, svc.sid).sid)
        member = room.members.create(identity="alice")
        room.messages.create(body="hi", from_="alice")
        room.members(member.sid).update(last_consumed_message_index=0)
        room.members(member.sid).delete()

        hits = hooks.wait("post", 3)
        assert [h.event for h in hits] == ["onMemberAdded", "onMemberUpdated", "onMemberRemoved"]
        for hit, event in zip(
            hits, ["onMemberAdded", "onMemberUpdated", "onMemberRemoved"], strict=True
        ):
            params = check_common(hit, post, svc.sid, event)
            assert params["MemberSid"] == member.sid
            assert params["ChannelSid"] == member.channel_sid
            assert params["Identity"] == "alice"
            assert params["RoleSid"] == member.role_sid
        added, updated, removed = (hit.params for hit in hits)
        assert added["Reason"] == "ADDED"
        assert added["DateCreated"] == twilio_date(member.date_created)
        assert updated["LastConsumedMessageIndex"] == "0"
        assert "DateUpdated" in updated
        assert removed["Reason"] == "REMOVED"
        assert removed["DateCreated"] == twilio_date(member.date_created)
        assert "DateRemoved" in removed

    def test_leaving_through_user_channel(self, post: Chinwag, hooks: Hooks) -> None:
        """Deleting a v2 user channel (leaving) raises onMemberRemoved for that membership."""
        svc = watched(post, hooks.url("post"), ["onMemberRemoved"])
        channel = channel_with(post, svc.sid)
        member = post.chat.services(svc.sid).channels(channel.sid).members.create(identity="bob")
        user = post.chat.services(svc.sid).users("bob").fetch()
        post.chat2.services(svc.sid).users(user.sid).user_channels(channel.sid).delete()

        (hit,) = hooks.wait("post", 1)
        params = check_common(hit, post, svc.sid, "onMemberRemoved")
        assert params["MemberSid"] == member.sid
        assert params["ChannelSid"] == channel.sid
        assert params["Identity"] == "bob"

    def test_declining_through_user_channel_is_silent(self, post: Chinwag, hooks: Hooks) -> None:
        """Deleting an invited v2 user channel removes the invite, as deleting the Invite does:
        no onMemberRemoved (there was no member) and nothing queued."""
        svc = watched(post, hooks.url("post"), ["onMemberRemoved"])
        channel = channel_with(post, svc.sid)
        user = post.chat.services(svc.sid).users.create(identity="carol")
        post.chat.services(svc.sid).channels(channel.sid).invites.create(identity="carol")
        post.chat2.services(svc.sid).users(user.sid).user_channels(channel.sid).delete()
        assert post.chat.services(svc.sid).channels(channel.sid).invites.list() == []
        assert post.outbox(service=svc.sid) == []
        assert hooks.hits("post") == []


class TestMessageEvents:
    def test_sent_updated_removed(self, post: Chinwag, hooks: Hooks) -> None:
        """onMessageSent/Updated/Removed carry the message's SID, index, body, author and dates."""
        svc = watched(
            post, hooks.url("post"), ["onMessageSent", "onMessageUpdated", "onMessageRemoved"]
        )
        channel = channel_with(post, svc.sid)
        room = post.chat.services(svc.sid).channels(channel.sid)
        message = room.messages.create(body="hello", from_="alice", attributes=json.dumps({"k": 1}))
        edited = room.messages(message.sid).update(body="edited")
        room.messages(message.sid).delete()

        hits = hooks.wait("post", 3)
        events = ["onMessageSent", "onMessageUpdated", "onMessageRemoved"]
        assert [h.event for h in hits] == events
        for hit, event in zip(hits, events, strict=True):
            params = check_common(hit, post, svc.sid, event)
            assert params["MessageSid"] == message.sid
            assert params["Index"] == "0"
            assert params["ChannelSid"] == channel.sid
            assert params["From"] == "alice"
            assert json.loads(params["Attributes"]) == {"k": 1}
            assert params["DateCreated"] == twilio_date(message.date_created)
        sent, updated, removed = (hit.params for hit in hits)
        assert sent["Body"] == "hello"
        assert updated["Body"] == "edited"
        assert "ModifiedBy" in updated
        assert updated["DateUpdated"] == twilio_date(edited.date_updated)
        assert removed["Body"] == "edited"
        assert "RemovedBy" in removed
        assert "DateRemoved" in removed

    def test_a_url_kilobytes_long_gets_every_event_in_order(
        self, post: Chinwag, hooks: Hooks
    ) -> None:
        """A webhook URL of 3,200 characters: its queue's name is stored as a digest, so the
        create that enqueues to it works (PostgreSQL refused the index entry: 503), and its
        deliveries arrive in order, to the URL as it was set."""
        pad = secrets.token_urlsafe(2400)  # 3,200 characters that do not compress
        long_url = hooks.url("post") + "?pad=" + pad
        svc = watched(post, long_url, ["onMessageSent"])
        channel = channel_with(post, svc.sid)
        room = post.chat.services(svc.sid).channels(channel.sid)
        for body in ("one", "two", "three"):
            room.messages.create(body=body, from_="alice")
        hits = hooks.wait("post", 3)
        assert [hit.params["Body"] for hit in hits] == ["one", "two", "three"]
        assert all(hit.url.endswith("?pad=" + pad) for hit in hits)


class TestUserEvents:
    def test_added_updated(self, post: Chinwag, hooks: Hooks) -> None:
        """onUserAdded/Updated carry the user's fields; no reachability unless it is enabled."""
        svc = watched(post, hooks.url("post"), ["onUserAdded", "onUserUpdated"])
        users = post.chat.services(svc.sid).users
        user = users.create(
            identity="zoe", friendly_name="Zoe", attributes=json.dumps({"team": "blue"})
        )
        changed = users(user.sid).update(friendly_name="Zoe Z.")

        hits = hooks.wait("post", 2)
        assert [h.event for h in hits] == ["onUserAdded", "onUserUpdated"]
        added = check_common(hits[0], post, svc.sid, "onUserAdded")
        updated = check_common(hits[1], post, svc.sid, "onUserUpdated")
        for params in (added, updated):
            assert params["UserSid"] == user.sid
            assert params["Identity"] == "zoe"
            assert params["RoleSid"] == user.role_sid
            assert json.loads(params["Attributes"]) == {"team": "blue"}
            assert params["DateCreated"] == twilio_date(user.date_created)
            assert "IsOnline" not in params
            assert "IsNotifiable" not in params
        assert added["FriendlyName"] == "Zoe"
        assert updated["FriendlyName"] == "Zoe Z."
        assert updated["DateUpdated"] == twilio_date(changed.date_updated)


class TestRequests:
    def test_signed_with_unique_tokens(self, post: Chinwag, hooks: Hooks) -> None:
        """Every request is signed over its full URL (query included), names chinwag, and has an
        idempotency token of its own; a wrong auth token does not validate."""
        svc = watched(post, hooks.url("post") + "?tenant=a&x=1")
        service = post.chat.services(svc.sid)
        service.users.create(identity="ann")
        channel = channel_with(post, svc.sid, "ann", friendly_name="Room")
        room = service.channels(channel.sid)
        for n in range(3):
            room.messages.create(body=f"message {n} & more = fun", from_="ann")
        service.channels(channel.sid).update(friendly_name="Room 2")

        hits = hooks.wait("post", 7)
        assert len(hits) == 7
        assert sorted(str(h.event) for h in hits) == sorted(
            ["onUserAdded", "onChannelAdded", "onMemberAdded"]
            + ["onMessageSent"] * 3
            + ["onChannelUpdated"]
        )
        for hit in hits:
            check_common(hit, post, svc.sid, str(hit.event))
            assert hit.url.endswith("?tenant=a&x=1")
            assert not hit.signed_by("0" * 32)
        tokens = [hit.token for hit in hits]
        assert len(set(tokens)) == len(tokens)


class TestFilters:
    def test_only_listed_events(self, post: Chinwag, hooks: Hooks) -> None:
        """With WebhookFilters=[onMessageSent], only onMessageSent reaches the post URL."""
        svc = watched(post, hooks.url("post"), ["onMessageSent"])
        channel = channel_with(post, svc.sid, "alice")
        room = post.chat.services(svc.sid).channels(channel.sid)
        first = room.messages.create(body="one", from_="alice")
        room.messages(first.sid).update(body="one, edited")
        room.messages.create(body="two", from_="alice")

        hits = hooks.wait("post", 2)
        assert [h.event for h in hits] == ["onMessageSent", "onMessageSent"]
        assert [h.params["Body"] for h in hits] == ["one", "two"]

    def test_no_filters_send_nothing(self, post: Chinwag, hooks: Hooks) -> None:
        """A post URL without webhook_filters gets no event: nothing is even queued."""
        svc = post.new_service(post_webhook_url=hooks.url("post"))
        assert svc.webhook_filters is None
        channel = channel_with(post, svc.sid, "alice")
        post.chat.services(svc.sid).channels(channel.sid).messages.create(body="x")
        assert post.outbox(service=svc.sid) == []
        assert hooks.hits("post") == []

    def test_empty_filter_list_sends_nothing(self, post: Chinwag, hooks: Hooks) -> None:
        """Clearing webhook_filters (WebhookFilters=) stops every event to the post URL."""
        svc = watched(post, hooks.url("post"), ["onMessageSent", "onChannelAdded"])
        response = post.post(f"/v1/Services/{svc.sid}", WebhookFilters="")
        assert response.status_code == 200, response.text
        assert response.json()["webhook_filters"] in ([], None)
        channel = channel_with(post, svc.sid, "alice")
        post.chat.services(svc.sid).channels(channel.sid).messages.create(body="x")
        assert post.outbox(service=svc.sid) == []
        assert hooks.hits("post") == []


class TestMethod:
    def test_get_puts_params_in_query(self, post: Chinwag, hooks: Hooks) -> None:
        """webhook_method GET sends the parameters in the query string, appended to the URL's
        own query, and signs the full URL."""
        svc = watched(
            post, hooks.url("post") + "?tenant=a", ["onMessageSent"], webhook_method="GET"
        )
        channel = channel_with(post, svc.sid)
        post.chat.services(svc.sid).channels(channel.sid).messages.create(
            body="a&b=c d", from_="alice"
        )

        (hit,) = hooks.wait("post", 1)
        assert hit.method == "GET"
        assert hit.body == b""
        params = hit.params
        assert params["tenant"] == "a"
        assert params["EventType"] == "onMessageSent"
        assert params["Body"] == "a&b=c d"
        assert params["InstanceSid"] == svc.sid
        assert params["RetryCount"] == "0"
        assert hit.signed_by(post.token)


class TestV1Targets:
    def test_per_event_urls_need_no_filters(self, post: Chinwag, hooks: Hooks) -> None:
        """v1's webhooks.on_message_sent.url and on_channel_added.url (with its method) get
        their own event, and only it, without any webhook_filters."""
        svc = post.new_service(
            webhooks_on_message_sent_url=hooks.url("sent"),
            webhooks_on_channel_added_url=hooks.url("added"),
            webhooks_on_channel_added_method="GET",
        )
        assert svc.webhook_filters is None
        channel = channel_with(post, svc.sid)
        post.chat.services(svc.sid).channels(channel.sid).messages.create(body="hi", from_="al")

        (sent,) = hooks.wait("sent", 1)
        assert sent.method == "POST"
        assert check_common(sent, post, svc.sid, "onMessageSent")["Body"] == "hi"
        (added,) = hooks.wait("added", 1)
        assert added.method == "GET"
        assert added.params["EventType"] == "onChannelAdded"
        assert added.params["ChannelSid"] == channel.sid
        assert added.signed_by(post.token)


class TestTwilioMode:
    def test_rest_actions_send_nothing_without_the_header(
        self, twilio_mode: Chinwag, hooks: Hooks
    ) -> None:
        """In the default mode a REST action without X-Twilio-Webhook-Enabled raises nothing."""
        chinwag = twilio_mode
        svc = watched(chinwag, hooks.url("post"))
        chinwag.chat.services(svc.sid).users.create(identity="ann")
        channel = channel_with(chinwag, svc.sid, "ann")
        chinwag.chat.services(svc.sid).channels(channel.sid).messages.create(body="x")
        chinwag.chat2.services(svc.sid).channels(channel.sid).messages.create(body="y")
        assert chinwag.outbox(service=svc.sid) == []
        assert hooks.hits("post") == []

    def test_header_true_sends_the_post_event(self, twilio_mode: Chinwag, hooks: Hooks) -> None:
        """With v2's X-Twilio-Webhook-Enabled: true the post-event is sent; with false it is not."""
        chinwag = twilio_mode
        svc = watched(chinwag, hooks.url("post"))
        service = chinwag.chat2.services(svc.sid)
        channel = service.channels.create(friendly_name="loud", x_twilio_webhook_enabled="true")
        service.channels(channel.sid).members.create(identity="ann")
        messages = service.channels(channel.sid).messages
        messages.create(body="quiet", from_="ann", x_twilio_webhook_enabled="false")
        messages.create(body="loud", from_="ann", x_twilio_webhook_enabled="true")

        hits = hooks.wait("post", 2)
        assert [h.event for h in hits] == ["onChannelAdded", "onMessageSent"]
        assert check_common(hits[1], chinwag, svc.sid, "onMessageSent")["Body"] == "loud"


class TestChannelWebhooks:
    def test_webhook_type_gets_its_filtered_events(self, post: Chinwag, hooks: Hooks) -> None:
        """A channel webhook of type webhook receives the events its filters list, naming
        itself with WebhookSid, and nothing else."""
        svc = post.new_service()
        channel = channel_with(post, svc.sid)
        room = post.chat2.services(svc.sid).channels(channel.sid)
        hook = room.webhooks.create(
            type="webhook",
            configuration_url=hooks.url("channel"),
            configuration_filters=["onMessageSent", "onMemberAdded"],
        )
        room.members.create(identity="alice")
        first = room.messages.create(body="one", from_="alice")
        room.messages(first.sid).update(body="one, edited")
        room.messages.create(body="two", from_="alice")

        hits = hooks.wait("channel", 3)
        assert [h.event for h in hits] == ["onMemberAdded", "onMessageSent", "onMessageSent"]
        for hit in hits:
            params = check_common(hit, post, svc.sid, str(hit.event))
            assert params["WebhookSid"] == hook.sid
            assert params["ChannelSid"] == channel.sid
        assert [h.params.get("Body") for h in hits[1:]] == ["one", "two"]

    def test_trigger_fires_on_keywords(self, post: Chinwag, hooks: Hooks) -> None:
        """A trigger webhook fires onMessageSent only for bodies containing one of its keywords."""
        svc = post.new_service()
        channel = channel_with(post, svc.sid)
        room = post.chat2.services(svc.sid).channels(channel.sid)
        hook = room.webhooks.create(
            type="trigger",
            configuration_url=hooks.url("trigger"),
            configuration_triggers=["help", "urgent"],
        )
        for body in ("nothing here", "help me please", "still nothing", "this is urgent"):
            room.messages.create(body=body, from_="alice")

        hits = hooks.wait("trigger", 2)
        assert [h.params["Body"] for h in hits] == ["help me please", "this is urgent"]
        for hit in hits:
            params = check_common(hit, post, svc.sid, "onMessageSent")
            assert params["WebhookSid"] == hook.sid

    def test_webhook_method_get(self, post: Chinwag, hooks: Hooks) -> None:
        """A channel webhook with configuration.method GET sends its events as signed GETs."""
        svc = post.new_service()
        channel = channel_with(post, svc.sid)
        room = post.chat2.services(svc.sid).channels(channel.sid)
        hook = room.webhooks.create(
            type="webhook",
            configuration_url=hooks.url("channel"),
            configuration_method="GET",
            configuration_filters=["onMessageSent"],
        )
        room.messages.create(body="by get", from_="alice")
        (hit,) = hooks.wait("channel", 1)
        assert hit.method == "GET"
        assert hit.body == b""
        assert hit.params["WebhookSid"] == hook.sid
        assert hit.params["Body"] == "by get"
        assert hit.signed_by(post.token)

    def test_studio_sends_nothing(self, post: Chinwag, hooks: Hooks) -> None:
        """A studio webhook is stored, but there is no Studio to call: nothing is queued."""
        svc = post.new_service()
        channel = channel_with(post, svc.sid)
        room = post.chat2.services(svc.sid).channels(channel.sid)
        room.webhooks.create(type="studio", configuration_flow_sid=FLOW)
        room.messages.create(body="help", from_="alice")
        assert post.outbox(service=svc.sid) == []

    def test_retry_count_is_the_webhooks_own(self, post: Chinwag, hooks: Hooks) -> None:
        """A channel webhook's configuration.retry_count retries a 503 with the same token."""
        svc = post.new_service()
        channel = channel_with(post, svc.sid)
        room = post.chat2.services(svc.sid).channels(channel.sid)
        room.webhooks.create(
            type="webhook",
            configuration_url=hooks.url("channel"),
            configuration_filters=["onMessageSent"],
            configuration_retry_count=1,
        )
        hooks.reply("channel", Reply(503))
        room.messages.create(body="again", from_="alice")
        hits = hooks.wait("channel", 2)
        assert [h.params["RetryCount"] for h in hits] == ["0", "1"]
        assert hits[0].token == hits[1].token


def test_filters_reject_unknown_events(post: Chinwag) -> None:
    """webhook_filters takes Twilio's event names only (50054 otherwise)."""
    svc = post.new_service()
    response = post.post(f"/v1/Services/{svc.sid}", WebhookFilters="onSomethingElse")
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 50054
