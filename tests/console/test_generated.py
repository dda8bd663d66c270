"""Console requests no page would send, generated: none breaks the server.

Each request takes one of the console's routes (now and then with a method it does not
serve), signed in, with the real SIDs of a service, channel, user, member, message and
delivery or, one time in ten, junk in their place (percent-escapes that decode to a NUL or to
no UTF-8 at all, overlong names, numbers past any range), junk query parameters of the names
the pages read, and for a POST a form of junk under the names the handlers read (the service
settings' REST parameters among them) with the form's CSRF token, or one time in ten a wrong
or missing one. The answer must be below 500, and the server must log no traceback. The
server is the test's own (its deletes and retries touch nobody else's rows); generation is
deterministic and bounded. No browser: the pages' HTML is not what is tested here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from chinwag.resources.services import SERVICE
from tests.conftest import make_client
from tests.support.console import signed_in
from tests.support.databases import fresh
from tests.support.generated import generated, tracebacks
from tests.support.servers import Server

EXAMPLES = 800  # per database

SERVICE_PAGE = "/services/{sid}"
CHANNEL_PAGE = SERVICE_PAGE + "/channels/{ch}"
GETS = [
    "/",
    "/static/{name}",
    "/signin",
    "/services",
    SERVICE_PAGE,
    SERVICE_PAGE + "/channels",
    CHANNEL_PAGE,
    CHANNEL_PAGE + "/events",
    SERVICE_PAGE + "/media/{me}",
    SERVICE_PAGE + "/users",
    SERVICE_PAGE + "/users/{us}",
    "/users",
    "/deliveries",
    "/deliveries/{pk}",
    "/keys",
    "/dashboard",
    "/dashboard/{sid}",
    "/{name}",
]
POSTS = [
    SERVICE_PAGE,
    CHANNEL_PAGE + "/messages",
    CHANNEL_PAGE + "/messages/{im}/delete",
    CHANNEL_PAGE + "/members",
    CHANNEL_PAGE + "/members/{mb}/delete",
    "/deliveries/{pk}/retry",
    "/deliveries/retry",
    "/keys",
    "/keys/{sk}/delete",
    "/signin",
]  # not /signout: the rest would then only be sent to sign in again
# What the pages and handlers read from the query and the form.
NAMES = [
    "q", "Type", "PageToken", "PageSize", "Page", "status", "event", "service", "since",
    "retried", "saved", "friendly_name", "From", "Body", "Attributes", "Identity", "next",
    "username", "password",
]  # fmt: skip
SETTINGS = sorted({f.param or f.name for f in SERVICE.writable("update", "v2")})
ODD = [
    "", "0", "-1", "99999999999999999999999", "NaN", "%00", "%ff", "%C0%AF", "..", "\x00",
    "<script>", "'\"", "null", "[]", "{}", "true", "a" * 5000, "IS" + "f" * 32,
]  # fmt: skip

junk = st.text(max_size=40) | st.sampled_from(ODD)
segment = junk.filter(lambda text: text not in ("", ".", ".."))


def escaped(text: str) -> str:
    """A path segment as sent: percent-escapes kept as they are (so `%ff` reaches the server
    undecodable), everything else escaped."""
    if re.fullmatch(r"(%[0-9A-Fa-f]{2})+", text):
        return text
    return quote(text, safe="")


@st.composite
def visits(draw: st.DrawFn, real: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    """(method, path under /console, query or form) for one request."""
    method = draw(st.sampled_from(["GET", "POST"]))
    template = draw(st.sampled_from(GETS if method == "GET" else POSTS))
    if draw(st.integers(0, 19)) == 0:
        method = draw(st.sampled_from(["PUT", "DELETE", "PATCH", "HEAD"]))
    fills = {
        key: escaped(draw(segment)) if draw(st.integers(0, 9)) == 0 else value
        for key, value in real.items()
    }
    path = template.format(**fills)
    names = NAMES + SETTINGS if method == "POST" else NAMES
    values = draw(st.dictionaries(st.sampled_from(names), junk, max_size=6))
    if method == "POST" and draw(st.integers(0, 9)) != 0:
        values["csrf"] = real["csrf"]
    elif method == "POST" and draw(st.booleans()):
        values["csrf"] = draw(junk)
    return method, path, values


@pytest.fixture(scope="module")
def own_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of the test's own, on a fresh database of the session's kind."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with fresh(kind, tmp_path_factory.mktemp("db")) as url:
        media = str(tmp_path_factory.mktemp("media"))
        srv = Server(url, extra_args=["--media-dir", media])
        srv.start(tmp_path_factory.mktemp("logs") / "server.log")
        yield srv
        srv.stop()


def seeded(server: Server, http: requests.Session) -> dict[str, str]:
    """Real rows for the paths: a channel with a member, a message and a delivery that failed
    (the service's post-event hook points at a closed port), and the form's CSRF token."""
    chat = make_client(server).chat.v2
    service = chat.services.create(friendly_name="fuzz")
    chat.services(service.sid).update(
        post_webhook_url="http://127.0.0.1:9/hook", webhook_filters=["onMessageSent"]
    )
    svc = chat.services(service.sid)
    user = svc.users.create(identity="ann")
    channel = svc.channels.create(friendly_name="fuzz", unique_name="fuzz")
    member = svc.channels(channel.sid).members.create(identity="ann")
    message = svc.channels(channel.sid).messages.create(body="hello", from_="ann")
    page = http.get(server.url + "/console/keys").text
    token = re.search(r"name=csrf value='([^']+)'", page)
    assert token is not None, page[:500]
    created = http.post(
        server.url + "/console/keys",
        data={"friendly_name": "fuzz", "csrf": token.group(1)},
    )
    assert created.status_code == 201, created.status_code
    key = re.search(r"SK[0-9a-f]{32}", created.text)
    assert key is not None
    deliveries = http.get(server.url + "/console/deliveries").text
    pk = re.search(r"/console/deliveries/(\d+)", deliveries)
    return {
        "sid": service.sid,
        "ch": channel.sid,
        "us": user.sid,
        "mb": member.sid,
        "im": message.sid,
        "me": "ME" + "0" * 32,
        "pk": pk.group(1) if pk else "1",
        "sk": key.group(0),
        "name": "console.css",
        "csrf": token.group(1),
    }


def test_generated_console_requests_are_answered_below_500(own_server: Server) -> None:
    http = signed_in(own_server)
    real = seeded(own_server, http)
    failures: list[str] = []
    statuses: set[int] = set()

    @generated(EXAMPLES)
    @given(visits(real))
    def visit(case: tuple[str, str, dict[str, Any]]) -> None:
        method, path, values = case
        url = own_server.url + "/console" + path
        sending: dict[str, Any] = {"timeout": 30, "stream": True, "allow_redirects": False}
        if method in ("GET", "HEAD"):
            sent = http.request(method, url, params=values, **sending)
        else:
            sent = http.request(method, url, data=values, **sending)
        sent.close()  # the live events of a channel stream: their status is enough
        statuses.add(sent.status_code)
        if sent.status_code >= 500:
            failures.append(f"{method} {path} {values!r} -> {sent.status_code}")

    visit()
    assert not failures, "\n".join(failures[:10])
    assert tracebacks(own_server) == 0, "the server logged a traceback"
    # The generation reached the pages, their refusals and their actions alike.
    assert {200, 201, 303, 400, 403, 404, 405} <= statuses, statuses
