"""Media from the client SDK: uploads through chinwag's media service (`links.media_service`),
temporary content URLs, the size limit, and the CORS a page on another origin needs.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from chinwag.ops.media import sign
from tests.events.conftest import Chinwag, Cluster
from tests.realtime.conftest import Key, make_key, mint, run_sdk, ws_url
from tests.support.databases import KINDS, require_postgresql
from tests.support.servers import Server

LIMIT_MB = 1
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + secrets.token_bytes(3000)


@pytest.fixture(scope="module", params=KINDS)
def small(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A server of the module's own with a 1 MB media limit, on a fresh database of each kind."""
    if request.param == "postgresql":
        require_postgresql()
    group = Cluster(request.param, tmp_path_factory.mktemp(f"media-{request.param}"))
    yield group.start("--media-max-mb", str(LIMIT_MB))
    group.close()


@pytest.mark.parametrize("mode", ["buffer", "formdata"])
def test_sdk_sends_media(small: Chinwag, sdk: Path, mode: str) -> None:
    """`sendMessage({contentType, media})` (the xmlhttprequest package) and
    `sendMessage(formData)` (a browser's XHR) upload through the media service; the other user
    gets a media message whose temporary URL serves the same bytes to a plain GET; an upload
    over the limit fails in the SDK with 413 and Twilio's 50512; REST sees the message."""
    key = make_key(small.server)
    service = small.chat.services.create(friendly_name="media")
    alice, bob, name = "alice", "bob", f"pics-{secrets.token_hex(4)}"
    too_large = LIMIT_MB * 1024 * 1024 + 1
    code, seen = run_sdk(
        sdk,
        "media.js",
        ws_url(small.server),
        mint(key, service.sid, alice),
        mint(key, service.sid, bob),
        name,
        mode,
        PNG.hex(),
        str(too_large),
    )
    assert code == 0, (seen.get("error"), seen)
    received = seen["received"]
    assert received["type"] == "media"
    assert received["author"] == alice
    assert received["attributes"] == {"kind": "picture"}
    assert received["contentType"] == "image/png"
    assert received["size"] == len(PNG)
    assert received["filename"] == ("dot.png" if mode == "formdata" else None)
    assert received["sid"].startswith("ME")
    assert seen["fetched"] == {"status": 200, "type": "image/png", "hex": PNG.hex()}
    assert urlsplit(seen["temporaryUrl"]).netloc == f"127.0.0.1:{small.server.port}"
    assert seen["tooLarge"]["status"] == 413
    assert seen["tooLarge"]["body"]["code"] == 50512
    assert seen["messages"] == ["media"]

    channel = small.client.chat.v2.services(service.sid).channels(name).fetch()
    [message] = small.client.chat.v2.services(service.sid).channels(channel.sid).messages.list()
    assert message.type == "media"
    assert message._from == alice
    assert message.media["sid"] == received["sid"]
    assert message.media["size"] == len(PNG)
    media = requests.get(
        f"{small.url}/v1/Services/{service.sid}/Media/{received['sid']}",
        auth=small.auth,
        timeout=30,
    ).json()
    assert media["author"] == alice
    assert media["message_sid"] == message.sid


def test_service_reports_the_limit(small: Chinwag) -> None:
    """A v2 service reports the server's media limit (--media-max-mb) as `size_limit_mb`."""
    service = small.chat.services.create(friendly_name="limits")
    assert small.chat2.services(service.sid).fetch().media["size_limit_mb"] == LIMIT_MB


class Uploads:
    """The media service as the SDK's XHR calls it, with a user's token."""

    def __init__(self, server: Server, key: Key, service_sid: str, identity: str) -> None:
        self.server = server
        self.base = f"{server.url}/mcs/v1/Services/{service_sid}/Media"
        self.token = mint(key, service_sid, identity)

    def post(self, body: bytes, **headers: str) -> requests.Response:
        headers = {"X-Twilio-Token": self.token, "Content-Type": "text/plain", **headers}
        return requests.post(self.base + "?Category=media", data=body, headers=headers, timeout=30)

    def get(self, sid: str, **headers: str) -> requests.Response:
        headers = {"X-Twilio-Token": self.token, **headers}
        return requests.get(f"{self.base}/{sid}", headers=headers, timeout=30)


@pytest.fixture
def uploads(server: Server, api_key: Key, service: Any) -> Uploads:
    return Uploads(server, api_key, service.sid, "alice")


def twilio_error(response: requests.Response, status: int, code: int | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    assert response.headers["access-control-allow-origin"] == "*"


class TestMediaService:
    def test_upload_answer_and_fetch(self, uploads: Uploads) -> None:
        """The upload answers the JSON the SDK reads; GET {media_service}/{ME} answers it again
        with a fresh temporary URL that serves the bytes to a plain GET."""
        answer = uploads.post(b"hello", **{"Content-Type": "text/plain"})
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["sid"].startswith("ME")
        assert body["content_type"] == "text/plain"
        assert body["size"] == 5
        assert body["filename"] is None
        assert body["category"] == "media"
        assert body["author"] == "alice"
        assert body["url"] == f"{uploads.base}/{body['sid']}"
        fetched = uploads.get(body["sid"])
        assert fetched.status_code == 200
        assert fetched.json()["sid"] == body["sid"]
        link = fetched.json()["links"]["content_direct_temporary"]
        content = requests.get(link, timeout=30)
        assert content.status_code == 200
        assert content.content == b"hello"
        assert content.headers["content-type"].startswith("text/plain")

    def test_content_that_could_run_never_runs_on_this_origin(self, uploads: Uploads) -> None:
        """The temporary URL serves a page or an SVG (which could script the console, on the
        same origin) as a sandboxed download; a picture stays inline, and no type is sniffed."""
        for kind, inline in (
            ("text/html", False),
            ("image/svg+xml", False),
            ("application/xhtml+xml; charset=utf-8", False),
            ("image/png", True),
            ("text/plain", True),
        ):
            answer = uploads.post(b"<html><script>alert(1)</script>", **{"Content-Type": kind})
            assert answer.status_code == 201, answer.text
            link = uploads.get(answer.json()["sid"]).json()["links"]["content_direct_temporary"]
            content = requests.get(link, timeout=30)
            assert content.status_code == 200
            assert content.headers["x-content-type-options"] == "nosniff"
            assert content.headers["access-control-allow-origin"] == "*"
            disposition = content.headers.get("content-disposition", "")
            if inline:
                assert "content-security-policy" not in content.headers, kind
                assert not disposition.startswith("attachment"), kind
            else:
                assert content.headers["content-security-policy"] == "sandbox", kind
                assert disposition.startswith("attachment"), kind

    def test_a_content_type_no_media_type_could_be_is_refused(self, uploads: Uploads) -> None:
        """A Content-Type over 255 characters, raw or in a FormData part, or one with a NUL in
        the part (PostgreSQL refused it: 503) is a 400 naming it; none at all is octet-stream."""
        boundary = "b0und4ry"
        for part_type in ("image/png\x00", "image/" + "x" * 300):
            form = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n'
                f"Content-Type: {part_type}\r\n\r\nbytes\r\n--{boundary}--\r\n"
            ).encode()
            multipart = f"multipart/form-data; boundary={boundary}"
            refused = uploads.post(form, **{"Content-Type": multipart})
            twilio_error(refused, 400, 20001)
            assert "Content-Type" in refused.json()["message"]
        twilio_error(uploads.post(b"raw", **{"Content-Type": "image/" + "x" * 300}), 400, 20001)
        untyped = uploads.post(b"raw", **{"Content-Type": ""})
        assert untyped.status_code == 201, untyped.text
        assert untyped.json()["content_type"] == "application/octet-stream"

    def test_filename_from_query(self, uploads: Uploads) -> None:
        """The SDK's `Filename` query parameter names the file."""
        answer = requests.post(
            uploads.base + "?Filename=notes.txt",
            data=b"x",
            headers={"X-Twilio-Token": uploads.token, "Content-Type": "text/plain"},
            timeout=30,
        )
        assert answer.json()["filename"] == "notes.txt"

    def test_tampered_and_expired_urls_are_refused(self, server: Server, uploads: Uploads) -> None:
        """A temporary URL with another signature, another media or a later expiry is 403; one
        signed correctly but past its expiry is 403 as well."""
        body = uploads.post(b"secret").json()
        link = body["links"]["content_direct_temporary"]
        parts = urlsplit(link)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        base = f"{parts.scheme}://{parts.netloc}{parts.path}"
        for forged in ("0" * 64, "é" * 64, ""):  # not ASCII: refused, not a comparison error
            tampered = dict(query, Signature=forged)
            twilio_error(requests.get(base, params=tampered, timeout=30), 403, 20403)
        later = dict(query, Expires=str(int(query["Expires"]) + 3600))
        twilio_error(requests.get(base, params=later, timeout=30), 403, 20403)
        twilio_error(requests.get(base, timeout=30), 403, 20403)
        past = int(time.time()) - 10
        service_sid, media_sid = parts.path.split("/")[4], body["sid"]
        expired = {
            "Expires": str(past),
            "Signature": sign(server.auth_token, service_sid, media_sid, past),
        }
        refused = requests.get(base, params=expired, timeout=30)
        twilio_error(refused, 403, 20403)
        assert "expired" in refused.json()["message"]
        assert requests.get(base, params=query, timeout=30).content == b"secret"

    def test_token_is_required(
        self, uploads: Uploads, server: Server, api_key: Key, service: Any
    ) -> None:
        """No token, a bad one (an identity with a NUL answered 503 on PostgreSQL), or a token
        of another service: refused with Twilio's errors."""
        twilio_error(uploads.post(b"x", **{"X-Twilio-Token": ""}), 401, 20101)
        twilio_error(uploads.post(b"x", **{"X-Twilio-Token": "not-a-jwt"}), 401, 20101)
        other = mint(api_key, "IS" + secrets.token_hex(16), "alice")
        twilio_error(uploads.post(b"x", **{"X-Twilio-Token": other}), 403, 20403)
        twilio_error(uploads.get("ME" + "0" * 32), 404, 20404)
        nul = mint(api_key, service.sid, "a\x00b")
        twilio_error(uploads.post(b"x", **{"X-Twilio-Token": nul}), 401, 20106)

    def test_cors_preflight(self, uploads: Uploads) -> None:
        """A page on another origin may upload: the preflight allows X-Twilio-Token and
        Content-Type, and the answer itself carries Access-Control-Allow-Origin."""
        for path in (uploads.base, f"{uploads.base}/ME{'0' * 32}"):
            preflight = requests.options(
                path,
                headers={
                    "Origin": "http://app.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "x-twilio-token,content-type",
                },
                timeout=30,
            )
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == "*"
            allowed = preflight.headers["access-control-allow-headers"].lower()
            assert "x-twilio-token" in allowed
            assert "content-type" in allowed
            assert "POST" in preflight.headers["access-control-allow-methods"]
        answer = uploads.post(b"x", Origin="http://app.example")
        assert answer.headers["access-control-allow-origin"] == "*"
