"""Fixtures of the bad-input suite: an account of its own on the session server, and a world.

The suite's junk (whatever schemathesis manages to create) stays in that account, so no other
suite sharing the session server ever lists it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import parse_credentials
from tests.badinput.world import Api, World, build_world, destroy_world
from tests.support.servers import Server


@pytest.fixture(scope="session")
def fuzz_account(server: Server) -> tuple[str, str]:
    """A second account on the session server: (SID, auth token)."""
    return parse_credentials(server.cli("accounts", "create", "--friendly-name", "badinput"))


@pytest.fixture
def api(server: Server, fuzz_account: tuple[str, str]) -> Iterator[Api]:
    """Raw HTTP as the suite's account."""
    session = Api(server, *fuzz_account)
    yield session
    session.close()


@pytest.fixture
def world(api: Api, fuzz_account: tuple[str, str]) -> Iterator[World]:
    """One of every resource in the suite's account; deleted afterwards."""
    built = build_world(api, fuzz_account[0])
    yield built
    destroy_world(api, built)
