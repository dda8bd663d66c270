"""The deliveries page and the dashboard in a real browser, against a real server and a real
webhook receiver, on both databases: a failing webhook shows as failed with its HTTP status;
once the receiver is fixed, Retry on the page gets it delivered; the dashboard draws its
charts and counts the message and the delivery.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import make_client
from tests.events.conftest import Receiver, Reply, wait_for
from tests.support.browser import new_page
from tests.support.console import sign_in, signed_in
from tests.support.servers import Server

HOURS_AGO = (1, 2, 2, 3, 5, 8, 8, 8, 13, 20)
DAYS_AGO = (2, 3, 3, 6, 10, 15, 15, 15, 22)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


def failing_service(server: Server, receiver: Receiver, hook: str) -> tuple[str, str]:
    """A service whose post-event URL answers 500, a channel, and one message sent with
    webhooks on: its onMessageSent fails for good (Twilio retries only 429, 503, 504)."""
    receiver.reply(hook, then=Reply(500, "broken"))
    chat = make_client(server).chat.v2
    service = chat.services.create(friendly_name=f"hooks <b>{secrets.token_hex(3)}</b>")
    chat.services(service.sid).update(
        post_webhook_url=receiver.url(hook), webhook_filters=["onMessageSent"]
    )
    channel = chat.services(service.sid).channels.create(friendly_name="general")
    channel_ctx = chat.services(service.sid).channels(channel.sid)
    channel_ctx.messages.create(body="hello", from_="alice", x_twilio_webhook_enabled="true")
    wait_for(lambda: receiver.at(hook), what="the webhook's first attempt")
    return service.sid, channel.sid


def reload_until(page: Page, selector: str) -> None:
    """Reload until `selector` is on the page (the deliverer records outcomes in cycles)."""

    def present() -> bool:
        page.reload()
        return page.query_selector(selector) is not None

    wait_for(present, what=selector)


def test_a_failed_webhook_is_retried_from_the_page(
    browser: Browser, server: Server, receiver: Receiver, artifacts: Path
) -> None:
    hook = f"/hook-{secrets.token_hex(4)}"
    service, _ = failing_service(server, receiver, hook)
    page = new_page(browser)
    sign_in(page, server)
    page.wait_for_url("**/console/**")
    page.goto(f"{server.url}/console/deliveries?status=failed&service={service}")
    reload_until(page, "#deliveries tr.delivery.failed")
    [row] = page.query_selector_all("#deliveries tr.delivery")
    assert row.inner_text().count("onMessageSent") == 1
    assert row.query_selector("td.http").inner_text() == "500"  # type: ignore[union-attr]
    assert row.query_selector("td.error").inner_text() == "HTTP 500"  # type: ignore[union-attr]
    assert receiver.url(hook) in row.inner_text()
    page.screenshot(path=str(artifacts / "failed.png"), full_page=True)

    receiver.reply(hook, then=Reply(200))  # the receiver is fixed
    row.query_selector("button:text('Retry')").click()  # type: ignore[union-attr]
    page.wait_for_url("**/console/deliveries?*retried=1*")
    assert page.inner_text("[role=status]") == "Sent again: 1."
    wait_for(lambda: [h for h in receiver.at(hook) if h.status == 200], what="the retry")

    page.goto(f"{server.url}/console/deliveries?status=delivered&service={service}")
    reload_until(page, "#deliveries tr.delivery.delivered")
    [row] = page.query_selector_all("#deliveries tr.delivery")
    assert row.query_selector("td.http").inner_text() == "200"  # type: ignore[union-attr]
    assert row.query_selector("td.error").inner_text() == ""  # type: ignore[union-attr]
    page.screenshot(path=str(artifacts / "delivered.png"), full_page=True)
    row.query_selector("a").click()  # type: ignore[union-attr]
    assert '"Body": "hello"' in page.inner_text("pre.params")
    page.context.close()


def test_the_dashboard_draws_its_charts(
    browser: Browser, server: Server, receiver: Receiver, artifacts: Path
) -> None:
    hook = f"/hook-{secrets.token_hex(4)}"
    service, channel = failing_service(server, receiver, hook)
    # History imported with its dates (v2 DateCreated): hours and days ago, in another channel.
    services = make_client(server).chat.v2.services(service)
    history = services.channels.create(friendly_name="history")
    now = datetime.now(UTC)
    dates = [now - timedelta(hours=h) for h in HOURS_AGO]
    dates += [now - timedelta(days=d) for d in DAYS_AGO]
    for when in dates:
        services.channels(history.sid).messages.create(body="old", date_created=when)
    page = new_page(browser)
    sign_in(page, server)
    page.wait_for_url("**/console/**")
    page.click("header nav a:text('Dashboard')")
    page.click(f"#services a[href$='{service}']")
    page.wait_for_url(f"**/console/dashboard/{service}")
    reload_until(page, "#deliveries li.failed strong:text('1')")
    assert page.inner_text("h1").startswith("Dashboard: hooks <b>")  # the name, as text
    day, month = 1 + len(HOURS_AGO), 1 + len(HOURS_AGO) + len(DAYS_AGO)
    assert page.inner_text("#messages-day") == str(day)
    assert page.inner_text("#messages-month") == str(month)
    assert (page.inner_text("#channels"), page.inner_text("#active-day")) == ("2", "2")
    # The message failing_service sent, in the bars of its own hour and day: the last ones
    # unless an hour (a day) turned since, as it once did in a CI run at 15:00.
    sent = services.channels(channel).messages.list(limit=1)[0].date_created
    charts = (("#hourly", 24, day, f"{sent:%H}:00"), ("#daily", 30, month, f"{sent:%m-%d}"))
    for chart, bars, total, label in charts:
        values = {}
        for bar in page.query_selector_all(f"{chart} svg rect.bar"):
            title = bar.query_selector("title")
            assert title is not None
            values[(title.text_content() or "").split(": ")[0]] = int(
                bar.get_attribute("data-value") or ""
            )
        assert (len(values), sum(values.values())) == (bars, total)
        assert values[label] >= 1, (label, values)
    busiest = [a.inner_text() for a in page.query_selector_all("#busiest a")]
    assert busiest == ["history", "general"]  # most messages in the last day first
    assert page.get_attribute(f"#busiest a[href*='{channel}']", "href") is not None
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    page.context.close()


def test_another_accounts_or_a_missing_delivery_is_not_found(server: Server) -> None:
    """Delivery numbers are the account's own: anything else is a 404 page, and a retry
    without the form's CSRF token is refused."""
    http = signed_in(server)
    for pk in ("999999999", "9" * 30):  # none, and past any database integer
        assert http.get(f"{server.url}/console/deliveries/{pk}").status_code == 404
    assert http.post(server.url + "/console/deliveries/1/retry").status_code == 403
    page = http.get(server.url + "/console/deliveries").text
    csrf = re.search(r"name=csrf value=['\"]([^'\"]+)", page)  # the sign-out form's
    assert csrf is not None
    for pk in ("999999999", "9" * 30):  # with the token: nothing of this account's to retry
        reply = http.post(
            f"{server.url}/console/deliveries/{pk}/retry",
            data={"csrf": csrf.group(1)},
            allow_redirects=False,
        )
        assert (reply.status_code, reply.headers["location"]) == (
            303,
            "/console/deliveries?status=failed&retried=0",
        )
    assert http.get(server.url + "/console/dashboard/IS" + "0" * 32).status_code == 404
    assert http.get(server.url + "/console/deliveries?status=nope").status_code == 400
