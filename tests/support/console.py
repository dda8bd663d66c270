"""Helpers for the console's browser tests: sign in on a page, read what it shows."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.support.servers import Server


def sign_in(page: Page, server: Server, username: str = "", password: str = "") -> None:
    """Sign in through the form (the account's own credentials by default)."""
    page.goto(server.url + "/console/signin")
    page.fill("input[name=username]", username or server.account_sid)
    page.fill("input[name=password]", password or server.auth_token)
    page.click("button[type=submit]")
