"""Helpers for the console's browser tests: a signed-in page."""

from __future__ import annotations

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
