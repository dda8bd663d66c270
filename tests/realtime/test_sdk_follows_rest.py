"""One source of truth: what the app's backend does over REST reaches connected SDK clients."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.realtime.conftest import SCRIPTS, Key, mint, ws_url
from tests.support.servers import Server


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


def test_history_and_live_changes_made_over_rest(
    server: Server, sdk: Path, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """History written over REST before connecting is paged; a member added, a message sent
    and a rename done over REST afterwards arrive live as channelJoined, messageAdded and
    channel updated."""
    alice = unique("alice")
    svc = chat.services(service.sid)
    history = svc.channels.create(unique_name=unique("history"), type="private")
    svc.channels(history.sid).members.create(identity=alice)
    svc.channels(history.sid).members.create(identity="bob")
    for n in range(3):
        svc.channels(history.sid).messages.create(body=f"m{n}", from_="bob")
    script = NodeScript(
        sdk, "follow.js", ws_url(server), mint(api_key, service.sid, alice), history.unique_name
    )
    try:
        ready = script.line()
        assert ready == {"ready": True}, ready
        live = svc.channels.create(unique_name=unique("live"), friendly_name="Live")
        svc.channels(live.sid).members.create(identity=alice)
        time.sleep(1)  # the SDK subscribes to the channel it joined before we post
        svc.channels(live.sid).messages.create(body="hello", from_="bot", attributes='{"k":1}')
        step = script.line()
        assert step == {"step": "rename"}, step
        svc.channels(live.sid).update(friendly_name="Renamed")
        seen = script.line()
    finally:
        code = script.close()
    assert code == 0, seen
    assert seen["subscribed"] == [history.unique_name]
    assert seen["newest"] == ["1:bob:m1", "2:bob:m2"]
    assert seen["older"] == [0]
    assert seen["members"] == sorted([alice, "bob"])
    assert seen["joined"] == live.unique_name
    assert seen["added"] == {"index": 0, "author": "bot", "body": "hello", "attributes": {"k": 1}}
    assert seen["renamed"] == "Renamed"
