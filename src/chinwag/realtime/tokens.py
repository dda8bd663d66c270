"""Access tokens as Twilio's helper libraries mint them (AccessToken + ChatGrant), verified.

HS256, signed with an API key's secret: `iss` is the key (SK...), `sub` its account (AC...),
`grants.identity` the user and `grants.chat.service_sid` the service. Every refusal carries
Twilio's 2010x code; the connection answers it with status 401, which stops the SDK.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt

from chinwag.model.errors import ApiError
from chinwag.model.params import coerce
from chinwag.resources.fields import identity as identity_field
from chinwag.resources.users import check_identity
from chinwag.sids import is_sid

MAX_TTL = 24 * 3600  # Twilio refuses tokens that live longer than a day
LEEWAY = 30  # seconds of clock difference between the app's backend and chinwag
MAX_TOKEN = 8 * 1024
IDENTITY = identity_field()  # a user's identity as declared: no NUL, at most IDENTITY_MAX

# (account SID, secret) of an API key, or None when it does not exist or cannot sign.
SecretLookup = Callable[[str], Awaitable[tuple[str, str] | None]]


class TokenError(Exception):
    """A token we refuse: Twilio's error `code`, and its message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def expired(self) -> bool:
        return self.code == EXPIRED


INVALID, HEADER, ISSUER, EXPIRED, NOT_YET_VALID, GRANTS, SIGNATURE = range(20101, 20108)


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: this identity, on this service of this account, until then."""

    account_sid: str
    key_sid: str
    identity: str
    service_sid: str
    expires: int  # Unix seconds
    endpoint_id: str | None = None
    push_credential_sid: str | None = None  # the credential of its push registrations


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not token or len(token) > MAX_TOKEN:
        raise TokenError(INVALID, "Invalid Access Token")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenError(INVALID, "Invalid Access Token") from exc
    if not _is_text(header) or not _is_text(claims):
        raise TokenError(INVALID, "Invalid Access Token")
    return header, claims


def _is_text(value: Any) -> bool:
    """Whether every string in `value` is text: JSON's `\\ud800` escape decodes to a lone
    surrogate, which no column can store (an identity holding one failed the sign-in's write)."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def check_token_identity(identity: str) -> None:
    """An ApiError unless a token may name `identity`: its user is made as REST makes one, so
    REST's rules for an identity (the demo's token endpoint checks them before it mints)."""
    check_identity(coerce(IDENTITY, [identity]))


def _chat_grant(claims: dict[str, Any]) -> tuple[str, str, str | None, str | None]:
    grants = claims.get("grants")
    if not isinstance(grants, dict):
        raise TokenError(GRANTS, "Invalid Access Token grants")
    identity = grants.get("identity")
    # `ip_messaging` is the key of the older IpMessagingGrant, with the same fields.
    chat = grants.get("chat") or grants.get("ip_messaging")
    if not isinstance(identity, str) or not identity.strip() or not isinstance(chat, dict):
        raise TokenError(GRANTS, "Invalid Access Token grants")
    try:
        check_token_identity(identity)
    except ApiError as error:
        raise TokenError(GRANTS, f"Invalid Access Token grants: {error}") from None
    service = chat.get("service_sid")
    if not isinstance(service, str) or not is_sid(service, "IS"):
        raise TokenError(GRANTS, "Invalid Access Token grants: no Chat service")
    endpoint, credential = chat.get("endpoint_id"), chat.get("push_credential_sid")
    if any(isinstance(v, str) and "\x00" in v for v in (endpoint, credential)):
        raise TokenError(GRANTS, "Invalid Access Token grants")  # no binding can store one
    return (
        identity,
        service,
        endpoint if isinstance(endpoint, str) else None,
        credential if isinstance(credential, str) else None,
    )


async def verify(token: str, lookup: SecretLookup, now: float | None = None) -> Grant:
    """The token's Grant, or TokenError with the code Twilio gave for that fault."""
    header, claims = _unverified(token)
    if header.get("alg") != "HS256":
        raise TokenError(HEADER, "Invalid Access Token header")
    key_sid, account_sid = claims.get("iss"), claims.get("sub")
    if not isinstance(key_sid, str) or not is_sid(key_sid, "SK"):
        raise TokenError(ISSUER, "Invalid Access Token issuer")
    if not isinstance(account_sid, str) or not is_sid(account_sid, "AC"):
        raise TokenError(ISSUER, "Invalid Access Token subject")
    found = await lookup(key_sid)
    if found is None or found[0] != account_sid:
        raise TokenError(ISSUER, "Invalid Access Token issuer/subject")
    moment = time.time() if now is None else now
    try:
        jwt.decode(
            token,
            found[1],
            algorithms=["HS256"],
            options={"require": ["exp"], "verify_exp": False, "verify_nbf": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenError(SIGNATURE, "Invalid Access Token signature") from exc
    except jwt.PyJWTError as exc:
        raise TokenError(INVALID, "Invalid Access Token") from exc
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int) or exp + LEEWAY <= moment or exp - moment > MAX_TTL + LEEWAY:
        raise TokenError(EXPIRED, "Access Token expired or expiration date invalid")
    if nbf is not None and (not isinstance(nbf, int) or nbf - LEEWAY > moment):
        raise TokenError(NOT_YET_VALID, "Access Token not yet valid")
    identity, service_sid, endpoint, credential = _chat_grant(claims)
    return Grant(account_sid, key_sid, identity, service_sid, exp, endpoint, credential)
