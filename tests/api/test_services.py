"""Services through the official client: create, fetch, update every parameter, list, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException


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

    def test_friendly_name_required(self, chat: Any) -> None:
        with pytest.raises(TwilioRestException) as err:
            chat.services.create(friendly_name=None)  # type: ignore[arg-type]
        assert err.value.status == 400
        assert err.value.code == 20001

    def test_friendly_name_too_long(self, chat: Any) -> None:
        with pytest.raises(TwilioRestException) as err:
            chat.services.create(friendly_name="x" * 65)
        assert err.value.status == 400


class TestFetchAndDelete:
    def test_fetch_by_both_domains(self, client: Any, service: Any) -> None:
        """chat.v1 and ip_messaging.v1 reach the same service."""
        assert client.chat.v1.services(service.sid).fetch().friendly_name == service.friendly_name
        assert client.ip_messaging.v1.services(service.sid).fetch().sid == service.sid

    def test_unknown_is_404(self, chat: Any) -> None:
        with pytest.raises(TwilioRestException) as err:
            chat.services("IS" + "0" * 32).fetch()
        assert err.value.status == 404
        assert err.value.code == 20404

    def test_delete(self, chat: Any) -> None:
        svc = chat.services.create(friendly_name="doomed")
        assert chat.services(svc.sid).delete() is True
        with pytest.raises(TwilioRestException) as err:
            chat.services(svc.sid).fetch()
        assert err.value.status == 404
