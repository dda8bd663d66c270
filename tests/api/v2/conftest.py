"""Fixtures of the Chat v2 suite: `client.chat.v2`, and a v2 service, channel and room per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from twilio.rest import Client

from tests.support.servers import Server


@pytest.fixture
def chat2(client: Client) -> Any:
    """`client.chat.v2`."""
    return client.chat.v2


@pytest.fixture
def auth(server: Server) -> tuple[str, str]:
    """Basic auth of the server's account, for raw `requests`."""
    return (server.account_sid, server.auth_token)


@pytest.fixture
def service2(
    chat2: Any, server: Server, auth: tuple[str, str], unique: Callable[[str], str]
) -> Iterator[Any]:
    """A service created through v2, of the test's own; deleted afterwards (if still there)."""
    svc = chat2.services.create(friendly_name=unique("v2"))
    yield svc
    requests.delete(f"{server.url}/v2/Services/{svc.sid}", auth=auth, timeout=30)


@pytest.fixture
def svc2(chat2: Any, service2: Any) -> Any:
    """The v2 service, as a context to reach its channels, users and bindings."""
    return chat2.services(service2.sid)


@pytest.fixture
def channel2(svc2: Any, unique: Callable[[str], str]) -> Any:
    """A public channel of the v2 service, created through v2."""
    return svc2.channels.create(friendly_name=unique("room"))


@pytest.fixture
def room2(svc2: Any, channel2: Any) -> Any:
    """The v2 channel, as a context to reach its members, messages and webhooks."""
    return svc2.channels(channel2.sid)
