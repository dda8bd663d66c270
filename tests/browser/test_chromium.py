"""The browser the other browser tests drive starts, renders and takes a screenshot."""

from pathlib import Path

from playwright.sync_api import Browser

from tests.support.browser import new_page


def test_chromium_renders_a_page_and_keeps_a_screenshot(browser: Browser, artifacts: Path) -> None:
    page = new_page(browser)
    page.set_content("<h1 id=t>chinwag</h1><script>document.title = 'ok'</script>")
    assert page.inner_text("#t") == "chinwag"
    assert page.title() == "ok"
    shot = artifacts / "page.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG")
    page.context.close()
