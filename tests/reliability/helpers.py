"""Helpers of the fault suite: PostgreSQL admin calls, Twilio error checks, paging, waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import requests

from tests.support.servers import PG_ADMIN, Server

ERROR_KEYS = {"code", "message", "more_info", "status"}


def pg_admin(sql: str, *args: Any) -> list[Any]:
    """Run `sql` as the PostgreSQL admin (CHINWAG_TEST_PG); its rows."""
    import asyncpg  # type: ignore[import-untyped]

    async def run() -> list[Any]:
        conn = await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def terminate_backends(database_url: str) -> int:
    """Kill every PostgreSQL connection to `database_url`'s database; how many there were."""
    name = database_url.rsplit("/", 1)[1]
    rows = pg_admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )
    return len(rows)


def twilio_error(response: requests.Response, status: int, code: int | None = None) -> None:
    """`response` is a Twilio error of `status` (and `code`), JSON with the four keys."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == status, body
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}", body
    if code is not None:
        assert body["code"] == code, body


def all_messages(session: requests.Session, server: Server, channel_url: str) -> list[Any]:
    """Every message of a channel, in index order, read 1000 a page by following next_page_url."""
    url: str | None = f"{server.url}{channel_url}/Messages?PageSize=1000"
    messages: list[Any] = []
    for _ in range(1000):  # bounded: a million messages at most
        if url is None:
            return messages
        response = session.get(url, timeout=60)
        assert response.status_code == 200, response.text
        body = response.json()
        messages += body["messages"]
        url = body["meta"]["next_page_url"]
    raise AssertionError("more pages than expected")


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> float | None:
    """Seconds until `condition()` held, or None if it did not within `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(step)
    return None
