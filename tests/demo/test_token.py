"""The demo's token endpoint (`chinwag serve --demo`): what it grants, what it refuses, and
that it does not exist without the flag. The page itself is driven in tests/browser/test_demo.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest
import requests
from sqlalchemy import select

from chinwag.demo.service import DemoService, DemoSetup
from chinwag.resources import TABLES
from chinwag.runtime import Runtime
from chinwag.settings import Settings
from chinwag.store import accounts
from chinwag.store.db import Database
from chinwag.store.migrate import upgrade
from tests.conftest import make_client
from tests.support.databases import KINDS, fresh
from tests.support.demo import token_for
from tests.support.servers import Server


@pytest.fixture(scope="module", params=KINDS)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """`chinwag serve --demo` on a fresh database of each kind, for this module."""
    tmp_path = tmp_path_factory.mktemp("demo")
    with fresh(request.param, tmp_path) as url:
        srv = Server(url, extra_args=["--demo"])
        srv.start(tmp_path / "server.log")
        try:
            yield srv
        finally:
            srv.stop()


def test_the_start_says_loudly_that_tokens_are_open_to_anyone(demo: Server) -> None:
    assert demo.log_path is not None
    assert "DEMO MODE" in demo.log_path.read_text()


def test_tokens_grant_the_demo_service_only_and_survive_a_restart(
    demo: Server, tmp_path: Path
) -> None:
    first = token_for(demo, "carol")
    claims = jwt.decode(first["token"], options={"verify_signature": False})
    assert claims["grants"] == {"identity": "carol", "chat": {"service_sid": first["service_sid"]}}
    service = make_client(demo).chat.v2.services(first["service_sid"]).fetch()
    assert service.friendly_name == "chinwag demo"

    demo.stop()
    demo.start(tmp_path / "again.log")
    again = token_for(demo, "carol")
    assert again["service_sid"] == first["service_sid"]  # the service and its key are reused
    assert jwt.get_unverified_header(again["token"])["cty"] == "twilio-fpa;v=1"
    assert jwt.decode(again["token"], options={"verify_signature": False})["iss"] == claims["iss"]


def test_a_bad_identity_gets_a_twilio_error(demo: Server) -> None:
    for identity in ["", "   ", "x" * 65, "tab\there", 42]:
        response = requests.post(demo.url + "/demo/token", json={"identity": identity}, timeout=10)
        assert response.status_code == 400, identity
        assert response.json()["code"] == 20001
    response = requests.post(demo.url + "/demo/token", data="{not json", timeout=10)
    assert response.status_code == 400
    assert response.json()["code"] == 20001
    # An identity the WebSocket would refuse at connect (REST's rule for a user's identity).
    sid_shaped = "US" + "0" * 32
    response = requests.post(demo.url + "/demo/token", json={"identity": sid_shaped}, timeout=10)
    assert response.status_code == 400
    assert response.json()["code"] == 50206


def test_without_the_flag_there_is_no_demo_and_no_token_endpoint(server: Server) -> None:
    for method, path in [
        ("POST", "/demo/token"),
        ("GET", "/demo"),
        ("GET", "/demo/static/demo.js"),
    ]:
        response = requests.request(method, server.url + path, json={"identity": "x"}, timeout=10)
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == 20404


def test_the_page_and_the_sdk_bundle_are_served_with_its_license(demo: Server) -> None:
    page = requests.get(demo.url + "/demo", timeout=10)
    assert page.status_code == 200
    assert '<script src="/demo/static/twilio-chat.min.js">' in page.text
    bundle = requests.get(demo.url + "/demo/static/twilio-chat.min.js", timeout=10)
    assert bundle.status_code == 200
    assert "Copyright (c) 2019, Twilio, inc." in bundle.text[:2000]
    license_text = requests.get(demo.url + "/demo/static/twilio-chat.LICENSE.txt", timeout=10)
    assert "Redistribution and use in source and binary forms" in license_text.text


def test_a_large_body_is_refused_before_it_is_read_whole(demo: Server) -> None:
    response = requests.post(
        demo.url + "/demo/token", data=b"identity=" + b"x" * 100_000, timeout=10
    )
    assert response.status_code == 413
    assert response.json()["code"] == 20001


def test_a_plain_html_form_gets_a_token_too(demo: Server) -> None:
    response = requests.post(demo.url + "/demo/token", data={"identity": "dave"}, timeout=10)
    assert response.status_code == 200
    assert (
        jwt.decode(response.json()["token"], options={"verify_signature": False})["grants"][
            "identity"
        ]
        == "dave"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_every_worker_process_signs_for_the_same_demo_service(kind: str, tmp_path: Path) -> None:
    """Under --workers 2 both processes may make a demo service at once: all take the oldest."""
    with fresh(kind, tmp_path) as url:
        srv = Server(url, extra_args=["--demo", "--workers", "2"])
        srv.start(tmp_path / "server.log")
        try:
            with ThreadPoolExecutor(8) as pool:
                tokens = list(pool.map(lambda i: token_for(srv, f"u{i}"), range(40)))
        finally:
            srv.stop()
    assert len({t["service_sid"] for t in tokens}) == 1


def test_a_demo_service_deleted_over_rest_is_made_again(demo: Server) -> None:
    before = token_for(demo, "erin")["service_sid"]
    make_client(demo).chat.v2.services(before).delete()
    after = token_for(demo, "erin")["service_sid"]
    assert after != before
    assert make_client(demo).chat.v2.services(after).fetch().friendly_name == "chinwag demo"


@pytest.mark.parametrize("kind", KINDS)
def test_processes_making_the_demo_service_at_once_agree_on_one(kind: str, tmp_path: Path) -> None:
    """Four processes (each its own connections and DemoSetup) asked for the demo at the same
    moment each make a service, and all sign for one of them; the others are deleted."""
    with fresh(kind, tmp_path) as url:
        upgrade(url)

        async def main() -> tuple[list[DemoService], set[str], int]:
            runtimes = [Runtime(Settings(database=url), Database(url), TABLES) for _ in range(4)]
            try:
                async with runtimes[0].db.write() as conn:
                    account = await accounts.create_account(conn, TABLES)
                claims = await asyncio.gather(*(DemoSetup().get(rt) for rt in runtimes))
                async with runtimes[0].db.read() as conn:
                    keys = await accounts.list_keys(conn, TABLES, account.sid)
                    services = TABLES["service"]
                    left = {r[0] for r in await conn.execute(select(services.c.sid))}
                return claims, left, len(keys)
            finally:
                for rt in runtimes:
                    await rt.db.close()

        claims, left, keys = asyncio.run(main())
    assert len({(c.service_sid, c.key_sid) for c in claims}) == 1
    assert left == {claims[0].service_sid}
    assert keys == 1
