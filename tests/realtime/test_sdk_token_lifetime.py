"""A token's lifetime: warned before expiry, renewed with updateToken, closed when it ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.realtime.conftest import Key, mint, run_sdk, ws_url
from tests.support.servers import Server

WARNING = 180  # seconds before expiry the server warns, as Twilio did


def test_expiry_closes_the_connection(
    server: Server, sdk: Path, api_key: Key, service: Any
) -> None:
    """At `exp` the server closes with 410: the SDK emits tokenExpired (its warning came at
    once, before the app could listen, as the token had less than three minutes left)."""
    token = mint(api_key, service.sid, "brief", ttl=10)  # room for a slow Client.create
    code, seen = run_sdk(sdk, "lifetime.js", ws_url(server), token, "expire")
    assert code == 0, seen
    assert seen["events"][-1] == "tokenExpired"


def test_update_token_keeps_the_connection(
    server: Server, sdk: Path, api_key: Key, service: Any
) -> None:
    """tokenAboutToExpire comes three minutes before `exp`; updateToken is accepted and the
    connection goes on."""
    short = mint(api_key, service.sid, "renewer", ttl=WARNING + 5)
    longer = mint(api_key, service.sid, "renewer", ttl=3600)
    code, seen = run_sdk(sdk, "lifetime.js", ws_url(server), short, "renew", longer)
    assert code == 0, seen
    assert "tokenExpired" not in seen["events"]
    assert seen["state"] == "connected"
    assert isinstance(seen["channels"], int)


def test_update_token_of_another_identity_is_refused(
    server: Server, sdk: Path, api_key: Key, service: Any
) -> None:
    """A connection keeps its identity: updateToken with another user's token fails."""
    mine = mint(api_key, service.sid, "carol")
    theirs = mint(api_key, service.sid, "dave")
    code, seen = run_sdk(sdk, "lifetime.js", ws_url(server), mine, "swap", theirs)
    assert code == 0, seen
    assert seen["swapped"] is False
