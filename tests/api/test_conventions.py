"""Twilio's REST conventions, shared by every resource: domains, methods, forms, dates, paging."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.api.conftest import OtherAccount, Raw

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MAX_BODY = 1024 * 1024


@pytest.fixture
def role_sid(chat: Any, service: Any) -> str:
    role = chat.services(service.sid).roles.create(
        friendly_name="conv", type="channel", permission=["sendMessage"]
    )
    return str(role.sid)


@pytest.fixture
def credential_sid(chat: Any) -> Iterator[str]:
    cred = chat.credentials.create(type="fcm", friendly_name="conv", secret="s")
    yield cred.sid
    try:
        chat.credentials(cred.sid).delete()
    except TwilioRestException as err:
        if err.status != 404:  # else the test deleted it already
            raise


def page_token(meta: dict[str, Any]) -> str:
    """The PageToken of a page's next_page_url."""
    query = parse_qs(urlsplit(meta["next_page_url"]).query)
    return str(query["PageToken"][0])


def assert_twilio_date(value: str) -> None:
    assert DATE_RE.match(value), value
    moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=5), value


class TestIpMessagingDomain:
    def test_services(self, client: Any, unique: Any) -> None:
        """ip_messaging.v1 creates, updates, lists and deletes services on the same routes."""
        ipm = client.ip_messaging.v1
        svc = ipm.services.create(friendly_name=unique("ipm"))
        assert client.chat.v1.services(svc.sid).fetch().friendly_name == svc.friendly_name
        assert (
            ipm.services(svc.sid).update(typing_indicator_timeout=9).typing_indicator_timeout == 9
        )
        assert svc.sid in {s.sid for s in ipm.services.list(page_size=2)}
        assert ipm.services(svc.sid).delete() is True
        with pytest.raises(TwilioRestException) as err:
            client.chat.v1.services(svc.sid).fetch()
        assert err.value.status == 404

    def test_roles(self, client: Any, service: Any) -> None:
        """ip_messaging.v1 reaches the roles chat.v1 sees."""
        ipm_roles = {r.sid for r in client.ip_messaging.v1.services(service.sid).roles.list()}
        assert ipm_roles == {r.sid for r in client.chat.v1.services(service.sid).roles.list()}
        role = client.ip_messaging.v1.services(service.sid).roles.create(
            friendly_name="ipm", type="deployment", permission=["joinChannel"]
        )
        assert client.chat.v1.services(service.sid).roles(role.sid).fetch().type == "deployment"

    def test_credentials(self, client: Any, credential_sid: str) -> None:
        """ip_messaging.v1 reaches the credentials chat.v1 sees."""
        cred = client.ip_messaging.v1.credentials(credential_sid).fetch()
        assert cred.friendly_name == "conv"
        assert cred.type == "fcm"

    def test_urls_stay_on_this_server(self, client: Any, server: Any, service: Any) -> None:
        """Resources fetched through ip_messaging have absolute URLs on this server."""
        svc = client.ip_messaging.v1.services(service.sid).fetch()
        assert svc.url == f"{server.url}/v1/Services/{service.sid}"


class TestMethodsAndPaths:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("PUT", "/v1/Services"),
            ("DELETE", "/v1/Services"),
            ("PATCH", "/v1/Services/{service}"),
            ("PUT", "/v1/Services/{service}/Roles"),
            ("PUT", "/v1/Credentials"),
        ],
    )
    def test_wrong_method(self, raw: Raw, service: Any, method: str, path: str) -> None:
        """A method the path does not take is 405 with 20004 in Twilio's error body."""
        response = raw.request(method, path.format(service=service.sid))
        raw.error(response, 405, 20004)

    @pytest.mark.parametrize(
        "path",
        ["/v1/Nope", "/v3/Services", "/Services", "/v1/Services/{service}/Nope", "/v1/services"],
    )
    def test_unknown_path(self, raw: Raw, service: Any, path: str) -> None:
        """An unknown path is 404 with 20404 in Twilio's error body."""
        raw.error(raw.get(path.format(service=service.sid)), 404, 20404)

    def test_malformed_sid(self, raw: Raw) -> None:
        """A path SID of the wrong shape is simply not found: 404 with 20404."""
        raw.error(raw.get("/v1/Services/not-a-sid"), 404, 20404)
        raw.error(raw.get("/v1/Credentials/IS" + "0" * 32), 404, 20404)

    def test_healthz(self, raw: Raw) -> None:
        """GET /healthz answers 200 {"status": "ok"} without credentials."""
        response = raw.get("/healthz", auth=None)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


class TestForms:
    def test_invalid_utf8_body(self, raw: Raw, service: Any) -> None:
        """A body that is not UTF-8 is 400, on create and on update."""
        for path in ("/v1/Services", f"/v1/Services/{service.sid}"):
            response = raw.post(path, data=b"FriendlyName=\xff\xfe", headers=FORM)
            raw.error(response, 400, 20001)

    def test_percent_encoded_invalid_utf8(self, raw: Raw) -> None:
        """Percent-escapes that decode to invalid UTF-8 are 400."""
        response = raw.post("/v1/Services", data=b"FriendlyName=%FF%FE", headers=FORM)
        raw.error(response, 400, 20001)

    def test_nul_character(self, raw: Raw) -> None:
        """A NUL character in a text parameter is 400."""
        response = raw.post("/v1/Services", data=b"FriendlyName=a%00b", headers=FORM)
        raw.error(response, 400)

    def test_body_over_1mb(self, raw: Raw) -> None:
        """A body over 1 MB is 413."""
        body = b"FriendlyName=x&Pad=" + b"a" * MAX_BODY
        raw.error(raw.post("/v1/Services", data=body, headers=FORM), 413)

    def test_chunked_body_over_1mb(self, raw: Raw) -> None:
        """A body over 1 MB is 413 when sent chunked, without a Content-Length."""

        def chunks() -> Iterator[bytes]:
            yield b"FriendlyName=x&Pad="
            for _ in range(17):
                yield b"a" * 65536

        raw.error(raw.post("/v1/Services", data=chunks(), headers=FORM), 413)

    def test_body_just_under_1mb(self, raw: Raw, chat: Any) -> None:
        """A body a little under 1 MB is read; its unknown padding is ignored."""
        prefix = b"FriendlyName=big&Pad="
        body = prefix + b"a" * (MAX_BODY - len(prefix) - 16)
        response = raw.post("/v1/Services", data=body, headers=FORM)
        assert response.status_code == 201, response.text
        chat.services(response.json()["sid"]).delete()

    @pytest.mark.parametrize("encoded", ["a%20b+c", "a+b%20c", "a%20b%20c", "a+b+c"])
    def test_spaces(self, raw: Raw, service: Any, encoded: str) -> None:
        """Spaces sent as %20 or + both decode to spaces."""
        response = raw.post(
            f"/v1/Services/{service.sid}", data=f"FriendlyName={encoded}", headers=FORM
        )
        assert response.status_code == 200, response.text
        assert response.json()["friendly_name"] == "a b c"

    def test_utf8_and_reserved_characters(self, chat: Any, service: Any) -> None:
        """UTF-8 and &, =, + and % in values survive the round trip."""
        name = "héllo & = + % wörld ✓"
        assert chat.services(service.sid).update(friendly_name=name).friendly_name == name

    def test_repeated_keys(self, raw: Raw, service: Any) -> None:
        """Repeated keys are a list, in the order sent."""
        body = "WebhookFilters=onMessageSend&WebhookFilters=onChannelAdded&WebhookFilters=onUserUpdated"
        response = raw.post(f"/v1/Services/{service.sid}", data=body, headers=FORM)
        assert response.status_code == 200, response.text
        assert response.json()["webhook_filters"] == [
            "onMessageSend",
            "onChannelAdded",
            "onUserUpdated",
        ]

    def test_empty_repeated_key_clears_list(self, raw: Raw, chat: Any, service: Any) -> None:
        """WebhookFilters sent empty clears the filter list."""
        chat.services(service.sid).update(webhook_filters=["onMessageSend"])
        response = raw.post(f"/v1/Services/{service.sid}", data="WebhookFilters=", headers=FORM)
        assert response.status_code == 200, response.text
        assert not response.json()["webhook_filters"]

    def test_dotted_keys(self, raw: Raw, service: Any) -> None:
        """Dotted keys set nested fields, given literally or with escaped dots."""
        body = (
            "Limits.ChannelMembers=7&Limits%2EUserChannels=8"
            "&Notifications.NewMessage.Enabled=true"
            "&Webhooks.OnMessageSend.Url=https%3A%2F%2Fhooks.example.com%2Fx"
        )
        response = raw.post(f"/v1/Services/{service.sid}", data=body, headers=FORM)
        assert response.status_code == 200, response.text
        got = response.json()
        assert got["limits"] == {"channel_members": 7, "user_channels": 8}
        assert got["notifications"]["new_message"]["enabled"] is True
        assert got["webhooks"]["on_message_send"]["url"] == "https://hooks.example.com/x"

    def test_unknown_parameters_ignored(self, raw: Raw, chat: Any, service: Any) -> None:
        """Unknown parameters are ignored on create and update, as Twilio ignores them."""
        created = raw.post(
            "/v1/Services", data={"FriendlyName": "extra", "Colour": "blue", "Limits.Foo": "9"}
        )
        assert created.status_code == 201, created.text
        assert "colour" not in created.json()
        chat.services(created.json()["sid"]).delete()
        updated = raw.post(f"/v1/Services/{service.sid}", data={"Nonsense": "1"})
        assert updated.status_code == 200, updated.text
        assert updated.json()["friendly_name"] == service.friendly_name

    def test_parameter_names_are_case_sensitive(self, raw: Raw, service: Any) -> None:
        """Parameter names are PascalCase as the spec spells them; other spellings are unknown."""
        response = raw.post(f"/v1/Services/{service.sid}", data={"friendly_name": "lower"})
        assert response.status_code == 200, response.text
        assert response.json()["friendly_name"] == service.friendly_name

    def test_get_with_form_content_type(self, raw: Raw, service: Any) -> None:
        """A GET that carries a form Content-Type and no body works, as the client sends it."""
        listed = raw.get("/v1/Services", headers=FORM)
        assert listed.status_code == 200, listed.text
        fetched = raw.get(f"/v1/Services/{service.sid}", headers=FORM)
        assert fetched.status_code == 200, fetched.text

    def test_query_ignored_on_post(self, raw: Raw, service: Any) -> None:
        """Parameters are read from the form body: a query string on a POST is not a parameter."""
        response = raw.post(
            f"/v1/Services/{service.sid}?FriendlyName=fromquery", data={"TypingIndicatorTimeout": 6}
        )
        assert response.status_code == 200, response.text
        assert response.json()["friendly_name"] == service.friendly_name


class TestResponses:
    def test_delete_is_204_empty(
        self, raw: Raw, chat: Any, role_sid: str, credential_sid: str
    ) -> None:
        """DELETE answers 204 with an empty body for services, roles and credentials."""
        svc = chat.services.create(friendly_name="to-delete")
        role = chat.services(svc.sid).roles.create(
            friendly_name="gone", type="channel", permission=["sendMessage"]
        )
        for path in (
            f"/v1/Services/{svc.sid}/Roles/{role.sid}",
            f"/v1/Services/{svc.sid}",
            f"/v1/Credentials/{credential_sid}",
        ):
            response = raw.delete(path)
            assert response.status_code == 204, response.text
            assert response.content == b""

    def test_delete_with_accept_any(self, raw: Raw, chat: Any) -> None:
        """DELETE with Accept: */* and no Content-Type, as the client sends it, works."""
        svc = chat.services.create(friendly_name="accept-any")
        response = raw.delete(f"/v1/Services/{svc.sid}", headers={"Accept": "*/*"})
        assert response.status_code == 204

    def test_create_is_201(self, raw: Raw, chat: Any) -> None:
        """Create answers 201 with JSON."""
        response = raw.post("/v1/Services", data={"FriendlyName": "created"})
        assert response.status_code == 201
        assert response.headers["content-type"].startswith("application/json")
        chat.services(response.json()["sid"]).delete()

    def test_dates(self, raw: Raw, service: Any, role_sid: str, credential_sid: str) -> None:
        """Dates are exactly YYYY-MM-DDTHH:MM:SSZ, in UTC, on fetch and in lists."""
        bodies = [
            raw.get(f"/v1/Services/{service.sid}").json(),
            raw.get(f"/v1/Services/{service.sid}/Roles/{role_sid}").json(),
            raw.get(f"/v1/Credentials/{credential_sid}").json(),
            *raw.get(f"/v1/Services/{service.sid}/Roles").json()["roles"],
            *raw.get("/v1/Credentials").json()["credentials"],
            *raw.get("/v1/Services").json()["services"],
        ]
        for body in bodies:
            assert_twilio_date(body["date_created"])
            assert_twilio_date(body["date_updated"])

    def test_client_parses_dates(self, chat: Any, service: Any) -> None:
        """The client turns every date into a timezone-aware datetime."""
        fetched = chat.services(service.sid).fetch()
        assert isinstance(fetched.date_created, datetime)
        assert fetched.date_created.tzinfo is not None
        assert isinstance(fetched.date_updated, datetime)

    def test_sids(self, raw: Raw, service: Any, role_sid: str, credential_sid: str) -> None:
        """SIDs are a two-letter prefix and 32 lowercase hex digits."""
        for sid, prefix in ((service.sid, "IS"), (role_sid, "RL"), (credential_sid, "CR")):
            assert re.fullmatch(prefix + "[0-9a-f]{32}", sid), sid

    def test_urls_follow_host(self, raw: Raw, service: Any) -> None:
        """url, links and meta URLs are absolute, built from the request's Host."""
        host = {"Host": "chat.example.test:8443"}
        body = raw.get(f"/v1/Services/{service.sid}", headers=host).json()
        assert body["url"] == f"http://chat.example.test:8443/v1/Services/{service.sid}"
        assert body["links"]["roles"] == f"{body['url']}/Roles"
        meta = raw.get("/v1/Services", headers=host).json()["meta"]
        assert meta["url"].startswith("http://chat.example.test:8443/v1/Services?")


class TestPageTokens:
    @pytest.mark.parametrize("token", ["PAxyz", "garbage", "PA", "PA-1", "PC12", "PT12", "PA1.5"])
    def test_forged_token(self, raw: Raw, token: str) -> None:
        """A PageToken the server never issued is 400 with 20001."""
        raw.error(raw.get("/v1/Services", params={"PageToken": token}), 400, 20001)

    def test_forged_token_on_roles(self, raw: Raw, service: Any) -> None:
        """Forged tokens are refused on nested lists too."""
        response = raw.get(f"/v1/Services/{service.sid}/Roles", params={"PageToken": "PAxyz"})
        raw.error(response, 400, 20001)

    def test_negative_page(self, raw: Raw) -> None:
        """Page below 0 is 400."""
        raw.error(raw.get("/v1/Services", params={"Page": "-1"}), 400, 20001)

    def test_foreign_token(self, raw: Raw, chat: Any, other: OtherAccount, unique: Any) -> None:
        """A well-formed token from another account's list yields a page of this account's data."""
        mine = [chat.services.create(friendly_name=unique("m")).sid for _ in range(3)]
        theirs = other.chat.services.create(friendly_name=unique("t")).sid
        as_other = Raw(raw.server, (other.sid, other.token))
        try:
            token = page_token(raw.get("/v1/Services", params={"PageSize": 1}).json()["meta"])
            for forged in (token, "PA0", "PB999999999999", token.replace("PA", "PB")):
                response = as_other.get("/v1/Services", params={"PageToken": forged})
                assert response.status_code == 200, response.text
                seen = response.json()["services"]
                assert {s["account_sid"] for s in seen} <= {other.sid}
                assert not {s["sid"] for s in seen} & set(mine)
            everything = as_other.get("/v1/Services", params={"PageToken": "PA0"}).json()
            assert theirs in {s["sid"] for s in everything["services"]}
        finally:
            other.chat.services(theirs).delete()
            for sid in mine:
                chat.services(sid).delete()

    def test_client_page_token(self, chat: Any, unique: Any) -> None:
        """page(page_token=...) with a token from next_page_url continues the list."""
        made = [chat.services.create(friendly_name=unique("p")).sid for _ in range(3)]
        try:
            first = chat.services.page(page_size=1)
            token = page_token({"next_page_url": first.next_page_url})
            second = chat.services.page(page_token=token, page_number=1, page_size=1)
            assert [s.sid for s in second] == [s.sid for s in first.next_page()]
        finally:
            for sid in made:
                chat.services(sid).delete()
