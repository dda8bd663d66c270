"""The console's tests drive Chromium (tests/support/browser.py) against a real server.

Playwright's sync API keeps an event loop running in this thread while it is started, and
`asyncio.run` (making and dropping a PostgreSQL database, `chinwag` commands run in-process)
fails meanwhile. So the browser lives for one module at most, and depends on the server: it
closes before the server's database changes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.browser import artifacts, chromium_path
from tests.support.servers import Server

__all__ = ["artifacts", "browser"]


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()
