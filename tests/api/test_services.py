"""Services through the official client: create, fetch, update every parameter, list, delete."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.api.conftest import Raw, rejected

NOTIFICATION_KINDS = (
    "new_message",
    "added_to_channel",
    "removed_from_channel",
    "invited_to_channel",
)
WEBHOOK_EVENTS = (
    "on_message_send",
    "on_message_update",
    "on_message_remove",
    "on_channel_add",
    "on_channel_destroy",
    "on_channel_update",
    "on_member_add",
    "on_member_remove",
    "on_message_sent",
    "on_message_updated",
    "on_message_removed",
    "on_channel_added",
    "on_channel_destroyed",
    "on_channel_updated",
    "on_member_added",
    "on_member_removed",
)
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def services(chat: Any, unique: Callable[[str], str]) -> Iterator[list[str]]:
    """Five new services, in creation order; deleted afterwards."""
    sids = [chat.services.create(friendly_name=unique(f"page{i}")).sid for i in range(5)]
    yield sids
    for sid in sids:
        chat.services(sid).delete()


def new_role(chat: Any, service_sid: str, role_type: str, unique: Callable[[str], str]) -> str:
    permission = "createChannel" if role_type == "deployment" else "sendMessage"
    role = chat.services(service_sid).roles.create(
        friendly_name=unique(role_type), type=role_type, permission=[permission]
    )
    return str(role.sid)


class TestCreate:
    def test_defaults(self, chat: Any, service: Any, server: Any) -> None:
        """A new service has Twilio's defaults and points at its four default roles."""
        assert service.sid.startswith("IS")
        assert len(service.sid) == 34
        assert service.account_sid == server.account_sid
        assert isinstance(service.date_created, datetime)
        assert service.read_status_enabled is True
        assert service.reachability_enabled is False
        assert service.typing_indicator_timeout == 5
        assert service.consumption_report_interval == 10
        assert service.limits == {"channel_members": 100, "user_channels": 250}
        assert service.webhook_method == "POST"
        assert service.webhook_filters is None
        assert service.pre_webhook_url is None
        assert service.post_webhook_url is None
        assert service.webhooks == {}
        assert service.url == f"{server.url}/v1/Services/{service.sid}"
        assert set(service.links) == {"channels", "roles", "users"}
        roles = {r.sid: r for r in chat.services(service.sid).roles.list()}
        assert roles[service.default_service_role_sid].friendly_name == "service user"
        assert roles[service.default_channel_role_sid].friendly_name == "channel user"
        assert roles[service.default_channel_creator_role_sid].friendly_name == "channel admin"

    def test_notifications_default_off(self, service: Any) -> None:
        """Every push notification kind starts disabled, with no template."""
        assert service.notifications == {kind: {"enabled": False} for kind in NOTIFICATION_KINDS}

    def test_friendly_name_required(self, chat: Any) -> None:
        """FriendlyName is required on create: 400 with 20001."""
        rejected(lambda: chat.services.create(friendly_name=None), 400, 20001)

    def test_friendly_name_too_long(self, chat: Any) -> None:
        """A FriendlyName over 64 characters is refused."""
        rejected(lambda: chat.services.create(friendly_name="x" * 65), 400)


class TestFetchAndDelete:
    def test_fetch_by_both_domains(self, client: Any, service: Any) -> None:
        """chat.v1 and ip_messaging.v1 reach the same service."""
        assert client.chat.v1.services(service.sid).fetch().friendly_name == service.friendly_name
        assert client.ip_messaging.v1.services(service.sid).fetch().sid == service.sid

    def test_unknown_is_404(self, chat: Any) -> None:
        """An unknown service SID is 404 with 20404."""
        rejected(lambda: chat.services("IS" + "0" * 32).fetch(), 404, 20404)

    def test_unknown_update_and_delete_are_404(self, chat: Any) -> None:
        """Updating or deleting an unknown service is 404 with 20404 too."""
        ghost = chat.services("IS" + "0" * 32)
        rejected(lambda: ghost.update(friendly_name="x"), 404, 20404)
        rejected(ghost.delete, 404, 20404)

    def test_delete(self, chat: Any) -> None:
        """A deleted service is gone: fetching it is 404."""
        svc = chat.services.create(friendly_name="doomed")
        assert chat.services(svc.sid).delete() is True
        rejected(lambda: chat.services(svc.sid).fetch(), 404)

    def test_delete_removes_roles(self, chat: Any) -> None:
        """Deleting a service deletes its roles: fetching one of them is then 404."""
        svc = chat.services.create(friendly_name="doomed-with-roles")
        role_sids = [r.sid for r in chat.services(svc.sid).roles.list()]
        assert len(role_sids) == 4
        chat.services(svc.sid).delete()
        for sid in role_sids:
            rejected(lambda sid=sid: chat.services(svc.sid).roles(sid).fetch(), 404, 20404)


class TestUpdateScalars:
    def test_friendly_name(self, chat: Any, service: Any, unique: Callable[[str], str]) -> None:
        """FriendlyName changes, and the change is kept."""
        name = unique("renamed")
        assert chat.services(service.sid).update(friendly_name=name).friendly_name == name
        assert chat.services(service.sid).fetch().friendly_name == name

    def test_friendly_name_too_long(self, chat: Any, service: Any) -> None:
        """A FriendlyName over 64 characters is refused on update (50003)."""
        rejected(lambda: chat.services(service.sid).update(friendly_name="x" * 65), 400, 50003)
        assert chat.services(service.sid).fetch().friendly_name == service.friendly_name

    def test_flags(self, chat: Any, service: Any) -> None:
        """ReadStatusEnabled and ReachabilityEnabled round-trip both ways."""
        ctx = chat.services(service.sid)
        updated = ctx.update(read_status_enabled=False, reachability_enabled=True)
        assert updated.read_status_enabled is False
        assert updated.reachability_enabled is True
        fetched = ctx.fetch()
        assert fetched.read_status_enabled is False
        assert fetched.reachability_enabled is True
        back = ctx.update(read_status_enabled=True, reachability_enabled=False)
        assert back.read_status_enabled is True
        assert back.reachability_enabled is False

    def test_intervals(self, chat: Any, service: Any) -> None:
        """TypingIndicatorTimeout and ConsumptionReportInterval round-trip."""
        ctx = chat.services(service.sid)
        updated = ctx.update(typing_indicator_timeout=17, consumption_report_interval=33)
        assert updated.typing_indicator_timeout == 17
        assert updated.consumption_report_interval == 33
        fetched = ctx.fetch()
        assert (fetched.typing_indicator_timeout, fetched.consumption_report_interval) == (17, 33)

    def test_limits(self, chat: Any, service: Any) -> None:
        """Limits.ChannelMembers and Limits.UserChannels round-trip, up to 1000 and down to 1."""
        ctx = chat.services(service.sid)
        assert ctx.update(limits_channel_members=1000, limits_user_channels=1).limits == {
            "channel_members": 1000,
            "user_channels": 1,
        }
        assert ctx.update(limits_channel_members=1).limits == {
            "channel_members": 1,
            "user_channels": 1,
        }
        assert ctx.fetch().limits == {"channel_members": 1, "user_channels": 1}

    def test_no_parameters_changes_nothing(self, chat: Any, service: Any) -> None:
        """An update without parameters answers the service unchanged."""
        same = chat.services(service.sid).update()
        assert same.friendly_name == service.friendly_name
        assert same.limits == service.limits


class TestUpdateRolePointers:
    @pytest.mark.parametrize(
        ("field", "role_type"),
        [
            ("default_service_role_sid", "deployment"),
            ("default_channel_role_sid", "channel"),
            ("default_channel_creator_role_sid", "channel"),
        ],
    )
    def test_points_at_new_role(
        self,
        chat: Any,
        service: Any,
        unique: Callable[[str], str],
        field: str,
        role_type: str,
    ) -> None:
        """A default role pointer accepts a role of the right type of this service."""
        sid = new_role(chat, service.sid, role_type, unique)
        ctx = chat.services(service.sid)
        assert getattr(ctx.update(**{field: sid}), field) == sid
        assert getattr(ctx.fetch(), field) == sid

    @pytest.mark.parametrize(
        ("field", "wrong_type", "code"),
        [
            ("default_service_role_sid", "channel", 50102),
            ("default_channel_role_sid", "deployment", 50101),
            ("default_channel_creator_role_sid", "deployment", 50106),
        ],
    )
    def test_wrong_type_is_400(
        self,
        chat: Any,
        service: Any,
        unique: Callable[[str], str],
        field: str,
        wrong_type: str,
        code: int,
    ) -> None:
        """A default role pointer at a role of the other type is 400 with its role code."""
        sid = new_role(chat, service.sid, wrong_type, unique)
        rejected(lambda: chat.services(service.sid).update(**{field: sid}), 400, code)
        assert getattr(chat.services(service.sid).fetch(), field) == getattr(service, field)

    @pytest.mark.parametrize(
        "field",
        [
            "default_service_role_sid",
            "default_channel_role_sid",
            "default_channel_creator_role_sid",
        ],
    )
    def test_unknown_role_is_400(self, chat: Any, service: Any, field: str) -> None:
        """A default role pointer at a role SID that does not exist is 400."""
        rejected(lambda: chat.services(service.sid).update(**{field: "RL" + "0" * 32}), 400)
        assert getattr(chat.services(service.sid).fetch(), field) == getattr(service, field)

    def test_not_a_role_sid_is_400(self, chat: Any, service: Any) -> None:
        """A default role pointer that is not an RL SID at all is 400."""
        rejected(lambda: chat.services(service.sid).update(default_channel_role_sid="admin"), 400)

    def test_role_of_another_service_is_400(
        self, chat: Any, service: Any, unique: Callable[[str], str]
    ) -> None:
        """A default role pointer at another service's role is 400."""
        other = chat.services.create(friendly_name=unique("other"))
        try:
            foreign = other.default_channel_role_sid
            update = chat.services(service.sid).update
            rejected(lambda: update(default_channel_role_sid=foreign), 400, 50101)
        finally:
            chat.services(other.sid).delete()


class TestUpdateNotifications:
    @pytest.mark.parametrize("kind", NOTIFICATION_KINDS)
    def test_enabled_and_template(self, chat: Any, service: Any, kind: str) -> None:
        """Notifications.<Kind>.Enabled and .Template round-trip, leaving other kinds alone."""
        template = f"${{USER}} {kind} ${{CHANNEL}}: ${{MESSAGE}} é"
        ctx = chat.services(service.sid)
        updated = ctx.update(
            **{f"notifications_{kind}_enabled": True, f"notifications_{kind}_template": template}
        )
        assert updated.notifications[kind] == {"enabled": True, "template": template}
        fetched = ctx.fetch().notifications
        assert fetched[kind] == {"enabled": True, "template": template}
        for other in NOTIFICATION_KINDS:
            if other != kind:
                assert fetched[other] == {"enabled": False}

    def test_disable_keeps_template(self, chat: Any, service: Any) -> None:
        """Turning a notification off keeps its template."""
        ctx = chat.services(service.sid)
        ctx.update(notifications_new_message_enabled=True, notifications_new_message_template="t")
        updated = ctx.update(notifications_new_message_enabled=False)
        assert updated.notifications["new_message"] == {"enabled": False, "template": "t"}

    def test_empty_template_clears(self, chat: Any, service: Any) -> None:
        """An empty template clears it: the key leaves the notification object."""
        ctx = chat.services(service.sid)
        ctx.update(notifications_added_to_channel_template="hello")
        cleared = ctx.update(notifications_added_to_channel_template="")
        assert cleared.notifications["added_to_channel"] == {"enabled": False}

    def test_template_too_long(self, chat: Any, service: Any) -> None:
        """A notification template over the limit is 400 with 50058."""
        update = chat.services(service.sid).update
        rejected(lambda: update(notifications_new_message_template="x" * 5000), 400, 50058)


class TestUpdateWebhooks:
    def test_pre_and_post_urls_and_method(self, chat: Any, service: Any) -> None:
        """PreWebhookUrl, PostWebhookUrl and WebhookMethod round-trip."""
        ctx = chat.services(service.sid)
        updated = ctx.update(
            pre_webhook_url="https://hooks.example.com/pre?x=1",
            post_webhook_url="http://hooks.example.com:8080/post",
            webhook_method="GET",
        )
        assert updated.pre_webhook_url == "https://hooks.example.com/pre?x=1"
        assert updated.post_webhook_url == "http://hooks.example.com:8080/post"
        assert updated.webhook_method == "GET"
        fetched = ctx.fetch()
        assert fetched.pre_webhook_url == "https://hooks.example.com/pre?x=1"
        assert fetched.post_webhook_url == "http://hooks.example.com:8080/post"
        assert fetched.webhook_method == "GET"

    def test_empty_url_clears(self, chat: Any, service: Any) -> None:
        """An empty PreWebhookUrl or PostWebhookUrl clears it back to null."""
        ctx = chat.services(service.sid)
        ctx.update(pre_webhook_url="https://h.example/pre", post_webhook_url="https://h.example/p")
        cleared = ctx.update(pre_webhook_url="", post_webhook_url="")
        assert cleared.pre_webhook_url is None
        assert cleared.post_webhook_url is None

    def test_filters(self, chat: Any, service: Any) -> None:
        """WebhookFilters is a list, kept in order and replaced whole by each update."""
        ctx = chat.services(service.sid)
        first = ["onMessageSend", "onChannelDestroyed", "onMemberAdded"]
        assert ctx.update(webhook_filters=first).webhook_filters == first
        assert ctx.fetch().webhook_filters == first
        assert ctx.update(webhook_filters=["onUserUpdated"]).webhook_filters == ["onUserUpdated"]

    @pytest.mark.parametrize("event", WEBHOOK_EVENTS)
    def test_event_target(self, chat: Any, service: Any, event: str) -> None:
        """Webhooks.<Event>.Url/.Method appear in `webhooks` as {url, method, format}."""
        url = f"https://hooks.example.com/{event}"
        ctx = chat.services(service.sid)
        updated = ctx.update(**{f"webhooks_{event}_url": url, f"webhooks_{event}_method": "GET"})
        target = {"url": url, "method": "GET", "format": FORM}
        assert updated.webhooks == {event: target}
        assert ctx.fetch().webhooks == {event: target}

    def test_event_targets_together(self, chat: Any, service: Any) -> None:
        """Every legacy event target can be configured at once, each under its own key."""
        ctx = chat.services(service.sid)
        params = {f"webhooks_{e}_url": f"https://hooks.example.com/{e}" for e in WEBHOOK_EVENTS}
        updated = ctx.update(**params)
        assert updated.webhooks == {
            e: {"url": f"https://hooks.example.com/{e}", "method": "POST", "format": FORM}
            for e in WEBHOOK_EVENTS
        }

    def test_event_method_defaults_to_post(self, chat: Any, service: Any) -> None:
        """An event target given only a URL is called with POST."""
        updated = chat.services(service.sid).update(
            webhooks_on_message_sent_url="https://hooks.example.com/sent"
        )
        assert updated.webhooks["on_message_sent"]["method"] == "POST"

    def test_cleared_event_url_leaves_webhooks(self, chat: Any, service: Any) -> None:
        """Clearing an event target's URL removes the event from `webhooks`."""
        ctx = chat.services(service.sid)
        ctx.update(
            webhooks_on_member_add_url="https://hooks.example.com/add",
            webhooks_on_member_add_method="GET",
        )
        assert ctx.update(webhooks_on_member_add_url="").webhooks == {}
        assert ctx.fetch().webhooks == {}

    def test_method_without_url_is_not_a_target(self, chat: Any, service: Any) -> None:
        """An event given a method but no URL is not configured: it stays out of `webhooks`."""
        updated = chat.services(service.sid).update(webhooks_on_channel_add_method="GET")
        assert updated.webhooks == {}


class TestUpdateErrors:
    @pytest.mark.parametrize(
        ("field", "value", "code"),
        [
            ("limits_channel_members", 1001, 50061),
            ("limits_channel_members", 0, 50061),
            ("limits_user_channels", 1001, 50060),
            ("limits_user_channels", 0, 50060),
            ("typing_indicator_timeout", 0, 50053),
            ("consumption_report_interval", 0, 50052),
        ],
        ids=[
            "members-over",
            "members-under",
            "channels-over",
            "channels-under",
            "typing",
            "report",
        ],
    )
    def test_out_of_range(self, chat: Any, service: Any, field: str, value: int, code: int) -> None:
        """A limit or interval outside its range is 400 with its chat code."""
        rejected(lambda: chat.services(service.sid).update(**{field: value}), 400, code)
        assert chat.services(service.sid).fetch().limits == service.limits

    def test_bad_webhook_method(self, chat: Any, service: Any) -> None:
        """WebhookMethod must be GET or POST: PUT is 400 with 50055."""
        rejected(lambda: chat.services(service.sid).update(webhook_method="PUT"), 400, 50055)

    def test_bad_event_method(self, chat: Any, service: Any) -> None:
        """An event target's method must be GET or POST."""
        update = chat.services(service.sid).update
        rejected(lambda: update(webhooks_on_message_send_method="PUT"), 400, 50055)

    @pytest.mark.parametrize(
        "param", ["ReadStatusEnabled", "ReachabilityEnabled", "Notifications.NewMessage.Enabled"]
    )
    def test_bad_boolean(self, raw: Raw, service: Any, param: str) -> None:
        """A boolean that is neither true nor false is 400 naming the parameter."""
        body = raw.error(raw.post(f"/v1/Services/{service.sid}", data={param: "yes"}), 400)
        assert param in body["message"]

    def test_boolean_any_case(self, raw: Raw, service: Any) -> None:
        """Booleans are accepted in any case."""
        response = raw.post(
            f"/v1/Services/{service.sid}",
            data={"ReadStatusEnabled": "FALSE", "ReachabilityEnabled": "True"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["read_status_enabled"] is False
        assert response.json()["reachability_enabled"] is True

    def test_non_integer(self, raw: Raw, service: Any) -> None:
        """An integer parameter given text is 400 naming it."""
        response = raw.post(f"/v1/Services/{service.sid}", data={"Limits.ChannelMembers": "ten"})
        assert "Limits.ChannelMembers" in raw.error(response, 400)["message"]

    def test_unknown_filter_event(self, chat: Any, service: Any) -> None:
        """An unknown event in WebhookFilters is 400 naming it."""
        update = chat.services(service.sid).update
        err = rejected(lambda: update(webhook_filters=["onMessageSend", "onNothing"]), 400)
        assert "onNothing" in err.msg
        assert chat.services(service.sid).fetch().webhook_filters is None

    @pytest.mark.parametrize(
        ("field", "code"),
        [
            ("pre_webhook_url", 50077),
            ("post_webhook_url", 50078),
            ("webhooks_on_message_send_url", 50054),
        ],
    )
    @pytest.mark.parametrize("url", ["not a url", "ftp://hooks.example.com/x", "https://"])
    def test_bad_url(self, chat: Any, service: Any, field: str, code: int, url: str) -> None:
        """A webhook URL that is not an absolute http(s) URL is 400 with its code."""
        rejected(lambda: chat.services(service.sid).update(**{field: url}), 400, code)

    def test_failed_update_writes_nothing(
        self, chat: Any, service: Any, unique: Callable[[str], str]
    ) -> None:
        """One bad parameter refuses the whole update: the valid ones are not applied."""
        ctx = chat.services(service.sid)
        rejected(lambda: ctx.update(friendly_name=unique("half"), limits_user_channels=0), 400)
        assert ctx.fetch().friendly_name == service.friendly_name


class TestList:
    def test_follows_next_page_url(self, chat: Any, services: list[str]) -> None:
        """list(page_size=2) follows next_page_url and sees each service once, in creation order."""
        seen = [s.sid for s in chat.services.list(page_size=2)]
        assert len(seen) == len(set(seen))
        assert [sid for sid in seen if sid in services] == services

    def test_page_then_next_and_previous(self, chat: Any, services: list[str]) -> None:
        """page() gives pages of page_size; next_page() and previous_page() walk between them."""
        first = chat.services.page(page_size=2)
        first_sids = [s.sid for s in first]
        assert len(first_sids) == 2
        second = first.next_page()
        second_sids = [s.sid for s in second]
        assert len(second_sids) == 2
        assert not set(first_sids) & set(second_sids)
        back = second.previous_page()
        assert [s.sid for s in back] == first_sids

    def test_last_page_has_no_next(self, raw: Raw, services: list[str]) -> None:
        """The first page has no previous_page_url; the last has no next_page_url."""
        meta = raw.get("/v1/Services", params={"PageSize": 2}).json()["meta"]
        assert meta["previous_page_url"] is None
        while meta["next_page_url"]:
            meta = raw.get(meta["next_page_url"].removeprefix(raw.server.url)).json()["meta"]
        assert meta["next_page_url"] is None
        assert meta["previous_page_url"] is not None

    def test_meta(self, raw: Raw, server: Any, services: list[str]) -> None:
        """meta carries Twilio's keys, with absolute URLs on this server."""
        meta = raw.get("/v1/Services", params={"PageSize": 2}).json()["meta"]
        assert meta["key"] == "services"
        assert meta["page"] == 0
        assert meta["page_size"] == 2
        assert meta["first_page_url"] == f"{server.url}/v1/Services?PageSize=2&Page=0"
        assert meta["url"] == f"{server.url}/v1/Services?PageSize=2&Page=0"
        assert meta["next_page_url"].startswith(f"{server.url}/v1/Services?")
        assert "Page=1" in meta["next_page_url"]

    def test_default_page_size(self, raw: Raw) -> None:
        """Without PageSize a page holds up to 50."""
        assert raw.get("/v1/Services").json()["meta"]["page_size"] == 50

    def test_page_size_clamped(self, raw: Raw, services: list[str]) -> None:
        """PageSize above 100 is clamped to 100 on /v1/Services."""
        response = raw.get("/v1/Services", params={"PageSize": 500})
        assert response.status_code == 200, response.text
        assert response.json()["meta"]["page_size"] == 100
        assert "PageSize=100" in response.json()["meta"]["url"]

    @pytest.mark.parametrize("size", ["0", "-1", "abc", "1.5"])
    def test_bad_page_size(self, raw: Raw, size: str) -> None:
        """PageSize below 1 or not an integer is 400 with 20001."""
        raw.error(raw.get("/v1/Services", params={"PageSize": size}), 400, 20001)
