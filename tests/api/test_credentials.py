"""Push credentials through the official client: create, fetch, update, delete, list."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.api.conftest import Raw, rejected

SECRETS = {
    "certificate": "-----BEGIN CERTIFICATE-----\nMIIcertSECRET1\n-----END CERTIFICATE-----",
    "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIkeySECRET2\n-----END RSA PRIVATE KEY-----",
    "api_key": "AIzaSECRET3apikey",
    "secret": "fcmSECRET4serverkey",
}
PUBLIC_KEYS = {
    "sid",
    "account_sid",
    "friendly_name",
    "type",
    "sandbox",
    "date_created",
    "date_updated",
    "url",
}


def assert_no_secrets(text: str) -> None:
    """No secret, nor any recognisable part of one, is in `text`."""
    for marker in ("SECRET1", "SECRET2", "SECRET3", "SECRET4", "BEGIN"):
        assert marker not in text


@pytest.fixture
def credentials(chat: Any) -> Iterator[Callable[..., Any]]:
    """A factory of credentials, each deleted afterwards."""
    made: list[str] = []

    def make(**kwargs: Any) -> Any:
        credential = chat.credentials.create(**kwargs)
        made.append(credential.sid)
        return credential

    yield make
    for sid in made:
        try:
            chat.credentials(sid).delete()
        except TwilioRestException as err:
            if err.status != 404:  # else the test deleted it already
                raise


class TestCreate:
    def test_apn(self, credentials: Any, server: Any, unique: Any) -> None:
        """An APN credential takes a certificate, a private key and sandbox."""
        name = unique("apn")
        cred = credentials(
            type="apn",
            friendly_name=name,
            certificate=SECRETS["certificate"],
            private_key=SECRETS["private_key"],
            sandbox=True,
        )
        assert cred.sid.startswith("CR")
        assert len(cred.sid) == 34
        assert cred.account_sid == server.account_sid
        assert cred.friendly_name == name
        assert cred.type == "apn"
        assert cred.sandbox == "true"
        assert isinstance(cred.date_created, datetime)
        assert cred.url == f"{server.url}/v1/Credentials/{cred.sid}"

    def test_sandbox_false_is_string(self, credentials: Any) -> None:
        """sandbox comes back as the string "false", not a boolean."""
        cred = credentials(type="apn", certificate="c", private_key="k", sandbox=False)
        assert cred.sandbox == "false"

    def test_gcm(self, credentials: Any) -> None:
        """A GCM credential takes an API key; sandbox never set is null."""
        cred = credentials(type="gcm", friendly_name="gcm", api_key=SECRETS["api_key"])
        assert cred.type == "gcm"
        assert cred.sandbox is None
        assert cred.friendly_name == "gcm"

    def test_fcm(self, credentials: Any) -> None:
        """An FCM credential takes a secret; without a friendly name it is null."""
        cred = credentials(type="fcm", secret=SECRETS["secret"])
        assert cred.type == "fcm"
        assert cred.sandbox is None
        assert cred.friendly_name is None

    def test_missing_type(self, chat: Any) -> None:
        """Type is required: 400 naming it."""
        err = rejected(lambda: chat.credentials.create(type=None, friendly_name="x"), 400)
        assert "Type" in err.msg

    @pytest.mark.parametrize("bad", ["apns", "APN", "sms", ""])
    def test_bad_type(self, chat: Any, bad: str) -> None:
        """Type must be apn, gcm or fcm: anything else is 400."""
        rejected(lambda: chat.credentials.create(type=bad), 400)

    def test_bad_sandbox(self, raw: Raw) -> None:
        """Sandbox that is not a boolean is 400 naming it."""
        body = raw.error(raw.post("/v1/Credentials", data={"Type": "apn", "Sandbox": "maybe"}), 400)
        assert "Sandbox" in body["message"]

    def test_friendly_name_too_long(self, chat: Any) -> None:
        """A FriendlyName over 64 characters is 400 with 50003."""
        rejected(lambda: chat.credentials.create(type="fcm", friendly_name="x" * 65), 400, 50003)


class TestSecretsNeverReturned:
    def test_raw_create_fetch_update_list(self, raw: Raw, chat: Any) -> None:
        """No response, raw JSON included, ever carries certificate, private_key, api_key or secret."""
        created = raw.post(
            "/v1/Credentials",
            data={
                "Type": "apn",
                "Certificate": SECRETS["certificate"],
                "PrivateKey": SECRETS["private_key"],
                "ApiKey": SECRETS["api_key"],
                "Secret": SECRETS["secret"],
                "Sandbox": "true",
            },
        )
        assert created.status_code == 201, created.text
        sid = created.json()["sid"]
        try:
            assert set(created.json()) == PUBLIC_KEYS
            assert_no_secrets(created.text)
            fetched = raw.get(f"/v1/Credentials/{sid}")
            assert set(fetched.json()) == PUBLIC_KEYS
            assert_no_secrets(fetched.text)
            updated = raw.post(
                f"/v1/Credentials/{sid}",
                data={"Secret": SECRETS["secret"], "ApiKey": SECRETS["api_key"]},
            )
            assert updated.status_code == 200, updated.text
            assert set(updated.json()) == PUBLIC_KEYS
            assert_no_secrets(updated.text)
            listed = raw.get("/v1/Credentials", params={"PageSize": 1000})
            assert sid in {c["sid"] for c in listed.json()["credentials"]}
            for item in listed.json()["credentials"]:
                assert set(item) == PUBLIC_KEYS
            assert_no_secrets(listed.text)
        finally:
            chat.credentials(sid).delete()

    def test_client_instance_has_no_secrets(self, credentials: Any) -> None:
        """The client's credential instance has no secret attributes to show."""
        cred = credentials(type="gcm", api_key=SECRETS["api_key"])
        for name in SECRETS:
            assert not hasattr(cred, name)


class TestFetchUpdateDelete:
    def test_fetch(self, chat: Any, credentials: Any) -> None:
        """A credential is fetched by its SID, as created."""
        cred = credentials(type="apn", friendly_name="f", certificate="c", sandbox=True)
        fetched = chat.credentials(cred.sid).fetch()
        assert (fetched.sid, fetched.type, fetched.friendly_name, fetched.sandbox) == (
            cred.sid,
            "apn",
            "f",
            "true",
        )

    def test_update(self, chat: Any, credentials: Any, unique: Any) -> None:
        """FriendlyName and Sandbox change on update; the type stays."""
        cred = credentials(type="apn", friendly_name="before", sandbox=True)
        name = unique("after")
        updated = chat.credentials(cred.sid).update(friendly_name=name, sandbox=False)
        assert updated.friendly_name == name
        assert updated.sandbox == "false"
        assert updated.type == "apn"
        fetched = chat.credentials(cred.sid).fetch()
        assert (fetched.friendly_name, fetched.sandbox) == (name, "false")

    def test_update_secrets_only(self, chat: Any, credentials: Any) -> None:
        """Updating only a secret leaves the visible fields alone."""
        cred = credentials(type="fcm", friendly_name="keep", secret="one")
        updated = chat.credentials(cred.sid).update(secret=SECRETS["secret"])
        assert updated.friendly_name == "keep"
        assert updated.sandbox is None

    def test_type_is_fixed(self, raw: Raw, credentials: Any) -> None:
        """A credential's type cannot be changed: Type on update is ignored."""
        cred = credentials(type="gcm")
        response = raw.post(f"/v1/Credentials/{cred.sid}", data={"Type": "apn"})
        assert response.status_code == 200, response.text
        assert response.json()["type"] == "gcm"

    def test_delete(self, chat: Any) -> None:
        """A deleted credential is gone: fetch, update and delete are 404."""
        cred = chat.credentials.create(type="fcm", secret="s")
        assert chat.credentials(cred.sid).delete() is True
        rejected(chat.credentials(cred.sid).fetch, 404, 20404)
        rejected(lambda: chat.credentials(cred.sid).update(friendly_name="x"), 404, 20404)
        rejected(chat.credentials(cred.sid).delete, 404, 20404)

    def test_unknown_is_404(self, chat: Any) -> None:
        """An unknown credential SID is 404 with 20404."""
        rejected(chat.credentials("CR" + "0" * 32).fetch, 404, 20404)


class TestList:
    def test_all_pages(self, chat: Any, credentials: Any) -> None:
        """list(page_size=2) sees every credential once, in creation order."""
        made = [credentials(type="fcm", friendly_name=f"c{i}").sid for i in range(5)]
        seen = [c.sid for c in chat.credentials.list(page_size=2)]
        assert len(seen) == len(set(seen))
        assert [sid for sid in seen if sid in made] == made

    def test_listed_fields(self, chat: Any, credentials: Any) -> None:
        """Listed credentials carry the same fields as a fetch."""
        cred = credentials(type="apn", friendly_name="listed", sandbox=True)
        listed = {c.sid: c for c in chat.credentials.list()}
        assert listed[cred.sid].friendly_name == "listed"
        assert listed[cred.sid].sandbox == "true"
        assert listed[cred.sid].type == "apn"

    def test_deleted_not_listed(self, chat: Any) -> None:
        """A deleted credential leaves the list."""
        cred = chat.credentials.create(type="gcm")
        chat.credentials(cred.sid).delete()
        assert cred.sid not in {c.sid for c in chat.credentials.list()}

    def test_meta(self, raw: Raw, server: Any) -> None:
        """The credentials list's meta key is credentials; PageSize is clamped to 1000."""
        meta = raw.get("/v1/Credentials", params={"PageSize": 5000}).json()["meta"]
        assert meta["key"] == "credentials"
        assert meta["page_size"] == 1000
        assert meta["url"] == f"{server.url}/v1/Credentials?PageSize=1000&Page=0"
