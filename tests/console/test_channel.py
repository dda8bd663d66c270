"""A channel in the console: its messages and members, posting and removing, live arrivals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Browser, expect
from twilio.rest import Client
from websockets.sync.client import connect

from chinwag.console.channel import MESSAGES_PER_PAGE
from chinwag.realtime.framing import encode
from tests.realtime.conftest import Key, mint, ws_url
from tests.realtime.test_protocol import WAIT, init, reply_to
from tests.support.console import console_page
from tests.support.servers import Server


class Channel:
    """A v2 channel of the test's service with one member, alice."""

    def __init__(self, client: Client, service: Any, name: str) -> None:
        v2 = client.chat.v2.services(service.sid)
        self.sid = v2.channels.create(friendly_name=name).sid
        self.rest = v2.channels(self.sid)
        self.messages = self.rest.messages
        self.members = self.rest.members
        v2.users.create(identity="alice")
        self.members.create(identity="alice")


def _channel(client: Client, service: Any, name: str = "General") -> Channel:
    return Channel(client, service, name)


def test_the_channel_page_shows_messages_members_and_read_positions(
    browser: Browser, server: Server, client: Client, service: Any, artifacts: Path
) -> None:
    channel = _channel(client, service)
    for n in range(3):
        channel.messages.create(body=f"message {n}", from_="alice", attributes=f'{{"n": {n}}}')
    channel.members.list()[0].update(last_consumed_message_index=0)
    page = console_page(browser, server)
    page.goto(f"{server.url}/console/services/{service.sid}/channels")
    page.click("text=General")
    bodies = page.locator("#messages li .body").all_inner_texts()
    assert bodies == ["message 2", "message 1", "message 0"]  # newest first
    assert page.locator("#messages li").first.locator(".author").inner_text() == "alice"
    assert page.locator("#messages li").first.locator(".attributes").inner_text() == '{"n": 2}'
    member = page.locator("table.members tbody tr").first
    cells = member.locator("td").all_inner_texts()
    assert cells[0] == "alice"
    assert (cells[1], cells[2], cells[4]) == ("channel user", "0", "2")  # 2 unread after #0
    page.screenshot(path=str(artifacts / "channel.png"), full_page=True)
    page.context.close()


def test_posting_and_removing_a_message_go_through_the_api(
    browser: Browser, server: Server, client: Client, service: Any, artifacts: Path
) -> None:
    channel = _channel(client, service)
    page = console_page(browser, server)
    page.goto(f"{server.url}/console/services/{service.sid}/channels/{channel.sid}")
    page.fill(".post-message input[name=From]", "alice")
    page.fill(".post-message textarea[name=Body]", "posted from the console")
    page.click(".post-message button")
    expect(page.locator("#messages li .body")).to_have_text(["posted from the console"])
    [message] = channel.messages.list()
    assert (message.body, message._from, message.index) == ("posted from the console", "alice", 0)
    assert channel.rest.fetch().messages_count == 1  # the counters moved as for REST
    page.fill(".post-message textarea[name=Body]", "from the system")
    page.click(".post-message button")
    expect(page.locator("#messages li .author").first).to_have_text("system")
    page.screenshot(path=str(artifacts / "posted.png"))
    page.locator(f"li[id='{message.sid}'] button.remove").click()
    expect(page.locator("#messages li .body")).to_have_text(["from the system"])
    assert [m.body for m in channel.messages.list()] == ["from the system"]
    page.context.close()


def test_adding_and_removing_a_member(
    browser: Browser, server: Server, client: Client, service: Any
) -> None:
    channel = _channel(client, service)
    page = console_page(browser, server)
    page.goto(f"{server.url}/console/services/{service.sid}/channels/{channel.sid}")
    page.fill("input[name=Identity]", "bob")
    page.click("text=Add member")
    expect(page.locator("table.members tbody tr td:first-child")).to_have_text(["alice", "bob"])
    assert sorted(m.identity for m in channel.members.list()) == ["alice", "bob"]
    page.locator("table.members tbody tr", has_text="bob").locator("button").click()
    expect(page.locator("table.members tbody tr td:first-child")).to_have_text(["alice"])
    assert [m.identity for m in channel.members.list()] == ["alice"]
    page.context.close()


def test_a_message_posted_through_rest_appears_live(
    browser: Browser, server: Server, client: Client, service: Any, artifacts: Path
) -> None:
    channel = _channel(client, service)
    channel.messages.create(body="before", from_="alice")
    page = console_page(browser, server)
    page.goto(f"{server.url}/console/services/{service.sid}/channels/{channel.sid}")
    expect(page.locator("#live-state")).to_have_text("● live")
    channel.messages.create(body="arrived while watching", from_="alice")
    expect(page.locator("#messages li .body")).to_have_text(["arrived while watching", "before"])
    page.screenshot(path=str(artifacts / "live.png"))
    removed = channel.messages.list(order="desc")[0]
    channel.messages(removed.sid).delete()
    expect(page.locator("#messages li .body")).to_have_text(["before"])
    page.context.close()


def test_markup_in_messages_and_names_shows_as_text(
    browser: Browser, server: Server, client: Client, service: Any, artifacts: Path
) -> None:
    """A body, name or attributes of `<script>` or an `onerror` image never runs, whether
    rendered by the server or added live by the page's script."""
    attack = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"
    channel = _channel(client, service, name="Evil")
    channel.rest.update(friendly_name=attack)
    channel.messages.create(body=attack, from_=attack, attributes='{"x": "</code><script>"}')
    page = console_page(browser, server)
    page.goto(f"{server.url}/console/services/{service.sid}/channels/{channel.sid}")
    expect(page.locator("#live-state")).to_have_text("● live")
    channel.messages.create(body=attack + " live", from_="alice")
    expect(page.locator("#messages li .body")).to_have_text([attack + " live", attack])
    assert page.locator("h1").inner_text() == attack
    assert page.locator("#messages li .author").last.inner_text() == attack
    assert page.evaluate("window.pwned") is None
    assert page.locator("#messages img").count() == 0
    page.screenshot(path=str(artifacts / "xss.png"))
    page.context.close()


def test_another_accounts_sids_are_not_found(
    browser: Browser, server: Server, client: Client, service: Any
) -> None:
    """Signed in as another account, every page and action naming this account's SIDs is a
    404 (with a valid CSRF token, so the operation itself refuses), and nothing changes."""
    channel = _channel(client, service)
    message = channel.messages.create(body="mine", from_="alice")
    [member] = channel.members.list()
    user = client.chat.v2.services(service.sid).users.list()[0]
    other_sid, other_token = server.cli("accounts", "create").split()
    page = console_page(browser, server, other_sid, other_token)
    csrf = page.locator("header .who input[name=csrf]").get_attribute("value")
    assert csrf
    svc = f"{server.url}/console/services/{service.sid}"
    one = f"{svc}/channels/{channel.sid}"
    for url in (
        svc,
        f"{svc}/channels",
        one,
        f"{one}/events",
        f"{svc}/users",
        f"{svc}/users/{user.sid}",
        f"{svc}/users/alice",
    ):
        reply = page.goto(url)
        assert reply is not None
        assert reply.status == 404, url
    for url, form in (
        (svc, {"FriendlyName": "taken"}),
        (f"{one}/messages", {"Body": "intruder"}),
        (f"{one}/messages/{message.sid}/delete", {}),
        (f"{one}/members", {"Identity": "intruder"}),
        (f"{one}/members/{member.sid}/delete", {}),
    ):
        assert page.request.post(url, form={**form, "csrf": csrf}).status == 404, url
    assert [m.body for m in channel.messages.list()] == ["mine"]
    assert [m.identity for m in channel.members.list()] == ["alice"]
    assert client.chat.v2.services(service.sid).fetch().friendly_name == service.friendly_name
    page.context.close()


def test_messages_are_paged_newest_first(
    browser: Browser, server: Server, client: Client, service: Any
) -> None:
    channel = _channel(client, service)
    for n in range(MESSAGES_PER_PAGE + 3):
        channel.messages.create(body=f"m{n}", from_="alice")
    newest = [f"m{n}" for n in range(MESSAGES_PER_PAGE + 2, 2, -1)]
    page = console_page(browser, server)
    page.goto(f"{server.url}/console/services/{service.sid}/channels/{channel.sid}")
    bodies = page.locator("#messages li .body")
    expect(bodies).to_have_text(newest)
    page.click("a[rel=next]")
    expect(bodies).to_have_text(["m2", "m1", "m0"])
    assert page.locator("#messages").get_attribute("data-events") == ""  # not live: older page
    page.click("a[rel=prev]")
    expect(bodies).to_have_text(newest)
    page.context.close()


def test_media_are_linked_and_downloaded_never_rendered(
    browser: Browser, server: Server, client: Client, service: Any
) -> None:
    channel = _channel(client, service)
    html = b"<script>window.pwned = 1</script>"
    uploaded = requests.post(
        f"{server.url}/v1/Services/{service.sid}/Media",
        data=html,
        headers={"Content-Type": "text/html", "X-Twilio-Filename": "page.html"},
        auth=(server.account_sid, server.auth_token),
        timeout=30,
    )
    assert uploaded.status_code == 201, uploaded.text
    channel.messages.create(media_sid=uploaded.json()["sid"], from_="alice")
    page = console_page(browser, server)
    page.goto(f"{server.url}/console/services/{service.sid}/channels/{channel.sid}")
    link = page.locator("#messages .media a")
    expect(link).to_have_text("page.html")
    href = link.get_attribute("href")
    assert href is not None
    reply = page.request.get(server.url + href)
    assert reply.status == 200
    assert reply.body() == html
    assert reply.headers["content-type"] == "application/octet-stream"
    assert reply.headers["content-disposition"].startswith("attachment")
    assert reply.headers["content-security-policy"] == "sandbox"
    page.context.close()


def test_a_member_typing_shows_on_the_page(
    browser: Browser, server: Server, client: Client, service: Any, artifacts: Path
) -> None:
    """A member typing in the client SDK shows on the channel's page, as the channel's other
    members' SDKs hear it ("alice is typing…"), until the service's typing timeout runs out."""
    channel = _channel(client, service)
    client.chat.v2.services(service.sid).update(typing_indicator_timeout=2)
    sid, secret = server.cli("keys", "create", "--account", server.account_sid).split()
    token = mint(Key(sid, secret, server.account_sid), service.sid, "alice")
    page = console_page(browser, server)
    page.goto(f"{server.url}/console/services/{service.sid}/channels/{channel.sid}")
    expect(page.locator("#live-state")).to_have_text("● live")
    typing = page.locator("#typing")
    with connect(ws_url(server), open_timeout=WAIT, close_timeout=WAIT) as ws:
        init(ws, token)
        path = f"Client/v1/Services/{service.sid}/Typing"
        request = {"host": "aim", "path": path, "method": "POST"}
        shown = False
        for attempt in range(10):  # the page follows the roster a moment after it is live
            frame = {"method": "message", "id": f"TM{attempt}", "http_request": request}
            ws.send(encode(frame, {"channel_sid": channel.sid}))
            header, answer = reply_to(ws, f"TM{attempt}")
            assert header["http_status"]["code"] == 200, answer
            try:
                expect(typing).to_have_text("alice is typing…", timeout=1000)
            except AssertionError:
                continue
            shown = True
            page.screenshot(path=str(artifacts / "typing.png"))
            break
        assert shown, "the page never showed alice typing"
    expect(typing).to_have_text("")  # the service's timeout ran out
    page.context.close()
