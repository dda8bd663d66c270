"""Hand-written bad input: what a fuzzer does not think of, each with the answer it must get.

Oversize and non-UTF-8 bodies, absurd paging, forged and foreign page tokens, SQL and path tricks
in SIDs and identities, ten thousand repeated keys, JSON where a form belongs, and requests with
no or broken credentials. Never a 500; always Twilio's error body.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from tests.badinput.world import Api, World
from tests.conftest import make_client
from tests.support import contract
from tests.support.servers import Server

ERROR_KEYS = {"code", "message", "more_info", "status"}
MB = 1024 * 1024


def twilio_error(response: requests.Response, status: int, code: int | None = None) -> Any:
    """`response` is a Twilio error of `status` (and `code`); its body."""
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == status, body
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}", body
    if code is not None:
        assert body["code"] == code, body
    return body


def client_error(response: requests.Response) -> Any:
    """`response` is a Twilio-shaped 4xx (whichever); its body."""
    assert 400 <= response.status_code < 500, f"{response.status_code} {response.text}"
    return twilio_error(response, response.status_code)


def all_rows(api: Api, path: str, key: str) -> list[Any]:
    """Every row of a list, following next_page_url (bounded)."""
    rows: list[Any] = []
    url: str | None = path + "?PageSize=100"
    for _ in range(100):
        if url is None:
            return rows
        body = api.get(url.removeprefix(api.base)).json()
        rows += body[key]
        url = body["meta"]["next_page_url"]
    raise AssertionError(f"{path}: more pages than expected")


def list_paths() -> list[Any]:
    """(list path template, its PageSize maximum) of every list operation of the specs."""
    found = []
    for version in sorted(contract.SPECS):
        for path, operations in contract.load(version)["paths"].items():
            for param in operations.get("get", {}).get("parameters", []):
                if param["name"] == "PageSize":
                    found.append(pytest.param(path, param["schema"]["maximum"], id=path))
    return found


class TestBodies:
    def test_oversize_body(self, api: Api) -> None:
        """A form body over 1 MB is refused with 413 and Twilio's body, and nothing is created."""
        marker = f"oversize-{secrets.token_hex(4)}"
        name = marker + "x" * MB
        twilio_error(api.post("/v1/Services", data={"FriendlyName": name}), 413)
        names = [s["friendly_name"] or "" for s in all_rows(api, "/v1/Services", "services")]
        assert not any(n.startswith(marker) for n in names)

    def test_oversize_body_chunked(self, api: Api) -> None:
        """Over 1 MB sent chunked (no Content-Length) is refused with 413 as well."""

        def chunks() -> Iterator[bytes]:
            yield b"FriendlyName="
            for _ in range(17):
                yield b"y" * 65536

        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        twilio_error(api.post("/v1/Services", data=chunks(), headers=headers), 413)

    def test_body_just_under_the_cap(self, api: Api, world: World) -> None:
        """A body under 1 MB is read: an over-long value is a 400 for its field, not a 413."""
        response = api.post(f"/v1/Services/{world.service}", data={"FriendlyName": "z" * 900_000})
        client_error(response)
        assert response.status_code != 413

    @pytest.mark.parametrize(
        "body",
        [b"FriendlyName=\xff\xfe", b"FriendlyName=%FF%FE", b"Friendly\xc3(Name=x"],
        ids=["raw-bytes", "percent-encoded", "in-the-key"],
    )
    def test_invalid_utf8(self, api: Api, body: bytes) -> None:
        """A form body that is not UTF-8 (raw or percent-encoded) is 400, Twilio-shaped."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        twilio_error(api.post("/v1/Services", data=body, headers=headers), 400)

    def test_invalid_utf8_query(self, api: Api) -> None:
        """A query string that is not UTF-8 is 400, Twilio-shaped."""
        twilio_error(api.get("/v1/Services?PageSize=%FF%FE"), 400)

    def test_json_body_create(self, api: Api) -> None:
        """JSON where a form belongs: its keys are not parameters, so a create misses them (400)."""
        response = api.post("/v1/Services", json={"FriendlyName": "json"})
        twilio_error(response, 400)

    def test_json_body_update(self, api: Api, world: World) -> None:
        """JSON on an update is ignored: 200, nothing changed."""
        before = api.get(f"/v1/Services/{world.service}").json()
        response = api.post(f"/v1/Services/{world.service}", json={"FriendlyName": "changed"})
        if response.status_code != 200:
            client_error(response)
        after = api.get(f"/v1/Services/{world.service}").json()
        assert after["friendly_name"] == before["friendly_name"]

    def test_json_body_message(self, api: Api, world: World) -> None:
        """A JSON message body is never a 500: a 400, or a message not taken from the JSON."""
        path = f"/v1/Services/{world.service}/Channels/{world.channel}/Messages"
        response = api.post(
            path, data=b'{"Body": "hi", "From": "x"}', headers={"Content-Type": "application/json"}
        )
        if response.status_code == 201:
            assert response.json()["body"] != "hi"
        else:
            client_error(response)


def raw_exchange(server: Server, request: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """Send `request` as bytes on a connection of its own; the status line, headers and body
    of the answer, read to the connection's close."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status.encode(), headers, body


class TestMalformedHttp:
    @pytest.mark.parametrize("where", ["form", "media"])
    def test_a_body_cut_short_leaves_no_traceback(
        self, server: Server, api: Api, world: World, fuzz_account: tuple[str, str], where: str
    ) -> None:
        """A client that closes its connection mid-body is answered (to no one) with a 400 and
        logged as one request: it logged a 500 and two tracebacks, and a media upload's part
        is removed."""
        assert server.log_path is not None
        media_dir = Path(server.extra_args[server.extra_args.index("--media-dir") + 1])
        uploads = set(media_dir.glob(".upload-*"))
        tracebacks = server.log_path.read_text().count("Traceback")
        service = f"/v2/Services/{world.service}"
        path = f"/v1/Services/{world.service}/Media" if where == "media" else service
        credentials = base64.b64encode(":".join(fuzz_account).encode()).decode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {credentials}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
            conn.sendall(head.encode() + b"FriendlyName=ab")
        line = f"POST {path} 400"
        for _ in range(100):
            log = server.log_path.read_text()
            if line in log:
                break
            time.sleep(0.05)
        assert line in log, f"no 400 logged for {path}"
        assert log.count("Traceback") == tracebacks
        assert set(media_dir.glob(".upload-*")) == uploads
        assert api.get(service).status_code == 200

    @pytest.mark.parametrize(
        "request_bytes",
        [
            b"GET /v1/Services?" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /v1/Services HTTP/1.1\r\nHost: x\x01y\r\n\r\n",
            b"GET /v1/Services HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            b"NOT HTTP AT ALL\r\n\r\n",
        ],
        ids=["request-line-over-64k", "control-character-in-host", "bad-length", "not-http"],
    )
    def test_refused_by_the_http_layer_with_twilios_body(
        self, server: Server, api: Api, request_bytes: bytes
    ) -> None:
        """What the HTTP parser refuses before the app sees it is a 400 with Twilio's body
        (uvicorn alone answers plain text), the connection closes, and the server serves on."""
        status, headers, body = raw_exchange(server, request_bytes)
        assert status == b"HTTP/1.1 400 Bad Request", status
        assert headers["content-type"] == "application/json", headers
        assert headers["connection"] == "close", headers
        error = json.loads(body)
        assert set(error) == ERROR_KEYS, error
        assert (error["status"], error["code"]) == (400, 400), error
        assert error["more_info"] == "https://www.twilio.com/docs/errors/400", error
        assert api.get("/v1/Services").status_code == 200

    @pytest.mark.parametrize(
        "headers",
        [
            b"",  # no Sec-WebSocket-Key
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: bad\r\n",
            b"Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        ],
        ids=["no-key", "bad-key", "old-version"],
    )
    def test_a_refused_websocket_handshake_has_twilios_body(
        self, server: Server, api: Api, headers: bytes
    ) -> None:
        """A WebSocket upgrade the handshake refuses (the SDK never sends one) is answered with
        Twilio's body too, where the WebSocket library answers plain text."""
        upgrade = b"GET /v3/wsconnect HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
        line, answer_headers, body = raw_exchange(
            server, upgrade + b"Upgrade: websocket\r\n" + headers + b"\r\n"
        )
        assert line == b"HTTP/1.1 400 Bad Request", line
        assert answer_headers["content-type"] == "application/json", answer_headers
        assert int(answer_headers["content-length"]) == len(body)
        error = json.loads(body)
        assert set(error) == ERROR_KEYS, error
        assert (error["status"], error["code"]) == (400, 400), error
        assert "WebSocket" in error["message"], error
        assert api.get("/v1/Services").status_code == 200

    def test_a_websocket_upgrade_where_none_is_served_has_twilios_body(
        self, server: Server, api: Api
    ) -> None:
        """An upgrade to a path with no WebSocket behind it is refused (403, Starlette's answer)
        with Twilio's body and code."""
        key = b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        line, headers, body = raw_exchange(
            server,
            b"GET /v1/Services HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
            b"Upgrade: websocket\r\n" + key + b"\r\n",
        )
        assert line == b"HTTP/1.1 403 Forbidden", line
        assert headers["content-type"] == "application/json", headers
        error = json.loads(body)
        assert set(error) == ERROR_KEYS, error
        assert (error["status"], error["code"]) == (403, 20403), error
        assert api.get("/v1/Services").status_code == 200


class TestPaging:
    @pytest.mark.usefixtures("_spec")
    @pytest.mark.parametrize(("template", "maximum"), list_paths())
    def test_huge_page_size_is_clamped(
        self, api: Api, world: World, template: str, maximum: int
    ) -> None:
        """PageSize=100000 answers 200 with meta.page_size at the path's maximum (from the spec)."""
        response = api.get(world.fill(template), params={"PageSize": 100_000})
        assert response.status_code == 200, response.text
        meta = response.json()["meta"]
        assert meta["page_size"] == maximum
        assert f"PageSize={maximum}" in meta["url"]

    @pytest.mark.parametrize(
        "params",
        [
            {"PageSize": "0"},
            {"PageSize": "-5"},
            {"PageSize": "ten"},
            {"PageSize": "1e3"},
            {"PageSize": "9" * 40},
            {"Page": "-1"},
            {"Page": "one"},
            {"Page": "9" * 40},
        ],
        ids=lambda p: "&".join(f"{k}={v[:6]}" for k, v in p.items()),
    )
    def test_bad_page_numbers(self, api: Api, world: World, params: dict[str, str]) -> None:
        """A PageSize below 1, a negative Page, or either not an integer, is 400."""
        for path in ("/v1/Services", f"/v1/Services/{world.service}/Channels"):
            twilio_error(api.get(path, params=params), 400)

    @pytest.mark.parametrize(
        "token",
        [
            "PAxyz",
            "PB",
            "PA",
            "' OR 1=1 --",
            "PA1 OR 1=1",
            "PA-1",
            "PA1;DROP TABLE messages",
            "%00",
        ],
    )
    def test_forged_page_token(self, api: Api, world: World, token: str) -> None:
        """A PageToken that is not P[AB]<number> is 400, on every kind of list."""
        for path in (
            "/v1/Services",
            f"/v1/Services/{world.service}/Channels",
            f"/v1/Services/{world.service}/Channels/{world.channel}/Messages",
            f"/v2/Services/{world.service}/Users/{world.user}/Channels",
        ):
            twilio_error(api.get(path, params={"PageToken": token}), 400)

    @pytest.mark.parametrize("token", ["PA999999", "PB999999", "PA0", "PB999999999999999999"])
    def test_foreign_page_token(
        self, api: Api, world: World, server: Server, fuzz_account: tuple[str, str], token: str
    ) -> None:
        """A well-formed token from anywhere pages only through this account's own rows."""
        others = Api(server, server.account_sid, server.auth_token)
        try:
            theirs = others.post("/v1/Services", data={"FriendlyName": "not yours"}).json()["sid"]
            response = api.get("/v1/Services", params={"PageToken": token, "PageSize": 100})
            assert response.status_code == 200, response.text
            services = response.json()["services"]
            assert all(s["account_sid"] == fuzz_account[0] for s in services), services
            assert theirs not in {s["sid"] for s in services}
            creds = api.get("/v1/Credentials", params={"PageToken": token}).json()["credentials"]
            assert all(c["account_sid"] == fuzz_account[0] for c in creds)
            others.delete(f"/v1/Services/{theirs}")
        finally:
            others.close()


TRICKS = [
    "' OR '1'='1",
    "1; DROP TABLE services; --",
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "\x00",
    "IS" + "0" * 31 + "\x00",
    "\u0130S\u00e9\u00e8\U0001f600",
    "IS" + "a" * 10_000,
    "IS*",
    "IS%",
    "IS_" + "_" * 31,
]


class TestSids:
    @pytest.mark.parametrize("trick", TRICKS, ids=range(len(TRICKS)))
    def test_tricks_in_path_sids(self, api: Api, world: World, trick: str) -> None:
        """SQL, path traversal, NUL, unicode, 10 kB and LIKE wildcards as a SID: 4xx, never 500."""
        sid = quote(trick, safe="")
        svc = f"/v1/Services/{world.service}"
        room = f"{svc}/Channels/{world.channel}"
        paths = [
            f"/v1/Services/{sid}",
            f"/v2/Services/{sid}/Channels",
            f"{svc}/Channels/{sid}",
            f"{svc}/Users/{sid}",
            f"{svc}/Users/{sid}/Channels",
            f"{room}/Messages/{sid}",
            f"{room}/Members/{sid}",
            f"/v1/Credentials/{sid}",
            f"{svc}/Media/{sid}",
            f"{svc}/Media/{sid}/Content",
            f"/v2/Services/{world.service}/Bindings/{sid}",
        ]
        for path in paths:
            for method in ("GET", "POST", "DELETE"):
                client_error(api.request(method, path, data={"FriendlyName": "x"}))
        assert api.get(room).status_code == 200, "the world is still there"

    def test_path_traversal_never_reaches_files(self, api: Api, world: World) -> None:
        """Dot segments in a media path never serve a file from outside the media directory."""
        svc = f"/v1/Services/{world.service}"
        for path in (
            f"{svc}/Media/../../../../../../etc/passwd/Content",
            f"{svc}/Media/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd/Content",
            f"{svc}/Media/{world.media}/..%2F..%2F..%2Fetc%2Fpasswd",
        ):
            response = api.get(path)
            assert response.status_code in (400, 404, 405), response.status_code
            assert b"root:" not in response.content
            client_error(response)

    @pytest.mark.parametrize("trick", TRICKS[:5], ids=range(5))
    def test_tricks_in_sid_parameters(self, api: Api, world: World, trick: str) -> None:
        """A trick where a SID parameter belongs (RoleSid, MediaSid, CredentialSid) is a 4xx."""
        svc = f"/v1/Services/{world.service}"
        room = f"{svc}/Channels/{world.channel}"
        client_error(api.post(f"{svc}/Users", data={"Identity": "tricky", "RoleSid": trick}))
        client_error(api.post(f"{room}/Members", data={"Identity": world.guest, "RoleSid": trick}))
        client_error(
            api.post(
                f"/v2/Services/{world.service}/Channels/{world.channel}/Messages",
                data={"MediaSid": trick},
            )
        )
        client_error(
            api.post(
                f"/v2/Services/{world.service}/Bindings",
                data={
                    "Endpoint": "e",
                    "Identity": world.identity,
                    "BindingType": "apn",
                    "Address": "a",
                    "CredentialSid": trick,
                },
            )
        )


IDENTITIES = [
    "' OR '1'='1",
    "'; DELETE FROM users; --",
    "../../etc/passwd",
    "%00",
    "%2e%2e%2f",
    "\u00fcn\u00efc\u00f8d\u00e9 \U0001f389 \u7528\u6237 \u0645\u0633\u062a\u062e\u062f\u0645",
    "a" * 10_000,
    "tab\tnew\nline",
    "\x00",
    "*",
    "_%",
]


class TestIdentities:
    @pytest.mark.parametrize("identity", IDENTITIES, ids=range(len(IDENTITIES)))
    def test_identity_stored_verbatim_or_refused(
        self, api: Api, world: World, identity: str
    ) -> None:
        """A tricky identity is a clean 400, or stored verbatim and read back identical."""
        svc = f"/v1/Services/{world.service}"
        response = api.post(f"{svc}/Users", data={"Identity": identity})
        if response.status_code != 201:
            twilio_error(response, 400)
            return
        user = response.json()
        assert user["identity"] == identity
        assert api.get(f"{svc}/Users/{user['sid']}").json()["identity"] == identity
        if "/" not in identity and "%" not in identity:  # a path segment cannot carry those
            by_name = api.get(f"{svc}/Users/{quote(identity, safe='')}")
            assert by_name.status_code == 200, by_name.text
            assert by_name.json()["sid"] == user["sid"]
        listed = api.get(f"{svc}/Users", params={"PageSize": 1000}).json()["users"]
        assert [u["identity"] for u in listed if u["sid"] == user["sid"]] == [identity]

        member = api.post(f"{svc}/Channels/{world.channel}/Members", data={"Identity": identity})
        assert member.status_code == 201, member.text
        assert member.json()["identity"] == identity
        message = api.post(
            f"{svc}/Channels/{world.channel}/Messages", data={"Body": "tricky", "From": identity}
        )
        assert message.status_code == 201, message.text
        assert message.json()["from"] == identity
        others = api.get(f"{svc}/Users", params={"PageSize": 1000}).json()["users"]
        assert {world.identity, world.guest} <= {u["identity"] for u in others}

    def test_identity_wildcards_match_nothing_else(self, api: Api, world: World) -> None:
        """An identity of `%` or `*` in a path names no one: 404, not the first user."""
        svc = f"/v1/Services/{world.service}"
        for name in ("%25", "*", "_", "%27%20OR%20%271%27%3D%271"):
            twilio_error(api.get(f"{svc}/Users/{name}"), 404, 20404)
            twilio_error(api.get(f"{svc}/Channels/{world.channel}/Members/{name}"), 404, 20404)


class TestRepeatedKeys:
    def _role(self, api: Api, world: World, permissions: list[str]) -> requests.Response:
        pairs = [("FriendlyName", "many"), ("Type", "channel")]
        pairs += [("Permission", p) for p in permissions]
        return api.post(f"/v1/Services/{world.service}/Roles", data=pairs)

    def test_ten_thousand_unknown(self, api: Api, world: World) -> None:
        """10,000 keys in all, of an unknown Permission: handled, a 400 naming it."""
        twilio_error(self._role(api, world, ["fly"] * 9_998), 400)

    def test_ten_thousand_known(self, api: Api, world: World) -> None:
        """10,000 keys in all, of one known Permission repeated: handled (2xx or 400)."""
        response = self._role(api, world, ["sendMessage"] * 9_998)
        if response.status_code == 201:
            assert "sendMessage" in response.json()["permissions"]
        else:
            twilio_error(response, 400)

    def test_ten_thousand_and_one(self, api: Api, world: World) -> None:
        """10,001 keys: refused with 400 before any of them is looked at."""
        twilio_error(self._role(api, world, ["sendMessage"] * 9_999), 400)

    def test_many_distinct_keys(self, api: Api, world: World) -> None:
        """10,001 distinct unknown keys are refused the same way (400)."""
        body = "&".join(f"k{n}=v" for n in range(10_001))
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        twilio_error(api.post(f"/v1/Services/{world.service}", data=body, headers=headers), 400)

    def test_query_keys(self, api: Api) -> None:
        """In a query string too: 10,000 keys are read (200), 10,001 refused (400).

        (Kept under 64 kB: past that the HTTP parser itself refuses the request line.)
        """
        assert api.get("/v1/Services?" + "&".join(["k=1"] * 10_000)).status_code == 200
        twilio_error(api.get("/v1/Services?" + "&".join(["k=1"] * 10_001)), 400)


class TestCredentials:
    def test_missing_authorization(self, server: Server) -> None:
        """No Authorization header: 401/20003 with WWW-Authenticate, Twilio-shaped."""
        response = requests.get(f"{server.url}/v1/Services", timeout=30)
        twilio_error(response, 401, 20003)
        assert response.headers["WWW-Authenticate"].lower().startswith("basic")

    @pytest.mark.parametrize(
        "header",
        [
            "Bearer abc",
            "Basic",
            "Basic !!!not-base64!!!",
            "Basic " + base64.b64encode(b"no-colon").decode(),
            "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
            "Basic " + base64.b64encode(b"' OR '1'='1:' OR '1'='1").decode(),
            "Basic " + base64.b64encode(b"AC" + b"0" * 32 + b":").decode(),
            "Basic " + base64.b64encode(b"SK" + b"0" * 32 + b":x").decode(),
            "Basic " + base64.b64encode(b"a" * 50_000 + b":b").decode(),
        ],
        ids=range(9),
    )
    def test_broken_authorization(self, server: Server, world: World, header: str) -> None:
        """Broken or forged credentials are 401/20003 with WWW-Authenticate, never 500."""
        for path in ("/v1/Services", f"/v1/Services/{world.service}"):
            response = requests.get(
                f"{server.url}{path}", headers={"Authorization": header}, timeout=30
            )
            twilio_error(response, 401, 20003)
            assert "WWW-Authenticate" in response.headers


# What a new user tries, through the official client: each a 400 naming the parameter, with
# its Twilio code, and the server still answering afterwards (docs/behaviour.md, "Bad values").
NOT_JSON_EVERYWHERE = {
    "deep-arrays": "[" * 1_500 + "]" * 1_500,
    "deep-objects": '{"a":' * 1_100 + "1" + "}" * 1_100,
    "101-levels": "[" * 101 + "]" * 101,
    "NaN": '{"a":NaN}',
    "Infinity": "Infinity",
    "-Infinity": '{"a":-Infinity}',
    "1e999": '{"a":1e999}',
    "lone-surrogate": '{"a":"\\ud800"}',
}


BAD_URLS = {
    "open-ipv6": "http://[::1",
    "port-not-a-number": "http://example.com:80a/",
    "port-too-large": "http://example.com:65536/",
    "no-host": "http://:8080/",
    "space": "https://example.com/a b",
    "line-break": "https://example.com/\r\nX-Injected: 1",
    "tab": "https://exa\tmple.com/",
    "not-ascii": "https://example.com/caf\u00e9",
}


@pytest.fixture
def chat2(server: Server, fuzz_account: tuple[str, str], _spec: None) -> Any:
    """`client.chat.v2` of the official client, as the suite's account."""
    return make_client(server, *fuzz_account).chat.v2


def refused(code: int, param: str, call: Any, *args: Any, **kwargs: Any) -> None:
    """`call(*args, **kwargs)` is answered 400 with `code`, naming `param` (not a dropped line)."""
    with pytest.raises(TwilioRestException) as err:
        call(*args, **kwargs)
    assert err.value.status == 400, err.value
    assert err.value.code == code, err.value
    assert f"Invalid parameter {param}" in err.value.msg, err.value.msg


def page_refused(param: str, call: Any, **kwargs: Any) -> None:
    """A list call is answered 400/20001 naming `param` (the client raises its page error)."""
    with pytest.raises(TwilioException) as err:
        call(**kwargs)
    response = err.value.args[1]
    assert response.status_code == 400, response.text
    body = json.loads(response.text)
    assert body["code"] == 20001, body
    assert param in body["message"], body


def still_serving(chat2: Any, world: World) -> None:
    assert chat2.services(world.service).channels(world.channel).fetch().sid == world.channel


def attribute_writes(chat2: Any, world: World) -> dict[str, Any]:
    """Every write that takes Attributes: a function of the attributes text."""
    svc = chat2.services(world.service)
    room = svc.channels(world.channel)
    fresh = f"new-{secrets.token_hex(4)}"
    return {
        "channel-create": lambda a: svc.channels.create(attributes=a),
        "channel-update": lambda a: room.update(attributes=a),
        "user-create": lambda a: svc.users.create(identity=fresh, attributes=a),
        "user-update": lambda a: svc.users(world.user).update(attributes=a),
        "message-create": lambda a: room.messages.create(body="hi", attributes=a),
        "message-update": lambda a: room.messages(world.message).update(attributes=a),
        "member-create": lambda a: room.members.create(identity=world.guest, attributes=a),
        "member-update": lambda a: room.members(world.member).update(attributes=a),
    }


class TestNewUserValues:
    @pytest.mark.parametrize("text", NOT_JSON_EVERYWHERE.values(), ids=NOT_JSON_EVERYWHERE.keys())
    def test_attributes_refused_everywhere(self, chat2: Any, world: World, text: str) -> None:
        """Too deep, NaN, Infinity, infinite numbers, unpaired surrogates: 400/50304 on every
        resource with Attributes, the message create included (it used to drop the line)."""
        for write in attribute_writes(chat2, world).values():
            refused(50304, "Attributes", write, text)
            still_serving(chat2, world)

    def test_attributes_at_the_depth_limit(self, chat2: Any, world: World) -> None:
        """100 levels are stored and read back as sent."""
        text = "[" * 100 + "]" * 100
        room = chat2.services(world.service).channels(world.channel)
        assert room.update(attributes=text).attributes == text
        assert room.fetch().attributes == text

    @pytest.mark.parametrize(
        "date", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z"]
    )
    def test_dates_out_of_range(self, chat2: Any, world: World, date: str) -> None:
        """A date an offset pushes past year 9999 or before year 1 (they answered 500 or dropped
        the line), or before 1970: 400 with the field's code."""
        svc = chat2.services(world.service)
        member = svc.channels(world.channel).members(world.member)
        refused(50405, "LastConsumptionTimestamp", member.update, last_consumption_timestamp=date)
        refused(50308, "DateCreated", svc.channels.create, date_created=date)
        still_serving(chat2, world)

    @pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
    def test_urls_a_webhook_cannot_go_to(
        self, server: Server, fuzz_account: tuple[str, str], chat2: Any, world: World, url: str
    ) -> None:
        """An IPv6 host left open (it answered 500), a port that is no number, no host, a
        space, a line break or a character outside ASCII: 400 with the field's code, on every
        URL a webhook is sent to."""
        svc = chat2.services(world.service)
        refused(50077, "PreWebhookUrl", svc.update, pre_webhook_url=url)
        refused(50078, "PostWebhookUrl", svc.update, post_webhook_url=url)
        hooks = svc.channels(world.channel).webhooks
        refused(50332, "Configuration.Url", hooks.create, type="webhook", configuration_url=url)
        v1 = make_client(server, *fuzz_account).chat.v1.services(world.service)
        refused(50054, "Webhooks.OnMessageSend.Url", v1.update, webhooks_on_message_send_url=url)
        still_serving(chat2, world)

    def test_urls_with_a_port_a_path_and_a_query_are_kept(self, chat2: Any, world: World) -> None:
        """The checks above refuse nothing a real URL holds: an IPv6 host, a port, a query with
        a percent-encoded space."""
        url = "https://[2001:db8::1]:8443/hooks/chat?team=a%20b"
        assert chat2.services(world.service).update(post_webhook_url=url).post_webhook_url == url

    @pytest.mark.parametrize("text", ["\u0661\u0662", "12\n", "9" * 40], ids=range(3))
    def test_integers_in_ascii_digits_only(self, chat2: Any, world: World, text: str) -> None:
        """Arabic-Indic digits or a trailing newline are not an integer (they used to pass)."""
        svc = chat2.services(world.service)
        refused(50053, "TypingIndicatorTimeout", svc.update, typing_indicator_timeout=text)
        still_serving(chat2, world)

    def test_long_repeated_lists(self, chat2: Any, world: World) -> None:
        """A value repeated thousands of times is kept once; over 100 distinct is a 400."""
        svc = chat2.services(world.service)
        repeated = svc.update(webhook_filters=["onMessageSent"] * 5_000)
        assert repeated.webhook_filters == ["onMessageSent"]
        many = [f"event{n}" for n in range(101)]
        refused(50054, "WebhookFilters", svc.update, webhook_filters=many)
        hooks = svc.channels(world.channel).webhooks
        url = "https://hooks.example.com/x"
        refused(
            50325,
            "Configuration.Filters",
            hooks.create,
            type="webhook",
            configuration_url=url,
            configuration_filters=many,
        )
        refused(
            50326,
            "Configuration.Triggers",
            hooks.create,
            type="trigger",
            configuration_url=url,
            configuration_triggers=many,
        )
        still_serving(chat2, world)

    def test_nul_in_list_filters(self, chat2: Any, world: World) -> None:
        """A NUL in a list's Identity filter is a 400 (PostgreSQL used to answer 503)."""
        room = chat2.services(world.service).channels(world.channel)
        page_refused("Identity", room.members.list, identity=["a\x00"])
        page_refused("Identity", room.invites.list, identity=["a\x00"])
        page_refused("Identity", chat2.services(world.service).bindings.list, identity=["a\x00"])
        still_serving(chat2, world)

    @pytest.mark.parametrize("token", ["PA\uff11", "PA1\n"], ids=["fullwidth", "newline"])
    def test_page_token_in_ascii_digits_only(self, chat2: Any, world: World, token: str) -> None:
        """A PageToken with full-width digits or a newline is a 400 (it used to be read)."""
        page_refused("PageToken", chat2.services(world.service).channels.page, page_token=token)
        still_serving(chat2, world)

    @pytest.mark.parametrize(
        "where",
        [
            {"params": {"Filename": "a\x00b"}},
            {"headers": {"Content-Disposition": "attachment; filename*=UTF-8''a%00b"}},
        ],
        ids=["query", "content-disposition"],
    )
    def test_nul_in_a_media_filename(
        self, api: Api, chat2: Any, world: World, server: Server, where: dict[str, Any]
    ) -> None:
        """A media file name with a NUL is a 400 naming Filename (PostgreSQL used to answer 503),
        and nothing of the body is left on disk (it was, as a temporary file, for good)."""
        media_dir = Path(server.extra_args[server.extra_args.index("--media-dir") + 1])
        before = set(media_dir.glob(".upload-*"))
        headers = {"Content-Type": "image/png", **where.get("headers", {})}
        response = api.post(
            f"/v1/Services/{world.service}/Media",
            data=b"png" * 1000,
            headers=headers,
            params=where.get("params"),
        )
        body = twilio_error(response, 400, 20001)
        assert "Filename" in body["message"]
        assert set(media_dir.glob(".upload-*")) == before
        still_serving(chat2, world)
