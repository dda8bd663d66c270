"""The demo's token endpoint as its page calls it (`chinwag serve --demo`)."""

from __future__ import annotations

import requests

from tests.support.servers import Server


def token_for(server: Server, identity: str) -> dict[str, str]:
    """`POST /demo/token`: the identity, its access token and the demo service's SID."""
    response = requests.post(server.url + "/demo/token", json={"identity": identity}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return dict(response.json())
