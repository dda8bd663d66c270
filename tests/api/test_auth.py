"""Authentication and accounts: HTTP Basic with auth tokens or API keys, one account per caller."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioException

from tests.api.conftest import OtherAccount, Raw, parse_credentials, rejected
from tests.conftest import make_client
from tests.support.cli import CommandFailed
from tests.support.servers import Server


def list_refused(call: Callable[[], Any], status: int) -> None:
    """A list call the client refuses: its page answered `status`."""
    with pytest.raises(TwilioException) as err:
        call()
    assert err.value.args[1].status_code == status


@pytest.fixture
def api_key(server: Server) -> Iterator[tuple[str, str]]:
    """A new API key of the server's account (SID, secret), deleted afterwards if still there."""
    sid, secret = parse_credentials(server.cli("keys", "create", "--account", server.account_sid))
    yield sid, secret
    try:
        server.cli("keys", "delete", sid)
    except CommandFailed as err:
        if "no key" not in err.stderr:  # else the test deleted it already
            raise


class TestAuthToken:
    def test_wrong_token(self, raw: Raw, server: Server) -> None:
        """A wrong auth token is 401 with 20003 and a WWW-Authenticate challenge."""
        response = raw.get("/v1/Services", auth=(server.account_sid, "wrong"))
        raw.error(response, 401, 20003)
        assert response.headers["WWW-Authenticate"].startswith("Basic")

    def test_no_authorization(self, raw: Raw) -> None:
        """No Authorization header is 401 with 20003 and a WWW-Authenticate challenge."""
        response = raw.get("/v1/Services", auth=None)
        raw.error(response, 401, 20003)
        assert response.headers["WWW-Authenticate"].startswith("Basic")

    def test_unknown_account(self, raw: Raw, server: Server) -> None:
        """An account SID that does not exist is 401, whatever the password."""
        response = raw.get("/v1/Services", auth=("AC" + "0" * 32, server.auth_token))
        raw.error(response, 401, 20003)

    def test_other_accounts_token(self, raw: Raw, server: Server, other: OtherAccount) -> None:
        """An account SID with another account's token is 401."""
        raw.error(raw.get("/v1/Services", auth=(server.account_sid, other.token)), 401, 20003)

    @pytest.mark.parametrize(
        "header",
        [
            "Bearer abc",
            "Basic",
            "Basic !!!not-base64!!!",
            "Basic " + base64.b64encode(b"no-colon").decode(),
            "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
            "Basic \xff\xfe",  # sent as Latin-1 bytes: it answered 500
        ],
        ids=["bearer", "empty", "not-base64", "no-colon", "not-utf8", "not-ascii"],
    )
    def test_malformed_header(self, raw: Raw, header: str) -> None:
        """A malformed Authorization header is 401, never 400 or 500."""
        response = raw.get("/v1/Services", auth=None, headers={"Authorization": header})
        raw.error(response, 401, 20003)

    def test_every_method_needs_auth(self, raw: Raw, service: Any) -> None:
        """Create, fetch, update, delete and list all refuse a wrong token."""
        bad = (service.account_sid, "wrong")
        path = f"/v1/Services/{service.sid}"
        for method, url in [
            ("GET", "/v1/Services"),
            ("POST", "/v1/Services"),
            ("GET", path),
            ("POST", path),
            ("DELETE", path),
            ("GET", f"{path}/Roles"),
            ("GET", "/v1/Credentials"),
        ]:
            response = raw.request(method, url, auth=bad, data={"FriendlyName": "x"})
            raw.error(response, 401, 20003)
        assert raw.get(path).status_code == 200

    def test_client_sees_401(self, server: Server) -> None:
        """The official client reports a wrong token as a 401 TwilioRestException."""
        chat = make_client(server, server.account_sid, "wrong").chat.v1
        rejected(lambda: chat.services.create(friendly_name="x"), 401, 20003)


class TestApiKeys:
    def test_key_works(self, server: Server, api_key: tuple[str, str], unique: Any) -> None:
        """Client(SK, secret, AC) acts as the key's account."""
        sid, secret = api_key
        chat = make_client(server, sid, secret, server.account_sid).chat.v1
        svc = chat.services.create(friendly_name=unique("by-key"))
        try:
            assert svc.account_sid == server.account_sid
            assert chat.services(svc.sid).fetch().sid == svc.sid
        finally:
            chat.services(svc.sid).delete()

    def test_key_sees_account_data(
        self, server: Server, api_key: tuple[str, str], service: Any
    ) -> None:
        """A key sees what its account's auth token created."""
        sid, secret = api_key
        chat = make_client(server, sid, secret, server.account_sid).chat.v1
        assert service.sid in {s.sid for s in chat.services.list()}

    def test_wrong_secret(self, raw: Raw, api_key: tuple[str, str]) -> None:
        """A key with the wrong secret is 401."""
        raw.error(raw.get("/v1/Services", auth=(api_key[0], api_key[1] + "x")), 401, 20003)

    def test_unknown_key(self, raw: Raw) -> None:
        """A key SID that does not exist is 401."""
        raw.error(raw.get("/v1/Services", auth=("SK" + "0" * 32, "secret")), 401, 20003)

    def test_secret_is_not_a_token(
        self, raw: Raw, server: Server, api_key: tuple[str, str]
    ) -> None:
        """A key's secret is no password for its account SID, nor the token for the key."""
        raw.error(raw.get("/v1/Services", auth=(server.account_sid, api_key[1])), 401, 20003)
        raw.error(raw.get("/v1/Services", auth=(api_key[0], server.auth_token)), 401, 20003)

    def test_deleted_key_stops_at_once(self, server: Server, api_key: tuple[str, str]) -> None:
        """`keys delete` makes the key fail with 401 on the very next request."""
        sid, secret = api_key
        chat = make_client(server, sid, secret, server.account_sid).chat.v1
        assert isinstance(chat.services.list(limit=1), list)
        assert f"deleted {sid}" in server.cli("keys", "delete", sid)
        rejected(lambda: chat.services.create(friendly_name="x"), 401, 20003)
        list_refused(chat.services.list, 401)

    def test_other_accounts_key(
        self, server: Server, other: OtherAccount, service: Any, unique: Any
    ) -> None:
        """A key of another account acts as that account and cannot see this one's services."""
        out = server.cli("keys", "create", "--account", other.sid)
        sid, secret = parse_credentials(out)
        try:
            chat = make_client(server, sid, secret, other.sid).chat.v1
            rejected(chat.services(service.sid).fetch, 404, 20404)
            mine = chat.services.create(friendly_name=unique("theirs"))
            assert mine.account_sid == other.sid
            chat.services(mine.sid).delete()
        finally:
            server.cli("keys", "delete", sid)

    def test_delete_unknown_key_fails(self, server: Server) -> None:
        """`keys delete` of a key that does not exist exits non-zero."""
        with pytest.raises(CommandFailed):
            server.cli("keys", "delete", "SK" + "0" * 32)


class TestAccountIsolation:
    @pytest.fixture
    def credential(self, chat: Any) -> Iterator[Any]:
        cred = chat.credentials.create(type="fcm", friendly_name="mine", secret="s")
        yield cred
        chat.credentials(cred.sid).delete()

    def test_services_hidden(self, other: OtherAccount, service: Any) -> None:
        """Another account's service is 404 on fetch, update and delete, and never listed."""
        ctx = other.chat.services(service.sid)
        rejected(ctx.fetch, 404, 20404)
        rejected(lambda: ctx.update(friendly_name="hijacked"), 404, 20404)
        rejected(ctx.delete, 404, 20404)
        assert service.sid not in {s.sid for s in other.chat.services.list()}

    def test_service_untouched(self, chat: Any, other: OtherAccount, service: Any) -> None:
        """A refused update or delete from another account changes nothing."""
        ctx = other.chat.services(service.sid)
        rejected(lambda: ctx.update(friendly_name="hijacked"), 404)
        rejected(ctx.delete, 404)
        assert chat.services(service.sid).fetch().friendly_name == service.friendly_name

    def test_roles_hidden(self, raw: Raw, other: OtherAccount, service: Any) -> None:
        """Another account's roles are 404 through every route, list and create included."""
        roles = other.chat.services(service.sid).roles
        role_sid = service.default_channel_role_sid
        rejected(roles(role_sid).fetch, 404, 20404)
        rejected(lambda: roles(role_sid).update(permission=["sendMessage"]), 404, 20404)
        rejected(roles(role_sid).delete, 404, 20404)
        rejected(
            lambda: roles.create(friendly_name="x", type="channel", permission=["sendMessage"]),
            404,
            20404,
        )
        list_refused(roles.list, 404)
        as_other = Raw(raw.server, (other.sid, other.token))
        as_other.error(as_other.get(f"/v1/Services/{service.sid}/Roles"), 404, 20404)

    def test_roles_intact(self, chat: Any, other: OtherAccount, service: Any) -> None:
        """A refused role update from another account changes nothing."""
        role_sid = service.default_channel_role_sid
        before = chat.services(service.sid).roles(role_sid).fetch().permissions
        rejected(
            lambda: (
                other.chat.services(service.sid).roles(role_sid).update(permission=["sendMessage"])
            ),
            404,
        )
        assert chat.services(service.sid).roles(role_sid).fetch().permissions == before

    def test_credentials_hidden(self, chat: Any, other: OtherAccount, credential: Any) -> None:
        """Another account's credential is 404 on fetch, update and delete, and never listed."""
        ctx = other.chat.credentials(credential.sid)
        rejected(ctx.fetch, 404, 20404)
        rejected(lambda: ctx.update(friendly_name="hijacked"), 404, 20404)
        rejected(ctx.delete, 404, 20404)
        assert credential.sid not in {c.sid for c in other.chat.credentials.list()}
        assert chat.credentials(credential.sid).fetch().friendly_name == "mine"

    def test_own_data_separate(
        self, chat: Any, other: OtherAccount, service: Any, unique: Any
    ) -> None:
        """Each account lists only its own services."""
        theirs = other.chat.services.create(friendly_name=unique("theirs"))
        try:
            assert theirs.account_sid == other.sid
            assert theirs.sid not in {s.sid for s in chat.services.list()}
            listed = other.chat.services.list()
            assert theirs.sid in {s.sid for s in listed}
            assert {s.account_sid for s in listed} == {other.sid}
        finally:
            other.chat.services(theirs.sid).delete()

    def test_paging_into_another_account(
        self, raw: Raw, chat: Any, other: OtherAccount, unique: Any
    ) -> None:
        """Following this account's next_page_url with another account's credentials shows only theirs."""
        mine = [chat.services.create(friendly_name=unique("mine")).sid for _ in range(3)]
        theirs = other.chat.services.create(friendly_name=unique("theirs"))
        try:
            first = raw.get("/v1/Services", params={"PageSize": 1}).json()
            next_url = first["meta"]["next_page_url"]
            assert next_url
            response = requests.get(next_url, auth=(other.sid, other.token), timeout=30)
            assert response.status_code == 200, response.text
            seen = response.json()["services"]
            assert {s["account_sid"] for s in seen} <= {other.sid}
            assert not {s["sid"] for s in seen} & set(mine)
        finally:
            other.chat.services(theirs.sid).delete()
            for sid in mine:
                chat.services(sid).delete()
