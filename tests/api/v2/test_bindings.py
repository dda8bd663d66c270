"""Bindings (v2): devices registered for push, listed, filtered, fetched and deleted.

Registration is chinwag's extension `POST /v2/Services/{ServiceSid}/Bindings` (on Twilio the
client SDK registered devices); everything else goes through the official client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.api.v2.helpers import UNKNOWN, error, list_rejected, rejected
from tests.support.servers import Server

MESSAGE_TYPES = {
    "twilio.channel.new_message",
    "twilio.channel.added_to_channel",
    "twilio.channel.invited_to_channel",
    "twilio.channel.removed_from_channel",
}


class Devices:
    """Registers devices for one service, over raw HTTP."""

    def __init__(self, server: Server, auth: tuple[str, str], service_sid: str) -> None:
        self.url = f"{server.url}/v2/Services/{service_sid}/Bindings"
        self.auth = auth

    def post(self, **params: Any) -> requests.Response:
        return requests.post(self.url, data=params, auth=self.auth, timeout=30)

    def register(
        self, endpoint: str, identity: str, binding_type: str = "apn", **extra: Any
    ) -> dict[str, Any]:
        """Register a device; the new binding's JSON."""
        response = self.post(
            Endpoint=endpoint,
            Identity=identity,
            BindingType=binding_type,
            Address=f"token-{endpoint}",
            **extra,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def devices(server: Server, auth: tuple[str, str], service2: Any) -> Devices:
    return Devices(server, auth, service2.sid)


@pytest.fixture
def credential(chat2: Any, unique: Callable[[str], str]) -> Iterator[Any]:
    """An FCM credential of the account; deleted afterwards."""
    cred = chat2.credentials.create(type="fcm", friendly_name=unique("push"), secret="s3cret")
    yield cred
    chat2.credentials(cred.sid).delete()


class TestRegister:
    def test_new_binding(
        self, devices: Devices, svc2: Any, service2: Any, server: Server, unique: Any
    ) -> None:
        """Registering answers 201 with the binding: BS SID, endpoint, identity, type, links."""
        identity = unique("alice")
        user = svc2.users.create(identity=identity)
        body = devices.register("phone-1", identity, "apn")
        assert body["sid"].startswith("BS")
        assert len(body["sid"]) == 34
        assert body["account_sid"] == server.account_sid
        assert body["service_sid"] == service2.sid
        assert body["endpoint"] == "phone-1"
        assert body["identity"] == identity
        assert body["binding_type"] == "apn"
        assert body["credential_sid"] is None
        assert body["url"] == f"{devices.url}/{body['sid']}"
        assert body["links"]["user"].endswith(f"/v2/Services/{service2.sid}/Users/{user.sid}")

    def test_default_message_types(self, devices: Devices, unique: Any) -> None:
        """Without MessageTypes a binding gets the four twilio.channel.* types."""
        body = devices.register("phone-1", unique("bob"))
        assert set(body["message_types"]) == MESSAGE_TYPES
        assert len(body["message_types"]) == 4

    def test_chosen_message_types(self, devices: Devices, unique: Any) -> None:
        """MessageTypes, repeated, choose the kinds of push the device gets."""
        body = devices.register(
            "phone-1", unique("bob"), MessageTypes=["twilio.channel.new_message"]
        )
        assert body["message_types"] == ["twilio.channel.new_message"]

    def test_unknown_identity_creates_user(
        self, devices: Devices, svc2: Any, unique: Callable[[str], str]
    ) -> None:
        """Registering for an identity the service does not know creates that user."""
        identity = unique("newcomer")
        body = devices.register("tablet", identity, "fcm")
        user = svc2.users(identity).fetch()
        assert user.identity == identity
        assert body["links"]["user"].endswith(f"/Users/{user.sid}")

    @pytest.mark.parametrize("binding_type", ["apn", "gcm", "fcm"])
    def test_each_type(self, devices: Devices, binding_type: str, unique: Any) -> None:
        """apn, gcm and fcm are the binding types."""
        assert devices.register("d", unique("u"), binding_type)["binding_type"] == binding_type

    def test_same_endpoint_replaces(
        self, devices: Devices, svc2: Any, unique: Callable[[str], str]
    ) -> None:
        """Registering an endpoint again with the same type replaces its binding."""
        alice, bob = unique("alice"), unique("bob")
        first = devices.register("shared-phone", alice, "apn")
        second = devices.register("shared-phone", bob, "apn")
        (only,) = svc2.bindings.list()
        assert only.sid == second["sid"]
        assert only.identity == bob
        if first["sid"] != second["sid"]:
            rejected(svc2.bindings(first["sid"]).fetch, 404, 20404)
        assert svc2.bindings.list(identity=[alice]) == []

    def test_same_endpoint_other_type_kept(
        self, devices: Devices, svc2: Any, unique: Callable[[str], str]
    ) -> None:
        """The same endpoint under another binding type is a binding of its own."""
        identity = unique("carol")
        devices.register("dual", identity, "apn")
        devices.register("dual", identity, "fcm")
        assert sorted(b.binding_type for b in svc2.bindings.list()) == ["apn", "fcm"]

    def test_credential(
        self, devices: Devices, svc2: Any, credential: Any, unique: Callable[[str], str]
    ) -> None:
        """CredentialSid names a credential of the account, and is kept on the binding."""
        body = devices.register("phone", unique("dave"), "fcm", CredentialSid=credential.sid)
        assert body["credential_sid"] == credential.sid
        assert svc2.bindings(body["sid"]).fetch().credential_sid == credential.sid

    def test_unknown_credential(
        self, devices: Devices, svc2: Any, unique: Callable[[str], str]
    ) -> None:
        """An unknown CredentialSid is 400, and nothing is registered."""
        response = devices.post(
            Endpoint="phone",
            Identity=unique("eve"),
            BindingType="apn",
            Address="token",
            CredentialSid=UNKNOWN["CR"],
        )
        error(response, 400)
        assert svc2.bindings.list() == []

    def test_bad_binding_type(
        self, devices: Devices, svc2: Any, unique: Callable[[str], str]
    ) -> None:
        """A BindingType other than apn, gcm or fcm is 400 with 50209."""
        identity = unique("frank")
        response = devices.post(
            Endpoint="phone", Identity=identity, BindingType="sms", Address="token"
        )
        error(response, 400, 50209)
        assert svc2.bindings.list() == []
        assert identity not in [u.identity for u in svc2.users.list()]

    @pytest.mark.parametrize("missing", ["Endpoint", "Identity", "BindingType"])
    def test_required(
        self, devices: Devices, svc2: Any, missing: str, unique: Callable[[str], str]
    ) -> None:
        """Endpoint, Identity and BindingType are required: 400 naming the one missing."""
        params = {
            "Endpoint": "phone",
            "Identity": unique("gina"),
            "BindingType": "apn",
            "Address": "token",
        }
        del params[missing]
        assert missing in error(devices.post(**params), 400)["message"]
        assert svc2.bindings.list() == []

    def test_unknown_service(self, server: Server, auth: Any) -> None:
        """Registering in an unknown service is 404."""
        response = requests.post(
            f"{server.url}/v2/Services/{UNKNOWN['IS']}/Bindings",
            data={"Endpoint": "e", "Identity": "i", "BindingType": "apn", "Address": "a"},
            auth=auth,
            timeout=30,
        )
        error(response, 404, 20404)


class TestServiceBindings:
    @pytest.fixture
    def registered(self, devices: Devices, unique: Callable[[str], str]) -> dict[str, Any]:
        """Four bindings: alice on apn and fcm, bob on gcm and apn; by name."""
        alice, bob = unique("alice"), unique("bob")
        return {
            "alice": alice,
            "bob": bob,
            "alice-apn": devices.register("a1", alice, "apn"),
            "alice-fcm": devices.register("a2", alice, "fcm"),
            "bob-gcm": devices.register("b1", bob, "gcm"),
            "bob-apn": devices.register("b2", bob, "apn"),
        }

    @staticmethod
    def sids(bindings: list[Any]) -> list[str]:
        return [b.sid for b in bindings]

    def test_list_all(self, svc2: Any, registered: dict[str, Any]) -> None:
        """The list holds every binding of the service, in registration order."""
        names = ["alice-apn", "alice-fcm", "bob-gcm", "bob-apn"]
        assert self.sids(svc2.bindings.list()) == [registered[n]["sid"] for n in names]

    def test_filter_by_type(self, svc2: Any, registered: dict[str, Any]) -> None:
        """BindingType filters the list; repeated, it takes any of the types."""
        apn = svc2.bindings.list(binding_type=["apn"])
        assert self.sids(apn) == [registered["alice-apn"]["sid"], registered["bob-apn"]["sid"]]
        several = svc2.bindings.list(binding_type=["gcm", "fcm"])
        assert self.sids(several) == [
            registered["alice-fcm"]["sid"],
            registered["bob-gcm"]["sid"],
        ]

    def test_filter_by_identity(self, svc2: Any, registered: dict[str, Any]) -> None:
        """Identity filters the list to those users' bindings."""
        mine = svc2.bindings.list(identity=[registered["bob"]])
        assert self.sids(mine) == [registered["bob-gcm"]["sid"], registered["bob-apn"]["sid"]]
        both = svc2.bindings.list(identity=[registered["alice"], registered["bob"]])
        assert len(both) == 4

    def test_filters_combined(self, svc2: Any, registered: dict[str, Any]) -> None:
        """BindingType and Identity together narrow the list to bindings matching both."""
        found = svc2.bindings.list(binding_type=["apn"], identity=[registered["alice"]])
        assert self.sids(found) == [registered["alice-apn"]["sid"]]
        assert svc2.bindings.list(binding_type=["gcm"], identity=[registered["alice"]]) == []

    def test_several_values_page_by_page(self, svc2: Any, registered: dict[str, Any]) -> None:
        """Several values of a filter (each value's rows read in order and merged) page one
        row at a time in registration order, alone or with the other filter."""
        names = {
            ("apn", "gcm"): ["alice-apn", "bob-gcm", "bob-apn"],
            ("fcm", "gcm"): ["alice-fcm", "bob-gcm"],
        }
        for types, expected in names.items():
            listed = svc2.bindings.list(binding_type=list(types), page_size=1)
            assert self.sids(listed) == [registered[n]["sid"] for n in expected]
        people = [registered["bob"], registered["alice"]]
        everyone = svc2.bindings.list(identity=people, page_size=1)
        assert self.sids(everyone) == self.sids(svc2.bindings.list())
        narrowed = svc2.bindings.list(identity=people, binding_type=["apn", "fcm"], page_size=1)
        expected = ["alice-apn", "alice-fcm", "bob-apn"]
        assert self.sids(narrowed) == [registered[n]["sid"] for n in expected]

    def test_several_values_page_back(
        self, server: Server, auth: Any, service2: Any, registered: dict[str, Any]
    ) -> None:
        """From the last page of a merged filter, previous pages lead back to the first, each
        holding the row before (PB tokens read the ranges backwards)."""
        url: str | None = f"{server.url}/v2/Services/{service2.sid}/Bindings"
        params: Any = [("BindingType", "apn"), ("BindingType", "gcm"), ("PageSize", "1")]
        forward: list[str] = []
        last: dict[str, Any] = {}
        while url:
            last = requests.get(url, params=params, auth=auth, timeout=30).json()
            forward += [b["sid"] for b in last["bindings"]]
            url, params = last["meta"]["next_page_url"], None
        assert forward == [registered[n]["sid"] for n in ("alice-apn", "bob-gcm", "bob-apn")]
        backward = [b["sid"] for b in last["bindings"]]
        back: str | None = last["meta"]["previous_page_url"]
        while back:
            page = requests.get(back, auth=auth, timeout=30).json()
            backward = [b["sid"] for b in page["bindings"]] + backward
            back = page["meta"]["previous_page_url"]
        assert backward == forward

    def test_bad_type_filter(self, svc2: Any, registered: dict[str, Any]) -> None:
        """A BindingType filter that is not a binding type is 400."""
        list_rejected(lambda: svc2.bindings.list(binding_type=["sms"]), 400)

    def test_fetch(self, svc2: Any, registered: dict[str, Any], auth: Any) -> None:
        """Fetch answers the binding; links.user leads to its user."""
        binding = svc2.bindings(registered["bob-gcm"]["sid"]).fetch()
        assert binding.endpoint == "b1"
        assert binding.identity == registered["bob"]
        assert binding.binding_type == "gcm"
        assert set(binding.message_types) == MESSAGE_TYPES
        user = requests.get(binding.links["user"], auth=auth, timeout=30)
        assert user.status_code == 200, user.text
        assert user.json()["identity"] == registered["bob"]

    def test_delete(self, svc2: Any, registered: dict[str, Any]) -> None:
        """A deleted binding is gone; the others and the user stay."""
        sid = registered["alice-apn"]["sid"]
        assert svc2.bindings(sid).delete() is True
        rejected(svc2.bindings(sid).fetch, 404, 20404)
        assert sid not in self.sids(svc2.bindings.list())
        assert len(svc2.bindings.list()) == 3
        assert svc2.users(registered["alice"]).fetch().identity == registered["alice"]

    def test_unknown_is_404(self, svc2: Any) -> None:
        """An unknown binding SID is 404 for fetch and delete."""
        rejected(svc2.bindings(UNKNOWN["BS"]).fetch, 404, 20404)
        rejected(svc2.bindings(UNKNOWN["BS"]).delete, 404, 20404)

    def test_other_service_cannot_reach(
        self, chat2: Any, registered: dict[str, Any], unique: Callable[[str], str]
    ) -> None:
        """A binding is reached only through its own service."""
        other = chat2.services.create(friendly_name=unique("other"))
        try:
            ctx = chat2.services(other.sid)
            assert ctx.bindings.list() == []
            rejected(ctx.bindings(registered["bob-gcm"]["sid"]).fetch, 404, 20404)
        finally:
            chat2.services(other.sid).delete()

    def test_page_size_max_fifty(
        self, server: Server, auth: Any, service2: Any, registered: dict[str, Any]
    ) -> None:
        """Binding pages hold at most 50: a larger PageSize is clamped."""
        body = requests.get(
            f"{server.url}/v2/Services/{service2.sid}/Bindings",
            params={"PageSize": 500},
            auth=auth,
            timeout=30,
        ).json()
        assert body["meta"]["page_size"] == 50
        assert body["meta"]["key"] == "bindings"


class TestUserBindings:
    @pytest.fixture
    def alice(self, devices: Devices, svc2: Any, unique: Callable[[str], str]) -> Any:
        """A user with three bindings (apn, fcm, apn), beside another user's binding."""
        user = svc2.users.create(identity=unique("alice"))
        for endpoint, kind in (("a1", "apn"), ("a2", "fcm"), ("a3", "apn")):
            devices.register(endpoint, user.identity, kind)
        devices.register("z1", unique("zed"), "apn")
        return user

    def test_list(self, svc2: Any, alice: Any) -> None:
        """A user's bindings are its own only, in registration order."""
        bindings = svc2.users(alice.sid).user_bindings.list()
        assert [b.endpoint for b in bindings] == ["a1", "a2", "a3"]
        assert {b.identity for b in bindings} == {alice.identity}
        assert [b.endpoint for b in svc2.users(alice.identity).user_bindings.list()] == [
            "a1",
            "a2",
            "a3",
        ]

    def test_filter_by_type(self, svc2: Any, alice: Any) -> None:
        """BindingType filters a user's bindings."""
        apn = svc2.users(alice.sid).user_bindings.list(binding_type=["apn"])
        assert [b.endpoint for b in apn] == ["a1", "a3"]
        fcm = svc2.users(alice.sid).user_bindings.list(binding_type=["fcm"])
        assert [b.endpoint for b in fcm] == ["a2"]
        assert svc2.users(alice.sid).user_bindings.list(binding_type=["gcm"]) == []

    def test_fetch(self, svc2: Any, alice: Any, server: Server, service2: Any) -> None:
        """A user binding is fetched through its user, at a URL below the user."""
        first = svc2.users(alice.sid).user_bindings.list()[0]
        fetched = svc2.users(alice.sid).user_bindings(first.sid).fetch()
        assert fetched.sid == first.sid
        assert fetched.user_sid == alice.sid
        assert fetched.endpoint == "a1"
        assert fetched.binding_type == "apn"
        users = f"{server.url}/v2/Services/{service2.sid}/Users"
        assert fetched.url == f"{users}/{alice.sid}/Bindings/{first.sid}"

    def test_other_users_binding_is_404(self, svc2: Any, alice: Any) -> None:
        """Another user's binding is not reachable through this user."""
        (zed,) = [b for b in svc2.bindings.list() if b.endpoint == "z1"]
        rejected(svc2.users(alice.sid).user_bindings(zed.sid).fetch, 404, 20404)

    def test_delete(self, svc2: Any, alice: Any) -> None:
        """Deleting a user binding removes the binding from both lists."""
        first = svc2.users(alice.sid).user_bindings.list()[0]
        assert svc2.users(alice.sid).user_bindings(first.sid).delete() is True
        assert [b.endpoint for b in svc2.users(alice.sid).user_bindings.list()] == ["a2", "a3"]
        rejected(svc2.bindings(first.sid).fetch, 404, 20404)

    def test_deleting_user_deletes_bindings(self, svc2: Any, alice: Any) -> None:
        """Deleting a user deletes its bindings; other users' bindings stay."""
        sids = [b.sid for b in svc2.users(alice.sid).user_bindings.list()]
        assert svc2.users(alice.sid).delete() is True
        assert svc2.bindings.list(identity=[alice.identity]) == []
        for sid in sids:
            rejected(svc2.bindings(sid).fetch, 404, 20404)
        assert [b.endpoint for b in svc2.bindings.list()] == ["z1"]
