"""Isolation of accounts: no operation of one account reads, changes, pages into or detects the
other's resources; a deleted API key and a replaced auth token stop working at once.

Account A (the session server's) holds one of every resource kind of Chat v1 and v2: service,
role, credential, user, channel, member, message, invite, user channel, channel webhook,
binding (and user binding) and media. Account B, with its auth token and then with its API key,
tries every action each kind serves on A's SIDs (and on the identity or unique name where a path
takes one): fetch, update, delete, list, list with a PageToken, and create below A's parents.
Every answer must be 404/20404, the very answer B gets for a SID that exists nowhere (same
status, code and message), so B cannot even learn that A's resources exist. B's own lists, paged
anywhere, never hold A's data; A finds its world exactly as it was.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.api.conftest import parse_credentials
from tests.badinput.world import Api, World
from tests.isolation.conftest import Account
from tests.support.servers import Server

ERROR_KEYS = {"code", "message", "more_info", "status"}
TOKENS = ("PA0", "PB999999999999", "PA999999")


@dataclass(frozen=True)
class Kind:
    """A resource kind at one path: which actions it serves, and a harmless form for writes."""

    name: str
    instance: str  # path template of one resource
    actions: frozenset[str]
    form: tuple[tuple[str, str], ...] = (("FriendlyName", "hijacked"),)
    alias: str = ""  # world field a path may name instead of the SID (identity, unique name)

    @property
    def collection(self) -> str:
        return self.instance.rsplit("/", 1)[0]

    @property
    def top_level(self) -> bool:
        return self.collection.count("/") == 2  # /v1/Services, /v1/Credentials


ALL = frozenset({"fetch", "update", "delete", "list", "create"})
NO_UPDATE = frozenset({"fetch", "delete", "list", "create"})
READ_DELETE = frozenset({"fetch", "delete", "list"})


def kinds() -> list[Kind]:
    found = []
    for v in ("v1", "v2"):
        svc = f"/{v}/Services/{{ServiceSid}}"
        room = f"{svc}/Channels/{{ChannelSid}}"
        found += [
            Kind(f"{v} service", f"/{v}/Services/{{Sid}}", ALL),
            Kind(f"{v} role", f"{svc}/Roles/{{Sid}}", ALL, (("Permission", "sendMessage"),)),
            Kind(f"{v} credential", f"/{v}/Credentials/{{Sid}}", ALL),
            Kind(f"{v} user", f"{svc}/Users/{{Sid}}", ALL, alias="identity"),
            Kind(f"{v} channel", f"{svc}/Channels/{{Sid}}", ALL, alias="unique_name"),
            Kind(
                f"{v} member",
                f"{room}/Members/{{Sid}}",
                ALL,
                (("LastConsumedMessageIndex", "0"), ("Identity", "intruder")),
                alias="identity",
            ),
            Kind(f"{v} message", f"{room}/Messages/{{Sid}}", ALL, (("Body", "hijacked"),)),
            Kind(f"{v} invite", f"{room}/Invites/{{Sid}}", NO_UPDATE, (("Identity", "x"),)),
        ]
    found += [
        Kind(
            "v1 user channels",
            "/v1/Services/{ServiceSid}/Users/{UserSid}/Channels/-",  # a list only
            frozenset({"list"}),
        ),
        Kind(
            "v2 user channel",
            "/v2/Services/{ServiceSid}/Users/{UserSid}/Channels/{ChannelSid}",
            frozenset({"fetch", "update", "delete", "list"}),
            (("NotificationLevel", "muted"),),
        ),
        Kind(
            "v2 channel webhook",
            "/v2/Services/{ServiceSid}/Channels/{ChannelSid}/Webhooks/{Sid}",
            ALL,
            (("Type", "webhook"), ("Configuration.Url", "https://hooks.example.com/x")),
        ),
        Kind(
            "v2 binding",
            "/v2/Services/{ServiceSid}/Bindings/{Sid}",
            frozenset({"fetch", "delete", "list", "create"}),
            (("Endpoint", "e"), ("Identity", "x"), ("BindingType", "apn"), ("Address", "a")),
        ),
        Kind(
            "v2 user binding",
            "/v2/Services/{ServiceSid}/Users/{UserSid}/Bindings/{Sid}",
            READ_DELETE,
        ),
        Kind("v1 media", "/v1/Services/{ServiceSid}/Media/{Sid}", frozenset({"fetch", "create"})),
    ]
    return found


KINDS = kinds()


def phantom(world: World) -> World:
    """A world of the same shape whose SIDs and names exist nowhere."""
    values = {}
    for f in fields(world):
        value = getattr(world, f.name)
        if f.name == "account":
            values[f.name] = value
        elif len(value) == 34 and value[:2].isalpha() and value[:2].isupper():
            values[f.name] = value[:2] + secrets.token_hex(16)
        else:
            values[f.name] = f"nobody-{secrets.token_hex(4)}"
    return replace(world, **values)


def secrets_of(world: World) -> list[str]:
    """Every SID and name of `world` (but its account): none may appear in another's answer."""
    return [getattr(world, f.name) for f in fields(world) if f.name != "account"]


def normalized(response: requests.Response, world: World) -> tuple[int, Any, str]:
    """(status, code, message with the world's SIDs and names replaced by their field names)."""
    body = response.json()
    message = str(body.get("message", ""))
    for f in fields(world):
        message = message.replace(getattr(world, f.name), "{" + f.name + "}")
    return response.status_code, body.get("code"), message


def is_not_found(response: requests.Response) -> str | None:
    """None if `response` is Twilio's 404/20404; else what it was."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.text[:200]}"
    if (
        response.status_code == 404
        and set(body) == ERROR_KEYS
        and body["code"] == 20404
        and body["status"] == 404
    ):
        return None
    return f"{response.status_code} {body}"


def attempts(kind: Kind, world: World) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, request kwargs) of everything B tries against `kind` in `world`."""
    instance = world.fill(kind.instance)
    names = [instance]
    if kind.alias:
        names.append(instance.rsplit("/", 1)[0] + "/" + getattr(world, kind.alias))
    tried: list[tuple[str, str, dict[str, Any]]] = []
    for path in names:
        if "fetch" in kind.actions:
            tried.append(("GET", path, {}))
        if "update" in kind.actions:
            tried.append(("POST", path, {"data": dict(kind.form)}))
        if "delete" in kind.actions:
            tried.append(("DELETE", path, {}))
    if kind.top_level:
        return tried
    collection = world.fill(kind.collection)
    if "list" in kind.actions:
        tried.append(("GET", collection, {}))
        tried += [("GET", collection, {"params": {"PageToken": t}}) for t in TOKENS]
    if "create" in kind.actions and kind.name != "v1 media":
        tried.append(("POST", collection, {"data": dict(kind.form)}))
    if kind.name == "v1 media":
        tried.append(("GET", f"{instance}/Content", {}))
        png = {"data": b"\x89PNG", "headers": {"Content-Type": "image/png"}}
        tried.append(("POST", collection, png))
    return tried


def stable(body: Any) -> Any:
    """`body` without what changes by itself: a media's temporary link is signed afresh, with
    its own expiry, at every read (as Twilio's pre-signed URLs were)."""
    if isinstance(body, dict):
        return {k: stable(v) for k, v in body.items() if k != "content_direct_temporary"}
    if isinstance(body, list):
        return [stable(item) for item in body]
    return body


def snapshot(api: Api, world: World, kinds: list[Kind]) -> dict[str, Any]:
    """The instances and lists of `kinds` in `world`, as their owner reads them."""
    seen: dict[str, Any] = {}
    for kind in kinds:
        path = world.fill(kind.instance)
        if "fetch" in kind.actions:
            seen[path] = stable(api.get(path).json())
        if "list" in kind.actions and not kind.top_level:
            collection = world.fill(kind.collection)
            seen[collection] = stable(api.get(collection, params={"PageSize": 1000}).json())
    return seen


@pytest.fixture(params=["token", "key"])
def api_b(request: pytest.FixtureRequest, server: Server, account_b: Account) -> Iterator[Api]:
    """Raw HTTP as account B, with its auth token or with its API key."""
    api = Api(server, *account_b.credentials(request.param))
    yield api
    api.close()


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_other_account_gets_404_everywhere(
    kind: Kind, api_a: Api, api_b: Api, world_a: World, world_b: World
) -> None:
    """B's every action on A's resource of this kind is 404/20404, exactly as for no resource."""
    watched = [kind, KINDS[0], KINDS[4]]  # this kind, the service, the channel
    before = snapshot(api_a, world_a, watched)
    nowhere = phantom(world_a)
    failures = []
    for (method, path, kwargs), (_, ghost, _) in zip(
        attempts(kind, world_a), attempts(kind, nowhere), strict=True
    ):
        response = api_b.request(method, path, **kwargs)
        problem = is_not_found(response)
        if problem:
            failures.append(f"{method} {path} {kwargs.get('params', '')}: {problem}")
            continue
        unknown = api_b.request(method, ghost, **kwargs)
        if normalized(response, world_a) != normalized(unknown, nowhere):
            failures.append(
                f"{method} {path}: differs from a SID that exists nowhere: "
                f"{normalized(response, world_a)} vs {normalized(unknown, nowhere)}"
            )
    assert failures == [], "\n".join(failures)
    assert snapshot(api_a, world_a, watched) == before, "A's world changed"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_lists_never_include_the_other_account(
    version: str, api_a: Api, api_b: Api, world_a: World, world_b: World
) -> None:
    """B's lists, top-level or below its own resources, paged anywhere, hold none of A's data."""
    leaks = []
    for kind in KINDS:
        if "list" not in kind.actions or not kind.collection.startswith(f"/{version}/"):
            continue
        collection = world_b.fill(kind.collection)
        for params in [{}, {"PageSize": 1000}] + [{"PageToken": t} for t in TOKENS]:
            response = api_b.get(collection, params=params)
            assert response.status_code == 200, f"{collection} {params}: {response.text}"
            text = response.text
            leaks += [f"{collection} {params}: {s}" for s in secrets_of(world_a) if s in text]
            body = response.json()
            rows = next(v for k, v in body.items() if k != "meta")
            leaks += [
                f"{collection}: row of {row['account_sid']}"
                for row in rows
                if row.get("account_sid") not in (None, world_b.account)
            ]
    assert leaks == [], "\n".join(leaks)


def test_top_level_lists_hold_only_own_rows(
    api_a: Api, api_b: Api, world_a: World, account_b: Account
) -> None:
    """Services and credentials lists of B, on every page and token, are B's rows only."""
    for path in ("/v1/Services", "/v2/Services", "/v1/Credentials", "/v2/Credentials"):
        for params in [{"PageSize": 100}] + [{"PageToken": t, "PageSize": 100} for t in TOKENS]:
            response = api_b.get(path, params=params)
            assert response.status_code == 200, response.text
            rows = next(v for k, v in response.json().items() if k != "meta")
            assert {r["account_sid"] for r in rows} <= {account_b.sid}, (path, params)
            assert world_a.service not in response.text
            assert world_a.credential not in response.text


def test_cross_credentials_refused(server: Server, account_a: Account, account_b: Account) -> None:
    """An account SID with the other's token, or a key SID with the other's secret, is 401."""
    pairs = [
        (account_a.sid, account_b.token),
        (account_b.sid, account_a.token),
        (account_a.key_sid, account_b.key_secret),
        (account_b.key_sid, account_a.token),
        (account_a.sid, account_a.key_secret),
        (account_a.key_sid, account_a.token),
    ]
    for auth in pairs:
        response = requests.get(f"{server.url}/v1/Services", auth=auth, timeout=30)
        assert response.status_code == 401, (auth[0], response.text)
        assert response.json()["code"] == 20003


def test_deleted_key_stops_at_once(server: Server, account_b: Account, world_b: World) -> None:
    """A deleted API key is refused (401) on the very next request; the token still works."""
    sid, secret = parse_credentials(server.cli("keys", "create", "--account", account_b.sid))
    path = f"{server.url}/v1/Services/{world_b.service}"
    with requests.Session() as session:  # a kept-alive connection, as a client would hold
        session.auth = (sid, secret)
        assert session.get(path, timeout=30).status_code == 200
        server.cli("keys", "delete", sid)
        for _ in range(3):
            response = session.get(path, timeout=30)
            assert response.status_code == 401, response.text
            assert response.json()["code"] == 20003
            assert "WWW-Authenticate" in response.headers
        refused = session.post(f"{server.url}/v1/Services", data={"FriendlyName": "x"}, timeout=30)
        assert refused.status_code == 401
    token = requests.get(path, auth=(account_b.sid, account_b.token), timeout=30)
    assert token.status_code == 200
    other_key = requests.get(path, auth=(account_b.key_sid, account_b.key_secret), timeout=30)
    assert other_key.status_code == 200


def _services(server: Server, auth: tuple[str, str]) -> requests.Response:
    return requests.get(f"{server.url}/v1/Services", auth=auth, timeout=30)


def test_auth_token_change_on_restart(
    fresh_database: str, tmp_path: Path, servers: list[Server]
) -> None:
    """Restarted with a new TWILIO_AUTH_TOKEN, the old token is 401 and the new one sees the data."""
    first = Server(fresh_database)
    servers.append(first)
    first.start(tmp_path / "first.log")
    old = (first.account_sid, first.auth_token)
    created = requests.post(
        f"{first.url}/v1/Services", data={"FriendlyName": "kept"}, auth=old, timeout=30
    )
    assert created.status_code == 201
    key = parse_credentials(first.cli("keys", "create", "--account", first.account_sid))
    first.stop()

    second = Server(fresh_database, first.account_sid, secrets.token_hex(16))
    servers.append(second)
    second.start(tmp_path / "second.log")
    refused = _services(second, old)
    assert refused.status_code == 401
    assert refused.json()["code"] == 20003
    listed = _services(second, (second.account_sid, second.auth_token))
    assert listed.status_code == 200
    assert [s["sid"] for s in listed.json()["services"]] == [created.json()["sid"]]
    assert _services(second, key).status_code == 200, "API keys do not hang on the token"


def test_auth_token_change_takes_effect_at_once(
    fresh_database: str, tmp_path: Path, servers: list[Server]
) -> None:
    """A token changed by another process on the same database applies to a running server at once."""
    running = Server(fresh_database)
    servers.append(running)
    running.start(tmp_path / "running.log")
    old = (running.account_sid, running.auth_token)
    assert _services(running, old).status_code == 200

    rotator = Server(fresh_database, running.account_sid, secrets.token_hex(16))
    servers.append(rotator)
    rotator.start(tmp_path / "rotator.log")  # its start sets the account's token to the new one
    rotator.stop()
    new = (rotator.account_sid, rotator.auth_token)
    assert _services(running, old).status_code == 401
    assert _services(running, new).status_code == 200
    running.stop()
    assert running.log_path is not None
    assert "chinwag stopped cleanly" in running.log_path.read_text()


def test_error_bodies_carry_no_foreign_data(api_b: Api, world_a: World) -> None:
    """B's 404 for A's channel, by SID or unique name, names only what B itself sent."""
    room = f"/v1/Services/{world_a.service}/Channels/{world_a.unique_name}"
    body = api_b.get(room).json()
    assert body["code"] == 20404
    text = json.dumps(body)
    for secret in secrets_of(world_a):
        if secret not in (world_a.service, world_a.unique_name):
            assert secret not in text
