"""Helpers for the console's tests: a signed-in browser page, or a signed-in HTTP session."""

from __future__ import annotations

import requests
from playwright.sync_api import Browser, Page

from tests.support.browser import new_page
from tests.support.servers import Server


def sign_in(page: Page, server: Server, username: str = "", password: str = "") -> None:
    """Sign in through the form (the account's own credentials by default)."""
    page.goto(server.url + "/console/signin")
    page.fill("input[name=username]", username or server.account_sid)
    page.fill("input[name=password]", password or server.auth_token)
    page.click("button[type=submit]")


def console_page(browser: Browser, server: Server, username: str = "", password: str = "") -> Page:
    """A new browser page, signed in to the console; confirmations are accepted."""
    page = new_page(browser)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, server, username, password)
    page.wait_for_selector("header .who form")
    return page


def signed_in(server: Server) -> requests.Session:
    """An HTTP session signed in to the console with the account's credentials (the form's
    CSRF token read from its cookie, as the page would send it)."""
    http = requests.Session()
    http.get(server.url + "/console/signin")
    form = {
        "username": server.account_sid,
        "password": server.auth_token,
        "csrf": http.cookies["chinwag_console_form"],
    }
    assert http.post(server.url + "/console/signin", data=form).status_code == 200
    return http
