"""The client SDK (npm `twilio-chat`, unmodified) against the live server, and its tokens.

Each SDK version is installed once with npm into `.sdk/` at the repository root (git-ignored)
and reused by later runs. Without node and npm these tests skip, except under CI=true.
"""

from __future__ import annotations

import fcntl
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant

from tests.support.databases import KINDS, fresh
from tests.support.servers import Server

SDK_VERSIONS = ["6.0.0", "5.0.2"]  # the last release, and the last of 5.x
ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).parent / "node"
NODE_TIMEOUT = 60  # seconds; the scripts bound every wait of their own at 20


def _install(version: str) -> Path:
    """`.sdk/twilio-chat-<version>`, installed once: test processes (xdist workers) take turns
    under a file lock, npm works in a staging folder, and the folder counts as installed only
    once its marker is written, so a concurrent or interrupted install is never used."""
    base = ROOT / ".sdk"
    folder = base / f"twilio-chat-{version}"
    marker = folder / ".installed"
    base.mkdir(parents=True, exist_ok=True)
    with open(base / f".lock-{version}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if marker.exists():
            return folder
        staging = Path(tempfile.mkdtemp(dir=base, prefix=f".staging-{version}-"))
        try:
            subprocess.run(
                [
                    "npm",
                    "install",
                    f"twilio-chat@{version}",
                    "--no-audit",
                    "--no-fund",
                    "--ignore-scripts",
                ],
                cwd=staging,
                check=True,
                capture_output=True,
                timeout=300,
            )
            shutil.rmtree(folder, ignore_errors=True)
            staging.rename(folder)
            marker.write_text(version)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


@pytest.fixture(params=KINDS)
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each kind for one test that runs servers of its own."""
    with fresh(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="session", params=SDK_VERSIONS)
def sdk(request: pytest.FixtureRequest) -> Path:
    """The node_modules folder of one twilio-chat version."""
    if not (shutil.which("node") and shutil.which("npm")):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but node or npm is missing")
        pytest.skip("node and npm are needed for the client SDK tests")
    return _install(str(request.param)) / "node_modules"


@dataclass(frozen=True)
class Key:
    sid: str
    secret: str
    account_sid: str


@pytest.fixture(scope="session")
def api_key(server: Server) -> Key:
    return make_key(server)


def make_key(server: Server) -> Key:
    """An API key made as an app's operator makes it: `chinwag keys create`."""
    sid, secret = server.cli("keys", "create", "--account", server.account_sid).split()
    return Key(sid, secret, server.account_sid)


def reachable_service_with_bob(chat: Any, name: str) -> Any:
    """A new v2 service (of the `chat.v2` client) with reachability on, and its user bob, made
    by the app's backend before bob connects."""
    service = chat.services.create(friendly_name=name)
    chat.services(service.sid).update(reachability_enabled=True)
    chat.services(service.sid).users.create(identity="bob")
    return service


def mint(key: Key, service_sid: str, identity: str, **options: Any) -> str:
    """An access token exactly as an app's backend mints it with the `twilio` package."""
    token = AccessToken(key.account_sid, key.sid, key.secret, identity=identity, **options)
    token.add_grant(ChatGrant(service_sid=service_sid))
    return str(token.to_jwt())


def run_sdk(sdk: Path, script: str, *args: str) -> tuple[int, dict[str, Any]]:
    """Run a Node script of tests/realtime/node with that SDK; its exit code and JSON line."""
    env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_EDGE", "TWILIO_REGION")}
    env["NODE_PATH"] = str(sdk)
    done = subprocess.run(
        ["node", str(SCRIPTS / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result from {script}: {done.stdout[-2000:]} {done.stderr[-2000:]}"
    return done.returncode, json.loads(lines[-1])


def ws_url(server: Server) -> str:
    return f"ws://127.0.0.1:{server.port}/v3/wsconnect"


@pytest.fixture
def now() -> int:
    return int(time.time())


class NodeScript:
    """A Node script we talk to line by line, every read bounded."""

    def __init__(self, sdk: Path, script: str, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_EDGE", "TWILIO_REGION")}
        env["NODE_PATH"] = str(sdk)
        self.process = subprocess.Popen(
            ["node", str(SCRIPTS / script), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def line(self, timeout: float = 30) -> dict[str, Any]:
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(deadline - time.monotonic()):
                text = self.process.stdout.readline()
                if not text:
                    break
                if text.startswith("{"):
                    return dict(json.loads(text))
        self.process.kill()
        _, errors = self.process.communicate()
        raise AssertionError(f"no line from the script: {errors[-2000:]}")

    def close(self) -> int:
        try:
            self.process.communicate(timeout=30)  # also closes the pipes
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
        return self.process.returncode
