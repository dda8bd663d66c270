"""Access tokens minted by the `twilio` package verify; every fault gets Twilio's code."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant, VideoGrant

from chinwag.realtime import tokens

ACCOUNT = "AC" + "1" * 32
KEY = "SK" + "2" * 32
SECRET = "s" * 32
SERVICE = "IS" + "3" * 32


async def lookup(key_sid: str) -> tuple[str, str] | None:
    return (ACCOUNT, SECRET) if key_sid == KEY else None


def mint(*, key: str = KEY, secret: str = SECRET, grant: bool = True, **options: object) -> str:
    token = AccessToken(ACCOUNT, key, secret, identity=options.pop("identity", "alice"), **options)
    if grant:
        token.add_grant(ChatGrant(service_sid=SERVICE, endpoint_id="app:alice:1"))
    return str(token.to_jwt())


def verify(token: str, now: float | None = None) -> tokens.Grant:
    return asyncio.run(tokens.verify(token, lookup, now))


def refused(token: str, now: float | None = None) -> int:
    with pytest.raises(tokens.TokenError) as error:
        verify(token, now)
    return error.value.code


def test_valid_token() -> None:
    grant = verify(mint(ttl=600))
    assert (grant.account_sid, grant.key_sid, grant.identity) == (ACCOUNT, KEY, "alice")
    assert grant.service_sid == SERVICE
    assert grant.endpoint_id == "app:alice:1"
    assert abs(grant.expires - (time.time() + 600)) < 5


@pytest.mark.parametrize(
    "identity", ["a\x00b", "x" * 257, "US" + "0" * 32], ids=["nul", "too-long", "a-user-sid"]
)
def test_an_identity_rest_would_refuse_is_an_invalid_grant(identity: str) -> None:
    """Every consumer of a token (the WebSocket, the media service) makes or acts as the
    identity's user: one REST refuses is refused here."""
    assert refused(mint(identity=identity)) == tokens.GRANTS


@pytest.mark.parametrize("grant", [{"endpoint_id": "app\x00"}, {"push_credential_sid": "CR\x00"}])
def test_a_nul_in_the_grant_is_refused(grant: dict[str, str]) -> None:
    """An endpoint or push credential with a NUL: no binding could store it (PostgreSQL
    refuses it), so the grant is invalid."""
    token = AccessToken(ACCOUNT, KEY, SECRET, identity="alice")
    token.add_grant(ChatGrant(service_sid=SERVICE, **grant))
    assert refused(str(token.to_jwt())) == tokens.GRANTS


def test_push_credential() -> None:
    """The grant's push_credential_sid names the credential of the user's push registrations;
    without it there is none."""
    token = AccessToken(ACCOUNT, KEY, SECRET, identity="alice")
    token.add_grant(ChatGrant(service_sid=SERVICE, push_credential_sid="CR" + "4" * 32))
    grant = verify(str(token.to_jwt()))
    assert grant.push_credential_sid == "CR" + "4" * 32
    assert grant.endpoint_id is None
    assert verify(mint()).push_credential_sid is None


def test_expired_is_20104() -> None:
    now = int(time.time())
    assert refused(mint(nbf=now - 7200, valid_until=now - 3600)) == tokens.EXPIRED


def test_too_long_lived_is_20104() -> None:
    assert refused(mint(ttl=3 * 24 * 3600)) == tokens.EXPIRED


def test_not_yet_valid_is_20105() -> None:
    assert refused(mint(nbf=int(time.time()) + 3600, ttl=7200)) == tokens.NOT_YET_VALID


def test_wrong_secret_is_20107() -> None:
    assert refused(mint(secret="t" * 32)) == tokens.SIGNATURE


def test_unknown_key_is_20103() -> None:
    assert refused(mint(key="SK" + "9" * 32)) == tokens.ISSUER


def test_key_of_another_account_is_20103() -> None:
    claims = jwt.decode(mint(), options={"verify_signature": False})
    claims["sub"] = "AC" + "4" * 32
    assert refused(jwt.encode(claims, SECRET, algorithm="HS256")) == tokens.ISSUER


def test_no_chat_grant_is_20106() -> None:
    token = AccessToken(ACCOUNT, KEY, SECRET, identity="alice")
    token.add_grant(VideoGrant(room="r"))
    assert refused(str(token.to_jwt())) == tokens.GRANTS


def test_no_identity_is_20106() -> None:
    assert refused(mint(identity=None)) == tokens.GRANTS


def test_other_algorithm_is_20102() -> None:
    claims = jwt.decode(mint(), options={"verify_signature": False})
    assert refused(jwt.encode(claims, SECRET * 2, algorithm="HS512")) == tokens.HEADER


@pytest.mark.parametrize("garbage", ["", "a.b.c", "not a token", "x" * 10000])
def test_garbage_is_20101(garbage: str) -> None:
    assert refused(garbage) == tokens.INVALID


def test_ip_messaging_grant_is_accepted() -> None:
    claims = jwt.decode(mint(), options={"verify_signature": False})
    claims["grants"]["ip_messaging"] = claims["grants"].pop("chat")
    assert verify(jwt.encode(claims, SECRET, algorithm="HS256")).service_sid == SERVICE
