"""Channel Webhooks (v2): types webhook, trigger and studio, validated per type; five per channel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.api.v2.helpers import UNKNOWN, error, rejected
from tests.support.servers import Server

HOOK = "https://hooks.example.com/channel"
FLOW = "FW" + "ab" * 16


def new_webhook(room: Any, **params: Any) -> Any:
    """A type-webhook channel webhook (url and filters given unless overridden)."""
    params.setdefault("type", "webhook")
    params.setdefault("configuration_url", HOOK)
    params.setdefault("configuration_filters", ["onMessageSent"])
    return room.webhooks.create(**params)


class TestCreate:
    def test_webhook_type(self, room2: Any, service2: Any, channel2: Any, server: Server) -> None:
        """A webhook needs a url and filters; method defaults to POST, retry_count to 0."""
        hook = room2.webhooks.create(
            type="webhook",
            configuration_url=HOOK,
            configuration_filters=["onMessageSent", "onMemberAdded"],
        )
        assert hook.sid.startswith("WH")
        assert len(hook.sid) == 34
        assert hook.account_sid == server.account_sid
        assert hook.service_sid == service2.sid
        assert hook.channel_sid == channel2.sid
        assert hook.type == "webhook"
        channel_url = f"{server.url}/v2/Services/{service2.sid}/Channels/{channel2.sid}"
        assert hook.url == f"{channel_url}/Webhooks/{hook.sid}"
        assert hook.configuration == {
            "url": HOOK,
            "method": "POST",
            "filters": ["onMessageSent", "onMemberAdded"],
            "retry_count": 0,
        }
        assert hook.date_created is not None

    def test_method_and_retry_count(self, room2: Any) -> None:
        """Configuration.Method GET and Configuration.RetryCount are kept as given."""
        hook = new_webhook(room2, configuration_method="GET", configuration_retry_count=3)
        assert hook.configuration["method"] == "GET"
        assert hook.configuration["retry_count"] == 3

    def test_trigger_type(self, room2: Any) -> None:
        """A trigger webhook needs a url and triggers, and shows them in configuration."""
        hook = room2.webhooks.create(
            type="trigger", configuration_url=HOOK, configuration_triggers=["help", "support"]
        )
        assert hook.type == "trigger"
        assert hook.configuration == {
            "url": HOOK,
            "method": "POST",
            "triggers": ["help", "support"],
            "retry_count": 0,
        }

    def test_studio_type(self, room2: Any) -> None:
        """A studio webhook needs a flow SID, and its configuration shows only flow_sid."""
        hook = room2.webhooks.create(type="studio", configuration_flow_sid=FLOW)
        assert hook.type == "studio"
        assert hook.configuration == {"flow_sid": FLOW}
        assert room2.webhooks(hook.sid).fetch().configuration == {"flow_sid": FLOW}

    @pytest.mark.parametrize("count", [0, 1, 2, 3])
    def test_retry_count_range(self, room2: Any, count: int) -> None:
        """Configuration.RetryCount takes 0 to 3."""
        assert new_webhook(room2, configuration_retry_count=count).configuration["retry_count"] == (
            count
        )


class TestValidation:
    def test_webhook_without_url(self, room2: Any) -> None:
        """A webhook without Configuration.Url is 400 with 50329."""
        create = room2.webhooks.create
        rejected(
            lambda: create(type="webhook", configuration_filters=["onMessageSent"]), 400, 50329
        )
        assert room2.webhooks.list() == []

    def test_webhook_without_filters(self, room2: Any) -> None:
        """A webhook without Configuration.Filters is 400 with 50330."""
        rejected(lambda: room2.webhooks.create(type="webhook", configuration_url=HOOK), 400, 50330)
        assert room2.webhooks.list() == []

    def test_unknown_filter_event(self, room2: Any) -> None:
        """A filter that is not a Chat event is 400 with 50325."""
        rejected(lambda: new_webhook(room2, configuration_filters=["onNothing"]), 400, 50325)
        assert room2.webhooks.list() == []

    def test_trigger_without_triggers(self, room2: Any) -> None:
        """A trigger webhook without Configuration.Triggers is 400 with 50331."""
        create = room2.webhooks.create
        rejected(lambda: create(type="trigger", configuration_url=HOOK), 400, 50331)

    def test_trigger_without_url(self, room2: Any) -> None:
        """A trigger webhook without Configuration.Url is 400 with 50329."""
        create = room2.webhooks.create
        rejected(lambda: create(type="trigger", configuration_triggers=["help"]), 400, 50329)

    def test_too_many_triggers(self, room2: Any) -> None:
        """More than five triggers is 400 with 50322."""
        triggers = [f"word{i}" for i in range(6)]
        create = room2.webhooks.create
        rejected(
            lambda: create(type="trigger", configuration_url=HOOK, configuration_triggers=triggers),
            400,
            50322,
        )

    def test_studio_without_flow(self, room2: Any) -> None:
        """A studio webhook without Configuration.FlowSid is 400 with 50327."""
        rejected(lambda: room2.webhooks.create(type="studio"), 400, 50327)

    def test_studio_bad_flow(self, room2: Any) -> None:
        """A Configuration.FlowSid that is not an FW SID is 400 with 50327."""
        create = room2.webhooks.create
        rejected(lambda: create(type="studio", configuration_flow_sid="my-flow"), 400, 50327)

    def test_unknown_type(self, room2: Any) -> None:
        """A Type other than webhook, trigger or studio is 400 with 50324."""
        rejected(lambda: new_webhook(room2, type="sms"), 400, 50324)

    def test_missing_type(
        self, server: Server, auth: Any, service2: Any, channel2: Any, room2: Any
    ) -> None:
        """Type is required: 400 with 50328."""
        response = requests.post(
            f"{server.url}/v2/Services/{service2.sid}/Channels/{channel2.sid}/Webhooks",
            data={"Configuration.Url": HOOK, "Configuration.Filters": "onMessageSent"},
            auth=auth,
            timeout=30,
        )
        error(response, 400, 50328)
        assert room2.webhooks.list() == []

    @pytest.mark.parametrize("count", [4, -1])
    def test_retry_count_out_of_range(self, room2: Any, count: int) -> None:
        """A retry count outside 0..3 is 400."""
        rejected(lambda: new_webhook(room2, configuration_retry_count=count), 400)
        assert room2.webhooks.list() == []

    def test_bad_method(self, room2: Any) -> None:
        """Configuration.Method must be GET or POST."""
        rejected(lambda: new_webhook(room2, configuration_method="PUT"), 400)

    def test_bad_url(self, room2: Any) -> None:
        """Configuration.Url must be an absolute http(s) URL."""
        rejected(lambda: new_webhook(room2, configuration_url="not a url"), 400)


class TestLimit:
    def test_five_per_channel(self, room2: Any) -> None:
        """A channel holds at most five webhooks: the sixth is 403 with 50321."""
        hooks = [new_webhook(room2, configuration_url=f"{HOOK}/{i}") for i in range(5)]
        rejected(lambda: new_webhook(room2), 403, 50321)
        assert [h.sid for h in room2.webhooks.list()] == [h.sid for h in hooks]

    def test_delete_frees_a_place(self, room2: Any) -> None:
        """After deleting one of five, a new webhook is accepted again (and only one)."""
        hooks = [new_webhook(room2) for _ in range(5)]
        assert room2.webhooks(hooks[2].sid).delete() is True
        replacement = new_webhook(room2, configuration_url=f"{HOOK}/new")
        assert len(room2.webhooks.list()) == 5
        assert replacement.sid in [h.sid for h in room2.webhooks.list()]
        rejected(lambda: new_webhook(room2), 403, 50321)

    def test_limit_is_per_channel(
        self, svc2: Any, room2: Any, unique: Callable[[str], str]
    ) -> None:
        """Five webhooks on one channel do not stop another channel from having its own."""
        for _ in range(5):
            new_webhook(room2)
        other = svc2.channels.create(friendly_name=unique("other"))
        assert new_webhook(svc2.channels(other.sid)).channel_sid == other.sid


class TestFetchUpdateDelete:
    def test_fetch(self, room2: Any) -> None:
        """Fetch answers the webhook as created."""
        hook = new_webhook(room2, configuration_method="GET")
        fetched = room2.webhooks(hook.sid).fetch()
        assert fetched.sid == hook.sid
        assert fetched.type == "webhook"
        assert fetched.configuration == hook.configuration
        assert fetched.url == hook.url

    def test_unknown_is_404(self, room2: Any) -> None:
        """An unknown webhook SID is 404 for fetch, update and delete."""
        ghost = room2.webhooks(UNKNOWN["WH"])
        rejected(ghost.fetch, 404)
        rejected(lambda: ghost.update(configuration_url=HOOK), 404)
        rejected(ghost.delete, 404)

    def test_other_channels_webhook_is_404(
        self, svc2: Any, room2: Any, unique: Callable[[str], str]
    ) -> None:
        """A webhook is reached only through its own channel."""
        hook = new_webhook(room2)
        other = svc2.channels.create(friendly_name=unique("other"))
        rejected(svc2.channels(other.sid).webhooks(hook.sid).fetch, 404)

    def test_update_webhook_configuration(self, room2: Any) -> None:
        """Url, Method, Filters and RetryCount round-trip through update."""
        hook = new_webhook(room2)
        ctx = room2.webhooks(hook.sid)
        updated = ctx.update(
            configuration_url=f"{HOOK}/v2",
            configuration_method="GET",
            configuration_filters=["onChannelUpdated", "onMessageRemoved"],
            configuration_retry_count=2,
        )
        expected = {
            "url": f"{HOOK}/v2",
            "method": "GET",
            "filters": ["onChannelUpdated", "onMessageRemoved"],
            "retry_count": 2,
        }
        assert updated.configuration == expected
        assert ctx.fetch().configuration == expected

    def test_update_some_fields_keeps_others(self, room2: Any) -> None:
        """An update of one configuration field leaves the others as they were."""
        hook = new_webhook(room2, configuration_method="GET", configuration_retry_count=1)
        updated = room2.webhooks(hook.sid).update(configuration_url=f"{HOOK}/moved")
        assert updated.configuration == {
            "url": f"{HOOK}/moved",
            "method": "GET",
            "filters": ["onMessageSent"],
            "retry_count": 1,
        }

    def test_update_triggers(self, room2: Any) -> None:
        """A trigger webhook's triggers are replaced whole by an update."""
        hook = room2.webhooks.create(
            type="trigger", configuration_url=HOOK, configuration_triggers=["a"]
        )
        updated = room2.webhooks(hook.sid).update(configuration_triggers=["b", "c"])
        assert updated.configuration["triggers"] == ["b", "c"]

    def test_update_flow(self, room2: Any) -> None:
        """A studio webhook's flow SID can be changed."""
        hook = room2.webhooks.create(type="studio", configuration_flow_sid=FLOW)
        other_flow = "FW" + "cd" * 16
        updated = room2.webhooks(hook.sid).update(configuration_flow_sid=other_flow)
        assert updated.configuration == {"flow_sid": other_flow}

    def test_update_validated(self, room2: Any) -> None:
        """An update is validated as a create is: an unknown filter is 400 with 50325."""
        hook = new_webhook(room2)
        ctx = room2.webhooks(hook.sid)
        rejected(lambda: ctx.update(configuration_filters=["onNothing"]), 400, 50325)
        rejected(lambda: ctx.update(configuration_retry_count=4), 400)
        assert ctx.fetch().configuration == hook.configuration

    def test_type_cannot_change(
        self, server: Server, auth: Any, room2: Any, service2: Any, channel2: Any
    ) -> None:
        """Type is not an update parameter: sending it changes nothing."""
        hook = new_webhook(room2)
        response = requests.post(
            f"{server.url}/v2/Services/{service2.sid}/Channels/{channel2.sid}/Webhooks/{hook.sid}",
            data={"Type": "studio", "Configuration.FlowSid": FLOW},
            auth=auth,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        fetched = room2.webhooks(hook.sid).fetch()
        assert fetched.type == "webhook"
        assert fetched.configuration["url"] == HOOK

    def test_delete(self, room2: Any) -> None:
        """A deleted webhook is gone: fetch is 404 and the list no longer has it."""
        keep, doomed = new_webhook(room2), new_webhook(room2)
        assert room2.webhooks(doomed.sid).delete() is True
        rejected(room2.webhooks(doomed.sid).fetch, 404)
        assert [h.sid for h in room2.webhooks.list()] == [keep.sid]


class TestList:
    def test_lists_in_creation_order(self, room2: Any) -> None:
        """list() follows the pages and sees each webhook once, in creation order."""
        hooks = [new_webhook(room2, configuration_url=f"{HOOK}/{i}") for i in range(5)]
        assert [h.sid for h in room2.webhooks.list(page_size=2)] == [h.sid for h in hooks]

    def test_pages(self, room2: Any) -> None:
        """page() gives pages of page_size; next_page() walks on."""
        hooks = [new_webhook(room2) for _ in range(3)]
        first = room2.webhooks.page(page_size=2)
        assert [h.sid for h in first] == [h.sid for h in hooks[:2]]
        assert [h.sid for h in first.next_page()] == [hooks[2].sid]

    def test_page_size_max_five(
        self, server: Server, auth: Any, service2: Any, channel2: Any, room2: Any
    ) -> None:
        """Channel webhook pages hold at most five: a larger PageSize is clamped to 5."""
        for _ in range(5):
            new_webhook(room2)
        url = f"{server.url}/v2/Services/{service2.sid}/Channels/{channel2.sid}/Webhooks"
        body = requests.get(url, params={"PageSize": 50}, auth=auth, timeout=30).json()
        assert body["meta"]["page_size"] == 5
        assert body["meta"]["key"] == "webhooks"
        assert len(body["webhooks"]) == 5
        default = requests.get(url, auth=auth, timeout=30).json()
        assert default["meta"]["page_size"] == 5

    def test_empty(self, room2: Any, channel2: Any) -> None:
        """A channel without webhooks lists none; its links name the Webhooks list."""
        assert room2.webhooks.list() == []
        assert channel2.links["webhooks"].endswith(f"/Channels/{channel2.sid}/Webhooks")
