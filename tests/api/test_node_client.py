"""The official Node client (npm `twilio`, unmodified) against the live server.

Node sends what Python does not: spaces as %20, dotted keys from quoted object keys, and it
parses dates leniently; tests/api/node/check.js drives v1, v2 and ip_messaging and prints what
it saw. Needs node and npm (the package is installed into a temporary folder); without them
the test skips, except under CI=true, where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.servers import Server

TWILIO_NODE = "twilio@6.2.0"  # the version shared/clients.md was checked with
SCRIPT = Path(__file__).parent / "node" / "check.js"


@pytest.fixture(scope="session")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the npm `twilio` package installed."""
    if not (shutil.which("node") and shutil.which("npm")):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but node or npm is missing")
        pytest.skip("node and npm are needed for the Node client test")
    folder = tmp_path_factory.mktemp("node")
    subprocess.run(
        ["npm", "install", TWILIO_NODE, "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder


def test_node_client_round_trip(server: Server, node_modules: Path) -> None:
    """Create, update with dotted keys and lists, page, v2 with the webhook header, the
    ip_messaging domain, a Twilio 404 and dates: all as the Node client expects."""
    env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_EDGE", "TWILIO_REGION")}
    env["NODE_PATH"] = str(node_modules / "node_modules")
    done = subprocess.run(
        ["node", str(SCRIPT), server.url, server.account_sid, server.auth_token],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["friendly"] == "general chat"  # %20 in the body
    assert seen["messages"] == [0, 1, 2, 3, 4]  # five messages over pages of 2
    assert seen["from"] == "alice"
    assert seen["v2"] == 5
    assert seen["ip"] is True
    assert seen["notFound"] == [404, 20404, "https://www.twilio.com/docs/errors/20404"]
    assert seen["template"] == "New: ${MESSAGE}"
    assert seen["filters"] == ["onMessageSend", "onChannelDestroyed"]
    assert seen["date"] is True
