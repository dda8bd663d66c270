"""The console's session cookie, CSRF tokens and HTML escaping: pure functions."""

from __future__ import annotations

import pytest

from chinwag.console import session as sessions
from chinwag.console.html import Html, join, render

ACCOUNT = "AC" + "1" * 32
KEY = sessions.key_for("token-of-the-account")
NOW = 1_800_000_000.0


def signed(now: float = NOW) -> str:
    return sessions.sign(sessions.new_session(ACCOUNT, ACCOUNT, now), KEY)


class TestSession:
    def test_a_signed_session_verifies_with_its_key(self) -> None:
        """The cookie names the account and who signed in, and verifies until it expires."""
        found = sessions.verify(signed(), KEY, NOW + 60)
        assert found is not None
        assert (found.account_sid, found.principal_sid) == (ACCOUNT, ACCOUNT)

    def test_an_expired_session_is_refused(self) -> None:
        assert sessions.verify(signed(), KEY, NOW + sessions.LIFETIME) is None
        assert sessions.verify(signed(), KEY, NOW + sessions.LIFETIME - 1) is not None

    def test_another_key_refuses_it(self) -> None:
        """A new auth token (another key) ends every session signed with the old one."""
        assert sessions.verify(signed(), sessions.key_for("rotated"), NOW) is None

    @pytest.mark.parametrize(
        "tamper",
        [
            # a longer lifetime, with the old signature
            lambda c: sessions.sign(
                sessions.Session(ACCOUNT, ACCOUNT, int(NOW) + 10**9, "n"), b"guess"
            ),
            # another account's SID in the payload
            lambda c: c.replace(c.split(".")[0], c.split(".")[0][::-1]),
            lambda c: c.split(".")[0] + ".",  # no signature
            lambda c: c + "A",  # a longer signature
            lambda c: "garbage",
            lambda c: "!!!.???",
        ],
        ids=["re-signed", "payload-changed", "unsigned", "longer", "garbage", "not-base64"],
    )
    def test_a_changed_cookie_is_refused(self, tamper: object) -> None:
        assert callable(tamper)
        assert sessions.verify(tamper(signed()), KEY, NOW) is None

    def test_the_token_is_not_in_the_cookie(self) -> None:
        cookie = sessions.sign(sessions.new_session(ACCOUNT, ACCOUNT, NOW), KEY)
        assert "token-of-the-account" not in cookie
        assert KEY.hex() not in cookie


class TestCsrf:
    def test_the_token_of_the_session_passes(self) -> None:
        session = sessions.new_session(ACCOUNT, ACCOUNT, NOW)
        assert sessions.csrf_ok(session, KEY, sessions.csrf_token(session, KEY))

    def test_another_sessions_token_fails(self) -> None:
        """Bound to the session: a token from an earlier sign-in does not carry over."""
        mine = sessions.new_session(ACCOUNT, ACCOUNT, NOW)
        other = sessions.new_session(ACCOUNT, ACCOUNT, NOW)
        assert not sessions.csrf_ok(mine, KEY, sessions.csrf_token(other, KEY))

    @pytest.mark.parametrize("sent", [None, "", "x" * 43])
    def test_a_missing_or_wrong_token_fails(self, sent: str | None) -> None:
        assert not sessions.csrf_ok(sessions.new_session(ACCOUNT, ACCOUNT, NOW), KEY, sent)

    def test_double_submit_needs_the_cookie_repeated(self) -> None:
        token = "r" * 32
        assert sessions.double_submit_ok(token, token)
        assert not sessions.double_submit_ok(token, "s" * 32)
        assert not sessions.double_submit_ok(None, token)
        assert not sessions.double_submit_ok("short", "short")


class TestHtml:
    def test_values_are_escaped(self) -> None:
        out = render("<p title='{t}'>{b}</p>", t="a' onmouseover='x", b="<script>alert(1)</script>")
        assert out == (
            "<p title='a&#x27; onmouseover=&#x27;x'>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
        )

    def test_markup_already_rendered_is_kept(self) -> None:
        inner = render("<b>{x}</b>", x="&")
        assert render("<p>{inner}</p>", inner=inner) == "<p><b>&amp;</b></p>"
        assert join([inner, "<i>"]) == "<b>&amp;</b>&lt;i&gt;"
        assert isinstance(join([]), Html)

    def test_none_is_empty(self) -> None:
        assert render("[{v}]", v=None) == "[]"
