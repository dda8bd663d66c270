"""Real-time delivery loses nothing: 30 SDK-protocol clients follow a busy channel while the
server is killed with kill -9 and restarted and some clients drop their network; each then holds
every message, in order, once (the bench's scenario at a small size: bench/reliability.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench import servers
from bench.reliability import scenario

CLIENTS, MESSAGES = 30, 60


def test_every_client_gets_every_message_in_order_through_a_kill9_and_drops(
    fresh_database: str, tmp_path: Path
) -> None:
    server = servers.Chinwag(fresh_database, tmp_path / "chinwag.log")
    server.start()
    try:
        figures = asyncio.run(scenario(server, CLIENTS, MESSAGES, drop_share=0.2))
    finally:
        server.stop()
    assert figures["complete"], figures
    assert figures["lost"] == 0, figures
    assert figures["clients_out_of_order"] == 0, figures
    assert figures["messages"] >= MESSAGES + 1, figures  # a retried create may add one more
    # Everyone came back after the kill, and the dropped ones once more.
    assert figures["reconnects"] >= CLIENTS + figures["dropped"], figures
    assert figures["replayed"] > 0, figures  # what was created while they were away came later
