"""Media: upload as Twilio's media service took it, download the same bytes, send as a message.

Uploads go over raw HTTP (`POST /v1/Services/{ServiceSid}/Media`, the file as the body); media
messages go through `client.chat.v2` with `media_sid`.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.api.v2.helpers import UNKNOWN, error, rejected
from tests.conftest import make_client
from tests.support.servers import Server

ME_RE = re.compile(r"^ME[0-9a-f]{32}$")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


class Uploads:
    """Media of one service, over raw HTTP."""

    def __init__(self, server: Server, auth: tuple[str, str], service_sid: str) -> None:
        self.base = f"{server.url}/v1/Services/{service_sid}/Media"
        self.auth = auth

    def post(
        self, data: bytes, content_type: str = "image/png", filename: str | None = "cat.png"
    ) -> requests.Response:
        headers = {"Content-Type": content_type}
        if filename is not None:
            headers["X-Twilio-Filename"] = filename
        return requests.post(self.base, data=data, headers=headers, auth=self.auth, timeout=60)

    def upload(self, data: bytes = PNG, **kwargs: Any) -> dict[str, Any]:
        """Upload `data`; the new media's JSON."""
        response = self.post(data, **kwargs)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def get(self, url: str) -> requests.Response:
        return requests.get(url, auth=self.auth, timeout=60)


@pytest.fixture
def uploads(server: Server, auth: tuple[str, str], service2: Any) -> Uploads:
    return Uploads(server, auth, service2.sid)


class TestUpload:
    def test_created(self, uploads: Uploads, service2: Any, server: Server) -> None:
        """An upload answers 201 with an ME SID, its size, type, filename and content link."""
        body = uploads.upload(PNG, content_type="image/png", filename="cat.png")
        assert ME_RE.match(body["sid"]), body["sid"]
        assert body["account_sid"] == server.account_sid
        assert body["service_sid"] == service2.sid
        assert body["size"] == len(PNG)
        assert body["content_type"] == "image/png"
        assert body["filename"] == "cat.png"
        assert body["url"] == f"{uploads.base}/{body['sid']}"
        assert body["links"]["content"] == f"{uploads.base}/{body['sid']}/Content"

    def test_fetch_json(self, uploads: Uploads) -> None:
        """GET of the media answers the same JSON as the upload."""
        body = uploads.upload(PNG, content_type="image/png", filename="cat.png")
        fetched = uploads.get(body["url"])
        assert fetched.status_code == 200, fetched.text
        assert fetched.headers["content-type"].startswith("application/json")
        again = fetched.json()
        # the temporary link is signed afresh, with its own expiry, at every read
        signed = again["links"].pop("content_direct_temporary")
        assert signed.split("?")[0] == body["links"].pop("content_direct_temporary").split("?")[0]
        assert again == body

    def test_content_is_same_bytes(self, uploads: Uploads) -> None:
        """The content link answers exactly the uploaded bytes, with their Content-Type."""
        body = uploads.upload(PNG, content_type="image/png", filename="cat.png")
        content = uploads.get(body["links"]["content"])
        assert content.status_code == 200
        assert content.content == PNG
        assert content.headers["content-type"].startswith("image/png")

    def test_content_that_could_run_is_a_sandboxed_download(self, uploads: Uploads) -> None:
        """A page or an SVG is served as a download that cannot script this origin (the
        console's); every type is served with `nosniff`."""
        for kind in ("text/html", "image/svg+xml", "text/xml"):
            for filename in ("page.html", None):
                body = uploads.upload(
                    b"<script>alert(1)</script>", content_type=kind, filename=filename
                )
                content = uploads.get(body["links"]["content"])
                assert content.status_code == 200
                assert content.headers["content-security-policy"] == "sandbox"
                assert content.headers["x-content-type-options"] == "nosniff"
                assert content.headers["content-disposition"].startswith("attachment")
        picture = uploads.get(uploads.upload()["links"]["content"])
        assert picture.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in picture.headers

    def test_megabyte_round_trip(self, uploads: Uploads) -> None:
        """A ~1 MB random file comes back byte for byte."""
        payload = secrets.token_bytes(1024 * 1024 + 17)
        body = uploads.upload(payload, content_type="application/octet-stream", filename="r.bin")
        assert body["size"] == len(payload)
        assert uploads.get(body["links"]["content"]).content == payload

    def test_without_filename(self, uploads: Uploads) -> None:
        """Without a filename the media has none."""
        body = uploads.upload(b"plain text", content_type="text/plain", filename=None)
        assert body["filename"] is None
        assert body["content_type"] == "text/plain"
        assert uploads.get(body["links"]["content"]).content == b"plain text"

    def test_each_upload_its_own(self, uploads: Uploads) -> None:
        """Two uploads of the same bytes are two media with their own SIDs."""
        first, second = uploads.upload(), uploads.upload()
        assert first["sid"] != second["sid"]

    def test_unknown_media_is_404(self, uploads: Uploads) -> None:
        """An unknown media SID is 404, for its JSON and its content."""
        error(uploads.get(f"{uploads.base}/{UNKNOWN['ME']}"), 404, 20404)
        error(uploads.get(f"{uploads.base}/{UNKNOWN['ME']}/Content"), 404, 20404)

    def test_unknown_service_is_404(self, server: Server, auth: Any) -> None:
        """Uploading to an unknown service is 404."""
        other = Uploads(server, auth, UNKNOWN["IS"])
        error(other.post(PNG), 404, 20404)

    def test_needs_credentials(self, uploads: Uploads) -> None:
        """Uploading and downloading need the account's credentials: 401 without."""
        body = uploads.upload()
        anonymous = requests.post(uploads.base, data=PNG, timeout=30)
        error(anonymous, 401, 20003)
        error(requests.get(body["links"]["content"], timeout=30), 401, 20003)


class TestMediaMessages:
    def test_message_with_media(self, uploads: Uploads, room2: Any) -> None:
        """A message with MediaSid has type media, an empty body and the media's details."""
        media = uploads.upload(PNG, content_type="image/png", filename="cat.png")
        message = room2.messages.create(media_sid=media["sid"], from_="alice")
        expected = {
            "sid": media["sid"],
            "size": len(PNG),
            "content_type": "image/png",
            "filename": "cat.png",
        }
        assert message.type == "media"
        assert message.media == expected
        assert message.body == ""
        fetched = room2.messages(message.sid).fetch()
        assert (fetched.type, fetched.media, fetched.body) == ("media", expected, "")
        (listed,) = room2.messages.list()
        assert listed.media == expected

    def test_text_message_has_no_media(self, room2: Any) -> None:
        """A message without MediaSid is type text with media null."""
        message = room2.messages.create(body="words")
        assert (message.type, message.media) == ("text", None)

    def test_media_still_downloadable(self, uploads: Uploads, room2: Any) -> None:
        """Sending media in a message leaves its content downloadable as uploaded."""
        media = uploads.upload()
        room2.messages.create(media_sid=media["sid"])
        assert uploads.get(media["links"]["content"]).content == PNG

    def test_media_used_once(self, uploads: Uploads, room2: Any) -> None:
        """The same media on a second message is 400 with 50508; no message is written."""
        media = uploads.upload()
        room2.messages.create(media_sid=media["sid"])
        rejected(lambda: room2.messages.create(media_sid=media["sid"]), 400, 50508)
        assert len(room2.messages.list()) == 1
        assert room2.fetch().messages_count == 1

    def test_media_used_once_across_channels(
        self, uploads: Uploads, svc2: Any, room2: Any, unique: Callable[[str], str]
    ) -> None:
        """Media sent in one channel cannot be sent again in another (50508)."""
        media = uploads.upload()
        room2.messages.create(media_sid=media["sid"])
        other = svc2.channels(svc2.channels.create(friendly_name=unique("other")).sid)
        rejected(lambda: other.messages.create(media_sid=media["sid"]), 400, 50508)
        assert other.messages.list() == []

    def test_media_raced_by_two_channels_beside_plain_messages(
        self,
        server: Server,
        uploads: Uploads,
        service2: Any,
        svc2: Any,
        channel2: Any,
        unique: Callable[[str], str],
    ) -> None:
        """Each of 6 uploads is sent in two channels at once, among plain messages to both
        from 8 clients: one send of each wins, the other is 400 with 50508 (on PostgreSQL it
        can fail after its write, on the other channel's writer, which rolls back its batch:
        the plain messages there run again). Every plain message is created once, each
        channel's indexes run 0..n-1 and its count matches, each media has one message."""
        other = svc2.channels.create(friendly_name=unique("other"))
        medias = [uploads.upload()["sid"] for _ in range(6)]
        rooms = {"a": channel2.sid, "b": other.sid}
        local = threading.local()

        def channel(name: str) -> Any:
            if not hasattr(local, "svc"):
                local.svc = make_client(server).chat.v2.services(service2.sid)
            return local.svc.channels(rooms[name])

        def send(job: tuple[str, str, str | None]) -> tuple[str, str | None, int | None]:
            name, body, media = job
            try:
                if media is None:
                    channel(name).messages.create(body=body)
                else:
                    channel(name).messages.create(media_sid=media)
            except TwilioRestException as exc:
                return name, media, exc.code
            return name, media, None

        jobs: list[tuple[str, str, str | None]] = []
        for n, media in enumerate(medias):
            jobs += [("a", "", media), ("b", "", media)]
            jobs += [(name, f"plain {n}.{i}", None) for i in range(4) for name in ("a", "b")]
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(send, jobs))

        assert [o for o in outcomes if o[1] is None and o[2] is not None] == []
        for media in medias:
            codes = sorted(str(code) for _, m, code in outcomes if m == media)
            assert codes == ["50508", "None"], (media, codes)
        for name, sid in rooms.items():
            listed = svc2.channels(sid).messages.list(page_size=100)
            assert [m.index for m in listed] == list(range(len(listed)))
            assert svc2.channels(sid).fetch().messages_count == len(listed)
            plain = sorted(m.body for m in listed if m.media is None)
            assert plain == sorted(b for c, b, m in jobs if c == name and m is None)
        sent = [
            m.media["sid"]
            for sid in rooms.values()
            for m in svc2.channels(sid).messages.list()
            if m.media
        ]
        assert sorted(sent) == sorted(medias)

    def test_unknown_media(self, room2: Any) -> None:
        """An unknown MediaSid is 400 with 50507; no message is written."""
        rejected(lambda: room2.messages.create(media_sid=UNKNOWN["ME"]), 400, 50507)
        assert room2.messages.list() == []

    def test_not_a_media_sid(self, room2: Any) -> None:
        """A MediaSid that is not an ME SID is 400."""
        rejected(lambda: room2.messages.create(media_sid="cat.png"), 400)
        assert room2.messages.list() == []

    def test_body_of_media_message_fixed(self, uploads: Uploads, room2: Any) -> None:
        """Updating a media message's body is 400 with 50509; the message is unchanged."""
        media = uploads.upload()
        message = room2.messages.create(media_sid=media["sid"])
        ctx = room2.messages(message.sid)
        rejected(lambda: ctx.update(body="caption"), 400, 50509)
        fetched = ctx.fetch()
        assert (fetched.body, fetched.type, fetched.was_edited) == ("", "media", False)

    def test_attributes_of_media_message_editable(self, uploads: Uploads, room2: Any) -> None:
        """A media message's attributes can still be updated."""
        media = uploads.upload()
        message = room2.messages.create(media_sid=media["sid"])
        updated = room2.messages(message.sid).update(attributes='{"caption": "cat"}')
        assert updated.attributes == '{"caption": "cat"}'
        assert updated.media["sid"] == media["sid"]


class TestIsolation:
    def test_other_services_media_not_usable(
        self,
        chat2: Any,
        uploads: Uploads,
        server: Server,
        auth: Any,
        unique: Callable[[str], str],
    ) -> None:
        """Media of another service cannot be sent (50507) nor fetched (404) from this one."""
        media = uploads.upload()
        other = chat2.services.create(friendly_name=unique("other"))
        try:
            svc = chat2.services(other.sid)
            room = svc.channels(svc.channels.create(friendly_name=unique("room")).sid)
            rejected(lambda: room.messages.create(media_sid=media["sid"]), 400, 50507)
            assert room.messages.list() == []
            theirs = Uploads(server, auth, other.sid)
            error(theirs.get(f"{theirs.base}/{media['sid']}"), 404, 20404)
            error(theirs.get(f"{theirs.base}/{media['sid']}/Content"), 404, 20404)
        finally:
            chat2.services(other.sid).delete()

    def test_other_account_cannot_fetch(self, uploads: Uploads, other: Any) -> None:
        """Another account cannot fetch the media, even knowing its URL."""
        media = uploads.upload()
        stranger = (other.sid, other.token)
        assert requests.get(media["url"], auth=stranger, timeout=30).status_code == 404
        content = requests.get(media["links"]["content"], auth=stranger, timeout=30)
        assert content.status_code == 404


class TestSizeLimit:
    def test_over_limit_is_413(self, database_url: str, tmp_path: Path) -> None:
        """With --media-max-mb 1, an upload of 2 MB is 413 with Twilio's 50512 ("Message media
        size is too large"), and 0.5 MB is still accepted."""
        limited = Server(
            database_url,
            extra_args=["--media-max-mb", "1", "--media-dir", str(tmp_path / "media")],
        )
        limited.start(tmp_path / "log")
        try:
            auth = (limited.account_sid, limited.auth_token)
            created = requests.post(
                f"{limited.url}/v2/Services",
                data={"FriendlyName": "limited"},
                auth=auth,
                timeout=30,
            )
            assert created.status_code == 201, created.text
            uploads = Uploads(limited, auth, created.json()["sid"])
            error(uploads.post(secrets.token_bytes(2 * 1024 * 1024)), 413, 50512)
            assert uploads.upload(secrets.token_bytes(512 * 1024))["size"] == 512 * 1024
            kept = uploads.upload(b"small")
            stored = sorted(p.name for p in (tmp_path / "media").iterdir())
            assert len(stored) == 2, stored  # the two accepted files, no leftover of the refused
            assert kept["sid"] in stored
        finally:
            limited.stop()
