"""Headless Chromium for the browser tests: Debian's `chromium`, driven by Playwright.

`make test` installs the package when it is missing; Playwright never downloads a browser of its
own. A page's screenshots are kept under `test-artifacts/<test>/` (git-ignored) for a person to
look at after the run; the README shows some of them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def chromium_path() -> str:
    """Debian's chromium; missing, the test fails (it is part of the suite, never skipped)."""
    path = os.environ.get("CHINWAG_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("chromium is missing: `make test` installs Debian's package (apt-get)")
    return path


# Module scope, not session: while Playwright's sync API is open it keeps an event loop running
# in the main thread, so any later test calling asyncio.run (the PostgreSQL helpers do) failed.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        yield launched
        launched.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """This test's folder of screenshots, emptied first."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    folder = ARTIFACTS / request.node.module.__name__.rsplit(".", 1)[-1] / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def new_page(browser: Browser) -> Page:
    """A page in a context of its own (cookies are not shared between two users)."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page
