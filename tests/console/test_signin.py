"""Signing in and out of the console, in a real browser, on both databases."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import requests
from playwright.sync_api import Browser

from tests.conftest import make_client
from tests.support.browser import new_page
from tests.support.console import sign_in, signed_in
from tests.support.servers import Server


def test_sign_in_shows_the_console_and_sign_out_ends_it(
    browser: Browser, server: Server, artifacts: Path
) -> None:
    page = new_page(browser)
    page.goto(server.url + "/console/keys")
    assert "/console/signin" in page.url  # not signed in: sent to the form, then back
    page.screenshot(path=str(artifacts / "signin.png"))
    page.fill("input[name=username]", server.account_sid)
    page.fill("input[name=password]", server.auth_token)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/keys")
    assert page.inner_text("header .who").startswith(server.account_sid)
    assert [a.inner_text() for a in page.query_selector_all("header nav a")][:1] == ["Services"]
    cookie = next(c for c in page.context.cookies() if c["name"] == "chinwag_console")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    page.click("text=Sign out")
    page.wait_for_url("**/console/signin")
    page.goto(server.url + "/console/keys")
    assert "/console/signin" in page.url
    page.context.close()


def test_a_wrong_password_is_refused(browser: Browser, server: Server, artifacts: Path) -> None:
    page = new_page(browser)
    sign_in(page, server, password="not-the-token")
    assert page.inner_text("[role=alert]") == "Wrong SID or secret."
    page.screenshot(path=str(artifacts / "wrong-password.png"))
    assert not [c for c in page.context.cookies() if c["name"] == "chinwag_console"]
    page.context.close()


def test_wrong_passwords_are_rate_limited(server: Server) -> None:
    """After 5 wrong passwords for a name in a minute, even the right one waits (429)."""
    username = "AC" + secrets.token_hex(16)  # a name no other test tries
    http = requests.Session()
    statuses = []
    for _ in range(6):
        http.get(server.url + "/console/signin")
        token = http.cookies["chinwag_console_form"]
        form = {"username": username, "password": "guess", "csrf": token}
        statuses.append(http.post(server.url + "/console/signin", data=form).status_code)
    assert statuses == [401] * 5 + [429]
    refused = http.post(
        server.url + "/console/signin",
        data={
            "username": username,
            "password": "guess",
            "csrf": http.cookies["chinwag_console_form"],
        },
    )
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_session_cookie_from_elsewhere_is_refused(server: Server) -> None:
    """A forged cookie (signed with a guess) is as good as none: sent to sign in."""
    http = requests.Session()
    http.cookies.set("chinwag_console", f"eyJhIjoi{server.account_sid}.forged", path="/console")
    reply = http.get(server.url + "/console/services", allow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/console/signin")


def test_a_post_without_the_csrf_token_is_refused(server: Server) -> None:
    http = signed_in(server)
    created = http.post(server.url + "/console/keys", data={"friendly_name": "no token"})
    assert created.status_code == 403
    assert "no token" not in http.get(server.url + "/console/keys").text


def test_a_nul_in_any_field_is_refused_not_sent_to_the_database(server: Server) -> None:
    """Searches, delivery filters, a key's name and the sign-in form go to the database as they
    are: a NUL (PostgreSQL refuses it, and they answered 503) is a 400 page, or a wrong sign-in."""
    http = signed_in(server)
    keys = http.get(server.url + "/console/keys").text
    csrf = re.search(r"name=csrf value='([^']+)'", keys)
    assert csrf is not None, keys
    sid = make_client(server).chat.v2.services.create(friendly_name="nul").sid
    asked = [
        http.get(f"{server.url}/console/services/{sid}/users", params={"q": "a\x00"}),
        http.get(f"{server.url}/console/services/{sid}/channels", params={"q": "a\x00"}),
        http.get(f"{server.url}/console/deliveries", params={"service": "IS\x00"}),
        http.post(
            f"{server.url}/console/keys", data={"friendly_name": "a\x00b", "csrf": csrf.group(1)}
        ),
    ]
    for reply in asked:
        assert reply.status_code == 400, (reply.request.url, reply.text[:300])
        assert "contains a NUL character" in reply.text
        assert "<title>Error" in reply.text
    assert "a\x00b" not in http.get(server.url + "/console/keys").text
    for path in ("/console/keys/SK%00/delete", f"/console/services/{sid}/users/US%00"):
        send = http.post if path.endswith("delete") else http.get
        named_nothing = send(server.url + path, data={"csrf": csrf.group(1)})
        assert named_nothing.status_code == 404, (path, named_nothing.text[:300])
    fresh = requests.Session()
    fresh.get(server.url + "/console/signin")
    form = {"username": "AC\x00", "password": "x", "csrf": fresh.cookies["chinwag_console_form"]}
    refused = fresh.post(server.url + "/console/signin", data=form)
    assert refused.status_code == 401, refused.text[:300]
    assert "Wrong SID or secret." in refused.text
