"""--public-url: the base of every url, links and next_page_url, for servers behind a proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.servers import Server

PUBLIC = "https://chat.example.test/base"


@pytest.fixture
def proxied(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """A second server on the session's database that believes it is served at PUBLIC."""
    server = Server(database_url, extra_args=["--public-url", PUBLIC + "/"])
    server.start(tmp_path / "server.log")
    yield server
    server.stop()


def test_urls_use_the_public_base(proxied: Server) -> None:
    """url, links and meta URLs start with --public-url (its trailing slash dropped), not the
    address the request reached."""
    auth = (proxied.account_sid, proxied.auth_token)
    created = requests.post(
        proxied.url + "/v1/Services", data={"FriendlyName": "proxied"}, auth=auth, timeout=30
    ).json()
    assert created["url"] == f"{PUBLIC}/v1/Services/{created['sid']}"
    assert created["links"]["channels"] == f"{PUBLIC}/v1/Services/{created['sid']}/Channels"
    listed = requests.get(
        proxied.url + "/v1/Services", params={"PageSize": 1}, auth=auth, timeout=30
    ).json()
    assert listed["meta"]["url"].startswith(PUBLIC + "/v1/Services?")
    assert listed["meta"]["first_page_url"].startswith(PUBLIC + "/v1/Services?")
    requests.delete(created["url"].replace(PUBLIC, proxied.url), auth=auth, timeout=30)
