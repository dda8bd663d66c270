"""The sender process's batch loop, without a process: what it reports for each way a batch ends
(every delivery sent, a retry later, a bug), as the frames the server reads."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from chinwag.events import sender
from chinwag.events.http import Request, Response
from chinwag.events.sending import Delivery

CONFIG = sender._Config(timeout=2.0, backoff_base=0.05, window=60.0)


class Pipe:
    """Stands in for the pipe to the server: what is written, read back as the server does."""

    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data

    async def messages(self) -> list[Any]:
        reader = asyncio.StreamReader()
        reader.feed_data(self.written)
        reader.feed_eof()
        out = []
        while (message := await sender._read_frame(reader)) is not None:
            out.append(message)
        return out


class Answers:
    """A client whose sends answer in turn: an HTTP status, or an exception to raise."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.sent: list[Request] = []

    async def send(self, request: Request, seconds: float) -> Response:
        self.sent.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Response(answer, b"")


def batch(n: int) -> list[Delivery]:
    params = orjson.dumps({"EventType": "onMessageSent", "Body": "hi"}).decode()
    return [
        Delivery(k, f"t{k}", "AC1", "webhook", "onMessageSent", "http://x/h", "POST", params, 1, 0)
        for k in range(n)
    ]


def deliver(client: Answers, deliveries: list[Delivery]) -> list[Any]:
    """The messages the sender writes for one batch (id 7) sent with `client`."""
    pipe = Pipe()

    async def run() -> list[Any]:
        tokens = {"AC1": "token"}
        child = sender._Child(CONFIG, client, pipe)  # type: ignore[arg-type]
        await child.deliver(7, deliveries, tokens)
        return await pipe.messages()

    return asyncio.run(run())


def test_a_batch_sent_whole_is_done_with_nothing_untried() -> None:
    messages = deliver(Answers(200, 204), batch(2))
    assert messages == [
        ("done", 7, [(0, "delivered", None, None, 200), (1, "delivered", None, None, 204)], None)
    ]


def test_a_retry_later_ends_the_batch_and_the_rest_is_untried() -> None:
    messages = deliver(Answers(200, 503), batch(3))
    kind, batch_id, reports, untried = messages[0]
    assert (kind, batch_id, untried) == ("done", 7, 2)
    assert [r[:2] for r in reports] == [(0, "delivered"), (1, "pending")]
    assert reports[1][3] is not None  # retried after a backoff


def test_a_bug_mid_batch_gives_back_the_delivery_it_hit_and_the_rest() -> None:
    client = Answers(200, RuntimeError("not a failed send: a bug"))
    messages = deliver(client, batch(3))
    assert messages == [("done", 7, [(0, "delivered", None, None, 200)], 1)]
    assert len(client.sent) == 2


def test_a_failed_send_is_an_outcome_not_a_bug() -> None:
    """No answer is retried later (its retry_limit is 1): the batch ends there, as for a 503."""
    client = Answers(ConnectionRefusedError("refused"), 200)
    messages = deliver(client, batch(2))
    kind, _, reports, untried = messages[0]
    assert (kind, untried) == ("done", 1)
    assert reports[0][1] == "pending"
    assert "refused" in reports[0][2]
    assert len(client.sent) == 1


def test_a_slow_batch_reports_as_it_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past RECORD_EVERY the outcomes so far go to the server before the batch is done, so
    they are recorded while a slow queue still sends."""
    monkeypatch.setattr(sender, "RECORD_EVERY", 0.0)
    messages = deliver(Answers(200, 200, 200), batch(3))
    assert [m[0] for m in messages] == ["progress", "progress", "progress", "done"]
    assert [r[0] for m in messages for r in m[2]] == [0, 1, 2]
    assert messages[-1][3] is None
