"""The unmodified client SDK (twilio-chat 6.0.0 and 5.0.2) connects to chinwag, or is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.realtime.conftest import Key, mint, run_sdk, ws_url
from tests.support.servers import Server


def test_connects_and_initializes(
    server: Server, sdk: Path, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """Client.create reaches `connected` and initializes: the identity, the service's
    settings, empty own channel lists, and the public channels REST made."""
    name = unique("general")
    chat.services(service.sid).channels.create(unique_name=name, type="public")
    identity = unique("alice")
    code, seen = run_sdk(sdk, "connect.js", ws_url(server), mint(api_key, service.sid, identity))
    assert code == 0, seen
    assert seen["identity"] == identity
    assert "connected" in (seen["state"], *seen["states"])
    assert seen["subscribed"] == 0
    assert seen["userChannels"] == 0
    assert seen["publicChannels"] == [name]
    assert seen["reachability"] is False


def test_first_connect_creates_the_user_with_the_default_role(
    server: Server, sdk: Path, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """As on Twilio, the token's identity becomes a User of the service on first connect."""
    identity = unique("bob")
    code, seen = run_sdk(sdk, "connect.js", ws_url(server), mint(api_key, service.sid, identity))
    assert code == 0, seen
    user = chat.services(service.sid).users(identity).fetch()
    assert user.identity == identity
    assert user.role_sid == service.default_service_role_sid


def test_bad_signature_is_refused(server: Server, sdk: Path, api_key: Key, service: Any) -> None:
    """A token signed with another secret: the SDK stops (no hang), nothing initializes."""
    forged = Key(api_key.sid, "x" * 32, api_key.account_sid)
    args = (ws_url(server), mint(forged, service.sid, "mallory"), "refused")
    code, seen = run_sdk(sdk, "connect.js", *args)
    assert code == 0, seen
    assert "refused" in seen
    assert "identity" not in seen


def test_expired_token_is_refused(
    server: Server, sdk: Path, api_key: Key, service: Any, now: int
) -> None:
    """A token past its `exp`: refused, and the SDK stops."""
    token = mint(api_key, service.sid, "late", nbf=now - 7200, valid_until=now - 3600)
    code, seen = run_sdk(sdk, "connect.js", ws_url(server), token, "refused")
    assert code == 0, seen
    assert "refused" in seen


def test_token_for_another_accounts_service_is_refused(
    server: Server, sdk: Path, api_key: Key
) -> None:
    """A valid signature naming a service that is not the key's account's: refused."""
    token = mint(api_key, "IS" + "0" * 32, "nobody")
    code, seen = run_sdk(sdk, "connect.js", ws_url(server), token, "refused")
    assert code == 0, seen
    assert "refused" in seen
