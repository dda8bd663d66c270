"""The console's session cookie and CSRF tokens: pure functions, no HTTP, no database.

A session is `payload.signature`: the payload (base64url JSON) names the account, who signed
in (the account SID or an API key SID), when it expires and a random nonce; the signature is
an HMAC-SHA256 of the payload with a key derived from the account's auth token. The token is
in the database, so every worker and server checks a cookie the same way, with no secret to
share or configure; rotating the token ends every session of the account at once.

CSRF: a signed-in form carries `csrf`, an HMAC of the session's nonce with the same key, so it
is bound to the session and changes with every sign-in. The sign-in form, before any session,
uses a double-submit token (a random cookie repeated in the form).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson

LIFETIME = 8 * 3600  # seconds a session lasts from sign-in
_PURPOSE_SESSION = b"chinwag console session"
_PURPOSE_CSRF = b"chinwag console csrf"


@dataclass(frozen=True)
class Session:
    account_sid: str
    principal_sid: str  # the account SID, or the API key SID used to sign in
    expires: int  # seconds since the epoch
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_for(auth_token: str) -> bytes:
    """The account's signing key: never the token itself, so a cookie reveals nothing of it."""
    return hmac.new(auth_token.encode(), _PURPOSE_SESSION, hashlib.sha256).digest()


def new_session(account_sid: str, principal_sid: str, now: float) -> Session:
    return Session(account_sid, principal_sid, int(now) + LIFETIME, secrets.token_urlsafe(16))


def sign(session: Session, key: bytes) -> str:
    data: dict[str, object] = {"a": session.account_sid, "p": session.principal_sid}
    data |= {"e": session.expires, "n": session.nonce}
    payload = _b64(orjson.dumps(data))
    return f"{payload}.{_b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())}"


def peek(cookie: str) -> Session | None:
    """The cookie's claims, NOT yet verified: only to find whose key checks it."""
    payload, dot, _ = cookie.partition(".")
    if not dot or len(cookie) > 1024:
        return None
    try:
        data = orjson.loads(_unb64(payload))
        return Session(str(data["a"]), str(data["p"]), int(data["e"]), str(data["n"]))
    except (ValueError, binascii.Error, KeyError, TypeError):
        return None


def verify(cookie: str, key: bytes, now: float) -> Session | None:
    """The session if `cookie` was signed with `key` and has not expired; None otherwise."""
    session = peek(cookie)
    if session is None:
        return None
    payload, _, signature = cookie.partition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    return session if now < session.expires else None


def csrf_token(session: Session, key: bytes) -> str:
    return _b64(hmac.new(key, _PURPOSE_CSRF + session.nonce.encode(), hashlib.sha256).digest())


def csrf_ok(session: Session, key: bytes, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(
        csrf_token(session, key).encode(), sent.encode()
    )


def double_submit_ok(cookie: str | None, sent: str | None) -> bool:
    """The sign-in form's token: the form repeats the random cookie the page set."""
    if not cookie or not sent or len(cookie) < 16:
        return False
    return hmac.compare_digest(cookie.encode(), sent.encode())
