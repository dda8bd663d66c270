"""The console's tests drive Chromium (tests/support/browser.py) against a real server.

The browser here depends on the server, so it closes before the server's database changes:
Playwright's sync API keeps an event loop running while a browser is open, and the database
fixtures need `asyncio.run` to make and drop a PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.browser import artifacts, chromium_path
from tests.support.servers import Server

__all__ = ["artifacts", "browser"]


@pytest.fixture(scope="session")
def browser(server: Server) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()
