"""The console's other pages in a real browser: service settings and roles, channel search,
users, API keys; every change checked through the REST API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, expect
from twilio.rest import Client

from tests.support.browser import new_page
from tests.support.console import console_page
from tests.support.servers import Server


def test_service_settings_are_saved_through_the_update_operation(
    browser: Browser, server: Server, client: Client, service: Any, artifacts: Path
) -> None:
    page = console_page(browser, server)
    page.goto(f"{server.url}/console/services")
    page.click(f"a[href='/console/services/{service.sid}']")
    page.fill("input[name=FriendlyName]", "Renamed <b>desk</b>")
    page.fill("input[name=TypingIndicatorTimeout]", "9")
    page.fill("input[name='Limits.ChannelMembers']", "42")
    page.select_option("select[name=ReachabilityEnabled]", "true")
    page.fill("input[name=PostWebhookUrl]", "https://example.com/hook")
    page.fill("input[name=WebhookFilters]", "onMessageSent onChannelAdded")
    page.select_option("select[name='Notifications.NewMessage.Enabled']", "true")
    page.click("form.settings button[type=submit]")
    expect(page.locator("[role=status]")).to_have_text("Saved.")
    page.screenshot(path=str(artifacts / "service.png"), full_page=True)
    saved = client.chat.v2.services(service.sid).fetch()
    assert saved.friendly_name == "Renamed <b>desk</b>"
    assert saved.typing_indicator_timeout == 9
    assert saved.limits["channel_members"] == 42
    assert saved.reachability_enabled is True
    assert saved.post_webhook_url == "https://example.com/hook"
    assert saved.webhook_filters == ["onMessageSent", "onChannelAdded"]
    assert saved.notifications["new_message"]["enabled"] is True
    assert page.locator("h1").inner_text() == "Renamed <b>desk</b>"
    assert page.input_value("input[name=WebhookFilters]") == "onMessageSent onChannelAdded"
    page.click("form.settings button[type=submit]")  # saving again changes nothing
    expect(page.locator("[role=status]")).to_have_text("Saved.")
    again = client.chat.v2.services(service.sid).fetch()
    assert again.webhook_filters == saved.webhook_filters
    roles = page.locator("table tbody tr td:first-child").all_inner_texts()
    assert {"service admin", "service user", "channel admin", "channel user"} <= set(roles)
    page.context.close()


def test_a_bad_setting_is_refused_with_twilios_message(
    browser: Browser, server: Server, client: Client, service: Any
) -> None:
    page = console_page(browser, server)
    page.goto(f"{server.url}/console/services/{service.sid}")
    page.fill("input[name=PostWebhookUrl]", "not a url")
    page.click("form.settings button[type=submit]")
    assert "PostWebhookUrl" in page.inner_text("p.error")
    assert client.chat.v2.services(service.sid).fetch().post_webhook_url is None
    page.context.close()


def test_channels_are_found_by_name_and_type_and_paged(
    browser: Browser, server: Server, client: Client, service: Any
) -> None:
    channels = client.chat.v2.services(service.sid).channels
    channels.create(friendly_name="Alpha team")
    channels.create(friendly_name="beta", unique_name="the-ALPHA-room")
    channels.create(friendly_name="Gamma", type="private")
    channels.create(friendly_name="100% sure")
    page = console_page(browser, server)
    base = f"{server.url}/console/services/{service.sid}/channels"
    page.goto(base)
    names = page.locator("tbody tr td:first-child")
    expect(names).to_have_text(["Alpha team", "beta", "Gamma", "100% sure"])
    page.fill("input[name=q]", "alpha")
    page.click("form[role=search] button")
    expect(names).to_have_text(["Alpha team", "beta"])  # friendly or unique name
    page.goto(base + "?q=%25")
    expect(names).to_have_text(["100% sure"])  # % is a character, not a wildcard
    page.goto(base + "?Type=private")
    expect(names).to_have_text(["Gamma"])
    page.goto(base + "?PageSize=3")
    expect(names).to_have_text(["Alpha team", "beta", "Gamma"])
    page.click("a[rel=next]")
    expect(names).to_have_text(["100% sure"])
    page.click("a[rel=prev]")
    expect(names).to_have_text(["Alpha team", "beta", "Gamma"])
    page.context.close()


def test_users_are_found_by_identity_with_their_channels(
    browser: Browser, server: Server, client: Client, service: Any
) -> None:
    v2 = client.chat.v2.services(service.sid)
    v2.users.create(identity="carol", attributes='{"team": "blue"}')
    v2.users.create(identity="dave")
    channel = v2.channels.create(friendly_name="Room")
    v2.channels(channel.sid).members.create(identity="carol")
    page = console_page(browser, server)
    page.goto(f"{server.url}/console/services/{service.sid}/users")
    page.fill("input[name=q]", "CAR")
    page.click("form[role=search] button")
    expect(page.locator("tbody tr td:first-child")).to_have_text(["carol"])
    page.click("text=carol")
    assert page.locator("h1").inner_text() == "carol"
    assert page.locator("dd code").inner_text() == '{"team": "blue"}'
    assert page.locator("dd.online").inner_text() == "unknown"  # reachability is off
    expect(page.locator("table").first.locator("tbody td a")).to_have_text([channel.sid])
    page.context.close()


def test_an_api_key_is_shown_once_signs_in_and_is_deleted(
    browser: Browser, server: Server, artifacts: Path
) -> None:
    page = console_page(browser, server)
    page.goto(f"{server.url}/console/keys")
    page.fill("input[name=friendly_name]", "console test key")
    page.click("text=Create a key")
    secret = page.inner_text("#new-secret")
    key_sid = page.inner_text(".secret code")
    page.goto(f"{server.url}/console/keys")
    assert page.locator("#new-secret").count() == 0  # shown once
    assert "console test key" in page.inner_text("table")
    rest = Client(key_sid, secret, server.account_sid)
    rest.chat.base_url = server.url
    assert rest.chat.v2.services.list() is not None  # the key works for REST
    with_key = console_page(browser, server, key_sid, secret)
    assert with_key.inner_text("header .who").startswith(server.account_sid)
    page.locator("tr", has_text=key_sid).locator("button").click()
    expect(page.locator("tr", has_text=key_sid)).to_have_count(0)
    with_key.goto(f"{server.url}/console/services")
    assert "/console/signin" in with_key.url  # its session ended with the key
    with_key.context.close()
    page.context.close()


def test_pages_need_a_session(browser: Browser, server: Server) -> None:
    page = new_page(browser)
    for path in ("/console/services", "/console/users", "/console/keys"):
        page.goto(server.url + path)
        assert page.url.startswith(server.url + "/console/signin?next=")
    reply = page.request.post(server.url + "/console/keys", form={"friendly_name": "x"})
    assert reply.status == 403
    page.context.close()
