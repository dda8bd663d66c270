"""Browser tests share the Chromium fixtures of tests/support/browser.py."""

from tests.support.browser import artifacts, browser

__all__ = ["artifacts", "browser"]
